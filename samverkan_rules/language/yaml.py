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

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from samverkan_rules.diagnostics import N_, Diagnostic, Level, Message
from samverkan_rules.language.yaml_compose import _Builder, _check_node_count, _compose
from samverkan_rules.language.yaml_core import (
    _LINE_BREAK,
    ENV_LIMITS,
    Limits,
    Path,
    PathPart,
    Position,
    _fail,
    _raise_hint,
    format_path,
)
from samverkan_rules.language.yaml_problems import _decode_diagnostic, _source_line, _utf8_size


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
        message: Message,
        *,
        hint: Message | None = None,
        level: Level = "error",
    ) -> Diagnostic:
        """A diagnostic located at ``path`` (file, line, column, path and source line).

        Args:
            path: Keys and list indices from the document root.
            code: A stable dotted code such as ``routine.unknown-role``.
            message: One sentence saying what is wrong (translatable when a :class:`Text`).
            hint: What to write instead (likewise).
            level: ``error``, ``warning`` or ``info``.

        Returns:
            The located diagnostic.
        """
        pos = self.position(path)
        return Diagnostic.of(
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
        >>> from samverkan_rules.errors import YamlError
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
        _fail(
            file,
            _size_diagnostic(
                file, N_("the YAML text is {size} bytes", size=size), chosen.max_bytes
            ),
        )
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


def _size_diagnostic(file: str | None, what: Message, limit: int) -> Diagnostic:
    return Diagnostic.of(
        "error",
        "yaml.size-limit",
        N_("{what}, more than the limit of {limit} bytes", what=what, limit=limit),
        file=file,
        hint=_raise_hint(ENV_LIMITS["max_bytes"], N_("split the routine into smaller files")),
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
                    Diagnostic.of(
                        "error",
                        "yaml.not-a-file",
                        N_("this is {kind}, not a routine file", kind=kind),
                        file=file,
                        hint=N_("name a routine file (*.yaml), or a directory to search for them"),
                    ),
                )
        if info.st_size > limit:
            _fail(
                file,
                _size_diagnostic(
                    file, N_("the file is {st_size} bytes", st_size=info.st_size), limit
                ),
            )
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
        _fail(
            file,
            _size_diagnostic(file, N_("the file has grown past {limit} bytes", limit=limit), limit),
        )
    bom = b"\xef\xbb\xbf"
    body = raw[len(bom) :] if raw.startswith(bom) else raw
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        _fail(file, _decode_diagnostic(file, body, exc))


def _unreadable(file: str, exc: OSError) -> Diagnostic:
    return Diagnostic.of(
        "error",
        "yaml.unreadable",
        N_("cannot read the file: {value}", value=exc.strerror or exc),
        file=file,
        hint=N_("check that the path is right and that the file is readable"),
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
