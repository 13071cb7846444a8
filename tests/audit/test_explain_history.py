"""From a row of ``obligations.csv`` to its explanation: ``samverkan explain`` on the audit's
own inputs (several files, a directory, gzip, Parquet), a case named by its pseudonym."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.audit.support import KEY, ROUTINE_ID, audit_args, run_cli
from tests.support import ROUTINES


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _explain(events: list[str], as_of: str, *extra: str) -> list[str]:
    inputs = [w for e in events for w in ("--events", e)]
    return [
        "explain", "--routine", str(ROUTINES), "--id", ROUTINE_ID, *inputs, "--as-of", as_of,
        *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A generated history over JSON Lines, gzipped CSV and Parquet, and its audit."""
    from samverkan_rules.cli import main

    root = tmp_path_factory.mktemp("history")
    gen, out = root / "gen", root / "out"
    formats = ["--format", "jsonl", "--format", "csv.gz", "--format", "parquet"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SAMVERKAN_AUDIT_KEY", KEY)
        args = ["audit", "generate", "--out", str(gen), "--cases", "12", "--years", "1"]
        assert main([*args, "--files", "3", "--seed", "3", *formats]) == 0
        truth = json.loads((gen / "truth.json").read_text(encoding="utf-8"))
        period = ["--from", truth["from"], "--to", truth["to"]]
        assert main(audit_args([gen / "events"], out, *period)) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return {
        "events": gen / "events",
        "files": sorted(str(p) for p in (gen / "events").iterdir()),
        "rows": _rows(out / "obligations.csv"),
        "as_of": report["header"]["as_of"],
        "real_ids": {r["case"] for r in _rows(gen / "truth.csv")},
    }


def test_each_row_is_explained_on_the_same_inputs(
    audited: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = audited["rows"]
    sample = rows[:: max(1, len(rows) // 10)]
    assert len(sample) >= 8
    capsys.readouterr()
    for n, row in enumerate(sample):
        # The directory, or the files one by one, as the audit was given them.
        events = [str(audited["events"])] if n % 2 else audited["files"]
        args = _explain(events, audited["as_of"], "--format", "json", "--case", row["case"])
        assert run_cli([*args, row["obligation"]], monkeypatch) == 0
        captured = capsys.readouterr()
        (found,) = json.loads(captured.out)["obligations"]
        assert (found["obligation"], found["case"], found["rule"], found["status"]) == (
            row["obligation"],
            row["case"],
            row["rule"],
            row["status"],
        )
        assert found["trigger"]["event"] == row["trigger_event"]
        assert not any(real in captured.out + captured.err for real in audited["real_ids"])


def test_a_case_by_its_pseudonym_shows_all_its_obligations(
    audited: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    case = audited["rows"][0]["case"]
    expected = {r["obligation"] for r in audited["rows"] if r["case"] == case}
    capsys.readouterr()
    args = _explain([str(audited["events"])], audited["as_of"], "--case", case)
    assert run_cli(args, monkeypatch) == 0
    text = capsys.readouterr().out
    assert {line.split()[1] for line in text.splitlines() if line.startswith("Åtgärd ")} >= expected
    assert case in text
    assert not any(real in text for real in audited["real_ids"])
    json_args = [*args, "--format", "json"]
    assert run_cli(json_args, monkeypatch) == 0
    shown = json.loads(capsys.readouterr().out)["obligations"]
    assert {o["case"] for o in shown} == {case}
    assert {
        o["obligation"] for o in shown if o["rule"] in {r["rule"] for r in audited["rows"]}
    } >= expected


def test_a_history_needs_the_audits_key(
    audited: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    row = audited["rows"][0]
    args = _explain([str(audited["events"])], audited["as_of"], "--case", row["case"])
    assert run_cli(args, monkeypatch, key=None) == 2
    assert "--key-file" in capsys.readouterr().err
    assert run_cli(args, monkeypatch, key="another-key-of-enough-bytes") == 2
    err = capsys.readouterr().err
    assert "no case" in err and "hmac-sha256:" in err
    # With --identify the real id is what a case is named by.
    assert run_cli([*args, "--identify"], monkeypatch, key=None) == 2


def test_a_masked_obligation_id_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An event id holding a personnummer is masked in obligations.csv; explain takes the
    masked id and shows it masked."""
    events = tmp_path / "in"
    events.mkdir()
    line = {
        "id": "19121212-1212-a",
        "case": "c1",
        "type": "consent.given",
        "at": "2025-03-03T09:00:00+01:00",
        "data": {"form": "written"},
    }
    (events / "a.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    period = ["--from", "2025-03-01", "--to", "2025-03-31"]
    assert run_cli(audit_args([events], out, *period), monkeypatch) == 0
    (row,) = _rows(out / "obligations.csv")
    assert row["obligation"] == "consent-recorded:[personnummer]-a"
    as_of = json.loads((out / "report.json").read_text(encoding="utf-8"))["header"]["as_of"]
    capsys.readouterr()
    args = _explain([str(events)], as_of, "--format", "json", row["obligation"])
    assert run_cli(args, monkeypatch) == 0
    captured = capsys.readouterr()
    (found,) = json.loads(captured.out)["obligations"]
    assert (found["obligation"], found["case"], found["status"]) == (
        row["obligation"],
        row["case"],
        "overdue",
    )
    assert "19121212" not in captured.out + captured.err


def test_one_plain_file_is_read_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One JSON Lines file: case ids as they are, whatever key is in the environment."""
    line = {
        "id": "e1",
        "case": "c1",
        "type": "consent.given",
        "at": "2025-03-03T09:00:00+01:00",
        "data": {"form": "written"},
    }
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    args = _explain([str(path)], "2025-04-01T00:00:00+02:00", "--format", "json", "--case", "c1")
    capsys.readouterr()
    assert run_cli(args, monkeypatch) == 0
    (found,) = json.loads(capsys.readouterr().out)["obligations"]
    assert (found["obligation"], found["case"]) == ("consent-recorded:e1", "c1")


def test_a_swedish_excel_export_is_read_as_the_audit_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Semicolons, Windows-1252 and an extra column, as Excel saves them."""
    path = tmp_path / "export.csv"
    path.write_bytes(
        "id;case;type;at;data;Enhet\r\n"
        'e1;c1;consent.given;2025-03-03T09:00:00+01:00;"{""form"": ""written""}";Hemvård Söder\r\n'
        .encode("cp1252")
    )  # fmt: skip
    base = _explain([str(path)], "2025-04-01T00:00:00+02:00", "--format", "json", "--case", "c1")
    capsys.readouterr()
    assert run_cli(base, monkeypatch) == 2  # as one plain file: not UTF-8
    capsys.readouterr()
    args = [*base, "--identify", "--encoding", "cp1252", "--extra-columns", "data"]
    assert run_cli(args, monkeypatch, key=None) == 0
    (found,) = json.loads(capsys.readouterr().out)["obligations"]
    assert (found["obligation"], found["case"], found["status"]) == (
        "consent-recorded:e1",
        "c1",
        "overdue",
    )
