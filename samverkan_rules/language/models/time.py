"""Time in a routine: a deadline or an opening as an offset from an anchor, and composites
(the later or earlier of several).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar

from pydantic import (
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from samverkan_rules.diagnostics import N_
from samverkan_rules.language.models.base import Model, NonWorkingDayPolicy

MAX_DISTANCE: dict[str, int] = {
    "working_days": 2_500,
    "days": 3_653,
    "weeks": 522,
    "months": 120,
    "hours": 87_672,
    "minutes": 5_260_320,
}


"""The longest distance a deadline, opening or escalation may name, per unit: about ten
years. The calendar covers 1990-2100, so a longer distance could not be placed for most
triggers (every one would become an event error and its obligation would vanish)."""


ANCHOR = r"^trigger$|^data\.[a-z0-9_]+$|^schedule\.[a-z0-9_.-]+$"


class TimeSpec(Model):
    """A point in time relative to the trigger event or a date in its data.

    Exactly one of ``before``, ``after`` or ``at`` names the anchor: ``trigger`` (when the
    trigger event happened), ``data.<field>`` (a date or timestamp in its data) or
    ``schedule.<name>`` (the schedule's first occurrence after the trigger). With
    ``before``/``after``, exactly one of ``working_days``, ``days``, ``weeks``, ``months``,
    ``hours`` or ``minutes`` gives the distance. Day-based results end at the end of the
    local day (or at ``time``); a working-day result is always a working day.
    """

    before: str | None = Field(default=None, pattern=ANCHOR)
    after: str | None = Field(default=None, pattern=ANCHOR)
    at: str | None = Field(default=None, pattern=ANCHOR)
    working_days: int | None = Field(default=None, ge=1, le=MAX_DISTANCE["working_days"])
    """'senast N vardagar innan': count N working days back from the day before the anchor."""
    days: int | None = Field(default=None, ge=0, le=MAX_DISTANCE["days"])
    weeks: int | None = Field(default=None, ge=0, le=MAX_DISTANCE["weeks"])
    months: int | None = Field(default=None, ge=0, le=MAX_DISTANCE["months"])
    """Calendar months; a day past the month's end is clamped to it (30 Nov + 3 = 28 Feb)."""
    hours: int | None = Field(default=None, ge=0, le=MAX_DISTANCE["hours"])
    minutes: int | None = Field(default=None, ge=0, le=MAX_DISTANCE["minutes"])
    time: dt.time | None = None
    """Local time of day for a day-based result; default end of day for a deadline and
    start of day for an opening time."""
    on_non_working_day: NonWorkingDayPolicy | None = None
    """Overrides the calendar's policy for this calendar-day distance."""

    @model_validator(mode="after")
    def _shape(self) -> TimeSpec:
        anchors = [k for k in ("before", "after", "at") if getattr(self, k) is not None]
        if len(anchors) != 1:
            raise ValueError(
                N_("give exactly one of 'before', 'after' or 'at' (e.g. 'before: data.start_date')")
            )
        units = [u for u in self.UNITS if getattr(self, u) is not None]
        if anchors[0] == "at" and units:
            raise ValueError(
                N_("'at' takes no distance; use 'after' with '{value}'", value=units[0])
            )
        if anchors[0] != "at" and len(units) != 1:
            raise ValueError(
                N_("give exactly one distance: working_days, days, weeks, months, hours or minutes")
            )
        if units and units[0] in ("hours", "minutes") and self.time is not None:
            raise ValueError(N_("'time' applies to day-based distances, not hours or minutes"))
        return self

    UNITS: ClassVar[tuple[str, ...]] = (
        "working_days",
        "days",
        "weeks",
        "months",
        "hours",
        "minutes",
    )

    @property
    def anchor(self) -> str:
        """The anchor path (``trigger`` or ``data.<field>``)."""
        return self.before or self.after or self.at or "trigger"

    @property
    def unit(self) -> str | None:
        """The distance's unit, or None for ``at``."""
        return next((u for u in self.UNITS if getattr(self, u) is not None), None)

    @property
    def amount(self) -> int:
        """The signed distance: negative for ``before``."""
        unit = self.unit
        if unit is None:
            return 0
        value = int(getattr(self, unit))
        return -value if self.before is not None else value


class CompositeTime(Model):
    """The later or the earlier of several times, each any time form (composites nest).

    ``later_of`` ("24 hours after admission, but at least 4 hours after the need was
    assessed") is the latest of its parts, ``earlier_of`` the earliest; give exactly one,
    with at least two parts. ``explain`` shows each part's steps and which one was chosen.
    """

    later_of: list[TimeForm] | None = Field(default=None, min_length=2)
    """The latest of these times."""
    earlier_of: list[TimeForm] | None = Field(default=None, min_length=2)
    """The earliest of these times."""

    @model_validator(mode="after")
    def _one(self) -> CompositeTime:
        if (self.later_of is None) == (self.earlier_of is None):
            raise ValueError(N_("give exactly one of 'later_of' or 'earlier_of', each a list"))
        return self

    @property
    def parts(self) -> list[TimeForm]:
        """The times compared."""
        return self.later_of if self.later_of is not None else (self.earlier_of or [])

    @property
    def later(self) -> bool:
        """True for ``later_of``."""
        return self.later_of is not None

    @property
    def unit(self) -> str | None:
        """The first part's unit (what lateness follows with ``deadline_unit``)."""
        return self.parts[0].unit

    def leaves(self) -> list[TimeSpec]:
        """Every plain time spec inside, depth first."""
        out: list[TimeSpec] = []
        for part in self.parts:
            out.extend(part.leaves() if isinstance(part, CompositeTime) else [part])
        return out


def _time_tag(value: Any) -> str:
    # Tags hold a '-' so error paths never mistake them for a document key ('time' is one).
    if isinstance(value, dict):
        composite = "later_of" in value or "earlier_of" in value
        return "composite-time" if composite else "time-spec"
    return "composite-time" if isinstance(value, CompositeTime) else "time-spec"


TimeForm = Annotated[
    Annotated[TimeSpec, Tag("time-spec")] | Annotated[CompositeTime, Tag("composite-time")],
    Discriminator(_time_tag),
]


"""A time: one anchor and distance, or ``later_of`` / ``earlier_of`` a list of times."""


def time_leaves(spec: TimeForm | None) -> list[TimeSpec]:
    """The plain time specs of a time form (itself, or every part of a composite)."""
    if spec is None:
        return []
    return spec.leaves() if isinstance(spec, CompositeTime) else [spec]


class Offset(Model):
    """A distance after a point in time (used by escalation)."""

    working_days: int | None = Field(default=None, ge=0, le=MAX_DISTANCE["working_days"])
    days: int | None = Field(default=None, ge=0, le=MAX_DISTANCE["days"])
    hours: int | None = Field(default=None, ge=0, le=MAX_DISTANCE["hours"])

    @model_validator(mode="after")
    def _one(self) -> Offset:
        given = [k for k in ("working_days", "days", "hours") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(N_("give exactly one of working_days, days or hours"))
        return self
