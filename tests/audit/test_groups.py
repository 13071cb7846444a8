"""Dimensions from the data: ``--group-by data.enhet``, column maps and extra columns."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest

from samverkan_rules import load_registry
from samverkan_rules.audit.run import AuditOptions, run_audit
from samverkan_rules.audit.synthetic import History, generate_history, write_files
from tests.audit.support import ROUTINE_ID, audit_args, run_cli
from tests.support import ROUTINES

UNITS = ("Hemvård Norr", "Hemvård Söder", "Dagverksamhet Vivalla")
JUDGED = ("fulfilled", "fulfilled_late", "overdue")


def _history(tmp: Path, seed: int = 11, cases: int = 40) -> tuple[History, list[Path], list[str]]:
    history, stream = generate_history(seed, cases, years=2, units=UNITS)
    paths = write_files(stream, tmp / "in", files=3, shuffle=random.Random(seed))
    return history, paths, ["--from", history.first.isoformat(), "--to", history.last.isoformat()]


def _report(out: Path) -> dict[str, Any]:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def _events(paths: list[Path]) -> list[dict[str, Any]]:
    con = duckdb.connect()
    out = []
    for path in paths:
        if path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle):
                    out.append({**row, "data": json.loads(row["data"])})
        else:
            rows = con.execute(
                'SELECT id, "case", type, "at", data::VARCHAR FROM read_json(?, columns = '
                "{id: 'VARCHAR', 'case': 'VARCHAR', type: 'VARCHAR', 'at': 'VARCHAR', "
                "data: 'JSON'})",
                [str(path)],
            ).fetchall()
            out += [
                dict(zip(("id", "case", "type", "at"), r[:4], strict=True))
                | {"data": json.loads(r[4])}
                for r in rows
            ]
    return sorted(out, key=lambda e: e["id"])


def test_per_unit_counts_equal_the_generated_truth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history, paths, period = _history(tmp_path)
    assert len(history.expected_by_unit) == len(UNITS)
    out = tmp_path / "out"
    assert run_cli(audit_args(paths, out, *period, "--group-by", "data.enhet"), monkeypatch) == 0
    report = _report(out)
    assert report["header"]["group_by"] == ["data.enhet"]
    found = {g["values"][0]: g for g in report["by_group"]}
    assert set(found) == set(UNITS)  # every obligation's case had a unit at its trigger
    for unit, counts in history.expected_by_unit.items():
        assert {s: found[unit]["statuses"][s] for s in JUDGED} == {s: counts[s] for s in JUDGED}
        assert found[unit]["total"] == counts.total()
    per_month: Counter[str] = Counter()
    for row in report["by_group_month"]:
        per_month[row["values"][0]] += row["total"]
    per_rule: Counter[str] = Counter()
    for row in report["by_group_rule"]:
        per_rule[row["values"][0]] += row["total"]
    assert per_month == per_rule == Counter({u: g["total"] for u, g in found.items()})
    # The grouped field is declared: no warning about it on every line.
    assert not [d for d in report["diagnostics"] if d["code"] == "event.unknown-field"]
    with (out / "obligations.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert Counter(r["data.enhet"] for r in rows) == Counter(
        {u: c.total() for u, c in history.expected_by_unit.items()}
    )
    lines = (out / "groups.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("data.enhet,routine,version,rule,total,fulfilled,")
    months = (out / "group_months.csv").read_text(encoding="utf-8").splitlines()
    assert len(months) == 1 + len(report["by_group_month"])
    # The same history without --group-by: the same by_rule, and no group tables.
    plain = tmp_path / "plain"
    assert run_cli(audit_args(paths, plain, *period), monkeypatch) == 0
    assert _report(plain)["by_rule"] == report["by_rule"]
    assert not (plain / "groups.csv").exists() and _report(plain)["by_group"] == []


def test_a_unit_column_reads_through_a_column_map_or_as_an_extra_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, paths, period = _history(tmp_path, seed=3, cases=15)
    group = ("--group-by", "data.enhet")
    reference = tmp_path / "reference"
    assert run_cli(audit_args(paths, reference, *period, *group), monkeypatch) == 0
    events = _events(paths)
    # A semicolon export whose unit is a column of its own, and whose case column is named
    # in Swedish: mapped by a column map.
    export = tmp_path / "export" / "export.csv"
    export.parent.mkdir()
    with export.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(("id", "Ärende", "type", "at", "Enhet", "data"))
        for e in events:
            data = dict(e["data"])
            unit = data.pop("enhet", "")
            writer.writerow((e["id"], e["case"], e["type"], e["at"], unit, json.dumps(data)))
    columns = tmp_path / "columns.yaml"
    columns.write_text("columns:\n  Ärende: case\n  Enhet: data.enhet\n", encoding="utf-8")
    mapped = tmp_path / "mapped"
    args = audit_args([export], mapped, *period, *group, "--columns", str(columns))
    assert run_cli(args, monkeypatch) == 0
    # The same as Parquet with an extra column, taken into data as it is.
    parquet = tmp_path / "export.parquet"
    duckdb.connect().execute(
        f'COPY (SELECT id, "Ärende" AS "case", type, "at", "Enhet" AS enhet, data '
        f"FROM read_csv('{export}', delim = ';', all_varchar = true)) TO '{parquet}' "
        "(FORMAT parquet)"
    )
    extra = tmp_path / "extra"
    assert (
        run_cli(
            audit_args([parquet], extra, *period, *group, "--extra-columns", "data"), monkeypatch
        )
        == 0
    )
    expected = _report(reference)
    del expected["header"]["inputs"]
    for out in (mapped, extra):
        report = _report(out)
        del report["header"]["inputs"]
        assert report == expected
        for name in ("obligations.csv", "groups.csv", "group_months.csv"):
            assert (out / name).read_bytes() == (reference / name).read_bytes()
    # Without being told, the extra column rejects each row and says how to map it.
    rejected = tmp_path / "rejected"
    assert run_cli(audit_args([parquet], rejected, *period), monkeypatch) == 2


def test_a_column_that_disagrees_with_data_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "id,case,type,at,Enhet,data\n"
        'e1,c1,consent.given,2021-03-01T09:00:00+01:00,Norr,"{""form"": ""written"", '
        '""enhet"": ""Syd""}"\n'
        "e2,c1,consent.given,2021-03-02T09:00:00+01:00,Norr,{}\n",
        encoding="utf-8",
    )
    columns = tmp_path / "columns.toml"
    columns.write_text('[columns]\nEnhet = "data.enhet"\n', encoding="utf-8")
    out = tmp_path / "out"
    args = audit_args([export], out, "--columns", str(columns), "--group-by", "data.enhet")
    assert run_cli(args, monkeypatch) == 1
    err = capsys.readouterr().err
    assert f"{export}:2: column 'Enhet' says 'Norr' but data.enhet says 'Syd'" in err


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("columns:\n  Enhet: enhet\n", "columns.Enhet: 'enhet' is no target"),
        ("columns: [a]\n", "expected a mapping of source column"),
        ("unknown: keep\n", "use data or reject"),
        ("colums: {}\n", "expected a mapping with 'columns'"),
        ("columns: {a: [\n", "not valid YAML"),
    ],
)
def test_a_bad_column_map_is_named(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    text: str,
    words: str,
) -> None:
    columns = tmp_path / "columns.yaml"
    columns.write_text(text, encoding="utf-8")
    args = audit_args([tmp_path], tmp_path / "out", "--columns", str(columns))
    assert run_cli(args, monkeypatch) == 2
    err = capsys.readouterr().err
    assert f"--columns {columns}" in err and words in err


def test_group_by_names_a_data_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, paths, _ = _history(tmp_path, cases=1)
    assert run_cli(audit_args(paths, tmp_path / "out", "--group-by", "enhet"), monkeypatch) == 2
    assert "name a data field, e.g. data.enhet" in capsys.readouterr().err


def test_groups_on_dask_are_byte_identical(tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    _, paths, _ = _history(tmp_path, seed=8, cases=20)
    options = AuditOptions(
        routines=list(load_registry(ROUTINES).versions(ROUTINE_ID)),
        events=[str(p) for p in paths],
        out=str(tmp_path / "single"),
        key=b"a-test-key-of-enough-bytes",
        group_by=("data.enhet",),
    )
    single = run_audit(options)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = run_audit(replace(options, out=str(tmp_path / "dask"), client=client))
    assert [p.name for p in single.files] == [p.name for p in on_dask.files]
    assert "groups.csv" in [p.name for p in single.files]
    for a, b in zip(single.files, on_dask.files, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_fields_listed_in_the_column_map_are_not_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, paths, period = _history(tmp_path, seed=5, cases=4)
    out = tmp_path / "warned"
    assert run_cli(audit_args(paths, out, *period), monkeypatch) == 0
    warned = {d["line"] for d in _report(out)["diagnostics"] if d["code"] == "event.unknown-field"}
    assert warned, "data.enhet is no field of the vocabulary"
    columns = tmp_path / "columns.yaml"
    columns.write_text("fields: [enhet]\n", encoding="utf-8")
    out = tmp_path / "declared"
    assert run_cli(audit_args(paths, out, *period, "--columns", str(columns)), monkeypatch) == 0
    codes = {d["code"] for d in _report(out)["diagnostics"]}
    assert "event.unknown-field" not in codes


def test_line_breaks_in_a_grouped_value_become_spaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit typed with a line break in its cell ("Hemvård\\rNorr") is the unit "Hemvård
    Norr": a carriage return in a row of the audit's files broke them (DuckDB could not read
    the rows back, and the audit stopped with an internal error)."""
    history, stream = generate_history(11, 40, years=2, units=UNITS)
    paths = write_files(stream, tmp_path / "in", files=2, formats=("jsonl",))
    for path in paths:
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record.get("data", {}).get("enhet") == "Hemvård Norr":
                record["data"]["enhet"] = "Hemvård\rNorr\t"
            lines.append(json.dumps(record, ensure_ascii=False))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert "\\r" in paths[0].read_text(encoding="utf-8") + paths[1].read_text(encoding="utf-8")
    out = tmp_path / "out"
    period = ["--from", history.first.isoformat(), "--to", history.last.isoformat()]
    assert run_cli(audit_args(paths, out, *period, "--group-by", "data.enhet"), monkeypatch) == 0
    found = {g["values"][0]: g["total"] for g in _report(out)["by_group"]}
    assert found == {u: c.total() for u, c in history.expected_by_unit.items()}
    with (out / "obligations.csv").open(encoding="utf-8", newline="") as handle:
        assert not any("\r" in v or "\n" in v for row in csv.reader(handle) for v in row)
