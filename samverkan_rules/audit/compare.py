"""``--compare``: the same history under other routine versions, rule by rule, by meaning.

Rules are paired by what they are, not by their ids: a rule that names the rule it
replaces in an earlier version (``replaces:``) shares a row with it (chains and splits
included: every rule linked by ``replaces`` is one row); rules otherwise pair by id. Rows
with no obligation on either side are left out (listed in ``hidden``), a total row sums
the rest, and each row says whether its difference comes from vocabulary (one side's rules
use an event type the other side does not use at all) or from the rules themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Literal

from samverkan_rules.audit.models import STATUSES, CompareReport, CompareRule, CompareTotal
from samverkan_rules.audit.policy import BreachPolicy
from samverkan_rules.audit.report import in_period, routine_records
from samverkan_rules.audit.tallies import RuleKey, Tally, status_counts
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.compile.rules import CompiledRule

Node = tuple[str, str]
"""(routine id, rule id)."""


def _root(parent: dict[Node, Node], node: Node) -> Node:
    while parent.setdefault(node, node) != node:
        node = parent[node]
    return node


def _lineages(routines: Iterable[CompiledRoutine]) -> dict[Node, Node]:
    """Each rule's row: the rules linked by ``replaces`` share one root."""
    parent: dict[Node, Node] = {}
    for r in routines:
        for c in r.rules:
            node = _root(parent, (r.id, c.id))
            if c.rule.replaces is not None:
                old = _root(parent, (r.id, c.rule.replaces))
                if old != node:
                    parent[max(old, node)] = min(old, node)
    return {node: _root(parent, node) for node in list(parent)}


def event_types(rule: CompiledRule) -> set[str]:
    """The event types a rule reads: its trigger and every pattern's."""
    return {rule.rule.when.event_type, *(p.event for p in rule.rule.patterns)}


def _side(
    tallies: Mapping[RuleKey, Tally], routines: Sequence[CompiledRoutine], first: date, last: date
) -> tuple[dict[Node, Tally], dict[Node, set[str]]]:
    """Per rule: its tally over the versions, and the event types it reads."""
    counts: dict[Node, Tally] = {}
    types: dict[Node, set[str]] = {}
    for r in in_period(routines, first, last):
        for c in r.rules:
            counts.setdefault((r.id, c.id), Tally())
            types.setdefault((r.id, c.id), set()).update(event_types(c))
    for (rid, _version, rule), tally in tallies.items():
        node = (rid, rule)
        counts[node] = counts[node].merged(tally) if node in counts else tally
    return counts, types


def _merge(tallies: Iterable[Tally]) -> Tally:
    out = Tally()
    for t in tallies:
        out = out.merged(t)
    return out


def _difference(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    diff: dict[str, int] = {s: b[s] - a[s] for s in STATUSES}
    diff["total"] = sum(b.values()) - sum(a.values())
    return diff


def _cause(
    diff: Mapping[str, int], vocabulary: bool, paired: bool
) -> Literal["vocabulary", "unpaired", "rule"] | None:
    if not any(diff.values()):
        return None
    if vocabulary:
        return "vocabulary"
    return "rule" if paired else "unpaired"


def compare_report(
    base: Mapping[RuleKey, Tally],
    other: Mapping[RuleKey, Tally],
    base_routines: Sequence[CompiledRoutine],
    other_routines: Sequence[CompiledRoutine],
    *,
    first: date,
    last: date,
    rejected: int,
    policy: BreachPolicy,
) -> CompareReport:
    """The comparison of the audited counts (``base``) with the compared ones (``other``)."""
    row_of = _lineages([*sorted(base_routines, key=_age), *sorted(other_routines, key=_age)])
    titles: dict[Node, str] = {}
    newest: dict[Node, Node] = {}
    for r in sorted([*base_routines, *other_routines], key=_age):  # the newest wins
        for c in r.rules:
            titles[(r.id, c.id)] = c.rule.title
            newest[row_of[(r.id, c.id)]] = (r.id, c.id)
    a, a_types = _side(base, base_routines, first, last)
    b, b_types = _side(other, other_routines, first, last)
    a_all = set().union(*a_types.values())
    b_all = set().union(*b_types.values())
    rows: dict[Node, tuple[list[Node], list[Node]]] = {}
    for node in a:
        rows.setdefault(row_of.get(node, node), ([], []))[0].append(node)
    for node in b:
        rows.setdefault(row_of.get(node, node), ([], []))[1].append(node)
    out: list[CompareRule] = []
    hidden: list[str] = []
    for root, (left, right) in sorted(rows.items(), key=lambda i: newest.get(i[0], i[0])):
        ta, tb = _merge(a[n] for n in left), _merge(b[n] for n in right)
        sa, sb = status_counts(ta.statuses), status_counts(tb.statuses)
        key = newest.get(root, root)
        if not sum(sa.values()) and not sum(sb.values()):
            hidden.append(key[1])
            continue
        base_only = sorted(set().union(*(a_types.get(n, set()) for n in left)) - b_all)
        other_only = sorted(set().union(*(b_types.get(n, set()) for n in right)) - a_all)
        diff = _difference(sa, sb)
        out.append(
            CompareRule(
                routine=key[0],
                rule=key[1],
                title=titles.get(key, key[1]),
                base=sa,
                other=sb,
                difference=diff,
                on_time_rate_base=policy.rate(sa, ta.late_working, ta.blocked_past),
                on_time_rate_other=policy.rate(sb, tb.late_working, tb.blocked_past),
                base_rules=sorted(n[1] for n in left),
                other_rules=sorted(n[1] for n in right),
                vocabulary_base_only=base_only,
                vocabulary_other_only=other_only,
                difference_from=_cause(diff, bool(base_only or other_only), bool(left and right)),
            )
        )
    ta, tb = _merge(a.values()), _merge(b.values())
    sa, sb = status_counts(ta.statuses), status_counts(tb.statuses)
    total = CompareTotal(
        base=sa,
        other=sb,
        difference=_difference(sa, sb),
        on_time_rate_base=policy.rate(sa, ta.late_working, ta.blocked_past),
        on_time_rate_other=policy.rate(sb, tb.late_working, tb.blocked_past),
    )
    return CompareReport(
        routines=routine_records(other_routines),
        by_rule=out,
        events_rejected=rejected,
        total=total,
        hidden=sorted(hidden),
    )


def _age(r: CompiledRoutine) -> tuple[date, str]:
    return r.routine.valid_from, r.version
