"""The one place the audit calls the evaluator: a case's events in, obligation rows out.

Everything else in :mod:`samverkan_rules.audit` works on :class:`ObligationRow`, so a faster
evaluation path replaces :func:`rows_for_case` alone.

Three rulesets are prepared from the registry once (:class:`AuditRules`):

- ``plain``, for an ordinary case: schedules and queues taken out, since a schedule's
  occurrences belong to units' cases and a queue is judged over all cases together;
- ``unit``, for a unit's case (a schedule's unit, or a unit of the routine): schedules kept,
  queues out; its stream also carries the events other cases lend it (see the reader);
- ``queue``, for the queues: rules taken out, fed with every case's queue events at once.
"""

from __future__ import annotations

import dataclasses
import json
import re
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from types import MappingProxyType
from typing import NamedTuple
from zoneinfo import ZoneInfo

from samverkan_rules.audit.pseudonym import mask
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.compile.versions import validity_windows
from samverkan_rules.engine import Evaluator, evaluate
from samverkan_rules.engine.ledger import RuleEntry, late_working_days
from samverkan_rules.engine.occurrences import cancelling_types
from samverkan_rules.engine.periods import PeriodEntry, period_length
from samverkan_rules.engine.replay import CasePlan
from samverkan_rules.engine.result import Evaluation
from samverkan_rules.events.model import Event
from samverkan_rules.records import QueueResult, diagnostic_fields, to_builtins
from samverkan_rules.time.instants import local_date, local_stamp

KEPT_DEADLINES = 65_536
"""Deadlines whose text :meth:`AuditRules.deadline_stamp` keeps (then it starts again)."""

_NOT_IN_FORCE = re.compile(r"^(\d+) trigger event")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


class ObligationRow(NamedTuple):
    """One obligation of a rule, as the audit counts it.

    Times are RFC 3339 in the routine's local time. Lateness is None unless the obligation
    was fulfilled late (then: from the deadline until it was done) or is overdue at as_of
    (then: its age at the end of the audited period, 0 when the deadline fell after it).
    """

    case: str
    routine: str
    version: str
    rule: str
    responsible: str
    unit: str
    trigger: str
    deadline: str
    fulfilled: str
    status: str
    late_working_days: int | None
    late_calendar_days: int | None
    obligation: str = ""
    """The obligation's id (``<rule>:<trigger event id>``), as ``samverkan explain`` takes it."""
    trigger_event: str = ""
    """The id of the event that raised it."""
    groups: tuple[str, ...] = ()
    """The ``--group-by`` fields' values as of the trigger, "" where the case had none."""


class _Last:
    """Sorts after every text: an empty field of ``obligations.csv`` (SQL's NULLS LAST)."""

    __slots__ = ()

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return other is not self


_LAST = _Last()


def file_order(fields: Sequence[object]) -> tuple[object, ...]:
    """The sort key of an obligation row as ``obligations.csv`` is ordered: field by field,
    each as the text written for it, in the order of code points (UTF-8's byte order), an
    empty field after every text.

    :func:`.partition.audit_partition` writes each case's rows in this order and takes the
    cases in the order of their ids, so a partition's rows are sorted as they come.

    Examples:
        >>> rows = [("c", "r", None), ("c", "r", 10), ("c", "r", 9), ("c", "Ä", 1)]
        >>> sorted(rows, key=file_order)
        [('c', 'r', 10), ('c', 'r', 9), ('c', 'r', None), ('c', 'Ä', 1)]
    """
    return tuple([_LAST if v is None or v == "" else str(v) for v in fields])


_LEAD = itemgetter(1, 2, 3, 4, 5, 6, 7)
"""Routine, version, rule, responsible, unit, trigger and deadline: never empty."""


def sort_in_file_order(rows: list[tuple[str, ...]]) -> None:
    """Sort one case's rows (as written, the case first) in :func:`file_order`, in place.

    The fields after the case up to the deadline are never empty, so they order the rows as
    the whole key does except where they tie; only then are the rows sorted again by the
    whole key (most cases have no such tie, and the short key costs a tenth of the whole).
    """
    if len(rows) < 2:
        return
    rows.sort(key=_LEAD)
    if len(set(map(_LEAD, rows))) < len(rows):
        rows.sort(key=file_order)


class PeriodRow(NamedTuple):
    """One period of a case (a state with a length), as the audit sums it.

    An open period's length runs to as_of; ``amount_cents`` is the amount owed in
    hundredths, so sums are exact whatever order cases are added in.
    """

    routine: str
    version: str
    period: str
    rule: str
    """The rule whose breach started it, or "" for a period started by an event."""
    unit: str
    """The unit of the breached obligation's responsible role, or "" (started by an event)."""
    start: str
    """RFC 3339 in the routine's local time."""
    open: bool
    days: int
    working_days: int
    hours: int
    amount_cents: int | None


class CaseRows(NamedTuple):
    """A case's obligation and period rows and what the evaluator said about its events."""

    rows: list[ObligationRow]
    periods: list[PeriodRow]
    diagnostics: list[dict[str, object]]
    """Event-level diagnostics (JSON form); routine-level ones are left to the caller."""
    not_in_force: int
    """Trigger events that fell outside every version's validity."""


def _without(routine: CompiledRoutine, **changes: object) -> CompiledRoutine:
    return dataclasses.replace(routine, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class AuditRules:
    """The routine versions of one audit, prepared for case-by-case evaluation.

    Args:
        routines: Every version of the audited routine (e.g. a :class:`Registry`).
    """

    routines: tuple[CompiledRoutine, ...]
    plain: tuple[CompiledRoutine, ...]
    unit: tuple[CompiledRoutine, ...]
    queue: tuple[CompiledRoutine, ...]
    units: frozenset[str]
    """Case ids that are units: their streams get the lent events."""
    borrow_types: frozenset[str]
    """Event types that may answer a unit's obligations from any case."""
    queue_types: frozenset[str]
    """Event types that join, leave or offer in some queue."""
    cancelling_types: frozenset[str]
    """Event types that may call off a schedule's occurrence: they count for every case."""
    unit_of_role: Mapping[tuple[str, str, str], str]
    """(routine id, version, role) -> the role's unit."""
    _plans: dict[int, CasePlan] = field(default_factory=dict, compare=False, repr=False)
    _columns: dict[tuple[int, str, str], tuple[str, str, str, str, str, str]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _deadlines: dict[tuple[datetime, ZoneInfo], str] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def prepare(cls, routines: Sequence[CompiledRoutine]) -> AuditRules:
        """Prepare the three rulesets and the look-ups from the routine versions."""
        items = tuple(routines)
        empty: Mapping[str, object] = MappingProxyType({})
        units: set[str] = set()
        queue_types: set[str] = set()
        unit_of_role: dict[tuple[str, str, str], str] = {}
        for r in items:
            units.update(r.routine.units)
            for schedule in r.routine.schedules.values():
                units.update(schedule.units)
            for q in r.queues.values():
                queue_types.update(q.joins, q.leaves, q.offers)
            for name, role in r.routine.roles.items():
                unit_of_role[(r.id, r.version, name)] = role.unit or name
        return cls(
            routines=items,
            plain=tuple(_without(r, ticking=(), queues=empty) for r in items),
            unit=tuple(_without(r, queues=empty) for r in items),
            queue=tuple(_without(r, ticking=(), rules_by_trigger=empty, rules=()) for r in items),
            units=frozenset(units),
            borrow_types=frozenset().union(*(r.borrow_types for r in items)),
            queue_types=frozenset(queue_types),
            cancelling_types=cancelling_types(items),
            unit_of_role=MappingProxyType(unit_of_role),
        )

    def plan_for(self, ruleset: tuple[CompiledRoutine, ...]) -> CasePlan:
        """The evaluation plan of one of the rulesets, built once per audit."""
        key = id(ruleset)
        plan = self._plans.get(key)
        if plan is None:
            windows, _problems = validity_windows(ruleset)
            plan = self._plans[key] = CasePlan(ruleset, windows)
        return plan

    def row_columns(
        self, routine: CompiledRoutine, rule: str, responsible: str
    ) -> tuple[str, str, str, str, str, str]:
        """(routine id, version, rule, responsible, unit, the rule id masked) of an
        obligation row: the same for every obligation of a rule and role, so built once per
        audit."""
        key = (id(routine), rule, responsible)
        found = self._columns.get(key)
        if found is None:
            unit = self.unit_of_role.get((routine.id, routine.version, responsible), responsible)
            found = (routine.id, routine.version, rule, responsible, unit, mask(rule))
            self._columns[key] = found
        return found

    def deadline_stamp(self, deadline: datetime, tz: ZoneInfo) -> str:
        """:func:`local_stamp` of a deadline, kept: a history's obligations share few
        deadlines (most end a working day; 1,482 for 188,853 obligations of the benchmark's
        history), so most are written once. Kept up to :data:`KEPT_DEADLINES`."""
        key = (deadline, tz)
        found = self._deadlines.get(key)
        if found is None:
            if len(self._deadlines) >= KEPT_DEADLINES:
                self._deadlines.clear()
            found = self._deadlines[key] = local_stamp(deadline, tz)
        return found

    def baseline(self, as_of: datetime) -> Evaluation:
        """An evaluation without events: the routine-level diagnostics every call repeats."""
        return evaluate(self.plain, [], as_of)


def rows_for_case(
    rules: AuditRules,
    case: str,
    events: Sequence[Event],
    as_of: datetime,
    *,
    routine_level: frozenset[tuple[str, str]] = frozenset(),
    context: Sequence[Event] = (),
    group_by: Sequence[str] = (),
    period_end: datetime | None = None,
    checked: bool = False,
) -> CaseRows:
    """Evaluate one case's events and turn each rule obligation into an :class:`ObligationRow`.

    Remedies (obtain consent so that blocked obligations can go ahead) and escalations are
    left out: they follow from a rule's obligation, which is counted once.

    Args:
        rules: The prepared routines.
        case: The case to report; other cases' events in ``events`` only answer ``any_case``
            patterns of a unit's obligations.
        events: The case's events (a unit's case: with the events lent to it).
        as_of: The instant statuses are judged at.
        routine_level: (code, message) of diagnostics every evaluation repeats; left out.
        context: Every case's events that call off a schedule's occurrence
            (:meth:`Staging.events_of_types` of :attr:`AuditRules.cancelling_types`): a
            deadline at the next meeting takes the next one held.
        group_by: Data fields (``data.enhet``) whose value, as the case's events last gave
            it at or before each obligation's trigger, goes into the row's ``groups``.
        period_end: The end of the audited period (default ``as_of``): an overdue
            obligation's age is measured to it, not to when the audit ran.
        checked: The reader checked the events against these routines and kept the usable
            ones (the audited routines; not the compared ones, which may reject some), so
            they are not checked again.
    """
    ruleset = rules.unit if case in rules.units else rules.plain
    # The evaluator's compact ledger, read directly: no output objects, explanations or
    # traces are built for a history, and only the case asked for is replayed.
    run = Evaluator(ruleset, as_of, plan=rules.plan_for(ruleset), checked=checked)
    if context:
        events = [*events, *(e for e in context if e.case != case)]
    own = run.admit_all(events).get(case, [])
    rows: list[ObligationRow] = []
    periods: list[PeriodRow] = []
    if own or case in run.unit_cases():
        ledger = run.evaluate_case(case, own)
        groups = group_values(own, group_by) if group_by else None
        triggers: dict[int, tuple[str, str]] = {}
        for entry in ledger.obligations:
            if isinstance(entry, RuleEntry):
                row = _row(
                    rules, case, entry, as_of if period_end is None else period_end, triggers
                )
                rows.append(
                    row if groups is None else row._replace(groups=groups(entry.trigger.at))
                )
        periods = [_period_row(rules, p) for p in ledger.periods]
    _queues, found = run.finish()
    diagnostics: list[dict[str, object]] = []
    not_in_force = 0
    for d in found:
        if d.code == "routine.not-in-force":
            match = _NOT_IN_FORCE.match(d.message)
            not_in_force += int(match.group(1)) if match else 1
        elif d.code == "event.no-effect":
            continue  # counted over one case's stream, it says little about a history
        elif d.code == "event.unknown-field":
            continue  # the reader's check of every event reported it (unless declared)
        elif (d.code, d.message) not in routine_level:
            diagnostics.append(diagnostic_fields(d))
    return CaseRows(rows, periods, diagnostics, not_in_force)


def _value(data: Mapping[str, object], path: Sequence[str]) -> str:
    """The value at ``path`` in an event's data as text ("" when absent or empty)."""
    value: object = data
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return ""
        value = value[part]
    if value is None:
        return ""
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    elif not value.isprintable():  # a label: line breaks, tabs and the like become spaces
        value = _CONTROL.sub(" ", value)
    return mask(value.strip())


def group_values(
    events: Sequence[Event], fields: Sequence[str]
) -> Callable[[datetime], tuple[str, ...]]:
    """For an instant, each field's value as the events last gave it at or before then.

    Events are taken in the order of time and id, so the input order does not matter; an
    event without the field leaves the value as it was. Values that look like a
    personnummer are masked; line breaks, tabs and other control characters in a value
    become spaces (it is a label in tables, and a carriage return would break the rows).

    Examples:
        >>> from datetime import UTC
        >>> def e(i, day, **data):
        ...     return Event(id=i, case="c", type="t", at=datetime(2026, 1, day, tzinfo=UTC),
        ...                  data=data)
        >>> at = group_values([e("b", 5, enhet="Norr"), e("a", 1, enhet="Syd"), e("c", 3)],
        ...                   ["data.enhet"])
        >>> [at(datetime(2026, 1, d, tzinfo=UTC)) for d in (1, 4, 5, 9)]
        [('Syd',), ('Syd',), ('Norr',), ('Norr',)]
    """
    paths = [tuple(f.removeprefix("data.").split(".")) for f in fields]
    timeline = sorted(events, key=lambda e: (e.at, e.id))
    stamps = [e.at for e in timeline]
    carried: list[tuple[str, ...]] = []
    current = tuple("" for _ in paths)
    for e in timeline:
        found = [_value(e.data, p) for p in paths]
        current = tuple(new or old for new, old in zip(found, current, strict=True))
        carried.append(current)
    empty = tuple("" for _ in paths)

    def at(moment: datetime) -> tuple[str, ...]:
        index = bisect_right(stamps, moment)
        return carried[index - 1] if index else empty

    return at


def _row(
    rules: AuditRules,
    case: str,
    entry: RuleEntry,
    period_end: datetime,
    triggers: dict[int, tuple[str, str]],
) -> ObligationRow:
    """One rule obligation as the audit counts it (times in the routine's local time).

    ``triggers`` keeps the trigger events' times and masked ids as written, by the event's
    identity, for one case's obligations (an event triggers two rules' on average)."""
    routine = entry.routine
    tz = routine.tz
    answer = entry.answer
    columns = rules.row_columns(routine, entry.rule.id, entry.responsible)
    trigger = entry.trigger
    written = triggers.get(id(trigger))
    if written is None:
        written = triggers[id(trigger)] = (local_stamp(trigger.at, tz), mask(trigger.id))
    trigger_at, trigger_id = written
    late_cd: int | None = None
    late_wd = entry.late
    if entry.status == "fulfilled_late" and answer is not None:
        late_cd = (local_date(answer.at, tz) - local_date(entry.deadline, tz)).days
    elif entry.status == "overdue":  # overdue: its age when the period ended
        late_cd = max(0, (local_date(period_end, tz) - local_date(entry.deadline, tz)).days)
        late_wd = max(0, late_working_days(routine, entry.deadline, period_end))
    return ObligationRow(
        case,
        *columns[:5],
        trigger_at,
        rules.deadline_stamp(entry.deadline, tz),
        local_stamp(answer.at, tz) if answer is not None else "",
        entry.status,
        late_wd,
        late_cd,
        # mask(f"{rule}:{trigger id}"): no personnummer shape spans the colon.
        f"{columns[5]}:{trigger_id}",
        trigger_id,
    )


def _period_row(rules: AuditRules, entry: PeriodEntry) -> PeriodRow:
    """One period as the audit sums it: the same lengths the evaluation output gives."""
    routine = entry.routine
    length = period_length(entry)
    breached = entry.start_obligation
    unit = ""
    if breached is not None:
        unit = rules.unit_of_role.get(
            (routine.id, routine.version, breached.responsible), breached.responsible
        )
    per_day = entry.period.spec.amount_per_day
    return PeriodRow(
        routine=routine.id,
        version=routine.version,
        period=entry.period.name,
        rule=breached.rule.id if breached is not None else "",
        unit=unit,
        start=local_stamp(entry.start, routine.tz),
        open=entry.end is None,
        days=length.days,
        working_days=length.working_days,
        hours=length.hours,
        amount_cents=round(length.days * per_day * 100) if per_day is not None else None,
    )


def queue_results(
    rules: AuditRules, events: Sequence[Event], as_of: datetime
) -> tuple[list[QueueResult], list[dict[str, object]]]:
    """Every queue's offers, judged over the queue events of all cases together."""
    if not rules.queue_types:
        return [], []
    result = evaluate(rules.queue, events, as_of)
    return list(result.queues), [
        to_builtins(d) for d in result.diagnostics if d.code.startswith("queue.")
    ]
