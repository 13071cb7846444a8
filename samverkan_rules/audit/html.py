"""``report.html``: one self-contained file to hand to a committee, readable offline.

Jinja2 renders ``templates/report.html.j2`` with autoescaping on; the CSS is inline and
the charts are inline SVG drawn from the report's numbers here, so the file loads nothing
from anywhere. Headings are in Swedish. The same report gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import jinja2

from samverkan_rules.audit.models import (
    MIN_VOLUME,
    AuditReport,
    LatenessBucket,
    MonthSummary,
    RuleMonthSummary,
    RuleSummary,
)
from samverkan_rules.audit.policy import (
    BreachPolicy,
    below_target,
    percent,
    statement,
    target_statement,
)
from samverkan_rules.i18n import translator
from samverkan_rules.phrases import format_date, format_moment, month_name
from samverkan_rules.status import status_label

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("samverkan_rules.audit", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
"""The audit's HTML templates (the report and the case pages), escaped, strict about names."""

_SV = translator("sv")

STATUS_SV = {
    s: status_label(s, _SV)
    for s in ("fulfilled", "fulfilled_late", "overdue", "due", "upcoming", "cancelled", "blocked")
}
"""How the report names each status: the staff glossary's Swedish words, in the report's
column order. An obligation still overdue at the end of the period is *försenad* (not done)."""

_BAR_WIDTH = 420.0


@dataclass(frozen=True)
class Segment:
    """One part of a stacked bar."""

    css: str
    x: float
    width: float
    count: int
    label: str


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _segments(statuses: dict[str, int], scale: float) -> list[Segment]:
    parts = (
        ("on-time", "fulfilled", STATUS_SV["fulfilled"]),
        ("late", "fulfilled_late", STATUS_SV["fulfilled_late"]),
        ("overdue", "overdue", STATUS_SV["overdue"]),
    )
    x = 0.0
    out = []
    for css, status, label in parts:
        count = statuses.get(status, 0)
        width = count * scale
        out.append(Segment(css, round(x, 1), round(width, 1), count, label))
        x += width
    return out


def _stacked(items: list[tuple[str, str, dict[str, int]]]) -> dict[str, Any]:
    """A horizontal stacked bar per item: on time, late, overdue."""
    judged = [
        s.get("fulfilled", 0) + s.get("fulfilled_late", 0) + s.get("overdue", 0)
        for _, _, s in items
    ]
    top = max(judged, default=0) or 1
    scale = _BAR_WIDTH / top
    rows = []
    for i, (key, label, statuses) in enumerate(items):
        rows.append(
            {"key": key, "label": label, "y": 8 + i * 26, "segments": _segments(statuses, scale)}
        )
    return {"rows": rows, "height": 16 + len(items) * 26, "width": 760}


def _histogram(late: list[LatenessBucket], overdue: list[LatenessBucket]) -> dict[str, Any]:
    """Two columns per span of working days: done late, and overdue (age at the period's
    end); a fixed width whatever the spread of the values."""
    top = max((b.count for b in (*late, *overdue)), default=0) or 1
    width = 30
    bars = []
    for i, (a, b) in enumerate(zip(late, overdue, strict=True)):
        for j, (bucket, css, title) in enumerate(
            ((a, "late", "Klar för sent"), (b, "overdue", "Försenad"))
        ):
            height = 160 * bucket.count / top
            bars.append(
                {
                    "label": bucket.label,
                    "count": bucket.count,
                    "css": css,
                    "title": title,
                    "x": 40 + i * (2 * width + 24) + j * width,
                    "y": round(180 - height, 1),
                    "height": round(height, 1),
                    "width": width,
                }
            )
    total = sum(b.count for b in (*late, *overdue))
    return {"bars": bars, "width": 60 + len(late) * (2 * width + 24), "height": 210, "total": total}


_TREND_WIDTH = 1000
"""The monthly chart's plot width in pixels: six years of months still fit the page."""


def _share_y(share: float) -> float:
    """Where a share (0..1) sits on the monthly chart's right axis (0 % at the baseline)."""
    return round(180 - 160 * share, 1)


def _rate_line(months: list[MonthSummary], xs: list[float], target: float | None) -> dict[str, Any]:
    """The on-time rate per month as points on the right axis, joined by lines that break
    at a month with nothing judged; the target as a dashed line, the points below it marked."""
    points = []
    lines: list[list[str]] = [[]]
    for m, x in zip(months, xs, strict=True):
        if m.on_time_rate is None:
            lines.append([])
            continue
        y = _share_y(m.on_time_rate)
        lines[-1].append(f"{_fmt(x)},{_fmt(y)}")
        below = below_target(m.on_time_rate, target)
        points.append(
            {"month": m.month, "x": x, "y": y, "rate": m.on_time_rate, "judged": m.judged,
             "on_time": m.on_time, "below": below}
        )  # fmt: skip
    return {
        "points": points,
        "lines": [" ".join(line) for line in lines if len(line) > 1],
        "target_y": None if target is None else _share_y(target),
        "ticks": [(f"{p}\u00a0%", _share_y(p / 100)) for p in (0, 50, 100)],
    }


def _trend(months: list[MonthSummary], target: float | None = None) -> dict[str, Any]:
    """Monthly stacked columns (on time, late, overdue), narrower the more months there are,
    so the chart fits the page; the month is written under every column while they are wide
    enough to hold it, else under each January and the first month. Over them the on-time
    rate as a line on a 0-100 % right axis, and the target, if any (:func:`_rate_line`)."""
    top = max((sum(_judged_parts(m)) for m in months), default=0) or 1
    step = min(36.0, _TREND_WIDTH / max(len(months), 1))
    width = round(step * 0.72, 1)
    columns = []
    for i, m in enumerate(months):
        x = round(40 + i * step, 1)
        y = 180.0
        parts = []
        for css, count in zip(("on-time", "late", "overdue"), _judged_parts(m), strict=True):
            h = 160 * count / top
            y -= h
            parts.append({"css": css, "y": round(y, 1), "height": round(h, 1), "count": count})
        labelled = step >= 20 or i == 0 or m.month.endswith("-01")
        columns.append(
            {"month": m.month, "x": x, "width": width, "parts": parts, "labelled": labelled}
        )
    right = round(40 + max(len(months), 1) * step, 1)
    centres = [round(40 + i * step + width / 2, 1) for i in range(len(months))]
    line = _rate_line(months, centres, target)
    return {
        "columns": columns,
        "width": round(right + 40),
        "height": 240,
        "right": right,
        **line,
    }


def _judged_parts(m: MonthSummary) -> tuple[int, int, int]:
    """A month's obligations done on time, done late and overdue (the column's parts)."""
    return m.statuses["fulfilled"], m.statuses["fulfilled_late"], m.statuses["overdue"]


def _rule_month_tables(report: AuditReport, target: float | None) -> list[dict[str, Any]]:
    """Month x rule, one table per calendar year (so each fits the page): the rules with
    obligations that year as rows, in the order of ``by_rule``, the year's months of the
    audited period as columns; a cell holds the on-time rate, its volume in a title, and is
    marked when below the target."""
    cells = {(c.routine, c.version, c.rule, c.month): c for c in report.by_rule_month}
    months = _period_months(report.header.period.from_, report.header.period.to)
    tables = []
    for year in sorted({c.month[:4] for c in report.by_rule_month}):
        shown = [m for m in months if m.startswith(year)]
        rows = []
        for r in report.by_rule:
            found = [cells.get((r.routine, r.version, r.rule, m)) for m in shown]
            if any(found):
                rows.append(
                    {
                        "rule": r,
                        "cells": [
                            _matrix_cell(c, m, target) for c, m in zip(found, shown, strict=True)
                        ],
                    }
                )
        heads = [(m, month_name(int(m[5:]), _SV)[:3]) for m in shown]
        tables.append({"year": year, "months": heads, "rows": rows})
    return tables


def _period_months(first: str, last: str) -> list[str]:
    """Every month from the one of ``first`` to the one of ``last`` (ISO dates), as YYYY-MM.

    Examples:
        >>> _period_months("2024-11-15", "2025-02-01")
        ['2024-11', '2024-12', '2025-01', '2025-02']
    """
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last[:7]:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _matrix_cell(cell: RuleMonthSummary | None, month: str, target: float | None) -> dict[str, Any]:
    """One cell of the month x rule table: its text, title and whether it is below target."""
    if cell is None:
        return {"month": month, "text": "", "title": "", "below": False, "total": 0}
    title = f"{month}: {cell.on_time} av {cell.judged} bedömda i tid, {cell.total} åtgärder"
    below = below_target(cell.on_time_rate, target)
    return {
        "month": month,
        "text": _rate(cell.on_time_rate),
        "title": title,
        "below": below,
        "total": cell.total,
    }


def _or_list(words: list[str]) -> str:
    """Swedish enumeration with 'eller' before the last: 'a, b eller c'.

    Examples:
        >>> _or_list(["att göra", "kommande", "väntar"]), _or_list(["väntar"]), _or_list([])
        ('att göra, kommande eller väntar', 'väntar', '')
    """
    return " eller ".join(w for w in (", ".join(words[:-1]), words[-1] if words else "") if w)


def _shown_statuses(report: AuditReport) -> list[str]:
    """The status columns the tables show: those some obligation of the report has (the
    three judged ones always), in the glossary's order; an audit of a closed period has no
    'att göra' or 'kommande', and empty columns would push the rate off the page."""
    judged = ("fulfilled", "fulfilled_late", "overdue")
    return [s for s in STATUS_SV if s in judged or any(r.statuses[s] for r in report.by_rule)]


def _rate(value: float | None) -> str:
    """A share in Swedish notation: ``50,4 %`` (decimal comma, a non-breaking space)."""
    return "–" if value is None else f"{value * 100:.1f}".replace(".", ",") + "\u00a0%"


def _day(text: str | None) -> str:
    """An ISO date of the report (``2025-01-01``) as a person reads it: ``1 januari 2025``."""
    return "" if not text else format_date(date.fromisoformat(str(text)), _SV)


def _moment(text: str) -> str:
    """An RFC 3339 instant of the report in its own offset: ``torsdag 1 januari 2026 kl. 00.00``."""
    return format_moment(datetime.fromisoformat(text), _SV)


def _money(value: float | None) -> str:
    """An amount in Swedish notation: '12 345,50'; '–' when there is none."""
    if value is None:
        return "–"
    whole, cents = f"{value:,.2f}".split(".")
    return whole.replace(",", "\u00a0") + "," + cents


def _worst_first(rules: list[RuleSummary]) -> list[RuleSummary]:
    """Worst on-time rate first among the rules with enough judged obligations; the rules
    with too few (``low_volume``) after them, so one late obligation does not top the list."""

    def key(r: RuleSummary) -> tuple[bool, bool, float, str, str, str]:
        rate = r.on_time_rate
        return (
            r.low_volume,
            rate is None,
            rate if rate is not None else 2.0,
            r.routine,
            r.version,
            r.rule,
        )

    return sorted(rules, key=key)


def _anchor(rule: RuleSummary) -> str:
    """A stable, safe fragment id for a rule's source section."""
    text = f"kalla-{rule.routine}-{rule.version}-{rule.rule}"
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def _group_label(values: list[str | None]) -> str:
    return " · ".join(v if v is not None else "(saknas)" for v in values)


def _group_months(report: AuditReport) -> dict[str, Any]:
    """Month × group: the on-time rate and the obligations, one column per group."""
    labels = [_group_label(g.values) for g in report.by_group]
    cells: dict[str, dict[str, str]] = {}
    for m in report.by_group_month:
        cells.setdefault(m.month, {})[_group_label(m.values)] = (
            f"{_rate(m.on_time_rate)} ({m.total})"
        )
    rows = [
        (month, [row.get(label, "–") for label in labels]) for month, row in sorted(cells.items())
    ]
    return {"labels": labels, "rows": rows}


def render_html(report: AuditReport, drill: Any = None) -> str:
    """The report as one self-contained HTML page (Swedish, inline CSS and SVG); with
    ``drill`` (a :class:`.drill.DrillDown`), the worst cases and most overdue obligations
    with links to their case pages."""
    rules = _worst_first(report.by_rule)
    rule_chart = _stacked(
        [
            (f"{r.routine}/{r.version}/{r.rule}", f"{r.title} ({r.version})", r.statuses)
            for r in rules
            if r.total
        ]
    )
    unit_chart = _stacked([(u.unit, u.label, u.statuses) for u in report.by_unit])
    group_chart = _stacked(
        [(_group_label(g.values), _group_label(g.values), g.statuses) for g in report.by_group]
    )
    histogram = _histogram(report.lateness_buckets, report.overdue_age_buckets)
    target = report.header.target
    trend = _trend(report.by_month, target)
    sums = {s: sum(r.statuses[s] for r in report.by_rule) for s in STATUS_SV}
    judged = sum(r.judged for r in report.by_rule)
    rate = round(sum(r.on_time for r in report.by_rule) / judged, 4) if judged else None
    totals = {"total": sum(sums.values()), "statuses": sums, "on_time_rate": rate}
    held = report.header.policy
    policy = BreachPolicy(held.blocked_is_breach, held.tolerance_working_days, held.closed)
    shown = _shown_statuses(report)
    template = TEMPLATES.get_template("report.html.j2")
    titles = [r.title for r in report.header.routines if r.id == report.header.routine_id]
    return template.render(
        report=report,
        routine_title=(titles[-1] if titles and titles[-1] else report.header.routine_id),
        drill=drill,
        totals=totals,
        header=report.header,
        policy_text=statement(policy, _SV, held.left_out),
        target_text=None if target is None else target_statement(target, _SV),
        target=target,
        target_label=None if target is None else percent(target, "sv"),
        below_target=below_target,
        rule_months=_rule_month_tables(report, target),
        rules=rules,
        rule_chart=rule_chart,
        unit_chart=unit_chart,
        group_chart=group_chart,
        min_volume=MIN_VOLUME,
        low_volume=sum(1 for r in report.by_rule if r.total and r.low_volume),
        group_months=_group_months(report),
        histogram=histogram,
        trend=trend,
        status_sv=STATUS_SV,
        statuses=shown,
        hidden_statuses=_or_list([STATUS_SV[s] for s in STATUS_SV if s not in shown]),
        rate=_rate,
        money=_money,
        day=_day,
        moment=_moment,
        anchor=_anchor,
        fmt=_fmt,
    )
