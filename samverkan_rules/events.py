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
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from samverkan_rules.calendar import format_rfc3339, parse_rfc3339
from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.errors import CalendarError, EventError

__all__ = [
    "Event",
    "EventBatch",
    "event_from_mapping",
    "events_from_records",
    "read_events",
    "read_events_text",
]

REQUIRED_KEYS = ("id", "case", "type", "at")
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

    @property
    def order_key(self) -> tuple[datetime, str]:
        """Events are evaluated in (instant, id) order, whatever order they arrive in."""
        return (self.at.astimezone(UTC), self.id)

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


def deduplicate(events: Iterable[Event]) -> tuple[list[Event], list[Diagnostic]]:
    """Keep each event id once, whatever the input order.

    An exact repeat is a warning and counted once. Different events under one id are an
    error and none of them is evaluated: keeping "the first" would make the result depend
    on the order the events arrived in.
    """
    groups: dict[str, list[Event]] = {}
    for event in events:
        groups.setdefault(event.id, []).append(event)
    kept: list[Event] = []
    diagnostics: list[Diagnostic] = []
    for ident, group in groups.items():
        first = group[0]
        if len(group) == 1:
            kept.append(first)
            continue
        lines = ", ".join(str(e.line) for e in group if e.line is not None)
        where = f" (lines {lines})" if lines else ""
        if all(e == first for e in group):
            kept.append(first)
            diagnostics.append(
                _diag(
                    "event.duplicate",
                    f"event {ident!r} is given {len(group)} times{where}; counted once",
                    file=first.file,
                    line=group[1].line,
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
                    line=group[1].line,
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
    events: list[Event] = []
    diagnostics: list[Diagnostic] = []
    for item in records:
        if isinstance(item, tuple) and len(item) == 2 and not isinstance(item[1], str):
            line, record = item
        else:
            line, record = (None, item)
        try:
            events.append(event_from_mapping(record, file=file, line=line))
        except EventError as exc:
            diagnostics.extend(exc.diagnostics)
    kept, duplicates = deduplicate(events)
    return EventBatch(tuple(kept), tuple(diagnostics + duplicates))


def _parse_jsonl(text: str, file: str | None) -> EventBatch:
    pairs: list[tuple[int | None, Any]] = []
    diagnostics: list[Diagnostic] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        try:
            pairs.append((number, json.loads(stripped)))
        except json.JSONDecodeError as exc:
            diagnostics.append(
                _diag(
                    "event.bad-json",
                    f"not valid JSON: {exc.msg} (column {exc.colno})",
                    file=file,
                    line=number,
                    hint="write one JSON object per line",
                )
            )
    batch = events_from_records(pairs, file=file)
    return EventBatch(batch.events, tuple(diagnostics) + batch.diagnostics)


def _parse_csv(text: str, file: str | None) -> EventBatch:
    reader = csv.reader(io.StringIO(text))
    pairs: list[tuple[int | None, Any]] = []
    diagnostics: list[Diagnostic] = []
    header: list[str] | None = None
    for row in reader:
        number = reader.line_num
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
        if len(row) != len(header):
            diagnostics.append(
                _diag(
                    "event.csv-columns",
                    f"expected {len(header)} columns, got {len(row)}",
                    file=file,
                    line=number,
                    hint="quote a data cell that contains commas",
                )
            )
            continue
        record: dict[str, Any] = dict(zip(header, row, strict=True))
        raw_data = record.get("data", "")
        if raw_data is None or not str(raw_data).strip():
            record["data"] = {}
        else:
            try:
                record["data"] = json.loads(raw_data)
            except json.JSONDecodeError as exc:
                diagnostics.append(
                    _diag(
                        "event.bad-json",
                        f"the data column is not valid JSON: {exc.msg}",
                        file=file,
                        line=number,
                        path="data",
                        hint='write data as a JSON object, e.g. "{""a"": 1}"',
                    )
                )
                continue
        pairs.append((number, record))
    batch = events_from_records(pairs, file=file)
    return EventBatch(batch.events, tuple(diagnostics) + batch.diagnostics)


def read_events_text(text: str, *, format: str, file: str | None = None) -> EventBatch:
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
        return _parse_jsonl(text, file)
    if format == "csv":
        return _parse_csv(text, file)
    raise ValueError(f"unknown event format {format!r}; use 'jsonl' or 'csv'")


def format_for(path: str | os.PathLike[str]) -> str:
    """The event format implied by a file name (``.csv`` is CSV, anything else JSON Lines)."""
    return "csv" if str(path).lower().endswith(".csv") else "jsonl"


def read_events(path: str | os.PathLike[str], *, format: str | None = None) -> EventBatch:
    """Read an event file (JSON Lines, or CSV ``id,case,type,at,data``).

    Raises:
        EventError: when the file cannot be read at all (missing, not UTF-8).
    """
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise EventError(
            f"cannot read events from {name}",
            [_diag("event.unreadable", exc.strerror or str(exc), file=name, line=None)],
        ) from None
    except UnicodeDecodeError as exc:
        line = Path(path).read_bytes()[: exc.start].count(b"\n") + 1
        raise EventError(
            f"cannot read events from {name}",
            [
                _diag(
                    "event.encoding",
                    f"not UTF-8 text (byte {exc.start})",
                    file=name,
                    line=line,
                    hint="save the file as UTF-8",
                )
            ],
        ) from None
    return read_events_text(text, format=format or format_for(path), file=name)
