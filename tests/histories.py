"""Pieces of generated histories that several property tests share: a value for a declared
field, data that makes a simple condition hold, and an event answering a trigger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.language.models.base import FieldSpec
from samverkan_rules.language.models.conditions import AllOf, AnyOf, Comparison, NotOf


def field_value(
    spec: FieldSpec,
    *,
    strings: Sequence[str],
    addresses: Sequence[str],
    ids: Sequence[str],
    at: datetime,
) -> st.SearchStrategy[Any]:
    """A value of the field's declared type near ``at``: ``strings`` for free text (the
    routine's own literals, so conditions hold as often as not), ``addresses`` for roles,
    ``ids`` of the events so far for references."""
    kind = spec.type
    if kind == "string":
        return st.sampled_from(list(strings))
    if kind == "date":
        return st.integers(-5, 60).map(lambda d: (at.date() + timedelta(days=d)).isoformat())
    if kind == "datetime":
        return st.integers(-3, 60 * 24).map(
            lambda h: (at + timedelta(hours=h)).isoformat(timespec="seconds")
        )
    if kind == "time":
        return st.sampled_from(["08:00:00", "13:30:00"])
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(0, 3)
    if kind == "number":
        return st.sampled_from([0, 1, 2.5])
    if kind == "enum":
        return st.sampled_from(list(spec.values or []))
    if kind == "role":
        return st.sampled_from(list(addresses))
    if kind == "roles":
        return st.lists(st.sampled_from(list(addresses)), min_size=1, max_size=3, unique=True)
    if kind == "event":
        return st.sampled_from(list(ids)) if ids else st.just("e00")
    if kind == "object":
        return st.just({})
    return st.just([])


def satisfy(condition: Any, data: dict[str, Any]) -> None:
    """Set ``data`` fields so that a simple condition on ``data.*`` holds (best effort)."""
    if condition is None:
        return
    if isinstance(condition, AllOf):
        for part in condition.all:
            satisfy(part, data)
    elif isinstance(condition, AnyOf):
        satisfy(condition.any[0], data)
    elif isinstance(condition, Comparison) and condition.field.startswith("data."):
        name = condition.field[5:]
        op = condition.operators()[0]
        if op == "equals":
            data[name] = condition.equals
        elif op == "in" and condition.in_:
            data[name] = condition.in_[0]
        elif op == "contains":
            current = data.get(name)
            data[name] = [*(current if isinstance(current, list) else []), condition.contains]
        elif op == "exists" and condition.exists and name not in data:
            data[name] = "annat"


def answer(
    draw: st.DrawFn,
    routine: CompiledRoutine,
    trigger: dict[str, Any],
    ident: str,
    *,
    same_second: bool = False,
) -> dict[str, Any] | None:
    """An event that may fulfil or cancel what ``trigger`` raised, or cut its deadline (a
    rule's ``before``): right type, same case,
    referring to the trigger where the rule matches on it, up to 15 days later (with
    ``same_second``, sometimes in the trigger's own second)."""
    rules = routine.rules_by_trigger.get(trigger["type"])
    if not rules:
        return None
    rule = draw(st.sampled_from(rules)).rule
    patterns = list(rule.patterns)
    if not patterns:
        return None
    pattern = draw(st.sampled_from(patterns))
    if pattern.event not in routine.event_types:
        return None
    data: dict[str, Any] = {}
    satisfy(pattern.if_, data)
    for candidate, source in pattern.match.items():
        if not candidate.startswith("data."):
            continue
        if source == "trigger.id":
            data[candidate[5:]] = trigger["id"]
        elif source.startswith("trigger.data."):
            value = trigger["data"].get(source[13:])
            if value is not None:
                data[candidate[5:]] = value
    at = datetime.fromisoformat(trigger["at"])
    if not same_second or draw(st.integers(0, 5)):
        at += timedelta(minutes=draw(st.integers(0 if not same_second else 1, 15 * 24 * 60)))
    return {
        "id": ident,
        "case": trigger["case"],
        "type": pattern.event,
        "at": at.isoformat(),
        "data": data,
    }


CONDITION_OPERATORS = ("equals", "not_equals", "in", "not_in", "exists", "contains")


@st.composite
def comparisons(draw: st.DrawFn, paths: Sequence[str], literals: Sequence[Any]) -> Comparison:
    """One comparison of a field among ``paths`` with literals among ``literals``."""
    op = draw(st.sampled_from(CONDITION_OPERATORS))
    path = draw(st.sampled_from(list(paths)))
    value: Any
    if op == "exists":
        value = draw(st.booleans())
    elif op in ("in", "not_in"):
        value = draw(st.lists(st.sampled_from(list(literals)), min_size=1, max_size=3))
    else:
        value = draw(st.sampled_from(list(literals)))
    return Comparison.model_validate({"field": path, op: value})


def conditions(
    paths: Sequence[str], literals: Sequence[Any], *, max_leaves: int
) -> st.SearchStrategy[Any]:
    """Comparisons combined with all, any and not, up to ``max_leaves`` comparisons."""
    return st.recursive(
        comparisons(paths, literals),
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=3).map(
                lambda xs: AllOf.model_validate({"all": xs})
            ),
            st.lists(inner, min_size=1, max_size=3).map(
                lambda xs: AnyOf.model_validate({"any": xs})
            ),
            inner.map(lambda x: NotOf.model_validate({"not": x})),
        ),
        max_leaves=max_leaves,
    )
