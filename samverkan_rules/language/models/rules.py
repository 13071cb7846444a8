"""Rules: a trigger, an action with who must act and by when, what fulfils or cancels it,
and what escalates when it is late.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from samverkan_rules.diagnostics import N_
from samverkan_rules.language.models.base import (
    FieldSpec,
    Identifier,
    Interpretation,
    KindName,
    LateUnit,
    Model,
    Source,
)
from samverkan_rules.language.models.conditions import Condition
from samverkan_rules.language.models.time import Offset, TimeForm


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
            raise ValueError(N_("give exactly one of 'event' or 'schedule'"))
        return self

    @property
    def event_type(self) -> str:
        """The event type that triggers (``schedule.<name>`` for a schedule)."""
        return self.event if self.event is not None else f"schedule.{self.schedule}"


class EventPattern(Model):
    """Events that fulfil or cancel an obligation.

    ``match`` ties a candidate event to the trigger: each key is a field of the candidate
    (``data.<name>`` or ``case``) and each value a field of the trigger (``trigger.id``,
    ``trigger.case`` or ``trigger.data.<name>``). ``referred.id`` and
    ``referred.data.<name>`` (and ``trigger.referred.id``, ``trigger.referred.data.<name>``)
    read the event the candidate (the trigger) refers to. Only events after the trigger,
    in the same case, count.
    """

    event: Identifier
    if_: Condition | None = Field(default=None, alias="if")
    match: dict[str, str] = Field(default_factory=dict)
    any_case: bool = False
    """Let events of any case count (for unit-level obligations evaluated over a set of
    cases, e.g. a meeting to cancel when no case has a question for it)."""
    interpretation: Interpretation | None = None
    """Why this pattern reads the source as it does, e.g. why a later event of the trigger's
    own type cancels without a ``match`` (it silences ``routine.uncorrelated-cancel``)."""

    @field_validator("match")
    @classmethod
    def _match_paths(cls, value: dict[str, str]) -> dict[str, str]:
        for key, ref in value.items():
            referred = key.removeprefix("referred.")
            if not (key == "case" or referred.startswith("data.") or key == "referred.id"):
                raise ValueError(
                    N_(
                        "match key {key} must be 'case', 'data.<field>', 'referred.id' or "
                        "'referred.data.<field>'",
                        key=repr(key),
                    )
                )
            theirs = ref.removeprefix("trigger.referred.")
            if not (
                ref in ("trigger.id", "trigger.case", "trigger.referred.id")
                or ref.startswith("trigger.data.")
                or (theirs != ref and theirs.startswith("data."))
            ):
                raise ValueError(
                    N_(
                        "match value {ref} must be 'trigger.id', 'trigger.case', "
                        "'trigger.data.<field>', 'trigger.referred.id' or "
                        "'trigger.referred.data.<field>'",
                        ref=repr(ref),
                    )
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
                    N_(
                        "'responsible: {responsible}' needs 'fallback', the role responsible "
                        "while the fact is unset",
                        responsible=self.responsible,
                    )
                )
            if self.levels_up is not None:
                raise ValueError(N_("'levels_up' cannot climb from a responsible named by a fact"))
        elif self.fallback is not None or self.acting_as is not None:
            raise ValueError(
                N_("'fallback' and 'acting_as' apply only to 'responsible: fact.<name>'")
            )
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
            raise ValueError(N_("give exactly one of 'to' (a role) or 'levels_up' (a number)"))
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
    before: EventPattern | None = None
    """An event the obligation must precede ("innan kontakt tas"): the first event after the
    trigger that matches it cuts the deadline to its instant when that is earlier. A
    fulfilment after it is late; with none, the obligation is overdue from that event on."""
    escalation: list[Escalation] = Field(default_factory=list)
    source: Source
    interpretation: Interpretation | None = None
    """Set when the rule decides something the source leaves open."""
    replaces: Identifier | None = None
    """The id of the rule this one replaces in an earlier version of the same routine (the
    same duty, reworded or moved): ``samverkan audit --compare`` counts the two as one row.
    ``samverkan validate`` checks that an earlier version among the files has that rule."""
    late_in: LateUnit | None = None
    """The unit the rule's lateness is worded in (explanations, text output): 'hours',
    'days' (calendar days) or 'working_days'. Default: the calendar's 'late_in'. Every
    obligation reports its lateness in all three units whatever is chosen here."""

    @property
    def patterns(self) -> tuple[EventPattern, ...]:
        """Every event pattern the rule watches: fulfilment, cancellation and ``before``."""
        before = (self.before,) if self.before is not None else ()
        return (*self.fulfilled_by, *self.cancelled_by, *before)


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
