"""Conditions: comparisons of event data and facts, combined with all, any and not."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from samverkan_rules.diagnostics import N_
from samverkan_rules.language.models.base import EventType, FieldSpec, Identifier, Model, Scalar

FIELD_PATH = (
    r"^(referred\.)?(data\.[a-z0-9_]+(\.[a-z0-9_]+)*|at\.[a-z0-9_]+|type)$"
    r"|^fact\.[a-z0-9_]+$|^case$"
)


def reference_field(spec: EventType) -> str | None:
    """The field of an event type that names the event ``referred.*`` reads: ``refers_to``
    when the type has it, else its only field of type ``event`` (``notes.sent``'s
    ``meeting``); None when it has neither (or several ``event`` fields, none of them
    ``refers_to``).

    Examples:
        >>> reference_field(EventType(label="x", fields={"meeting": FieldSpec(type="event")}))
        'meeting'
        >>> reference_field(EventType(label="x")) is None
        True
    """
    if "refers_to" in spec.fields:
        return "refers_to"
    named = [n for n, f in spec.fields.items() if f.type == "event"]
    return named[0] if len(named) == 1 else None


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
    "working_day": FieldSpec(
        type="boolean",
        description=(
            "Whether the event's local date is a working day by the routine's calendar "
            "(vardag, not one of its closed days)."
        ),
    ),
}


"""What ``at.<name>`` reads of an event's own instant, in the routine's time zone."""


class Comparison(Model):
    """Compare one field with a value: exactly one operator per comparison.

    ``field`` is ``data.<name>`` (the event's data; ``data.<name>.<part>`` reads into an
    'object' field, e.g. ``data.content.prel_datum``), ``fact.<name>`` (a case fact as it
    stands when the event is handled), ``case``, ``type``, or the event's own time in the
    routine's time zone: ``at.local_time`` ('12:00'), ``at.local_date`` (an ISO date),
    ``at.weekday`` ('monday' ... 'sunday') or ``at.working_day`` (true on a working day by
    the routine's calendar). ``referred.data.<name>``, ``referred.type`` and
    ``referred.at.<name>`` read the same of the event this one refers to (the event its
    ``refers_to`` names, or its type's only field of type ``event``; for an obligation's id,
    ``<rule>:<event>``, that obligation's trigger): a decision judged by the report it decides
    on, not by whichever report came last. Missing when there is no such earlier event in the
    case.
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
            raise ValueError(
                N_(
                    "a comparison needs exactly one operator ({allowed}); got {got}",
                    allowed=allowed,
                    got=got,
                )
            )
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


class AtForm(Model):
    """When the event happened, by the routine's calendar and clock (the ``at:`` condition).

    ``{at: {working_day: true, between: ["08:00", "16:30"]}}`` holds for an event on a
    working day from 08:00 up to (not including) 16:30 local time; it is short for an
    ``all`` of ``at.working_day`` and ``at.local_time`` comparisons.
    """

    working_day: bool | None = None
    """True: only on a working day (vardag, not a closed day); false: only on other days."""
    between: list[str] | None = Field(default=None, min_length=2, max_length=2)
    """Local times [from, to]: from inclusive, to exclusive, e.g. ["08:00", "16:30"]."""

    @model_validator(mode="after")
    def _something(self) -> AtForm:
        if self.working_day is None and self.between is None:
            raise ValueError(N_("'at' needs working_day, between or both"))
        if self.between is not None:
            start, end = (_clock_time(v) for v in self.between)
            if not start < end:
                raise ValueError(
                    N_(
                        "between: {value} must come before {value2} (a span over midnight is "
                        "two conditions under 'any')",
                        value=repr(self.between[0]),
                        value2=repr(self.between[1]),
                    )
                )
        return self

    def comparisons(self) -> list[dict[str, Any]]:
        """The comparisons this form is short for."""
        out: list[dict[str, Any]] = []
        if self.working_day is not None:
            out.append({"field": "at.working_day", "equals": self.working_day})
        if self.between is not None:
            out.append({"field": "at.local_time", "gte": self.between[0]})
            out.append({"field": "at.local_time", "lt": self.between[1]})
        return out


def _clock_time(value: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise ValueError(
            N_("between: {value} is not a time of day like '08:00'", value=repr(value))
        ) from None


def _at_form(value: Any) -> Any:
    """``{at: {...}}`` as the ``all`` of comparisons it is short for; anything else as is."""
    if isinstance(value, dict) and "at" in value:
        if set(value) != {"at"}:
            others = ", ".join(sorted(k for k in value if k != "at"))
            raise ValueError(
                N_("'at' stands alone in its condition; move {others} into an 'all'", others=others)
            )
        form = AtForm.model_validate(value["at"])
        return {"all": form.comparisons()}
    return value


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
    BeforeValidator(_at_form),
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
            raise ValueError(N_("give either 'add' or 'value_from', not both"))
        return self


class Fact(Model):
    """Something true of a case that events set and conditions read (e.g. consent)."""

    label: str
    default: Scalar = None
    set_by: list[FactUpdate] = Field(min_length=1)
