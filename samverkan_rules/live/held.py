"""The events a live session holds, indexed the ways judging a case reads them."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from samverkan_rules.events.model import Event
from samverkan_rules.events.retraction import RETRACTED
from samverkan_rules.live.store import content_key
from samverkan_rules.time.instants import local_date


@dataclass(frozen=True, slots=True)
class Batch:
    """Cases judged together in one evaluation, with what judging them reads.

    Attributes:
        cases: The cases whose results are wanted, in the listing's order.
        inputs: The events that decide them (see :meth:`Held.inputs_together`; a unit's
            case is a batch of its own, with :meth:`Held.inputs`).
        events: How many of the cases' own events are at or before the instant judged at.
    """

    cases: tuple[str, ...]
    inputs: list[Event]
    events: int


@dataclass(slots=True)
class Held:
    """A session's events: by id, by case (in order), and the few that other cases read.

    Attributes:
        borrow: Event types other cases lend a unit's case (they answer ``any_case``).
        cancelling: Event types that call off a schedule's occurrence for every case.
        units: The units' cases (a schedule's or a queue's).
        ticking: Whether a routine has schedules (they start where the events do).
        tz: The routines' time zone (the earliest event is the earliest local day).
    """

    borrow: frozenset[str]
    cancelling: frozenset[str]
    units: frozenset[str]
    ticking: bool
    tz: ZoneInfo
    by_id: dict[str, Event] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    by_case: dict[str, list[Event]] = field(default_factory=dict)
    # The keys of by_case, sorted: a listing reads them in order without sorting them.
    ordered: list[str] = field(default_factory=list)
    lent: list[Event] = field(default_factory=list)
    calling_off: list[Event] = field(default_factory=list)
    # Retractions, passed with the shared events: a retracted one is shared no more.
    retracting: list[Event] = field(default_factory=list)
    retracted_cases: set[str] = field(default_factory=set)
    earliest: Event | None = None

    def empty(self) -> Held:
        """The same indexes holding no event."""
        return Held(self.borrow, self.cancelling, self.units, self.ticking, self.tz)

    def remember(self, event: Event) -> None:
        """Hold one more event (not held yet)."""
        self.by_id[event.id] = event
        self.keys[event.id] = content_key(event)
        if event.case not in self.by_case:
            insort(self.ordered, event.case)
        insort(self.by_case.setdefault(event.case, []), event, key=lambda e: e.order_key)
        if event.type in self.borrow:
            self.lent.append(event)
        if event.type in self.cancelling:
            self.calling_off.append(event)
        if event.type == RETRACTED:
            self.retracting.append(event)
            self.retracted_cases.add(event.case)
        if self.earliest is None or self._day(event) < self._day(self.earliest):
            self.earliest = event

    def forget(self, case: str) -> None:
        """Hold no event of ``case`` any more (an erasure)."""
        if case not in self.by_case:
            return
        for event in self.by_case.pop(case):
            self.by_id.pop(event.id, None)
            self.keys.pop(event.id, None)
        del self.ordered[bisect_left(self.ordered, case)]
        for held in (self.lent, self.calling_off, self.retracting):
            held[:] = [e for e in held if e.case != case]
        self.retracted_cases.discard(case)
        if self.earliest is not None and self.earliest.case == case:
            rest = [e for events in self.by_case.values() for e in events]
            self.earliest = min(rest, key=self._day) if rest else None

    def listed(self) -> list[str]:
        """The cases held and the units' cases, sorted (a list of the caller's own)."""
        extra = [unit for unit in self.units if unit not in self.by_case]
        return sorted([*self.ordered, *extra]) if extra else list(self.ordered)

    def inputs(self, case: str) -> list[Event]:
        """The events that decide one case's result, as :func:`evaluate` sees them.

        Its own events and the events of other cases that call off a schedule's occurrence;
        for a unit's case also the events other cases lend it (types that answer
        ``any_case`` patterns) and the earliest event held (where scheduled obligations
        start).
        """
        inputs = self.inputs_together([case])
        if case not in self.units:
            return inputs
        inputs.extend(e for e in self.lent if e.case != case and e.type not in self.cancelling)
        earliest = self.earliest
        if (
            self.ticking
            and earliest is not None
            and earliest.case != case
            and earliest.type not in self.borrow
        ):
            inputs.append(earliest)
        return inputs

    def inputs_together(self, cases: Sequence[str]) -> list[Event]:
        """The events that decide the results of several cases, none a unit's (and of a
        unit's case, all but what other cases lend it): their own events and the events of
        other cases that call off a schedule's occurrence (those count for every case)."""
        inputs = [e for case in cases for e in self.by_case.get(case, ())]
        wanted = set(cases)
        inputs.extend(e for e in self.calling_off if e.case not in wanted)
        return inputs

    def batch(self, cases: Sequence[str], moment: datetime) -> Batch:
        """The batch of ``cases`` judged at ``moment``: a unit's case alone, other
        cases together."""
        if len(cases) == 1 and cases[0] in self.units:
            inputs = self.inputs(cases[0])
        else:
            inputs = self.inputs_together(cases)
        events = sum(1 for case in cases for e in self.by_case.get(case, ()) if e.utc <= moment)
        return Batch(tuple(cases), inputs, events)

    def _day(self, event: Event) -> date:
        return local_date(event.at, self.tz)
