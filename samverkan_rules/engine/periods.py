"""Periods: states with a length (e.g. betalningsansvar) found in one case's events.

A period starts at an event of its start type (when none of the same period is open) or at
the deadline of a breached obligation of one of its ``breach`` rules, and ends at the first end
event after its start; one not ended is open at ``as_of``. Records are compact (instants
and references); :mod:`samverkan_rules.engine.output` writes them for people and programs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from samverkan_rules.engine.ledger import Entry, RuleEntry

if TYPE_CHECKING:
    from samverkan_rules.compile.routine import CompiledRoutine
    from samverkan_rules.compile.rules import CompiledPeriod
    from samverkan_rules.events.model import Event


class PeriodEntry:
    """One period of a case.

    Attributes:
        routine: The routine declaring it.
        period: The compiled period.
        start: When it started (UTC).
        start_event: The event that started it, or None for a breach.
        start_obligation: The breached obligation that started it, or None.
        end: When it ended (UTC), or None while open.
        end_event: The event that ended it.
        as_of: The instant evaluated at (the end of an open period's length).
    """

    __slots__ = (
        "as_of",
        "end",
        "end_event",
        "period",
        "routine",
        "start",
        "start_event",
        "start_obligation",
    )

    def __init__(
        self,
        routine: CompiledRoutine,
        period: CompiledPeriod,
        start: datetime,
        as_of: datetime,
        start_event: Event | None = None,
        start_obligation: RuleEntry | None = None,
    ) -> None:
        self.routine = routine
        self.period = period
        self.start = start
        self.start_event = start_event
        self.start_obligation = start_obligation
        self.end: datetime | None = None
        self.end_event: Event | None = None
        self.as_of = as_of

    @property
    def until(self) -> datetime:
        """Its end, or ``as_of`` while it is open."""
        return self.end if self.end is not None else self.as_of


class PeriodLength(NamedTuple):
    """A period's length: calendar and working days between the local dates of its start
    and end (or as_of), and whole hours between the instants."""

    days: int
    working_days: int
    hours: int


def period_length(entry: PeriodEntry) -> PeriodLength:
    """How long ``entry`` lasted (an open one: up to its ``as_of``)."""
    routine = entry.routine
    tz = routine.tz
    start_day = entry.start.astimezone(tz).date()
    end_day = entry.until.astimezone(tz).date()
    return PeriodLength(
        days=(end_day - start_day).days,
        working_days=routine.calendar.working_days_between(start_day, end_day),
        hours=int((entry.until - entry.start).total_seconds() // 3600),
    )


def case_periods(
    routines: Sequence[CompiledRoutine],
    case_id: str,
    events: Iterable[Event],
    obligations: Sequence[Entry],
    as_of: datetime,
    in_force: Callable[[CompiledRoutine, datetime], bool] | None = None,
) -> list[PeriodEntry]:
    """The case's periods at ``as_of``, in order of start then declaration.

    An event starts a period of the routine version in force at that instant only (as a
    trigger raises obligations of that version only); a breach starts one of the version
    whose obligation was breached.

    Args:
        routines: The routines evaluated (only those declaring periods matter).
        case_id: The case.
        events: The case's events, sorted by (instant, id).
        obligations: The case's settled obligations (for breach-started periods).
        as_of: The instant evaluated at.
        in_force: Whether a routine version is in force at an instant (default: always).
    """
    declaring = [r for r in routines if r.periods]
    if not declaring:
        return []
    own = [e for e in events if e.case == case_id and e.at.astimezone(UTC) <= as_of]
    out: list[PeriodEntry] = []
    for routine in declaring:
        for period in routine.periods:
            starts: list[PeriodEntry] = []
            if period.breach:
                for entry in obligations:
                    if (
                        isinstance(entry, RuleEntry)
                        and entry.routine is routine
                        and entry.rule.id in period.breach
                        and entry.status in ("overdue", "fulfilled_late")
                    ):
                        starts.append(
                            PeriodEntry(
                                routine, period, entry.deadline, as_of, start_obligation=entry
                            )
                        )
                starts.sort(key=lambda p: p.start)
                for record in starts:
                    for event in own:
                        if event.at.astimezone(UTC) > record.start and period.ends_on(event):
                            record.end, record.end_event = event.at.astimezone(UTC), event
                            break
                out.extend(starts)
                continue
            current: PeriodEntry | None = None
            for event in own:
                at = event.at.astimezone(UTC)
                if current is not None and at > current.start and period.ends_on(event):
                    current.end, current.end_event = at, event
                    current = None
                elif (
                    current is None
                    and period.starts_on(event)
                    and (in_force is None or in_force(routine, at))
                ):
                    current = PeriodEntry(routine, period, at, as_of, start_event=event)
                    out.append(current)
    out.sort(key=lambda p: p.start)
    return out
