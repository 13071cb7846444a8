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
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import NamedTuple

from samverkan_rules.calendar import local_date
from samverkan_rules.compiler import CompiledRoutine
from samverkan_rules.engine import evaluate
from samverkan_rules.evaluation import Evaluation, QueueResult
from samverkan_rules.events import Event

__all__ = ["AuditRules", "CaseRows", "ObligationRow", "queue_results", "rows_for_case"]

_NOT_IN_FORCE = re.compile(r"^(\d+) trigger event")


class ObligationRow(NamedTuple):
    """One obligation of a rule, as the audit counts it.

    Times are RFC 3339 in the routine's local time; lateness is None unless the obligation
    was fulfilled late or is overdue at as_of.
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


class CaseRows(NamedTuple):
    """A case's obligation rows and what the evaluator said about its events."""

    rows: list[ObligationRow]
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
    unit_of_role: Mapping[tuple[str, str, str], str]
    """(routine id, version, role) -> the role's unit."""

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
            unit_of_role=MappingProxyType(unit_of_role),
        )

    def baseline(self, as_of: datetime) -> Evaluation:
        """An evaluation without events: the routine-level diagnostics every call repeats."""
        return evaluate(self.plain, [], as_of)


def _day(stamp: str) -> date:
    return date.fromisoformat(stamp[:10])


def rows_for_case(
    rules: AuditRules,
    case: str,
    events: Sequence[Event],
    as_of: datetime,
    *,
    routine_level: frozenset[tuple[str, str]] = frozenset(),
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
    """
    ruleset = rules.unit if case in rules.units else rules.plain
    result = evaluate(ruleset, events, as_of)
    rows: list[ObligationRow] = []
    tz = rules.routines[0].tz
    as_of_day = local_date(as_of, tz)
    for case_result in result.cases:
        if case_result.case != case:
            continue  # a lending case, evaluated on the side; counted in its own stream
        for o in case_result.obligations:
            trigger = o.trigger
            if o.escalates is not None or trigger is None:
                continue
            if o.obligation != f"{o.rule}:{trigger.event}":
                continue  # a remedy: named after its precondition, not a rule
            late_cd: int | None = None
            if o.status in ("fulfilled_late", "overdue") and o.deadline is not None:
                end = _day(o.fulfilled_by.at) if o.fulfilled_by is not None else as_of_day
                late_cd = (end - _day(o.deadline)).days
            rows.append(
                ObligationRow(
                    case=case,
                    routine=o.routine.id,
                    version=o.routine.version,
                    rule=o.rule,
                    responsible=o.responsible,
                    unit=rules.unit_of_role.get(
                        (o.routine.id, o.routine.version, o.responsible), o.responsible
                    ),
                    trigger=trigger.at,
                    deadline=o.deadline or "",
                    fulfilled=o.fulfilled_by.at if o.fulfilled_by is not None else "",
                    status=o.status,
                    late_working_days=o.late_working_days,
                    late_calendar_days=late_cd,
                )
            )
    diagnostics: list[dict[str, object]] = []
    not_in_force = 0
    for d in result.diagnostics:
        if d.code == "routine.not-in-force":
            match = _NOT_IN_FORCE.match(d.message)
            not_in_force += int(match.group(1)) if match else 1
        elif (d.code, d.message) not in routine_level:
            diagnostics.append(d.model_dump())
    return CaseRows(rows, diagnostics, not_in_force)


def queue_results(
    rules: AuditRules, events: Sequence[Event], as_of: datetime
) -> tuple[list[QueueResult], list[dict[str, object]]]:
    """Every queue's offers, judged over the queue events of all cases together."""
    if not rules.queue_types:
        return [], []
    result = evaluate(rules.queue, events, as_of)
    return list(result.queues), [
        d.model_dump() for d in result.diagnostics if d.code.startswith("queue.")
    ]
