"""What people and programs read, built from the compact ledger only when asked for.

:func:`case_dict` gives a case in the evaluation contract's JSON form (plain dicts, in the
field order of :class:`samverkan_rules.records.Obligation`); :func:`case_result` gives the
same as the public pydantic objects. Explanations and traces (the calendar steps of a
deadline) are written here, so an evaluation that is only counted never formats a string.

What is built follows :class:`OutputCache`'s options: by default a case's actions only,
without traces; the full ledger (``ledger``) and the traces (``trace``) on request. A
rule's own text is not repeated per obligation: :func:`routine_texts` writes it once per
routine version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from samverkan_rules import phrases as x
from samverkan_rules._json import dumps_bytes
from samverkan_rules.engine.ledger import (
    Entry,
    EscalationEntry,
    RemedyEntry,
    RuleEntry,
)
from samverkan_rules.engine.periods import PeriodEntry, period_length
from samverkan_rules.events.model import Event
from samverkan_rules.i18n import Translator, translator
from samverkan_rules.records import (
    Anchor,
    CaseResult,
    EventRef,
    InterpretationRecord,
    Lateness,
    Obligation,
    PeriodLength,
    PeriodRecord,
    ResponsibleParty,
    RoutineRef,
    SourceRecord,
)
from samverkan_rules.status import Status, status_label
from samverkan_rules.time.instants import local_stamp

if TYPE_CHECKING:
    from samverkan_rules.compile.routine import CompiledRoutine
    from samverkan_rules.compile.rules import CompiledRule
    from samverkan_rules.records import CaseResult, Obligation


class CaseLedger:
    """One case's evaluation in compact form: its obligations and actions at ``as_of``.

    Attributes:
        case: The case id.
        obligations: The full ledger: rule obligations in trigger order, then escalations,
            then remedies.
        actions: The obligations that still ask someone to act, earliest deadline first.
        as_of: The instant evaluated at (UTC).
        periods: The case's periods (states with a length), by start.
        mark: For a kept replay's settle, which one it was (see
            :mod:`samverkan_rules.engine.settling`); else None.
    """

    __slots__ = ("actions", "as_of", "case", "mark", "obligations", "periods")

    def __init__(
        self,
        case: str,
        obligations: list[Entry],
        actions: list[Entry],
        as_of: datetime,
        periods: list[PeriodEntry] | None = None,
    ) -> None:
        self.case = case
        self.periods = periods or []
        self.obligations = obligations
        self.actions = actions
        self.as_of = as_of
        self.mark: tuple[object, int] | None = None


class OutputCache:
    """Output parts shared by many obligations of one evaluation, built once each.

    Not shared between evaluations; a benign race between threads only builds a part twice.
    """

    __slots__ = ("_refs", "_routine_refs", "ledger", "t", "trace")

    def __init__(
        self, t: Translator | None = None, *, ledger: bool = False, trace: bool = False
    ) -> None:
        self.t = t if t is not None else translator()
        self.ledger = ledger
        """Build each case's full ledger too, not only its actions."""
        self.trace = trace
        """Write each obligation's trace (the calendar steps of its deadline)."""
        self._refs: dict[str, dict[str, str]] = {}
        self._routine_refs: dict[int, dict[str, str]] = {}

    def like(self, t: Translator | None = None) -> OutputCache:
        """A fresh cache with the same options (in the language of ``t`` when given)."""
        return OutputCache(t or self.t, ledger=self.ledger, trace=self.trace)

    def new_case(self) -> None:
        """Forget the events of the previous case: an event is referred to only within its
        case, so written case by case, a history's output holds one case's references."""
        self._refs.clear()

    def ref(self, event: Event | None, routine: CompiledRoutine) -> dict[str, str] | None:
        """``{"event", "type", "at"}`` for an event an obligation refers to."""
        if event is None:
            return None
        ref = self._refs.get(event.id)
        if ref is None:
            ref = {"event": event.id, "type": event.type, "at": local_stamp(event.at, routine.tz)}
            self._refs[event.id] = ref
        return ref

    def routine_ref(self, rule: CompiledRule) -> dict[str, str]:
        """The routine version of a rule, as the JSON object every obligation names."""
        ref = self._routine_refs.get(id(rule))
        if ref is None:
            ref = {"id": rule.routine_ref.id, "version": rule.routine_ref.version}
            self._routine_refs[id(rule)] = ref
        return ref


def cause_line(entry: RuleEntry, t: Translator | None = None) -> str:
    """How an obligation arose, in one line."""
    trigger = entry.trigger
    t = t or translator()
    return x.cause_line(
        t,
        event_type=entry.routine.event_type_label(trigger.type),
        event=trigger.id,
        at=x.format_instant(trigger.at, entry.routine.tz, t),
        case=trigger.case,
    )


def lateness(
    routine: CompiledRoutine, deadline: datetime, moment: datetime | None, working_days: int | None
) -> dict[str, int] | None:
    """``{"working_days", "days", "hours"}`` from the deadline to ``moment``, or None.

    Days are counted between local calendar days in the routine's time zone (as working
    days are); hours are whole elapsed hours, so a daylight-saving change counts as lived.
    """
    if moment is None or working_days is None:
        return None
    tz = routine.tz
    days = (moment.astimezone(tz).date() - deadline.astimezone(tz).date()).days
    hours = int((moment - deadline).total_seconds() // 3600)
    return {"working_days": working_days, "days": days, "hours": hours}


def _late_amount(entry: RuleEntry) -> int:
    """The entry's lateness in the unit its rule words it in."""
    unit = entry.rule.late_in
    if unit == "working_days" or entry.late_at is None:
        return entry.late or 0
    parts = lateness(entry.routine, entry.deadline, entry.late_at, entry.late)
    assert parts is not None
    return parts[unit]


def _who(entry: RuleEntry, t: Translator) -> str:
    """The responsible as the explanation names it: the role, or the person or unit a fact
    names (with the role), or the fallback role while the fact is unset."""
    routine = entry.routine
    role = routine.role_label(entry.responsible)
    fact = entry.rule.rule.action.party_fact
    if fact is None:
        return role
    if entry.party is None:
        label = routine.routine.facts[fact].label
        return x.party_fallback(t, role=role, fact=label)
    return x.party_named(t, party=str(entry.party), role=role)


def _explain(entry: RuleEntry, blocked_labels: list[str], t: Translator) -> str:
    text = _explain_status(entry, blocked_labels, t)
    before = entry.before
    if before is None:
        return text
    return x.had_to_precede(
        t,
        explanation=text,
        event_type=entry.routine.event_type_label(before.type),
        event=before.id,
        at=x.format_instant(before.at, entry.routine.tz, t),
    )


def _explain_status(entry: RuleEntry, blocked_labels: list[str], t: Translator) -> str:
    routine = entry.routine
    tz = routine.tz
    action = entry.rule.rule.action.description
    who = _who(entry, t)
    due = x.format_instant(entry.deadline, tz, t)
    cause = x.triggered_by(
        t, event_type=routine.event_type_label(entry.trigger.type), event=entry.trigger.id
    )
    status: Status = entry.status
    answer = entry.answer
    if status in ("fulfilled", "fulfilled_late"):
        assert answer is not None
        at = x.format_instant(answer.at, tz, t)
        if status == "fulfilled":
            return x.explain_fulfilled(
                t, action=action, event=answer.id, at=at, deadline=due, cause=cause
            )
        return x.explain_fulfilled_late(
            t,
            action=action,
            late=_late_amount(entry),
            unit=entry.rule.late_in,
            event=answer.id,
            at=at,
            deadline=due,
            cause=cause,
        )
    if status == "cancelled":
        assert entry.cancel is not None
        return x.explain_cancelled(
            t,
            action=action,
            event_type=routine.event_type_label(entry.cancel.type),
            event=entry.cancel.id,
            cause=cause,
        )
    if status == "blocked":
        return x.explain_blocked(
            t,
            action=action,
            who=who,
            deadline=due,
            waiting=", ".join(blocked_labels),
            cause=cause,
        )
    if status == "upcoming":
        assert entry.opens is not None
        opens = x.format_instant(entry.opens, tz, t)
        return x.explain_upcoming(t, action=action, who=who, opens=opens, deadline=due, cause=cause)
    if status == "due":
        return x.explain_due(t, action=action, who=who, deadline=due, cause=cause)
    return x.explain_overdue(
        t,
        action=action,
        who=who,
        deadline=due,
        late=_late_amount(entry),
        unit=entry.rule.late_in,
        cause=cause,
    )


def _role_note(entry: RuleEntry, t: Translator) -> str | None:
    climb = entry.climb
    if climb is None:
        return None
    levels, base, ends = climb
    head = x.roles_climbed(t, responsible=entry.responsible, levels=levels, role=base)
    return "; ".join([head, *(x.hierarchy_ends(t, role=role, top=top) for role, top in ends)])


def _trace(entry: RuleEntry, labels: list[str], as_of: datetime, t: Translator) -> list[str]:
    routine = entry.routine
    tz = routine.tz
    rule = entry.rule
    deadline = "; ".join(rule.deadline.compute(entry.trigger, t, entry.called_off).steps)
    # The rule by its title, as staff know it (its id is the record's `rule`).
    trace = [f"{rule.rule.title}: {cause_line(entry, t)}", x.trace_deadline(t, steps=deadline)]
    if entry.before is not None:
        before = entry.before
        at = x.format_instant(before.at, tz, t)
        label = routine.event_type_label(before.type)
        trace.append(x.trace_before(t, event=before.id, event_type=label, at=at))
    if rule.opens is not None:
        opens = "; ".join(rule.opens.compute(entry.trigger, t, entry.called_off).steps)
        trace.append(x.trace_opens(t, steps=opens))
    note = _role_note(entry, t)
    if note:
        trace.append(note)
    for event, line in ((entry.answer, x.trace_fulfilled), (entry.cancel, x.trace_cancelled)):
        if event is not None:
            at = x.format_instant(event.at, tz, t)
            label = routine.event_type_label(event.type)
            trace.append(line(t, event=event.id, event_type=label, at=at))
    if entry.blocked:
        trace.append(x.trace_blocked(t, preconditions=", ".join(labels)))
    trace.append(
        x.trace_status(t, at=x.format_instant(as_of, tz, t), status=status_label(entry.status, t))
    )
    return trace


def _anchor(entry: RuleEntry) -> dict[str, str] | None:
    """What the deadline counts from, when that is not the
    trigger: a date from the trigger's data (a planned start, a last day) or a schedule's
    occurrence. Staff check a deadline against it; the trigger says only when it was
    recorded."""
    found = entry.rule.deadline.anchor(entry.trigger, entry.called_off)
    if found is None:
        return None
    path, value = found
    routine = entry.routine
    kind, _, name = path.partition(".")
    label: str | None = None
    if kind == "schedule":
        schedule = routine.schedules.get(name)
        label = schedule.label if schedule is not None else None
    else:
        spec = routine.event_types.get(entry.trigger.type)
        field = spec.fields.get(name) if spec is not None else None
        label = field.description if field is not None else None
    at = local_stamp(value, routine.tz) if isinstance(value, datetime) else value.isoformat()
    return {"path": path, "label": label or name, "at": at}


def _rule_dict(entry: RuleEntry, as_of: datetime, cache: OutputCache) -> dict[str, Any]:
    routine = entry.routine
    tz = routine.tz
    rule = entry.rule.rule
    action = rule.action
    labels = [routine.preconditions[name].label for name in entry.blocked]
    out: dict[str, Any] = {
        "obligation": entry.id,
        "rule": rule.id,
        "routine": cache.routine_ref(entry.rule),
        "case": entry.trigger.case,
        "kind": action.kind,
        "responsible": entry.responsible,
        "responsible_label": routine.role_label(entry.responsible),
    }
    fact = action.party_fact
    if fact is not None:  # only then, so other routines' JSON keeps its shape
        out["responsible_party"] = {
            "fact": fact,
            "value": entry.party,
            "fallback": entry.party is None,
        }
    out |= {
        "recipients": list(entry.recipients),
        "channel": action.channel,
        "status": entry.status,
        "opens_at": local_stamp(entry.opens_at, tz),
        "deadline": local_stamp(entry.deadline, tz),
    }
    anchor = _anchor(entry)
    if anchor is not None:  # only then, like responsible_party
        out["anchor"] = anchor
    if entry.before is not None:  # only when it cut the deadline
        out["before"] = cache.ref(entry.before, routine)
    out |= {
        "occurrence": entry.occurrence,
        "explanation": _explain(entry, labels, cache.t),
        "trigger": cache.ref(entry.trigger, routine),
        "fulfilled_by": cache.ref(entry.answer, routine),
        "cancelled_by": cache.ref(entry.cancel, routine),
        "late_working_days": entry.late,
        "late": lateness(routine, entry.deadline, entry.late_at, entry.late),
        "blocked_by": list(entry.blocked),
        "unblocks": list(entry.unblocks),
        "escalates": None,
    }
    if cache.trace:
        out["trace"] = _trace(entry, labels, as_of, cache.t)
    return out


def _escalation_dict(
    entry: EscalationEntry, parent: Mapping[str, Any], cache: OutputCache
) -> dict[str, Any]:
    routine = entry.routine
    tz = routine.tz
    esc = entry.escalation
    label = routine.role_label(esc.role)
    t = cache.t
    out: dict[str, Any] = {
        "obligation": entry.id,
        "rule": parent["rule"],
        "routine": parent["routine"],
        "case": parent["case"],
        "kind": "escalate",
        "responsible": esc.role,
        "responsible_label": label,
        "recipients": [],
        "channel": None,
        "status": entry.status,
        "opens_at": local_stamp(entry.start, tz),
        "deadline": local_stamp(entry.deadline, tz) if entry.deadline is not None else None,
        "occurrence": parent["occurrence"],
        "explanation": (
            x.escalation_blocked_explanation(
                t,
                escalation=esc.description,
                who=label,
                obligation=parent["obligation"],
                deadline=x.format_instant(entry.parent.deadline, tz, t),
                waiting=", ".join(
                    routine.preconditions[name].label for name in entry.parent.blocked
                ),
            )
            if esc.on == "blocked"
            else x.escalation_explanation(
                t,
                escalation=esc.description,
                who=label,
                obligation=parent["obligation"],
                deadline=x.format_instant(entry.parent.deadline, tz, t),
            )
        ),
        "trigger": parent["trigger"],
        "fulfilled_by": None,
        "cancelled_by": None,
        "late_working_days": parent["late_working_days"],
        "late": parent["late"],
        "blocked_by": [],
        "unblocks": [],
        "escalates": parent["obligation"],
    }
    if cache.trace:
        out["trace"] = [
            x.escalated_trace(t, at=x.format_instant(entry.start, tz, t), role=esc.role)
        ]
    return out


def _remedy_dict(
    entry: RemedyEntry, first: Mapping[str, Any], as_of: datetime, cache: OutputCache
) -> dict[str, Any]:
    routine = entry.routine
    tz = routine.tz
    pre = entry.precondition
    t = cache.t
    due = x.format_instant(entry.deadline, tz, t)
    unblocks = list(entry.unblocks)
    label = routine.role_label(entry.who)
    text = x.remedy_explanation(
        t,
        remedy=pre.remedy_description,
        who=label,
        deadline=due,
        obligations="; ".join(routine.obligation_name(o) for o in unblocks),
        overdue=entry.status == "overdue",
    )
    out: dict[str, Any] = {
        "obligation": entry.id,
        "rule": entry.name,
        "routine": first["routine"],
        "case": entry.case,
        "kind": pre.remedy_kind,
        "responsible": entry.who,
        "responsible_label": label,
        "recipients": [],
        "channel": pre.remedy_channel,
        "status": entry.status,
        "opens_at": first["opens_at"],
        "deadline": local_stamp(entry.deadline, tz),
        "occurrence": None,
        "explanation": text,
        "trigger": first["trigger"],
        "fulfilled_by": None,
        "cancelled_by": None,
        "late_working_days": entry.late,
        "late": lateness(routine, entry.deadline, entry.late_at, entry.late),
        "blocked_by": [],
        "unblocks": unblocks,
        "escalates": None,
    }
    if cache.trace:
        out["trace"] = [
            x.remedy_missing_trace(
                t, precondition=entry.name, label=pre.label, at=x.format_instant(as_of, tz, t)
            ),
            x.remedy_deadline_trace(t, obligation=first["obligation"], deadline=due),
        ]
    return out


def _built(
    ledger: CaseLedger, cache: OutputCache, wanted: Iterable[Entry]
) -> dict[int, dict[str, Any]]:
    """The JSON form of the ``wanted`` obligations of a ledger (by record identity), and of
    what they are written from: an escalation needs its parent's, a remedy its first
    member's, nothing else."""
    built: dict[int, dict[str, Any]] = {}
    for entry in wanted:
        _build(entry, ledger, cache, built)
    return built


def _build(
    entry: Entry, ledger: CaseLedger, cache: OutputCache, built: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """One obligation's JSON form, kept in ``built``, with what it is written from.

    A plain function, not a closure over ``built``: a nested function that calls itself is
    a reference cycle, and every dict it built would wait for the cycle collector."""
    done = built.get(id(entry))
    if done is not None:
        return done
    if isinstance(entry, RuleEntry):
        d = _rule_dict(entry, ledger.as_of, cache)
    elif isinstance(entry, EscalationEntry):
        d = _escalation_dict(entry, _build(entry.parent, ledger, cache, built), cache)
    else:
        d = _remedy_dict(entry, _build(entry.members[0], ledger, cache, built), ledger.as_of, cache)
    built[id(entry)] = d
    return d


def obligation_dicts(ledger: CaseLedger, cache: OutputCache) -> dict[int, dict[str, Any]]:
    """The obligations the cache's options ask for (the actions; with ``ledger``, all of
    them) in JSON form, keyed by the record's identity."""
    cache.new_case()
    return _built(ledger, cache, ledger.obligations if cache.ledger else ledger.actions)


def entry_models(
    ledger: CaseLedger, cache: OutputCache, wanted: Iterable[Entry]
) -> dict[int, Obligation]:
    """The public objects of some obligations of a ledger (by record identity), built alone."""
    wanted = list(wanted)
    built = _built(ledger, cache, wanted)
    shared: dict[int, Any] = {}
    return {id(entry): _model(built[id(entry)], shared) for entry in wanted}


def period_dict(entry: PeriodEntry, cache: OutputCache) -> dict[str, Any]:
    """A period in the evaluation contract's JSON form."""
    routine = entry.routine
    tz = routine.tz
    spec = entry.period.spec
    length = period_length(entry)
    days = length.days
    interp = spec.interpretation
    return {
        "period": entry.period.name,
        "label": spec.label,
        "routine": {"id": routine.id, "version": routine.version},
        "case": entry.start_event.case
        if entry.start_event is not None
        else entry.start_obligation.case
        if entry.start_obligation is not None
        else "",
        "start": local_stamp(entry.start, tz),
        "end": local_stamp(entry.end, tz) if entry.end is not None else None,
        "open": entry.end is None,
        "started_by": cache.ref(entry.start_event, routine),
        "started_by_obligation": (
            entry.start_obligation.id if entry.start_obligation is not None else None
        ),
        "ended_by": cache.ref(entry.end_event, routine),
        "length": length._asdict(),
        "amount": (
            round(days * spec.amount_per_day, 2) if spec.amount_per_day is not None else None
        ),
        "source": {
            "document": routine.routine.source.title,
            "section": spec.source.section,
            "quote": spec.source.quote,
        },
        "interpretation": (
            {"reason": interp.reason, "text": interp.text} if interp is not None else None
        ),
    }


def case_dict(ledger: CaseLedger, cache: OutputCache) -> dict[str, Any]:
    """The case in the evaluation contract's JSON form: ``{"case", "actions", "obligations"}``
    and, when the case has any, ``"periods"``."""
    built = obligation_dicts(ledger, cache)
    out: dict[str, Any] = {"case": ledger.case, "actions": [built[id(e)] for e in ledger.actions]}
    if cache.ledger:
        out["obligations"] = [built[id(e)] for e in ledger.obligations]
    if ledger.periods:
        out["periods"] = [period_dict(p, cache) for p in ledger.periods]
    return out


def case_result(ledger: CaseLedger, cache: OutputCache) -> CaseResult:
    """The case as the public :class:`~samverkan_rules.records.CaseResult` object."""

    built = obligation_dicts(ledger, cache)
    shared: dict[int, Any] = {}  # one record per shared part (an event, a routine version)
    models = {key: _model(d, shared) for key, d in built.items()}
    return CaseResult(
        case=ledger.case,
        actions=[models[id(e)] for e in ledger.actions],
        obligations=[models[id(e)] for e in ledger.obligations] if cache.ledger else None,
        periods=[_period_model(period_dict(p, cache)) for p in ledger.periods],
    )


def _model(d: dict[str, Any], shared: dict[int, Any]) -> Obligation:
    """The record of an obligation's JSON form (its parts are replaced by records, so ``d``
    is not for use again). The parts the output cache
    shares between obligations (an event's reference, a routine version's) become one
    record each, by the identity of the shared mapping, kept in ``shared``."""

    def once(cls: type[Any], value: Mapping[str, Any] | None) -> Any:
        if value is None:
            return None
        record = shared.get(id(value))
        if record is None:
            record = shared[id(value)] = cls(**value)
        return record

    fields = d
    fields["routine"] = once(RoutineRef, d["routine"])
    fields["trigger"] = once(EventRef, d["trigger"])
    fields["fulfilled_by"] = once(EventRef, d["fulfilled_by"])
    fields["cancelled_by"] = once(EventRef, d["cancelled_by"])
    fields["late"] = Lateness(**d["late"]) if d["late"] else None
    party = d.get("responsible_party")
    if party is not None:
        fields["responsible_party"] = ResponsibleParty(**party)
    anchor = d.get("anchor")
    if anchor is not None:
        fields["anchor"] = Anchor(**anchor)
    before = d.get("before")
    if before is not None:
        fields["before"] = once(EventRef, before)
    return Obligation(**fields)


def _period_model(d: Mapping[str, Any]) -> Any:

    fields = dict(d)
    fields["routine"] = RoutineRef(**d["routine"])
    fields["length"] = PeriodLength(**d["length"])
    fields["source"] = SourceRecord(**d["source"])
    fields["interpretation"] = (
        InterpretationRecord(**d["interpretation"]) if d["interpretation"] else None
    )
    for key in ("started_by", "ended_by"):
        fields[key] = EventRef(**d[key]) if d[key] else None
    return PeriodRecord(**fields)


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
    head: Mapping[str, Any],
    items: Iterable[Mapping[str, Any]],
    tail: Callable[[], Mapping[str, Any]],
) -> Iterator[bytes]:
    """``head`` as the first line, one compact JSON object a line for each item, then
    ``tail()`` as the last line (called after the last item)."""
    yield dumps_bytes(head, indent=None) + b"\n"
    for item in items:
        yield dumps_bytes(item, indent=None) + b"\n"
    yield dumps_bytes(tail(), indent=None) + b"\n"
