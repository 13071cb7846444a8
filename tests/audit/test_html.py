"""``report.html`` in a real headless Chromium: offline, charts drawn, numbers as in report.json.

Uses Debian's ``chromium`` (``/usr/bin/chromium``) through playwright; no browser is
downloaded. Skipped when either is missing.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from samverkan_rules import load_registry
from samverkan_rules.audit.run import AuditOptions, run_audit
from tests.audit.support import (
    DISCHARGE_AS_OF,
    ROUTINE_ID,
    VARIANT,
    Generated,
    discharge_history,
    write_shuffled,
)
from tests.support import ROUTINES

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")


def test_report_html_draws_its_charts_offline(generated: Generated, tmp_path: Path) -> None:
    routines = list(load_registry(ROUTINES).versions(ROUTINE_ID))
    out = tmp_path / "out"
    run_audit(
        AuditOptions(
            routines=routines,
            events=[str(p) for p in generated.paths],
            out=str(out),
            key=b"a-test-key-of-enough-bytes",
        )
    )
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.goto((out / "report.html").as_uri())
            charts: dict[str, Any] = page.evaluate(
                """() => Object.fromEntries([...document.querySelectorAll('svg.chart')].map(
                    svg => [svg.id, [...svg.querySelectorAll('rect.bar')].map(r => {
                        const box = r.getBoundingClientRect();
                        return {w: box.width, h: box.height,
                                count: Number(r.dataset.count), css: r.getAttribute('class')};
                    })]))"""
            )
            rules: dict[str, Any] = page.evaluate(
                """() => Object.fromEntries(
                    [...document.querySelectorAll('#rule-table tr[data-rule]')].map(
                        tr => [tr.dataset.rule, Object.fromEntries(
                            [...tr.querySelectorAll('td[data-status]')]
                            .map(td => [td.dataset.status, parseInt(td.textContent, 10)]))]))"""
            )
            headings = page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
        finally:
            browser.close()
    assert requests == [(out / "report.html").as_uri()], "the page loads nothing else"
    assert set(charts) == {"chart-rules", "chart-units", "chart-lateness", "chart-months"}
    for name, bars in charts.items():
        assert bars, f"{name} has bars"
        assert all(b["w"] > 0 and b["h"] > 0 for b in bars), f"{name}: every bar is drawn"
    # The numbers in the page are those of report.json.
    active = {
        f"{r['routine']}/{r['version']}/{r['rule']}": r for r in report["by_rule"] if r["total"]
    }
    assert set(rules) == set(active), "one table row per rule with obligations"
    for key, r in active.items():
        # Only the status columns some obligation has are shown; the others are 0 for all.
        assert rules[key] == {s: n for s, n in r["statuses"].items() if s in rules[key]}
        assert not any(n for s, n in r["statuses"].items() if s not in rules[key])
        assert {"fulfilled", "fulfilled_late", "overdue"} <= set(rules[key])
    on_time = sum(b["count"] for b in charts["chart-rules"] if "on-time" in b["css"])
    assert on_time == sum(r["statuses"]["fulfilled"] for r in report["by_rule"])
    # Lateness in fixed spans: done late and overdue side by side, never one bar per value.
    for css, table in (("late", "lateness_buckets"), ("overdue", "overdue_age_buckets")):
        drawn = [b["count"] for b in charts["chart-lateness"] if css in b["css"]]
        assert drawn == [b["count"] for b in report[table] if b["count"]], css
    assert len(charts["chart-lateness"]) <= 12
    late_done = sum(r["statuses"]["fulfilled_late"] for r in report["by_rule"])
    assert sum(b["count"] for b in report["lateness_buckets"]) == late_done
    overdue = sum(r["statuses"]["overdue"] for r in report["by_rule"])
    assert sum(b["count"] for b in report["overdue_age_buckets"]) == overdue
    assert "Per enhet" in headings and "Utveckling per månad" in headings


def test_the_period_table_shows_the_report_sums(tmp_path: Path) -> None:
    """The discharge routine's variant: betalningsansvar days and amounts as in report.json,
    the amount written the Swedish way."""
    routines = list(load_registry(ROUTINES).versions(VARIANT))
    out = tmp_path / "out"
    run_audit(
        AuditOptions(
            routines=routines,
            events=[str(write_shuffled(discharge_history(3, 40), tmp_path / "h.jsonl"))],
            out=str(out),
            key=b"a-test-key-of-enough-bytes",
            as_of=datetime.fromisoformat(DISCHARGE_AS_OF),
        )
    )
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto((out / "report.html").as_uri())
            rows: list[dict[str, Any]] = page.evaluate(
                """() => [...document.querySelectorAll('#period-table tr[data-period]')].map(
                    tr => Object.fromEntries([['key', tr.dataset.period + '|' + tr.dataset.rule
                        + '|' + tr.dataset.unit], ...[...tr.querySelectorAll('td[data-field]')]
                        .map(td => [td.dataset.field, td.textContent])]))"""
            )
            visible = page.is_visible("#period-table")
        finally:
            browser.close()
    assert visible
    expected = report["by_period"]
    assert [r["key"] for r in rows] == [
        f"{p['routine']}/{p['version']}/{p['period']}|{p['started_by_rule'] or ''}|"
        f"{p['unit'] or ''}"
        for p in expected
    ]
    assert any(p["count"] for p in expected)
    for row, p in zip(rows, expected, strict=True):
        for field in ("count", "open", "days", "working_days", "hours"):
            assert int(row[field]) == p[field], field
        whole, cents = f"{p['amount']:.2f}".split(".")
        assert row["amount"] == f"{int(whole):,}".replace(",", "\u00a0") + "," + cents


def _overflow(page: Any) -> dict[str, Any]:
    """How wide the page is drawn, and every table or chart that reaches past the window."""
    found: dict[str, Any] = page.evaluate(
        """() => ({scroll: document.documentElement.scrollWidth,
                   wide: [...document.querySelectorAll('table, svg.chart')]
                     .map(t => [t.id, Math.ceil(t.getBoundingClientRect().right)])
                     .filter(([, right]) => right > window.innerWidth),
                   rate: Math.ceil([...document.querySelectorAll('#rule-table th')]
                     .find(th => th.textContent.startsWith('Andel i tid'))
                     .getBoundingClientRect().right)})"""
    )
    return found


def test_report_fits_1400_pixels_and_an_a4_page(tmp_path: Path) -> None:
    """Six years of monthly history on a wide screen and on paper: every column, the on-time
    rate above all, is in view; nothing is cut off or needs scrolling sideways, the month x
    rule tables and the target line included."""
    from tests.audit.support import generate

    generated = generate(tmp_path / "events", cases=60, files=2, years=6)
    out = tmp_path / "out"
    run_audit(
        AuditOptions(
            routines=list(load_registry(ROUTINES).versions(ROUTINE_ID)),
            events=[str(p) for p in generated.paths],
            out=str(out),
            key=b"a-test-key-of-enough-bytes",
            target=0.9,
        )
    )
    months = len(json.loads((out / "report.json").read_text(encoding="utf-8"))["by_month"])
    assert months > 48, "enough months to have overflowed the page before"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            screen = browser.new_page(viewport={"width": 1400, "height": 900})
            screen.goto((out / "report.html").as_uri())
            wide = _overflow(screen)
            drawn = screen.evaluate(
                """() => ({target: document.querySelector('#target-line')
                             .getBoundingClientRect().width,
                           rate: document.querySelector('polyline.rate')
                             .getBoundingClientRect().width,
                           matrices: document.querySelectorAll('table.matrix').length})"""
            )
            shot = screen.screenshot(path=str(tmp_path / "report-1400.png"), full_page=True)
            # A4 less the page margins is about 700 CSS pixels at 96 per inch.
            paper = browser.new_page(viewport={"width": 700, "height": 1000})
            paper.emulate_media(media="print")
            paper.goto((out / "report.html").as_uri())
            printed = _overflow(paper)
            pdf = paper.pdf(format="A4")
        finally:
            browser.close()
    assert wide["wide"] == [] and wide["scroll"] <= 1400, wide
    assert drawn["target"] > 500 and drawn["rate"] > 500 and drawn["matrices"] >= 6, drawn
    assert wide["rate"] <= 1400
    assert len(shot) > 10_000
    assert printed["wide"] == [] and printed["scroll"] <= 700, printed
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 2
