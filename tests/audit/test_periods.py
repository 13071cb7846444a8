"""Periods in the audit: summed per period, breached rule and unit, as the evaluation has them.

The discharge routine's variant (``utskrivning-sluten-vard-exempelregion``) starts a
betalningsansvar period at each breached ``ta-emot-patienten`` deadline and prices it per
calendar day. A generated history of discharges, some on time, some late and some not yet
discharged, is audited; the report's sums must equal the sums of the periods the evaluation
output lists case by case, and any grouping of the cases must give the same report.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules import load_registry
from samverkan_rules.audit.partition import PartitionJob, audit_partition
from samverkan_rules.audit.report import finish
from samverkan_rules.audit.rows import AuditRules
from samverkan_rules.audit.tallies import Partial
from samverkan_rules.engine import evaluate
from samverkan_rules.events.model import Event, event_from_mapping
from tests.audit.support import (
    DISCHARGE_AS_OF,
    DISCHARGE_YEAR,
    VARIANT,
    bare_header,
    discharge_history,
    run_cli,
    write_shuffled,
)
from tests.support import ROUTINES, event

AS_OF = DISCHARGE_AS_OF
FIRST, LAST = DISCHARGE_YEAR
PER_DAY = 9000  # the variant's belopp_per_dygn
UNIT_LABEL = "kommun"  # the routine declares no units: a unit's id is its label


def _expected(events: list[dict[str, Any]]) -> dict[tuple[str, str], Counter[str]]:
    """Sums of the evaluation output's periods per (breached rule, unit)."""
    registry = load_registry(ROUTINES)
    versions = list(registry.versions(VARIANT))
    doc = json.loads(
        evaluate(versions, events, datetime.fromisoformat(AS_OF), ledger=True, trace=True).to_json()
    )
    units = {name: role.unit for name, role in versions[0].routine.roles.items()}
    sums: dict[tuple[str, str], Counter[str]] = {}
    for case in doc["cases"]:
        obligations = {o["obligation"]: o for o in case["obligations"]}
        for p in case.get("periods", []):
            if not FIRST.isoformat() <= p["start"][:10] <= LAST.isoformat():
                continue
            breached = obligations[p["started_by_obligation"]]
            key = (breached["rule"], units[breached["responsible"]])
            tally = sums.setdefault(key, Counter())
            tally["count"] += 1
            tally["open"] += p["open"]
            for field in ("days", "working_days", "hours"):
                tally[field] += p["length"][field]
            tally["amount"] += round(p["amount"] * 100)
    return sums


def test_report_sums_the_periods_the_evaluation_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = discharge_history(3, 120)
    expected = _expected(events)
    assert sum(t["count"] for t in expected.values()) > 20, "the history breaches deadlines"
    assert any(t["open"] for t in expected.values()), "and leaves some periods open"
    out = tmp_path / "out"
    args = ["audit", "--routines", str(ROUTINES), "--id", VARIANT]
    args += ["--events", str(write_shuffled(events, tmp_path / "history.jsonl")), "--out", str(out)]
    args += ["--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--as-of", AS_OF]
    assert run_cli(args, monkeypatch) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    found = {(p["started_by_rule"], p["unit"]): p for p in report["by_period"] if p["count"]}
    assert set(found) == set(expected)
    for key, tally in expected.items():
        p = found[key]
        assert p["period"] == "betalningsansvar"
        assert key[1] == "kommun" and p["unit_label"] == UNIT_LABEL
        assert (p["count"], p["open"]) == (tally["count"], tally["open"]), key
        assert (p["days"], p["working_days"], p["hours"]) == (
            tally["days"],
            tally["working_days"],
            tally["hours"],
        ), key
        # The amount is the variant's price per calendar day times the days, summed.
        assert round(p["amount"] * 100) == tally["amount"] == p["days"] * PER_DAY * 100
        assert p["length_days"]["count"] == p["count"]
        assert p["length_days"]["max"] <= p["days"]
    # periods.csv is the same table.
    with (out / "periods.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(report["by_period"])
    for row, p in zip(rows, report["by_period"], strict=True):
        assert (row["period"], int(row["count"]), int(row["days"])) == (
            p["period"],
            p["count"],
            p["days"],
        )
        assert row["amount"] == f"{p['amount']:.2f}"


def test_a_routine_without_periods_lists_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    args = ["audit", "--routines", str(ROUTINES), "--id", "orebro-dagverksamhet-hemvard"]
    args += ["--events", str(ROUTINES.parent / "examples" / "audit"), "--out", str(out)]
    assert run_cli(args, monkeypatch) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["by_period"] == []
    assert (out / "periods.csv").read_text(encoding="utf-8").count("\n") == 1  # the header


def test_a_declared_period_with_nothing_started_is_listed_with_zeros(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    discharged_in_time = [
        event(id="r", case="p", type="patient.ready_for_discharge", at="2026-03-02T13:00:00+01:00"),
        event(
            id="d", case="p", type="patient.discharged", at="2026-03-03T10:00:00+01:00", to="hem"
        ),
    ]
    out = tmp_path / "out"
    args = ["audit", "--routines", str(ROUTINES), "--id", VARIANT]
    history = write_shuffled(discharged_in_time, tmp_path / "h.jsonl")
    args += ["--events", str(history), "--out", str(out)]
    args += ["--as-of", AS_OF, "--to", "2026-12-31"]
    assert run_cli(args, monkeypatch) == 0
    (only,) = json.loads((out / "report.json").read_text(encoding="utf-8"))["by_period"]
    assert (only["period"], only["count"], only["days"], only["amount"]) == (
        "betalningsansvar",
        0,
        0,
        0.0,
    )
    assert only["started_by_rule"] is None and only["length_days"]["median"] is None


_VERSIONS = list(load_registry(ROUTINES).versions(VARIANT))
_RULES = AuditRules.prepare(_VERSIONS)


def _streams() -> list[tuple[str, list[Event]]]:
    by_case: dict[str, list[Event]] = {}
    for raw in discharge_history(5, 60):
        by_case.setdefault(raw["case"], []).append(event_from_mapping(raw))
    return sorted(by_case.items())


_STREAMS = _streams()
_JOB = PartitionJob(routines=(), compare=None, as_of=AS_OF, first=FIRST, last=LAST, file_names=())


def _report(partial: Partial) -> str:
    header = bare_header(AS_OF, VARIANT, FIRST, LAST)
    return finish(partial, header, _VERSIONS, first=FIRST, last=LAST).to_json()


@settings(max_examples=10, deadline=None, derandomize=True)
@given(data=st.data())
def test_period_sums_merge_in_any_grouping(data: st.DataObject) -> None:
    whole = audit_partition(_JOB, _STREAMS, io.StringIO(), routines=_VERSIONS)
    assert sum(t.count for t in whole.periods.values()) > 5
    groups = data.draw(st.integers(2, 5))
    assign = [data.draw(st.integers(0, groups - 1)) for _ in _STREAMS]
    parts = [
        audit_partition(
            _JOB,
            [s for s, g in zip(_STREAMS, assign, strict=True) if g == i],
            io.StringIO(),
            routines=_VERSIONS,
        )
        for i in range(groups)
    ]
    order = data.draw(st.permutations(range(groups)))
    left = Partial.merge_all(parts[i] for i in order)
    right = Partial()
    for i in reversed(order):
        right = parts[i].merge(right)
    assert _report(left) == _report(whole) == _report(right)


def test_open_periods_run_to_as_of() -> None:
    """A notice never followed by a discharge: the period is open and its length grows
    with as_of, a day per day."""
    events = [e for e in _STREAMS[0][1] if e.type == "patient.ready_for_discharge"]
    case = _STREAMS[0][0]
    lengths = []
    for as_of in ("2026-12-31T12:00:00+01:00", "2027-01-10T12:00:00+01:00"):
        job = PartitionJob(
            routines=(), compare=None, as_of=as_of, first=FIRST, last=LAST, file_names=()
        )
        partial = audit_partition(job, [(case, events)], io.StringIO(), routines=_VERSIONS)
        ((tally,),) = [list(partial.periods.values())]
        assert tally.open == tally.count == 1
        lengths.append(tally.days)
    assert lengths[1] - lengths[0] == 10
