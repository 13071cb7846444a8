"""The reference evaluator: events in, obligations and actions out.

:func:`evaluate` is a pure function. It orders events by (instant, id), replays each case
through every routine version in force, and reports every obligation's status at
``as_of``. The same inputs give the same JSON, byte for byte, in any input order.

Only events at or before ``as_of`` count: evaluating "as of" a past instant shows what was
known then. Events after it are reported in a diagnostic, not silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from samverkan_rules.calendar import (
    format_rfc3339,
    local_date,
    parse_rfc3339,
    require_aware,
    start_of_day,
)
from samverkan_rules.compiler import (
    CompiledQueue,
    CompiledRoutine,
    CompiledRule,
    TimePoint,
    _fmt,
    local_stamp,
    offset_after,
)
from samverkan_rules.diagnostics import Diagnostic, sort_key
from samverkan_rules.errors import CalendarError, EvaluationError
from samverkan_rules.evaluation import (
    ACTION_STATUSES,
    CaseResult,
    DiagnosticRecord,
    Evaluation,
    EventRef,
    Obligation,
    QueueEntry,
    QueueOffer,
    QueueResult,
    RoutineRef,
    RoutineStamp,
    SourceRecord,
    Status,
)
from samverkan_rules.events import Event, EventBatch, deduplicate, events_from_records
from samverkan_rules.models import Source
from samverkan_rules.registry import Window, validity_windows

__all__ = ["Ruleset", "evaluate"]

Ruleset = CompiledRoutine | Sequence[CompiledRoutine]
"""One compiled routine, or several (versions of one routine, or different routines)."""

_STATUS_ORDER = (
    "upcoming",
    "due",
    "fulfilled",
    "fulfilled_late",
    "overdue",
    "cancelled",
    "blocked",
)


@dataclass(slots=True)
class _Pending:
    """An obligation while its case is replayed (local to one evaluate call)."""

    routine: CompiledRoutine
    rule: CompiledRule
    trigger: Event
    deadline: TimePoint
    opens: TimePoint | None
    responsible: str = ""
    recipients: tuple[str, ...] = ()
    role_note: str | None = None
    answer: Event | None = None
    cancel: Event | None = None
    seq: int = 0

    @property
    def id(self) -> str:
        return f"{self.rule.id}:{self.trigger.id}"

    @property
    def open(self) -> bool:
        return self.answer is None and self.cancel is None


@dataclass(slots=True)
class _CaseState:
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: list[_Pending] = field(default_factory=list)
    waiting: dict[str, list[_Pending]] = field(default_factory=dict)


def _routines(ruleset: Ruleset) -> tuple[CompiledRoutine, ...]:
    if isinstance(ruleset, CompiledRoutine):
        return (ruleset,)
    out = tuple(ruleset)
    if not out:
        raise EvaluationError("evaluate needs at least one routine")
    seen: set[tuple[str, str]] = set()
    for r in out:
        key = (r.id, r.version)
        if key in seen:
            raise EvaluationError(f"routine {r.id} version {r.version} is given twice")
        seen.add(key)
    return out


def _prepare(
    events: Iterable[Event | Mapping[str, Any]] | EventBatch,
) -> tuple[list[Event], list[Diagnostic]]:
    if isinstance(events, EventBatch):
        return list(events.events), list(events.diagnostics)
    items = list(events)
    if all(isinstance(e, Event) for e in items):
        return deduplicate(e for e in items if isinstance(e, Event))
    records = [e.to_json() if isinstance(e, Event) else e for e in items]
    batch = events_from_records(records)
    return list(batch.events), list(batch.diagnostics)


def _replay(
    case_id: str,
    case_events: Sequence[Event],
    routines: tuple[CompiledRoutine, ...],
    windows: Mapping[tuple[str, str], Window],
    counters: dict[str, int],
    problems: list[Diagnostic],
) -> tuple[list[_Pending], dict[str, dict[str, Any]]]:
    state = _CaseState(facts={r.key: dict(r.fact_defaults) for r in routines})
    seq = 0
    instant: datetime | None = None
    same_instant: list[Event] = []  # earlier events at this instant, in replay order
    for event in case_events:
        etype = event.type
        if event.at != instant:
            instant, same_instant = event.at, []
        # 1. Answers: a later event fulfils or cancels what is still open.
        waiting = state.waiting.get(etype)
        if waiting:
            still: list[_Pending] = []
            for ob in waiting:
                if not ob.open:
                    continue
                facts = state.facts[ob.routine.key]
                if _answers(event, ob, facts):
                    ob.answer = event
                elif event.at <= ob.deadline.at and any(
                    p.matches(event, ob.trigger, facts)
                    for p in ob.rule.cancelled_by
                    if p.event_type == etype
                ):
                    # A cancelling event after the deadline does not undo the breach.
                    ob.cancel = event
                else:
                    still.append(ob)
            state.waiting[etype] = still
        same_instant.append(event)
        if event.case != case_id:
            continue  # borrowed from another case: it may only answer `any_case` patterns
        tick_of = event.data.get("routine") if etype.startswith(TICK_PREFIX) else None
        in_force = outside = False
        for routine in routines:
            key = routine.key
            facts = state.facts[key]
            # 2. Facts as they stand after this event.
            for setter in routine.fact_setters.get(etype, ()):
                if setter.condition(event, facts):
                    facts[setter.fact] = setter.value_for(event, facts.get(setter.fact))
            # 3. Triggers: new obligations, judged by the version in force at the trigger.
            rules = routine.rules_by_trigger.get(etype)
            if not rules:
                continue
            if tick_of is not None:
                if tick_of != key:
                    continue  # an occurrence belongs to the version that scheduled it
            elif not windows[(routine.id, routine.version)].contains(
                local_date(event.at, routine.tz)
            ):
                outside = True
                continue
            in_force = True
            for rule in rules:
                if not rule.condition(event, facts) or rule.unless(event, facts):
                    continue
                seq += 1
                try:
                    deadline = rule.deadline.compute(event)
                    opens = rule.opens.compute(event) if rule.opens else None
                except CalendarError as exc:
                    problems.append(
                        Diagnostic(
                            "error",
                            "event.out-of-calendar",
                            f"event {event.id!r}: rule {rule.id} cannot place its deadline: {exc}",
                            file=event.file,
                            line=event.line,
                            hint="check the dates in the event's data",
                        )
                    )
                    continue
                if tick_of is not None and _before_its_time(event, deadline):
                    continue
                responsible, recipients, note = rule.roles_for(facts)
                ob = _Pending(
                    routine=routine,
                    rule=rule,
                    trigger=event,
                    deadline=deadline,
                    opens=opens,
                    responsible=responsible,
                    recipients=recipients,
                    role_note=note,
                    seq=seq,
                )
                state.pending.append(ob)
                # An answer logged in the same second counts, whatever the ids' order.
                for earlier in same_instant[:-1]:
                    if _answers(earlier, ob, facts):
                        ob.answer = earlier
                        break
                for pattern in rule.fulfilled_by + rule.cancelled_by:
                    bucket = state.waiting.setdefault(pattern.event_type, [])
                    if not bucket or bucket[-1] is not ob:
                        bucket.append(ob)
        if outside and not in_force:
            counters["outside_validity"] = counters.get("outside_validity", 0) + 1
    return state.pending, state.facts


def _before_its_time(tick: Event, deadline: TimePoint) -> bool:
    """True when a scheduled obligation fell due before its period or the events began."""
    return deadline.at < tick.at or deadline.at < parse_rfc3339(tick.data["not_before"])


def _checker(
    owners: Sequence[CompiledRoutine],
    windows: Mapping[tuple[str, str], Window],
    event: Event,
) -> CompiledRoutine:
    """The routine that judges an event's data: the version in force on its date, when
    several versions know its type (their roles may differ), else the first."""
    if len(owners) > 1:
        for routine in owners:
            if windows[(routine.id, routine.version)].contains(local_date(event.at, routine.tz)):
                return routine
    return owners[0]


def _answers(event: Event, ob: _Pending, facts: Mapping[str, Any]) -> bool:
    """True when ``event`` fulfils ``ob``: it matches a pattern and its window has opened."""
    if ob.opens is not None and event.at < ob.opens.at:
        return False  # too early: e.g. last month's late list is not this month's
    return any(
        p.matches(event, ob.trigger, facts)
        for p in ob.rule.fulfilled_by
        if p.event_type == event.type
    )


TICK_PREFIX = "schedule."


def _ticks(
    routines: tuple[CompiledRoutine, ...],
    windows: Mapping[tuple[str, str], Window],
    events: Sequence[Event],
    as_of: datetime,
) -> list[Event]:
    """The occurrences of every triggering schedule, as events in their units' cases.

    An occurrence's event happens when its period begins (the previous occurrence, or the
    day the routine version comes into force), so the obligation is open for the whole
    period. Occurrences run up to the first one whose period has begun by ``as_of``. Each
    carries ``not_before``: an obligation due before it is not raised, because the routine
    was not yet in force or the events do not reach back that far (the earliest event, or
    ``as_of`` when that is earlier).
    """
    out: list[Event] = []
    for routine in routines:
        if not routine.ticking:
            continue
        tz = routine.tz
        window = windows[(routine.id, routine.version)]
        as_of_day = local_date(as_of, tz)
        covered = min(min((local_date(e.at, tz) for e in events), default=as_of_day), as_of_day)
        key = routine.key
        for name in routine.ticking:
            schedule = routine.schedules[name]
            begins = max(window.first, schedule.starts or window.first)
            in_force = start_of_day(begins, tz).astimezone(UTC)
            not_before = format_rfc3339(start_of_day(max(begins, covered), tz))
            first = max(begins, covered - timedelta(days=_LOOKAHEAD_DAYS))
            end = as_of_day + timedelta(days=_LOOKAHEAD_DAYS)
            if window.last is not None:
                end = min(end, window.last)
            if first > end:
                continue
            occurrences = schedule.occurrences(first - timedelta(days=_LOOKAHEAD_DAYS), end)
            for prev, cur in pairwise(occurrences):
                if prev > as_of:
                    break
                if local_date(cur, tz) < first:
                    continue
                local = schedule.local(cur)
                for unit in schedule.units:
                    out.append(
                        Event(
                            id=f"{schedule.occurrence_name(cur)}:{unit}",
                            case=unit,
                            type=f"{TICK_PREFIX}{name}",
                            at=max(prev, in_force),
                            data={
                                "date": local.date().isoformat(),
                                "time": local.strftime("%H:%M"),
                                "occurrence": format_rfc3339(local),
                                "schedule": name,
                                "routine": key,
                                "not_before": not_before,
                            },
                        )
                    )
    return out


_LOOKAHEAD_DAYS = 62
"""Longer than any schedule's period, so the current period's occurrence is always found."""


def _lend(
    by_case: dict[str, list[Event]],
    routines: tuple[CompiledRoutine, ...],
    events: Sequence[Event],
) -> None:
    """Give each unit's case the events of other cases that may answer its obligations."""
    borrow = frozenset().union(*(r.borrow_types for r in routines))
    if not borrow:
        return
    units = {u for r in routines for u in r.routine.units}
    lent = [e for e in events if e.type in borrow]
    for unit in units & set(by_case):
        by_case[unit].extend(e for e in lent if e.case != unit)


def _ref(
    event: Event | None, routine: CompiledRoutine, refs: dict[str, EventRef]
) -> EventRef | None:
    """The output reference to an event, built once per event and evaluation."""
    if event is None:
        return None
    ref = refs.get(event.id)
    if ref is None:
        ref = EventRef.model_construct(
            event=event.id, type=event.type, at=local_stamp(event.at, routine.tz)
        )
        refs[event.id] = ref
    return ref


def _late(routine: CompiledRoutine, deadline: datetime, moment: datetime) -> int:
    return routine.calendar.working_days_between(
        local_date(deadline, routine.tz), local_date(moment, routine.tz)
    )


def _status_of(ob: _Pending, as_of: datetime, blocked: list[str]) -> tuple[Status, int | None]:
    deadline = ob.deadline.at
    if ob.answer is not None:
        if ob.answer.at <= deadline:
            return "fulfilled", None
        return "fulfilled_late", _late(ob.routine, deadline, ob.answer.at)
    if ob.cancel is not None:
        return "cancelled", None
    if blocked:
        return "blocked", None
    if ob.opens is not None and as_of < ob.opens.at:
        return "upcoming", None
    if as_of <= deadline:
        return "due", None
    return "overdue", _late(ob.routine, deadline, as_of)


def _explain(ob: _Pending, status: Status, late: int | None, blocked_labels: list[str]) -> str:
    routine = ob.routine
    action = ob.rule.rule.action
    who = routine.role_label(ob.responsible)
    due = _fmt(ob.deadline.at, routine.tz)
    cause = f"utlöst av {ob.trigger.type} {ob.trigger.id}"
    if status == "fulfilled":
        assert ob.answer is not None
        return (
            f"{action.description}: gjort i tid av {ob.answer.id} "
            f"{_fmt(ob.answer.at, routine.tz)} (senast {due}); {cause}."
        )
    if status == "fulfilled_late":
        assert ob.answer is not None
        return (
            f"{action.description}: gjort {late} vardag(ar) för sent av {ob.answer.id} "
            f"{_fmt(ob.answer.at, routine.tz)} (senast {due}); {cause}."
        )
    if status == "cancelled":
        assert ob.cancel is not None
        return f"{action.description}: avbruten av {ob.cancel.type} {ob.cancel.id}; {cause}."
    if status == "blocked":
        return (
            f"{action.description} ({who}, senast {due}) väntar på: "
            f"{', '.join(blocked_labels)}; {cause}."
        )
    if status == "upcoming":
        assert ob.opens is not None
        return (
            f"{action.description} ({who}): från {_fmt(ob.opens.at, routine.tz)}, "
            f"senast {due}; {cause}."
        )
    if status == "due":
        return f"{action.description} ({who}) senast {due}; {cause}."
    since = "samma dag" if not late else f"{late} vardag(ar) sedan"
    return (
        f"{action.description} ({who}): försenad, skulle vara gjort senast {due} "
        f"({since}); {cause}."
    )


def _obligation(
    ob: _Pending, as_of: datetime, facts: Mapping[str, Any], refs: dict[str, EventRef]
) -> Obligation:
    routine = ob.routine
    rule = ob.rule.rule
    blocked = []
    labels = []
    if ob.open and ob.rule.requires:
        probe = ob.trigger
        for name in ob.rule.requires:
            pre = routine.preconditions[name]
            if not pre.holds(probe, facts):
                blocked.append(name)
                labels.append(pre.label)
    status, late = _status_of(ob, as_of, blocked)
    trace = [f"{rule.id}: {cause_line(ob)}", "frist: " + "; ".join(ob.deadline.steps)]
    if ob.opens is not None:
        trace.append("öppnar: " + "; ".join(ob.opens.steps))
    if ob.role_note:
        trace.append(ob.role_note)
    if ob.answer is not None:
        trace.append(
            f"uppfylld av {ob.answer.id} ({ob.answer.type}) {_fmt(ob.answer.at, routine.tz)}"
        )
    if ob.cancel is not None:
        trace.append(
            f"avbruten av {ob.cancel.id} ({ob.cancel.type}) {_fmt(ob.cancel.at, routine.tz)}"
        )
    if blocked:
        trace.append("blockerad: " + ", ".join(labels))
    trace.append(f"status vid {_fmt(as_of, routine.tz)}: {status}")
    return Obligation.model_construct(
        obligation=ob.id,
        rule=rule.id,
        routine=ob.rule.routine_ref,
        case=ob.trigger.case,
        kind=rule.action.kind,
        title=rule.title,
        responsible=ob.responsible,
        responsible_label=routine.role_label(ob.responsible),
        recipients=list(ob.recipients),
        channel=rule.action.channel,
        status=status,
        opens_at=local_stamp((ob.opens.at if ob.opens else ob.trigger.at), routine.tz),
        deadline=local_stamp(ob.deadline.at, routine.tz),
        occurrence=_occurrence(ob),
        content=list(rule.action.content),
        source=ob.rule.source_record,
        interpretation=ob.rule.interpretation_record,
        explanation=_explain(ob, status, late, labels),
        trigger=_ref(ob.trigger, routine, refs),
        fulfilled_by=_ref(ob.answer, routine, refs),
        cancelled_by=_ref(ob.cancel, routine, refs),
        late_working_days=late,
        blocked_by=blocked,
        unblocks=[],
        escalates=None,
        trace=trace,
    )


def _occurrence(ob: _Pending) -> str | None:
    if ob.trigger.type.startswith(TICK_PREFIX):
        data = ob.trigger.data
        return f"{data['schedule']}@{data['occurrence']}"
    return ob.deadline.occurrence or (ob.opens.occurrence if ob.opens else None)


def cause_line(ob: _Pending) -> str:
    """How an obligation arose, in one line."""
    return (
        f"{ob.trigger.type} {ob.trigger.id} {_fmt(ob.trigger.at, ob.routine.tz)} "
        f"(ärende {ob.trigger.case})"
    )


def _open_twin(
    ledger: list[tuple[_Pending, Obligation]],
    routine: CompiledRoutine,
    kind: str,
    who: str,
    deadline: datetime,
) -> tuple[int, Obligation] | None:
    for index, (ob, record) in enumerate(ledger):
        if (
            ob.routine is routine
            and record.kind == kind
            and record.responsible == who
            and record.status in ("upcoming", "due", "overdue")
            and ob.deadline.at <= deadline
        ):
            return index, record
    return None


def _remedies(
    case: str, ledger: list[tuple[_Pending, Obligation]], as_of: datetime
) -> list[Obligation]:
    """One remedy per (precondition, responsible role), carrying the earliest blocked deadline.

    When the case already has an open obligation that is the remedy (obtain consent at
    enrolment, say) and it is due no later, that obligation lists what it unblocks
    instead of a second, identical action appearing (``ledger`` is updated in place).
    """
    groups: dict[tuple[str, str, str], list[tuple[_Pending, Obligation]]] = {}
    for ob, record in ledger:
        for name in record.blocked_by:
            pre = ob.routine.preconditions[name]
            who = pre.remedy_responsible or record.responsible
            groups.setdefault((ob.routine.id, name, who), []).append((ob, record))
    out = []
    for (_rid, name, who), members in sorted(groups.items()):
        members.sort(key=lambda m: (m[0].deadline.at, m[1].obligation))
        first, first_record = members[0]
        routine = first.routine
        pre = routine.preconditions[name]
        deadline = first.deadline.at
        status: Status = "due" if as_of <= deadline else "overdue"
        late = None if status == "due" else _late(routine, deadline, as_of)
        unblocks = [m[1].obligation for m in members]
        twin = _open_twin(ledger, routine, pre.remedy_kind, who, deadline)
        if twin is not None:
            index, record = twin
            ledger[index] = (ledger[index][0], record.model_copy(update={"unblocks": unblocks}))
            continue
        due = _fmt(deadline, routine.tz)
        text = (
            f"{pre.remedy_description} ({routine.role_label(who)}) senast {due}, "
            f"så att {', '.join(unblocks)} kan göras."
        )
        if status == "overdue":
            text = f"Försenad: {text}"
        out.append(
            Obligation.model_construct(
                obligation=f"{name}:{case}:{who}",
                rule=name,
                routine=first_record.routine,
                case=case,
                kind=pre.remedy_kind,
                title=pre.label,
                responsible=who,
                responsible_label=routine.role_label(who),
                recipients=[],
                channel=pre.remedy_channel,
                status=status,
                opens_at=first_record.opens_at,
                deadline=local_stamp(deadline, routine.tz),
                occurrence=None,
                content=list(pre.remedy_content),
                source=_source_record(routine, routine.routine.preconditions[name].source),
                interpretation=None,
                explanation=text,
                trigger=first_record.trigger,
                fulfilled_by=None,
                cancelled_by=None,
                late_working_days=late,
                blocked_by=[],
                unblocks=unblocks,
                escalates=None,
                trace=[
                    f"{name}: {pre.label} saknas vid {_fmt(as_of, routine.tz)}",
                    f"frist från {first_record.obligation}: {due}",
                ],
            )
        )
    return out


def _source_record(routine: CompiledRoutine, source: Source | None) -> SourceRecord | None:
    if source is None:
        return None
    return SourceRecord.model_construct(
        document=routine.routine.source.title, section=source.section, quote=source.quote
    )


def _escalations(ob: _Pending, record: Obligation, as_of: datetime) -> list[Obligation]:
    out = []
    routine = ob.routine
    for esc in ob.rule.escalations:
        start = offset_after(ob.deadline.at, esc.after, tz=routine.tz, calendar=routine.calendar)
        if as_of < start:
            continue
        out.append(
            Obligation.model_construct(
                obligation=f"{record.obligation}:escalation-{esc.index}",
                rule=record.rule,
                routine=record.routine,
                case=record.case,
                kind="escalate",
                title=f"Eskalering: {record.title}",
                responsible=esc.role,
                responsible_label=routine.role_label(esc.role),
                recipients=[],
                channel=None,
                status="due",
                opens_at=local_stamp(start, routine.tz),
                deadline=None,
                occurrence=record.occurrence,
                content=[],
                source=record.source,
                interpretation=record.interpretation,
                explanation=(
                    f"{esc.description} ({routine.role_label(esc.role)}): "
                    f"{record.obligation} är försenad sedan {_fmt(ob.deadline.at, routine.tz)}."
                ),
                trigger=record.trigger,
                fulfilled_by=None,
                cancelled_by=None,
                late_working_days=record.late_working_days,
                blocked_by=[],
                unblocks=[],
                escalates=record.obligation,
                trace=[f"eskaleras från {_fmt(start, routine.tz)} till {esc.role}"],
            )
        )
    return out


@dataclass(slots=True)
class _Queued:
    """A case's place in a queue while the events are replayed."""

    priority: int
    since: datetime
    join: str
    label: str

    @property
    def key(self) -> tuple[int, datetime, str]:
        return (self.priority, self.since, self.join)


def _queue_result(
    routine: CompiledRoutine,
    window: Window,
    queue: CompiledQueue,
    events: Sequence[Event],
    problems: list[Diagnostic],
) -> QueueResult:
    """Replay ``events`` (sorted by (instant, id)) through one queue of one version.

    For each event: its join (if any) first, then its offer, then its leave, so an event
    that both offers and removes is judged against the queue it finds.
    """
    tz = routine.tz
    queued: dict[str, _Queued] = {}
    offers: list[QueueOffer] = []
    for event in events:
        in_force = window.contains(local_date(event.at, tz))
        join = queue.join(event) if in_force else None
        if join is not None:
            current = queued.get(event.case)
            if current is None:
                queued[event.case] = _Queued(join.priority, event.at, event.id, join.label)
            elif join.priority < current.priority:
                current.priority, current.label = join.priority, join.label
        if in_force and queue.offers_on(event):
            first = min(queued.items(), key=lambda kv: (kv[1].key, kv[0]), default=None)
            in_order = first is not None and first[0] == event.case
            offers.append(
                QueueOffer.model_construct(
                    event=event.id,
                    case=event.case,
                    at=local_stamp(event.at, tz),
                    in_order=in_order,
                    first=first[0] if first is not None else None,
                )
            )
            if not in_order:
                problems.append(_out_of_order(routine, queue, event, first, event.case in queued))
        if queue.leaves_on(event):
            queued.pop(event.case, None)
    order = sorted(queued.items(), key=lambda kv: (kv[1].key, kv[0]))
    return QueueResult.model_construct(
        queue=queue.name,
        routine=RoutineRef.model_construct(id=routine.id, version=routine.version),
        label=queue.label,
        order=[
            QueueEntry.model_construct(
                case=case,
                priority=q.priority,
                label=q.label,
                since=local_stamp(q.since, tz),
            )
            for case, q in order
        ],
        offers=offers,
    )


def _out_of_order(
    routine: CompiledRoutine,
    queue: CompiledQueue,
    offer: Event,
    first: tuple[str, _Queued] | None,
    queued: bool,
) -> Diagnostic:
    where = f"queue {queue.name} ({queue.label}) of routine {routine.id} {routine.version}"
    whom = f"offer {offer.id} on {_fmt(offer.at, routine.tz)} went to case {offer.case!r}"
    if not queued:
        whom += ", which was not in the queue"
    if first is None:
        tail = "; the queue was empty"
        hint = "put the case in the queue (e.g. record its decision) before offering it a place"
    else:
        case, q = first
        tail = (
            f", but case {case!r} was first in line ({q.label}, priority {q.priority}, "
            f"queued since {_fmt(q.since, routine.tz)})"
        )
        hint = f"offer the place to case {case!r} first, or record why the order was departed from"
    return Diagnostic(
        "warning",
        "queue.out-of-order",
        f"{where}: {whom}{tail}",
        file=offer.file,
        line=offer.line,
        hint=hint,
    )


def _queues(
    routines: tuple[CompiledRoutine, ...],
    windows: Mapping[tuple[str, str], Window],
    events: Sequence[Event],
    problems: list[Diagnostic],
) -> list[QueueResult]:
    """Every routine version's queues, replayed over all cases' events."""
    if not any(r.queues for r in routines):
        return []
    ordered = sorted(events, key=lambda e: e.order_key)
    out: list[QueueResult] = []
    for routine in sorted(routines, key=lambda r: (r.id, r.version)):
        window = windows[(routine.id, routine.version)]
        for name in sorted(routine.queues):
            out.append(_queue_result(routine, window, routine.queues[name], ordered, problems))
    return out


def _action_key(o: Obligation) -> tuple[str, str, str]:
    # RFC 3339 strings with different offsets do not sort as instants; parse them.
    moment = o.deadline or o.opens_at or ""
    if moment:
        moment = datetime.fromisoformat(moment).astimezone(UTC).isoformat()
    return (moment, o.obligation, o.status)


def evaluate(
    ruleset: Ruleset,
    events: Iterable[Event | Mapping[str, Any]] | EventBatch,
    as_of: datetime,
    *,
    cases: Iterable[str] | None = None,
) -> Evaluation:
    """Evaluate events against one or more compiled routines at ``as_of``.

    Args:
        ruleset: A compiled routine, or several (e.g. every version of a routine: each
            obligation is judged by the version in force when its trigger happened).
        events: Events, event mappings, or an :class:`EventBatch` from a file (its
            diagnostics are carried into the result).
        as_of: The instant to evaluate at; must carry a UTC offset.
        cases: When given, only these cases are evaluated; events of other cases are
            reported as ``event.unknown-case`` warnings.

    Returns:
        The full ledger and the actions per case, with diagnostics. Pure: the same inputs
        give the same output, whatever the order of ``events``.

    Raises:
        EvaluationError: for a naive ``as_of`` or an empty ruleset.

    Examples:
        >>> from samverkan_rules import load_routine
        >>> routine = load_routine("routines/orebro-dagverksamhet-hemvard.yaml")
        >>> events = [
        ...   {"id": "e1", "case": "c1", "type": "consent.given",
        ...    "at": "2026-12-01T09:00:00+01:00", "data": {"form": "written"}},
        ...   {"id": "e2", "case": "c1", "type": "dagverksamhet.start_planned",
        ...    "at": "2026-12-01T10:00:00+01:00",
        ...    "data": {"start_date": "2026-12-28", "form": "dagrehab"}}]
        >>> result = evaluate(routine, events, datetime.fromisoformat("2026-12-15T12:00:00+01:00"))
        >>> [(a.rule, a.deadline) for a in result.case("c1").actions if a.rule == "start-message"]
        [('start-message', '2026-12-22T23:59:59+01:00')]
    """
    try:
        as_of = require_aware(as_of, "as_of")
    except CalendarError as exc:
        raise EvaluationError(str(exc)) from None
    routines = _routines(ruleset)
    windows, overlaps = validity_windows(routines)
    if overlaps:
        raise EvaluationError("routine versions overlap", overlaps)
    tz = routines[0].tz
    as_of = as_of.astimezone(UTC)
    prepared, diagnostics = _prepare(events)

    checkers: dict[str, list[CompiledRoutine]] = {}
    for r in routines:
        for name in r.event_types:
            checkers.setdefault(name, []).append(r)
    wanted = set(cases) if cases is not None else None
    usable: list[Event] = []
    later = 0
    unknown_cases: dict[str, int] = {}
    for event in prepared:
        problems = _checker(checkers.get(event.type, [routines[0]]), windows, event).check_event(
            event
        )
        diagnostics.extend(problems)
        if any(p.is_error for p in problems):
            continue
        if wanted is not None and event.case not in wanted:
            unknown_cases[event.case] = unknown_cases.get(event.case, 0) + 1
            continue
        if event.at > as_of:
            later += 1
            continue
        usable.append(event)
    for case_id, count in sorted(unknown_cases.items()):
        diagnostics.append(
            Diagnostic(
                "warning",
                "event.unknown-case",
                f"{count} event(s) for case {case_id!r}, which is not among the cases asked for; "
                "not evaluated",
            )
        )
    if later:
        diagnostics.append(
            Diagnostic(
                "info",
                "event.after-as-of",
                f"{later} event(s) after as_of {local_stamp(as_of, tz)} are not evaluated",
                hint="evaluate at a later as_of to include them",
            )
        )

    ticks = _ticks(routines, windows, usable, as_of)
    by_case: dict[str, list[Event]] = {}
    for event in usable:
        by_case.setdefault(event.case, []).append(event)
    for event in ticks:
        by_case.setdefault(event.case, []).append(event)
    _lend(by_case, routines, usable)
    for stream in by_case.values():
        stream.sort(key=lambda e: e.order_key)

    counters: dict[str, int] = {}
    summary = dict.fromkeys(_STATUS_ORDER, 0)
    results: list[CaseResult] = []
    refs: dict[str, EventRef] = {}
    for case_id in sorted(by_case):
        pending, facts = _replay(
            case_id, by_case[case_id], routines, windows, counters, diagnostics
        )
        ledger: list[tuple[_Pending, Obligation]] = []
        extra: list[Obligation] = []
        for ob in pending:
            record = _obligation(ob, as_of, facts[ob.routine.key], refs)
            ledger.append((ob, record))
            if record.status == "overdue":
                extra.extend(_escalations(ob, record, as_of))
        extra.extend(_remedies(case_id, ledger, as_of))
        obligations = [r for _, r in ledger] + extra
        for o in obligations:
            summary[o.status] += 1
        actions = sorted((o for o in obligations if o.status in ACTION_STATUSES), key=_action_key)
        results.append(
            CaseResult.model_construct(case=case_id, actions=actions, obligations=obligations)
        )
    queues = _queues(routines, windows, usable, diagnostics)
    if counters.get("outside_validity"):
        diagnostics.append(
            Diagnostic(
                "warning",
                "routine.not-in-force",
                f"{counters['outside_validity']} trigger event(s) fell outside the validity of "
                "every given routine version and raised no obligation",
                hint="load the routine version that was in force then",
            )
        )
    for r in routines:
        review = r.routine.review_by
        if review is not None and review < local_date(as_of, r.tz):
            diagnostics.append(
                Diagnostic(
                    "warning",
                    "routine.review-passed",
                    f"routine {r.id} {r.version} was due for review on {review.isoformat()}",
                    file=r.file,
                    hint="ask the routine's owner whether it still applies",
                )
            )
        diagnostics.extend(r.diagnostics)
    summary["events"] = len(usable)
    summary["cases"] = len(results)
    diagnostics.sort(key=sort_key)
    return Evaluation.model_construct(
        as_of=local_stamp(as_of, tz),
        routines=[
            RoutineStamp.model_construct(
                id=r.id,
                version=r.version,
                sha256=r.sha256,
                valid_from=r.routine.valid_from.isoformat(),
                valid_to=(
                    windows[(r.id, r.version)].last.isoformat()  # type: ignore[union-attr]
                    if windows[(r.id, r.version)].last
                    else None
                ),
            )
            for r in sorted(routines, key=lambda r: (r.id, r.version))
        ],
        cases=results,
        diagnostics=[DiagnosticRecord.model_construct(**d.to_json()) for d in diagnostics],
        summary=summary,
        queues=queues,
    )
