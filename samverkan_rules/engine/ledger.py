"""The compact ledger: one slotted record per obligation, times as UTC instants.

The evaluator keeps nothing else while it replays a case: no strings for people, no output
objects. Everything a person reads (explanations, traces, RFC 3339 text, labels) is built
from these records by :mod:`samverkan_rules.engine.output`, and only for what is asked for.

Three kinds of record share the attributes the output and the audit read:

* :class:`RuleEntry`: an obligation a rule raised for a trigger event;
* :class:`EscalationEntry`: a breach escalation of an overdue rule obligation;
* :class:`RemedyEntry`: the action that removes an unmet precondition (obtain consent),
  carrying the earliest deadline it unblocks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, TypeAlias
from zoneinfo import ZoneInfo

from samverkan_rules.compile.time import offset_after
from samverkan_rules.status import Status

if TYPE_CHECKING:
    from samverkan_rules.compile.conditions import Climb
    from samverkan_rules.compile.routine import CompiledRoutine
    from samverkan_rules.compile.rules import CompiledEscalation, CompiledPrecondition, CompiledRule
    from samverkan_rules.compile.schedules import CalledOffOccurrences
    from samverkan_rules.events.model import Event
    from samverkan_rules.time.calendar import WorkingCalendar


def late_working_days(routine: CompiledRoutine, deadline: datetime, moment: datetime) -> int:
    """Working days from the deadline's local day to ``moment``'s local day: the working
    days after the deadline's day, up to and including ``moment``'s day.

    A later day that passed no working day still counts as 1: work done on julafton after a
    deadline on the 23rd (the last working day before it), or on a Saturday after a Friday
    deadline, is late by 1 working day, never by 0. Only work late on the deadline's own day
    (e.g. an hours deadline) is late by 0 working days; its lateness in hours says how much.
    The audit, ``explain`` and ``due`` all take this figure.
    """
    # Keyed by the instants in UTC (a no-op for the ledger's UTC times): many obligations
    # share a deadline (the end of a day) and are measured to the same as_of.
    return _late_days(
        routine.calendar, routine.tz, deadline.astimezone(UTC), moment.astimezone(UTC)
    )


@functools.lru_cache(maxsize=65536)
def _late_days(
    calendar: WorkingCalendar, tz: ZoneInfo, deadline: datetime, moment: datetime
) -> int:
    first, last = deadline.astimezone(tz).date(), moment.astimezone(tz).date()
    days = calendar.working_days_between(first, last)
    return 1 if days == 0 and last > first else days


class RuleEntry:
    """An obligation raised by a rule for one trigger event, while and after it is replayed.

    Attributes:
        routine: The routine version that raised it (in force at the trigger).
        rule: The compiled rule.
        trigger: The event that raised it.
        deadline: The deadline, in UTC.
        occurrence: The scheduled occurrence it belongs to, when there is one.
        opens: When its window opens (UTC), or None when it is open from the trigger.
        responsible: The responsible role (after any ``levels_up``).
        recipients: The recipient roles.
        climb: How ``levels_up`` was resolved (levels, from which role, where it ended).
        answer: The event that fulfilled it.
        cancel: The event that cancelled it.
        seq: Its position among the case's obligations (trigger order).
        status: Its status at ``as_of`` (set when the case's replay ends).
        late: Working days late (fulfilled_late at fulfilment, overdue at ``as_of``).
        late_at: The moment lateness is measured to (the fulfilment or ``as_of``), or None.
        blocked: The preconditions that block it (status ``blocked``).
        unblocks: For an obligation that is itself a remedy: the obligations it unblocks.
        party: For ``responsible: fact.<name>``: the fact's value at ``as_of`` (the person
            or unit responsible), or None while it is unset and the fallback role acts.
        held: The called-off schedule occurrences its deadline was placed with, or None
            when none were called off (so :meth:`TimeRule.compute` explains the same time).
        before: The event it had to precede (the rule's ``before``) when that event came
            while it was open and earlier than the computed deadline, which it then cut to
            its instant; else None.
    """

    __slots__ = (
        "answer",
        "before",
        "blocked",
        "called_off",
        "cancel",
        "climb",
        "deadline",
        "late",
        "late_at",
        "occurrence",
        "opens",
        "party",
        "recipients",
        "responsible",
        "routine",
        "rule",
        "seq",
        "status",
        "trigger",
        "unblocks",
    )

    kind: Literal["rule"] = "rule"

    def __init__(
        self,
        routine: CompiledRoutine,
        rule: CompiledRule,
        trigger: Event,
        deadline: datetime,
        occurrence: str | None,
        opens: datetime | None,
        responsible: str,
        recipients: tuple[str, ...],
        climb: Climb | None,
        seq: int,
        called_off: CalledOffOccurrences | None = None,
    ) -> None:
        self.routine = routine
        self.called_off = called_off
        self.rule = rule
        self.trigger = trigger
        self.deadline = deadline
        self.occurrence = occurrence
        self.opens = opens
        self.responsible = responsible
        self.recipients = recipients
        self.climb = climb
        self.seq = seq
        self.answer: Event | None = None
        self.cancel: Event | None = None
        self.before: Event | None = None
        self.status: Status = "due"
        self.late: int | None = None
        self.late_at: datetime | None = None
        self.party: object = None
        self.blocked: tuple[str, ...] = ()
        self.unblocks: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """Stable id: ``<rule>:<trigger event id>``."""
        return f"{self.rule.id}:{self.trigger.id}"

    @property
    def open(self) -> bool:
        """True while nothing has fulfilled or cancelled it."""
        return self.answer is None and self.cancel is None

    @property
    def case(self) -> str:
        """The case it belongs to."""
        return self.trigger.case

    @property
    def opens_at(self) -> datetime:
        """When it opens: its window's start, else its trigger (UTC or the event's offset)."""
        return self.opens if self.opens is not None else self.trigger.at

    def settle(self, as_of: datetime, facts: dict[str, object]) -> None:
        """Set status, lateness and blocking preconditions as they stand at ``as_of``.

        May be called again at a later ``as_of`` (a live session settles the same records
        after each post): everything it sets is set afresh.
        """
        rule = self.rule
        party_of = rule.party
        if party_of is not None:
            fact, role, party_role = party_of
            party = facts.get(fact)
            self.party = None if party in (None, "") else party
            self.responsible = role if self.party is None else party_role
        self.unblocks = ()
        self.blocked = ()
        self.late = self.late_at = None
        deadline = self.deadline
        answer = self.answer
        if answer is not None:
            # In UTC, like the deadline: the fast comparison, the same instants.
            if answer.utc <= deadline:
                self.status = "fulfilled"
            else:
                self.status = "fulfilled_late"
                self.late = late_working_days(self.routine, deadline, answer.at)
                self.late_at = answer.at
        elif self.cancel is not None:
            self.status = "cancelled"
        elif rule.requires and self._block(facts):
            self.status = "blocked"
        elif self.opens is not None and as_of < self.opens:
            self.status = "upcoming"
        elif as_of <= deadline:
            self.status = "due"
        else:
            self.status = "overdue"
            self.late = late_working_days(self.routine, deadline, as_of)
            self.late_at = as_of

    def _block(self, facts: dict[str, object]) -> bool:
        """Set :attr:`blocked` to the preconditions that do not hold; True when any."""
        preconditions = self.routine.preconditions
        self.blocked = tuple(
            name
            for name in self.rule.requires
            if not preconditions[name].holds(self.trigger, facts)
        )
        return bool(self.blocked)


class EscalationEntry:
    """An escalation: the overdue (or still blocked) ``parent`` goes to ``escalation.role``
    from ``start``, by ``deadline`` when the escalation has one of its own."""

    __slots__ = ("deadline", "escalation", "parent", "start", "status")

    kind: Literal["escalation"] = "escalation"
    blocked: tuple[str, ...] = ()
    unblocks: tuple[str, ...] = ()

    def __init__(
        self,
        parent: RuleEntry,
        escalation: CompiledEscalation,
        start: datetime,
        as_of: datetime | None = None,
    ) -> None:
        self.parent = parent
        self.escalation = escalation
        self.start = start
        self.status: Status = "due"
        self.deadline: datetime | None = None
        if escalation.within is not None:
            routine = parent.routine
            self.deadline = offset_after(
                start, escalation.within, tz=routine.tz, calendar=routine.calendar
            )
            if as_of is not None and as_of > self.deadline:
                self.status = "overdue"

    @property
    def id(self) -> str:
        """``<parent id>:escalation-<n>``."""
        return f"{self.parent.id}:escalation-{self.escalation.index}"

    @property
    def routine(self) -> CompiledRoutine:
        """The routine of the escalated obligation."""
        return self.parent.routine

    @property
    def responsible(self) -> str:
        """The role it escalates to."""
        return self.escalation.role

    @property
    def late(self) -> int | None:
        """How late the escalated obligation is."""
        return self.parent.late

    @property
    def late_at(self) -> datetime | None:
        """The moment the escalated obligation's lateness is measured to."""
        return self.parent.late_at

    @property
    def opens_at(self) -> datetime:
        """When the escalation starts."""
        return self.start


class RemedyEntry:
    """The action that removes precondition ``name`` for the case, by ``who``.

    It carries the earliest deadline among the obligations it unblocks (``members``,
    earliest deadline first).
    """

    __slots__ = ("case", "late", "late_at", "members", "name", "precondition", "status", "who")

    kind: Literal["remedy"] = "remedy"
    blocked: tuple[str, ...] = ()

    def __init__(
        self,
        case: str,
        precondition: CompiledPrecondition,
        who: str,
        members: list[RuleEntry],
        as_of: datetime,
    ) -> None:
        self.case = case
        self.name = precondition.name
        self.precondition = precondition
        self.who = who
        self.members = members
        first = members[0]
        if as_of <= first.deadline:
            self.status: Status = "due"
            self.late: int | None = None
            self.late_at: datetime | None = None
        else:
            self.status = "overdue"
            self.late = late_working_days(first.routine, first.deadline, as_of)
            self.late_at = as_of

    @property
    def id(self) -> str:
        """``<precondition>:<case>:<role>``."""
        return f"{self.name}:{self.case}:{self.who}"

    @property
    def routine(self) -> CompiledRoutine:
        """The routine of the obligations it unblocks."""
        return self.members[0].routine

    @property
    def responsible(self) -> str:
        """The role that removes the block."""
        return self.who

    @property
    def deadline(self) -> datetime:
        """The earliest deadline it unblocks."""
        return self.members[0].deadline

    @property
    def opens_at(self) -> datetime:
        """When the first obligation it unblocks opened."""
        return self.members[0].opens_at

    @property
    def unblocks(self) -> tuple[str, ...]:
        """The ids of the obligations it unblocks."""
        return tuple(m.id for m in self.members)


Entry: TypeAlias = RuleEntry | EscalationEntry | RemedyEntry
"""Any record of the ledger."""


def next_change(entries: Iterable[Entry], as_of: datetime) -> datetime | None:
    """The first whole second after ``as_of`` at which time alone changes one of ``entries``
    (settled at ``as_of``): a window opening, a deadline passing, an escalation beginning.
    None when time alone changes none of them.

    This is :meth:`RuleEntry.settle` read the other way round, so a scheduler that wakes at
    this instant misses no status change: until then every status stays as settled (an
    overdue obligation's lateness grows, but its status does not change).
    """
    soonest: datetime | None = None
    for entry in entries:
        moments: list[datetime] = []
        if entry.status == "upcoming":
            moments.append(entry.opens_at)
        elif entry.status == "due" and entry.deadline is not None:
            moments.append(entry.deadline + _JUST_AFTER)  # overdue once the deadline is past
        if isinstance(entry, RuleEntry) and entry.status in (
            "upcoming",
            "due",
            "overdue",
            "blocked",
        ):
            routine = entry.routine
            # An escalation on the status the obligation has, or will have at its deadline.
            will_be = "blocked" if entry.status == "blocked" else "overdue"
            moments.extend(
                offset_after(entry.deadline, esc.after, tz=routine.tz, calendar=routine.calendar)
                for esc in entry.rule.escalations
                if esc.on == will_be
            )
        for moment in moments:
            whole = _whole_second_from(moment.astimezone(UTC))
            if whole > as_of and (soonest is None or whole < soonest):
                soonest = whole
    return soonest


_JUST_AFTER = timedelta(microseconds=1)


def _whole_second_from(moment: datetime) -> datetime:
    """The first whole second at or after ``moment``."""
    if moment.microsecond == 0:
        return moment
    return moment.replace(microsecond=0) + timedelta(seconds=1)
