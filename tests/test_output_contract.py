"""The evaluation's JSON contract (samverkan_rules.records) and the engine's fast path agree.

``records`` is a leaf: it describes the output and imports nothing of the engine, so the
schema and embedding systems can read it alone.
"""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from samverkan_rules import Evaluation, evaluate, load_registry
from samverkan_rules._json import dumps
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.i18n import translator
from samverkan_rules.records import (
    CaseResult,
    EvaluationDocument,
    Obligation,
    convert,
    to_builtins,
)
from tests.histories import answer as histories_answer
from tests.histories import field_value

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "samverkan_rules"

LEAVES = frozenset(
    {
        "samverkan_rules._json",
        "samverkan_rules.diagnostics",
        "samverkan_rules.i18n",
        "samverkan_rules.status",
    }
)
"""What ``records`` may import of the package (type-checking imports included)."""


def _package_imports(module: str) -> set[str]:
    """The modules of the package that ``module``'s source imports, at any level."""
    path = PACKAGE.joinpath(*module.split(".")[1:])
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module == "samverkan_rules":
                found.update(f"samverkan_rules.{a.name}" for a in node.names)
            else:
                found.add(node.module)
    return {name for name in found if name.startswith("samverkan_rules")}


def test_records_is_a_leaf() -> None:
    seen: set[str] = set()
    pending = ["samverkan_rules.records"]
    while pending:
        for name in _package_imports(pending.pop()) - seen:
            seen.add(name)
            pending.append(name)
    assert seen <= LEAVES, sorted(seen - LEAVES)


# -- the fast path writes what the records say ------------------------------------------------
#
# Evaluation writes its JSON straight from the engine's compact ledgers (engine.output); the
# records are the contract. For generated event streams over every bundled routine, each
# case's JSON from the fast path must be the records' JSON byte for byte, and must read
# back as the records (same fields, same order, same types).

REGISTRY = load_registry(ROOT / "routines")
ROUTINE_IDS = REGISTRY.ids()
WITH_PERIODS = "utskrivning-sluten-vard"
WITH_QUEUES = "dagverksamhet-beslut"

CONTRACT_SETTINGS = settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _strings(node: Any, out: set[str]) -> None:
    """Every string a routine's conditions compare with."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("equals", "not_equals", "contains") and isinstance(value, str):
                out.add(value)
            elif key in ("in", "not_in") and isinstance(value, list):
                out.update(v for v in value if isinstance(v, str))
            else:
                _strings(value, out)
    elif isinstance(node, list):
        for item in node:
            _strings(item, out)


class Universe:
    """What generated events for one routine (all its versions) are made of."""

    def __init__(self, rid: str) -> None:
        self.versions = REGISTRY.versions(rid)
        self.routine: CompiledRoutine = self.versions[-1]
        types: set[str] = set()
        strings: set[str] = {"annat"}
        for r in self.versions:
            answers = {
                p.event_type for rule in r.rules for p in rule.fulfilled_by + rule.cancelled_by
            }
            types |= set(r.rules_by_trigger) | answers | set(r.fact_setters)
            for q in r.queues.values():
                types |= set(q.joins) | set(q.leaves) | set(q.offers)
            _strings(r.routine.model_dump(mode="json", by_alias=True), strings)
        self.types = sorted(
            t for t in types if t in self.routine.event_types and not t.startswith("schedule.")
        )
        self.strings = sorted(strings)
        self.roles = sorted(self.routine.routine.roles)
        self.units = sorted(self.routine.routine.units)
        self.starts = [
            datetime.combine(r.routine.valid_from + timedelta(days=30), time(8), tzinfo=UTC)
            for r in self.versions
        ]


UNIVERSES = {rid: Universe(rid) for rid in ROUTINE_IDS}


def _event(ident: str, case: str, etype: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": ident, "case": case, "type": etype, "at": at.isoformat(), "data": data}


@st.composite
def histories(draw: st.DrawFn, rid: str) -> tuple[list[dict[str, Any]], datetime]:
    """Events of a few cases (and a unit's, where the routine has units) and an instant
    from an hour before one of them to a month after, so obligations are seen upcoming,
    due, met, late and overdue, periods open and closed, queues joined and offered."""
    u = UNIVERSES[rid]
    start = draw(st.sampled_from(u.starts))
    cases = ["c1", "c2", *u.units[:1]]
    events: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 16))):
        ident = f"e{i:02d}"
        if events and draw(st.integers(0, 2)) == 0:
            answer = histories_answer(draw, u.routine, draw(st.sampled_from(events)), ident)
            if answer is not None:
                events.append(answer)
                continue
        etype = draw(st.sampled_from(u.types))
        spec = u.routine.event_types[etype]
        case = u.units[0] if spec.unit_level and u.units else draw(st.sampled_from(cases))
        at = start + timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
        ids = [e["id"] for e in events]
        data = {
            name: draw(field_value(field, strings=u.strings, addresses=u.roles, ids=ids, at=at))
            for name, field in spec.fields.items()
            if field.required or draw(st.booleans())
        }
        events.append(_event(ident, case, etype, at, data))
    near = datetime.fromisoformat(draw(st.sampled_from(events))["at"])
    as_of = near + timedelta(minutes=draw(st.integers(-60, 30 * 24 * 60)))
    return events, as_of.astimezone(u.routine.tz)


def _records_document(result: Evaluation) -> dict[str, Any]:
    """The evaluation document built from the records alone."""
    return {
        "as_of": result.as_of,
        "routines": [to_builtins(r) for r in result.routines],
        "cases": [c.to_json() for c in result.cases],
        "diagnostics": [to_builtins(d) for d in result.diagnostics],
        "summary": result.summary,
        "queues": [to_builtins(q) for q in result.queues],
    }


def _check_contract(result: Evaluation) -> None:
    text = result.to_json()  # first, before the records are built and kept
    fast = list(result.case_dicts())
    records = result.cases
    assert [d["case"] for d in fast] == [c.case for c in records]
    for written, record in zip(fast, records, strict=True):
        # The fast path's JSON is the record's, byte for byte ...
        assert dumps(written) == dumps(record.to_json())
        # ... which is the record's full dump less the fields written only where they apply,
        full = to_builtins(record)
        for o in full["actions"] + (full["obligations"] or []):
            for key in Obligation.sometimes_absent:
                if o[key] is None:
                    del o[key]
        for key in CaseResult.sometimes_absent:  # periods only where there are some
            if full[key] is None or (key == "periods" and not full[key]):
                del full[key]
        assert dumps(written) == dumps(full)
        # ... and it reads back as the records, every field of the right type.
        assert dumps(convert(written, CaseResult).to_json()) == dumps(written)
        assert convert(written, CaseResult) == record
    assert text == dumps(_records_document(result))
    assert list(json.loads(text)) == list(EvaluationDocument.__struct_fields__)
    convert(json.loads(text), EvaluationDocument)


def test_the_generated_histories_reach_periods_and_queues() -> None:
    # The properties below mean something only if the streams reach periods and queues.
    assert UNIVERSES[WITH_PERIODS].routine.periods
    assert UNIVERSES[WITH_QUEUES].routine.queues

    def has_periods(history: tuple[list[dict[str, Any]], datetime]) -> bool:
        result = evaluate(REGISTRY.versions(WITH_PERIODS), history[0], history[1])
        return any(c.periods for c in result.cases)

    def has_queued(history: tuple[list[dict[str, Any]], datetime]) -> bool:
        result = evaluate(REGISTRY.versions(WITH_QUEUES), history[0], history[1])
        return any(q.order or q.offers for q in result.queues)

    quick = settings(database=None, max_examples=500, deadline=None)
    find(histories(WITH_PERIODS), has_periods, settings=quick)
    find(histories(WITH_QUEUES), has_queued, settings=quick)


@pytest.mark.parametrize("rid", ROUTINE_IDS)
@CONTRACT_SETTINGS
@given(data=st.data())
def test_the_fast_path_writes_the_records_json(rid: str, data: st.DataObject) -> None:
    events, as_of = data.draw(histories(rid))
    result = evaluate(REGISTRY.versions(rid), events, as_of)
    english = result.in_language(translator("en"))
    _check_contract(result)
    _check_contract(english)
    # With the full ledger and the traces asked for, the same holds.
    _check_contract(result.with_output(ledger=True, trace=True))
    _check_contract(english.with_output(ledger=True, trace=True))
