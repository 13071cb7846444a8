"""``--xlsx`` opened with a second spreadsheet library, and ``obligations.csv`` rows that
``samverkan explain`` explains."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from samverkan_rules.audit.synthetic import generate_history, write_files
from tests.audit.support import audit_args, run_cli
from tests.support import ROUTINES

openpyxl = pytest.importorskip("openpyxl")


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _sheet(book: Any, name: str) -> list[dict[str, Any]]:
    rows = list(book[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def _typed(name: str, value: str, table: str, numbers: tuple[str, ...]) -> Any:
    """A CSV cell as the workbook should hold it."""
    if value == "" or name == "version" or name == "data.enhet":
        return value
    if table == "obligations.csv" and name not in numbers:
        return value
    if name == "on_time_rate":
        return float(value)
    return int(value) if value.lstrip("-").isdigit() else value


def test_the_workbook_has_the_csv_tables_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history, stream = generate_history(6, 30, years=2, units=("Norr", "Söder"))
    paths = write_files(stream, tmp_path / "in", files=2, shuffle=random.Random(6))
    period = ["--from", history.first.isoformat(), "--to", history.last.isoformat()]
    extra = ("--xlsx", "--group-by", "data.enhet")
    out, again = tmp_path / "out", tmp_path / "again"
    assert run_cli(audit_args(paths, out, *period, *extra), monkeypatch) == 0
    assert run_cli(audit_args(paths[::-1], again, *period, *extra), monkeypatch) == 0
    assert (out / "report.xlsx").read_bytes() == (again / "report.xlsx").read_bytes()
    book = openpyxl.load_workbook(out / "report.xlsx")
    assert book.sheetnames == [
        "Rapport",
        "Regler",
        "Enheter",
        "Månader",
        "Regler per månad",
        "Perioder",
        "Grupper",
        "Grupper per månad",
        "Skyldigheter",
    ]
    for name, table in (
        ("Regler", "summary.csv"),
        ("Regler per månad", "rule_months.csv"),
        ("Grupper", "groups.csv"),
        ("Skyldigheter", "obligations.csv"),
    ):
        assert book[name].freeze_panes == "A2", name
        sheet, rows = _sheet(book, name), _csv(out / table)
        assert len(sheet) == len(rows), name
        for a, b in zip(sheet, rows, strict=True):
            assert {k: "" if v is None else v for k, v in a.items()} == {
                k: (
                    int(v)
                    if v.lstrip("-").isdigit() and k not in ("version",)
                    else float(v)
                    if k == "on_time_rate" and v
                    else v
                )
                for k, v in b.items()
            }, name
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    statuses = Counter(r["status"] for r in _sheet(book, "Skyldigheter"))
    for status in ("fulfilled", "fulfilled_late", "overdue"):
        assert statuses[status] == sum(r["statuses"][status] for r in report["by_rule"])
    rates = [r["on_time_rate"] for r in _sheet(book, "Regler") if r["on_time_rate"] != ""]
    assert rates and all(isinstance(v, float) for v in rates)
    assert book["Regler"]["A2"].value == "orebro-dagverksamhet-hemvard"
    assert isinstance(_sheet(book, "Regler")[0]["total"], int)
    assert isinstance(_sheet(book, "Regler")[0]["version"], str)


def test_each_obligation_row_is_explained_by_its_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    history, stream = generate_history(9, 6, years=1, ids="plain")
    (path,) = write_files(stream, tmp_path / "in", files=1, formats=("jsonl",))
    out = tmp_path / "out"
    period = ["--from", history.first.isoformat(), "--to", history.last.isoformat()]
    assert run_cli(audit_args([path], out, *period, "--identify"), monkeypatch) == 0
    rows = _csv(out / "obligations.csv")
    as_of = json.loads((out / "report.json").read_text(encoding="utf-8"))["header"]["as_of"]
    assert {r["obligation"] for r in rows} == {f"{r['rule']}:{r['trigger_event']}" for r in rows}
    capsys.readouterr()
    for row in rows[:: max(1, len(rows) // 8)]:
        args = [
            "explain", "--routine", str(ROUTINES), "--id", "orebro-dagverksamhet-hemvard",
            "--events", str(path), "--as-of", as_of, "--format", "json", row["obligation"],
        ]  # fmt: skip
        assert run_cli(args, monkeypatch) == 0
        (found,) = json.loads(capsys.readouterr().out)["obligations"]
        assert (found["status"], found["case"], found["rule"]) == (
            row["status"],
            row["case"],
            row["rule"],
        )
