"""The on-time rate per month against a target (--target), and the month x rule table: the
same counts in report.json, rule_months.csv and report.xlsx, and the policy stated with
every table."""

from __future__ import annotations

import csv
import json
import random
import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules import load_registry
from samverkan_rules.audit.models import STATUSES
from samverkan_rules.audit.policy import BreachPolicy
from samverkan_rules.audit.report import finish
from samverkan_rules.audit.rows import ObligationRow
from samverkan_rules.audit.run import AuditError, AuditOptions, run_audit
from samverkan_rules.audit.synthetic import generate_history, write_files
from samverkan_rules.audit.tallies import Partial
from tests.audit.support import KEY, ROUTINE_ID, audit_args, bare_header, run_cli
from tests.support import ROUTINES

ROUTINE_VERSIONS = list(load_registry(ROUTINES).versions(ROUTINE_ID))
_SUMMED = ("total", "judged", "on_time")


def _report(out: Path) -> dict[str, Any]:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _sums(rows: list[dict[str, Any]], key: tuple[str, ...]) -> dict[tuple[str, ...], Counter[str]]:
    """Per ``key``: the rows' statuses, total, judged and on-time counts summed."""
    out: dict[tuple[str, ...], Counter[str]] = {}
    for row in rows:
        found = out.setdefault(tuple(row[k] for k in key), Counter())
        found.update(row["statuses"])
        found.update({k: row[k] for k in _SUMMED})
    return out


def _counts(row: dict[str, Any]) -> Counter[str]:
    return Counter({**row["statuses"], **{k: row[k] for k in _SUMMED}})


def _assert_cells_add_up(report: dict[str, Any]) -> None:
    """Month x rule cells sum to the rules over the months, to the months over the rules;
    each cell's rate is its on-time count over its judged count."""
    cells = report["by_rule_month"]
    assert cells, "the audit has obligations"
    per_rule = _sums(cells, ("routine", "version", "rule"))
    for r in report["by_rule"]:
        key = (r["routine"], r["version"], r["rule"])
        assert +per_rule.pop(key, Counter()) == +_counts(r), key
    assert not per_rule, "no cell of a rule by_rule does not list"
    per_month = _sums(cells, ("month",))
    assert {k[0]: +v for k, v in per_month.items()} == {
        m["month"]: +_counts(m) for m in report["by_month"]
    }
    for c in cells:
        assert c["total"] == sum(c["statuses"].values()) > 0
        expected = round(c["on_time"] / c["judged"], 4) if c["judged"] else None
        assert c["on_time_rate"] == expected
    order = [(r["routine"], r["version"], r["rule"]) for r in report["by_rule"]]
    keys = [(order.index((c["routine"], c["version"], c["rule"])), c["month"]) for c in cells]
    assert keys == sorted(keys) and len(set(keys)) == len(keys), "by_rule's order, then month"


def test_month_by_rule_counts_agree_in_json_csv_and_workbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    history, stream = generate_history(8, 40, years=2, no_consent=0.2)
    paths = write_files(stream, tmp_path / "in", files=2, shuffle=random.Random(8))
    period = ["--from", history.first.isoformat(), "--to", history.last.isoformat()]
    policy = ("--tolerance", "1", "--blocked-is-breach", "--target", "85%", "--xlsx")
    out = tmp_path / "out"
    assert run_cli(audit_args(paths, out, *period, *policy), monkeypatch) == 0
    report = _report(out)
    assert report["header"]["target"] == 0.85
    assert report["header"]["policy"]["tolerance_working_days"] == 1
    _assert_cells_add_up(report)
    assert sum(c["on_time"] for c in report["by_rule_month"]) > sum(
        c["statuses"]["fulfilled"] for c in report["by_rule_month"]
    ), "the tolerance counts some late ones on time in the cells too"
    rows = _csv(out / "rule_months.csv")
    assert [
        (r["routine"], r["version"], r["rule"], r["month"], int(r["total"]), r["on_time_rate"])
        for r in rows
    ] == [
        (
            c["routine"],
            c["version"],
            c["rule"],
            c["month"],
            c["total"],
            "" if c["on_time_rate"] is None else f"{c['on_time_rate']:.4f}",
        )
        for c in report["by_rule_month"]
    ]
    for row, cell in zip(rows, report["by_rule_month"], strict=True):
        assert {s: int(row[s]) for s in STATUSES} == cell["statuses"]
        assert (int(row["judged"]), int(row["on_time"])) == (cell["judged"], cell["on_time"])
    book = openpyxl.load_workbook(out / "report.xlsx")
    assert book.sheetnames[:5] == ["Rapport", "Regler", "Enheter", "Månader", "Regler per månad"]
    sheet = list(book["Regler per månad"].iter_rows(values_only=True))
    assert book["Regler per månad"].freeze_panes == "A2"
    assert list(sheet[0]) == list(rows[0])
    for values, row in zip(sheet[1:], rows, strict=True):
        for name, value in zip(sheet[0], values, strict=True):
            text = row[str(name)]
            if name in ("routine", "version", "rule", "month"):
                assert value == text, name
            elif name == "on_time_rate":
                assert value == (float(text) if text else None), name
            else:
                assert value == int(text), name
    assert len(sheet) == 1 + len(rows)
    months = list(book["Månader"].iter_rows(values_only=True))
    assert [m[1] for m in months[1:]] == [m["total"] for m in report["by_month"]]


def test_the_workbook_states_the_policy_and_target_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    history, stream = generate_history(3, 12, years=1)
    paths = write_files(stream, tmp_path / "in", files=1, shuffle=random.Random(3))
    period = ["--from", history.first.isoformat(), "--to", history.last.isoformat()]
    out = tmp_path / "out"
    args = ("--xlsx", "--closed", "--tolerance", "2", "--target", "0.9")
    assert run_cli(audit_args(paths, out, *period, *args), monkeypatch) == 0
    header = _report(out)["header"]
    book = openpyxl.load_workbook(out / "report.xlsx")
    assert book.sheetnames[0] == "Rapport"
    rows = list(book["Rapport"].iter_rows(values_only=True))
    assert rows[0] == ("field", "label", "value")
    fields = {r[0]: r[2] for r in rows[1:]}
    assert fields["policy.tolerance_working_days"] == 2
    assert fields["policy.closed"] is True and fields["policy.blocked_is_breach"] is False
    assert fields["policy.left_out"] == header["policy"]["left_out"]
    assert fields["target"] == 0.9
    assert book["Rapport"]["C10"].number_format == "0.0%"
    assert fields["period.from"] == header["period"]["from"]
    assert "högst 2 vardagar efter den" in fields["policy.statement"]
    assert "Mål: minst 90\u00a0% i tid varje månad" in fields["policy.statement"]
    # Without --target the field is there, empty.
    plain = tmp_path / "plain"
    assert run_cli(audit_args(paths, plain, *period, "--xlsx"), monkeypatch) == 0
    rows = list(
        openpyxl.load_workbook(plain / "report.xlsx")["Rapport"].iter_rows(values_only=True)
    )
    assert {r[0]: r[2] for r in rows[1:]}["target"] in (None, "")
    assert _report(plain)["header"]["target"] is None


@pytest.mark.parametrize(
    ("given_", "share"), [("0.9", 0.9), ("90%", 0.9), ("0,75", 0.75), ("92.5 %", 0.925), ("1", 1.0)]
)
def test_a_target_is_a_share_or_a_percentage(
    given_: str, share: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history, stream = generate_history(2, 4, years=1)
    paths = write_files(stream, tmp_path / "in", files=1, shuffle=random.Random(2))
    period = ["--from", history.first.isoformat(), "--to", history.last.isoformat()]
    out = tmp_path / "out"
    assert run_cli(audit_args(paths, out, *period, "--target", given_), monkeypatch) == 0
    assert _report(out)["header"]["target"] == share


@pytest.mark.parametrize(
    ("given_", "said"),
    [
        ("0", "a share above 0 and at most 1"),
        ("1.5", "a share above 0 and at most 1"),
        ("90", "did you mean 90%?"),
        ("0%", "such as 90%"),
        ("120%", "such as 90%"),
        ("-0.2", "such as 0.9"),
        ("nan", "such as 0.9"),
        ("inf", "such as 0.9"),
        ("ninety", "such as 0.9"),
    ],
)
def test_a_bad_target_is_refused_saying_what_to_give(
    given_: str,
    said: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    assert run_cli(audit_args([tmp_path], out, "--target", given_), monkeypatch) == 2
    err = capsys.readouterr().err
    assert "--target" in err and repr(given_) in err and said in err
    assert not out.exists()


def test_the_python_api_refuses_a_target_outside_0_to_1(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="--target: target 90: give a share above 0"):
        run_audit(
            AuditOptions(
                routines=ROUTINE_VERSIONS, events=[str(tmp_path)], out=str(tmp_path / "o"),
                key=KEY.encode(), target=90,
            )
        )  # fmt: skip


def _attributes(html: str, tag: str, css: str) -> list[dict[str, str]]:
    """Every ``tag`` whose class list has ``css``, as its attributes."""
    found = []
    for match in re.finditer(rf"<{tag}\b([^>]*)>", html):
        attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', match.group(1)))
        if css in attributes.get("class", "").split():
            found.append(attributes)
    return found


def test_the_html_draws_the_monthly_rate_and_marks_what_is_below_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history, stream = generate_history(4, 30, years=2)
    paths = write_files(stream, tmp_path / "in", files=2, shuffle=random.Random(4))
    period = ["--from", history.first.isoformat(), "--to", history.last.isoformat()]
    out = tmp_path / "out"
    assert run_cli(audit_args(paths, out, *period, "--target", "0.7"), monkeypatch) == 0
    report, html = _report(out), (out / "report.html").read_text(encoding="utf-8")
    months = report["by_month"]
    rated = [m for m in months if m["on_time_rate"] is not None]
    below = {m["month"] for m in rated if m["on_time_rate"] < 0.7}
    assert below and len(below) < len(rated), "the history has months on both sides"
    points = _attributes(html, "circle", "rate-point")
    assert [(p["data-month"], float(p["data-rate"])) for p in points] == [
        (m["month"], m["on_time_rate"]) for m in rated
    ]
    assert {p["data-month"] for p in points if "below-target" in p["class"]} == below
    # The line's points sit on a 0-100 % axis: 180 px is 0 %, 20 px is 100 %.
    (line,) = _attributes(html, "polyline", "rate")
    ys = [float(xy.split(",")[1]) for xy in line["points"].split()]
    assert ys == [round(180 - 160 * m["on_time_rate"], 1) for m in rated]
    (target,) = _attributes(html, "line", "target")
    assert float(target["y1"]) == float(target["y2"]) == round(180 - 160 * 0.7, 1)
    assert "Mål 70\u00a0%</text>" in html
    assert 'id="target" data-target="0.7">Mål: minst 70\u00a0% i tid varje månad' in html
    rows = re.findall(r'<tr data-month="([\d-]+)"( class="below-target")?>', html)
    assert {m for m, mark in rows if mark} == below
    # The month x rule matrix: a cell per rule and month with obligations, marked below 70 %.
    cells = re.findall(
        r'<td class="num( below-target)?" data-month="([\d-]+)" title="[^"]*" '
        r'data-total="(\d+)">([^<]*)</td>',
        html,
    )
    assert len(cells) == len(report["by_rule_month"])
    assert sum(int(total) for _, _, total, _ in cells) == sum(r["total"] for r in report["by_rule"])
    assert sum(1 for mark, *_ in cells if mark) == sum(
        1
        for c in report["by_rule_month"]
        if c["on_time_rate"] is not None and c["on_time_rate"] < 0.7
    )
    years = {m["month"][:4] for m in months}
    assert set(re.findall(r'<table class="matrix" id="rule-months-(\d{4})"', html)) == years


def test_without_a_target_nothing_is_marked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history, stream = generate_history(4, 10, years=1)
    paths = write_files(stream, tmp_path / "in", files=1, shuffle=random.Random(4))
    period = ["--from", history.first.isoformat(), "--to", history.last.isoformat()]
    out = tmp_path / "out"
    assert run_cli(audit_args(paths, out, *period), monkeypatch) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert _attributes(html, "polyline", "rate"), "the rate is drawn without a target too"
    assert "below-target" not in html.replace(".below-target", "")
    assert not _attributes(html, "line", "target") and 'id="target"' not in html


_STATUS = st.sampled_from(STATUSES)
_RULES = ("start-message", "end-message", "planning-updated")


@st.composite
def _rows(draw: st.DrawFn) -> list[tuple[ObligationRow, bool]]:
    """Obligations of a few rules over a few months, with lateness where a status has it."""
    out = []
    for _ in range(draw(st.integers(0, 40))):
        status = draw(_STATUS)
        late = draw(st.integers(0, 30)) if status in ("fulfilled_late", "overdue") else None
        month = draw(st.sampled_from(("2025-01", "2025-02", "2025-12", "2026-01")))
        row = ObligationRow(
            "c", ROUTINE_ID, "2", draw(st.sampled_from(_RULES)), "r", "u",
            f"{month}-10T09:00:00+01:00", "", "", status, late, late,
        )  # fmt: skip
        out.append((row, status == "blocked" and draw(st.booleans())))
    return out


@settings(max_examples=60, deadline=None, derandomize=True)
@given(rows=_rows(), tolerance=st.integers(0, 3), blocked=st.booleans())
def test_cells_add_up_to_rules_and_months_under_any_policy(
    rows: list[tuple[ObligationRow, bool]], tolerance: int, blocked: bool
) -> None:
    partial = Partial()
    for row, blocked_past in rows:
        partial.add(row, blocked_past)
    first, last = date(2025, 1, 1), date(2026, 1, 31)
    header = bare_header("2026-02-01T00:00:00+01:00", ROUTINE_ID, first, last)
    policy = BreachPolicy(blocked, tolerance)
    report = finish(partial, header, ROUTINE_VERSIONS, first=first, last=last, policy=policy)
    data = json.loads(report.to_json())
    if rows:
        _assert_cells_add_up(data)
    else:
        assert data["by_rule_month"] == [] and data["by_month"] == []
    assert {
        m: t for m, t in ((k, sum(v.statuses.values())) for k, v in partial.months.items())
    } == {m["month"]: m["total"] for m in data["by_month"]}
