"""Routine conditions as durable_rules tests, and event fields as the facts those tests read.

:func:`durable_tests` turns a condition (``all``/``any``/``not`` of comparisons) into
durable_rules tests with the reference's meaning, value by value: :func:`tag` makes values
compare as the reference's ``_same`` does, and :func:`event_values` puts an event's (and the
case's facts') fields into a fact under the keys the tests read. A condition durable_rules
cannot say with the same meaning raises :class:`Unsupported`, with the reason; the durable
backend then leaves that rule to the reference code.

Address fields: ``contains`` on a ``roles`` field of the event type also accepts the unit
of the role asked for, exactly as the reference compiles it
(:func:`samverkan_rules.compile.conditions.accepted_by_contains`): pass the event type's
``fields`` and the routine's role ``units``, or use :func:`routine_tests`, which picks them
as :func:`samverkan_rules.compile.routine.compile_routine` does for ``when`` conditions and
answer patterns. Nothing else widens an address: ``equals``, ``in``, ``not_equals``,
``not_in`` and ``exists`` compare the value as written in both, and ``unless`` is compiled
without the event's fields in both.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from samverkan_rules.compile.conditions import accepted_by_contains
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.events.model import Event
from samverkan_rules.language.models.base import FieldSpec
from samverkan_rules.language.models.conditions import AllOf, AnyOf, Comparison, Condition, NotOf


class Unsupported(Exception):
    """A condition durable_rules cannot express with the same meaning (the reason)."""


# --------------------------------------------------------------------------- values


def tag(value: Any) -> str:
    """A value as a string that compares equal exactly when the engine's ``_same`` does.

    Booleans never equal numbers, integers equal floats of the same value, strings equal
    strings; lists and objects compare by their JSON text.

    Examples:
        >>> tag(True), tag(1), tag(1.0), tag("1"), tag(None)
        ('b:true', 'n:1.0', 'n:1.0', 's:1', 'z:')
    """
    if value is None:
        return "z:"
    if isinstance(value, bool):
        return "b:true" if value else "b:false"
    if isinstance(value, (int, float)):
        number = float(value)
        return "n:" + (repr(number) if math.isfinite(number) else str(number))
    if isinstance(value, str):
        return "s:" + value
    return "j:" + json.dumps(value, sort_keys=True, ensure_ascii=False)


def _key(path: str) -> str:
    """The fact key that carries a condition field (``data.x`` -> ``d_x``)."""
    if path in ("case", "type"):
        return "e_" + path
    scope, _, name = path.partition(".")
    return f"{scope[0]}_{name}"


MISSING: Any = object()
"""A field the event (or the case's facts) does not have."""


def event_values(event: Event, facts: Mapping[str, Any], paths: Sequence[str]) -> dict[str, Any]:
    """The condition fields of ``event`` (and facts) as tagged keys.

    ``<k>`` holds a scalar's (or a null's) tag, ``P<k>`` marks presence (not missing, not
    null), ``S<k>`` holds a string (for ``contains``), ``L<k>`` a list's item tags.
    """
    out: dict[str, Any] = {}
    for path in paths:
        if path == "case":
            value: Any = event.case
        elif path == "type":
            value = event.type
        elif path.startswith("data."):
            value = event.data.get(path[5:], MISSING)
        else:
            value = facts.get(path.partition(".")[2], MISSING)
        k = _key(path)
        if value is MISSING:
            continue
        if value is None:  # present but null: `in: [null]` matches it, `exists` does not
            out[k] = tag(None)
            continue
        out["P" + k] = 1
        if isinstance(value, list):
            out["L" + k] = [tag(v) for v in value if not isinstance(v, (list, dict))]
        elif isinstance(value, dict):
            continue
        else:
            out[k] = tag(value)
            if isinstance(value, str):
                out["S" + k] = tag(value)
    return out


# --------------------------------------------------------------------------- conditions


def durable_tests(
    condition: Condition | None,
    paths: set[str],
    *,
    negate: bool = False,
    fields: Mapping[str, FieldSpec] | None = None,
    units: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """A routine condition as durable_rules tests (to AND together); fields read go to ``paths``.

    Args:
        condition: The condition (None: no tests, always true).
        paths: Collects the fields the tests read (for :func:`event_values`).
        negate: Test that the condition does not hold (an ``unless``).
        fields: The fields of the event type the condition reads, when known.
        units: Each role's unit. With ``fields``, ``contains`` on a ``roles`` field also
            accepts the unit of the role asked for, as the reference compiles it.

    Raises:
        Unsupported: when durable_rules cannot say the same thing.
    """
    if condition is None:
        return []
    tests = [_test(condition, paths, negate, _Addresses(fields, units))]
    check_size(tests)
    return tests


def routine_tests(
    routine: CompiledRoutine, event_type: str, condition: Condition | None, paths: set[str]
) -> list[dict[str, Any]]:
    """:func:`durable_tests` for a ``when`` condition or an answer pattern of ``routine`` on
    events of ``event_type``: with that type's fields and the routine's role units, as
    :func:`samverkan_rules.compile.routine.compile_routine` compiles them (an ``unless`` is
    compiled without them: use :func:`durable_tests` with ``negate=True``).

    Raises:
        Unsupported: when durable_rules cannot say the same thing.
    """
    spec = routine.event_types.get(event_type)
    units = {name: role.unit for name, role in routine.routine.roles.items()}
    return durable_tests(
        condition, paths, fields=spec.fields if spec is not None else None, units=units
    )


_MAX_TERMS = 16
"""The most alternatives (terms of the disjunctive normal form) a durable test may have.

durable_rules refuses larger nested ``$or``/``$and`` trees when the ruleset is created
(error 113; for instance three ``$and``s of four two-way ``$or``s); 16 stays inside every
shape that was tried, and every bundled routine's conditions are far smaller."""


def _terms(test: Mapping[str, Any]) -> int:
    if "$and" in test:
        product = 1
        for part in test["$and"]:
            product *= _terms(part)
        return product
    if "$or" in test:
        return sum(_terms(part) for part in test["$or"])
    return 1


def check_size(tests: Sequence[Mapping[str, Any]]) -> None:
    """Refuse tests that durable_rules may not be able to build.

    Raises:
        Unsupported: when the tests, ANDed together, have more than 16 alternatives.
    """
    terms = _terms({"$and": list(tests)})
    if terms > _MAX_TERMS:
        raise Unsupported(
            f"condition too large for durable_rules ({terms} alternatives, at most {_MAX_TERMS})"
        )


@dataclass(frozen=True, slots=True)
class _Addresses:
    """What ``contains`` needs to widen a role to its unit, as the reference does."""

    fields: Mapping[str, FieldSpec] | None
    units: Mapping[str, str] | None


def _test(c: Condition, paths: set[str], negate: bool, addresses: _Addresses) -> dict[str, Any]:
    if isinstance(c, AllOf):
        parts = [_test(x, paths, negate, addresses) for x in c.all]
        return {"$or" if negate else "$and": parts}
    if isinstance(c, AnyOf):
        parts = [_test(x, paths, negate, addresses) for x in c.any]
        return {"$and" if negate else "$or": parts}
    if isinstance(c, NotOf):
        return _test(c.not_, paths, not negate, addresses)
    assert isinstance(c, Comparison)
    return _comparison(c, paths, negate, addresses)


def _eq(k: str, value: Any, *, null_is_missing: bool = True) -> dict[str, Any]:
    """``equals`` (``equals: null`` also holds for a missing field) or, with
    ``null_is_missing=False``, one value of ``in`` (where null matches only a null)."""
    if value is None and null_is_missing:
        return {"$nex": {"P" + k: 1}}
    return {k: tag(value)}


def _neq(k: str, value: Any, *, null_is_missing: bool = True) -> dict[str, Any]:
    """The negation of :func:`_eq`."""
    if value is None and null_is_missing:
        return {"$ex": {"P" + k: 1}}
    # A missing field, a list or an object is "not equal" too: no scalar key then.
    return {"$or": [{"$nex": {k: 1}}, {"$neq": {k: tag(value)}}]}


def _comparison(
    c: Comparison, paths: set[str], negate: bool, addresses: _Addresses
) -> dict[str, Any]:
    op = c.operators()[0]
    if op in ("gt", "gte", "lt", "lte"):
        raise Unsupported(f"'{op}' on {c.field} (ordering of tagged values)")
    if c.field.startswith("referred."):
        raise Unsupported(f"field {c.field}: it reads the event this one refers to")
    if c.field not in ("case", "type") and not c.field.startswith(("data.", "fact.")):
        raise Unsupported(f"field {c.field}")
    if c.field.count(".") > 1:
        raise Unsupported(f"nested field path {c.field}")
    paths.add(c.field)
    k = _key(c.field)
    if op == "exists":
        want = bool(c.exists) != negate
        return {"$ex" if want else "$nex": {"P" + k: 1}}
    if op in ("equals", "not_equals"):
        value = c.equals if op == "equals" else c.not_equals
        positive = (op == "equals") != negate
        return _eq(k, value) if positive else _neq(k, value)
    if op in ("in", "not_in"):
        values = list((c.in_ if op == "in" else c.not_in) or ())
        if not values:
            raise Unsupported(f"empty '{op}' list on {c.field}")
        positive = (op == "in") != negate
        if positive:
            return {"$or": [_eq(k, v, null_is_missing=False) for v in values]}
        return {"$and": [_neq(k, v, null_is_missing=False) for v in values]}
    if op == "contains":
        return _contains(c, k, negate, addresses)
    raise Unsupported(f"operator {op}")  # pragma: no cover - the model has no others


def _contains(c: Comparison, k: str, negate: bool, addresses: _Addresses) -> dict[str, Any]:
    """``contains``: a string equal to, or a list holding, one of the accepted values (the
    value, and on a ``roles`` field the unit of the role asked for)."""
    if negate:
        # Not expressed: it would need "no item of the list" over a list that may be absent,
        # empty or hold objects; the reference code decides such rules.
        raise Unsupported(f"'not contains' on {c.field}")
    accepted = accepted_by_contains(c, addresses.fields, addresses.units)
    return {
        "$or": [
            test
            for item in map(tag, accepted)
            for test in ({"S" + k: item}, {"$iany": {"L" + k: {"$i": item}}})
        ]
    }
