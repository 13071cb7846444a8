"""The report's CSV files as Swedish Excel opens them (``samverkan audit --lang sv``).

Swedish Excel reads a CSV file with its list separator, ``;``, and its decimal sign, ``,``,
and only takes the file for UTF-8 when it begins with a byte order mark. The default files
(``,``, ``.``, English column names, no mark) stay the form for programs; these are for
staff: the same rows, Swedish column names and the staff glossary's words for statuses.

Examples:
    >>> data = swedish_csv(b"rule,total,fulfilled,on_time_rate,low_volume\\nr1,4,3,0.7500,no\\n")
    >>> print(data.decode("utf-8-sig"), end="")
    regel;totalt;klara i tid;andel i tid;få bedömda
    r1;4;3;0,7500;nej
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from samverkan_rules.i18n import translator
from samverkan_rules.phrases import format_date, format_moment, format_range
from samverkan_rules.status import STATUSES, glossary_term, status_label

if TYPE_CHECKING:
    from samverkan_rules.audit.models import AuditReport

_SV = translator("sv")

COLUMNS_SV: dict[str, str] = {
    "case": "ärende",
    "routine": "rutin",
    "version": "version",
    "rule": "regel",
    "title": "rubrik",
    "responsible": "ansvarig",
    "unit": "enhet",
    "trigger": "utlöst",
    "deadline": "frist",
    "fulfilled_at": "klar",
    "status": "status",
    "late_working_days": "för sent eller försenad (vardagar)",
    "late_calendar_days": "för sent eller försenad (kalenderdagar)",
    "obligation": "åtgärd",
    "trigger_event": "utlösande händelse",
    "total": "totalt",
    **{s: glossary_term(s).sv_plural for s in STATUSES},
    "on_time_rate": "andel i tid",
    "on_time": "i tid",
    "late_working_days_median": "för sent, median (vardagar)",
    "late_working_days_p90": "för sent, p90 (vardagar)",
    "judged": "bedömda",
    "low_volume": "få bedömda",
    "overdue_age_working_days_median": "försenad, ålder median (vardagar)",
    "overdue_age_working_days_p90": "försenad, ålder p90 (vardagar)",
    "period": "period",
    "label": "benämning",
    "started_by_rule": "började vid regel",
    "count": "antal",
    "open": "inte slut",
    "days": "kalenderdagar",
    "working_days": "vardagar",
    "hours": "timmar",
    "amount": "belopp",
    "days_median": "median (dagar)",
    "days_p90": "p90 (dagar)",
    "days_max": "längst (dagar)",
    "month": "månad",
}
"""Each column's Swedish name; a column not named here (a ``--group-by`` field) keeps its
name."""

# obligations.csv's "fulfilled" is a time, summary.csv's a count: the header decides.
_TIME_FULFILLED = "trigger_event"

_DECIMAL = frozenset(
    {
        "on_time_rate",
        "amount",
        "late_working_days_median",
        "late_working_days_p90",
        "overdue_age_working_days_median",
        "overdue_age_working_days_p90",
        "days_median",
        "days_p90",
        "days_max",
    }
)
_YES_NO = {"yes": "ja", "no": "nej"}
_BOM = "\ufeff"


def _rows(header: list[str], rows: Iterable[list[str]]) -> Iterator[list[str]]:
    if _TIME_FULFILLED in header:
        header = ["fulfilled_at" if h == "fulfilled" else h for h in header]
    yield [COLUMNS_SV.get(h, h) for h in header]
    decimal = [h in _DECIMAL for h in header]
    status = header.index("status") if "status" in header else -1
    low = header.index("low_volume") if "low_volume" in header else -1
    for row in rows:
        out = [c.replace(".", ",") if d else c for c, d in zip(row, decimal, strict=False)]
        if status >= 0:
            out[status] = status_label(out[status], _SV)
        if low >= 0:
            out[low] = _YES_NO.get(out[low], out[low])
        yield out


def _convert(source: TextIO, target: TextIO) -> None:
    reader = csv.reader(source)
    header = next(reader, None)
    target.write(_BOM)
    if header is None:
        return
    writer = csv.writer(target, delimiter=";", lineterminator="\n")
    writer.writerows(_rows(header, reader))


def swedish_csv(data: bytes) -> bytes:
    """One of the report's CSV files (as :mod:`.tables` writes it) for Swedish Excel."""
    target = io.StringIO()
    _convert(io.StringIO(data.decode("utf-8"), newline=""), target)
    return target.getvalue().encode("utf-8")


def swedish_csv_file(source: Path, target: Path) -> None:
    """:func:`swedish_csv` from file to file, a row at a time (``obligations.csv`` may be
    larger than memory)."""
    with (
        source.open(encoding="utf-8", newline="") as src,
        target.open("w", encoding="utf-8", newline="") as dst,
    ):
        _convert(src, dst)


def summary_sentence(report: AuditReport) -> str:
    """The line ``samverkan audit`` prints: the period, the status moment, how many actions
    were judged and how many of the events read were used (in Swedish, as the report is).

    ``Granskning 1 januari 2025 – 31 december 2025 (läget per torsdag 1 januari 2026 kl.
    00.00): 91 åtgärder, 115 av 115 händelser använda.``
    """
    header = report.header
    period = format_range(
        format_date(date.fromisoformat(str(header.period.from_)), _SV),
        format_date(date.fromisoformat(str(header.period.to)), _SV),
    )
    moment = format_moment(datetime.fromisoformat(header.as_of), _SV)
    n = sum(r.total for r in report.by_rule)
    actions = _SV.ngettext("{n} action", "{n} actions", n).format(n=n)
    totals = header.events_total
    used = _SV.ngettext(
        "{used} of {read} event used", "{used} of {read} events used", totals["read"]
    ).format(used=totals["used"], read=totals["read"])
    return _SV.gettext("Audit {period} (status as of {moment}): {actions}, {used}.").format(
        period=period, moment=moment, actions=actions, used=used
    )


def written_lines(files: Iterable[Path]) -> list[str]:
    """The lines ``samverkan audit`` prints after its summary, one per file written and one
    for the case pages (in Swedish, as the summary is).

    Examples:
        >>> written_lines([Path("ut/report.json"), Path("ut/cases/case-01.html")])
        ['skrev ut/report.json', 'skrev ut/cases/ (1 ärendesida)']
    """
    files = list(files)
    pages = [path for path in files if path.parent.name == "cases"]
    lines = [_SV.gettext("wrote {path}").format(path=p) for p in files if p not in pages]
    if pages:  # one line for the case pages, not one per case
        n = len(pages)
        lines.append(
            _SV.ngettext(
                "wrote {folder}/ ({n} case page)", "wrote {folder}/ ({n} case pages)", n
            ).format(folder=pages[0].parent, n=n)
        )
    return lines
