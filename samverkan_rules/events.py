"""Events: facts about a case, read from JSON Lines, CSV or Python mappings.

An event is ``{"id", "case", "type", "at", "data"}``; ``at`` is an RFC 3339 timestamp with
an offset (a naive timestamp is an error, never a guess). Reading never drops a line
silently: every record that cannot be used is reported as a :class:`Diagnostic` naming its
file and line, and every good record is kept.

Structural checks happen here; checks against a routine's event types (unknown types,
missing or mistyped fields) happen in :mod:`samverkan_rules.compiler`, which knows them.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar, Final

import orjson

from samverkan_rules.calendar import (
    DEFAULT_FIRST_YEAR,
    DEFAULT_LAST_YEAR,
    format_rfc3339,
    parse_rfc3339,
)
from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.errors import CalendarError, EventError

__all__ = [
    "DEFAULT_LIMITS",
    "Event",
    "EventBatch",
    "EventLimits",
    "canonical_json",
    "csv_record",
    "decode_json_line",
    "deduplicate",
    "event_from_mapping",
    "events_from_records",
    "format_for",
    "identity",
    "iter_lines",
    "read_events",
    "read_events_bytes",
    "read_events_text",
]

REQUIRED_KEYS = ("id", "case", "type", "at")
_FIRST_DAY: Final = date(DEFAULT_FIRST_YEAR, 1, 1)
_LAST_DAY: Final = date(DEFAULT_LAST_YEAR, 12, 31)
CSV_COLUMNS = ("id", "case", "type", "at", "data")


@dataclass(frozen=True, slots=True)
class Event:
    """One fact about a case.

    Attributes:
        id: Unique within the input.
        case: The case (ärende) it belongs to; unit-level events name the unit's case.
        type: An event type of the routine's vocabulary, e.g. ``dagverksamhet.start_planned``.
        at: When it happened, with its UTC offset.
        data: The type's fields, as given (dates stay ISO strings).
        line: The line it was read from, when read from a file.

    Examples:
        >>> e = event_from_mapping({"id": "e1", "case": "c1", "type": "hemvard.enrolled",
        ...                         "at": "2026-12-01T09:00:00+01:00"})
        >>> e.id, e.at.isoformat()
        ('e1', '2026-12-01T09:00:00+01:00')
    """

    id: str
    case: str
    type: str
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    line: int | None = field(default=None, compare=False)
    file: str | None = field(default=None, compare=False)
    utc: datetime = field(init=False, repr=False, compare=False)
    """``at`` in UTC, computed once: the evaluator compares instants many times."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "utc", self.at.astimezone(UTC))

    @property
    def order_key(self) -> tuple[datetime, str]:
        """Events are evaluated in (instant, id) order, whatever order they arrive in."""
        return (self.utc, self.id)

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON-ready mapping."""
        return {
            "id": self.id,
            "case": self.case,
            "type": self.type,
            "at": format_rfc3339(self.at),
            "data": dict(self.data),
        }


@dataclass(frozen=True)
class EventBatch:
    """Events read from one input, with everything found wrong on the way.

    ``events`` holds every usable record in input order; ``diagnostics`` names every record
    that was not usable (with its line) and anything odd about the usable ones.
    """

    events: tuple[Event, ...]
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no record was rejected."""
        return not any(d.is_error for d in self.diagnostics)


def _diag(
    code: str,
    message: str,
    *,
    file: str | None,
    line: int | None,
    hint: str | None = None,
    path: str | None = None,
    level: str = "error",
) -> Diagnostic:
    return Diagnostic(level, code, message, file=file, line=line, path=path, hint=hint)  # type: ignore[arg-type]


def event_from_mapping(
    record: Mapping[str, Any], *, file: str | None = None, line: int | None = None
) -> Event:
    """Build an :class:`Event` from a mapping, checking its structure.

    Raises:
        EventError: with one diagnostic per problem (missing key, naive timestamp, ...).
    """
    fast = _well_formed(record, file, line)
    if fast is not None:
        return fast
    problems: list[Diagnostic] = []
    if not isinstance(record, Mapping):
        raise EventError(
            "an event must be a JSON object",
            [
                _diag(
                    "event.not-object",
                    f"expected a JSON object, got {type(record).__name__}",
                    file=file,
                    line=line,
                    hint='write {"id": ..., "case": ..., "type": ..., "at": ..., "data": {...}}',
                )
            ],
        )
    for key in REQUIRED_KEYS:
        value = record.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(
                _diag(
                    "event.missing-key",
                    f"missing '{key}'",
                    file=file,
                    line=line,
                    path=key,
                    hint=f"every event needs {', '.join(REQUIRED_KEYS)}",
                )
            )
        elif not isinstance(value, str):
            problems.append(
                _diag(
                    "event.type-error",
                    f"'{key}' must be a string, got {type(value).__name__}",
                    file=file,
                    line=line,
                    path=key,
                )
            )
    unknown = sorted(set(record) - {*REQUIRED_KEYS, "data"})
    if unknown:
        problems.append(
            _diag(
                "event.unknown-key",
                f"unknown key(s) {', '.join(unknown)}",
                file=file,
                line=line,
                hint="put event details under 'data'",
            )
        )
    data = record.get("data")
    if data is None:
        data = {}
    elif not isinstance(data, Mapping):
        problems.append(
            _diag(
                "event.data-not-object",
                "'data' must be a JSON object",
                file=file,
                line=line,
                path="data",
            )
        )
    at: datetime | None = None
    if isinstance(record.get("at"), str) and record["at"].strip():
        try:
            at = parse_rfc3339(record["at"])
            if not _FIRST_DAY <= at.date() <= _LAST_DAY:
                raise CalendarError(
                    f"timestamp {record['at']!r} is outside the supported range "
                    f"{_FIRST_DAY.isoformat()}..{_LAST_DAY.isoformat()}"
                )
        except CalendarError as exc:
            problems.append(
                _diag(
                    "event.bad-timestamp",
                    str(exc),
                    file=file,
                    line=line,
                    path="at",
                    hint="write an RFC 3339 time with offset, e.g. 2026-12-01T09:00:00+01:00",
                )
            )
    if problems:
        ident = record.get("id")
        if isinstance(ident, str) and ident:
            # Name the event: without a file, its id is the only way to find it.
            problems = [replace(p, message=f"event {ident!r}: {p.message}") for p in problems]
            raise EventError(f"event {ident!r} is not usable", problems)
        raise EventError("event is not usable", problems)
    assert at is not None
    return Event(
        id=record["id"],
        case=record["case"],
        type=record["type"],
        at=at,
        data=dict(data),
        line=line,
        file=file,
    )


def identity(event: Event) -> tuple[str, str, datetime, bytes]:
    """What makes two events with one id the same event: case, type, instant and data.

    Data is compared in its canonical JSON encoding (sorted keys), so ``false`` and ``0``,
    or ``1`` and ``1.0``, are different values, as they are in a routine's conditions.
    """
    return (event.case, event.type, event.at.astimezone(UTC), canonical_json(event.data))


def canonical_json(value: Any) -> bytes:
    """``value`` as JSON with sorted keys (``repr`` for what JSON cannot hold)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return repr(value).encode("utf-8", "backslashreplace")


_KEYS: Final = frozenset({*REQUIRED_KEYS, "data"})


def _well_formed(record: Any, file: str | None, line: int | None) -> Event | None:
    """The event of a record that has exactly the expected shape; None sends it to the
    full check, which names every problem."""
    if type(record) is not dict or not record.keys() <= _KEYS:
        return None
    ident = record.get("id")
    case = record.get("case")
    etype = record.get("type")
    at_text = record.get("at")
    data = record.get("data")
    if not (
        type(ident) is str
        and type(case) is str
        and type(etype) is str
        and type(at_text) is str
        and (data is None or type(data) is dict)
        and ident.strip()
        and case.strip()
        and etype.strip()
    ):
        return None
    try:
        at = parse_rfc3339(at_text)
    except CalendarError:
        return None
    if not _FIRST_DAY <= at.date() <= _LAST_DAY:
        return None
    return Event(ident, case, etype, at, data if data is not None else {}, line, file)


def deduplicate(events: Iterable[Event]) -> tuple[list[Event], list[Diagnostic]]:
    """Keep each event id once, whatever the input order.

    An exact repeat (the same :func:`identity`) is a warning and counted once. Different
    events under one id are an error and none of them is evaluated: keeping "the first"
    would make the result depend on the order the events arrived in.
    """
    first_of: dict[str, Event] = {}
    repeats: dict[str, list[Event]] = {}
    for event in events:
        seen = first_of.setdefault(event.id, event)
        if seen is not event:
            repeats.setdefault(event.id, [seen]).append(event)
    if not repeats:
        return list(first_of.values()), []
    kept: list[Event] = []
    diagnostics: list[Diagnostic] = []
    for ident, first in first_of.items():
        group = repeats.get(ident)
        if group is None:
            kept.append(first)
            continue
        lines = sorted(e.line for e in group if e.line is not None)
        where = f" (lines {', '.join(map(str, lines))})" if lines else ""
        at_line = lines[1] if len(lines) > 1 else None
        if len({identity(e) for e in group}) == 1:
            kept.append(min(group, key=lambda e: e.line or 0))
            diagnostics.append(
                _diag(
                    "event.duplicate",
                    f"event {ident!r} is given {len(group)} times{where}; counted once",
                    file=first.file,
                    line=at_line,
                    level="warning",
                )
            )
        else:
            diagnostics.append(
                _diag(
                    "event.duplicate-id",
                    f"event id {ident!r} is used by {len(group)} different events{where}; "
                    "none of them is evaluated",
                    file=first.file,
                    line=at_line,
                    hint="give every event its own id",
                )
            )
    return kept, diagnostics


def events_from_records(
    records: Iterable[tuple[int | None, Any]] | Iterable[Any], *, file: str | None = None
) -> EventBatch:
    """Turn mappings (or ``(line, mapping)`` pairs) into an :class:`EventBatch`.

    Records that cannot be used are reported with their line (or, for mappings given
    without lines, by event id) and left out; duplicate ids are handled by
    :func:`deduplicate`.
    """
    pairs: list[tuple[int | None, Any]] = []
    for item in records:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], (int, type(None))):
            pairs.append(item)
        else:
            pairs.append((None, item))
    return _batch(pairs, [], file)


def _batch(
    pairs: Iterable[tuple[int | None, Any]], diagnostics: list[Diagnostic], file: str | None
) -> EventBatch:
    events: list[Event] = []
    for line, record in pairs:
        try:
            events.append(event_from_mapping(record, file=file, line=line))
        except EventError as exc:
            diagnostics.extend(exc.diagnostics)
    kept, duplicates = deduplicate(events)
    return EventBatch(tuple(kept), tuple(diagnostics + duplicates))


# --------------------------------------------------------------------------- limits


@dataclass(frozen=True, slots=True)
class EventLimits:
    """How much one event line may hold, checked before the cost of parsing it.

    Each limit can be raised from the environment (``SAMVERKAN_MAX_EVENT_LINE_BYTES``,
    ``SAMVERKAN_MAX_EVENT_DEPTH``, ``SAMVERKAN_MAX_EVENTS_PER_CASE``); see
    :meth:`from_environment`.

    Attributes:
        line_bytes: The longest event line (or CSV record) in bytes.
        depth: The deepest nesting of objects and lists inside ``data``.
        events_per_case: The most events one case may have.
    """

    line_bytes: int = 1 << 20
    depth: int = 32
    events_per_case: int = 1_000_000

    ENV: ClassVar[dict[str, str]] = {
        "line_bytes": "SAMVERKAN_MAX_EVENT_LINE_BYTES",
        "depth": "SAMVERKAN_MAX_EVENT_DEPTH",
        "events_per_case": "SAMVERKAN_MAX_EVENTS_PER_CASE",
    }

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> EventLimits:
        """The defaults, each replaced by its environment variable when set.

        Raises:
            EventError: when a variable is not a whole number >= 1.
        """
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for name, variable in cls.ENV.items():
            raw = env.get(variable)
            if raw is None or not raw.strip():
                continue
            try:
                value = int(raw)
            except ValueError:
                value = 0
            if value < 1:
                raise EventError(
                    f"{variable}={raw!r} is not a whole number >= 1",
                    [
                        _diag(
                            "event.limit",
                            f"{variable} must be a whole number >= 1",
                            file=None,
                            line=None,
                        )
                    ],
                )
            values[name] = value
        return cls(**values)

    def too_long(self, size: int) -> str:
        """The message for a line of ``size`` bytes over :attr:`line_bytes`."""
        return (
            f"the line is {size:,} bytes, over the limit of {self.line_bytes:,} bytes per "
            f"event; raise it with {self.ENV['line_bytes']} if such events are real"
        )


DEFAULT_LIMITS: Final = EventLimits()


def _brackets(raw: bytes | str) -> int:
    """How many objects and lists a line opens at most: a cheap bound on its depth."""
    if isinstance(raw, bytes):
        return raw.count(b"{") + raw.count(b"[")
    return raw.count("{") + raw.count("[")


def _depth_over(value: Any, limit: int) -> bool:
    """True when ``value`` nests objects and lists deeper than ``limit``."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


# --------------------------------------------------------------------------- JSON Lines


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
                    hint="split the event's data, or raise the limit",
                )
            ],
        )
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        message = str(exc.msg)
        if "UTF-8" in message or "surrogate" in message:
            what = f"not valid text: {message}"
            hint = "save the file as UTF-8; escape characters as \\uXXXX only in valid pairs"
        else:
            what = f"not valid JSON: {message} (column {exc.colno})"
            hint = "write one JSON object per line"
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
                    f"data is nested deeper than the limit of {limits.depth} levels",
                    file=file,
                    line=line,
                    path="data",
                    hint=f"flatten the data, or raise {limits.ENV['depth']}",
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


# --------------------------------------------------------------------------- CSV


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


def _parse_csv(text: str, file: str | None, limits: EventLimits = DEFAULT_LIMITS) -> EventBatch:
    pairs: list[tuple[int | None, Any]] = []
    diagnostics: list[Diagnostic] = []
    header: list[str] | None = None
    for number, row, error in _csv_rows(text):
        if error is not None:
            diagnostics.append(
                _diag(
                    "event.csv-record",
                    f"not a valid CSV record: {error}",
                    file=file,
                    line=number,
                    hint="check the quoting; a cell may hold at most 131,072 characters",
                )
            )
            continue
        assert row is not None
        if not row or all(not cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            missing = [c for c in REQUIRED_KEYS if c not in header]
            if missing:
                diagnostics.append(
                    _diag(
                        "event.csv-header",
                        f"the header lacks {', '.join(missing)}",
                        file=file,
                        line=number,
                        hint="the first line must be id,case,type,at,data",
                    )
                )
                return EventBatch((), tuple(diagnostics))
            continue
        try:
            pairs.append((number, csv_record(header, row, file=file, line=number, limits=limits)))
        except EventError as exc:
            diagnostics.extend(exc.diagnostics)
    return _batch(pairs, diagnostics, file)


_CSV_HINT: Final = 'write data as a JSON object, e.g. "{""a"": 1}"'


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
                    f"expected {len(header)} columns, got {len(row)}",
                    file=file,
                    line=line,
                    hint="quote a data cell that contains commas",
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
                replace(d, message=f"the data column is {d.message}", path="data", hint=_CSV_HINT)
                if d.code == "event.bad-json"
                else d
                for d in exc.diagnostics
            ],
        ) from None
    return record


# --------------------------------------------------------------------------- files


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
                    f"not UTF-8 text (byte {exc.start})",
                    file=file,
                    line=line,
                    hint="save the file as UTF-8",
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
                [_diag("event.unreadable", f"{what}; name an event file", file=name, line=None)],
            )
        data = Path(path).read_bytes()
    except OSError as exc:
        raise EventError(
            f"cannot read events from {name}",
            [_diag("event.unreadable", exc.strerror or str(exc), file=name, line=None)],
        ) from None
    return read_events_bytes(data, format=format or format_for(path), file=name, limits=limits)
