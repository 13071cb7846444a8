"""The routine language: pydantic models that are the single source of the JSON Schema.

A routine file is one YAML mapping validated against :class:`Routine`. The models check
structure and local consistency (one operator per comparison, one anchor per time
specification); the loader then checks meaning across the document (every role, channel,
event type, field and fact a rule names must be declared). ``schemas/routine.schema.json``
is generated from these models by ``samverkan schema``; a test fails when it is stale.

Every model refuses unknown keys: a routine must not silently lose a clause.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from samverkan_rules.calendar import (
    SUPPORTED_FIRST_DAY,
    SUPPORTED_LAST_DAY,
    SUPPORTED_RANGE,
    zone_problem,
)


def _in_supported_range(value: dt.date | None) -> dt.date | None:
    """A validity or schedule date the working-day calendar can place, or a located error."""
    if value is not None and not SUPPORTED_FIRST_DAY <= value <= SUPPORTED_LAST_DAY:
        raise PydanticCustomError(
            "date_range",
            "{message}",
            {
                "hint": "the working-day calendar covers those years only; write a date "
                "inside them",
                "message": f"{value.isoformat()} is outside the supported range {SUPPORTED_RANGE}",
            },
        )
    return value


# Lower-case words joined by '-', '_' or '.', e.g. 'start-message'. No description here:
# it would replace each field's own description in the JSON Schema editors show.
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$")]
Scalar = str | int | float | bool | None

ActionKind = Literal[
    "send_message",
    "make_contact",
    "book_meeting",
    "hold_meeting",
    "cancel_meeting",
    "send_notes",
    "comment",
    "document",
    "acknowledge",
    "reply",
    "report",
    "forward",
    "inform",
    "obtain_consent",
    "confirm_consent",
    "call_emergency",
    "assess",
    "escalate",
    "offer_place",
    "update_record",
]
"""What the responsible role must do. ``escalate`` is also what breach escalation emits."""

BUILTIN_ACTION_KINDS: frozenset[str] = frozenset(ActionKind.__args__)  # type: ignore[attr-defined]
"""The action kinds every routine knows; a routine may declare more (``action_kinds``)."""

KindName = ActionKind | Identifier
"""A built-in action kind, or one the routine declares under ``action_kinds``."""

FieldType = Literal[
    "string",
    "date",
    "datetime",
    "time",
    "boolean",
    "integer",
    "number",
    "enum",
    "role",
    "roles",
    "event",
    "object",
    "list",
]

NonWorkingDayPolicy = Literal["keep", "next_working_day", "previous_working_day"]

LateUnit = Literal["hours", "days", "working_days"]
"""The unit in which a rule's lateness is worded: elapsed hours, calendar days or vardagar."""


class Model(BaseModel):
    """Base of every routine model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        coerce_numbers_to_str=True,
        use_attribute_docstrings=True,
    )


# --------------------------------------------------------------------------- metadata


class SourceDocument(Model):
    """The document the routine encodes."""

    title: str
    """The document's own title, as written."""
    file: str
    """The source document's text (UTF-8), as a path relative to the routine file, e.g.
    '../../shared/seeds/000_b1cb92283908633f.txt'. `samverkan validate` checks every quote
    against it; `--sources DIR` also looks for it (or its bare file name) in DIR."""
    url: str | None = None
    """Where the published document can be read, if anywhere."""


class DocumentRecord(Model):
    """The source document's record of itself, kept exactly as written (never computed with).

    A date here may be wrong in the source (one document says it was established
    '2024-02-98'); it is kept as text and the loader warns about it.
    """

    established: str | None = None
    """When the document says it was established (upprättad / fastställd)."""
    revised: str | None = None
    """When it says it was last revised."""
    next_review: str | None = None
    """When it says it is next to be reviewed or followed up."""
    edition: str | None = None
    """Its edition or version label (utgåva / version)."""
    decided_by: str | None = None
    """Who decided it (fastställd av / beslutande)."""


class RoutineRef(Model):
    """A reference to one version of a routine."""

    id: Identifier
    version: str


class Interpretation(Model):
    """A local choice where the source text leaves something open."""

    reason: str
    """Why this reading was chosen, in words an auditor can check against the source."""
    text: str | None = None
    """The open words of the source, e.g. 'snarast' or 'cirka sex månader'."""


class Source(Model):
    """The part of the source document a rule encodes."""

    section: str
    """The heading of the section, as written."""
    quote: str
    """A short verbatim quote of the words the rule encodes."""


# --------------------------------------------------------------------------- calendar, roles


class CalendarSpec(Model):
    """How time is counted in this routine."""

    time_zone: str = "Europe/Stockholm"
    """IANA time zone in which the routine's wall-clock times are read."""
    working_days: Literal["sweden"] = "sweden"
    """'sweden': Monday to Friday except public holidays and midsommar-, jul- and
    nyårsafton, as in lag (1930:173) om beräkning av lagstadgad tid."""
    closed_days: list[dt.date] = Field(default_factory=list)
    """Extra days this routine treats as non-working (e.g. a unit's closed days)."""
    deadline_on_non_working_day: NonWorkingDayPolicy = "keep"
    """For deadlines counted in calendar days, weeks or months: what happens when one
    falls on a non-working day. Working-day deadlines always land on working days."""
    late_in: Literal["working_days", "deadline_unit", "days", "hours"] = "working_days"
    """The unit lateness is worded in for rules that give no 'late_in' of their own:
    'deadline_unit' takes it from each rule's deadline (hours and minutes: hours; calendar
    days, weeks and months: days; working days: working days). The default,
    'working_days', words every rule's lateness in vardagar."""

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        problem = zone_problem(value)
        if problem is not None:
            message, hint = problem
            # The message goes in as a value, never as the template, so braces in the
            # name stay as written ("hint" first: values are filled in in order).
            raise PydanticCustomError("time_zone", "{message}", {"hint": hint, "message": message})
        return value


class Reachability(Model):
    """When a role can be reached directly."""

    days: Literal["working_days", "weekdays", "every_day"] = "working_days"
    """On which days: 'working_days' is what a Swedish document means by "vardagar" (Monday
    to Friday except public holidays and midsommar-, jul- and nyårsafton, lag (1930:173),
    and the routine's closed days); 'weekdays' is Monday to Friday, holidays included;
    'every_day' is every day of the week."""
    from_: dt.time = Field(alias="from")
    """Local time from which the role is reachable, e.g. '07:30'."""
    to: dt.time
    """Local time until which the role is reachable, e.g. '15:00'."""
    otherwise: str | None = None
    """What happens outside these hours, e.g. 'Röstbrevlåda'."""

    @model_validator(mode="after")
    def _ordered(self) -> Reachability:
        if self.to <= self.from_:
            raise ValueError(f"'to' ({self.to}) must be later than 'from' ({self.from_})")
        return self


class Role(Model):
    """Someone who acts in the routine."""

    label: str
    """Swedish label as the document names the role."""
    unit: str
    """The unit (verksamhet) the role belongs to."""
    channels: list[Identifier] = Field(default_factory=list)
    """Channels through which the role is reached."""
    reachable: list[Reachability] = Field(default_factory=list)
    """When the role can be reached directly; empty when the document says nothing."""
    reports_to: Identifier | None = None
    """The role one level up in the organisation (used by escalation)."""
    description: str | None = None


class Channel(Model):
    """How a message or contact travels. Never store passwords, PINs or room codes here."""

    label: str
    kind: Literal["mailbox", "message", "phone", "meeting", "emergency", "journal", "email"]
    system: str | None = None
    """The system that carries it, e.g. 'Treserva', 'Lifecare', 'Prator'."""
    where_to_find: str | None = None
    """Where staff find the address, number or access details (not the details themselves)."""


# --------------------------------------------------------------------------- event types, facts


class FieldSpec(Model):
    """A field of an event's ``data``."""

    type: FieldType
    required: bool = False
    values: list[str] | None = None
    """The allowed values of an 'enum' field."""
    description: str | None = None

    @model_validator(mode="after")
    def _enum_values(self) -> FieldSpec:
        if self.type == "enum" and not self.values:
            raise ValueError("an 'enum' field needs 'values', the list of allowed values")
        if self.type != "enum" and self.values is not None:
            raise ValueError(f"'values' only applies to 'enum' fields, not '{self.type}'")
        return self


class EventType(Model):
    """A kind of fact about a case, with the fields of its ``data``."""

    label: str
    description: str | None = None
    fields: dict[Identifier, FieldSpec] = Field(default_factory=dict)
    unit_level: bool = False
    """True when events of this type concern a unit rather than one person's case."""


class Vocabulary(Model):
    """A shared set of event types that routines use."""

    id: Identifier
    version: str
    event_types: dict[Identifier, EventType]


# --------------------------------------------------------------------------- conditions

FIELD_PATH = r"^data\.[a-z0-9_]+(\.[a-z0-9_]+)*$|^(fact|at)\.[a-z0-9_]+$|^(case|type)$"

EVENT_TIME_FIELDS: dict[str, FieldSpec] = {
    "local_time": FieldSpec(
        type="time", description="The event's local wall-clock time, e.g. '12:00'."
    ),
    "local_date": FieldSpec(type="date", description="The event's local calendar date."),
    "weekday": FieldSpec(
        type="enum",
        values=["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
        description="The event's local day of the week.",
    ),
}
"""What ``at.<name>`` reads of an event's own instant, in the routine's time zone."""


class Comparison(Model):
    """Compare one field with a value: exactly one operator per comparison.

    ``field`` is ``data.<name>`` (the event's data; ``data.<name>.<part>`` reads into an
    'object' field, e.g. ``data.content.prel_datum``), ``fact.<name>`` (a case fact as it
    stands when the event is handled), ``case``, ``type``, or the event's own time in the
    routine's time zone: ``at.local_time`` ('12:00'), ``at.local_date`` (an ISO date) or
    ``at.weekday`` ('monday' ... 'sunday').
    """

    field: str = Field(pattern=FIELD_PATH)
    equals: Scalar = None
    not_equals: Scalar = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    gt: float | str | None = None
    gte: float | str | None = None
    lt: float | str | None = None
    lte: float | str | None = None
    exists: bool | None = None
    contains: Scalar = None
    """True when the field is a list holding this value (e.g. a message's 'to')."""

    @model_validator(mode="after")
    def _one_operator(self) -> Comparison:
        ops = self.operators()
        if len(ops) != 1:
            allowed = "equals, not_equals, in, not_in, gt, gte, lt, lte, exists, contains"
            got = ", ".join(ops) if ops else "none"
            raise ValueError(f"a comparison needs exactly one operator ({allowed}); got {got}")
        return self

    def operators(self) -> list[str]:
        """The operator keys written in the document."""
        return [
            ("in" if name == "in_" else name)
            for name in type(self).model_fields
            if name != "field" and name in self.model_fields_set
        ]


class AllOf(Model):
    """True when every condition holds."""

    all: list[Condition] = Field(min_length=1)


class AnyOf(Model):
    """True when at least one condition holds."""

    any: list[Condition] = Field(min_length=1)


class NotOf(Model):
    """True when the condition does not hold."""

    not_: Condition = Field(alias="not")


def _condition_tag(value: Any) -> str:
    if isinstance(value, dict):
        for key in ("all", "any", "not"):
            if key in value:
                return key
        return "compare"
    if isinstance(value, AllOf):
        return "all"
    if isinstance(value, AnyOf):
        return "any"
    if isinstance(value, NotOf):
        return "not"
    return "compare"


Condition = Annotated[
    Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[NotOf, Tag("not")]
    | Annotated[Comparison, Tag("compare")],
    Discriminator(_condition_tag),
]


class FactUpdate(Model):
    """An event that sets a case fact."""

    event: Identifier
    if_: Condition | None = Field(default=None, alias="if")
    value: Scalar = True
    """The value the fact takes (ignored when 'value_from' is given)."""
    value_from: str | None = Field(default=None, pattern=r"^data\.[a-z0-9_]+$")
    """Take the value from a field of the event, e.g. 'data.has_hemsjukvard'."""
    add: int | None = None
    """Add this to the fact's number instead (e.g. count the manager levels a deviation
    has been lifted); a fact that is not a number counts as 0."""

    @model_validator(mode="after")
    def _one_way(self) -> FactUpdate:
        if self.add is not None and self.value_from is not None:
            raise ValueError("give either 'add' or 'value_from', not both")
        return self


class Fact(Model):
    """Something true of a case that events set and conditions read (e.g. consent)."""

    label: str
    default: Scalar = None
    set_by: list[FactUpdate] = Field(min_length=1)


# --------------------------------------------------------------------------- time


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
                "give exactly one of 'before', 'after' or 'at' (e.g. 'before: data.start_date')"
            )
        units = [u for u in self.UNITS if getattr(self, u) is not None]
        if anchors[0] == "at" and units:
            raise ValueError(f"'at' takes no distance; use 'after' with '{units[0]}'")
        if anchors[0] != "at" and len(units) != 1:
            raise ValueError(
                "give exactly one distance: working_days, days, weeks, months, hours or minutes"
            )
        if units and units[0] in ("hours", "minutes") and self.time is not None:
            raise ValueError("'time' applies to day-based distances, not hours or minutes")
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
            raise ValueError("give exactly one of 'later_of' or 'earlier_of', each a list")
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
            raise ValueError("give exactly one of working_days, days or hours")
        return self


# --------------------------------------------------------------------------- schedules

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


def merged_event_types(
    routine: Routine, vocabulary: dict[str, EventType] | None
) -> dict[str, EventType]:
    """The vocabulary's types with the routine's extensions, then the routine's own types.

    An extension of a type the vocabulary lacks is ignored here (the loader reports it);
    a field the type already has keeps its vocabulary definition.
    """
    types = dict(vocabulary or {})
    for name, ext in routine.extend_event_types.items():
        base = types.get(name)
        if base is not None:
            added = {k: v for k, v in ext.fields.items() if k not in base.fields}
            types[name] = base.model_copy(update={"fields": {**base.fields, **added}})
    types.update(routine.event_types)
    return types


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


# --------------------------------------------------------------------------- rules


class Trigger(Model):
    """What makes an obligation arise: an event, or each occurrence of a schedule.

    A schedule trigger raises one obligation per occurrence and unit; it behaves like an
    event of type ``schedule.<name>`` in the unit's case, happening when the occurrence's
    period begins (the previous occurrence), with data ``date`` (the occurrence's local
    date), ``time``, ``occurrence`` (its instant) and ``schedule``.
    """

    event: Identifier | None = None
    schedule: Identifier | None = None
    if_: Condition | None = Field(default=None, alias="if")
    """A condition on the event's data and the case's facts."""

    @model_validator(mode="after")
    def _one_source(self) -> Trigger:
        if (self.event is None) == (self.schedule is None):
            raise ValueError("give exactly one of 'event' or 'schedule'")
        return self

    @property
    def event_type(self) -> str:
        """The event type that triggers (``schedule.<name>`` for a schedule)."""
        return self.event if self.event is not None else f"schedule.{self.schedule}"


class EventPattern(Model):
    """Events that fulfil or cancel an obligation.

    ``match`` ties a candidate event to the trigger: each key is a field of the candidate
    (``data.<name>`` or ``case``) and each value a field of the trigger (``trigger.id``,
    ``trigger.case`` or ``trigger.data.<name>``). Only events after the trigger, in the
    same case, count.
    """

    event: Identifier
    if_: Condition | None = Field(default=None, alias="if")
    match: dict[str, str] = Field(default_factory=dict)
    any_case: bool = False
    """Let events of any case count (for unit-level obligations evaluated over a set of
    cases, e.g. a meeting to cancel when no case has a question for it)."""

    @field_validator("match")
    @classmethod
    def _match_paths(cls, value: dict[str, str]) -> dict[str, str]:
        for key, ref in value.items():
            if not (key == "case" or key.startswith("data.")):
                raise ValueError(f"match key {key!r} must be 'case' or 'data.<field>'")
            if not (ref in ("trigger.id", "trigger.case") or ref.startswith("trigger.data.")):
                raise ValueError(
                    f"match value {ref!r} must be 'trigger.id', 'trigger.case' "
                    "or 'trigger.data.<field>'"
                )
        return value


class ActionKindSpec(Model):
    """An action kind a routine adds to the built-in ones (e.g. 'receive_patient')."""

    label: str
    """What it is called in Swedish, e.g. 'Ta emot patienten'."""
    description: str | None = None


class EventTypeExtension(Model):
    """Fields a routine adds to an event type of the shared vocabulary."""

    fields: dict[Identifier, FieldSpec] = Field(min_length=1)
    """The added fields; a field the type already has cannot be redefined."""


class Action(Model):
    """What must be done, by whom, to whom, through which channel."""

    kind: KindName = Field(union_mode="left_to_right")
    """A built-in kind (send_message, make_contact, ...) or one declared under
    'action_kinds'."""
    description: str
    """One line in plain Swedish saying what to do, e.g. 'Skicka startmeddelande'."""
    responsible: Identifier
    """The role that must act, or 'fact.<name>': the person or unit a case fact names (e.g.
    'fact.fast_vardkontakt', set when one is appointed for the patient), with 'fallback'."""
    fallback: Identifier | None = None
    """With 'responsible: fact.<name>': the role responsible while the fact is unset. The
    output flags that the fallback is used."""
    acting_as: Identifier | None = None
    """With 'responsible: fact.<name>': the role the person or unit named by the fact acts
    in once it is set (its label, reports_to and escalation). Default: 'fallback'."""
    recipients: list[Identifier] = Field(default_factory=list)
    channel: Identifier | None = None
    record: str | None = None
    """For 'document': the record to write in, e.g. 'verkstallighetsjournal'."""
    content: list[str] = Field(default_factory=list)
    """What the message or entry must contain."""
    levels_up: (
        Annotated[int, Field(ge=0)] | Annotated[str, Field(pattern=r"^fact\.[a-z0-9_]+$")] | None
    ) = Field(default=None, union_mode="left_to_right")
    """Act this many levels up the 'reports_to' chain from 'responsible' and each recipient:
    a number, or 'fact.<name>' to read it from the case when the trigger happens (e.g. a
    deviation lifted one manager level per disagreement)."""

    @model_validator(mode="after")
    def _party(self) -> Action:
        if self.party_fact is not None:
            if self.fallback is None:
                raise ValueError(
                    f"'responsible: {self.responsible}' needs 'fallback', the role responsible "
                    "while the fact is unset"
                )
            if self.levels_up is not None:
                raise ValueError("'levels_up' cannot climb from a responsible named by a fact")
        elif self.fallback is not None or self.acting_as is not None:
            raise ValueError("'fallback' and 'acting_as' apply only to 'responsible: fact.<name>'")
        return self

    @property
    def party_fact(self) -> str | None:
        """The fact naming the responsible person or unit, for 'responsible: fact.<name>'."""
        if self.responsible.startswith("fact."):
            return self.responsible.partition(".")[2]
        return None

    @property
    def role(self) -> str:
        """The responsible role: 'responsible', or for a fact its 'fallback'."""
        return self.fallback if self.fallback is not None else self.responsible

    @property
    def party_role(self) -> str:
        """The role a person or unit named by the fact acts in."""
        return self.acting_as or self.role


class Escalation(Model):
    """Who steps in when an obligation is still unmet some time after its deadline.

    ``on: overdue`` (the default) escalates a breach; ``on: blocked`` escalates an
    obligation still blocked by an unmet precondition (consent still missing) that long
    after its deadline. ``within`` gives the escalation a deadline of its own.
    """

    on: Literal["overdue", "blocked"] = "overdue"
    """Which state escalates: a breached ('overdue') or a still 'blocked' obligation."""
    after: Offset
    """How long after the deadline the escalation starts."""
    within: Offset | None = None
    """The escalation's own deadline, counted from when it starts; none when absent."""
    to: Identifier | None = None
    """The role escalated to."""
    levels_up: int | None = Field(default=None, ge=1)
    """Escalate this many levels up the responsible role's 'reports_to' chain."""
    description: str

    @model_validator(mode="after")
    def _target(self) -> Escalation:
        if (self.to is None) == (self.levels_up is None):
            raise ValueError("give exactly one of 'to' (a role) or 'levels_up' (a number)")
        return self


class Rule(Model):
    """When an event matches, an obligation arises."""

    id: Identifier
    title: str
    when: Trigger
    unless: Condition | None = None
    """When this holds at the trigger, no obligation arises."""
    requires: list[Identifier] = Field(default_factory=list)
    """Preconditions (e.g. 'consent'); while one is unmet the obligation is blocked."""
    action: Action
    opens: TimeForm | None = None
    """When the obligation's window opens; default when the trigger happened."""
    deadline: TimeForm
    """When it must be done: a time, or ``later_of`` / ``earlier_of`` several."""
    fulfilled_by: list[EventPattern] = Field(min_length=1)
    cancelled_by: list[EventPattern] = Field(default_factory=list)
    escalation: list[Escalation] = Field(default_factory=list)
    source: Source
    interpretation: Interpretation | None = None
    """Set when the rule decides something the source leaves open."""
    late_in: LateUnit | None = None
    """The unit the rule's lateness is worded in (explanations, text output): 'hours',
    'days' (calendar days) or 'working_days'. Default: the calendar's 'late_in'. Every
    obligation reports its lateness in all three units whatever is chosen here."""


class Remedy(Model):
    """The action that removes a block (e.g. obtain consent)."""

    kind: KindName = Field(default="obtain_consent", union_mode="left_to_right")
    description: str
    responsible: Identifier | None = None
    """Default: the role responsible for the blocked obligation."""
    channel: Identifier | None = None
    content: list[str] = Field(default_factory=list)


class Precondition(Model):
    """Something that must hold before an obligation can be carried out."""

    label: str
    holds: Condition
    """A condition on the case's facts (as they stand at evaluation time)."""
    remedy: Remedy
    source: Source | None = None


# --------------------------------------------------------------------------- queues


class QueueJoin(Model):
    """An event that puts its case in the queue, with the priority it queues at.

    A case already in the queue keeps its place (its join time) when it joins again; only
    a better (lower) priority replaces its priority and label, never its join time.
    """

    event: Identifier
    """The event type that joins its case to the queue, e.g. 'decision.made'."""
    if_: Condition | None = Field(default=None, alias="if")
    """A condition on the event's data; the event joins only when it holds."""
    priority: int = Field(ge=1)
    """The case's priority in the queue: 1 goes first, then 2, and so on."""
    label: str
    """What the priority means, in the document's words, e.g. 'Ny brukare'."""


class QueueLeave(Model):
    """An event of a case's own that matters to the queue (leaves it, or offers it a place)."""

    event: Identifier
    """The event type, e.g. 'decision.executed'."""
    if_: Condition | None = Field(default=None, alias="if")
    """A condition on the event's data; the event counts only when it holds."""


class Queue(Model):
    """A queue over a set of cases, and the order in which it must be served.

    This is a check over cases, not an obligation with a deadline. Every usable event is
    replayed in (instant, id) order:

    * a ``joins`` event puts its case in the queue at that event's instant with the join's
      priority; a case already queued keeps its join time, and its priority only improves
      (a lower number replaces a higher one, never the reverse);
    * a ``leaves`` event removes its case from the queue;
    * an ``offers`` event offers a place to its case. The offer is in order when that case
      is the first queued case by (priority, join instant, id of the join event) at the
      offer's instant, among the cases queued at that instant. An offer to a case that is
      not queued is out of order too. An offer does not remove the case: accepting or
      declining does, through ``leaves``.

    Joins and offers count only when their local date falls within the routine version's
    validity; leaves always count. Each out-of-order offer is reported as a
    ``queue.out-of-order`` warning, and the evaluation lists the queue's order at as_of.
    """

    label: str
    """What the queue is, in Swedish, e.g. 'Kölistan för ledig plats på dagverksamhet'."""
    joins: list[QueueJoin] = Field(min_length=1)
    """The events that put a case in the queue, each with its priority."""
    leaves: list[QueueLeave] = Field(default_factory=list)
    """The events that take a case out of the queue (accepted, declined, removed)."""
    offers: list[QueueLeave] = Field(min_length=1)
    """The events that offer a place to their case, e.g. 'plats.erbjuden'."""
    source: Source
    """The words of the source document the queue encodes."""
    interpretation: Interpretation | None = None
    """Set when the queue decides something the source leaves open (e.g. who is 'first'
    within a priority)."""


# --------------------------------------------------------------------------- periods


class PeriodStart(Model):
    """What starts a period: an event, or the breach of another rule's obligation."""

    event: Identifier | None = None
    """An event type; each matching event starts a period unless one is already open."""
    if_: Condition | None = Field(default=None, alias="if")
    """A condition on the event's data."""
    breach: Identifier | list[Identifier] | None = None
    """A rule id, or several (e.g. the variants of one duty with different deadlines): each
    of their obligations that is breached (overdue, or fulfilled late) starts a period at
    its deadline."""

    @model_validator(mode="after")
    def _one(self) -> PeriodStart:
        if (self.event is None) == (self.breach is None):
            raise ValueError("give exactly one of 'event' or 'breach' (a rule id)")
        if self.breach is not None and self.if_ is not None:
            raise ValueError("'if' applies to 'event', not to 'breach'")
        if isinstance(self.breach, list) and not self.breach:
            raise ValueError("'breach' names at least one rule")
        return self

    @property
    def breach_rules(self) -> tuple[str, ...]:
        """The rule ids whose breach starts the period (none for an event-started one)."""
        if self.breach is None:
            return ()
        return (self.breach,) if isinstance(self.breach, str) else tuple(self.breach)


class PeriodEnd(Model):
    """An event that ends an open period of its case."""

    event: Identifier
    if_: Condition | None = Field(default=None, alias="if")
    """A condition on the event's data."""


class Period(Model):
    """A state with a length (e.g. betalningsansvar): from a start to an end event.

    The output lists each case's periods with their start, end (or open at as_of) and
    length in calendar days and working days (between the local dates of start and end)
    and whole hours, and the amount when ``amount_per_day`` is given (days x amount).
    """

    label: str
    """What the period is, in Swedish, e.g. 'Kommunens betalningsansvar'."""
    starts: PeriodStart
    ends: list[PeriodEnd] = Field(min_length=1)
    """The events that end it; the first one after the start does."""
    amount_per_day: float | None = Field(default=None, ge=0)
    """An amount owed per calendar day of the period (e.g. a payment per day)."""
    source: Source
    interpretation: Interpretation | None = None


# --------------------------------------------------------------------------- parameters


def _is_iso_date_text(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


class Param(Model):
    """A typed value a routine names once and uses wherever a value is written.

    ``param.<name>`` in place of a number, a role or another value is replaced by the
    parameter's value before the routine is validated; a variant that ``extends`` the
    routine can override it.
    """

    type: Literal["integer", "number", "string", "boolean", "role", "date"]
    default: Scalar | dt.date
    """The value used unless a variant overrides it."""
    label: str | None = None
    """What the value means, in Swedish."""
    interpretation: Interpretation | None = None
    """Set when the value is a local choice the source leaves open (with its reason)."""

    @model_validator(mode="after")
    def _typed(self) -> Param:
        value = self.default
        ok = {
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "string": isinstance(value, str),
            "boolean": isinstance(value, bool),
            "role": isinstance(value, str),
            "date": isinstance(value, dt.date) or _is_iso_date_text(value),
        }[self.type]
        if not ok:
            raise ValueError(f"default {value!r} is not of type {self.type!r}")
        return self


# --------------------------------------------------------------------------- the routine


class Routine(Model):
    """One version of one routine for collaboration (rutin för samverkan)."""

    id: Identifier
    """Stable identifier shared by every version of the routine."""
    version: str
    title: str
    organisation: str
    valid_from: dt.date
    """First day this version is in force."""
    valid_to: dt.date | None = None
    """Last day this version is in force; open-ended when absent."""
    supersedes: RoutineRef | None = None
    review_by: dt.date | None = None
    """When the routine is due for review; a passed date is a warning."""
    owner: str | None = None
    legal_basis: list[str] = Field(default_factory=list)
    source: SourceDocument
    document_record: DocumentRecord | None = None
    interpretations: dict[str, Interpretation] = Field(default_factory=dict)
    """Routine-level choices, keyed by the field they concern (e.g. 'valid_from')."""
    vocabulary: str | None = "samverkan"
    """The shared event vocabulary this routine uses; its types need not be repeated."""
    extends: str | None = None
    """The routine file this one is a variant of (relative path). Its keys replace the
    base's; params, roles and the other named sections merge entry by entry, rules by id."""
    params: dict[Identifier, Param] = Field(default_factory=dict)
    """Typed values used as 'param.<name>' wherever a value is written."""
    calendar: CalendarSpec = Field(default_factory=CalendarSpec)
    roles: dict[Identifier, Role] = Field(min_length=1)
    channels: dict[Identifier, Channel] = Field(default_factory=dict)
    event_types: dict[Identifier, EventType] = Field(default_factory=dict)
    """Event types this routine adds to the vocabulary."""
    extend_event_types: dict[Identifier, EventTypeExtension] = Field(default_factory=dict)
    """Fields this routine adds to event types of the shared vocabulary (e.g. 'by' on
    'message.acknowledged')."""
    action_kinds: dict[Identifier, ActionKindSpec] = Field(default_factory=dict)
    """Action kinds this routine adds to the built-in ones, each with a Swedish label."""
    facts: dict[Identifier, Fact] = Field(default_factory=dict)
    preconditions: dict[Identifier, Precondition] = Field(default_factory=dict)
    units: dict[Identifier, Unit] = Field(default_factory=dict)
    """Units whose obligations are evaluated over a set of cases; their ids are case ids."""
    schedules: dict[Identifier, Schedule] = Field(default_factory=dict)
    rules: list[Rule] = Field(min_length=1)
    periods: dict[Identifier, Period] = Field(default_factory=dict)
    """States with a length (e.g. a payment liability) that start at an event or a breach
    and end at an event; the output lists each case's periods."""
    queues: dict[Identifier, Queue] = Field(default_factory=dict)
    """Queues whose order of service is checked over the set of cases (e.g. the order in
    which a vacant place is offered)."""

    _dates_in_range = field_validator("valid_from", "valid_to")(_in_supported_range)

    @field_validator("valid_to")
    @classmethod
    def _validity(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("valid_from")
        if value is not None and isinstance(start, dt.date) and value < start:
            raise ValueError(f"valid_to ({value}) is before valid_from ({start})")
        return value


for _model in (
    PeriodStart,
    PeriodEnd,
    Period,
    CompositeTime,
    AllOf,
    AnyOf,
    NotOf,
    FactUpdate,
    Trigger,
    EventPattern,
    Rule,
    Precondition,
    QueueJoin,
    QueueLeave,
    Queue,
):
    _model.model_rebuild()
