"""``samverkan audit generate``: a history whose audit must find exactly its ground truth."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from samverkan_rules.audit.pseudonym import valid_personnummer
from tests.audit.support import audit_args, run_cli

UNITS = ("Hemvård Norr", "Dagverksamhet Vivalla")
JUDGED = ("fulfilled", "fulfilled_late", "overdue")


def _generate(out: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> int:
    args = ["audit", "generate", "--out", str(out), "--cases", "40", "--years", "1"]
    return run_cli([*args, *extra], monkeypatch)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_audit_of_a_generated_history_finds_its_ground_truth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = tmp_path / "gen"
    formats = ["--format", "jsonl", "--format", "csv.gz", "--format", "parquet"]
    units = [w for u in UNITS for w in ("--unit", u)]
    assert _generate(gen, monkeypatch, "--files", "4", "--seed", "5", *formats, *units) == 0
    names = sorted(p.name for p in (gen / "events").iterdir())
    assert names == [
        "events-00.jsonl",
        "events-01.csv.gz",
        "events-02.parquet",
        "events-03.jsonl",
    ]
    truth = _json(gen / "truth.json")
    period = ["--from", truth["from"], "--to", truth["to"], "--group-by", "data.enhet"]
    out = tmp_path / "out"
    assert run_cli(audit_args([gen / "events"], out, *period), monkeypatch) == 0
    report = _json(out / "report.json")
    assert report["header"]["events_total"]["used"] == truth["events"]
    found = {r["rule"]: r["statuses"] for r in report["by_rule"] if r["total"]}
    assert set(found) == set(truth["by_rule"])
    for rule, counts in truth["by_rule"].items():
        assert {s: found[rule][s] for s in JUDGED} == {s: counts.get(s, 0) for s in JUDGED}
    by_unit = {g["values"][0]: g["statuses"] for g in report["by_group"]}
    assert set(by_unit) == set(UNITS) == set(truth["by_unit"])
    for unit, counts in truth["by_unit"].items():
        assert {s: by_unit[unit][s] for s in JUDGED} == {s: counts.get(s, 0) for s in JUDGED}
    # Obligation by obligation (case ids as they are, to match them).
    plain = tmp_path / "plain"
    assert run_cli(audit_args([gen / "events"], plain, *period, "--identify"), monkeypatch) == 0

    def outcomes(rows: list[dict[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
        return {
            (r["case"], r["obligation"]): (
                r["status"],
                r["late_working_days"] if r["status"] == "fulfilled_late" else "",
            )
            for r in rows
        }

    audited = outcomes(_rows(plain / "obligations.csv"))
    assert audited == outcomes(_rows(gen / "truth.csv"))
    assert len(audited) == sum(sum(c.values()) for c in truth["by_rule"].values())


def test_the_same_seed_gives_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = ["--files", "3", "--format", "jsonl.gz", "--format", "csv", "--shuffle"]
    for name, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        assert _generate(tmp_path / name, monkeypatch, "--seed", seed, *options) == 0

    def content(name: str) -> dict[str, bytes]:
        root = tmp_path / name
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    assert content("a") == content("b")
    assert content("a") != content("c")


def test_case_ids_are_valid_personnummer_and_the_mix_is_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _generate(tmp_path / "g", monkeypatch, "--cases", "300", "--mix", "1:0:0") == 0
    rows = _rows(tmp_path / "g" / "truth.csv")
    cases = {r["case"] for r in rows}
    assert len(cases) == 300
    assert all(valid_personnummer(c) for c in cases)
    assert {r["status"] for r in rows} == {"fulfilled"}


@pytest.mark.parametrize(
    "extra",
    [["--mix", "1:2"], ["--mix", "0:0:0"], ["--cases", "0"], ["--format", "xlsx"]],
)
def test_bad_options_are_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str]
) -> None:
    assert _generate(tmp_path / "g", monkeypatch, *extra) == 2
    assert not (tmp_path / "g").exists()


def test_a_directory_in_use_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "keep.txt").write_text("mine", encoding="utf-8")
    assert _generate(tmp_path / "g", monkeypatch) == 2
    assert "not an empty directory" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == ["keep.txt"]
