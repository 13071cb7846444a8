"""The evaluation output: a public JSON contract.

Embedding systems parse this, so field names keep their meaning once published; new
fields may be added. ``schemas/evaluation.schema.json`` is generated from these records.
Times are RFC 3339 strings with the offset in force locally at that instant.

The records are immutable ``msgspec`` structs: cheap to build (the engine builds one per
obligation a program walks) and outside the garbage collector's view, so walking every
action of a large evaluation costs less than evaluating it. :func:`to_builtins` gives a
record's JSON form; :func:`convert` reads one back, checking every field's type.

The output is sized to the question: each case's actions carry what changes from case to
case (status, deadline, who, why) and name their rule; each rule's own text (title, source
quote, interpretation, content) is written once per routine version, in
:attr:`RoutineStamp.rules`. The full ledger (``CaseResult.obligations``) and the calendar
trace of each deadline (``Obligation.trace``) are written only when asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

import msgspec

if TYPE_CHECKING:
    from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.status import Status


class _Out(msgspec.Struct, frozen=True, gc=False, kw_only=True, forbid_unknown_fields=True):
    # Fields the JSON form leaves out when they are null or empty (added after the first
    # outputs were published, which keep their bytes); every other field is always written.
    sometimes_absent: ClassVar[frozenset[str]] = frozenset()


_R = TypeVar("_R", bound=_Out)


def to_builtins(record: _Out) -> dict[str, Any]:
    """A record's every field as JSON-ready values (nested records as dicts)."""
    out: dict[str, Any] = msgspec.to_builtins(record)
    return out


def convert(data: Mapping[str, Any], cls: type[_R]) -> _R:
    """The record of ``cls`` a JSON-ready mapping describes.

    Raises:
        msgspec.ValidationError: naming the field that is missing or of the wrong type.
    """
    return msgspec.convert(data, cls)


class RoutineRef(_Out, frozen=True, kw_only=True):
    """Which routine version an obligation comes from."""

    id: str
    version: str


class RuleText(_Out, frozen=True, kw_only=True):
    """What a rule (or a precondition's remedy) says, the same for every obligation of it."""

    title: str
    source: SourceRecord | None
    """Where in the source document it comes from, with the document's words."""
    interpretation: InterpretationRecord | None
    """The local choice made where the document leaves something open, if any."""
    content: list[str]
    """What the message or record must contain."""

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RuleText:
        """The record of a rule's text in its JSON form (``CompiledRoutine.texts``)."""
        source = d["source"]
        interp = d["interpretation"]
        return cls(
            title=d["title"],
            source=SourceRecord(**source) if source is not None else None,
            interpretation=InterpretationRecord(**interp) if interp is not None else None,
            content=list(d["content"]),
        )


class RoutineStamp(_Out, frozen=True, kw_only=True):
    """A routine version used in the evaluation, with the hash of its exact text."""

    id: str
    version: str
    sha256: str
    valid_from: str
    valid_to: str | None = None
    rules: dict[str, RuleText] = {}
    """Each rule's text, by rule id: what every obligation of the rule refers to."""
    preconditions: dict[str, RuleText] = {}
    """Each precondition's remedy text, by precondition name (a remedy's ``rule``)."""


class SourceRecord(_Out, frozen=True, kw_only=True):
    """Where in the source document the rule comes from."""

    document: str
    section: str
    quote: str


class InterpretationRecord(_Out, frozen=True, kw_only=True):
    """A local choice where the source leaves something open."""

    reason: str
    text: str | None = None


class EventRef(_Out, frozen=True, kw_only=True):
    """An event an obligation refers to."""

    event: str
    type: str
    at: str


class ResponsibleParty(_Out, frozen=True, kw_only=True):
    """Who is responsible when a rule names the responsible through a case fact.

    Present only on obligations of rules with ``responsible: fact.<name>``.
    """

    fact: str
    """The fact naming the person or unit, e.g. 'fast_vardkontakt'."""
    value: Any = None
    """The fact's value at as_of (the person or unit), or null while it is unset."""
    fallback: bool
    """True while the fact is unset and the rule's fallback role ('responsible') acts."""


class Anchor(_Out, frozen=True, kw_only=True):
    """What a deadline counts from, when that is not the trigger event itself.

    Present only on obligations whose deadline is counted from a date in the trigger's data
    (a planned start, a last day) or from a schedule's occurrence: the trigger says when
    something was recorded, the anchor is the day the routine counts from.
    """

    path: str
    """Where the routine takes it from: 'data.<field>' or 'schedule.<name>'."""
    label: str
    """What it is, in the vocabulary's or the schedule's words (e.g. 'planerat startdatum')."""
    at: str
    """The date (YYYY-MM-DD) or the local instant (RFC 3339) the deadline counts from."""


class Lateness(_Out, frozen=True, kw_only=True):
    """How late an obligation is, in each unit a routine may count in.

    Measured from the deadline to the fulfilling event (fulfilled_late) or to as_of
    (overdue). ``working_days`` and ``days`` count local calendar days in the routine's time
    zone from the deadline's day to that moment's day (0: the same day); ``hours`` is the
    whole hours that have elapsed, so a daylight-saving change is counted as it happened.
    """

    working_days: int
    """Working days (vardagar) from the deadline's local day to the moment's local day."""
    days: int
    """Calendar days from the deadline's local day to the moment's local day."""
    hours: int
    """Whole hours elapsed from the deadline to the moment."""


class Obligation(_Out, frozen=True, kw_only=True):
    """One obligation in a case's ledger (or an action, when it still asks someone to act)."""

    sometimes_absent = frozenset({"anchor", "before", "responsible_party", "trace"})

    obligation: str
    """Stable id: '<rule>:<trigger event id>'; remedies and escalations add a suffix."""
    rule: str
    routine: RoutineRef
    case: str
    kind: str
    responsible: str
    responsible_label: str
    responsible_party: ResponsibleParty | None = None
    """For 'responsible: fact.<name>': the person or unit and whether the fallback acts."""
    recipients: list[str]
    channel: str | None
    status: Status
    opens_at: str | None
    deadline: str | None
    anchor: Anchor | None = None
    """What the deadline counts from, when that is not the trigger (see :class:`Anchor`)."""
    before: EventRef | None = None
    """The event the obligation had to precede (its rule's 'before'), present only when that
    event came first, while the obligation was open, and so cut the deadline to its instant."""
    occurrence: str | None = None
    """The scheduled occurrence the obligation belongs to, when there is one."""
    explanation: str
    """One line in plain Swedish: what, by whom, by when, and why this status."""
    trigger: EventRef | None = None
    fulfilled_by: EventRef | None = None
    cancelled_by: EventRef | None = None
    late_working_days: int | None = None
    """Working days past the deadline: at fulfilment (fulfilled_late) or at as_of (overdue)."""
    late: Lateness | None = None
    """The same lateness in working days, calendar days and hours; null when not late."""
    blocked_by: list[str] = []
    """Preconditions that are unmet (status blocked)."""
    unblocks: list[str] = []
    """For a remedy: the obligations it unblocks."""
    escalates: str | None = None
    """For an escalation: the overdue obligation it escalates."""
    trace: list[str] | None = None
    """The steps that led to the deadline and the status (written only when asked for)."""

    def to_json(self) -> dict[str, Any]:
        """The obligation in the contract's JSON form (optional fields only where they
        apply, as the evaluation JSON writes them)."""
        return _obligation_json(self)


class PeriodLength(_Out, frozen=True, kw_only=True):
    """How long a period lasted (or has lasted, while open)."""

    days: int
    """Calendar days from the start's local date to the end's (or as_of's)."""
    working_days: int
    """Working days (vardagar) counted the same way."""
    hours: int
    """Whole hours elapsed."""


class PeriodRecord(_Out, frozen=True, kw_only=True):
    """A state with a length in a case, e.g. the municipality's payment liability."""

    period: str
    """The period's name in the routine, e.g. 'betalningsansvar'."""
    label: str
    routine: RoutineRef
    case: str
    start: str
    end: str | None
    """When it ended; null while it is open."""
    open: bool
    started_by: EventRef | None
    """The event that started it; null when a breach did."""
    started_by_obligation: str | None
    """The breached obligation that started it, if one did."""
    ended_by: EventRef | None
    length: PeriodLength
    amount: float | None
    """days x the routine's amount per day, when it gives one."""
    source: SourceRecord
    interpretation: InterpretationRecord | None


def _obligation_json(o: Obligation) -> dict[str, Any]:
    data = to_builtins(o)
    for key in Obligation.sometimes_absent:
        if data.get(key) is None:
            data.pop(key, None)  # written only where it applies
    return data


class CaseResult(_Out, frozen=True, kw_only=True):
    """Everything the evaluation found for one case."""

    sometimes_absent = frozenset({"obligations", "periods"})

    case: str
    actions: list[Obligation]
    """Obligations that are upcoming, due, overdue or blocked, earliest deadline first."""
    obligations: list[Obligation] | None = None
    """The full ledger, fulfilled and cancelled obligations included, in trigger order
    (written only when asked for)."""
    periods: list[PeriodRecord] = []
    """The case's periods (written only when the case has any)."""

    def to_json(self) -> dict[str, Any]:
        """The case in the contract's JSON form (optional fields only where they apply)."""
        data: dict[str, Any] = {
            "case": self.case,
            "actions": [_obligation_json(o) for o in self.actions],
        }
        if self.obligations is not None:  # see sometimes_absent
            data["obligations"] = [_obligation_json(o) for o in self.obligations]
        if self.periods:  # see sometimes_absent
            data["periods"] = [to_builtins(p) for p in self.periods]
        return data


class DiagnosticRecord(_Out, frozen=True, kw_only=True):
    """A finding about the input (an event rejected, a routine out of force, ...)."""

    level: Literal["error", "warning", "info"]
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None
    hint: str | None = None


class QueueOffer(_Out, frozen=True, kw_only=True):
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


class QueueEntry(_Out, frozen=True, kw_only=True):
    """One case's place in a queue."""

    case: str
    priority: int
    """The priority it queues at: 1 goes first."""
    label: str
    """What the priority means, e.g. 'Ny brukare'."""
    since: str
    """When it joined the queue (a better priority later keeps this time)."""


class QueueResult(_Out, frozen=True, kw_only=True):
    """A queue of one routine version: its order at as_of and every offer it made."""

    queue: str
    routine: RoutineRef
    label: str
    order: list[QueueEntry]
    """The cases queued at as_of, first in line first."""
    offers: list[QueueOffer]
    """Every offer within the version's validity, in (instant, id) order."""


# Only the JSON Schema (schemas/evaluation.schema.json) is generated from this record;
# Evaluation writes the same JSON from its compact ledger.
class EvaluationDocument(_Out, frozen=True, kw_only=True):
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


_DIAGNOSTIC_KEYS = ("file", "line", "column", "path", "hint")


def diagnostic_fields(d: Diagnostic) -> dict[str, Any]:
    """A diagnostic with every field of :class:`DiagnosticRecord`, in its order."""
    out: dict[str, Any] = {"level": d.level, "code": d.code, "message": d.message}
    for key in _DIAGNOSTIC_KEYS:
        out[key] = getattr(d, key)
    return out


def written_where_they_apply() -> dict[str, frozenset[str]]:
    """Per record, by class name (as the schema names its definitions), the fields its JSON
    form writes only where they apply; records that always write every field are left out."""
    return {
        cls.__name__: cls.sometimes_absent for cls in _Out.__subclasses__() if cls.sometimes_absent
    }
