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


class Schedule(Model):
    """Recurring occurrences: a weekly meeting, the end of each month.

    ``every: week`` needs ``weekday`` and ``time`` ("varje tisdag kl 13.30"); ``iso_weeks:
    odd`` keeps odd ISO week numbers only ("ojämn vecka"; 2026 has a week 53, so weeks 53
    and 1 are both odd). ``every: month_end`` occurs on each month's last day, at ``time``
    or the end of the day.
    """

    label: str
    every: Literal["week", "month_end"]
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
            raise ValueError("a weekly schedule needs 'weekday' and 'time', e.g. tuesday 13:30")
        if self.every == "month_end" and self.weekday is not None:
            raise ValueError("'weekday' does not apply to 'every: month_end'")
        if self.every == "month_end" and self.iso_weeks != "all":
            raise ValueError("'iso_weeks' applies to weekly schedules only")
        return self


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
