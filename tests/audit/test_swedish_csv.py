"""``samverkan audit --lang sv``: CSV files that Swedish Excel opens right.

Swedish Excel reads a CSV file with ``;`` between fields and ``,`` as the decimal sign, and
takes it for UTF-8 only after a byte order mark. Read back that way, the Swedish files must
hold the same table as the default files, under Swedish column names and status words.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from samverkan_rules.audit.swedish import COLUMNS_SV
from samverkan_rules.status import glossary_term
from tests.audit.support import audit_args, run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "audit"
PERIOD = ("--from", "2025-01-01", "--to", "2025-12-31")


def _excel_sv(path: Path) -> list[dict[str, str]]:
    """The rows as Swedish Excel reads them: a BOM marks UTF-8, ';' separates fields."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: no byte order mark"
    text = raw[3:].decode("utf-8")
    return list(csv.DictReader(text.splitlines(), delimiter=";"))


def _number_sv(cell: str) -> float | None:
    """A number as Swedish Excel parses it: decimal comma, no point."""
    if cell == "":
        return None
    assert "." not in cell, cell
    return float(cell.replace(",", "."))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("swedish")
    monkeypatch = pytest.MonkeyPatch()
    try:
        en, sv = tmp / "en", tmp / "sv"
        assert run_cli(audit_args([EXAMPLE], en, *PERIOD), monkeypatch) == 0
        assert run_cli(audit_args([EXAMPLE], sv, *PERIOD, "--lang", "sv"), monkeypatch) == 0
    finally:
        monkeypatch.undo()
    return en, sv


def test_the_summary_reads_back_with_the_same_numbers(outputs: tuple[Path, Path]) -> None:
    en, sv = outputs
    with (en / "summary.csv").open(encoding="utf-8", newline="") as f:
        english = list(csv.DictReader(f))
    swedish = _excel_sv(sv / "summary.csv")
    assert len(swedish) == len(english) > 0
    assert list(swedish[0]) == [COLUMNS_SV[c] for c in english[0]]
    assert "andel i tid" in swedish[0] and "klara i tid" in swedish[0]
    for e, s in zip(english, swedish, strict=True):
        assert s["regel"] == e["rule"]
        assert int(s["totalt"]) == int(e["total"])
        assert int(s["klara i tid"]) == int(e["fulfilled"])
        rate = _number_sv(s["andel i tid"])
        assert rate == (None if e["on_time_rate"] == "" else float(e["on_time_rate"]))
        assert s["få bedömda"] == {"yes": "ja", "no": "nej"}[e["low_volume"]]
    assert any("," in s["andel i tid"] for s in swedish)


def test_obligations_carry_the_glossary_status_words(outputs: tuple[Path, Path]) -> None:
    en, sv = outputs
    with (en / "obligations.csv").open(encoding="utf-8", newline="") as f:
        english = list(csv.DictReader(f))
    swedish = _excel_sv(sv / "obligations.csv")
    assert len(swedish) == len(english) > 0
    for e, s in zip(english, swedish, strict=True):
        assert s["status"] == glossary_term(e["status"]).sv
        assert s["åtgärd"] == e["obligation"]
        assert s["klar"] == e["fulfilled"]
    assert {s["status"] for s in swedish} >= {"klar i tid", "klar för sent", "försenad"}


def test_the_default_stays_the_form_for_programs(outputs: tuple[Path, Path]) -> None:
    en, _ = outputs
    for name in ("summary.csv", "obligations.csv", "periods.csv"):
        raw = (en / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        assert b";" not in raw.splitlines()[0]


def test_the_json_report_is_the_same_in_both(outputs: tuple[Path, Path]) -> None:
    en, sv = outputs
    assert (en / "report.json").read_bytes() == (sv / "report.json").read_bytes()


def test_the_html_writes_swedish_numbers_dates_and_words(outputs: tuple[Path, Path]) -> None:
    _, sv = outputs
    html = (sv / "report.html").read_text("utf-8")
    rates = re.findall(r"(\d+(?:[.,]\d)?)(\s)%", html)
    assert rates, "no on-time rate in the report"
    # A decimal comma; whole percentages (the chart's axis) have none to write.
    assert all("." not in number and space == "\u00a0" for number, space in rates), rates[:5]
    assert sum("," in number for number, _ in rates) > len(rates) / 2
    assert "Period 1 januari 2025 – 31 december 2025; läget per torsdag 1 januari 2026" in html
    assert "klar i tid" in html and "försenad" in html
    assert "<th>Åtgärder</th>" in html
    # (the routines' own interpretations, quoted as written, may say what they like)
    for retired in ("missad", "pågår", "blockerad"):
        assert retired not in html.casefold()


def test_the_html_names_the_responsible_role_as_staff_do(outputs: tuple[Path, Path]) -> None:
    default, sv = outputs
    html = (sv / "report.html").read_text("utf-8")
    assert "<td>Driftsplanerare/Verksamhetsstödjare/extern utförare</td>" in html
    assert "<td>hemvard.driftsplanerare</td>" not in html
    # Programs keep the role id, and get the label beside it.
    report = json.loads((default / "report.json").read_text("utf-8"))
    row = next(r for r in report["by_rule"] if r["rule"] == "planning-updated")
    assert row["responsible"] == "hemvard.driftsplanerare"
    assert row["responsible_label"] == "Driftsplanerare/Verksamhetsstödjare/extern utförare"
