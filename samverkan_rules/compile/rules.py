"""Compiled rule parts: event patterns, rules, escalations, periods, preconditions, fact
setters and queues, each a frozen record holding its conditions as closures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from samverkan_rules.compile.conditions import (
    _MISSING,
    _NO_FACTS,
    Climb,
    Facts,
    Predicate,
    _nested,
    _same,
    compile_condition,
    referred_event,
)
from samverkan_rules.compile.time import CompositeTimeRule, TimeRule
from samverkan_rules.events.model import Event
from samverkan_rules.language.models.base import FieldSpec, LateUnit
from samverkan_rules.language.models.periods import Period
from samverkan_rules.language.models.queues import Queue
from samverkan_rules.language.models.rules import EventPattern, Rule
from samverkan_rules.language.models.time import Offset
from samverkan_rules.records import InterpretationRecord, RoutineRef, SourceRecord
from samverkan_rules.time.calendar import WorkingCalendar


@dataclass(frozen=True, slots=True)
class CompiledPattern:
    """A compiled :class:`EventPattern`: which later events fulfil or cancel an obligation."""

    event_type: str
    condition: Predicate
    match: tuple[tuple[Getter, Getter], ...]
    """Per ``match`` entry, the candidate's value and the trigger's, each read from an event
    with the case's facts (which find the event a ``referred.`` path reads)."""
    any_case: bool = False

    def matches(self, candidate: Event, trigger: Event, facts: Facts) -> bool:
        """True when ``candidate`` answers the obligation raised by ``trigger``."""
        if candidate.type != self.event_type:
            return False
        if candidate.case != trigger.case and not self.any_case:
            return False
        for get_candidate, get_trigger in self.match:
            value = get_candidate(candidate, facts)
            if value is _MISSING or not _same(value, get_trigger(trigger, facts)):
                return False
        return self.condition(candidate, facts)


Getter = Callable[[Event, Facts], Any]
"""A ``match`` path compiled: its value in an event, given the case's facts."""


def _event_ref(path: str) -> Getter:
    path = path.removeprefix("trigger.")
    if path.startswith("referred."):
        return _referred_ref(_event_ref(path.removeprefix("referred.")))
    if path == "case":
        return lambda e, f: e.case
    if path == "id":
        return lambda e, f: e.id
    name = path.removeprefix("data.")
    if "." in name:
        parts = tuple(name.split("."))
        return lambda e, f: _nested(e.data, parts)
    return lambda e, f: e.data.get(name, _MISSING)


def _referred_ref(inner: Getter) -> Getter:
    """``inner`` read of the event the event refers to; missing when there is none."""

    def referred(e: Event, f: Facts) -> Any:
        target = referred_event(e, f)
        return _MISSING if target is None else inner(target, f)

    return referred


def _compile_pattern(
    p: EventPattern,
    fields: Mapping[str, FieldSpec] | None = None,
    units: Mapping[str, str] | None = None,
    tz: ZoneInfo | None = None,
    calendar: WorkingCalendar | None = None,
) -> CompiledPattern:
    return CompiledPattern(
        event_type=p.event,
        condition=compile_condition(p.if_, fields=fields, units=units, tz=tz, calendar=calendar),
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
    party: tuple[str, str, str] | None = None
    """For ``responsible: fact.<name>``: the fact, the role responsible while it is unset
    and the role the person or unit it names acts in; None for a role."""
    before: CompiledPattern | None = None
    """The event the obligation must precede: the first match after the trigger cuts the
    deadline to its instant when that is earlier (None: no such event)."""

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


def _compile_queue(
    name: str, queue: Queue, tz: ZoneInfo | None = None, calendar: WorkingCalendar | None = None
) -> CompiledQueue:
    joins: dict[str, list[CompiledQueueJoin]] = {}
    for j in queue.joins:
        joins.setdefault(j.event, []).append(
            CompiledQueueJoin(
                j.event, compile_condition(j.if_, tz=tz, calendar=calendar), j.priority, j.label
            )
        )
    leaves: dict[str, list[Predicate]] = {}
    for entry in queue.leaves:
        leaves.setdefault(entry.event, []).append(
            compile_condition(entry.if_, tz=tz, calendar=calendar)
        )
    offers: dict[str, list[Predicate]] = {}
    for entry in queue.offers:
        offers.setdefault(entry.event, []).append(
            compile_condition(entry.if_, tz=tz, calendar=calendar)
        )
    return CompiledQueue(
        name=name,
        queue=queue,
        joins=MappingProxyType({k: tuple(v) for k, v in joins.items()}),
        leaves=MappingProxyType({k: tuple(v) for k, v in leaves.items()}),
        offers=MappingProxyType({k: tuple(v) for k, v in offers.items()}),
    )
