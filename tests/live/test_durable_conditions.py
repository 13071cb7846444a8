"""The routine's conditions compiled for durable_rules mean what the reference closures
mean, value by value: booleans apart from numbers, 1 equal to 1.0, missing and null fields,
lists for ``contains``, negation pushed down through ``all``/``any``."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import histories

pytest.importorskip(
    "durable",
    reason="durable-rules is not installed (the `live` extra; it does not build on Python 3.13)",
)

from samverkan_rules.compile.conditions import compile_condition
from samverkan_rules.events.model import event_from_mapping
from samverkan_rules.live.durable import _SyncHost
from samverkan_rules.live.durable_conditions import Unsupported, durable_tests, event_values

SCALARS = [None, True, False, 0, 1, 1.0, 2.5, "a", "b", "1"]
FIELDS = ["data.x", "data.y", "fact.f"]


conditions = histories.conditions(FIELDS, SCALARS, max_leaves=5)
values = st.one_of(
    st.sampled_from(SCALARS),
    st.lists(st.sampled_from(SCALARS), max_size=3),
    st.just({"k": 1}),
)
_counter = itertools.count()


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    condition=conditions,
    data=st.dictionaries(st.sampled_from(["x", "y"]), values, max_size=2),
    facts=st.dictionaries(st.just("f"), values, max_size=1),
)
def test_durable_tests_agree_with_the_reference_closures(
    condition: Any, data: dict[str, Any], facts: dict[str, Any]
) -> None:
    paths: set[str] = set()
    try:
        tests = durable_tests(condition, paths)
    except Unsupported:
        return
    fired: list[int] = []
    host = _SyncHost()
    name = f"cond-{next(_counter)}"
    host.register_rulesets(
        {
            name: {
                "r": {
                    "all": [{"m": {"$and": [{"lane": "t"}, *tests]}}],
                    "run": lambda c: fired.append(1),
                }
            }
        }
    )
    event = event_from_mapping(
        {"id": "e", "case": "c", "type": "t", "at": "2026-12-01T09:00:00+01:00", "data": data}
    )
    fact = {"sid": "1", "id": 1, "lane": "t", **event_values(event, facts, sorted(paths))}
    try:
        host.assert_fact(name, fact)
    except Exception as exc:
        if type(exc).__name__ != "MessageNotHandledException":
            raise
    assert bool(fired) == compile_condition(condition)(event, facts), (tests, fact)
