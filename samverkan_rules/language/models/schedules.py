"""Schedules: recurring occurrences (every Tuesday 13.30, odd weeks), the events that call an
occurrence off, and the units a schedule runs for.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from samverkan_rules.diagnostics import N_
from samverkan_rules.language.models.base import (
    EventType,
    FieldSpec,
    Identifier,
    Model,
    _in_supported_range,
)
from samverkan_rules.language.models.conditions import Condition

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class OccurrenceCancel(Model):
    """An event that cancels one occurrence of a schedule (a meeting called off).

    The event may be logged in any case (the planner logs it in the unit's case); it
    cancels the occurrence on the local date its ``date`` field names, when it happens
    before that occurrence. A deadline anchored on the schedule (``at: schedule.<name>``,
    ``after: schedule.<name>``) for a trigger after the cancellation skips the cancelled
    occurrence and takes the next one that is held; the period of an occurrence raised by
    the schedule (``when: {schedule: ...}``) runs from the last occurrence held before it.
    """

    event: Identifier
    """The event type, e.g. ``vc_meeting.cancelled``."""
    if_: Condition | None = Field(default=None, alias="if")
    """A condition on the event's data (which schedule it is about, say)."""
    date: Annotated[str, Field(pattern=r"^data\.[a-z][a-z0-9_]*$")]
    """The event's date field naming the cancelled occurrence's local date, e.g.
    ``data.date``."""


_PLANNED = r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?$"


def planned_occurrence(text: str) -> tuple[dt.date, dt.time | None]:
    """A planned occurrence as written in ``dates``: its day, and its time when it has one.

    Raises:
        ValueError: for a day or time that does not exist (``2027-02-30``, ``25:00``).

    Examples:
        >>> planned_occurrence("2027-02-11 13:30")
        (datetime.date(2027, 2, 11), datetime.time(13, 30))
        >>> planned_occurrence("2027-02-11")
        (datetime.date(2027, 2, 11), None)
    """
    day, _, clock = text.partition(" ")
    return dt.date.fromisoformat(day), dt.time.fromisoformat(clock) if clock else None


class Schedule(Model):
    """Recurring occurrences: a weekly meeting, the end of each month, a planned list.

    ``every: week`` needs ``weekday`` and ``time`` ("varje tisdag kl 13.30"); ``iso_weeks:
    odd`` keeps odd ISO week numbers only ("ojämn vecka"; 2026 has a week 53, so weeks 53
    and 1 are both odd). ``every: month_end`` occurs on each month's last day, at ``time``
    or the end of the day. ``every: dates`` occurs on each day of ``dates`` (a committee's
    sammanträdesplan): a date alone takes ``time`` (or the end of the day), a date with a
    time (``2027-02-11 13:30``) keeps its own. The dates may stand in a plan file of their
    own (``plan``), the way the committee adopts them.
    """

    label: str
    every: Literal["week", "month_end", "dates"]
    dates: list[Annotated[str, Field(pattern=_PLANNED)]] = []
    """For ``every: dates``: each planned occurrence, ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM``
    (local time), each day once; the plan for a year is written as the committee adopts
    it. After the last one the schedule has no occurrence, so a deadline that needs the
    next one cannot be placed until the next plan is added."""
    plan: str | None = None
    """For ``every: dates``, instead of ``dates``: the plan file that holds them, relative to
    the file that writes the key (``plans/socialnamnden-2027.yaml``: a mapping with
    ``dates`` and, to say what it is, ``title`` and ``adopted``). Its dates are checked as if
    written here, and its text is part of the routine version."""
    weekday: Weekday | None = None
    time: dt.time | None = None
    """Local wall-clock time of the occurrence, right across daylight-saving changes."""
    duration_minutes: int | None = Field(default=None, ge=1)
    iso_weeks: Literal["all", "odd", "even"] = "all"
    starts: dt.date | None = None
    """First day the schedule runs; default the routine's valid_from."""
    on_non_working_day: Literal["keep", "skip", "next_working_day", "previous_working_day"] = "keep"
    """What happens to an occurrence that falls on a non-working day."""
    units: list[Identifier] = Field(min_length=1)
    """The units (cases) the schedule runs for, e.g. each day-care unit; obligations
    raised by the schedule belong to these cases."""
    cancelled_by: list[OccurrenceCancel] = []
    """Events that call one occurrence off (see :class:`OccurrenceCancel`)."""

    _starts_in_range = field_validator("starts")(_in_supported_range)

    @model_validator(mode="after")
    def _shape(self) -> Schedule:
        if self.every == "week" and (self.weekday is None or self.time is None):
            raise ValueError(N_("a weekly schedule needs 'weekday' and 'time', e.g. tuesday 13:30"))
        if self.every == "month_end" and self.weekday is not None:
            raise ValueError(N_("'weekday' does not apply to 'every: month_end'"))
        if self.every != "week" and self.iso_weeks != "all":
            raise ValueError(N_("'iso_weeks' applies to weekly schedules only"))
        if self.every == "dates":
            if not self.dates:
                raise ValueError(N_("'every: dates' needs 'dates', e.g. ['2027-01-14 13:30']"))
            if self.weekday is not None:
                raise ValueError(N_("'weekday' does not apply to 'every: dates'"))
        elif self.dates or self.plan is not None:
            raise ValueError(N_("'dates' and 'plan' apply to 'every: dates' only"))
        return self

    @field_validator("dates")
    @classmethod
    def _planned_once(cls, dates: list[str]) -> list[str]:
        """Each planned day exists and is planned once (located at ``dates``, in the file
        that wrote them)."""
        seen: dict[dt.date, str] = {}
        for text in dates:
            try:
                day, _ = planned_occurrence(text)
            except ValueError:
                raise ValueError(
                    N_("{text} is not a day and time that exist", text=repr(text))
                ) from None
            if day in seen:
                raise ValueError(
                    N_(
                        "{text}: the plan has {value} on the same day already",
                        text=repr(text),
                        value=repr(seen[day]),
                    )
                )
            seen[day] = text
            _in_supported_range(day)
        return dates


def schedule_event_type(schedule: Schedule) -> EventType:
    """The event type a schedule's occurrences behave as (``schedule.<name>``)."""
    return EventType(
        label=schedule.label,
        description="An occurrence of a schedule (made by the engine, never posted).",
        fields={
            "date": FieldSpec(type="date", required=True, description="The occurrence's day."),
            "time": FieldSpec(type="time", description="Its local time, when it has one."),
            "occurrence": FieldSpec(type="datetime", required=True, description="Its instant."),
            "schedule": FieldSpec(type="string", required=True),
            "routine": FieldSpec(type="string", description="The routine version it ran for."),
            "not_before": FieldSpec(
                type="datetime",
                description="Obligations due before this are not raised (routine not yet in "
                "force, or before the events begin).",
            ),
        },
        unit_level=True,
    )


class Unit(Model):
    """A unit whose obligations are evaluated over a set of cases (e.g. a day-care unit)."""

    label: str
    description: str | None = None
