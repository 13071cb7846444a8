"""Conditions on address fields mean the same in the durable backend as in the reference.

The reference lets a message addressed to a unit (``"to": ["hemvard"]``) reach every role of
that unit: ``contains`` on a ``roles`` field of the event type also accepts the unit of the
role asked for. Nothing else widens: ``equals``, ``in`` and their negations compare the value
as written, a ``role`` (one address) field is not widened, nor is a ``fact.`` field, nor is
``unless`` (the reference compiles it without the event's fields). ``not contains`` is left
to the reference code.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.histories import conditions

pytest.importorskip(
    "durable",
    reason="durable-rules is not installed (the `live` extra; it does not build on Python 3.13)",
)

from durable import engine

from samverkan_rules import evaluate, load_registry
from samverkan_rules.compile.conditions import Predicate, compile_condition
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.events.model import Event, event_from_mapping
from samverkan_rules.language.models.base import FieldSpec
from samverkan_rules.language.models.conditions import (
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    NotOf,
)
from samverkan_rules.live import Session
from samverkan_rules.live.durable import _SyncHost
from samverkan_rules.live.durable_conditions import (
    Unsupported,
    durable_tests,
    event_values,
    routine_tests,
)
from tests.support import ROUTINES, event

REGISTRY = load_registry(ROUTINES)
OREBRO = REGISTRY.versions("orebro-dagverksamhet-hemvard")
_names = itertools.count()


class _Condition:
    """durable_rules tests in a ruleset of their own, asked one event at a time."""

    def __init__(self, tests: list[dict[str, Any]]) -> None:
        self.fired: list[int] = []
        self.host = _SyncHost()
        self.name = f"addresses-{next(_names)}"
        rule = {"all": [{"m": {"$and": [{"lane": "t"}, *tests]}}], "run": self._run}
        self.host.register_rulesets({self.name: {"r": rule}})
        self.ids = itertools.count(1)

    def _run(self, _c: Any) -> None:
        self.fired.append(1)

    def holds(self, e: Event, facts: Mapping[str, Any], paths: set[str]) -> bool:
        self.fired.clear()
        fact = {"sid": "1", "id": next(self.ids), "lane": "t"}
        fact.update(event_values(e, facts, sorted(paths)))
        with suppress(engine.MessageNotHandledException):
            self.host.assert_fact(self.name, fact)
        with suppress(engine.MessageNotHandledException):
            self.host.retract_fact(self.name, fact)
        return bool(self.fired)


def _event(etype: str, data: Mapping[str, Any]) -> Event:
    return event_from_mapping(
        {"id": "e", "case": "c", "type": etype, "at": "2026-12-01T09:00:00+01:00", "data": data}
    )


# --------------------------------------------------------------------------- whole sessions


def _agree(versions: Any, events: list[dict[str, Any]], as_of: datetime) -> Any:
    """Post ``events`` to a durable and a reference session; both agree with ``evaluate``."""
    expected = evaluate(versions, events, as_of, ledger=True, trace=True)
    for backend in ("durable", "reference"):
        with Session(versions, backend=backend) as session:
            for e in events:
                session.post(e)
            assert (
                session.due(as_of).with_output(ledger=True, trace=True).to_json()
                == expected.to_json()
            ), backend
    return expected


def test_a_message_to_the_unit_raises_the_receipt_like_the_reference() -> None:
    # Found by the differential test: the reference raised receipt-acknowledgement (its
    # condition is `data.to contains hemvard.driftsplanerare`), durable_rules did not.
    message = event(
        id="e00",
        type="message.sent",
        at="2020-03-02T08:00:00+00:00",
        kind="closure",
        to=["dagverksamhet", "hemvard"],
    )
    result = _agree(OREBRO, [message], datetime(2020, 3, 3, tzinfo=UTC))
    rules = {o.rule for o in result.case("c1").obligations}
    assert "receipt-acknowledgement" in rules


@pytest.mark.parametrize("same_second", [False, True])
def test_a_message_to_the_unit_answers_like_the_reference(same_second: bool) -> None:
    # start-message is fulfilled by a message that `contains hemvard.driftsplanerare`:
    # one to the unit `hemvard` answers it, later or logged earlier in the trigger's second.
    at = "2020-03-02T08:00:00+00:00"
    consent = event(id="e00", type="consent.given", at="2020-03-01T08:00:00+00:00")
    plan = event(id="e01", type="dagverksamhet.start_planned", at=at, start_date="2020-03-16")
    message = event(
        id="e02" if not same_second else "e00b",
        type="message.sent",
        at=at if same_second else "2020-03-03T08:00:00+00:00",
        kind="start",
        to=["hemvard"],
        refers_to="e01",
    )
    result = _agree(OREBRO, [consent, plan, message], datetime(2020, 3, 20, tzinfo=UTC))
    ledger = {o.obligation: o for o in result.case("c1").obligations}
    answer = ledger["start-message:e01"].fulfilled_by
    assert answer is not None and answer.event == message["id"]


# --------------------------------------------------------------------------- each shape

UNITS = {"hemvard": "hemvard", "hemvard.planerare": "hemvard", "dagverksamhet.kp": "dagv"}
"""Roles and their units: a role that is its own unit, and two that are not."""
ADDRESSES = ["hemvard", "hemvard.planerare", "dagverksamhet.kp", "dagv", "annan"]
FIELDS = {
    "to": FieldSpec(type="roles"),
    "who": FieldSpec(type="role"),
    "note": FieldSpec(type="string"),
}
PATHS = ["data.to", "data.who", "data.note", "fact.f"]
ADDRESS_VALUES = st.one_of(
    st.sampled_from(ADDRESSES),
    st.lists(st.sampled_from(ADDRESSES), max_size=3),
    st.sampled_from([None, 1, True]),
)


address_conditions = conditions(PATHS, ADDRESSES, max_leaves=4)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    condition=address_conditions,
    data=st.dictionaries(st.sampled_from(["to", "who", "note"]), ADDRESS_VALUES, max_size=3),
    facts=st.dictionaries(st.just("f"), ADDRESS_VALUES, max_size=1),
    negate=st.booleans(),
)
def test_address_comparisons_agree_with_the_reference(
    condition: Condition, data: dict[str, Any], facts: dict[str, Any], negate: bool
) -> None:
    paths: set[str] = set()
    try:
        tests = durable_tests(condition, paths, negate=negate, fields=FIELDS, units=UNITS)
    except Unsupported:
        return
    reference = compile_condition(condition, fields=FIELDS, units=UNITS)
    e = _event("t", data)
    assert _Condition(tests).holds(e, facts, paths) == (reference(e, facts) != negate), tests


CONTAINS_CASES = [
    # (field, asked for, value, holds): a roles field widens a role to its unit, ...
    ("data.to", "hemvard.planerare", ["hemvard"], True),
    ("data.to", "hemvard.planerare", ["dagv", "hemvard"], True),
    ("data.to", "hemvard.planerare", "hemvard", True),
    ("data.to", "hemvard.planerare", ["hemvard.planerare"], True),
    ("data.to", "dagverksamhet.kp", ["dagv"], True),
    # ... but never a unit to its roles, nor a role to another role of its unit, ...
    ("data.to", "hemvard", ["hemvard.planerare"], False),
    ("data.to", "dagv", ["dagverksamhet.kp"], False),
    ("data.to", "hemvard.planerare", ["dagv"], False),
    ("data.to", "hemvard.planerare", [], False),
    # ... and a role field, a text field or a fact is compared as written.
    ("data.who", "hemvard.planerare", "hemvard", False),
    ("data.note", "hemvard.planerare", ["hemvard"], False),
    ("fact.f", "hemvard.planerare", ["hemvard"], False),
]


@pytest.mark.parametrize(("path", "asked", "value", "holds"), CONTAINS_CASES)
def test_contains_widens_a_role_to_its_unit_only_on_a_roles_field(
    path: str, asked: str, value: Any, holds: bool
) -> None:
    condition = Comparison.model_validate({"field": path, "contains": asked})
    data = {path[5:]: value} if path.startswith("data.") else {}
    facts = {"f": value} if path.startswith("fact.") else {}
    e = _event("t", data)
    reference = compile_condition(condition, fields=FIELDS, units=UNITS)
    assert reference(e, facts) is holds
    paths: set[str] = set()
    tests = durable_tests(condition, paths, fields=FIELDS, units=UNITS)
    assert _Condition(tests).holds(e, facts, paths) is holds
    # Without the event type's fields (as for `unless`) nothing widens, in both.
    bare = compile_condition(condition)
    paths = set()
    unwidened = _Condition(durable_tests(condition, paths)).holds(e, facts, paths)
    assert unwidened == bare(e, facts) == (value == asked or asked in (value or ()))


@pytest.mark.parametrize(
    ("shape", "value"),
    [
        ({"equals": "hemvard.planerare"}, ["hemvard"]),
        ({"equals": "hemvard.planerare"}, "hemvard"),
        ({"in": ["hemvard.planerare"]}, "hemvard"),
        ({"not_equals": "hemvard.planerare"}, "hemvard"),
        ({"not_in": ["hemvard.planerare"]}, "hemvard"),
    ],
)
def test_equals_and_in_never_widen_in_either_backend(shape: dict[str, Any], value: Any) -> None:
    for name in ("to", "who"):
        condition = Comparison.model_validate({"field": f"data.{name}", **shape})
        e = _event("t", {name: value})
        reference = compile_condition(condition, fields=FIELDS, units=UNITS)
        # Compared as written: the unit is not the role.
        assert reference(e, {}) is ("not_equals" in shape or "not_in" in shape)
        for negate in (False, True):
            paths: set[str] = set()
            tests = durable_tests(condition, paths, negate=negate, fields=FIELDS, units=UNITS)
            assert _Condition(tests).holds(e, {}, paths) == (reference(e, {}) != negate)


def test_not_contains_is_left_to_the_reference_code() -> None:
    condition = NotOf.model_validate({"not": {"field": "data.to", "contains": "hemvard"}})
    with pytest.raises(Unsupported, match="not contains"):
        durable_tests(condition, set(), fields=FIELDS, units=UNITS)


# --------------------------------------------------------------------------- bundled routines


def _candidates(
    node: Any, path: str, spec: FieldSpec | None, units: Mapping[str, str]
) -> list[Any]:
    """Values worth trying for ``path``: what the condition compares it with, the units of
    those addresses, another value, as one address and as address lists."""
    written: set[Any] = set()
    for c in _comparisons(node):
        if c.field == path:
            for key in ("equals", "not_equals", "contains"):
                value = getattr(c, key)
                if isinstance(value, str | bool | int | float):
                    written.add(value)
            written.update(v for v in (c.in_ or []) + (c.not_in or []) if v is not None)
    strings = sorted(str(v) for v in written if isinstance(v, str))
    widened = sorted({units.get(s, s) for s in strings} | set(strings) | {"annat"})
    others = [v for v in written if not isinstance(v, str)]
    out: list[Any] = [*widened, *others, None]
    if (spec is not None and spec.type == "roles") or path.startswith("fact."):
        out += [[w] for w in widened] + [["annat", w] for w in widened] + [[]]
    return out


def _comparisons(node: Any) -> Iterator[Comparison]:
    if isinstance(node, AllOf):
        for part in node.all:
            yield from _comparisons(part)
    elif isinstance(node, AnyOf):
        for part in node.any:
            yield from _comparisons(part)
    elif isinstance(node, NotOf):
        yield from _comparisons(node.not_)
    elif isinstance(node, Comparison):
        yield node


_MISSING = object()


def _bundled_conditions() -> Iterator[tuple[str, CompiledRoutine, str, Condition, bool, Predicate]]:
    """Every condition of a bundled rule the durable backend may translate, with the
    reference's closure: (name, routine, event type, condition, whether it is an ``unless``,
    reference predicate)."""
    for rid in REGISTRY.ids():
        for routine in REGISTRY.versions(rid):
            for rule in routine.rules:
                model = rule.rule
                etype = model.when.event_type
                if etype is None:
                    continue
                name = f"{routine.key}:{rule.id}"
                if model.when.if_ is not None:
                    yield name + ":when", routine, etype, model.when.if_, False, rule.condition
                if model.unless is not None:
                    yield name + ":unless", routine, etype, model.unless, True, rule.unless
                for kind, patterns, compiled in (
                    ("fulfilled_by", model.fulfilled_by, rule.fulfilled_by),
                    ("cancelled_by", model.cancelled_by, rule.cancelled_by),
                ):
                    for j, (p, cp) in enumerate(zip(patterns, compiled, strict=True)):
                        if p.if_ is not None and not p.any_case:
                            yield (
                                f"{name}:{kind}[{j}]",
                                routine,
                                p.event,
                                p.if_,
                                False,
                                cp.condition,
                            )


BUNDLED = list(_bundled_conditions())


def test_the_bundled_routines_compare_addresses() -> None:
    # The test below reaches the shapes it is about: contains on a roles field, and equals
    # or in on a role field, in conditions of the bundled routines.
    shapes = set()
    for _, routine, etype, condition, _, _ in BUNDLED:
        spec = routine.event_types.get(etype)
        for c in _comparisons(condition):
            field = spec.fields.get(c.field[5:]) if spec and c.field.startswith("data.") else None
            if field is not None and field.type in ("role", "roles"):
                shapes.add((field.type, c.operators()[0]))
    assert {("roles", "contains"), ("role", "equals"), ("role", "in")} <= shapes


@pytest.mark.parametrize(
    ("name", "routine", "etype", "condition", "negate", "reference"),
    BUNDLED,
    ids=[b[0] for b in BUNDLED],
)
def test_bundled_conditions_agree_between_backends(
    name: str,
    routine: CompiledRoutine,
    etype: str,
    condition: Condition,
    negate: bool,
    reference: Predicate,
) -> None:
    paths: set[str] = set()
    try:
        if negate:  # `unless`, as the durable backend translates it
            tests = durable_tests(condition, paths, negate=True)
        else:
            tests = routine_tests(routine, etype, condition, paths)
    except Unsupported:
        pytest.skip("left to the reference code")
    spec = routine.event_types.get(etype)
    fields = spec.fields if spec is not None else {}
    units = {n: r.unit for n, r in routine.routine.roles.items()}
    ordered = sorted(p for p in paths if p.startswith(("data.", "fact.")))
    choices = [
        [*_candidates(condition, p, fields.get(p[5:]) if p[0] == "d" else None, units), _MISSING]
        for p in ordered
    ]
    durable = _Condition(tests)
    for values in itertools.islice(itertools.product(*choices), 3000):
        given = {p: v for p, v in zip(ordered, values, strict=True) if v is not _MISSING}
        data = {p[5:]: v for p, v in given.items() if p.startswith("data.")}
        facts = {p[5:]: v for p, v in given.items() if p.startswith("fact.")}
        e = _event(etype, data)
        want = reference(e, facts) != negate
        assert durable.holds(e, facts, paths) == want, (name, data, facts)
