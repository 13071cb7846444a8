"""The breach policy (--blocked-is-breach, --tolerance, --closed) against generated ground
truth, and the report's header saying which policy was used."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules import evaluate, load_routine
from samverkan_rules.audit.policy import BreachPolicy
from samverkan_rules.audit.synthetic import History, generate_history, write_files
from tests.audit.support import audit_args, run_cli
from tests.support import ROUTINES


def _report(out: Path) -> dict[str, Any]:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def _history(directory: Path, **options: Any) -> History:
    history, stream = generate_history(5, 50, years=2, truth=True, **options)
    write_files(stream, directory, files=2, shuffle=random.Random(5))
    return history


def _rules(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["rule"]: r for r in report["by_rule"] if r["total"]}


def test_tolerance_counts_work_done_within_it_as_on_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = _history(tmp_path / "in")
    period = ["--from", h.first.isoformat(), "--to", h.last.isoformat()]
    plain, tolerant = tmp_path / "plain", tmp_path / "tolerant"
    assert run_cli(audit_args([tmp_path / "in"], plain, *period), monkeypatch) == 0
    assert (
        run_cli(audit_args([tmp_path / "in"], tolerant, *period, "--tolerance", "1"), monkeypatch)
        == 0
    )
    a, b = _rules(_report(plain)), _rules(_report(tolerant))
    assert h.obligations is not None
    for rule, counts in h.expected.items():
        late = h.late_working_days.get(rule, Counter())
        within = sum(n for days, n in late.items() if days <= 1)
        judged = counts["fulfilled"] + counts["fulfilled_late"] + counts["overdue"]
        assert a[rule]["on_time"] == counts["fulfilled"], rule
        assert b[rule]["on_time"] == counts["fulfilled"] + within, rule
        assert b[rule]["judged"] == judged
        assert b[rule]["on_time_rate"] == round((counts["fulfilled"] + within) / judged, 4)
        assert b[rule]["statuses"] == a[rule]["statuses"], "statuses are never rewritten"
    # The generator's late messages and journals are 1 working day late, its late receipts 2.
    assert any(b[r]["on_time"] > a[r]["on_time"] for r in b)
    policy = _report(tolerant)["header"]["policy"]
    assert policy["tolerance_working_days"] == 1
    assert "at most 1 working day after it" in policy["statement"]
    html = (tolerant / "report.html").read_text(encoding="utf-8")
    assert "högst 1 vardag efter den" in html
    assert _report(plain)["header"]["policy"]["statement"].startswith(
        "On time means done by the deadline."
    )


def test_blocked_is_breach_puts_waiting_past_deadline_in_the_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = _history(tmp_path / "in", no_consent=0.3)
    period = ["--from", h.first.isoformat(), "--to", h.last.isoformat()]
    plain, strict = tmp_path / "plain", tmp_path / "strict"
    assert run_cli(audit_args([tmp_path / "in"], plain, *period), monkeypatch) == 0
    assert (
        run_cli(audit_args([tmp_path / "in"], strict, *period, "--blocked-is-breach"), monkeypatch)
        == 0
    )
    a, b = _rules(_report(plain)), _rules(_report(strict))
    waiting = h.expected["start-message"]["blocked"]
    assert waiting > 0
    for rule in ("start-message", "end-message"):
        counts = h.expected[rule]
        judged = counts["fulfilled"] + counts["fulfilled_late"] + counts["overdue"]
        assert a[rule]["statuses"]["blocked"] == counts["blocked"]
        assert a[rule]["waiting_past_deadline"] == counts["blocked"]  # every deadline passed
        assert a[rule]["judged"] == judged
        assert b[rule]["judged"] == judged + counts["blocked"]
        assert b[rule]["on_time_rate"] == round(
            counts["fulfilled"] / (judged + counts["blocked"]), 4
        )
    header = _report(strict)["header"]["policy"]
    assert header["blocked_is_breach"] is True
    assert "waiting action whose deadline has passed" in header["statement"]
    html = (strict / "report.html").read_text(encoding="utf-8")
    assert "en åtgärd som väntar och vars frist har gått ut" in html


def test_closed_period_leaves_out_what_falls_due_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = _history(tmp_path / "in")
    assert h.obligations is not None
    end = h.first.replace(month=6, day=30)  # mid-story for the cases started in June
    period = ["--from", h.first.isoformat(), "--to", end.isoformat()]
    openv, closed = tmp_path / "open", tmp_path / "closed"
    assert run_cli(audit_args([tmp_path / "in"], openv, *period), monkeypatch) == 0
    assert run_cli(audit_args([tmp_path / "in"], closed, *period, "--closed"), monkeypatch) == 0
    inside = [o for o in h.obligations if h.first <= o.trigger_day <= end]
    kept = [o for o in inside if o.deadline_day <= end]
    assert len(kept) < len(inside), "the period must cut some stories"
    report = _report(closed)
    truth: dict[str, Counter[str]] = {}
    for o in kept:
        truth.setdefault(o.rule, Counter())[o.status] += 1
    for rule, r in _rules(report).items():
        assert r["statuses"]["due"] == r["statuses"]["upcoming"] == 0
        assert {s: n for s, n in r["statuses"].items() if n} == dict(truth[rule]), rule
    assert report["header"]["policy"]["left_out"] == len(inside) - len(kept)
    assert sum(r["total"] for r in _report(openv)["by_rule"]) == len(inside)
    rows = (closed / "obligations.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) - 1 == len(kept)
    html = (closed / "report.html").read_text(encoding="utf-8")
    assert f"utelämnade ({len(inside) - len(kept)})" in html


@settings(max_examples=60, deadline=None)
@given(
    fulfilled=st.integers(0, 20),
    late=st.dictionaries(st.integers(0, 30), st.integers(1, 9), max_size=8),
    overdue=st.integers(0, 20),
    blocked=st.integers(0, 5),
    n=st.integers(0, 30),
)
def test_a_larger_tolerance_never_lowers_the_on_time_count(
    fulfilled: int, late: dict[int, int], overdue: int, blocked: int, n: int
) -> None:
    statuses = {"fulfilled": fulfilled, "fulfilled_late": sum(late.values()), "overdue": overdue}
    counts = [BreachPolicy(tolerance=k).on_time(statuses, late) for k in range(n + 2)]
    assert counts == sorted(counts)
    assert counts[0] == fulfilled
    assert counts[-1] <= fulfilled + sum(late.values())
    for breach in (False, True):
        policy = BreachPolicy(blocked_is_breach=breach, tolerance=n)
        rate = policy.rate(statuses, late, blocked)
        judged = policy.judged(statuses, blocked)
        assert (rate is None) == (judged == 0)
        assert rate is None or 0 <= rate <= 1
    strict = BreachPolicy(blocked_is_breach=True).rate(statuses, late, blocked)
    lenient = BreachPolicy().rate(statuses, late, blocked)
    if strict is not None and lenient is not None:
        assert strict <= lenient


def test_a_negative_tolerance_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(audit_args([tmp_path], tmp_path / "out", "--tolerance", "-1"), monkeypatch) == 2
    assert "give a whole number >= 0 (--tolerance)" in capsys.readouterr().err
    with pytest.raises(ValueError, match="tolerance -1"):
        BreachPolicy(tolerance=-1)


def test_done_on_julafton_after_a_deadline_on_the_23rd_is_one_working_day_late(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [
        {
            "id": "p1",
            "case": "c1",
            "type": "dagverksamhet.start_planned",
            "at": "2026-12-01T09:00:00+01:00",
            "data": {"start_date": "2026-12-29", "form": "dagrehab"},
        },
        {
            "id": "j1",
            "case": "c1",
            "type": "document.recorded",
            "at": "2026-12-24T10:00:00+01:00",
            "data": {"record": "verkstallighetsjournal", "topic": "start", "refers_to": "p1"},
        },
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    out = tmp_path / "out"
    args = audit_args([path], out, "--from", "2026-12-01", "--to", "2026-12-31", "--identify")
    assert run_cli(args, monkeypatch, key=None) in (0, 1)
    lines = (out / "obligations.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = next(
        dict(zip(header, line.split(","), strict=False))
        for line in lines[1:]
        if ",start-journal," in line
    )
    assert row["deadline"].startswith("2026-12-23")
    assert (row["status"], row["late_working_days"], row["late_calendar_days"]) == (
        "fulfilled_late",
        "1",
        "1",
    )
    # explain and due read the same figure from the evaluator.
    routine = load_routine(ROUTINES / "orebro-dagverksamhet-hemvard.yaml")
    as_of = datetime.fromisoformat("2027-01-01T00:00:00+01:00")
    result = evaluate(routine, events, as_of, ledger=True)
    journal = next(o for o in result.case("c1").obligations if o.rule == "start-journal")
    assert (journal.status, journal.late_working_days) == ("fulfilled_late", 1)
    assert "1 vardag för sent" in journal.explanation
