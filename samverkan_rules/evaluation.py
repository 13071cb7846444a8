"""The evaluation output: a public JSON contract.

Embedding systems parse this, so field names keep their meaning once published; new
fields may be added. ``schemas/evaluation.schema.json`` is generated from these models.
Times are RFC 3339 strings with the offset in force locally at that instant.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "ACTION_STATUSES",
    "CaseResult",
    "DiagnosticRecord",
    "Evaluation",
    "EventRef",
    "InterpretationRecord",
    "Obligation",
    "QueueEntry",
    "QueueOffer",
    "QueueResult",
    "RoutineRef",
    "RoutineStamp",
    "SourceRecord",
    "Status",
]

Status = Literal[
    "upcoming", "due", "fulfilled", "fulfilled_late", "overdue", "cancelled", "blocked"
]
"""Where an obligation stands at ``as_of``."""

ACTION_STATUSES: frozenset[str] = frozenset({"upcoming", "due", "overdue", "blocked"})
"""Statuses that still ask someone to act: these obligations are the actions."""


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class RoutineRef(_Out):
    """Which routine version an obligation comes from."""

    id: str
    version: str


class RoutineStamp(_Out):
    """A routine version used in the evaluation, with the hash of its exact text."""

    id: str
    version: str
    sha256: str
    valid_from: str
    valid_to: str | None = None


class SourceRecord(_Out):
    """Where in the source document the rule comes from."""

    document: str
    section: str
    quote: str


class InterpretationRecord(_Out):
    """A local choice where the source leaves something open."""

    reason: str
    text: str | None = None


class EventRef(_Out):
    """An event an obligation refers to."""

    event: str
    type: str
    at: str


class Obligation(_Out):
    """One obligation in a case's ledger (or an action, when it still asks someone to act)."""

    obligation: str
    """Stable id: '<rule>:<trigger event id>'; remedies and escalations add a suffix."""
    rule: str
    routine: RoutineRef
    case: str
    kind: str
    title: str
    responsible: str
    responsible_label: str
    recipients: list[str]
    channel: str | None
    status: Status
    opens_at: str | None
    deadline: str | None
    occurrence: str | None = None
    """The scheduled occurrence the obligation belongs to, when there is one."""
    content: list[str]
    source: SourceRecord | None
    interpretation: InterpretationRecord | None
    explanation: str
    """One line in plain Swedish: what, by whom, by when, and why this status."""
    trigger: EventRef | None = None
    fulfilled_by: EventRef | None = None
    cancelled_by: EventRef | None = None
    late_working_days: int | None = None
    """Working days past the deadline: at fulfilment (fulfilled_late) or at as_of (overdue)."""
    blocked_by: list[str] = []
    """Preconditions that are unmet (status blocked)."""
    unblocks: list[str] = []
    """For a remedy: the obligations it unblocks."""
    escalates: str | None = None
    """For an escalation: the overdue obligation it escalates."""
    trace: list[str] = []
    """The steps that led to the deadline and the status, for explain."""


class CaseResult(_Out):
    """Everything the evaluation found for one case."""

    case: str
    actions: list[Obligation]
    """Obligations that are upcoming, due, overdue or blocked, earliest deadline first."""
    obligations: list[Obligation]
    """The full ledger, fulfilled and cancelled obligations included, in trigger order."""


class DiagnosticRecord(_Out):
    """A finding about the input (an event rejected, a routine out of force, ...)."""

    level: Literal["error", "warning", "info"]
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None
    hint: str | None = None


class QueueOffer(_Out):
    """An offer of a place from a queue, and whether it went to the first in line."""

    event: str
    """The id of the offering event."""
    case: str
    """The case offered the place."""
    at: str
    """When the offer was made."""
    in_order: bool
    """True when the case was first in the queue at the offer's instant."""
    first: str | None
    """The case that was first in the queue at that instant (None: the queue was empty)."""


class QueueEntry(_Out):
    """One case's place in a queue."""

    case: str
    priority: int
    """The priority it queues at: 1 goes first."""
    label: str
    """What the priority means, e.g. 'Ny brukare'."""
    since: str
    """When it joined the queue (a better priority later keeps this time)."""


class QueueResult(_Out):
    """A queue of one routine version: its order at as_of and every offer it made."""

    queue: str
    routine: RoutineRef
    label: str
    order: list[QueueEntry]
    """The cases queued at as_of, first in line first."""
    offers: list[QueueOffer]
    """Every offer within the version's validity, in (instant, id) order."""


class Evaluation(_Out):
    """The result of evaluating events against routines at one instant."""

    as_of: str
    routines: list[RoutineStamp]
    cases: list[CaseResult]
    diagnostics: list[DiagnosticRecord]
    summary: dict[str, int]
    """Counts by status over every case, plus 'events' and 'cases'."""
    queues: list[QueueResult] = []
    """Each routine version's queues (order at as_of, offers), by routine id, version and
    queue name."""

    def to_json(self, *, indent: int | None = 2) -> str:
        """The JSON text: byte-identical for the same inputs, whatever their order."""
        return self.model_dump_json(indent=indent)

    def case(self, case_id: str) -> CaseResult:
        """The result for one case (KeyError when the case had no events)."""
        for c in self.cases:
            if c.case == case_id:
                return c
        raise KeyError(case_id)

    @property
    def actions(self) -> list[Obligation]:
        """Every case's actions, case by case."""
        return [a for c in self.cases for a in c.actions]
