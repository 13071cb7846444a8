"""Compiled schedules: the weekly and odd/even-week occurrences of a routine's meetings, and
which of them were called off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from samverkan_rules.compile.conditions import _NO_FACTS, Predicate, compile_condition
from samverkan_rules.errors import CalendarError
from samverkan_rules.events.model import Event
from samverkan_rules.language.models.schedules import Schedule, planned_occurrence
from samverkan_rules.time.calendar import (
    WEEKDAYS,
    WorkingCalendar,
    end_of_month,
    iso_week_parity,
)
from samverkan_rules.time.instants import (
    end_of_day,
    format_rfc3339,
    local_date,
    local_datetime,
)


class CompiledSchedule:
    """A compiled :class:`Schedule`: its occurrences as instants, with the routine's calendar.

    Occurrences are wall-clock times in the routine's time zone, so "tisdag 13.30" is 13:30
    both in winter (+01:00) and in summer (+02:00).
    """

    __slots__ = ("_calendar", "_planned", "_spec", "_tz", "cancels", "key", "label", "name")

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
        self._planned: dict[date, time | None] = dict(
            sorted(planned_occurrence(text) for text in spec.dates)
        )
        """``every: dates``: each planned day, in order, with its own time when it has one."""
        self._tz = tz
        self._calendar = calendar
        self.cancels: tuple[tuple[str, Predicate, str], ...] = tuple(
            (c.event, compile_condition(c.if_, tz=tz, calendar=calendar), c.date.partition(".")[2])
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
        if spec.every == "dates":
            for day in self._planned:
                if first <= day <= last:
                    yield day
        elif spec.every == "week":
            target = WEEKDAYS.index(spec.weekday or "monday")
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

    def _instant(self, day: date, planned: date) -> datetime:
        clock = self._planned.get(planned) if self._planned else None
        if clock is not None:  # a planned occurrence with its own time
            return local_datetime(day, clock, self._tz).astimezone(UTC)
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
                out.append(self._instant(placed, day))
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
        if self._planned:
            last = next(reversed(self._planned)).isoformat()
            raise CalendarError(
                f"schedule {self.name!r} has no planned occurrence after "
                f"{moment.isoformat()} (its plan ends on {last}); add the next plan's dates"
            )
        raise CalendarError(f"schedule {self.name!r} has no occurrence after {moment.isoformat()}")

    def occurrence_name(self, occurrence: datetime) -> str:
        """The stable name of an occurrence: ``<schedule>@<local RFC 3339 time>``."""
        return f"{self.name}@{format_rfc3339(occurrence.astimezone(self._tz))}"

    def local(self, occurrence: datetime) -> datetime:
        """An occurrence in local time."""
        return occurrence.astimezone(self._tz)


class CalledOffOccurrences(Protocol):
    """Which occurrences of the schedules were called off, as an evaluation knows them."""

    def includes(
        self, schedule: CompiledSchedule, occurrence: datetime, known_at: datetime
    ) -> bool:
        """True when an event at or before ``known_at`` called ``occurrence`` off."""
        ...
