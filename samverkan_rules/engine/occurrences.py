"""Which schedule occurrences were called off: one evaluation's view, built from its events.

A schedule may declare ``cancelled_by`` (``vc_meeting.cancelled`` with the meeting's date):
such an event, in any case, calls off the occurrence on that date when it happens before
it. :class:`CalledOff` holds, per schedule and occurrence date, the earliest such event;
the replay passes it to every deadline anchored on a schedule, and the schedule's own
occurrences (:func:`schedule_ticks`, the events that stand for them in the units' cases)
run their periods from the last occurrence that was held; :func:`next_occurrence` says when
the next one comes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Final

from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.compile.schedules import CalledOffOccurrences, CompiledSchedule
from samverkan_rules.compile.versions import Window
from samverkan_rules.engine.replay import TICK_PREFIX
from samverkan_rules.errors import CalendarError
from samverkan_rules.events.model import Event
from samverkan_rules.time.instants import format_rfc3339, local_date, start_of_day

_LOOKAHEAD_DAYS: Final = 62
"""Longer than any schedule's period, so the current period's occurrence is always found."""


def cancelling_types(routines: Iterable[CompiledRoutine]) -> frozenset[str]:
    """The event types that may call off an occurrence of some schedule."""
    return frozenset(
        event_type
        for r in routines
        for schedule in r.schedules.values()
        for event_type, _condition, _field in schedule.cancels
    )


class CalledOff:
    """The called-off occurrences an evaluation knows of (implements
    :class:`~samverkan_rules.compile.schedules.CalledOffOccurrences`).

    Build it with :meth:`collect` from every admitted event of :func:`cancelling_types`
    (from all cases); it does not change afterwards, so cases can be evaluated in any order.
    """

    __slots__ = ("_earliest",)

    def __init__(self) -> None:
        self._earliest: dict[str, dict[date, tuple[datetime, Event]]] = {}

    @classmethod
    def collect(cls, routines: Iterable[CompiledRoutine], events: Iterable[Event]) -> CalledOff:
        """The occurrences ``events`` call off in any schedule of ``routines``."""
        out = cls()
        schedules = [s for r in routines for s in r.schedules.values() if s.cancels]
        if not schedules:
            return out
        for event in events:
            for schedule in schedules:
                day = schedule.cancelled_day(event)
                if day is None:
                    continue
                by_day = out._earliest.setdefault(schedule.key, {})
                known = by_day.get(day)
                if known is None or event.order_key < known[1].order_key:
                    by_day[day] = (event.utc, event)
        return out

    def __bool__(self) -> bool:
        return bool(self._earliest)

    def by(self, schedule: CompiledSchedule, occurrence: datetime) -> Event | None:
        """The event that called ``occurrence`` off (the earliest, before it), or None."""
        found = self._earliest.get(schedule.key, {}).get(local_date(occurrence, schedule.tz))
        if found is None or found[0] >= occurrence:
            return None
        return found[1]

    def includes(
        self, schedule: CompiledSchedule, occurrence: datetime, known_at: datetime
    ) -> bool:
        """True when an event at or before ``known_at`` (and before the occurrence) called
        ``occurrence`` off."""
        event = self.by(schedule, occurrence)
        return event is not None and event.utc <= known_at


def _periods(
    schedule: CompiledSchedule,
    occurrences: Sequence[datetime],
    called_off: CalledOffOccurrences | None,
    as_of: datetime,
) -> Iterator[tuple[datetime, datetime, datetime]]:
    """(previous occurrence, last held occurrence, occurrence) for each occurrence after
    the first. The last held one is the latest earlier occurrence not called off according
    to ``called_off`` (the previous one when none of those in view was held)."""
    last_held: datetime | None = None
    for prev, cur in pairwise(occurrences):
        if (
            called_off is None
            or not schedule.cancels
            or not called_off.includes(schedule, prev, as_of)
        ):
            last_held = prev
        yield prev, (last_held if last_held is not None else prev), cur


def schedule_ticks(
    routines: tuple[CompiledRoutine, ...],
    windows: Mapping[tuple[str, str], Window],
    earliest: datetime | None,
    as_of: datetime,
    called_off: CalledOffOccurrences | None = None,
) -> dict[str, list[Event]]:
    """The occurrences of every triggering schedule, as events in their units' cases.

    An occurrence's event happens when its period begins (the previous occurrence, or the
    day the routine version comes into force), so the obligation is open for the whole
    period. When the previous occurrence was called off (according to ``called_off``), the event
    also carries ``held_since``, the last occurrence held: an event since then that would
    have cancelled the obligation still does (a question that waited for the called-off
    meeting is still waiting). Occurrences run up to the first one whose period has begun
    by ``as_of``. Each carries ``not_before``: an obligation due before it is not raised,
    because the routine was not yet in force or the events do not reach back that far
    (``earliest``, the earliest usable event, or ``as_of`` when that is earlier).
    """
    out: dict[str, list[Event]] = {}
    for routine in routines:
        if not routine.ticking:
            continue
        tz = routine.tz
        window = windows[(routine.id, routine.version)]
        as_of_day = local_date(as_of, tz)
        covered = min(local_date(earliest, tz), as_of_day) if earliest is not None else as_of_day
        key = routine.key
        for name in routine.ticking:
            schedule = routine.schedules[name]
            begins: date = max(window.first, schedule.starts or window.first)
            in_force = start_of_day(begins, tz).astimezone(UTC)
            not_before = format_rfc3339(start_of_day(max(begins, covered), tz))
            first = max(begins, covered - timedelta(days=_LOOKAHEAD_DAYS))
            end = as_of_day + timedelta(days=_LOOKAHEAD_DAYS)
            if window.last is not None:
                end = min(end, window.last)
            if first > end:
                continue
            occurrences = schedule.occurrences(first - timedelta(days=_LOOKAHEAD_DAYS), end)
            for prev, last_held, cur in _periods(schedule, occurrences, called_off, as_of):
                if prev > as_of:
                    break
                if local_date(cur, tz) < first:
                    continue
                local = schedule.local(cur)
                data = {
                    "date": local.date().isoformat(),
                    "time": local.strftime("%H:%M"),
                    "occurrence": format_rfc3339(local),
                    "schedule": name,
                    "routine": key,
                    "not_before": not_before,
                }
                if last_held != prev and last_held >= in_force:
                    # The previous occurrence was called off: what happened since the last
                    # one held still counts for this one (a question waiting for a meeting).
                    data["held_since"] = format_rfc3339(schedule.local(last_held))
                for unit in schedule.units:
                    out.setdefault(unit, []).append(
                        Event(
                            id=f"{schedule.occurrence_name(cur)}:{unit}",
                            case=unit,
                            type=f"{TICK_PREFIX}{name}",
                            at=max(prev, in_force),
                            data=dict(data),
                        )
                    )
    return out


def next_occurrence(
    routines: Sequence[CompiledRoutine], windows: Mapping[tuple[str, str], Window], as_of: datetime
) -> datetime | None:
    """The first instant after ``as_of`` at which a schedule raises obligations in its
    units' cases: an occurrence (which begins the next one's period, see the tick events
    above), or a schedule coming into force. None when no schedule has one ahead.

    Waking there is enough for the units' cases: a called-off occurrence only moves which
    instants count, never adds one between two occurrences.
    """
    soonest: datetime | None = None
    for routine in routines:
        if not routine.ticking:
            continue
        tz = routine.tz
        window = windows[(routine.id, routine.version)]
        for name in routine.ticking:
            schedule = routine.schedules[name]
            begins = max(window.first, schedule.starts or window.first)
            candidates = [start_of_day(begins, tz).astimezone(UTC)]
            # None when the plan (or the calendar) ends before then.
            with contextlib.suppress(CalendarError):
                candidates.append(schedule.next_after(as_of))
            for moment in candidates:
                inside = window.last is None or local_date(moment, tz) <= window.last
                if moment > as_of and inside and (soonest is None or moment < soonest):
                    soonest = moment
    return soonest
