"""Routine models -> an immutable compiled ruleset, ready to evaluate many times.

Compilation happens once per routine: conditions become closures, rules are indexed by
the event type that triggers, fulfils or cancels them, event types become field checkers
and time specifications become functions of the trigger event. Evaluation then never
re-reads YAML or re-validates the routine. A :class:`CompiledRoutine` holds no mutable
state and may be shared between threads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any, Final, Protocol, cast
from zoneinfo import ZoneInfo

from samverkan_rules import explanations as x
from samverkan_rules.calendar import (
    WorkingCalendar,
    add_days,
    add_months,
    end_of_day,
    end_of_month,
    format_local_minute,
    format_rfc3339,
    get_zone,
    iso_week_parity,
    local_date,
    local_datetime,
    parse_rfc3339,
    start_of_day,
    sweden_calendar,
)
from samverkan_rules.diagnostics import Diagnostic, Level, did_you_mean, mask_personal_numbers
from samverkan_rules.errors import CalendarError
from samverkan_rules.evaluation import InterpretationRecord, RoutineRef, SourceRecord
from samverkan_rules.events import Event
from samverkan_rules.i18n import Translator
from samverkan_rules.models import (
    AllOf,
    AnyOf,
    Comparison,
    CompositeTime,
    Condition,
    EventPattern,
    EventType,
    FieldSpec,
    LateUnit,
    NotOf,
    Offset,
    Period,
    Queue,
    Routine,
    Rule,
    Schedule,
    TimeForm,
    TimeSpec,
    merged_event_types,
)

__all__ = [
    "CompiledQueue",
    "CompiledQueueJoin",
    "CompiledRoutine",
    "CompiledRule",
    "EventCheck",
    "HeldOccurrences",
    "Predicate",
    "compile_condition",
    "compile_routine",
    "literal_problem",
    "unknown_address",
]

_MISSING: Final = object()

Facts = Mapping[str, Any]
Climb = tuple[int, str, tuple[tuple[str, str], ...]]
"""How ``levels_up`` was resolved: levels, the role climbed from, and where it ended early."""
Predicate = Callable[[Event, Facts], bool]
"""A compiled condition: ``(event, facts) -> bool``."""
EventCheck = Callable[[Event], list[Diagnostic]]


def _always(_event: Event, _facts: Facts) -> bool:
    return True


# --------------------------------------------------------------------------- conditions


def _getter(path: str, tz: ZoneInfo | None = None) -> Callable[[Event, Facts], Any]:
    if path == "case":
        return lambda e, f: e.case
    if path == "type":
        return lambda e, f: e.type
    scope, _, name = path.partition(".")
    if scope == "at":
        return _event_time_getter(name, tz or _UTC_ZONE)
    if scope == "data" and "." in name:
        parts = tuple(name.split("."))
        return lambda e, f: _nested(e.data, parts)
    if scope == "data":
        return lambda e, f: e.data.get(name, _MISSING)
    return lambda e, f: f.get(name, _MISSING)


_UTC_ZONE: Final = ZoneInfo("UTC")


def _event_time_getter(name: str, tz: ZoneInfo) -> Callable[[Event, Facts], Any]:
    """``at.local_time`` ('HH:MM:SS'), ``at.local_date`` (ISO date) or ``at.weekday``
    ('monday'...) of the event's instant in the routine's time zone."""
    if name == "local_time":
        return lambda e, f: e.at.astimezone(tz).time().replace(microsecond=0).isoformat()
    if name == "local_date":
        return lambda e, f: e.at.astimezone(tz).date().isoformat()
    return lambda e, f: _WEEKDAYS[e.at.astimezone(tz).weekday()]


def _time_literal(value: Any) -> Any:
    """A time literal as ``at.local_time`` gives it ('12:00' -> '12:00:00')."""
    if isinstance(value, str):
        try:
            return time.fromisoformat(value).replace(microsecond=0).isoformat()
        except ValueError:
            return value
    return value


def _nested(data: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    """The value at a nested path of an event's data (``content.prel_datum``), or missing."""
    current: Any = data
    for part in parts:
        if not isinstance(current, Mapping) or part not in current:
            return _MISSING
        current = current[part]
    return current


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python; a routine comparing with true must not match the number 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _ordered(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    return (isinstance(a, numbers) and isinstance(b, numbers)) or (
        isinstance(a, str) and isinstance(b, str)
    )


def _compile_comparison(
    c: Comparison,
    fields: Mapping[str, FieldSpec] | None = None,
    units: Mapping[str, str] | None = None,
    tz: ZoneInfo | None = None,
) -> Predicate:
    if c.field == "at.local_time":
        # Written '12:00' or '12:00:00', compared as the getter gives it.
        c = c.model_copy(
            update={
                k: (
                    [_time_literal(v) for v in getattr(c, k)]
                    if isinstance(getattr(c, k), list)
                    else _time_literal(getattr(c, k))
                )
                for k in c.model_fields_set
                if k != "field"
            }
        )
    get = _getter(c.field, tz)
    op = c.operators()[0]
    if op == "exists":
        want = bool(c.exists)
        return lambda e, f: (get(e, f) not in (_MISSING, None)) is want
    if op == "equals":
        v = c.equals
        if v is None:
            return lambda e, f: get(e, f) in (_MISSING, None)
        return lambda e, f: _same(get(e, f), v)
    if op == "not_equals":
        v = c.not_equals
        if v is None:
            return lambda e, f: get(e, f) not in (_MISSING, None)
        return lambda e, f: not _same(get(e, f), v)
    if op == "contains":
        accepted = _addresses(c, fields, units)

        def contains(e: Event, f: Facts) -> bool:
            value = get(e, f)
            if isinstance(value, str):
                return any(_same(value, a) for a in accepted)
            return isinstance(value, list) and any(_same(v, a) for v in value for a in accepted)

        return contains
    if op in ("in", "not_in"):
        values: tuple[Any, ...] = tuple((c.in_ if op == "in" else c.not_in) or ())
        inside: Predicate = lambda e, f: any(_same(get(e, f), v) for v in values)  # noqa: E731
        if op == "in":
            return inside
        return lambda e, f: not inside(e, f)
    bound = getattr(c, op)
    if op == "gt":
        return lambda e, f: _ordered(x := get(e, f), bound) and x > bound
    if op == "gte":
        return lambda e, f: _ordered(x := get(e, f), bound) and x >= bound
    if op == "lt":
        return lambda e, f: _ordered(x := get(e, f), bound) and x < bound
    return lambda e, f: _ordered(x := get(e, f), bound) and x <= bound


def _addresses(
    c: Comparison, fields: Mapping[str, FieldSpec] | None, units: Mapping[str, str] | None
) -> tuple[Any, ...]:
    """What ``contains`` accepts: the value, and for a role on a roles field also its unit.

    A message addressed to a unit (``"to": ["hemvard"]``, the unit's mailbox) reaches every
    role of that unit, so it answers a pattern asking for one of them.
    """
    item = c.contains
    scope, _, name = c.field.partition(".")
    spec = fields.get(name) if fields is not None and scope == "data" else None
    if spec is None or spec.type != "roles" or units is None or not isinstance(item, str):
        return (item,)
    unit = units.get(item)
    return (item,) if unit is None or unit == item else (item, unit)


def compile_condition(
    condition: Condition | None,
    *,
    fields: Mapping[str, FieldSpec] | None = None,
    units: Mapping[str, str] | None = None,
    tz: ZoneInfo | None = None,
) -> Predicate:
    """Compile a structured condition into a predicate over ``(event, facts)``.

    Args:
        condition: The condition (None: always true).
        fields: The fields of the event type the condition reads, when known.
        units: Each role's unit. With ``fields``, ``contains`` on a ``roles`` field also
            accepts the unit of the role asked for (a message to the unit reaches its roles).
        tz: The routine's time zone, in which ``at.local_time``, ``at.local_date`` and
            ``at.weekday`` read the event's instant (default UTC).

    Examples:
        >>> from samverkan_rules.models import Comparison
        >>> from samverkan_rules.events import event_from_mapping
        >>> p = compile_condition(Comparison.model_validate({"field": "data.n", "gte": 2}))
        >>> e = event_from_mapping({"id": "e", "case": "c", "type": "t",
        ...                         "at": "2026-01-01T00:00:00+01:00", "data": {"n": 3}})
        >>> p(e, {})
        True
    """
    if condition is None:
        return _always
    if isinstance(condition, AllOf):
        parts = tuple(
            compile_condition(c, fields=fields, units=units, tz=tz) for c in condition.all
        )
        return lambda e, f: all(p(e, f) for p in parts)
    if isinstance(condition, AnyOf):
        parts = tuple(
            compile_condition(c, fields=fields, units=units, tz=tz) for c in condition.any
        )
        return lambda e, f: any(p(e, f) for p in parts)
    if isinstance(condition, NotOf):
        inner = compile_condition(condition.not_, fields=fields, units=units, tz=tz)
        return lambda e, f: not inner(e, f)
    return _compile_comparison(condition, fields, units, tz)


# --------------------------------------------------------------------------- event checks


def _is_iso_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_rfc3339(value)
    except CalendarError:
        return False
    return True


def _is_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        time.fromisoformat(value)
    except ValueError:
        return False
    return True


def _field_check(
    spec: FieldSpec, roles: frozenset[str], calendar: WorkingCalendar
) -> Callable[[Any], str | None]:
    """A function returning None for a valid value, else what is wrong with it."""
    kind = spec.type
    if kind == "string":
        return lambda v: None if isinstance(v, str) else "must be a string"
    covered = f"{calendar.first_day.isoformat()}..{calendar.last_day.isoformat()}"
    if kind == "date":

        def check_date(v: Any) -> str | None:
            if not _is_iso_date(v):
                return f"must be a real date like 2026-12-28, got {v!r}"
            if not calendar.first_day <= date.fromisoformat(v) <= calendar.last_day:
                return f"is outside the calendar the routine counts in ({covered}), got {v!r}"
            return None

        return check_date
    if kind == "datetime":

        def check_timestamp(v: Any) -> str | None:
            if not _is_timestamp(v):
                return f"must be a timestamp with offset like 2026-12-28T13:30:00+01:00, got {v!r}"
            if not calendar.first_day <= parse_rfc3339(v).date() <= calendar.last_day:
                return f"is outside the calendar the routine counts in ({covered}), got {v!r}"
            return None

        return check_timestamp
    if kind == "time":
        return lambda v: None if _is_time(v) else f"must be a time like 13:30, got {v!r}"
    if kind == "boolean":
        return lambda v: None if isinstance(v, bool) else f"must be true or false, got {v!r}"
    if kind == "integer":
        return lambda v: (
            None
            if isinstance(v, int) and not isinstance(v, bool)
            else (f"must be a whole number, got {v!r}")
        )
    if kind == "number":
        return lambda v: (
            None
            if isinstance(v, (int, float)) and not isinstance(v, bool)
            else (f"must be a number, got {v!r}")
        )
    if kind == "enum":
        allowed = tuple(spec.values or ())
        return lambda v: (
            None if v in allowed else (f"must be one of {', '.join(allowed)}, got {v!r}")
        )
    if kind == "role":
        return lambda v: (
            None
            if isinstance(v, str) and v
            else f"must be a role or unit of the routine, got {v!r}"
        )
    if kind == "roles":

        def check_roles(v: Any) -> str | None:
            if isinstance(v, str):
                v = [v]
            if not isinstance(v, list) or not all(isinstance(r, str) and r for r in v):
                return f"must be a list of roles or units of the routine, got {v!r}"
            return None

        return check_roles
    if kind == "event":
        return lambda v: None if isinstance(v, str) and v else "must be an event id"
    if kind == "object":
        return lambda v: None if isinstance(v, dict) else "must be a JSON object"
    return lambda v: None if isinstance(v, list) else "must be a list"


def unknown_address(value: Any, addresses: frozenset[str]) -> list[str]:
    """The names in a role or roles value that are no role or unit of the routine.

    Examples:
        >>> unknown_address(["hemvard", "hemvrd"], frozenset({"hemvard", "dagverksamhet"}))
        ['hemvrd']
    """
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [n for n in names if isinstance(n, str) and n not in addresses]


def literal_problem(
    spec: FieldSpec, value: Any, addresses: frozenset[str]
) -> tuple[str, str | None] | None:
    """What is wrong with a condition's literal compared with a field, with a hint, or None.

    Checks the literal against the field's declared type: one of an enum's values, a
    boolean, a real date, a role or unit of the routine (``addresses``), a number.

    Examples:
        >>> from samverkan_rules.models import FieldSpec
        >>> kinds = FieldSpec(type="enum", values=["kommun", "region"])
        >>> message, hint = literal_problem(kinds, "kommunen", frozenset())
        >>> message, hint
        ("is not one of the field's values (kommun, region), ...", "did you mean 'kommun'?")
        >>> print(literal_problem(FieldSpec(type="boolean"), "ja", frozenset()))
        ("is a boolean field; compare it with true or false, got 'ja'", None)
    """
    kind = spec.type
    if value is None:
        return None
    if kind == "enum":
        allowed = list(spec.values or ())
        if value in allowed:
            return None
        return (
            f"is not one of the field's values ({', '.join(allowed)}), got {value!r}",
            did_you_mean(str(value), allowed),
        )
    if kind == "boolean":
        if isinstance(value, bool):
            return None
        return f"is a boolean field; compare it with true or false, got {value!r}", None
    if kind == "date":
        if _is_iso_date(value):
            return None
        return f"is a date field; write a real date like 2026-12-28, got {value!r}", None
    if kind == "time":
        if _is_time(value):
            return None
        return (
            f'is a time field; write a local time like "12:00" (quoted), got {value!r}',
            None,
        )
    if kind == "datetime":
        if _is_timestamp(value):
            return None
        return (
            f"is a timestamp field; write one with offset like 2026-12-28T13:30:00+01:00, "
            f"got {value!r}",
            None,
        )
    if kind in ("role", "roles"):
        if isinstance(value, str) and value in addresses:
            return None
        return (
            f"names no role or unit of the routine, got {value!r}",
            did_you_mean(str(value), addresses) or "declare it under 'roles'",
        )
    if kind in ("integer", "number"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return None
        return f"is a number field, got {value!r}", "write the number without quotes"
    if kind in ("string", "event", "time"):
        if isinstance(value, str):
            return None
        return f"is a text field, got {value!r}", f"quote the value: '{value}'"
    return None


def _compile_event_check(
    name: str,
    spec: EventType,
    roles: frozenset[str],
    calendar: WorkingCalendar,
    units: frozenset[str] = frozenset(),
) -> EventCheck:
    checks = tuple((fname, f, _field_check(f, roles, calendar)) for fname, f in spec.fields.items())
    known = frozenset(spec.fields)
    addresses = roles | units
    references = tuple(
        fname for fname, f in spec.fields.items() if f.type in ("role", "roles") and addresses
    )

    def check(event: Event) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        data = event.data
        for fname, fspec, verify in checks:
            value = data.get(fname, _MISSING)
            if value is _MISSING or value is None:
                if fspec.required:
                    out.append(
                        _event_diag(
                            event,
                            "event.missing-field",
                            f"{name} needs data.{fname} ({fspec.type})",
                            f"data.{fname}",
                        )
                    )
                continue
            problem = verify(value)
            if problem is not None:
                out.append(
                    _event_diag(
                        event, "event.bad-field", f"data.{fname} {problem}", f"data.{fname}"
                    )
                )
        for fname in references:
            for unknown in unknown_address(data.get(fname), addresses):
                out.append(
                    _event_diag(
                        event,
                        "event.unknown-address",
                        mask_personal_numbers(
                            f"data.{fname} names {unknown!r}, which is no role or unit of the "
                            "routine; it matches no obligation"
                        ),
                        f"data.{fname}",
                        level="warning",
                        hint=did_you_mean(unknown, addresses),
                    )
                )
        for extra in sorted(set(data) - known):
            out.append(
                _event_diag(
                    event,
                    "event.unknown-field",
                    f"{name} has no field {extra!r}; it is kept but not used",
                    f"data.{extra}",
                    level="warning",
                    hint=did_you_mean(extra, known),
                )
            )
        return out

    return check


def _event_diag(
    event: Event,
    code: str,
    message: str,
    path: str,
    *,
    level: Level = "error",
    hint: str | None = None,
) -> Diagnostic:
    return Diagnostic(
        level,
        code,
        f"event {event.id!r}: {message}",
        file=event.file,
        line=event.line,
        path=path,
        hint=hint,
    )


# --------------------------------------------------------------------------- time


@dataclass(frozen=True, slots=True)
class TimePoint:
    """A computed instant (in UTC) and the calendar steps that led to it (for ``explain``).

    Instants are kept in UTC because Python compares two datetimes that share a tzinfo
    object by wall-clock time, which is wrong inside the autumn daylight-saving fold.
    """

    at: datetime
    steps: tuple[str, ...]
    occurrence: str | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is not UTC:
            object.__setattr__(self, "at", self.at.astimezone(UTC))


_WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class CompiledSchedule:
    """A compiled :class:`Schedule`: its occurrences as instants, with the routine's calendar.

    Occurrences are wall-clock times in the routine's time zone, so "tisdag 13.30" is 13:30
    both in winter (+01:00) and in summer (+02:00).
    """

    __slots__ = ("_calendar", "_spec", "_tz", "cancels", "key", "label", "name")

    def __init__(
        self,
        name: str,
        spec: Schedule,
        *,
        tz: ZoneInfo,
        calendar: WorkingCalendar,
        routine_key: str = "",
    ):
        self.name = name
        self.label = spec.label
        self.key = f"{routine_key}/{name}"
        """Names the schedule among every routine version's (``<id>@<version>/<name>``)."""
        self._spec = spec
        self._tz = tz
        self._calendar = calendar
        self.cancels: tuple[tuple[str, Predicate, str], ...] = tuple(
            (c.event, compile_condition(c.if_, tz=tz), c.date.partition(".")[2])
            for c in spec.cancelled_by
        )
        """(event type, condition, date field) of each event that calls an occurrence off."""

    def cancelled_day(self, event: Event) -> date | None:
        """The local date of the occurrence ``event`` calls off, or None when it calls off
        none of this schedule's (another type, a false condition or no usable date)."""
        for event_type, condition, field_name in self.cancels:
            if event.type != event_type or not condition(event, _NO_FACTS):
                continue
            raw = event.data.get(field_name)
            if isinstance(raw, str):
                try:
                    return date.fromisoformat(raw[:10])
                except ValueError:
                    return None
        return None

    @property
    def units(self) -> tuple[str, ...]:
        """The units (case ids) the schedule runs for."""
        return tuple(self._spec.units)

    @property
    def tz(self) -> ZoneInfo:
        """The routine's time zone (occurrences are wall-clock times in it)."""
        return self._tz

    @property
    def starts(self) -> date | None:
        """The first day the schedule runs, when the routine says."""
        return self._spec.starts

    def _candidate_days(self, first: date, last: date) -> Iterator[date]:
        spec = self._spec
        if spec.every == "week":
            target = _WEEKDAYS.index(spec.weekday or "monday")
            day = first + timedelta(days=(target - first.weekday()) % 7)
            while day <= last:
                if spec.iso_weeks == "all" or iso_week_parity(day) == spec.iso_weeks:
                    yield day
                day += timedelta(days=7)
        else:
            day = end_of_month(first)
            while day <= last:
                yield day
                day = end_of_month(day + timedelta(days=1))

    def _placed(self, day: date) -> date | None:
        policy = self._spec.on_non_working_day
        if policy == "keep" or self._calendar.is_working_day(day):
            return day
        if policy == "skip":
            return None
        try:
            if policy == "next_working_day":
                return self._calendar.next_working_day(day)
            return self._calendar.previous_working_day(day)
        except CalendarError:  # the working day it moves to lies outside the calendar
            return None

    def _instant(self, day: date) -> datetime:
        if self._spec.time is None:
            return end_of_day(day, self._tz).astimezone(UTC)
        return local_datetime(day, self._spec.time, self._tz).astimezone(UTC)

    def occurrences(self, first: date, last: date) -> list[datetime]:
        """Every occurrence (UTC instants) whose scheduled day lies in ``first..last``.

        Only days inside the calendar's covered range occur: a schedule has no occurrence
        the calendar cannot place (a look-ahead near 2100 simply finds none).
        """
        first = max(first, self._calendar.first_day)
        last = min(last, self._calendar.last_day)
        out = []
        for day in self._candidate_days(first, last):
            placed = self._placed(day)
            if placed is not None:
                out.append(self._instant(placed))
        return sorted(set(out))

    def next_after(
        self, moment: datetime, skip: Callable[[datetime], bool] | None = None
    ) -> datetime:
        """The first occurrence strictly after ``moment`` (that ``skip`` does not reject:
        a cancelled one)."""
        start = local_date(moment, self._tz) - timedelta(days=7)
        span = 70
        for _ in range(12):
            for occurrence in self.occurrences(start, start + timedelta(days=span)):
                if occurrence > moment and (skip is None or not skip(occurrence)):
                    return occurrence
            start += timedelta(days=span)
        raise CalendarError(f"schedule {self.name!r} has no occurrence after {moment.isoformat()}")

    def occurrence_name(self, occurrence: datetime) -> str:
        """The stable name of an occurrence: ``<schedule>@<local RFC 3339 time>``."""
        return f"{self.name}@{format_rfc3339(occurrence.astimezone(self._tz))}"

    def local(self, occurrence: datetime) -> datetime:
        """An occurrence in local time."""
        return occurrence.astimezone(self._tz)


class HeldOccurrences(Protocol):
    """Which occurrences of the schedules were called off, as an evaluation knows them."""

    def cancelled(
        self, schedule: CompiledSchedule, occurrence: datetime, known_at: datetime
    ) -> bool:
        """True when an event at or before ``known_at`` called ``occurrence`` off."""
        ...


class TimeRule:
    """A compiled :class:`TimeSpec`: the instant it names for a given trigger event.

    ``held``, where a method takes it, says which schedule occurrences were called off:
    an anchor on a schedule skips the occurrences cancelled by the trigger's time.
    """

    __slots__ = (
        "_amount",
        "_by_day",
        "_calendar",
        "_end",
        "_explained",
        "_field",
        "_memo",
        "_policy",
        "_schedule",
        "_spec",
        "_tz",
        "_unit",
    )

    def __init__(
        self,
        spec: TimeSpec,
        *,
        tz: ZoneInfo,
        calendar: WorkingCalendar,
        policy: str,
        end_of_day_default: bool,
        schedules: Mapping[str, CompiledSchedule] | None = None,
    ) -> None:
        self._spec = spec
        self._tz = tz
        self._calendar = calendar
        self._policy = spec.on_non_working_day or policy
        self._end = end_of_day_default
        self._unit = spec.unit
        self._amount = spec.amount
        anchor = spec.anchor
        self._field = anchor.partition(".")[2] if anchor.startswith("data.") else None
        self._schedule = (
            (schedules or {})[anchor.partition(".")[2]] if anchor.startswith("schedule.") else None
        )
        # A deadline counted in days depends only on the anchor's day: audits raise many
        # obligations from the same day, so each day is computed once (see instant()).
        self._by_day = self._schedule is None and self._unit not in (None, "hours", "minutes")
        self._memo: dict[object, tuple[datetime, str | None]] = {}
        self._explained: dict[tuple[object, str], TimePoint] = {}

    @property
    def schedules(self) -> tuple[CompiledSchedule, ...]:
        """The schedule it is anchored on (none, or one)."""
        return (self._schedule,) if self._schedule is not None else ()

    def _anchor(self, event: Event, held: HeldOccurrences | None = None) -> datetime | date:
        if self._schedule is not None:
            schedule = self._schedule
            if held is None or not schedule.cancels:
                return schedule.next_after(event.at)
            known = event.at
            return schedule.next_after(known, lambda o: held.cancelled(schedule, o, known))
        if self._field is None:
            return event.at
        raw = event.data[self._field]
        if isinstance(raw, str) and len(raw) == 10:
            return date.fromisoformat(raw)
        return parse_rfc3339(raw)

    def _at_time_of_day(self, d: date) -> datetime:
        if self._spec.time is not None:
            return local_datetime(d, self._spec.time, self._tz)
        return end_of_day(d, self._tz) if self._end else start_of_day(d, self._tz)

    def compute(
        self, event: Event, t: Translator | None = None, held: HeldOccurrences | None = None
    ) -> TimePoint:
        """The instant for this trigger event, with the steps taken (for ``explain``), in
        the language of ``t`` (Swedish by default)."""
        from samverkan_rules.i18n import translator

        t = t or translator()
        key = self._memo_key(event)
        if key is None:
            steps = _Steps(t)
            at, occurrence = self._compute(event, steps, held)
            return TimePoint(at, tuple(steps), occurrence)
        # The first step names the anchor (for the trigger, to the minute); the calendar
        # steps after it depend only on the anchor's day.
        hit = self._explained.get((key, t.language))
        if hit is None:
            steps = _Steps(t)
            at, occurrence = self._compute(event, steps)
            hit = TimePoint(at, tuple(steps[1:]), occurrence)
            if len(self._explained) >= _MEMO_SIZE:
                self._explained.clear()
            self._explained[(key, t.language)] = hit
        first = _Steps(t)
        self._anchor_step(self._anchor(event), first)
        return TimePoint(hit.at, (*first, *hit.steps), hit.occurrence)

    def instant(
        self, event: Event, held: HeldOccurrences | None = None
    ) -> tuple[datetime, str | None]:
        """The instant (UTC) for this trigger event and the occurrence it belongs to.

        The same computation as :meth:`compute` without writing the steps down: the
        evaluator calls this for every trigger and builds the steps only when asked for.
        """
        key = self._memo_key(event)
        if key is None:
            return self._compute(event, None, held)
        memo = self._memo
        hit = memo.get(key)
        if hit is None:
            hit = self._compute(event, None)
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[key] = hit
        return hit

    def _memo_key(self, event: Event) -> object | None:
        """What the result depends on, for a deadline counted in days: the anchor's day
        (or the anchor field's text); None when it must be computed every time."""
        if not self._by_day:
            return None
        if self._field is None:
            return event.at.astimezone(self._tz).date()
        key = event.data.get(self._field)
        return key if isinstance(key, str) else None

    def _compute(
        self, event: Event, steps: _Steps | None, held: HeldOccurrences | None = None
    ) -> tuple[datetime, str | None]:
        anchor = self._anchor(event, held)
        occurrence = None
        if self._schedule is not None:
            assert isinstance(anchor, datetime)
            occurrence = self._schedule.occurrence_name(anchor)
        if steps is not None:
            self._anchor_step(anchor, steps)
            if (
                self._schedule is not None
                and isinstance(anchor, datetime)
                and anchor != self._schedule.next_after(event.at)
            ):
                self._skipped_step(event.at, anchor, steps)
        return self._offset(anchor, steps).astimezone(UTC), occurrence

    def _skipped_step(self, after: datetime, held_at: datetime, steps: _Steps) -> None:
        """Name the called-off occurrences between the trigger and the one held."""
        assert self._schedule is not None
        first = local_date(after, self._tz)
        last = local_date(held_at, self._tz)
        skipped = [
            format_local_minute(o, self._tz)
            for o in self._schedule.occurrences(first, last)
            if after < o < held_at
        ]
        steps.append(x.step_cancelled_occurrences(steps.t, occurrences=", ".join(skipped)))

    def _anchor_step(self, anchor: datetime | date, steps: _Steps) -> None:
        shown = (
            anchor.isoformat()
            if isinstance(anchor, date) and not isinstance(anchor, datetime)
            else format_local_minute(anchor, self._tz)
        )
        if self._schedule is not None:
            label = self._schedule.label
            steps.append(x.step_next_occurrence(steps.t, schedule=label, at=shown))
        else:
            steps.append(f"{self._spec.anchor} = {shown}")

    def _offset(self, anchor: datetime | date, steps: _Steps | None) -> datetime:
        unit, amount = self._unit, self._amount
        if unit is None:
            if isinstance(anchor, datetime):
                return anchor
            return self._at_time_of_day(anchor)
        if unit in ("hours", "minutes"):
            base = anchor if isinstance(anchor, datetime) else start_of_day(anchor, self._tz)
            delta = timedelta(hours=amount) if unit == "hours" else timedelta(minutes=amount)
            # Elapsed time, not wall-clock time: one hour is one hour across the DST fold.
            result = (base.astimezone(UTC) + delta).astimezone(self._tz)
            if steps is not None:
                steps.append(
                    x.step_amount(
                        steps.t,
                        unit=unit,
                        amount=amount,
                        base="",
                        result=format_local_minute(result, self._tz),
                    )
                )
            return result
        base_day = local_date(anchor, self._tz) if isinstance(anchor, datetime) else anchor
        cal = self._calendar
        if unit == "working_days":
            day = cal.add_working_days(base_day, amount)
            if steps is not None:
                text = x.step_working_days(
                    steps.t,
                    n=abs(amount),
                    before=amount < 0,
                    base=base_day.isoformat(),
                    day=day.isoformat(),
                )
                skipped = _skipped(cal, base_day, day, steps.t)
                if skipped:
                    text = x.step_not_working_days(steps.t, step=text, days=skipped)
                steps.append(text)
        else:
            if unit == "months":
                day = add_months(base_day, amount)
            else:
                day = add_days(base_day, amount * (7 if unit == "weeks" else 1))
            if steps is not None:
                steps.append(
                    x.step_amount(
                        steps.t,
                        unit=unit,
                        amount=amount,
                        base=base_day.isoformat(),
                        result=day.isoformat(),
                    )
                )
            if self._policy != "keep" and not cal.is_working_day(day):
                moved = (
                    cal.next_working_day(day)
                    if self._policy == "next_working_day"
                    else cal.previous_working_day(day)
                )
                if steps is not None:
                    reason = x.non_working_reason(steps.t, cal.non_working_reason(day) or "")
                    steps.append(
                        x.step_moved(
                            steps.t, day=day.isoformat(), reason=reason, moved=moved.isoformat()
                        )
                    )
                day = moved
        result = self._at_time_of_day(day)
        if steps is not None:
            steps.append(f"-> {format_local_minute(result, self._tz)}")
        return result


class CompositeTimeRule:
    """A compiled :class:`CompositeTime`: the later or earlier of its parts' instants.

    Ties go to the first part written, so the occurrence (and the explanation) is stable.
    """

    __slots__ = ("_later", "_parts", "_tz")

    def __init__(
        self, parts: Sequence[TimeRule | CompositeTimeRule], *, later: bool, tz: ZoneInfo
    ) -> None:
        self._parts = tuple(parts)
        self._later = later
        self._tz = tz

    @property
    def schedules(self) -> tuple[CompiledSchedule, ...]:
        """The schedules its parts are anchored on."""
        return tuple(s for part in self._parts for s in part.schedules)

    def _pick(self, results: Sequence[tuple[datetime, str | None]]) -> int:
        best = 0
        for i in range(1, len(results)):
            if (
                (results[i][0] > results[best][0])
                if self._later
                else (results[i][0] < results[best][0])
            ):
                best = i
        return best

    def instant(
        self, event: Event, held: HeldOccurrences | None = None
    ) -> tuple[datetime, str | None]:
        """The instant (UTC) for this trigger event and the occurrence it belongs to."""
        results = [part.instant(event, held) for part in self._parts]
        return results[self._pick(results)]

    def compute(
        self, event: Event, t: Translator | None = None, held: HeldOccurrences | None = None
    ) -> TimePoint:
        """The instant with its steps: each part's, then which one was chosen."""
        from samverkan_rules.i18n import translator

        t = t or translator()
        points = [part.compute(event, t, held) for part in self._parts]
        best = self._pick([(p.at, p.occurrence) for p in points])
        steps = [
            x.composite_part(t, n=i, steps="; ".join(p.steps)) for i, p in enumerate(points, 1)
        ]
        chosen = format_local_minute(points[best].at, self._tz)
        steps.append(x.composite_choice(t, later=self._later, n=best + 1, at=chosen))
        return TimePoint(points[best].at, tuple(steps), points[best].occurrence)


def compile_time(
    spec: TimeForm,
    *,
    tz: ZoneInfo,
    calendar: WorkingCalendar,
    policy: str,
    end_of_day_default: bool,
    schedules: Mapping[str, CompiledSchedule] | None = None,
) -> TimeRule | CompositeTimeRule:
    """Compile a time form: a plain :class:`TimeSpec` or a ``later_of``/``earlier_of``."""
    if isinstance(spec, CompositeTime):
        return CompositeTimeRule(
            [
                compile_time(
                    part,
                    tz=tz,
                    calendar=calendar,
                    policy=policy,
                    end_of_day_default=end_of_day_default,
                    schedules=schedules,
                )
                for part in spec.parts
            ],
            later=spec.later,
            tz=tz,
        )
    return TimeRule(
        spec,
        tz=tz,
        calendar=calendar,
        policy=policy,
        end_of_day_default=end_of_day_default,
        schedules=schedules,
    )


_MEMO_SIZE: Final = 65536
"""Days remembered per deadline rule (a dict of this size is a few MB at most)."""


class _Steps(list[str]):
    """The calendar steps of a deadline, written in the language of ``t``."""

    def __init__(self, t: Translator) -> None:
        super().__init__()
        self.t = t


def _skipped(cal: WorkingCalendar, a: date, b: date, t: Translator) -> str:
    lo, hi = (a, b) if a <= b else (b, a)
    span = (hi - lo).days
    if span > 31:
        return ""
    names = []
    for offset in range(1, span):
        d = lo + timedelta(days=offset)
        reason = cal.non_working_reason(d)
        if reason is not None and d.weekday() < 5:
            names.append(f"{d.isoformat()} {x.non_working_reason(t, reason)}")
    return ", ".join(names)


def offset_after(
    moment: datetime, offset: Offset, *, tz: ZoneInfo, calendar: WorkingCalendar
) -> datetime:
    """``moment`` plus an escalation :class:`Offset` (working days keep the time of day)."""
    if offset.hours is not None:
        return (moment + timedelta(hours=offset.hours)).astimezone(tz)
    local = moment.astimezone(tz)
    if offset.working_days is not None:
        day = calendar.add_working_days(local.date(), offset.working_days)
    else:
        day = add_days(local.date(), offset.days or 0)
    return local_datetime(day, local.time().replace(tzinfo=None), tz).astimezone(UTC)


# --------------------------------------------------------------------------- patterns, rules


@dataclass(frozen=True, slots=True)
class CompiledPattern:
    """A compiled :class:`EventPattern`: which later events fulfil or cancel an obligation."""

    event_type: str
    condition: Predicate
    match: tuple[tuple[Callable[[Event], Any], Callable[[Event], Any]], ...]
    any_case: bool = False

    def matches(self, candidate: Event, trigger: Event, facts: Facts) -> bool:
        """True when ``candidate`` answers the obligation raised by ``trigger``."""
        if candidate.type != self.event_type:
            return False
        if candidate.case != trigger.case and not self.any_case:
            return False
        for get_candidate, get_trigger in self.match:
            value = get_candidate(candidate)
            if value is _MISSING or not _same(value, get_trigger(trigger)):
                return False
        return self.condition(candidate, facts)


def _event_ref(path: str) -> Callable[[Event], Any]:
    if path in ("case", "trigger.case"):
        return lambda e: e.case
    if path == "trigger.id":
        return lambda e: e.id
    name = path.removeprefix("trigger.").removeprefix("data.")
    if "." in name:
        parts = tuple(name.split("."))
        return lambda e: _nested(e.data, parts)
    return lambda e: e.data.get(name, _MISSING)


def _compile_pattern(
    p: EventPattern,
    fields: Mapping[str, FieldSpec] | None = None,
    units: Mapping[str, str] | None = None,
    tz: ZoneInfo | None = None,
) -> CompiledPattern:
    return CompiledPattern(
        event_type=p.event,
        condition=compile_condition(p.if_, fields=fields, units=units, tz=tz),
        match=tuple((_event_ref(k), _event_ref(v)) for k, v in sorted(p.match.items())),
        any_case=p.any_case,
    )


@dataclass(frozen=True, slots=True)
class CompiledEscalation:
    """A breach escalation with its target role resolved."""

    after: Offset
    role: str
    description: str
    index: int
    on: str = "overdue"
    within: Offset | None = None


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One rule, ready to run: the model plus its compiled parts."""

    rule: Rule
    index: int
    condition: Predicate
    unless: Predicate
    deadline: TimeRule | CompositeTimeRule
    opens: TimeRule | CompositeTimeRule | None
    fulfilled_by: tuple[CompiledPattern, ...]
    cancelled_by: tuple[CompiledPattern, ...]
    escalations: tuple[CompiledEscalation, ...]
    requires: tuple[str, ...]
    # Output parts that are the same for every obligation of the rule, built once.
    routine_ref: RoutineRef
    source_record: SourceRecord
    interpretation_record: InterpretationRecord | None
    reports_to: Mapping[str, str | None] = field(default_factory=dict)
    late_in: LateUnit = "working_days"
    """The unit the rule's lateness is worded in (the rule's own, else the calendar's)."""

    @property
    def id(self) -> str:
        """The rule id."""
        return self.rule.id

    def roles_for(self, facts: Facts) -> tuple[str, tuple[str, ...], Climb | None]:
        """Responsible role and recipients at a trigger, after any ``levels_up``.

        Returns the roles and, with ``levels_up``, how it was climbed: the levels, the
        role climbed from, and each ``(role, top)`` where the hierarchy ended early (the
        highest role reached is then used).
        """
        action = self.rule.action
        levels = action.levels_up
        if levels is None:
            return action.role, tuple(action.recipients), None
        if isinstance(levels, str):
            value = facts.get(levels.partition(".")[2])
            levels = value if isinstance(value, int) and not isinstance(value, bool) else 0
        ends: list[tuple[str, str]] = []

        def up(role: str) -> str:
            current = role
            for _ in range(levels):
                above = self.reports_to.get(current)
                if above is None:
                    ends.append((role, current))
                    break
                current = above
            return current

        responsible = up(action.responsible)
        recipients = tuple(up(r) for r in action.recipients)
        return responsible, recipients, (levels, action.responsible, tuple(ends))


@dataclass(frozen=True, slots=True)
class CompiledPeriod:
    """A period with its start and end conditions compiled."""

    name: str
    spec: Period
    start_type: str | None
    start_condition: Predicate
    breach: tuple[str, ...]
    """Rule ids whose breached obligations start the period (empty: an event does)."""
    ends: tuple[tuple[str, Predicate], ...]

    def starts_on(self, event: Event) -> bool:
        """True when ``event`` starts the period (for an event-started period)."""
        return event.type == self.start_type and self.start_condition(event, _NO_FACTS)

    def ends_on(self, event: Event) -> bool:
        """True when ``event`` ends an open period."""
        return any(event.type == t and p(event, _NO_FACTS) for t, p in self.ends)


@dataclass(frozen=True, slots=True)
class CompiledPrecondition:
    """A precondition with its condition compiled."""

    name: str
    label: str
    holds: Predicate
    remedy_kind: str
    remedy_description: str
    remedy_responsible: str | None
    remedy_channel: str | None
    remedy_content: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FactSetter:
    """How one event type sets one fact."""

    fact: str
    condition: Predicate
    value: Any
    value_field: str | None
    add: int | None = None

    def value_for(self, event: Event, current: Any = None) -> Any:
        """The value the fact takes after ``event`` (``current`` is its value before)."""
        if self.add is not None:
            base = current if isinstance(current, int) and not isinstance(current, bool) else 0
            return base + self.add
        if self.value_field is not None:
            return event.data.get(self.value_field)
        return self.value


@dataclass(frozen=True, slots=True)
class CompiledQueueJoin:
    """A queue's join, with its condition compiled."""

    event_type: str
    condition: Predicate
    priority: int
    label: str


@dataclass(frozen=True, slots=True)
class CompiledQueue:
    """A queue, indexed by the event types that join, leave or offer (see :class:`Queue`).

    Conditions read the event only (the loader refuses ``fact.<name>`` here), so they are
    called with empty facts.
    """

    name: str
    queue: Queue
    joins: Mapping[str, tuple[CompiledQueueJoin, ...]]
    leaves: Mapping[str, tuple[Predicate, ...]]
    offers: Mapping[str, tuple[Predicate, ...]]

    @property
    def label(self) -> str:
        """The queue's label."""
        return self.queue.label

    def join(self, event: Event) -> CompiledQueueJoin | None:
        """The best (lowest-priority-number) join this event makes, or None."""
        best: CompiledQueueJoin | None = None
        for j in self.joins.get(event.type, ()):
            if j.condition(event, _NO_FACTS) and (best is None or j.priority < best.priority):
                best = j
        return best

    def leaves_on(self, event: Event) -> bool:
        """True when this event takes its case out of the queue."""
        return any(p(event, _NO_FACTS) for p in self.leaves.get(event.type, ()))

    def offers_on(self, event: Event) -> bool:
        """True when this event offers a place to its case."""
        return any(p(event, _NO_FACTS) for p in self.offers.get(event.type, ()))


_NO_FACTS: Final[Mapping[str, Any]] = MappingProxyType({})


def _compile_queue(name: str, queue: Queue, tz: ZoneInfo | None = None) -> CompiledQueue:
    joins: dict[str, list[CompiledQueueJoin]] = {}
    for j in queue.joins:
        joins.setdefault(j.event, []).append(
            CompiledQueueJoin(j.event, compile_condition(j.if_, tz=tz), j.priority, j.label)
        )
    leaves: dict[str, list[Predicate]] = {}
    for entry in queue.leaves:
        leaves.setdefault(entry.event, []).append(compile_condition(entry.if_, tz=tz))
    offers: dict[str, list[Predicate]] = {}
    for entry in queue.offers:
        offers.setdefault(entry.event, []).append(compile_condition(entry.if_, tz=tz))
    return CompiledQueue(
        name=name,
        queue=queue,
        joins=MappingProxyType({k: tuple(v) for k, v in joins.items()}),
        leaves=MappingProxyType({k: tuple(v) for k, v in leaves.items()}),
        offers=MappingProxyType({k: tuple(v) for k, v in offers.items()}),
    )


@dataclass(frozen=True)
class CompiledRoutine:
    """An immutable, indexed ruleset compiled from one routine version.

    Build it with :func:`compile_routine` (or :func:`samverkan_rules.load_routine`).
    """

    routine: Routine
    sha256: str
    file: str | None
    tz: ZoneInfo
    calendar: WorkingCalendar
    event_types: Mapping[str, EventType]
    event_checks: Mapping[str, EventCheck]
    rules: tuple[CompiledRule, ...]
    rules_by_trigger: Mapping[str, tuple[CompiledRule, ...]]
    answer_types: frozenset[str]
    fact_setters: Mapping[str, tuple[FactSetter, ...]]
    fact_defaults: Mapping[str, Any]
    preconditions: Mapping[str, CompiledPrecondition]
    schedules: Mapping[str, CompiledSchedule] = field(default_factory=dict)
    ticking: tuple[str, ...] = ()
    """Schedules that trigger rules (their occurrences become unit-level obligations)."""
    borrow_types: frozenset[str] = frozenset()
    """Event types that answer some obligation from any case (``any_case`` patterns)."""
    queues: Mapping[str, CompiledQueue] = field(default_factory=lambda: MappingProxyType({}))
    """The routine's queues, by name, whose order of service is checked over all cases."""
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    periods: tuple[CompiledPeriod, ...] = ()
    """The routine's periods (states with a length), in the order declared."""
    param_uses: Mapping[tuple[str | int, ...], str] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """Where a value came from a parameter: its path in the routine and the parameter."""
    rule_files: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """For a variant: the file that wrote each rule, by rule id."""
    _key: str = field(init=False, default="", repr=False, compare=False)

    @property
    def id(self) -> str:
        """The routine id."""
        return self.routine.id

    @property
    def version(self) -> str:
        """The routine version."""
        return self.routine.version

    @property
    def key(self) -> str:
        """``<id>@<version>``: names this version among several (in facts and schedules)."""
        return self._key

    def __post_init__(self) -> None:
        # Computed once: the engine looks the key up for every event.
        object.__setattr__(self, "_key", f"{self.routine.id}@{self.routine.version}")

    def rule(self, rule_id: str) -> CompiledRule:
        """The compiled rule with this id (KeyError if there is none)."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def check_event(self, event: Event) -> list[Diagnostic]:
        """Diagnostics for an event against this routine's event types (empty when valid)."""
        check = self.event_checks.get(event.type)
        if check is None:
            return [
                _event_diag(
                    event,
                    "event.unknown-type",
                    f"unknown event type {event.type!r}",
                    "type",
                    hint=did_you_mean(event.type, self.event_types),
                )
            ]
        return check(event)

    def role_label(self, role: str) -> str:
        """The Swedish label of a role (the id itself when unknown)."""
        spec = self.routine.roles.get(role)
        return spec.label if spec else role

    def channel_label(self, channel: str | None) -> str | None:
        """The label of a channel."""
        if channel is None:
            return None
        spec = self.routine.channels.get(channel)
        return spec.label if spec else channel


def resolve_up(routine: Routine, role: str, levels: int) -> str:
    """The role ``levels`` steps up the ``reports_to`` chain from ``role``.

    Raises:
        KeyError: when the chain ends before that many levels.
    """
    current = role
    for _ in range(levels):
        spec = routine.roles.get(current)
        if spec is None or spec.reports_to is None:
            raise KeyError(current)
        current = spec.reports_to
    return current


def compile_routine(
    routine: Routine,
    *,
    vocabulary: Mapping[str, EventType] | None = None,
    source_text: str | None = None,
    file: str | None = None,
    diagnostics: Sequence[Diagnostic] = (),
    param_uses: Mapping[tuple[str | int, ...], str] | None = None,
    rule_files: Mapping[str, str] | None = None,
) -> CompiledRoutine:
    """Compile a validated routine model.

    The routine is assumed to have passed the loader's meaning checks (every reference
    resolves); :func:`samverkan_rules.load_routine` does both.

    Args:
        routine: The validated model.
        vocabulary: The shared event types the routine uses (default: the bundled one).
        source_text: The YAML text, hashed into ``sha256`` so reports name exactly what ran.
        file: Where the routine came from, for messages.
        diagnostics: Warnings found while loading, kept with the compiled routine.
        param_uses: Where values came from parameters (path -> parameter), for render.
        rule_files: For a variant, the file that wrote each rule (rule id -> file).
    """
    if vocabulary is None and routine.vocabulary is not None:
        from samverkan_rules.loader import bundled_vocabulary

        vocabulary = bundled_vocabulary().event_types
    tz = get_zone(routine.calendar.time_zone)
    cal = sweden_calendar(routine.calendar.closed_days)
    policy = routine.calendar.deadline_on_non_working_day
    types: dict[str, EventType] = merged_event_types(routine, dict(vocabulary or {}))
    roles = frozenset(routine.roles)
    role_units = {n: r.unit for n, r in routine.roles.items()}
    units = frozenset(role_units.values()) | frozenset(routine.units)
    checks = {
        name: _compile_event_check(name, spec, roles, cal, units) for name, spec in types.items()
    }
    schedules = {
        name: CompiledSchedule(
            name, spec, tz=tz, calendar=cal, routine_key=f"{routine.id}@{routine.version}"
        )
        for name, spec in routine.schedules.items()
    }

    hierarchy = MappingProxyType({n: r.reports_to for n, r in routine.roles.items()})
    clock: dict[str, Any] = {"tz": tz, "calendar": cal, "policy": policy, "schedules": schedules}
    compiled: list[CompiledRule] = []
    for index, rule in enumerate(routine.rules):
        escalations = []
        for i, esc in enumerate(rule.escalation, start=1):
            target = esc.to or resolve_up(routine, rule.action.role, esc.levels_up or 1)
            escalations.append(
                CompiledEscalation(esc.after, target, esc.description, i, esc.on, esc.within)
            )
        compiled.append(
            CompiledRule(
                rule=rule,
                index=index,
                condition=compile_condition(
                    rule.when.if_,
                    fields=_fields_of(types, rule.when.event_type),
                    units=role_units,
                    tz=tz,
                ),
                unless=(
                    compile_condition(rule.unless, tz=tz) if rule.unless is not None else _never
                ),
                deadline=compile_time(rule.deadline, end_of_day_default=True, **clock),
                opens=(
                    compile_time(rule.opens, end_of_day_default=False, **clock)
                    if rule.opens
                    else None
                ),
                fulfilled_by=tuple(
                    _compile_pattern(p, _fields_of(types, p.event), role_units, tz)
                    for p in rule.fulfilled_by
                ),
                cancelled_by=tuple(
                    _compile_pattern(p, _fields_of(types, p.event), role_units, tz)
                    for p in rule.cancelled_by
                ),
                escalations=tuple(escalations),
                requires=tuple(rule.requires),
                late_in=late_unit(rule, routine.calendar.late_in),
                reports_to=hierarchy,
                routine_ref=RoutineRef(id=routine.id, version=routine.version),
                source_record=SourceRecord(
                    document=routine.source.title,
                    section=rule.source.section,
                    quote=rule.source.quote,
                ),
                interpretation_record=(
                    InterpretationRecord(
                        reason=rule.interpretation.reason, text=rule.interpretation.text
                    )
                    if rule.interpretation
                    else None
                ),
            )
        )
    by_trigger: dict[str, list[CompiledRule]] = {}
    answers: set[str] = set()
    borrow: set[str] = set()
    for c in compiled:
        by_trigger.setdefault(c.rule.when.event_type, []).append(c)
        answers.update(p.event_type for p in c.fulfilled_by + c.cancelled_by)
        borrow.update(p.event_type for p in c.fulfilled_by + c.cancelled_by if p.any_case)

    setters: dict[str, list[FactSetter]] = {}
    for name, fact in routine.facts.items():
        for upd in fact.set_by:
            setters.setdefault(upd.event, []).append(
                FactSetter(
                    fact=name,
                    condition=compile_condition(upd.if_, tz=tz),
                    value=upd.value,
                    value_field=upd.value_from.partition(".")[2] if upd.value_from else None,
                    add=upd.add,
                )
            )
    preconditions = {
        name: CompiledPrecondition(
            name=name,
            label=p.label,
            holds=compile_condition(p.holds),
            remedy_kind=p.remedy.kind,
            remedy_description=p.remedy.description,
            remedy_responsible=p.remedy.responsible,
            remedy_channel=p.remedy.channel,
            remedy_content=tuple(p.remedy.content),
        )
        for name, p in routine.preconditions.items()
    }
    text = source_text if source_text is not None else routine.model_dump_json(by_alias=True)
    return CompiledRoutine(
        routine=routine,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        file=file,
        tz=tz,
        calendar=cal,
        event_types=MappingProxyType(types),
        event_checks=MappingProxyType(checks),
        rules=tuple(compiled),
        rules_by_trigger=MappingProxyType({k: tuple(v) for k, v in by_trigger.items()}),
        answer_types=frozenset(answers),
        fact_setters=MappingProxyType({k: tuple(v) for k, v in setters.items()}),
        fact_defaults=MappingProxyType({n: f.default for n, f in routine.facts.items()}),
        preconditions=MappingProxyType(preconditions),
        schedules=MappingProxyType(schedules),
        ticking=tuple(
            sorted({r.when.schedule for r in routine.rules if r.when.schedule is not None})
        ),
        borrow_types=frozenset(borrow),
        queues=MappingProxyType(
            {name: _compile_queue(name, q, tz) for name, q in sorted(routine.queues.items())}
        ),
        diagnostics=tuple(diagnostics),
        param_uses=MappingProxyType(dict(param_uses or {})),
        rule_files=MappingProxyType(dict(rule_files or {})),
        periods=tuple(
            CompiledPeriod(
                name=name,
                spec=p,
                start_type=p.starts.event,
                start_condition=compile_condition(p.starts.if_, tz=tz),
                breach=p.starts.breach_rules,
                ends=tuple((e.event, compile_condition(e.if_, tz=tz)) for e in p.ends),
            )
            for name, p in routine.periods.items()
        ),
    )


_UNIT_LATENESS: Mapping[str | None, LateUnit] = {
    "working_days": "working_days",
    "days": "days",
    "weeks": "days",
    "months": "days",
    "hours": "hours",
    "minutes": "hours",
    None: "days",
}


def late_unit(rule: Rule, default: str) -> LateUnit:
    """The unit a rule's lateness is worded in.

    The rule's ``late_in`` wins; otherwise the calendar's: a unit, or ``deadline_unit``
    to follow the deadline (hours and minutes: hours; days, weeks, months and a bare
    ``at``: days; working days: working days).

    Examples:
        >>> from samverkan_rules.models import Rule
        >>> r = Rule.model_validate({"id": "r", "title": "t",
        ...     "when": {"event": "e"}, "action": {"kind": "reply", "description": "d",
        ...     "responsible": "x"}, "deadline": {"after": "trigger", "hours": 24},
        ...     "fulfilled_by": [{"event": "f"}], "source": {"section": "s", "quote": "q"}})
        >>> late_unit(r, "deadline_unit"), late_unit(r, "working_days")
        ('hours', 'working_days')
    """
    if rule.late_in is not None:
        return rule.late_in
    if default == "deadline_unit":
        return _UNIT_LATENESS[rule.deadline.unit]  # a composite: its first part's unit
    return cast(LateUnit, default)


def _never(_event: Event, _facts: Facts) -> bool:
    return False


def _fields_of(types: Mapping[str, EventType], event_type: str) -> Mapping[str, FieldSpec] | None:
    spec = types.get(event_type)
    return spec.fields if spec is not None else None
