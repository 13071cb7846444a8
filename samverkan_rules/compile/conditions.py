"""Conditions compiled into closures over an event and the case's facts.

A condition is compiled once into a function ``(event, facts) -> bool``: a field path
becomes a getter, a literal is parsed once, and all/any/not become nested closures, so
evaluating a condition never re-reads the routine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import time
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo

from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.errors import CalendarError
from samverkan_rules.events.model import Event
from samverkan_rules.language.models.base import FieldSpec
from samverkan_rules.language.models.conditions import AllOf, AnyOf, Comparison, Condition, NotOf
from samverkan_rules.time.calendar import (
    WEEKDAYS,
    WorkingCalendar,
    sweden_calendar,
)

_MISSING: Final = object()


Facts = Mapping[str, Any]


class CaseFacts(dict[str, Any]):
    """A case's facts, with what ``referred.*`` needs to find the event an event refers to.

    A plain mapping of facts reads every ``referred.*`` field as missing; the engine passes
    this one. Copying it (``dict(facts)``) keeps only the facts.

    Attributes:
        events: The case's events handled so far, by id (shared by the case's routines).
        refs: Each event type's reference field (``refers_to``, or its only ``event`` field).
    """

    __slots__ = ("events", "refs")

    def __init__(
        self,
        facts: Mapping[str, Any],
        events: Mapping[str, Event],
        refs: Mapping[str, str],
    ) -> None:
        super().__init__(facts)
        self.events = events
        self.refs = refs


def facts_snapshot(facts: Facts) -> dict[str, Any]:
    """A copy of ``facts`` as they stand (for an observer); a :class:`CaseFacts` keeps the
    events handled so far, so ``referred.*`` reads later as it read now."""
    if type(facts) is CaseFacts:
        return CaseFacts(facts, dict(facts.events), facts.refs)
    return dict(facts)


def referred_event(event: Event, facts: Facts) -> Event | None:
    """The event ``event`` refers to, among the case's events handled before it.

    Its type's reference field names it; a value ``<rule>:<event id>`` that names no event
    is an obligation's id, and names its trigger. None without such an event, or when
    ``facts`` is not a :class:`CaseFacts`.

    Examples:
        >>> from samverkan_rules.events.model import event_from_mapping
        >>> def ev(i, data): return event_from_mapping({"id": i, "case": "c", "type": "t",
        ...     "at": "2026-01-01T00:00:00+01:00", "data": data})
        >>> report, decision = ev("r1", {"kind": "x"}), ev("d1", {"refers_to": "r1"})
        >>> facts = CaseFacts({}, {"r1": report}, {})
        >>> referred_event(decision, facts).id
        'r1'
        >>> referred_event(ev("d2", {"refers_to": "rule-a:r1"}), facts).id
        'r1'
        >>> referred_event(decision, {}) is None
        True
    """
    if type(facts) is not CaseFacts:
        return None
    value = event.data.get(facts.refs.get(event.type, "refers_to"))
    if type(value) is not str:
        return None
    found = facts.events.get(value)
    if found is None and ":" in value:
        found = facts.events.get(value.partition(":")[2])
    return found if found is not None and found.id != event.id else None


Climb = tuple[int, str, tuple[tuple[str, str], ...]]


"""How ``levels_up`` was resolved: levels, the role climbed from, and where it ended early."""


Predicate = Callable[[Event, Facts], bool]


"""A compiled condition: ``(event, facts) -> bool``."""


EventCheck = Callable[[Event], list[Diagnostic]]


def _always(_event: Event, _facts: Facts) -> bool:
    return True


def _getter(
    path: str, tz: ZoneInfo | None = None, calendar: WorkingCalendar | None = None
) -> Callable[[Event, Facts], Any]:
    if path == "case":
        return lambda e, f: e.case
    if path == "type":
        return lambda e, f: e.type
    scope, _, name = path.partition(".")
    if scope == "referred":
        return _referred_getter(_getter(name, tz, calendar))
    if scope == "at":
        return _event_time_getter(name, tz or _UTC_ZONE, calendar or sweden_calendar())
    if scope == "data" and "." in name:
        parts = tuple(name.split("."))
        return lambda e, f: _nested(e.data, parts)
    if scope == "data":
        return lambda e, f: e.data.get(name, _MISSING)
    return lambda e, f: f.get(name, _MISSING)


_UTC_ZONE: Final = ZoneInfo("UTC")


def _referred_getter(
    inner: Callable[[Event, Facts], Any],
) -> Callable[[Event, Facts], Any]:
    """``inner`` read of the event the event refers to; missing when there is none."""

    def referred(e: Event, f: Facts) -> Any:
        target = referred_event(e, f)
        return _MISSING if target is None else inner(target, f)

    return referred


def _event_time_getter(
    name: str, tz: ZoneInfo, calendar: WorkingCalendar
) -> Callable[[Event, Facts], Any]:
    """``at.local_time`` ('HH:MM:SS'), ``at.local_date`` (ISO date), ``at.weekday``
    ('monday'...) or ``at.working_day`` (by ``calendar``) of the event's instant in the
    routine's time zone."""
    if name == "working_day":

        def working_day(e: Event, f: Facts) -> Any:
            try:
                return calendar.is_working_day(e.at.astimezone(tz).date())
            except CalendarError:  # outside the calendar's years: neither true nor false
                return _MISSING

        return working_day
    if name == "local_time":
        return lambda e, f: e.at.astimezone(tz).time().replace(microsecond=0).isoformat()
    if name == "local_date":
        return lambda e, f: e.at.astimezone(tz).date().isoformat()
    return lambda e, f: WEEKDAYS[e.at.astimezone(tz).weekday()]


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
    calendar: WorkingCalendar | None = None,
) -> Predicate:
    if c.field in ("at.local_time", "referred.at.local_time"):
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
    get = _getter(c.field, tz, calendar)
    op = c.operators()[0]
    if op == "exists":
        want = bool(c.exists)
        return lambda e, f: (get(e, f) not in (_MISSING, None)) is want
    if op == "equals":
        return _equals(get, c.equals, _data_name(c.field))
    if op == "not_equals":
        v = c.not_equals
        if v is None:
            return lambda e, f: get(e, f) not in (_MISSING, None)
        return lambda e, f: not _same(get(e, f), v)
    if op == "contains":
        return _contains(get, accepted_by_contains(c, fields, units), _data_name(c.field))
    if op in ("in", "not_in"):
        values: tuple[Any, ...] = tuple((c.in_ if op == "in" else c.not_in) or ())
        inside = _inside(get, values, _data_name(c.field))
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


def _data_name(path: str) -> str | None:
    """The field name of a plain ``data.<name>`` path (not nested), else None."""
    scope, _, name = path.partition(".")
    return name if scope == "data" and name and "." not in name else None


def _equals(get: Callable[[Event, Facts], Any], v: Any, name: str | None) -> Predicate:
    """``equals: v`` as ``_same`` decides it, specialised on the literal's type.

    A string literal equals exactly the equal strings (no other value a routine reads
    compares equal to a string), a boolean exactly itself, and a number the equal numbers
    that are not booleans (``True == 1`` in Python, not in a routine).
    """
    if v is None:
        return lambda e, f: get(e, f) in (_MISSING, None)
    kind = type(v)
    if kind is str:
        if name is not None:  # read straight from the data: a missing field is None != v
            return lambda e, f: e.data.get(name) == v
        return lambda e, f: get(e, f) == v
    if kind is bool:
        return lambda e, f: get(e, f) is v
    if kind is int or kind is float:
        return lambda e, f: (x := get(e, f)) == v and type(x) is not bool
    return lambda e, f: _same(get(e, f), v)


def _inside(
    get: Callable[[Event, Facts], Any], values: tuple[Any, ...], name: str | None
) -> Predicate:
    """``in: values`` as ``_same`` decides it: a string value is looked up among the string
    literals at once (it equals no other literal); any other value is compared with each.
    ``name``: the field of a plain ``data.<name>`` path, read without a getter call."""
    strings = frozenset(v for v in values if isinstance(v, str))

    def inside(e: Event, f: Facts) -> bool:
        x = get(e, f)
        if type(x) is str:
            return x in strings
        return any(_same(x, v) for v in values)

    if name is None:
        return inside

    def inside_data(e: Event, f: Facts) -> bool:
        x = e.data.get(name, _MISSING)
        if type(x) is str:
            return x in strings
        return any(_same(x, v) for v in values)

    return inside_data


def _contains(
    get: Callable[[Event, Facts], Any], accepted: tuple[Any, ...], name: str | None
) -> Predicate:
    """``contains``: a string that is one of ``accepted``, or a list holding one of them.
    ``name``: the field of a plain ``data.<name>`` path, read without a getter call."""
    if not all(type(a) is str for a in accepted):

        def contains(e: Event, f: Facts) -> bool:
            value = get(e, f)
            if isinstance(value, str):
                return any(_same(value, a) for a in accepted)
            return isinstance(value, list) and any(_same(v, a) for v in value for a in accepted)

        return contains
    # String literals (the usual roles and units): a string equals one exactly when it is
    # among them; a value of any other kind equals none of them.
    names = frozenset(accepted)

    def contains_name(e: Event, f: Facts) -> bool:
        value = e.data.get(name, _MISSING) if name is not None else get(e, f)
        if type(value) is str:
            return value in names
        if type(value) is list:
            return _lists_a_name(value, names, accepted)
        if isinstance(value, str):
            return any(_same(value, a) for a in accepted)
        return isinstance(value, list) and any(_same(v, a) for v in value for a in accepted)

    return contains_name


def _lists_a_name(value: list[Any], names: frozenset[str], accepted: tuple[Any, ...]) -> bool:
    """True when the list ``value`` holds one of ``names`` (``accepted`` as a set)."""
    for v in value:
        if type(v) is str:
            if v in names:
                return True
        elif any(_same(v, a) for a in accepted):
            return True
    return False


def accepted_by_contains(
    c: Comparison, fields: Mapping[str, FieldSpec] | None, units: Mapping[str, str] | None
) -> tuple[Any, ...]:
    """What ``contains`` accepts: the value, and for a role on a roles field also its unit.

    A message addressed to a unit (``"to": ["hemvard"]``, the unit's mailbox) reaches every
    role of that unit, so it answers a pattern asking for one of them. Only a ``data`` field
    declared ``roles`` in ``fields`` widens, and only to the unit of a role (a unit, or a role
    that is its own unit, accepts just itself); ``equals``, ``in`` and the negated forms never
    widen. The durable_rules backend translates ``contains`` with this same function.
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
    calendar: WorkingCalendar | None = None,
) -> Predicate:
    """Compile a structured condition into a predicate over ``(event, facts)``.

    Args:
        condition: The condition (None: always true).
        fields: The fields of the event type the condition reads, when known.
        units: Each role's unit. With ``fields``, ``contains`` on a ``roles`` field also
            accepts the unit of the role asked for (a message to the unit reaches its roles).
        tz: The routine's time zone, in which ``at.local_time``, ``at.local_date``,
            ``at.weekday`` and ``at.working_day`` read the event's instant (default UTC).
        calendar: The routine's working days, for ``at.working_day`` (default: the
            Swedish calendar without closed days).

    Examples:
        >>> from samverkan_rules.language.models.conditions import Comparison
        >>> from samverkan_rules.events.model import event_from_mapping
        >>> p = compile_condition(Comparison.model_validate({"field": "data.n", "gte": 2}))
        >>> e = event_from_mapping({"id": "e", "case": "c", "type": "t",
        ...                         "at": "2026-01-01T00:00:00+01:00", "data": {"n": 3}})
        >>> p(e, {})
        True
    """
    if condition is None:
        return _always
    if isinstance(condition, AllOf):
        return _all_of(
            tuple(
                compile_condition(c, fields=fields, units=units, tz=tz, calendar=calendar)
                for c in condition.all
            )
        )
    if isinstance(condition, AnyOf):
        return _any_of(
            tuple(
                compile_condition(c, fields=fields, units=units, tz=tz, calendar=calendar)
                for c in condition.any
            )
        )
    if isinstance(condition, NotOf):
        inner = compile_condition(
            condition.not_, fields=fields, units=units, tz=tz, calendar=calendar
        )
        return lambda e, f: not inner(e, f)
    return _compile_comparison(condition, fields, units, tz, calendar)


def _all_of(parts: tuple[Predicate, ...]) -> Predicate:
    """True when every part holds (a loop: no generator per call)."""

    def all_of(e: Event, f: Facts) -> bool:
        for p in parts:  # noqa: SIM110 - all() would build a generator per call
            if not p(e, f):
                return False
        return True

    return all_of


def _any_of(parts: tuple[Predicate, ...]) -> Predicate:
    """True when some part holds (a loop: no generator per call)."""

    def any_of(e: Event, f: Facts) -> bool:
        for p in parts:  # noqa: SIM110 - any() would build a generator per call
            if p(e, f):
                return True
        return False

    return any_of


_NO_FACTS: Final[Mapping[str, Any]] = MappingProxyType({})
