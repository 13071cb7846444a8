"""``report.xlsx`` (``--xlsx``): the report's tables as one Excel workbook.

The first sheet, "Rapport", says what was audited and the policy the rates follow (the
tolerance, waiting obligations past their deadline, the closed-period view, the target):
``report.json``'s header, so the workbook is read right without it. Then one sheet per
table, with the same columns and rows as the CSV files (``summary.csv`` is the sheet
"Regler", ``rule_months.csv`` "Regler per månad", ``obligations.csv`` "Skyldigheter", ...),
plus the tables per unit and per month. Counts are numbers, rates are numbers shown as
percentages, everything else (ids, versions, RFC 3339 times) is text; the header row is
frozen and filtered.
Written with XlsxWriter in constant memory, with fixed document dates, so the same report
gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import xlsxwriter

from samverkan_rules.audit.models import STATUSES, AuditReport
from samverkan_rules.audit.policy import BreachPolicy, statement, target_statement
from samverkan_rules.i18n import translator

MAX_ROWS = 1_048_575
"""Data rows a sheet holds (Excel's limit, less the header)."""

_TEXT = frozenset(
    {
        "routine", "version", "rule", "title", "responsible", "unit", "label", "month",
        "period", "started_by_rule", "low_volume",
    }
)  # fmt: skip
"""Text columns of the tables; the others are numbers."""
_OBLIGATION_NUMBERS = frozenset({"late_working_days", "late_calendar_days"})
"""The number columns of ``obligations.csv``; the others (ids, times, status) are text."""
_RATE = frozenset({"on_time_rate"})
_AMOUNT = frozenset({"amount"})
_FIXED_DATE = datetime(2000, 1, 1)


def _csv_rows(data: bytes) -> tuple[list[str], Iterator[list[str]]]:
    reader = csv.reader(io.StringIO(data.decode("utf-8")))
    return next(reader), reader


def _table(rows: Iterable[Sequence[Any]]) -> Iterator[list[str]]:
    for row in rows:
        yield ["" if v is None else str(v) for v in row]


def _unit_rows(report: AuditReport) -> tuple[list[str], Iterator[list[str]]]:
    header = ["unit", "label", "total", *STATUSES, "on_time_rate"]
    return header, _table(
        (u.unit, u.label, u.total, *(u.statuses[s] for s in STATUSES), u.on_time_rate)
        for u in report.by_unit
    )


def _month_rows(report: AuditReport) -> tuple[list[str], Iterator[list[str]]]:
    header = ["month", "total", *STATUSES, "on_time_rate", "judged", "on_time"]
    return header, _table(
        (m.month, m.total, *(m.statuses[s] for s in STATUSES), m.on_time_rate, m.judged, m.on_time)
        for m in report.by_month
    )


def _report_rows(report: AuditReport) -> list[tuple[str, str, str | int | float | bool | None]]:
    """The sheet "Rapport": (``report.json`` header field, Swedish label, value)."""
    header, held = report.header, report.header.policy
    sv = translator("sv")
    policy = BreachPolicy(held.blocked_is_breach, held.tolerance_working_days, held.closed)
    words = statement(policy, sv, held.left_out)
    if header.target is not None:
        words += " " + target_statement(header.target, sv)
    totals = header.events_total
    return [
        ("routine_id", "Rutin", header.routine_id),
        ("period.from", "Första dag", header.period.from_),
        ("period.to", "Sista dag", header.period.to),
        ("as_of", "Läget per", header.as_of),
        ("policy.tolerance_working_days", "Tolerans (vardagar)", held.tolerance_working_days),
        (
            "policy.blocked_is_breach",
            "En åtgärd som väntar och vars frist gått ut är en brist",
            held.blocked_is_breach,
        ),
        ("policy.closed", "Stängd period", held.closed),
        ("policy.left_out", "Utelämnade åtgärder (stängd period)", held.left_out),
        ("target", "Mål för andel i tid per månad", header.target),
        ("policy.statement", "Policyn i ord", words),
        ("group_by", "Räknas också per", ", ".join(header.group_by)),
        ("pseudonymised", "Ärenden med pseudonymer", header.pseudonymised),
        ("key_fingerprint", "Nyckel", header.key_fingerprint),
        ("events_total.read", "Lästa händelser", totals["read"]),
        ("events_total.used", "Använda händelser", totals["used"]),
        ("events_total.rejected", "Avvisade händelser", totals["rejected"]),
        ("software.samverkan-rules", "samverkan-rules", header.software.samverkan_rules),
    ]


class _Writer:
    """Sheets with typed cells: numbers where the column counts, text elsewhere."""

    def __init__(self, target: Path, group_by: Sequence[str]) -> None:
        self.book = xlsxwriter.Workbook(
            str(target), {"constant_memory": True, "strings_to_numbers": False}
        )
        self.book.set_properties({"created": _FIXED_DATE, "title": "Granskning"})
        self.percent = self.book.add_format({"num_format": "0.0%"})
        self.money = self.book.add_format({"num_format": "#,##0.00"})
        self.bold = self.book.add_format({"bold": True})
        self.text_columns = _TEXT | frozenset(group_by)

    def _cell(self, sheet: Any, row: int, col: int, name: str, value: str, text: bool) -> None:
        if value == "" or text:
            sheet.write_string(row, col, value)
        elif name in _RATE:
            sheet.write_number(row, col, float(value), self.percent)
        elif name in _AMOUNT:
            sheet.write_number(row, col, float(value), self.money)
        else:
            try:
                sheet.write_number(row, col, int(value))
            except ValueError:
                sheet.write_string(row, col, value)

    def sheet(
        self,
        title: str,
        header: Sequence[str],
        rows: Iterable[Sequence[str]],
        numbers: frozenset[str] | None = None,
    ) -> bool:
        """Write one sheet; False when it holds only the first :data:`MAX_ROWS` rows.

        ``numbers`` names the number columns; by default every column but the text ones.
        """
        sheet = self.book.add_worksheet(title)
        text = [
            (name in self.text_columns) if numbers is None else (name not in numbers)
            for name in header
        ]
        sheet.freeze_panes(1, 0)
        for col, name in enumerate(header):
            sheet.write_string(0, col, name, self.bold)
            sheet.set_column(col, col, max(10, min(40, len(name) + 2)))
        written = 0
        complete = True
        for row in rows:
            if written == MAX_ROWS:
                complete = False
                break
            written += 1
            for col, (name, value) in enumerate(zip(header, row, strict=True)):
                self._cell(sheet, written, col, name, value, text[col])
        sheet.autofilter(0, 0, max(written, 1), max(len(header) - 1, 0))
        return complete

    def report(self, rows: Sequence[tuple[str, str, str | int | float | bool | None]]) -> None:
        """The sheet "Rapport": one row per header field, its value typed (a share as a
        percentage, yes/no as a boolean)."""
        sheet = self.book.add_worksheet("Rapport")
        sheet.freeze_panes(1, 0)
        for col, (name, width) in enumerate((("field", 30), ("label", 50), ("value", 100))):
            sheet.write_string(0, col, name, self.bold)
            sheet.set_column(col, col, width)
        for row, (name, label, value) in enumerate(rows, start=1):
            sheet.write_string(row, 0, name)
            sheet.write_string(row, 1, label)
            if isinstance(value, bool):
                sheet.write_boolean(row, 2, value)
            elif isinstance(value, float) and name == "target":
                sheet.write_number(row, 2, value, self.percent)
            elif isinstance(value, int | float):
                sheet.write_number(row, 2, value)
            else:
                sheet.write_string(row, 2, value or "")

    def close(self) -> None:
        self.book.close()


def write_workbook(
    report: AuditReport, tables: Mapping[str, bytes], obligations: Path, target: Path
) -> None:
    """Write ``report.xlsx`` from the report, its CSV tables and ``obligations.csv``.

    Args:
        report: The finished report (for the tables per unit and per month).
        tables: The CSV files by name, as :func:`~samverkan_rules.audit.tables.report_tables`
            gives them.
        obligations: The written ``obligations.csv``; beyond :data:`MAX_ROWS` rows its sheet
            stops and a note says so (the CSV has them all).
        target: Where the workbook goes.
    """
    writer = _Writer(target, report.header.group_by)
    try:
        writer.report(_report_rows(report))
        writer.sheet("Regler", *_csv_rows(tables["summary.csv"]))
        writer.sheet("Enheter", *_unit_rows(report))
        writer.sheet("Månader", *_month_rows(report))
        writer.sheet("Regler per månad", *_csv_rows(tables["rule_months.csv"]))
        writer.sheet("Perioder", *_csv_rows(tables["periods.csv"]))
        if "groups.csv" in tables:
            writer.sheet("Grupper", *_csv_rows(tables["groups.csv"]))
            writer.sheet("Grupper per månad", *_csv_rows(tables["group_months.csv"]))
        with obligations.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            complete = writer.sheet("Skyldigheter", header, reader, _OBLIGATION_NUMBERS)
        if not complete:
            note = writer.book.add_worksheet("Anmärkning")
            note.write_string(
                0,
                0,
                f"Skyldigheter visar de första {MAX_ROWS} raderna; obligations.csv har alla.",
            )
    finally:
        writer.close()
