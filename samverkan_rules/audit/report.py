"""The finished report from the merged tallies (:mod:`.tallies`).

:func:`finish` turns a merged :class:`~samverkan_rules.audit.tallies.Partial` into the
same report, byte for byte, whatever grouping of cases the partials came from.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date

from samverkan_rules.audit.models import (
    MIN_VOLUME,
    AuditHeader,
    AuditReport,
    CompareReport,
    DiagnosticRecord,
    GroupMonthSummary,
    GroupRuleSummary,
    GroupSummary,
    Lateness,
    LatenessBin,
    LatenessBucket,
    Lengths,
    MonthSummary,
    OverdueAge,
    PeriodSummary,
    QueueSummary,
    RoutineRecord,
    RuleMonthSummary,
    RuleSummary,
    SourceRef,
    UnitSummary,
)
from samverkan_rules.audit.policy import BreachPolicy
from samverkan_rules.audit.tallies import (
    CubeKey,
    Partial,
    PeriodKey,
    PeriodTally,
    RuleKey,
    RuleMonthKey,
    Tally,
    status_counts,
)
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.compile.rules import CompiledRule
from samverkan_rules.compile.versions import validity_windows
from samverkan_rules.records import QueueResult

DEFAULT_POLICY = BreachPolicy()
"""Done by the deadline is on time; late and overdue are breaches; nothing left out."""


def percentile(histogram: Mapping[int, int], p: float) -> int | None:
    """The nearest-rank percentile ``p`` (0..100) of the values a histogram counts.

    Examples:
        >>> percentile({1: 5, 3: 4, 10: 1}, 50), percentile({1: 5, 3: 4, 10: 1}, 90)
        (1, 3)
        >>> percentile({}, 50) is None
        True
    """
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(p / 100 * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)  # not reached


def on_time_rate(statuses: Mapping[str, int]) -> float | None:
    """fulfilled / (fulfilled + fulfilled_late + overdue), 4 decimals; None for 0/0.

    Examples:
        >>> on_time_rate({"fulfilled": 380, "fulfilled_late": 21, "overdue": 6})
        0.9337
    """
    judged = statuses.get("fulfilled", 0) + statuses.get("fulfilled_late", 0)
    judged += statuses.get("overdue", 0)
    if judged == 0:
        return None
    return round(statuses.get("fulfilled", 0) / judged, 4)


def _spread(histogram: Mapping[int, int]) -> dict[str, int | None]:
    """Count, median, 90th percentile and maximum of the values a histogram counts."""
    return {
        "count": sum(histogram.values()),
        "median": percentile(histogram, 50),
        "p90": percentile(histogram, 90),
        "max": max(histogram) if histogram else None,
    }


def _lateness(histogram: Mapping[int, int]) -> Lateness:
    return Lateness(**_spread(histogram))


def _overdue_ages(histogram: Mapping[int, int]) -> OverdueAge:
    return OverdueAge(**_spread(histogram))


BUCKETS: tuple[tuple[int, int | None], ...] = (
    (0, 0),
    (1, 1),
    (2, 5),
    (6, 10),
    (11, 20),
    (21, None),
)
"""The spans of working days the lateness chart shows."""


def buckets(histogram: Mapping[int, int]) -> list[LatenessBucket]:
    """The histogram's counts in the spans of :data:`BUCKETS`, every span listed.

    Examples:
        >>> [(b.label, b.count) for b in buckets({0: 2, 3: 1, 5: 1, 40: 7})]
        [('0', 2), ('1', 0), ('2-5', 2), ('6-10', 0), ('11-20', 0), ('>20', 7)]
    """
    out = []
    for low, high in BUCKETS:
        label = f">{low - 1}" if high is None else str(low) if low == high else f"{low}-{high}"
        count = sum(n for v, n in histogram.items() if v >= low and (high is None or v <= high))
        out.append(
            LatenessBucket.model_validate({"label": label, "from": low, "to": high, "count": count})
        )
    return out


def judged(statuses: Mapping[str, int]) -> int:
    """The obligations an on-time rate rests on: on time, late or overdue."""
    return sum(int(statuses.get(s, 0)) for s in ("fulfilled", "fulfilled_late", "overdue"))


def routine_records(routines: Sequence[CompiledRoutine]) -> list[RoutineRecord]:
    """The header's record of each routine version, by id and start date."""
    windows, _ = validity_windows(routines)
    out = []
    for r in sorted(routines, key=lambda r: (r.id, r.routine.valid_from, r.version)):
        last = windows[(r.id, r.version)].last
        out.append(
            RoutineRecord(
                id=r.id,
                version=r.version,
                title=r.routine.title,
                sha256=r.sha256,
                valid_from=r.routine.valid_from.isoformat(),
                valid_to=last.isoformat() if last else None,
            )
        )
    return out


def in_period(
    routines: Sequence[CompiledRoutine], first: date, last: date
) -> list[CompiledRoutine]:
    windows, _ = validity_windows(routines)
    out = []
    for r in sorted(routines, key=lambda r: (r.id, r.routine.valid_from, r.version)):
        w = windows[(r.id, r.version)]
        if w.first <= last and (w.last is None or w.last >= first):
            out.append(r)
    return out


def _rule_summaries(
    routines: Sequence[CompiledRoutine],
    tallies: Mapping[RuleKey, Tally],
    first: date,
    last: date,
    policy: BreachPolicy,
) -> list[RuleSummary]:
    out: list[RuleSummary] = []
    listed: set[RuleKey] = set()
    by_key = {(r.id, r.version): r for r in routines}
    for version in in_period(routines, first, last):
        for c in version.rules:
            listed.add((version.id, version.version, c.id))
    for key in sorted(tallies):
        listed.add(key)
    order = {(r.id, r.version): i for i, r in enumerate(in_period(routines, first, last))}
    keyed = []
    for key in listed:
        owner = by_key.get((key[0], key[1]))
        index = 10**6
        if owner is not None:
            index = next((i for i, c in enumerate(owner.rules) if c.id == key[2]), index)
        keyed.append(((order.get((key[0], key[1]), 10**6), key[0], key[1], index, key[2]), key))
    for _, key in sorted(keyed):
        tally = tallies.get(key, Tally())
        r = by_key.get((key[0], key[1]))
        title, responsible, unit, label = key[2], "", None, None
        source = None
        interpretation = None
        if r is not None:
            compiled: CompiledRule | None
            try:
                compiled = r.rule(key[2])
            except KeyError:
                compiled = None
            if compiled is not None:
                rule = compiled.rule
                title = rule.title
                responsible = rule.action.responsible
                role = r.routine.roles.get(responsible)
                unit = role.unit if role is not None else None
                label = role.label if role is not None else None
                if rule.source is not None:
                    source = SourceRef(
                        document=r.routine.source.title,
                        section=rule.source.section,
                        quote=rule.source.quote,
                    )
                if compiled.interpretation_record is not None:
                    interpretation = compiled.interpretation_record.reason
        statuses = status_counts(tally.statuses)
        judged_here = policy.judged(statuses, tally.blocked_past)
        out.append(
            RuleSummary(
                routine=key[0],
                version=key[1],
                rule=key[2],
                title=title,
                responsible=responsible,
                responsible_label=label,
                unit=unit,
                total=sum(statuses.values()),
                statuses=statuses,
                on_time_rate=policy.rate(statuses, tally.late_working, tally.blocked_past),
                lateness_working_days=_lateness(tally.late_working),
                lateness_calendar_days=_lateness(tally.late_calendar),
                source=source,
                interpretation=interpretation,
                judged=judged_here,
                low_volume=judged_here < MIN_VOLUME,
                on_time=policy.on_time(statuses, tally.late_working),
                waiting_past_deadline=tally.blocked_past,
                overdue_age_working_days=_overdue_ages(tally.overdue_working),
            )
        )
    return out


def _period_summaries(
    routines: Sequence[CompiledRoutine],
    tallies: Mapping[PeriodKey, PeriodTally],
    first: date,
    last: date,
) -> list[PeriodSummary]:
    """Every period declared by a version in force during the audit period (zeros when none
    started), and every (period, breached rule, unit) that did start one."""
    versions = in_period(routines, first, last)
    order = {(r.id, r.version): i for i, r in enumerate(versions)}
    by_key = {(r.id, r.version): r for r in routines}
    keys: set[PeriodKey] = set(tallies)
    for r in versions:
        for name in r.routine.periods:
            if not any(k[:3] == (r.id, r.version, name) for k in tallies):
                keys.add((r.id, r.version, name, "", ""))

    def sort_key(key: PeriodKey) -> tuple[int, str, str, int, str, str, str]:
        owner = by_key.get((key[0], key[1]))
        index = 10**6
        if owner is not None and key[2] in owner.routine.periods:
            index = list(owner.routine.periods).index(key[2])
        return (order.get((key[0], key[1]), 10**6), key[0], key[1], index, *key[2:])

    out: list[PeriodSummary] = []
    for key in sorted(keys, key=sort_key):
        tally = tallies.get(key, PeriodTally())
        owner = by_key.get((key[0], key[1]))
        spec = owner.routine.periods.get(key[2]) if owner is not None else None
        source = None
        if spec is not None and owner is not None:
            source = SourceRef(
                document=owner.routine.source.title,
                section=spec.source.section,
                quote=spec.source.quote,
            )
        unit = key[4] or None
        out.append(
            PeriodSummary(
                routine=key[0],
                version=key[1],
                period=key[2],
                label=spec.label if spec is not None else key[2],
                started_by_rule=key[3] or None,
                unit=unit,
                unit_label=_unit_label(routines, unit) if unit is not None else None,
                count=tally.count,
                open=tally.open,
                days=tally.days,
                working_days=tally.working_days,
                hours=tally.hours,
                amount=(
                    tally.amount_cents / 100
                    if tally.amount_cents is not None
                    else 0.0
                    if spec is not None and spec.amount_per_day is not None
                    else None
                ),
                length_days=Lengths(**_spread(tally.lengths)),
                source=source,
                interpretation=(
                    spec.interpretation.reason
                    if spec is not None and spec.interpretation is not None
                    else None
                ),
            )
        )
    return out


def _unit_label(routines: Sequence[CompiledRoutine], unit: str) -> str:
    """The unit's label: from the routine's units, else from the role named as the unit."""
    for r in reversed(routines):  # the newest version's words first
        spec = r.routine.units.get(unit)
        if spec is not None:
            return spec.label
    for r in reversed(routines):
        role = r.routine.roles.get(unit)
        if role is not None and role.unit == unit:
            return role.label
    return unit


def _queue_summaries(results: Sequence[QueueResult], first: date, last: date) -> list[QueueSummary]:
    out = []
    for q in sorted(results, key=lambda q: (q.routine.id, q.routine.version, q.queue)):
        offers = [o for o in q.offers if first <= date.fromisoformat(o.at[:10]) <= last]
        good = sum(1 for o in offers if o.in_order)
        out.append(
            QueueSummary(
                routine=q.routine.id,
                version=q.routine.version,
                queue=q.queue,
                label=q.label,
                offers=len(offers),
                in_order=good,
                out_of_order=len(offers) - good,
            )
        )
    return out


def _values(groups: tuple[str, ...]) -> list[str | None]:
    return [v or None for v in groups]


def _group_order(groups: tuple[str, ...]) -> tuple[tuple[bool, str], ...]:
    """Sorted by the values, a missing value after every present one."""
    return tuple((v == "", v) for v in groups)


def _group_tables(
    cube: Mapping[CubeKey, Tally], policy: BreachPolicy
) -> tuple[list[GroupSummary], list[GroupMonthSummary], list[GroupRuleSummary]]:
    """The ``--group-by`` tables: per value, per value and month, per value and rule."""
    per_value: dict[tuple[str, ...], Tally] = {}
    per_month: dict[tuple[tuple[str, ...], str], Tally] = {}
    per_rule: dict[tuple[tuple[str, ...], str, str, str], Tally] = {}
    for (groups, month, routine, version, rule), tally in cube.items():
        for table, key in (
            (per_value, groups),
            (per_month, (groups, month)),
            (per_rule, (groups, routine, version, rule)),
        ):
            table[key] = table[key].merged(tally) if key in table else tally  # type: ignore[index]
    values = [
        GroupSummary(
            values=_values(g),
            **t.counted(policy),
            lateness_working_days=_lateness(t.late_working),
            overdue_age_working_days=_overdue_ages(t.overdue_working),
        )
        for g, t in sorted(per_value.items(), key=lambda i: _group_order(i[0]))
    ]
    months = [
        GroupMonthSummary(
            values=_values(g),
            month=month,
            **t.counted(policy),
        )
        for (g, month), t in sorted(
            per_month.items(), key=lambda i: (_group_order(i[0][0]), i[0][1])
        )
    ]
    rules = [
        GroupRuleSummary(
            values=_values(g),
            routine=routine,
            version=version,
            rule=rule,
            **t.counted(policy),
            lateness_working_days=_lateness(t.late_working),
            overdue_age_working_days=_overdue_ages(t.overdue_working),
        )
        for (g, routine, version, rule), t in sorted(
            per_rule.items(), key=lambda i: (_group_order(i[0][0]), *i[0][1:])
        )
    ]
    return values, months, rules


def _month_tables(
    rule_months: Mapping[RuleMonthKey, Tally], by_rule: Sequence[RuleSummary], policy: BreachPolicy
) -> tuple[list[MonthSummary], list[RuleMonthSummary]]:
    """Per month, and per rule and month (the rules in ``by_rule``'s order, then by month)."""
    per_month: dict[str, Tally] = {}
    for (_routine, _version, _rule, month), tally in rule_months.items():
        per_month[month] = per_month[month].merged(tally) if month in per_month else tally
    months = [
        MonthSummary(
            month=month,
            **t.counted(policy),
            **t.judged_counts(policy),
        )
        for month, t in sorted(per_month.items())
    ]
    order = {(r.routine, r.version, r.rule): i for i, r in enumerate(by_rule)}
    cells = [
        RuleMonthSummary(
            routine=routine,
            version=version,
            rule=rule,
            month=month,
            **t.counted(policy),
            **t.judged_counts(policy),
        )
        for (routine, version, rule, month), t in sorted(
            rule_months.items(), key=lambda i: (order.get(i[0][:3], len(order)), i[0])
        )
    ]
    return months, cells


DiagnosticTuple = tuple[str, str, str, str | None, int | None, str | None]


def _sorted_diagnostics(partial: Partial) -> list[DiagnosticTuple]:
    """The partial's findings once each, by file and line, and the not-in-force count."""
    diagnostics = sorted(
        set(partial.diagnostics),
        key=lambda d: (d[3] or "", d[4] or 0, d[1], d[2], d[0], d[5] or ""),
    )
    if partial.not_in_force:
        diagnostics.append(
            (
                "warning",
                "routine.not-in-force",
                f"{partial.not_in_force} trigger event(s) fell outside the validity of every "
                "given routine version and raised no obligation",
                None,
                None,
                "load the routine version that was in force then",
            )
        )
    return diagnostics


def finish(
    partial: Partial,
    header: AuditHeader,
    routines: Sequence[CompiledRoutine],
    *,
    first: date,
    last: date,
    queues: Sequence[QueueResult] = (),
    compare: CompareReport | None = None,
    policy: BreachPolicy = DEFAULT_POLICY,
) -> AuditReport:
    """The report from the merged partial: sorted, complete, byte-stable; the on-time
    rates follow ``policy``."""
    partial.fold()
    late_all: Counter[int] = Counter()
    overdue_all: Counter[int] = Counter()
    for tally in partial.rules.values():
        late_all.update(tally.late_working)
        overdue_all.update(tally.overdue_working)
    diagnostics = _sorted_diagnostics(partial)
    by_group, by_group_month, by_group_rule = _group_tables(partial.groups, policy)
    by_rule = _rule_summaries(routines, partial.rules, first, last, policy)
    by_month, by_rule_month = _month_tables(partial.rule_months, by_rule, policy)
    return AuditReport(
        header=header,
        by_rule=by_rule,
        by_unit=[
            UnitSummary(
                unit=unit,
                label=_unit_label(routines, unit),
                **t.counted(policy),
                lateness_working_days=_lateness(t.late_working),
                overdue_age_working_days=_overdue_ages(t.overdue_working),
            )
            for unit, t in sorted(partial.units.items())
        ],
        by_month=by_month,
        lateness_histogram=[
            LatenessBin(working_days=k, count=v) for k, v in sorted(late_all.items())
        ],
        by_period=_period_summaries(routines, partial.periods, first, last),
        queues=_queue_summaries(queues, first, last),
        compare=compare,
        diagnostics=[
            DiagnosticRecord.model_validate(
                {"level": lv, "code": c, "message": m, "file": f, "line": ln, "hint": h}
            )
            for lv, c, m, f, ln, h in diagnostics
        ],
        by_group=by_group,
        by_group_month=by_group_month,
        by_group_rule=by_group_rule,
        lateness_buckets=buckets(late_all),
        overdue_age_buckets=buckets(overdue_all),
        by_rule_month=by_rule_month,
    )
