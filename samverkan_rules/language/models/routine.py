"""The whole routine document, and the event types it may use."""

from __future__ import annotations

import datetime as dt

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
)

from samverkan_rules.diagnostics import N_
from samverkan_rules.language.models.base import (
    CalendarSpec,
    Channel,
    DocumentRecord,
    EventType,
    Identifier,
    Interpretation,
    Model,
    Omission,
    Role,
    RoutineRef,
    SourceDocument,
    _in_supported_range,
)
from samverkan_rules.language.models.conditions import AllOf, AnyOf, Fact, FactUpdate, NotOf
from samverkan_rules.language.models.periods import Param, Period, PeriodEnd, PeriodStart
from samverkan_rules.language.models.queues import Queue, QueueJoin, QueueLeave
from samverkan_rules.language.models.rules import (
    ActionKindSpec,
    EventPattern,
    EventTypeExtension,
    Precondition,
    Rule,
    Trigger,
)
from samverkan_rules.language.models.schedules import Schedule, Unit
from samverkan_rules.language.models.time import CompositeTime


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
    omissions: list[Omission] = Field(default_factory=list)
    """Sentences of the source document no rule encodes, each quoted with its reason."""

    _dates_in_range = field_validator("valid_from", "valid_to")(_in_supported_range)

    @field_validator("valid_to")
    @classmethod
    def _validity(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("valid_from")
        if value is not None and isinstance(start, dt.date) and value < start:
            raise ValueError(
                N_("valid_to ({value}) is before valid_from ({start})", value=value, start=start)
            )
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
