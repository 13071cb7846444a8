"""What people and programs read, built from the compact ledger only when asked for.

:func:`case_dict` gives a case in the evaluation contract's JSON form (plain dicts, in the
field order of :class:`samverkan_rules.evaluation.Obligation`); :func:`case_result` gives the
same as the public pydantic objects. Explanations and traces (the calendar steps of a
deadline) are written here, so an evaluation that is only counted never formats a string.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from samverkan_rules._json import dumps_bytes
from samverkan_rules.calendar import format_local_minute, local_stamp
from samverkan_rules.engine.ledger import (
    Entry,
    EscalationEntry,
    RemedyEntry,
    RuleEntry,
    Status,
)
from samverkan_rules.events import Event

if TYPE_CHECKING:
    from samverkan_rules.compiler import CompiledRoutine, CompiledRule
    from samverkan_rules.evaluation import CaseResult, Obligation

__all__ = [
    "CaseLedger",
    "OutputCache",
    "case_dict",
    "case_result",
    "cause_line",
    "json_document",
    "json_lines",
]


class CaseLedger:
    """One case's evaluation in compact form: its obligations and actions at ``as_of``.

    Attributes:
        case: The case id.
        obligations: The full ledger: rule obligations in trigger order, then escalations,
            then remedies.
        actions: The obligations that still ask someone to act, earliest deadline first.
        as_of: The instant evaluated at (UTC).
    """

    __slots__ = ("actions", "as_of", "case", "obligations")

    def __init__(
        self, case: str, obligations: list[Entry], actions: list[Entry], as_of: datetime
    ) -> None:
        self.case = case
        self.obligations = obligations
        self.actions = actions
        self.as_of = as_of


class OutputCache:
    """Output parts shared by many obligations of one evaluation, built once each.

    Not shared between evaluations; a benign race between threads only builds a part twice.
    """

    __slots__ = ("_refs", "_rules")

    def __init__(self) -> None:
        self._refs: dict[str, dict[str, str]] = {}
        self._rules: dict[int, tuple[dict[str, str], dict[str, str], dict[str, Any] | None]] = {}

    def ref(self, event: Event | None, routine: CompiledRoutine) -> dict[str, str] | None:
        """``{"event", "type", "at"}`` for an event an obligation refers to."""
        if event is None:
            return None
        ref = self._refs.get(event.id)
        if ref is None:
            ref = {"event": event.id, "type": event.type, "at": local_stamp(event.at, routine.tz)}
            self._refs[event.id] = ref
        return ref

    def rule_parts(
        self, rule: CompiledRule
    ) -> tuple[dict[str, str], dict[str, str], dict[str, Any] | None]:
        """The routine reference, source and interpretation of a rule, as JSON objects."""
        parts = self._rules.get(id(rule))
        if parts is None:
            interpretation = rule.interpretation_record
            parts = (
                {"id": rule.routine_ref.id, "version": rule.routine_ref.version},
                {
                    "document": rule.source_record.document,
                    "section": rule.source_record.section,
                    "quote": rule.source_record.quote,
                },
                (
                    {"reason": interpretation.reason, "text": interpretation.text}
                    if interpretation is not None
                    else None
                ),
            )
            self._rules[id(rule)] = parts
        return parts


def cause_line(entry: RuleEntry) -> str:
    """How an obligation arose, in one line."""
    trigger = entry.trigger
    return (
        f"{trigger.type} {trigger.id} {format_local_minute(trigger.at, entry.routine.tz)} "
        f"(ärende {trigger.case})"
    )


def _explain(entry: RuleEntry, blocked_labels: list[str]) -> str:
    routine = entry.routine
    tz = routine.tz
    action = entry.rule.rule.action
    who = routine.role_label(entry.responsible)
    due = format_local_minute(entry.deadline, tz)
    cause = f"utlöst av {entry.trigger.type} {entry.trigger.id}"
    status: Status = entry.status
    late = entry.late
    answer = entry.answer
    if status == "fulfilled":
        assert answer is not None
        return (
            f"{action.description}: gjort i tid av {answer.id} "
            f"{format_local_minute(answer.at, tz)} (senast {due}); {cause}."
        )
    if status == "fulfilled_late":
        assert answer is not None
        return (
            f"{action.description}: gjort {late} vardag(ar) för sent av {answer.id} "
            f"{format_local_minute(answer.at, tz)} (senast {due}); {cause}."
        )
    if status == "cancelled":
        assert entry.cancel is not None
        return f"{action.description}: avbruten av {entry.cancel.type} {entry.cancel.id}; {cause}."
    if status == "blocked":
        return (
            f"{action.description} ({who}, senast {due}) väntar på: "
            f"{', '.join(blocked_labels)}; {cause}."
        )
    if status == "upcoming":
        assert entry.opens is not None
        return (
            f"{action.description} ({who}): från {format_local_minute(entry.opens, tz)}, "
            f"senast {due}; {cause}."
        )
    if status == "due":
        return f"{action.description} ({who}) senast {due}; {cause}."
    since = "samma dag" if not late else f"{late} vardag(ar) sedan"
    return (
        f"{action.description} ({who}): försenad, skulle vara gjort senast {due} "
        f"({since}); {cause}."
    )


def _trace(entry: RuleEntry, labels: list[str], as_of: datetime) -> list[str]:
    routine = entry.routine
    tz = routine.tz
    rule = entry.rule
    trace = [
        f"{rule.id}: {cause_line(entry)}",
        "frist: " + "; ".join(rule.deadline.compute(entry.trigger).steps),
    ]
    if rule.opens is not None:
        trace.append("öppnar: " + "; ".join(rule.opens.compute(entry.trigger).steps))
    if entry.role_note:
        trace.append(entry.role_note)
    if entry.answer is not None:
        answer = entry.answer
        trace.append(
            f"uppfylld av {answer.id} ({answer.type}) {format_local_minute(answer.at, tz)}"
        )
    if entry.cancel is not None:
        cancel = entry.cancel
        trace.append(
            f"avbruten av {cancel.id} ({cancel.type}) {format_local_minute(cancel.at, tz)}"
        )
    if entry.blocked:
        trace.append("blockerad: " + ", ".join(labels))
    trace.append(f"status vid {format_local_minute(as_of, tz)}: {entry.status}")
    return trace


def _rule_dict(entry: RuleEntry, as_of: datetime, cache: OutputCache) -> dict[str, Any]:
    routine = entry.routine
    tz = routine.tz
    rule = entry.rule.rule
    action = rule.action
    labels = [routine.preconditions[name].label for name in entry.blocked]
    routine_ref, source, interpretation = cache.rule_parts(entry.rule)
    return {
        "obligation": entry.id,
        "rule": rule.id,
        "routine": routine_ref,
        "case": entry.trigger.case,
        "kind": action.kind,
        "title": rule.title,
        "responsible": entry.responsible,
        "responsible_label": routine.role_label(entry.responsible),
        "recipients": list(entry.recipients),
        "channel": action.channel,
        "status": entry.status,
        "opens_at": local_stamp(entry.opens_at, tz),
        "deadline": local_stamp(entry.deadline, tz),
        "occurrence": entry.occurrence,
        "content": list(action.content),
        "source": source,
        "interpretation": interpretation,
        "explanation": _explain(entry, labels),
        "trigger": cache.ref(entry.trigger, routine),
        "fulfilled_by": cache.ref(entry.answer, routine),
        "cancelled_by": cache.ref(entry.cancel, routine),
        "late_working_days": entry.late,
        "blocked_by": list(entry.blocked),
        "unblocks": list(entry.unblocks),
        "escalates": None,
        "trace": _trace(entry, labels, as_of),
    }


def _escalation_dict(
    entry: EscalationEntry, parent: Mapping[str, Any], cache: OutputCache
) -> dict[str, Any]:
    routine = entry.routine
    tz = routine.tz
    esc = entry.escalation
    label = routine.role_label(esc.role)
    return {
        "obligation": entry.id,
        "rule": parent["rule"],
        "routine": parent["routine"],
        "case": parent["case"],
        "kind": "escalate",
        "title": f"Eskalering: {parent['title']}",
        "responsible": esc.role,
        "responsible_label": label,
        "recipients": [],
        "channel": None,
        "status": "due",
        "opens_at": local_stamp(entry.start, tz),
        "deadline": None,
        "occurrence": parent["occurrence"],
        "content": [],
        "source": parent["source"],
        "interpretation": parent["interpretation"],
        "explanation": (
            f"{esc.description} ({label}): {parent['obligation']} är försenad sedan "
            f"{format_local_minute(entry.parent.deadline, tz)}."
        ),
        "trigger": parent["trigger"],
        "fulfilled_by": None,
        "cancelled_by": None,
        "late_working_days": parent["late_working_days"],
        "blocked_by": [],
        "unblocks": [],
        "escalates": parent["obligation"],
        "trace": [f"eskaleras från {format_local_minute(entry.start, tz)} till {esc.role}"],
    }


def _remedy_dict(
    entry: RemedyEntry, first: Mapping[str, Any], as_of: datetime, cache: OutputCache
) -> dict[str, Any]:
    routine = entry.routine
    tz = routine.tz
    pre = entry.precondition
    due = format_local_minute(entry.deadline, tz)
    unblocks = list(entry.unblocks)
    label = routine.role_label(entry.who)
    text = (
        f"{pre.remedy_description} ({label}) senast {due}, så att {', '.join(unblocks)} kan göras."
    )
    if entry.status == "overdue":
        text = f"Försenad: {text}"
    source = routine.routine.preconditions[entry.name].source
    return {
        "obligation": entry.id,
        "rule": entry.name,
        "routine": first["routine"],
        "case": entry.case,
        "kind": pre.remedy_kind,
        "title": pre.label,
        "responsible": entry.who,
        "responsible_label": label,
        "recipients": [],
        "channel": pre.remedy_channel,
        "status": entry.status,
        "opens_at": first["opens_at"],
        "deadline": local_stamp(entry.deadline, tz),
        "occurrence": None,
        "content": list(pre.remedy_content),
        "source": (
            {
                "document": routine.routine.source.title,
                "section": source.section,
                "quote": source.quote,
            }
            if source is not None
            else None
        ),
        "interpretation": None,
        "explanation": text,
        "trigger": first["trigger"],
        "fulfilled_by": None,
        "cancelled_by": None,
        "late_working_days": entry.late,
        "blocked_by": [],
        "unblocks": unblocks,
        "escalates": None,
        "trace": [
            f"{entry.name}: {pre.label} saknas vid {format_local_minute(as_of, tz)}",
            f"frist från {first['obligation']}: {due}",
        ],
    }


def obligation_dicts(ledger: CaseLedger, cache: OutputCache) -> dict[int, dict[str, Any]]:
    """Every obligation of the ledger in JSON form, keyed by the record's identity."""
    out: dict[int, dict[str, Any]] = {}
    for entry in ledger.obligations:
        if isinstance(entry, RuleEntry):
            out[id(entry)] = _rule_dict(entry, ledger.as_of, cache)
        elif isinstance(entry, EscalationEntry):
            out[id(entry)] = _escalation_dict(entry, out[id(entry.parent)], cache)
        else:
            first = out[id(entry.members[0])]
            out[id(entry)] = _remedy_dict(entry, first, ledger.as_of, cache)
    return out


def case_dict(ledger: CaseLedger, cache: OutputCache) -> dict[str, Any]:
    """The case in the evaluation contract's JSON form: ``{"case", "actions", "obligations"}``."""
    built = obligation_dicts(ledger, cache)
    return {
        "case": ledger.case,
        "actions": [built[id(e)] for e in ledger.actions],
        "obligations": [built[id(e)] for e in ledger.obligations],
    }


def _model(d: Mapping[str, Any]) -> Obligation:
    from samverkan_rules.evaluation import (
        EventRef,
        InterpretationRecord,
        Obligation,
        RoutineRef,
        SourceRecord,
    )

    def ref(value: Mapping[str, str] | None) -> EventRef | None:
        if value is None:
            return None
        return EventRef.model_construct(event=value["event"], type=value["type"], at=value["at"])

    fields = dict(d)
    fields["routine"] = RoutineRef.model_construct(**d["routine"])
    fields["source"] = SourceRecord.model_construct(**d["source"]) if d["source"] else None
    fields["interpretation"] = (
        InterpretationRecord.model_construct(**d["interpretation"]) if d["interpretation"] else None
    )
    for key in ("trigger", "fulfilled_by", "cancelled_by"):
        fields[key] = ref(d[key])
    return Obligation.model_construct(**fields)


def case_result(ledger: CaseLedger, cache: OutputCache) -> CaseResult:
    """The case as the public :class:`~samverkan_rules.evaluation.CaseResult` object."""
    from samverkan_rules.evaluation import CaseResult

    built = obligation_dicts(ledger, cache)
    models = {key: _model(d) for key, d in built.items()}
    return CaseResult.model_construct(
        case=ledger.case,
        actions=[models[id(e)] for e in ledger.actions],
        obligations=[models[id(e)] for e in ledger.obligations],
    )


_MARK = "\x1fsamverkan-cases\x1f"


def json_document(
    head: Mapping[str, Any],
    key: str,
    items: Iterable[Mapping[str, Any]],
    tail: Callable[[], Mapping[str, Any]],
) -> Iterator[bytes]:
    """A JSON document written piece by piece, byte-identical to dumping it whole.

    The document is ``{**head, key: [*items], **tail()}`` with two-space indentation;
    each item is encoded as it comes, so the list is never held in memory, and ``tail`` is
    called after the last item (its values, such as totals, may depend on the items).
    """
    pending = iter(items)
    first = next(pending, None)
    if first is None:
        yield dumps_bytes({**head, key: [], **tail()}) + b"\n"
        return
    text = dumps_bytes({**head, key: [_MARK]})
    marker = dumps_bytes(_MARK)
    yield text[: text.index(marker)]
    yield _indented(first)
    for item in pending:
        yield b",\n    "
        yield _indented(item)
    end = dumps_bytes({key: [_MARK], **tail()})
    yield end[end.index(marker) + len(marker) :] + b"\n"


def _indented(item: Mapping[str, Any]) -> bytes:
    return dumps_bytes(item).replace(b"\n", b"\n    ")


def json_lines(
    items: Iterable[Mapping[str, Any]], tail: Callable[[], Mapping[str, Any]]
) -> Iterator[bytes]:
    """One compact JSON object a line for each item, then ``tail()`` as the last line."""
    for item in items:
        yield dumps_bytes(item, indent=None) + b"\n"
    yield dumps_bytes(tail(), indent=None) + b"\n"
