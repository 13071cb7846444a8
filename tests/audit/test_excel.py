"""Exports as Swedish spreadsheets write them: semicolons, Windows-1252, BOM, CRLF."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from samverkan_rules.audit.synthetic import generate_history
from tests.audit.support import audit_args, run_cli


def _events(seed: int = 5, cases: int = 12) -> tuple[list[dict[str, Any]], list[str]]:
    """A generated history whose case ids hold å, ä and ö (they differ in the encodings)."""
    history, stream = generate_history(seed, cases, ids="plain", years=2)
    events = []
    for case_events in stream:
        for e in case_events:
            events.append({**e, "case": f"ärende-{e['case']}-Åsa-Örn"})
    period = ["--from", history.first.isoformat(), "--to", history.last.isoformat()]
    return events, period


def _csv_bytes(
    events: list[dict[str, Any]], *, delimiter: str, encoding: str, newline: str, bom: bool
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(("id", "case", "type", "at", "data"))
    for e in reversed(events):  # another order than the reference file: same report
        writer.writerow((e["id"], e["case"], e["type"], e["at"], json.dumps(e["data"])))
    return ("\ufeff" if bom else "").encode(encoding) + buffer.getvalue().encode(encoding)


def _without_inputs(out: Path) -> dict[str, Any]:
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    del report["header"]["inputs"]  # names and hashes of the files: these differ
    return report


@pytest.mark.parametrize(
    ("delimiter", "encoding", "newline", "bom", "options"),
    [
        (";", "cp1252", "\r\n", False, ("--encoding", "cp1252")),
        (";", "cp1252", "\r\n", False, ("--encoding", "cp1252", "--delimiter", ";")),
        ("\t", "utf-8", "\r\n", True, ()),
        (";", "utf-8", "\n", True, ()),
    ],
)
def test_a_spreadsheet_export_gives_the_same_report(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    delimiter: str,
    encoding: str,
    newline: str,
    bom: bool,
    options: tuple[str, ...],
) -> None:
    events, period = _events()
    reference = tmp_path / "comma.csv"
    reference.write_bytes(
        _csv_bytes(events[::-1], delimiter=",", encoding="utf-8", newline="\n", bom=False)
    )
    export = tmp_path / "export.csv"
    export.write_bytes(
        _csv_bytes(events, delimiter=delimiter, encoding=encoding, newline=newline, bom=bom)
    )
    if encoding == "cp1252":
        assert "ä".encode("cp1252") in export.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            export.read_bytes().decode("utf-8")
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli(audit_args([reference], a, *period), monkeypatch) == 0
    assert run_cli(audit_args([export], b, *period, *options), monkeypatch) == 0
    assert _without_inputs(a) == _without_inputs(b)
    for name in ("obligations.csv", "summary.csv", "periods.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert sum(r["total"] for r in _without_inputs(b)["by_rule"]) > 0


@pytest.mark.parametrize(
    ("option", "words"),
    [
        (("--encoding", "klingon"), "no such text encoding"),
        (("--encoding", "utf-16"), "not supported"),
        (("--delimiter", "ab"), "give one character"),
    ],
)
def test_bad_read_options_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    option: tuple[str, ...],
    words: str,
) -> None:
    events, period = _events(cases=1)
    export = tmp_path / "export.csv"
    export.write_bytes(_csv_bytes(events, delimiter=",", encoding="utf-8", newline="\n", bom=False))
    assert run_cli(audit_args([export], tmp_path / "out", *period, *option), monkeypatch) == 2
    assert words in capsys.readouterr().err
