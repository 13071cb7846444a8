"""Events: facts about a case, read from JSON Lines, CSV or Python mappings.

An event is ``{"id", "case", "type", "at", "data"}``; ``at`` is an RFC 3339 timestamp with
an offset (a naive timestamp is an error, never a guess). Reading never drops a line
silently: every record that cannot be used is reported as a :class:`Diagnostic` naming its
file and line, and every good record is kept.

Structural checks happen here; checks against a routine's event types (unknown types,
missing or mistyped fields) happen in :mod:`samverkan_rules.compile`, which knows them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

import orjson

from samverkan_rules.diagnostics import N_, Diagnostic, Message
from samverkan_rules.errors import CalendarError, EventError
from samverkan_rules.time.instants import (
    DEFAULT_FIRST_YEAR,
    DEFAULT_LAST_YEAR,
    format_rfc3339,
    parse_rfc3339,
)

REQUIRED_KEYS = ("id", "case", "type", "at")


_FIRST_DAY: Final = date(DEFAULT_FIRST_YEAR, 1, 1)


_LAST_DAY: Final = date(DEFAULT_LAST_YEAR, 12, 31)


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

    def __reduce__(self) -> tuple[Callable[..., Event], tuple[Any, ...]]:
        # Pickled as its constructor's arguments (events travel to worker processes), which
        # holds for the compiled engine too: its frozen classes take no state afterwards.
        return (Event, (self.id, self.case, self.type, self.at, self.data, self.line, self.file))

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
    message: Message,
    *,
    file: str | None,
    line: int | None,
    hint: Message | None = None,
    path: str | None = None,
    level: str = "error",
) -> Diagnostic:
    return Diagnostic.of(level, code, message, file=file, line=line, path=path, hint=hint)  # type: ignore[arg-type]


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
    # The full check: slower, but it names every problem of the record at once.
    if not isinstance(record, Mapping):
        raise _not_an_object(record, file, line)
    problems = _key_problems(record, file, line)
    data = _data_of(record, problems, file, line)
    at = _instant_of(record, problems, file, line)
    if problems:
        raise _unusable(record, problems)
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


def _not_an_object(record: Any, file: str | None, line: int | None) -> EventError:
    return EventError(
        "an event must be a JSON object",
        [
            _diag(
                "event.not-object",
                N_("expected a JSON object, got {name}", name=type(record).__name__),
                file=file,
                line=line,
                hint=N_(
                    'write {{"id": ..., "case": ..., "type": ..., "at": ..., "data": {{...}}}}'
                ),
            )
        ],
    )


def _key_problems(
    record: Mapping[str, Any], file: str | None, line: int | None
) -> list[Diagnostic]:
    """Required keys that are missing or not strings, then keys that are not expected."""
    problems: list[Diagnostic] = []
    for key in REQUIRED_KEYS:
        value = record.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(
                _diag(
                    "event.missing-key",
                    N_("missing '{key}'", key=key),
                    file=file,
                    line=line,
                    path=key,
                    hint=N_("every event needs {value}", value=", ".join(REQUIRED_KEYS)),
                )
            )
        elif not isinstance(value, str):
            problems.append(
                _diag(
                    "event.type-error",
                    N_("'{key}' must be a string, got {name}", key=key, name=type(value).__name__),
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
                N_("unknown key(s) {value}", value=", ".join(unknown)),
                file=file,
                line=line,
                hint=N_("put event details under 'data'"),
            )
        )
    return problems


def _data_of(
    record: Mapping[str, Any], problems: list[Diagnostic], file: str | None, line: int | None
) -> Any:
    """The record's ``data`` (empty when absent); a problem is added when it is no object."""
    data = record.get("data")
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        problems.append(
            _diag(
                "event.data-not-object",
                N_("'data' must be a JSON object"),
                file=file,
                line=line,
                path="data",
            )
        )
    return data


def _instant_of(
    record: Mapping[str, Any], problems: list[Diagnostic], file: str | None, line: int | None
) -> datetime | None:
    """The record's ``at`` when it is a usable timestamp; a problem is added when not."""
    if not (isinstance(record.get("at"), str) and record["at"].strip()):
        return None  # missing or no string: already reported with the keys
    try:
        at = parse_rfc3339(record["at"])
        if not _FIRST_DAY <= at.date() <= _LAST_DAY:
            raise CalendarError(
                N_(
                    "timestamp {value} is outside the supported range {first}..{last}",
                    value=repr(record["at"]),
                    first=_FIRST_DAY.isoformat(),
                    last=_LAST_DAY.isoformat(),
                )
            )
    except CalendarError as exc:
        problems.append(
            _diag(
                "event.bad-timestamp",
                exc.text or str(exc),
                file=file,
                line=line,
                path="at",
                hint=N_("write an RFC 3339 time with offset, e.g. 2026-12-01T09:00:00+01:00"),
            )
        )
        return None
    return at


def _unusable(record: Mapping[str, Any], problems: list[Diagnostic]) -> EventError:
    ident = record.get("id")
    if isinstance(ident, str) and ident:
        # Name the event: without a file, its id is the only way to find it.
        problems = [
            p.reworded(N_("event {id}: {message}", id=repr(ident), message=p.text or p.message))
            for p in problems
        ]
        return EventError(f"event {ident!r} is not usable", problems)
    return EventError("event is not usable", problems)


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
        where = N_(" (lines {lines})", lines=", ".join(map(str, lines))) if lines else ""
        at_line = lines[1] if len(lines) > 1 else None
        if len({identity(e) for e in group}) == 1:
            kept.append(min(group, key=lambda e: e.line or 0))
            diagnostics.append(
                _diag(
                    "event.duplicate",
                    N_(
                        "event {ident} is given {value} times{where}; counted once",
                        ident=repr(ident),
                        value=len(group),
                        where=where,
                    ),
                    file=first.file,
                    line=at_line,
                    level="warning",
                )
            )
        else:
            diagnostics.append(
                _diag(
                    "event.duplicate-id",
                    N_(
                        "event id {ident} is used by {value} different events{where}; none "
                        "of them is evaluated",
                        ident=repr(ident),
                        value=len(group),
                        where=where,
                    ),
                    file=first.file,
                    line=at_line,
                    hint=N_("give every event its own id"),
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
