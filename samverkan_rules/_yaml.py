"""Safe YAML loading with a map from document paths to line and column.

Routines are written by policy authors, not programmers, so the loader is strict where YAML
is surprising and precise about where a problem is:

* Only plain data comes out: mappings, sequences, strings, numbers, booleans and null. No
  tag ever constructs an object; tags other than the standard ``!!str``, ``!!int``,
  ``!!float``, ``!!bool``, ``!!null``, ``!!map`` and ``!!seq`` are refused.
* Plain scalars resolve as in the YAML 1.2 *core* schema, not YAML 1.1: ``yes``, ``on``,
  ``13:30`` and ``2024-02-98`` stay strings, so the schema layer can say what is wrong with
  them instead of receiving a boolean, a sexagesimal number or a date.
* Mapping keys are always strings (the key's text, as in JSON): ``1: x`` gives ``{"1": "x"}``.
* Duplicate keys, merge keys (``<<``), non-scalar keys, more than one document and inputs
  that are too large (bytes, aliases, nodes after alias expansion) are refused with a
  located :class:`~samverkan_rules.diagnostics.Diagnostic`.

The nodes come from PyYAML's composer (``yaml.compose`` machinery, pure-Python so every node
keeps its marks); values are built by walking the node graph, which records where each value
and each mapping key starts. :meth:`YamlDocument.diagnostic` turns a path such as a pydantic
``loc`` tuple into ``file:line:col: path: message``.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, NoReturn, TypeAlias

import yaml
from yaml.error import Mark, MarkedYAMLError
from yaml.events import AliasEvent, StreamEndEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from samverkan_rules.diagnostics import Diagnostic, Level
from samverkan_rules.errors import YamlError

__all__ = [
    "ENV_LIMITS",
    "MAX_ALIASES",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "Limits",
    "Path",
    "PathPart",
    "Position",
    "YamlDocument",
    "format_path",
    "load_yaml",
    "load_yaml_file",
    "read_yaml_text",
]

PathPart: TypeAlias = str | int
Path: TypeAlias = tuple[PathPart, ...]

MAX_BYTES: Final = 1024 * 1024
"""Largest routine file, in bytes (the largest bundled routine is about 50 KB)."""
MAX_ALIASES: Final = 200
"""Most alias uses (``*name``) in one document."""
MAX_NODES: Final = 20_000
"""Most values in one document once aliases are expanded (the largest bundled routine
has about 2,300); PyYAML composes some 50,000 values a second, so refusal is quick."""
MAX_DEPTH: Final = 64
"""Deepest nesting of lists and mappings (a routine needs fewer than ten levels)."""

ENV_LIMITS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "max_bytes": "SAMVERKAN_YAML_MAX_BYTES",
        "max_nodes": "SAMVERKAN_YAML_MAX_NODES",
        "max_aliases": "SAMVERKAN_YAML_MAX_ALIASES",
        "max_depth": "SAMVERKAN_YAML_MAX_DEPTH",
    }
)
"""The environment variable that raises (or lowers) each limit."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How much YAML is read before it is refused; each limit is checked as input grows.

    Attributes:
        max_bytes: Largest text or file, in UTF-8 bytes; a file is measured before it is read.
        max_nodes: Most values once aliases are expanded, counted while composing.
        max_aliases: Most alias uses.
        max_depth: Deepest nesting of lists and mappings.
    """

    max_bytes: int = MAX_BYTES
    max_nodes: int = MAX_NODES
    max_aliases: int = MAX_ALIASES
    max_depth: int = MAX_DEPTH

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The defaults, with any ``SAMVERKAN_YAML_MAX_*`` variable applied.

        Raises:
            YamlError: A variable is set to something other than a whole number >= 1.

        Examples:
            >>> Limits.from_env({"SAMVERKAN_YAML_MAX_NODES": "50000"}).max_nodes
            50000
        """
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for field_name, variable in ENV_LIMITS.items():
            raw = env.get(variable)
            if raw is None or not raw.strip():
                continue
            try:
                value = int(raw.strip().replace("_", ""))
            except ValueError:
                value = 0
            if value < 1:
                _fail(
                    None,
                    Diagnostic(
                        "error",
                        "yaml.limit-setting",
                        f"{variable} must be a whole number >= 1, got {raw!r}",
                        hint=f"unset {variable} to use the default",
                    ),
                )
            values[field_name] = value
        return cls(**values)


def _raise_hint(variable: str, advice: str) -> str:
    return f"{advice}, or raise the limit with the environment variable {variable}=N"


_TAG_PREFIX: Final = "tag:yaml.org,2002:"
_STR: Final = _TAG_PREFIX + "str"
_INT: Final = _TAG_PREFIX + "int"
_FLOAT: Final = _TAG_PREFIX + "float"
_BOOL: Final = _TAG_PREFIX + "bool"
_NULL: Final = _TAG_PREFIX + "null"
_MAP: Final = _TAG_PREFIX + "map"
_SEQ: Final = _TAG_PREFIX + "seq"
_SCALAR_TAGS: Final = frozenset({_STR, _INT, _FLOAT, _BOOL, _NULL})

# YAML 1.2.2, section 10.3.2 (core schema), tag resolution table.
_NULL_RE: Final = re.compile(r"(?:~|null|Null|NULL|)\Z")
_BOOL_RE: Final = re.compile(r"(?:true|True|TRUE|false|False|FALSE)\Z")
_INT_RE: Final = re.compile(r"(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z")
_FLOAT_RE: Final = re.compile(
    r"(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)"
    r"|\.(?:nan|NaN|NAN))\Z"
)

# The line breaks PyYAML counts in its marks; ``lines`` must split the same way. (A comment,
# though, ends only at \r or \n, as YAML 1.2 says: see _CoreLoader.scan_to_next_token.)
_LINE_BREAK: Final = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")
_IDENTIFIER_LIKE: Final = re.compile(r"[^\W\d][\w.\-]*\Z")


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the source text.

    Attributes:
        line: 1-based line number.
        column: 1-based column, counted in characters.
    """

    line: int
    column: int


def format_path(path: Sequence[PathPart]) -> str:
    """Render a document path the way diagnostics show it.

    List indices are written in brackets; keys are joined with dots, or written as
    ``["..."]`` when they do not look like an identifier (spaces, a leading digit, empty).

    Args:
        path: Keys and list indices from the document root, e.g. a pydantic ``loc``.

    Returns:
        The path as text; the empty path gives ``""``.

    Examples:
        >>> format_path(("rules", 3, "deadline", "working_days"))
        'rules[3].deadline.working_days'
        >>> format_path(("roles", "hemvard.driftsplanerare", "name"))
        'roles.hemvard.driftsplanerare.name'
        >>> format_path(("labels", "på svenska", 0))
        'labels["på svenska"][0]'
        >>> format_path(())
        ''
    """
    out: list[str] = []
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out.append(f"[{part}]")
        elif _IDENTIFIER_LIKE.match(text := str(part)):
            out.append(f".{text}" if out else text)
        else:
            out.append(f"[{json.dumps(text, ensure_ascii=False)}]")
    return "".join(out)


@dataclass(frozen=True)
class YamlDocument:
    """A loaded YAML document: plain data plus where each part of it came from.

    Attributes:
        data: Plain Python data (dict with string keys, list, str, int, float, bool, None).
        file: The file name given by the caller, if any.
        lines: The source text split into lines, for the caret display.
        value_positions: Where each value node starts, by path.
        key_positions: For each mapping-entry path, where its key starts.
    """

    data: Any
    file: str | None
    lines: tuple[str, ...]
    value_positions: Mapping[Path, Position]
    key_positions: Mapping[Path, Position]

    def position(self, path: Sequence[PathPart]) -> Position | None:
        """The best position to report for ``path``.

        For a mapping entry this is where its key starts (where an editor should point); for
        a list item or the root, where the value starts. A path that does not exist in the
        document (a missing key, a pydantic ``loc`` with extra parts) falls back to its
        nearest existing ancestor.

        Args:
            path: Keys and list indices from the document root.

        Returns:
            The position, or None when the document is empty.
        """
        current: Path = tuple(path)
        while True:
            found = self.key_positions.get(current) or self.value_positions.get(current)
            if found is not None or not current:
                return found
            current = current[:-1]

    def diagnostic(
        self,
        path: Sequence[PathPart],
        code: str,
        message: str,
        *,
        hint: str | None = None,
        level: Level = "error",
    ) -> Diagnostic:
        """A diagnostic located at ``path`` (file, line, column, path and source line).

        Args:
            path: Keys and list indices from the document root.
            code: A stable dotted code such as ``routine.unknown-role``.
            message: One sentence saying what is wrong.
            hint: What to write instead.
            level: ``error``, ``warning`` or ``info``.

        Returns:
            The located diagnostic.
        """
        pos = self.position(path)
        return Diagnostic(
            level,
            code,
            message,
            file=self.file,
            line=pos.line if pos else None,
            column=pos.column if pos else None,
            path=format_path(path) or None,
            hint=hint,
            source_line=_source_line(self.lines, pos.line) if pos else None,
        )


# ---------------------------------------------------------------------------------------
# Loading


def load_yaml(
    text: str,
    *,
    file: str | None = None,
    max_bytes: int | None = None,
    max_aliases: int | None = None,
    max_nodes: int | None = None,
    max_depth: int | None = None,
    limits: Limits | None = None,
) -> YamlDocument:
    """Load one YAML document safely, recording the position of every key and value.

    Args:
        text: The YAML source. A leading byte order mark is ignored.
        file: The file name to put in diagnostics.
        max_bytes: Largest accepted text, in UTF-8 bytes; checked before parsing.
        max_aliases: Most alias uses (``*name``) accepted.
        max_nodes: Most nodes accepted once aliases are expanded; counted while composing.
        max_depth: Deepest nesting of lists and mappings.
        limits: All four at once; default :meth:`Limits.from_env` (the defaults, raised or
            lowered by ``SAMVERKAN_YAML_MAX_*``). A ``max_*`` argument overrides it.

    Returns:
        The document. An empty document has ``data`` None.

    Raises:
        YamlError: The text is malformed or unsafe; ``diagnostics`` says where and why.

    Examples:
        >>> doc = load_yaml("rules:\\n  - id: a\\n    at: 13:30\\n    on: yes\\n", file="r.yaml")
        >>> doc.data
        {'rules': [{'id': 'a', 'at': '13:30', 'on': 'yes'}]}
        >>> doc.position(("rules", 0, "at"))
        Position(line=3, column=5)
        >>> print(doc.diagnostic(("rules", 0, "at"), "routine.time", "not a time").format())
        r.yaml:3:5: rules[0].at: not a time
        >>> try:
        ...     load_yaml("a: 1\\na: 2\\n", file="r.yaml")
        ... except YamlError as exc:
        ...     print(exc.diagnostics[0].format())
        r.yaml:2:1: a: duplicate key 'a', first defined on line 1. Hint: ...
    """
    chosen = _chosen(limits, max_bytes, max_aliases, max_nodes, max_depth)
    if text.startswith("\ufeff"):
        text = text[1:]
    size = _utf8_size(text)
    if size > chosen.max_bytes:
        _fail(file, _size_diagnostic(file, f"the YAML text is {size} bytes", chosen.max_bytes))
    lines = tuple(_LINE_BREAK.split(text))
    root = _compose(text, file, lines, chosen)
    if root is None:
        return YamlDocument(None, file, lines, MappingProxyType({}), MappingProxyType({}))
    _check_node_count(root, chosen.max_nodes, file, lines)
    builder = _Builder(file, lines)
    data = builder.build(root)
    if builder.diagnostics:
        _fail(file, *builder.diagnostics)
    return YamlDocument(
        data,
        file,
        lines,
        MappingProxyType(builder.value_positions),
        MappingProxyType(builder.key_positions),
    )


def _chosen(
    limits: Limits | None,
    max_bytes: int | None,
    max_aliases: int | None,
    max_nodes: int | None,
    max_depth: int | None,
) -> Limits:
    base = limits if limits is not None else Limits.from_env()
    return Limits(
        max_bytes=base.max_bytes if max_bytes is None else max_bytes,
        max_nodes=base.max_nodes if max_nodes is None else max_nodes,
        max_aliases=base.max_aliases if max_aliases is None else max_aliases,
        max_depth=base.max_depth if max_depth is None else max_depth,
    )


def _size_diagnostic(file: str | None, what: str, limit: int) -> Diagnostic:
    return Diagnostic(
        "error",
        "yaml.size-limit",
        f"{what}, more than the limit of {limit} bytes",
        file=file,
        hint=_raise_hint(ENV_LIMITS["max_bytes"], "split the routine into smaller files"),
    )


_KINDS: Final = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_yaml_text(path: str | os.PathLike[str], *, max_bytes: int | None = None) -> str:
    """The text of a routine file: a regular file, measured before it is read, UTF-8.

    The file is opened without waiting (a named pipe with no writer does not block), its
    kind and size are checked from its metadata, and only then is it read, never more than
    ``max_bytes + 1`` bytes (in case it grows meanwhile). A leading byte order mark is
    dropped.

    Args:
        path: The file; diagnostics name it as given.
        max_bytes: Largest accepted file; default from :meth:`Limits.from_env`.

    Raises:
        YamlError: The file cannot be opened, is no regular file, is too large or is not
            UTF-8; the diagnostic names the file (and the line, for bad bytes).
    """
    file = os.fspath(path)
    limit = Limits.from_env().max_bytes if max_bytes is None else max_bytes
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        _fail(file, _unreadable(file, exc))
    try:
        info = os.fstat(fd)
        for test, kind in _KINDS:
            if test(info.st_mode):
                _fail(
                    file,
                    Diagnostic(
                        "error",
                        "yaml.not-a-file",
                        f"this is {kind}, not a routine file",
                        file=file,
                        hint="name a routine file (*.yaml), or a directory to search for them",
                    ),
                )
        if info.st_size > limit:
            _fail(file, _size_diagnostic(file, f"the file is {info.st_size} bytes", limit))
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=True) as stream:
            fd = -1
            raw = stream.read(limit + 1)
    except OSError as exc:
        _fail(file, _unreadable(file, exc))
    finally:
        if fd >= 0:
            os.close(fd)
    if len(raw) > limit:
        _fail(file, _size_diagnostic(file, f"the file has grown past {limit} bytes", limit))
    bom = b"\xef\xbb\xbf"
    body = raw[len(bom) :] if raw.startswith(bom) else raw
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        _fail(file, _decode_diagnostic(file, body, exc))


def _unreadable(file: str, exc: OSError) -> Diagnostic:
    return Diagnostic(
        "error",
        "yaml.unreadable",
        f"cannot read the file: {exc.strerror or exc}",
        file=file,
        hint="check that the path is right and that the file is readable",
    )


def load_yaml_file(
    path: str | os.PathLike[str],
    *,
    max_bytes: int | None = None,
    max_aliases: int | None = None,
    max_nodes: int | None = None,
    max_depth: int | None = None,
    limits: Limits | None = None,
) -> YamlDocument:
    """Read a UTF-8 file (a byte order mark is tolerated) and load it with :func:`load_yaml`.

    Args:
        path: The file to read; diagnostics name it as given.
        max_bytes: Largest accepted file, in bytes; measured before the file is read.
        max_aliases: Most alias uses accepted.
        max_nodes: Most nodes accepted once aliases are expanded.
        max_depth: Deepest nesting of lists and mappings.
        limits: All four at once (see :func:`load_yaml`).

    Returns:
        The document.

    Raises:
        YamlError: The file cannot be read, is no regular file, is not UTF-8, or is not
            acceptable YAML.
    """
    chosen = _chosen(limits, max_bytes, max_aliases, max_nodes, max_depth)
    file = os.fspath(path)
    text = read_yaml_text(file, max_bytes=chosen.max_bytes)
    return load_yaml(text, file=file, limits=chosen)


# ---------------------------------------------------------------------------------------
# Composing: PyYAML's scanner, parser and composer with core-schema resolution


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
                    f"the document uses more than {limits.max_aliases} aliases",
                    _raise_hint(
                        ENV_LIMITS["max_aliases"],
                        "write the values out instead of repeating them with *aliases",
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
                f"the values nest more than {limits.max_depth} levels deep",
                _raise_hint(
                    ENV_LIMITS["max_depth"], "flatten the structure; a routine needs only a few"
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
            expanded = " once aliases are expanded" if aliased else ""
            self._stop(
                "yaml.node-limit",
                f"the document has more than {limit} values{expanded}",
                _raise_hint(
                    ENV_LIMITS["max_nodes"],
                    "use fewer aliases, or split the routine into smaller files"
                    if aliased
                    else "split the routine into smaller files",
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

    def _stop(self, code: str, message: str, hint: str) -> NoReturn:
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
                    "the file holds more than one YAML document",
                    "keep one routine per file and remove the extra '---' line",
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
                "the document nests too deeply to read",
                "flatten the structure; a routine needs only a few levels",
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
                    "an alias refers to the value that contains it",
                    "write the value out; an anchor cannot be used inside itself",
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
            f"the document has more than {max_nodes} values once aliases are expanded",
            "use fewer aliases, or split the routine into smaller files",
        ),
    )


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


# ---------------------------------------------------------------------------------------
# Building plain values


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
                self._check_collection_tag(node, _SEQ, "a list", path, report=first_visit)
                items: list[Any] = [None] * len(node.value)
                store(items)
                for index in reversed(range(len(items))):
                    stack.append((node.value[index], (*path, index), _item_setter(items, index)))
            elif isinstance(node, MappingNode):
                self._check_collection_tag(node, _MAP, "a mapping", path, report=first_visit)
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
                    kind = "a list" if isinstance(key_node, SequenceNode) else "a mapping"
                    self._report(
                        key_node.start_mark,
                        path,
                        "yaml.key-type",
                        f"a mapping key must be plain text, not {kind}",
                        "write the key as plain text followed by ':', e.g. 'name: value'",
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
                        "merge keys ('<<') are not supported",
                        "write the keys out in this mapping instead of merging another one",
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
                        f"duplicate key {key!r}, first defined on line {first_seen[key].line + 1}",
                        f"keep a single {key!r} entry and merge the two or delete one",
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
                kind = "a mapping" if tag == _MAP else "a list" if tag == _SEQ else None
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
                    str(exc),
                    "remove the tag, or write a value that fits it",
                )
            return value

    def _check_collection_tag(
        self, node: Node, expected: str, kind: str, path: Path, *, report: bool
    ) -> None:
        if node.tag != expected and report:
            self._tag_problem(node, path, node.tag, kind if node.tag in _SCALAR_TAGS else None)

    def _tag_problem(self, node: Node, path: Path, tag: str, kind: str | None) -> None:
        shown = _short_tag(tag)
        if kind is not None:
            message = f"the tag {shown} cannot be used on {kind}"
        else:
            message = f"the tag {shown} is not allowed; routines hold plain data only"
        self._report(
            node.start_mark,
            path,
            "yaml.tag",
            message,
            "remove the tag and write the value as plain text, a number, a list or a mapping",
        )

    def _report(self, mark: Mark, path: Path, code: str, message: str, hint: str) -> None:
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
    raise ValueError(f"{value!r} is not a valid {_short_tag(tag)} value")


def _to_int(value: str) -> int:
    try:
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value, 10)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise ValueError(f"the number {value[:20]}... is too long") from None


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG_PREFIX) :] if tag.startswith(_TAG_PREFIX) else tag


# ---------------------------------------------------------------------------------------
# Diagnostics


def _fail(file: str | None, *diagnostics: Diagnostic) -> NoReturn:
    where = f"'{file}'" if file else "the YAML text"
    raise YamlError(f"cannot load {where}", diagnostics)


def _position(mark: Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def _source_line(lines: Sequence[str], line: int) -> str | None:
    return lines[line - 1] if 1 <= line <= len(lines) else None


def _mark_diagnostic(
    file: str | None,
    lines: Sequence[str],
    mark: Mark | None,
    code: str,
    message: str,
    hint: str | None,
    *,
    path: Path = (),
) -> Diagnostic:
    pos = _position(mark) if mark is not None else None
    return Diagnostic(
        "error",
        code,
        message,
        file=file,
        line=pos.line if pos else None,
        column=pos.column if pos else None,
        path=format_path(path) or None,
        hint=hint,
        source_line=_source_line(lines, pos.line) if pos else None,
    )


# (pattern on PyYAML's problem text, our message, hint); the first match wins.
_SYNTAX_PROBLEMS: Final[tuple[tuple[re.Pattern[str], str, str], ...]] = (
    (
        re.compile(r"found character '\\t'"),
        "a tab character cannot be used here",
        "indent with spaces, not tabs",
    ),
    (
        re.compile(r"found character (?P<char>'.') that cannot start any token"),
        "a value cannot start with {char}",
        "put the value in quotes",
    ),
    (
        re.compile(r"found unknown escape character"),
        "a double-quoted text contains an unknown escape sequence",
        "write a backslash as '\\\\' inside double quotes, or use single quotes",
    ),
    (
        re.compile(r"mapping values are not allowed here"),
        "a ': ' appears where no new key can start",
        "put the value in quotes if it contains ': ', or start the key on its own line",
    ),
    (
        re.compile(r"could not find expected ':'"),
        "a key is missing its ':'",
        "write 'key: value' with a space after the colon, or quote the text",
    ),
    (
        re.compile(r"expected <block end>, but found"),
        "the indentation is inconsistent",
        "indent entries at the same level to the same column, using spaces",
    ),
    (
        re.compile(r"found undefined alias"),
        "an alias is used before its anchor is defined",
        "define '&name' before using '*name', or write the value out",
    ),
    (
        re.compile(r"found duplicate anchor"),
        "the same anchor name is defined twice",
        "give each '&name' anchor its own name",
    ),
    (
        re.compile(r"found unexpected end of stream"),
        "the text ends in the middle of a value",
        "close the quote or bracket that was opened",
    ),
    (
        re.compile(r"expected ',' or '[\]}]'"),
        "a [...] or {...} value is not closed properly",
        "check the brackets and the commas between the items",
    ),
)


def _syntax_diagnostic(exc: MarkedYAMLError, file: str | None, lines: Sequence[str]) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "unreadable YAML"
    described = f"{exc.context or ''} {problem}"
    message = (
        f"invalid YAML {exc.context}: {problem}" if exc.context else f"invalid YAML: {problem}"
    )
    hint = "check the indentation and the quoting on this line"
    for pattern, mine, their_hint in _SYNTAX_PROBLEMS:
        if found := pattern.search(described):
            groups = found.groupdict()
            message, hint = (mine.format(**groups) if groups else mine), their_hint
            break
    line = _source_line(lines, mark.line + 1) if mark is not None else None
    if line is not None and "\t" in line[: len(line) - len(line.lstrip())]:
        message, hint = "the line is indented with a tab", "indent with spaces, not tabs"
    context = exc.context_mark
    if context is not None and mark is not None and context.line != mark.line:
        message += f" (started on line {context.line + 1})"
    return _mark_diagnostic(file, lines, mark, "yaml.syntax", message, hint)


def _reader_diagnostic(
    exc: ReaderError, text: str, file: str | None, lines: Sequence[str]
) -> Diagnostic:
    character = exc.character
    code_point = ord(character) if isinstance(character, str) else int(character)
    shown = f"U+{code_point:04X}"
    pos = _offset_position(text, int(exc.position))
    return Diagnostic(
        "error",
        "yaml.encoding",
        f"the text contains the control character {shown}, which YAML does not allow",
        file=file,
        line=pos.line,
        column=pos.column,
        hint="delete the character, or write it as an escape inside double quotes",
        source_line=_source_line(lines, pos.line),
    )


def _decode_diagnostic(file: str, body: bytes, exc: UnicodeDecodeError) -> Diagnostic:
    line_start = body.rfind(b"\n", 0, exc.start) + 1
    line = body.count(b"\n", 0, exc.start) + 1
    column = len(body[line_start : exc.start].decode("utf-8", errors="replace")) + 1
    bad = body[exc.start : exc.end].hex(" ")
    return Diagnostic(
        "error",
        "yaml.encoding",
        f"the file is not valid UTF-8 (byte {bad} at offset {exc.start})",
        file=file,
        line=line,
        column=column,
        hint="save the file with the UTF-8 encoding",
    )


def _offset_position(text: str, offset: int) -> Position:
    line, start = 1, 0
    for match in _LINE_BREAK.finditer(text, 0, offset):
        line, start = line + 1, match.end()
    return Position(line, offset - start + 1)


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))
