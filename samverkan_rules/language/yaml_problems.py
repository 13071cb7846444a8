"""YAML errors as located diagnostics: PyYAML's marks turned into file:line:column, the
source line, and a hint in words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from yaml.error import Mark, MarkedYAMLError
from yaml.reader import ReaderError

from samverkan_rules.diagnostics import N_, Diagnostic, Message, Text
from samverkan_rules.language.yaml_core import _LINE_BREAK, Path, Position, format_path


def _position(mark: Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def _source_line(lines: Sequence[str], line: int) -> str | None:
    return lines[line - 1] if 1 <= line <= len(lines) else None


def _mark_diagnostic(
    file: str | None,
    lines: Sequence[str],
    mark: Mark | None,
    code: str,
    message: Message,
    hint: Message | None,
    *,
    path: Path = (),
) -> Diagnostic:
    pos = _position(mark) if mark is not None else None
    return Diagnostic.of(
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
_SYNTAX_PROBLEMS: Final[tuple[tuple[re.Pattern[str], Text, Text], ...]] = (
    (
        re.compile(r"found character '\\t'"),
        N_("a tab character cannot be used here"),
        N_("indent with spaces, not tabs"),
    ),
    (
        re.compile(r"found character (?P<char>'.') that cannot start any token"),
        N_("a value cannot start with {char}"),
        N_("put the value in quotes"),
    ),
    (
        re.compile(r"found unknown escape character"),
        N_("a double-quoted text contains an unknown escape sequence"),
        N_("write a backslash as '\\\\' inside double quotes, or use single quotes"),
    ),
    (
        re.compile(r"mapping values are not allowed here"),
        N_("a ': ' appears where no new key can start"),
        N_("put the value in quotes if it contains ': ', or start the key on its own line"),
    ),
    (
        re.compile(r"could not find expected ':'"),
        N_("a key is missing its ':'"),
        N_("write 'key: value' with a space after the colon, or quote the text"),
    ),
    (
        re.compile(r"expected <block end>, but found"),
        N_("the indentation is inconsistent"),
        N_("indent entries at the same level to the same column, using spaces"),
    ),
    (
        re.compile(r"found undefined alias"),
        N_("an alias is used before its anchor is defined"),
        N_("define '&name' before using '*name', or write the value out"),
    ),
    (
        re.compile(r"found duplicate anchor"),
        N_("the same anchor name is defined twice"),
        N_("give each '&name' anchor its own name"),
    ),
    (
        re.compile(r"found unexpected end of stream"),
        N_("the text ends in the middle of a value"),
        N_("close the quote or bracket that was opened"),
    ),
    (
        re.compile(r"expected ',' or '[\]}]'"),
        N_("a [...] or {{...}} value is not closed properly"),
        N_("check the brackets and the commas between the items"),
    ),
)


def _syntax_diagnostic(exc: MarkedYAMLError, file: str | None, lines: Sequence[str]) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "unreadable YAML"
    described = f"{exc.context or ''} {problem}"
    message: Message = (
        N_("invalid YAML {context}: {problem}", context=exc.context, problem=problem)
        if exc.context
        else N_("invalid YAML: {problem}", problem=problem)
    )
    hint: Message = N_("check the indentation and the quoting on this line")
    for pattern, mine, their_hint in _SYNTAX_PROBLEMS:
        if found := pattern.search(described):
            message, hint = N_(mine.msgid, **found.groupdict()), their_hint
            break
    line = _source_line(lines, mark.line + 1) if mark is not None else None
    if line is not None and "\t" in line[: len(line) - len(line.lstrip())]:
        message, hint = N_("the line is indented with a tab"), N_("indent with spaces, not tabs")
    context = exc.context_mark
    if context is not None and mark is not None and context.line != mark.line:
        message = N_("{message} (started on line {line})", message=message, line=context.line + 1)
    return _mark_diagnostic(file, lines, mark, "yaml.syntax", message, hint)


def _reader_diagnostic(
    exc: ReaderError, text: str, file: str | None, lines: Sequence[str]
) -> Diagnostic:
    character = exc.character
    code_point = ord(character) if isinstance(character, str) else int(character)
    shown = f"U+{code_point:04X}"
    pos = _offset_position(text, int(exc.position))
    return Diagnostic.of(
        "error",
        "yaml.encoding",
        N_(
            "the text contains the control character {shown}, which YAML does not allow",
            shown=shown,
        ),
        file=file,
        line=pos.line,
        column=pos.column,
        hint=N_("delete the character, or write it as an escape inside double quotes"),
        source_line=_source_line(lines, pos.line),
    )


def _decode_diagnostic(file: str, body: bytes, exc: UnicodeDecodeError) -> Diagnostic:
    line_start = body.rfind(b"\n", 0, exc.start) + 1
    line = body.count(b"\n", 0, exc.start) + 1
    column = len(body[line_start : exc.start].decode("utf-8", errors="replace")) + 1
    bad = body[exc.start : exc.end].hex(" ")
    return Diagnostic.of(
        "error",
        "yaml.encoding",
        N_("the file is not valid UTF-8 (byte {bad} at offset {start})", bad=bad, start=exc.start),
        file=file,
        line=line,
        column=column,
        hint=N_("save the file with the UTF-8 encoding"),
    )


def _offset_position(text: str, offset: int) -> Position:
    line, start = 1, 0
    for match in _LINE_BREAK.finditer(text, 0, offset):
        line, start = line + 1, match.end()
    return Position(line, offset - start + 1)


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))
