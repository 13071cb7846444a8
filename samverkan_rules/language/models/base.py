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
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from samverkan_rules.diagnostics import N_
from samverkan_rules.time.instants import (
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
    """Base of every routine model: unknown keys are errors, values are immutable.

    The docstring under each field describes it in the routine's JSON Schema, which
    :mod:`samverkan_rules.schemas` reads from the source when it writes the schema; the
    models do not read them (pydantic's ``use_attribute_docstrings`` parses each class's
    source at import: a tenth of a second of every command's start-up).
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        coerce_numbers_to_str=True,
    )


class SourceDocument(Model):
    """The document the routine encodes."""

    title: str
    """The document's own title, as written."""
    file: str
    """The source document's text (UTF-8), as a path relative to the routine file, e.g.
    'sources/orebro-dagverksamhet-hemvard.txt'. `samverkan validate` checks every quote
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


class Omission(Model):
    """A sentence of the source document that no rule encodes, with the reason.

    Listing it lets an auditor tell a deliberate omission from an oversight; its quote is
    checked against the document like a rule's.
    """

    quote: str
    """The document's words, verbatim (``…`` marks a left-out part)."""
    reason: str
    """Why it is not a rule, e.g. no event records it, or it is a recommendation ("bör")."""
    section: str | None = None
    """The heading of the section, as written."""


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
            raise ValueError(
                N_("'to' ({to}) must be later than 'from' ({start})", to=self.to, start=self.from_)
            )
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
            raise ValueError(N_("an 'enum' field needs 'values', the list of allowed values"))
        if self.type != "enum" and self.values is not None:
            raise ValueError(
                N_("'values' only applies to 'enum' fields, not '{type}'", type=self.type)
            )
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
