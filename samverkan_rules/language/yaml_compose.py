"""Composing YAML safely: PyYAML's scanner, parser and composer with the core schema,
limits on size, aliases, nodes and depth, and plain values built from the nodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NoReturn

import yaml
from yaml.error import Mark, MarkedYAMLError
from yaml.events import AliasEvent, StreamEndEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from samverkan_rules.diagnostics import N_, Diagnostic, Message, Text
from samverkan_rules.language.yaml_core import (
    _BOOL,
    _BOOL_RE,
    _FLOAT,
    _FLOAT_RE,
    _INT,
    _INT_RE,
    _MAP,
    _NULL,
    _NULL_RE,
    _SCALAR_TAGS,
    _SEQ,
    _STR,
    _TAG_PREFIX,
    ENV_LIMITS,
    Limits,
    Path,
    Position,
    _fail,
    _raise_hint,
)
from samverkan_rules.language.yaml_problems import (
    _mark_diagnostic,
    _position,
    _reader_diagnostic,
    _syntax_diagnostic,
)


class _LimitError(Exception):
    """Raised from inside the composer to stop at once; carries the finished diagnostic."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class _CoreLoader(yaml.SafeLoader):
    """A SafeLoader used only to compose: plain scalars resolve by the YAML 1.2 core schema,
    and alias uses and source nodes are counted so oversized input stops early."""

    # Our own table, so SafeLoader's YAML 1.1 resolvers (bool, timestamp, merge, ...) are gone.
    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012

    limits: Limits = Limits()
    file: str | None = None
    source_lines: tuple[str, ...] = ()
    aliases_seen: int = 0
    depth: int = 0
    expanded: int = 0
    """Values so far with every alias counted at the full size of what it repeats."""
    anchor_sizes: dict[str, int]

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        limits = self.limits
        if self.check_event(AliasEvent):
            self.aliases_seen += 1
            if self.aliases_seen > limits.max_aliases:
                self._stop(
                    "yaml.alias-limit",
                    N_(
                        "the document uses more than {max_aliases} aliases",
                        max_aliases=limits.max_aliases,
                    ),
                    _raise_hint(
                        ENV_LIMITS["max_aliases"],
                        N_("write the values out instead of repeating them with *aliases"),
                    ),
                )
            anchor = self.current_event.anchor  # peeked by check_event
            # An anchor still being composed (used inside itself) counts as one value here;
            # the cycle is refused once the document is composed.
            self._count(self.anchor_sizes.get(anchor, 1), aliased=True)
            return super().compose_node(parent, index)
        anchor = getattr(self.current_event, "anchor", None)  # peeked by check_event
        before = self.expanded
        self._count(1, aliased=False)
        self.depth += 1
        if self.depth > limits.max_depth:
            self._stop(
                "yaml.depth-limit",
                N_("the values nest more than {max_depth} levels deep", max_depth=limits.max_depth),
                _raise_hint(
                    ENV_LIMITS["max_depth"], N_("flatten the structure; a routine needs only a few")
                ),
            )
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        if anchor is not None:
            self.anchor_sizes[anchor] = self.expanded - before
        return node

    def _count(self, values: int, *, aliased: bool) -> None:
        self.expanded += values
        limit = self.limits.max_nodes
        if self.expanded > limit:
            expanded = N_(" once aliases are expanded") if aliased else ""
            self._stop(
                "yaml.node-limit",
                N_(
                    "the document has more than {limit} values{expanded}",
                    limit=limit,
                    expanded=expanded,
                ),
                _raise_hint(
                    ENV_LIMITS["max_nodes"],
                    N_("use fewer aliases, or split the routine into smaller files")
                    if aliased
                    else N_("split the routine into smaller files"),
                ),
            )

    def scan_to_next_token(self) -> None:
        # PyYAML (YAML 1.1) ends a comment at U+0085, U+2028 and U+2029 too, which turns
        # the rest of the comment into YAML; YAML 1.2 ends it at a line feed or carriage
        # return only.
        if self.index == 0 and self.peek() == "\ufeff":
            self.forward()
        found = False
        while not found:
            while self.peek() == " ":
                self.forward()
            if self.peek() == "#":
                self._skip_comment()
            if self.scan_line_break():  # type: ignore[no-untyped-call]
                if not self.flow_level:
                    self.allow_simple_key = True
            else:
                found = True

    def scan_block_scalar_ignored_line(self, start_mark: Mark) -> Any:
        while self.peek() == " ":
            self.forward()
        if self.peek() == "#":
            self._skip_comment()
        return super().scan_block_scalar_ignored_line(start_mark)

    def _skip_comment(self) -> None:
        while self.peek() not in "\0\r\n":
            self.forward()

    def compose_scalar_node(self, anchor: Any) -> ScalarNode:
        # YAML 1.2: the non-specific tag '!' makes a scalar a string; PyYAML resolves it.
        forced_str = self.current_event.tag == "!"  # peeked by compose_node
        node = super().compose_scalar_node(anchor)
        if forced_str:
            node.tag = _STR
        return node

    def _stop(self, code: str, message: Message, hint: Message) -> NoReturn:
        mark: Mark = self.current_event.start_mark  # set by check_event
        raise _LimitError(_mark_diagnostic(self.file, self.source_lines, mark, code, message, hint))


_CoreLoader.add_implicit_resolver(_NULL, _NULL_RE, ["~", "n", "N", ""])


_CoreLoader.add_implicit_resolver(_BOOL, _BOOL_RE, list("tTfF"))


_CoreLoader.add_implicit_resolver(_INT, _INT_RE, list("-+0123456789"))


_CoreLoader.add_implicit_resolver(_FLOAT, _FLOAT_RE, list("-+.0123456789"))


def _compose(text: str, file: str | None, lines: tuple[str, ...], limits: Limits) -> Node | None:
    """The single document's root node, or None for an empty stream."""
    loader: _CoreLoader | None = None
    try:
        loader = _CoreLoader(text)
        loader.limits = limits
        loader.anchor_sizes = {}
        loader.file = file
        loader.source_lines = lines
        root: Node | None = None
        if loader.check_node():  # consumes the stream start; False for an empty stream
            root = loader.compose_document()
        if not loader.check_event(StreamEndEvent):
            mark: Mark = loader.current_event.start_mark  # set by check_event
            _fail(
                file,
                _mark_diagnostic(
                    file,
                    lines,
                    mark,
                    "yaml.multiple-documents",
                    N_("the file holds more than one YAML document"),
                    N_("keep one routine per file and remove the extra '---' line"),
                ),
            )
        return root
    except _LimitError as exc:
        _fail(file, exc.diagnostic)
    except MarkedYAMLError as exc:
        _fail(file, _syntax_diagnostic(exc, file, lines))
    except ReaderError as exc:
        _fail(file, _reader_diagnostic(exc, text, file, lines))
    except RecursionError:
        where = loader.get_mark() if loader is not None else None
        _fail(
            file,
            _mark_diagnostic(
                file,
                lines,
                where,
                "yaml.depth-limit",
                N_("the document nests too deeply to read"),
                N_("flatten the structure; a routine needs only a few levels"),
            ),
        )
    finally:
        if loader is not None:
            loader.dispose()


def _check_node_count(root: Node, max_nodes: int, file: str | None, lines: tuple[str, ...]) -> None:
    """Refuse graphs that expand to more than ``max_nodes`` nodes, or that contain themselves.

    The expanded size of each distinct node is computed once (memoised, saturating at
    ``max_nodes + 1``), so an alias bomb costs time proportional to its *source*, never to
    its expansion.
    """
    cap = max_nodes + 1
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            total = 1
            for child in _children(node):
                total += sizes[id(child)]
                if total >= cap:
                    total = cap
                    break
            sizes[key] = total
            in_progress.discard(key)
            continue
        if key in sizes:
            continue
        if key in in_progress:
            # Only descendants are popped while a node is in progress, so this is a cycle.
            _fail(
                file,
                _mark_diagnostic(
                    file,
                    lines,
                    node.start_mark,
                    "yaml.alias-limit",
                    N_("an alias refers to the value that contains it"),
                    N_("write the value out; an anchor cannot be used inside itself"),
                ),
            )
        in_progress.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)))
    if sizes[id(root)] <= max_nodes:
        return
    # Point at the smallest value that is too large on its own.
    node = root
    while True:
        big = next((c for c in _children(node) if sizes[id(c)] > max_nodes), None)
        if big is None:
            break
        node = big
    _fail(
        file,
        _mark_diagnostic(
            file,
            lines,
            node.start_mark,
            "yaml.node-limit",
            N_(
                "the document has more than {max_nodes} values once aliases are expanded",
                max_nodes=max_nodes,
            ),
            N_("use fewer aliases, or split the routine into smaller files"),
        ),
    )


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


_Store = Callable[[Any], None]


class _Builder:
    """Walks the node graph (iteratively, so deep alias chains cannot exhaust the stack)."""

    def __init__(self, file: str | None, lines: tuple[str, ...]) -> None:
        self.file = file
        self.lines = lines
        self.value_positions: dict[Path, Position] = {}
        self.key_positions: dict[Path, Position] = {}
        self.diagnostics: list[Diagnostic] = []
        # Nodes reached again through an alias are reported once, not once per alias.
        self._checked: set[int] = set()

    def build(self, root: Node) -> Any:
        result: list[Any] = [None]

        def store_root(value: Any) -> None:
            result[0] = value

        stack: list[tuple[Node, Path, _Store]] = [(root, (), store_root)]
        while stack:
            node, path, store = stack.pop()
            self.value_positions[path] = _position(node.start_mark)
            first_visit = id(node) not in self._checked
            self._checked.add(id(node))
            if isinstance(node, ScalarNode):
                store(self._scalar(node, path, report=first_visit))
            elif isinstance(node, SequenceNode):
                self._check_collection_tag(node, _SEQ, N_("a list"), path, report=first_visit)
                items: list[Any] = [None] * len(node.value)
                store(items)
                for index in reversed(range(len(items))):
                    stack.append((node.value[index], (*path, index), _item_setter(items, index)))
            elif isinstance(node, MappingNode):
                self._check_collection_tag(node, _MAP, N_("a mapping"), path, report=first_visit)
                entries = self._entries(node, path, report=first_visit)
                mapping: dict[str, Any] = dict.fromkeys(key for key, _ in entries)
                store(mapping)
                for key, value_node in reversed(entries):
                    stack.append((value_node, (*path, key), _key_setter(mapping, key)))
        return result[0]

    def _entries(self, node: MappingNode, path: Path, *, report: bool) -> list[tuple[str, Node]]:
        entries: list[tuple[str, Node]] = []
        first_seen: dict[str, Mark] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                if report:
                    kind = N_("a list") if isinstance(key_node, SequenceNode) else N_("a mapping")
                    self._report(
                        key_node.start_mark,
                        path,
                        "yaml.key-type",
                        N_("a mapping key must be plain text, not {kind}", kind=kind),
                        N_("write the key as plain text followed by ':', e.g. 'name: value'"),
                    )
                continue
            key = str(key_node.value)
            key_path: Path = (*path, key)
            if key == "<<" and key_node.style is None and key_node.tag == _STR:
                if report:
                    self._report(
                        key_node.start_mark,
                        key_path,
                        "yaml.merge-key",
                        N_("merge keys ('<<') are not supported"),
                        N_("write the keys out in this mapping instead of merging another one"),
                    )
                continue
            if key_node.tag != _STR:
                self._scalar(key_node, key_path, report=report)  # validates an explicit tag
            if key in first_seen:
                if report:
                    self._report(
                        key_node.start_mark,
                        key_path,
                        "yaml.duplicate-key",
                        N_(
                            "duplicate key {key}, first defined on line {value}",
                            key=repr(key),
                            value=first_seen[key].line + 1,
                        ),
                        N_(
                            "keep a single {key} entry and merge the two or delete one",
                            key=repr(key),
                        ),
                    )
                continue
            first_seen[key] = key_node.start_mark
            self.key_positions[key_path] = _position(key_node.start_mark)
            entries.append((key, value_node))
        return entries

    def _scalar(self, node: ScalarNode, path: Path, *, report: bool) -> Any:
        tag, value = node.tag, str(node.value)
        if tag not in _SCALAR_TAGS:
            if report:
                kind = N_("a mapping") if tag == _MAP else N_("a list") if tag == _SEQ else None
                self._tag_problem(node, path, tag, kind)
            return value
        try:
            return _resolve_scalar(tag, value)
        except ValueError as exc:
            if report:
                self._report(
                    node.start_mark,
                    path,
                    "yaml.tag",
                    exc.args[0] if exc.args and isinstance(exc.args[0], Text) else str(exc),
                    N_("remove the tag, or write a value that fits it"),
                )
            return value

    def _check_collection_tag(
        self, node: Node, expected: str, kind: Message, path: Path, *, report: bool
    ) -> None:
        if node.tag != expected and report:
            self._tag_problem(node, path, node.tag, kind if node.tag in _SCALAR_TAGS else None)

    def _tag_problem(self, node: Node, path: Path, tag: str, kind: Message | None) -> None:
        shown = _short_tag(tag)
        if kind is not None:
            message = N_("the tag {shown} cannot be used on {kind}", shown=shown, kind=kind)
        else:
            message = N_(
                "the tag {shown} is not allowed; routines hold plain data only", shown=shown
            )
        self._report(
            node.start_mark,
            path,
            "yaml.tag",
            message,
            N_("remove the tag and write the value as plain text, a number, a list or a mapping"),
        )

    def _report(self, mark: Mark, path: Path, code: str, message: Message, hint: Message) -> None:
        self.diagnostics.append(
            _mark_diagnostic(self.file, self.lines, mark, code, message, hint, path=path)
        )


def _item_setter(items: list[Any], index: int) -> _Store:
    def store(value: Any) -> None:
        items[index] = value

    return store


def _key_setter(mapping: dict[str, Any], key: str) -> _Store:
    def store(value: Any) -> None:
        mapping[key] = value

    return store


def _resolve_scalar(tag: str, value: str) -> Any:
    """The Python value of a scalar under the core schema; ValueError when it does not fit."""
    if tag == _STR:
        return value
    if tag == _NULL and _NULL_RE.match(value):
        return None
    if tag == _BOOL and _BOOL_RE.match(value):
        return value.lower() == "true"
    if tag == _INT and _INT_RE.match(value):
        return _to_int(value)
    if tag == _FLOAT:
        if _INT_RE.match(value):
            return float(_to_int(value))
        if _FLOAT_RE.match(value):
            lowered = value.lower()
            if lowered.endswith(".nan"):
                return math.nan
            if lowered.endswith(".inf"):
                return -math.inf if lowered.startswith("-") else math.inf
            return float(value)
    raise ValueError(
        N_("{value} is not a valid {tag} value", value=repr(value), tag=_short_tag(tag))
    )


def _to_int(value: str) -> int:
    try:
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value, 10)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise ValueError(N_("the number {value}... is too long", value=value[:20])) from None


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG_PREFIX) :] if tag.startswith(_TAG_PREFIX) else tag
