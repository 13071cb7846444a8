"""Honest lateness: done late and overdue kept apart, spans instead of one bar per value,
rates with their volume."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from samverkan_rules.audit.report import percentile
from tests.audit.support import audit_args, generate, run_cli


def _report(out: Path) -> dict[str, Any]:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_lateness_is_of_the_work_done_late_and_overdue_ages_stand_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generated = generate(tmp_path / "in", seed=4, cases=60, years=2)
    h = generated.history
    period = ["--from", h.first.isoformat(), "--to", h.last.isoformat()]
    out = tmp_path / "out"
    assert run_cli(audit_args([tmp_path / "in"], out, *period), monkeypatch) == 0
    report = _report(out)
    rules = {r["rule"]: r for r in report["by_rule"] if r["total"]}
    for rule, truth in h.late_working_days.items():
        r = rules[rule]
        late = r["lateness_working_days"]
        assert late["count"] == r["statuses"]["fulfilled_late"] == sum(truth.values())
        assert (late["median"], late["p90"], late["max"]) == (
            percentile(truth, 50),
            percentile(truth, 90),
            max(truth),
        ), rule
        assert r["overdue_age_working_days"]["count"] == r["statuses"]["overdue"]
        assert r["judged"] == r["total"]  # the generator's obligations are all judged
    # Audited a year later, the figures are the same: an age is measured to the end of the
    # period, not to the day the audit ran.
    later = tmp_path / "later"
    args = audit_args([tmp_path / "in"], later, *period, "--as-of", "2023-06-01T00:00:00+02:00")
    assert run_cli(args, monkeypatch) == 0
    assert _report(later)["by_rule"] == report["by_rule"]
    assert _report(later)["overdue_age_buckets"] == report["overdue_age_buckets"]
    assert [b["label"] for b in report["lateness_buckets"]] == [
        "0",
        "1",
        "2-5",
        "6-10",
        "11-20",
        ">20",
    ]
    histogram = {b["working_days"]: b["count"] for b in report["lateness_histogram"]}
    assert sum(histogram.values()) == sum(r["statuses"]["fulfilled_late"] for r in rules.values())


def test_rules_with_few_judged_obligations_are_listed_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generated = generate(tmp_path / "in", seed=2, cases=15)
    out = tmp_path / "out"
    assert run_cli(audit_args(generated.paths, out), monkeypatch) == 0
    report = _report(out)
    by_key = {f"{r['routine']}/{r['version']}/{r['rule']}": r for r in report["by_rule"]}
    assert {r["low_volume"] for r in by_key.values() if r["total"]} == {True, False}
    for r in by_key.values():
        assert r["low_volume"] == (r["judged"] < 20)
    html = (out / "report.html").read_text(encoding="utf-8")
    order = [by_key[k] for k in re.findall(r'<tr data-rule="([^"]+)"', html)]
    flags = [r["low_volume"] for r in order]
    assert flags == sorted(flags), "the rules with enough obligations come first"
    rates = [r["on_time_rate"] for r in order if not r["low_volume"]]
    assert rates == sorted(rates), "worst first among them"
    assert "Regler med färre än 20 bedömda står sist" in html
    summary = (out / "summary.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert summary[-4:] == [
        "judged",
        "low_volume",
        "overdue_age_working_days_median",
        "overdue_age_working_days_p90",
    ]
