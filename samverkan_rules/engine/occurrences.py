"""Which schedule occurrences were called off: one evaluation's view, built from its events.

A schedule may declare ``cancelled_by`` (``vc_meeting.cancelled`` with the meeting's date):
such an event, in any case, calls off the occurrence on that date when it happens before
it. :class:`CalledOff` holds, per schedule and occurrence date, the earliest such event;
the replay passes it to every deadline anchored on a schedule, and the schedule's own
occurrences (:func:`~samverkan_rules.engine.replay.schedule_ticks`) run their periods from
the last occurrence that was held.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.compile.schedules import CompiledSchedule
from samverkan_rules.events.model import Event
from samverkan_rules.time.instants import local_date


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
