"""Event files: JSON Lines and CSV parsed into an :class:`~samverkan_rules.events.model.EventBatch`,
with every unusable line reported by file and line number and the rest kept.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final

import orjson

from samverkan_rules.diagnostics import N_, Diagnostic, Text
from samverkan_rules.errors import EventError
from samverkan_rules.events.limits import DEFAULT_LIMITS, EventLimits, _brackets, _depth_over
from samverkan_rules.events.model import REQUIRED_KEYS, EventBatch, _batch, _diag


def iter_lines(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """``(line number, byte offset, line)`` for each line, split on ``\\n`` only.

    A line's ``\\r`` before its ``\\n`` is dropped. Other separators (U+2028, U+0085, form
    feed) are characters inside a line, as JSON Lines says, never line breaks.
    """
    number = 0
    pos = 0
    end = len(data)
    while pos < end:
        nl = data.find(b"\n", pos)
        stop = end if nl < 0 else nl
        number += 1
        raw = data[pos:stop]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        yield number, pos, raw
        pos = stop + 1


def decode_json_line(
    raw: bytes | str, *, file: str | None, line: int | None, limits: EventLimits = DEFAULT_LIMITS
) -> Any:
    """One JSON Lines record, decoded and checked against the limits.

    Raises:
        EventError: for invalid UTF-8 or JSON, a line over the size limit or data nested
            deeper than the limit, located at ``file`` and ``line``.
    """
    size = len(raw)
    if size > limits.line_bytes:
        raise EventError(
            "event line too long",
            [
                _diag(
                    "event.too-long",
                    limits.too_long(size),
                    file=file,
                    line=line,
                    hint=N_("split the event's data, or raise the limit"),
                )
            ],
        )
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        message = str(exc.msg)
        what: Text
        if "UTF-8" in message or "surrogate" in message:
            what = N_("not valid text: {message}", message=message)
            hint = N_("save the file as UTF-8; escape characters as \\uXXXX only in valid pairs")
        else:
            what = N_(
                "not valid JSON: {message} (column {column})", message=message, column=exc.colno
            )
            hint = N_("write one JSON object per line")
        raise EventError(
            "bad event line", [_diag("event.bad-json", what, file=file, line=line, hint=hint)]
        ) from None
    if (
        isinstance(record, dict)
        and _brackets(raw) > limits.depth
        and _depth_over(record.get("data"), limits.depth)
    ):
        raise EventError(
            "event nested too deep",
            [
                _diag(
                    "event.too-deep",
                    N_(
                        "data is nested deeper than the limit of {depth} levels", depth=limits.depth
                    ),
                    file=file,
                    line=line,
                    path="data",
                    hint=N_("flatten the data, or raise {value}", value=limits.ENV["depth"]),
                )
            ],
        )
    return record


def _parse_jsonl(
    data: bytes | str, file: str | None, limits: EventLimits = DEFAULT_LIMITS
) -> EventBatch:
    if isinstance(data, str):
        lines: Iterable[tuple[int, bytes | str]] = enumerate(_str_lines(data), start=1)
    else:
        lines = ((number, raw) for number, _, raw in iter_lines(data))
    pairs: list[tuple[int | None, Any]] = []
    diagnostics: list[Diagnostic] = []
    for number, raw in lines:
        if not raw.strip():
            continue
        try:
            pairs.append((number, decode_json_line(raw, file=file, line=number, limits=limits)))
        except EventError as exc:
            diagnostics.extend(exc.diagnostics)
    return _batch(pairs, diagnostics, file)


def _str_lines(text: str) -> Iterator[str]:
    for raw in text.split("\n"):
        yield raw[:-1] if raw.endswith("\r") else raw


def _csv_rows(text: str) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """``(first line, cells, error)`` for each CSV record, numbered where it starts."""
    reader = csv.reader(io.StringIO(text))
    before = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield before + 1, None, str(exc)
            before = reader.line_num
            continue
        start = before + 1
        before = reader.line_num
        yield start, row, None


CSV_HEADER_HINT: Final = "the first line must be id,case,type,at,data"
"""What a CSV event file's header must be, for the message about one that lacks a column."""


def csv_header(row: list[str]) -> tuple[list[str], list[str]]:
    """The column names of a CSV event file's header row and the required ones it lacks.

    Example:
        >>> csv_header([" id", "case ", "at", "data"])
        (['id', 'case', 'at', 'data'], ['type'])
    """
    header = [cell.strip() for cell in row]
    return header, [c for c in REQUIRED_KEYS if c not in header]


def _parse_csv(text: str, file: str | None, limits: EventLimits = DEFAULT_LIMITS) -> EventBatch:
    pairs: list[tuple[int | None, Any]] = []
    diagnostics: list[Diagnostic] = []
    header: list[str] | None = None
    for number, row, error in _csv_rows(text):
        if error is not None:
            diagnostics.append(
                _diag(
                    "event.csv-record",
                    N_("not a valid CSV record: {error}", error=error),
                    file=file,
                    line=number,
                    hint=N_("check the quoting; a cell may hold at most 131,072 characters"),
                )
            )
            continue
        assert row is not None
        if not row or all(not cell.strip() for cell in row):
            continue
        if header is None:
            header, missing = csv_header(row)
            if missing:
                diagnostics.append(
                    _diag(
                        "event.csv-header",
                        N_("the header lacks {value}", value=", ".join(missing)),
                        file=file,
                        line=number,
                        hint=CSV_HEADER_HINT,
                    )
                )
                return EventBatch((), tuple(diagnostics))
            continue
        try:
            pairs.append((number, csv_record(header, row, file=file, line=number, limits=limits)))
        except EventError as exc:
            diagnostics.extend(exc.diagnostics)
    return _batch(pairs, diagnostics, file)


_CSV_HINT: Final = N_('write data as a JSON object, e.g. "{{""a"": 1}}"')


def csv_record(
    header: list[str],
    row: list[str],
    *,
    file: str | None,
    line: int | None,
    limits: EventLimits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """One CSV record as an event mapping (``data`` decoded from its JSON cell).

    Raises:
        EventError: for a wrong number of columns or a data cell that is not valid JSON.
    """
    if len(row) != len(header):
        raise EventError(
            "bad CSV record",
            [
                _diag(
                    "event.csv-columns",
                    N_(
                        "expected {value} columns, got {value2}", value=len(header), value2=len(row)
                    ),
                    file=file,
                    line=line,
                    hint=N_("quote a data cell that contains commas"),
                )
            ],
        )
    record: dict[str, Any] = dict(zip(header, row, strict=True))
    raw_data = record.get("data", "")
    if raw_data is None or not str(raw_data).strip():
        record["data"] = {}
        return record
    try:
        record["data"] = decode_json_line(raw_data, file=file, line=line, limits=limits)
    except EventError as exc:
        raise EventError(
            "bad CSV record",
            [
                d.reworded(
                    N_("the data column is {message}", message=d.text or d.message),
                    path="data",
                    hint=str(_CSV_HINT),
                    hint_text=_CSV_HINT,
                )
                if d.code == "event.bad-json"
                else d
                for d in exc.diagnostics
            ],
        ) from None
    return record


def read_events_text(
    text: str, *, format: str, file: str | None = None, limits: EventLimits = DEFAULT_LIMITS
) -> EventBatch:
    """Parse events from text in ``jsonl`` or ``csv`` format.

    Examples:
        >>> batch = read_events_text(
        ...     '{"id": "e1", "case": "c1", "type": "hemvard.enrolled", '
        ...     '"at": "2026-12-01T09:00:00+01:00"}\\n{"id": "e2"}\\n', format="jsonl")
        >>> [e.id for e in batch.events], [d.line for d in batch.diagnostics]
        (['e1'], [2, 2, 2])
    """
    text = text.removeprefix("\ufeff")
    if format == "jsonl":
        return _parse_jsonl(text, file, limits)
    if format == "csv":
        return _parse_csv(text, file, limits)
    raise ValueError(f"unknown event format {format!r}; use 'jsonl' or 'csv'")


def read_events_bytes(
    data: bytes, *, format: str, file: str | None = None, limits: EventLimits = DEFAULT_LIMITS
) -> EventBatch:
    """Parse events from bytes (UTF-8) in ``jsonl`` or ``csv`` format.

    A JSON Lines line that is not UTF-8 is reported on its own and the others are read;
    a CSV file must be UTF-8 as a whole (a record may span lines).

    Raises:
        EventError: when a CSV file is not UTF-8 text.
    """
    data = data.removeprefix(b"\xef\xbb\xbf")
    if format == "jsonl":
        return _parse_jsonl(data, file, limits)
    if format == "csv":
        return _parse_csv(decode_utf8(data, file), file, limits)
    raise ValueError(f"unknown event format {format!r}; use 'jsonl' or 'csv'")


def decode_utf8(data: bytes, file: str | None) -> str:
    """``data`` as text, or an error naming the line of the first byte that is not UTF-8.

    Raises:
        EventError: when the bytes are not UTF-8.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EventError(
            f"cannot read events from {file or 'the input'}",
            [
                _diag(
                    "event.encoding",
                    N_("not UTF-8 text (byte {start})", start=exc.start),
                    file=file,
                    line=line,
                    hint=N_("save the file as UTF-8"),
                )
            ],
        ) from None


def format_for(path: str | os.PathLike[str]) -> str:
    """The event format implied by a file name (``.csv`` is CSV, anything else JSON Lines)."""
    return "csv" if str(path).lower().endswith(".csv") else "jsonl"


def read_events(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    limits: EventLimits = DEFAULT_LIMITS,
) -> EventBatch:
    """Read an event file (JSON Lines, or CSV ``id,case,type,at,data``).

    Raises:
        EventError: when the file cannot be read at all (missing, not a regular file, a CSV
            file that is not UTF-8).
    """
    name = str(path)
    try:
        if not Path(path).is_file():
            what = "a directory" if Path(path).is_dir() else "not a regular file"
            raise EventError(
                f"cannot read events from {name}",
                [
                    _diag(
                        "event.unreadable",
                        N_("{what}; name an event file", what=what),
                        file=name,
                        line=None,
                    )
                ],
            )
        data = Path(path).read_bytes()
    except OSError as exc:
        raise EventError(
            f"cannot read events from {name}",
            [_diag("event.unreadable", exc.strerror or str(exc), file=name, line=None)],
        ) from None
    return read_events_bytes(data, format=format or format_for(path), file=name, limits=limits)
