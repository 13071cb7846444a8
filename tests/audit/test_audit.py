"""``samverkan audit`` end to end: known counts, determinism, personal data, bad input."""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import duckdb
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samverkan_rules.audit.synthetic import generate_history, write_files
from tests.audit.support import KEY, Generated, audit_args, generate, run_cli
from tests.support import EXAMPLES, ROOT, ROUTINES, event

OUTPUTS = ("report.json", "obligations.csv", "summary.csv", "periods.csv", "report.html")


def _report(out: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def _check_counts(report: dict, generated: Generated) -> None:  # type: ignore[type-arg]
    expected = generated.history.expected
    found = {r["rule"]: r for r in report["by_rule"] if r["total"]}
    assert set(found) == set(expected)
    for rule, counts in expected.items():
        statuses = found[rule]["statuses"]
        assert {s: statuses[s] for s in counts} == dict(counts), rule
        assert (
            statuses["fulfilled"] + statuses["fulfilled_late"] + statuses["overdue"]
            == (found[rule]["total"])
        ), f"{rule}: only on time, late or overdue"
    for rule, lates in generated.history.late_working_days.items():
        late = found[rule]["statuses"]["fulfilled_late"]
        assert late == sum(lates.values())


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(
    seed=st.integers(0, 10_000),
    cases=st.integers(1, 30),
    files=st.integers(1, 5),
)
def test_audit_recovers_the_generated_counts(
    seed: int,
    cases: int,
    files: int,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tmp = tmp_path_factory.mktemp("history")
    generated = generate(tmp / "in", seed=seed, cases=cases, files=files, years=3)
    out = tmp / "out"
    h = generated.history
    args = audit_args([tmp / "in"], out, "--from", h.first.isoformat(), "--to", h.last.isoformat())
    assert run_cli(args, monkeypatch) == 0
    report = _report(out)
    _check_counts(report, generated)
    for record in report["header"]["inputs"]:
        assert record["events_read"] == record["events_used"] + record["events_rejected"]
    assert report["header"]["events_total"]["read"] == h.events


def test_reruns_and_file_order_give_identical_bytes(
    generated: Generated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli(audit_args(generated.paths, a), monkeypatch) == 0
    assert run_cli(audit_args(list(reversed(generated.paths)), b), monkeypatch) == 0
    for name in OUTPUTS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_shuffled_lines_give_identical_results(
    generated: Generated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli(audit_args([generated.paths[0].parent], a), monkeypatch) == 0
    rng = random.Random(5)
    for path in generated.paths:  # the same files, their lines in another order
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
            lines = handle.read().splitlines(keepends=True)
        head = lines[:1] if path.name.endswith(".csv") else []
        body = lines[len(head) :]
        rng.shuffle(body)
        with opener(path, "wt", encoding="utf-8") as handle:  # type: ignore[operator]
            handle.write("".join(head + body))
    assert run_cli(audit_args([generated.paths[0].parent], b), monkeypatch) == 0
    for name in ("obligations.csv", "summary.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ra, rb = _report(a), _report(b)
    for r in (ra, rb):
        for record in r["header"]["inputs"]:
            record.pop("sha256")  # the files' bytes did change
    assert ra == rb


def test_no_case_id_or_personnummer_in_any_output(
    generated: Generated,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case = sorted(generated.case_ids)[0]
    bad = generated.paths[0].parent / f"export-{case}.jsonl"  # a file named after a person
    bad.write_text(
        json.dumps(
            {"id": "x1", "case": case, "type": "no.such.type", "at": "2021-03-01T09:00:00+01:00"}
        )
        + "\n"
        + json.dumps(
            event(
                id="x2",
                case="19121212-1213",
                type="consent.given",
                at="2021-03-01T09:00:00+01:00",
                form="written",
            )
        )
        + "\n"
        + json.dumps(
            event(
                id=f"x3 {case}",
                case=case,
                type="consent.given",
                at="2021-03-01T09:00:00",
                form="written",
            )
        )
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert run_cli(audit_args([bad.parent], out), monkeypatch) == 1
    captured = capsys.readouterr()
    texts = [captured.out, captured.err] + [(out / n).read_text(encoding="utf-8") for n in OUTPUTS]
    digits = {c.replace("-", "") for c in generated.case_ids}
    for text in texts:
        for raw in generated.case_ids | {"19121212-1213"}:
            assert raw not in text
        flat = text.replace("-", "")
        assert not any(d in flat for d in digits)
    report = _report(out)
    assert report["header"]["pseudonymised"] is True
    assert report["header"]["key_fingerprint"].startswith("hmac-sha256:")
    assert KEY not in "".join(texts)
    codes = {(d["code"], d["file"], d["line"]) for d in report["diagnostics"]}
    shown = str(bad).replace(case, "[personnummer]")
    assert ("case.invalid-personnummer", shown, 2) in codes
    assert ("event.unknown-type", shown, 1) in codes
    assert ("event.bad-timestamp", shown, 3) in codes


def test_identify_keeps_case_ids(
    generated: Generated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert run_cli(audit_args(generated.paths, out, "--identify"), monkeypatch, key=None) == 0
    text = (out / "obligations.csv").read_text(encoding="utf-8")
    assert sorted(generated.case_ids)[0] in text
    assert _report(out)["header"]["pseudonymised"] is False


def test_report_matches_its_schema(
    generated: Generated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert run_cli(audit_args(generated.paths, out), monkeypatch) == 0
    schema = json.loads((ROOT / "schemas" / "audit.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(_report(out), schema)


def test_bad_lines_are_reported_and_the_rest_audited(
    generated: Generated,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = next(p for p in generated.paths if p.suffix == ".jsonl")
    lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(3, "{not json\n")
    lines.insert(6, "\n")  # blank lines are not records
    target.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli(audit_args(generated.paths, out), monkeypatch) == 1
    err = capsys.readouterr().err
    assert f"{target}:4" in err and "not valid JSON" in err
    report = _report(out)
    record = next(r for r in report["header"]["inputs"] if r["file"] == str(target))
    assert record["events_rejected"] == 1
    assert record["events_read"] == record["events_used"] + 1
    _check_counts(report, generated)  # every good line still counted


def test_ids_with_control_characters_are_rejected_and_named(
    generated: Generated,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An id or case id holding a line break goes into no file of the audit: a carriage
    return there broke the rows for every reader, DuckDB's own included, and the audit
    stopped with an internal error. The record is rejected with its file and line."""
    target = next(p for p in generated.paths if p.suffix == ".jsonl")
    lines = target.read_text(encoding="utf-8").splitlines()
    first, second = json.loads(lines[2]), json.loads(lines[5])
    first["id"] += "\r"
    second["case"] = "c\n" + second["case"]
    lines[2], lines[5] = json.dumps(first), json.dumps(second)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli(audit_args(generated.paths, out, "--jobs", "2"), monkeypatch) == 1
    err = capsys.readouterr().err
    assert f"{target}:3" in err and "the id holds a control character (U+000D" in err
    assert f"{target}:6" in err and "the case holds a control character (U+000A" in err
    report = _report(out)
    record = next(r for r in report["header"]["inputs"] if r["file"] == str(target))
    assert record["events_rejected"] == 2
    codes = [d["code"] for d in report["diagnostics"]]
    assert codes.count("event.control-character") == 2
    rows = (out / "obligations.csv").read_bytes()
    assert b"\r" not in rows


def test_the_same_history_as_parquet(
    generated: Generated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = tmp_path / "a"
    assert run_cli(audit_args(generated.paths, a), monkeypatch) == 0
    parquet = tmp_path / "history.parquet"
    jsonl = tmp_path / "all.jsonl"
    with jsonl.open("w", encoding="utf-8") as handle:
        for path in generated.paths:
            if path.suffix == ".jsonl":
                handle.write(path.read_text(encoding="utf-8"))
            elif path.name.endswith(".gz"):
                handle.write(gzip.decompress(path.read_bytes()).decode("utf-8"))
    csv_path = next(p for p in generated.paths if p.suffix == ".csv")
    con = duckdb.connect()
    con.execute(
        'COPY (SELECT id, "case", type, "at", data::VARCHAR AS data FROM read_json(?, '
        "columns = {id: 'VARCHAR', 'case': 'VARCHAR', type: 'VARCHAR', 'at': 'VARCHAR', "
        "data: 'JSON'}) "
        'UNION ALL SELECT id, "case", type, "at", data '
        f"FROM read_csv('{csv_path}', all_varchar = true)) TO '{parquet}' (FORMAT parquet)",
        [str(jsonl)],
    )
    b = tmp_path / "b"
    assert run_cli(audit_args([parquet], b), monkeypatch) == 0
    assert (a / "obligations.csv").read_bytes() == (b / "obligations.csv").read_bytes()
    assert _report(b)["header"]["inputs"][0]["format"] == "parquet"


def test_compare_shows_what_another_version_would_change(
    generated: Generated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (ROUTINES / "orebro-dagverksamhet-hemvard.yaml").read_text(encoding="utf-8")
    old = (
        "    deadline: {after: trigger, working_days: 1}\n"
        "    fulfilled_by:\n      - event: document.recorded"
    )
    assert old in text
    other = tmp_path / "other.yaml"
    other.write_text(
        text.replace(old, old.replace("working_days: 1", "working_days: 3")).replace(
            'version: "2"', 'version: "3"', 1
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert run_cli(audit_args(generated.paths, out, "--compare", str(other)), monkeypatch) == 0
    compare = _report(out)["compare"]
    assert [r["version"] for r in compare["routines"]] == ["3"]
    row = next(r for r in compare["by_rule"] if r["rule"] == "consent-recorded")
    late = generated.history.expected["consent-recorded"]["fulfilled_late"]
    assert row["difference"]["fulfilled"] == late
    assert row["difference"]["fulfilled_late"] == -late
    assert row["difference"]["total"] == 0
    unchanged = next(r for r in compare["by_rule"] if r["rule"] == "start-message")
    assert all(v == 0 for v in unchanged["difference"].values())


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ((), None, "no pseudonymisation key"),
        (("--key-file", "/no/such/key"), None, "--key-file /no/such/key"),
        ((), "short", "use at least 16"),
        (("--from", "2021-05-01", "--to", "2021-04-01"), KEY, "the period is empty"),
        (("--from", "2030-01-01", "--to", "2030-12-31"), KEY, "holds no obligation"),
        (("--to", "2021-12-31", "--as-of", "2021-06-01T00:00:00+02:00"), KEY, "before the end"),
        (("--memory-limit", "plenty"), KEY, "write a size such as 256MB"),
    ],
)
def test_unusable_runs_exit_2_and_write_nothing(
    generated: Generated,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: tuple[str, ...],
    key: str | None,
    words: str,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("previous", encoding="utf-8")
    assert run_cli(audit_args(generated.paths, out, *extra), monkeypatch, key=key) == 2
    assert words in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["report.json"]
    assert (out / "report.json").read_text(encoding="utf-8") == "previous"


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_key_file_others_can_read_is_refused(
    generated: Generated,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Whoever can read the key can undo every pseudonym: it is read only from a private
    file, as the service's token and log key are."""
    key = tmp_path / "audit.key"
    key.write_text(KEY + "\n", encoding="utf-8")
    key.chmod(0o644)
    args = audit_args(generated.paths, tmp_path / "out", "--key-file", str(key))
    assert run_cli(args, monkeypatch, key=None) == 2
    assert f"chmod 600 {key}" in capsys.readouterr().err
    assert not (tmp_path / "out" / "report.json").exists()
    key.chmod(0o600)
    assert run_cli(args, monkeypatch, key=None) == 0
    assert (tmp_path / "out" / "report.json").exists()


@pytest.mark.parametrize("kind", ["missing", "bad-gzip", "bad-parquet", "csv-header"])
def test_unreadable_inputs_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    path = {
        "missing": tmp_path / "nope.jsonl",
        "bad-gzip": tmp_path / "x.jsonl.gz",
        "bad-parquet": tmp_path / "x.parquet",
        "csv-header": tmp_path / "x.csv",
    }[kind]
    if kind == "bad-gzip":
        path.write_bytes(b"\x1f\x8b this is not gzip")
    elif kind == "bad-parquet":
        path.write_bytes(b"PAR1 not really")
    elif kind == "csv-header":
        path.write_text("id,when\n1,2\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli(audit_args([path], out), monkeypatch) == 2
    assert str(path) in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_without_the_extra_the_command_names_it(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['duckdb'] = None\n"
        "from samverkan_rules.cli import main\n"
        f"sys.exit(main(['audit', '--routines', 'routines', '--events', 'x', '--out', "
        f"{str(tmp_path)!r}, '--identify']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert "pip install 'samverkan-rules[audit]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_core_does_not_import_the_extras() -> None:
    code = (
        "import sys, samverkan_rules, samverkan_rules.schemas, samverkan_rules.audit\n"
        "from samverkan_rules.cli import build_parser; build_parser()\n"
        "extras = ('duckdb', 'jinja2', 'tqdm', 'personnummer', 'dask', 'xlsxwriter')\n"
        "print(sorted(m for m in extras if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "[]"


def test_generator_streams_without_shuffling(tmp_path: Path) -> None:
    history, cases = generate_history(3, 10, years=1)
    paths = write_files(cases, tmp_path, files=2)
    assert history.cases == 10
    lines = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in paths)
    assert lines == history.events + 1  # a JSON Lines file and a CSV file with its header


def _documented_summary() -> dict[str, tuple[int, int, int, int, float, int]]:
    """The rows of the summary.csv table on the audit's reference page."""
    page = (ROOT / "docs" / "reference" / "audit.md").read_text(encoding="utf-8")
    table = page.split("| rule | total | on time | late | overdue |", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines()[2:]:
        rule, total, on_time, late, overdue, rate, median = line.strip("|").split("|")
        rows[rule.strip()] = (
            int(total),
            int(on_time),
            int(late),
            int(overdue),
            float(rate),
            int(median),
        )
    return rows


def test_the_documented_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    args = [
        *audit_args([EXAMPLES / "audit"], out),
        "--from",
        "2025-01-01",
        "--to",
        "2025-12-31",
    ]
    assert run_cli(args, monkeypatch) == 0
    rows = {r["rule"]: r for r in _report(out)["by_rule"]}
    quoted = {  # the table in docs/reference/audit.md
        "consent-recorded": (12, 9, 2, 1, 0.75, 2),
        "start-message": (12, 8, 3, 1, 0.6667, 1),
        "receipt-acknowledgement": (20, 8, 8, 4, 0.4, 2),
    }
    assert _documented_summary() == quoted
    for rule, (total, on_time, late, overdue, rate, median) in quoted.items():
        r = rows[rule]
        s = r["statuses"]
        assert (r["total"], s["fulfilled"], s["fulfilled_late"], s["overdue"]) == (
            total,
            on_time,
            late,
            overdue,
        )
        assert (r["on_time_rate"], r["lateness_working_days"]["median"]) == (rate, median)


def test_overlapping_exports_count_once_and_reused_ids_are_rejected(
    generated: Generated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = next(p for p in generated.paths if p.suffix == ".jsonl")
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    overlap = source.parent / "overlap.jsonl"
    overlap.write_text("".join(lines[:5]), encoding="utf-8")  # exported twice
    clash = json.loads(lines[5])
    clash["at"] = "2021-01-04T09:00:00+01:00"  # another event under the same id
    (source.parent / "clash.jsonl").write_text(json.dumps(clash) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli(audit_args([source.parent], out), monkeypatch) == 1
    report = _report(out)
    inputs = {Path(r["file"]).name: r for r in report["header"]["inputs"]}
    assert inputs["overlap.jsonl"]["events_rejected"] == 5
    assert inputs["clash.jsonl"]["events_rejected"] == 1
    assert inputs[source.name]["events_rejected"] == 1  # the clashing original
    codes = [d["code"] for d in report["diagnostics"]]
    assert codes.count("event.duplicate") == 1 and codes.count("event.duplicate-id") == 1
    found = {r["rule"]: r["total"] for r in report["by_rule"]}
    assert sum(found.values()) <= sum(c.total() for c in generated.history.expected.values())


def test_a_file_full_of_bad_lines_is_counted_but_listed_only_so_far(
    generated: Generated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = generated.paths[0].parent / "garbage.jsonl"
    bad.write_text("not json\n" * 1005, encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli(audit_args([bad.parent], out), monkeypatch) == 1
    report = _report(out)
    record = next(r for r in report["header"]["inputs"] if r["file"] == str(bad))
    assert (record["events_read"], record["events_rejected"]) == (1005, 1005)
    listed = [d for d in report["diagnostics"] if d["file"] == str(bad)]
    assert sum(1 for d in listed if d["code"] == "event.bad-json") == 1000
    more = next(d for d in listed if d["code"] == "audit.more-findings")
    assert more["message"].startswith("5 more finding(s) of event.bad-json")
    _check_counts(report, generated)


def test_compare_counts_the_events_the_other_version_rejects(
    generated: Generated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The compared version requires a field no generated consent carries: it rejects every
    # consent.given the audited version accepts, and the report says how many.
    text = (ROUTINES / "orebro-dagverksamhet-hemvard.yaml").read_text(encoding="utf-8")
    other = tmp_path / "other.yaml"
    other.write_text(
        text.replace('version: "2"', 'version: "3"', 1).replace(
            "\nevent_types:\n",
            "\nextend_event_types:\n  consent.given:\n    fields:\n"
            "      witness: {type: string, required: true}\n\nevent_types:\n",
            1,
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert run_cli(audit_args(generated.paths, out, "--compare", str(other)), monkeypatch) == 0
    report = _report(out)
    _history, stream = generate_history(1, 25, years=2)  # the fixture's history, again
    consents = sum(1 for events in stream for e in events if e["type"] == "consent.given")
    assert consents > 0
    assert report["compare"]["events_rejected"] == consents


_LONG_QUERY = """
import sys
import duckdb
from samverkan_rules.audit.streams import connect
con = connect() if sys.argv[1] == "audit" else duckdb.connect()
con.execute("SET progress_bar_time = 0")  # as a query of a large history runs long
con.execute(
    "SELECT count(*) FROM (SELECT md5(range::VARCHAR) AS s FROM range(3000000) ORDER BY s)"
).fetchall()
"""


def test_the_audits_duckdb_draws_no_progress_bar_on_standard_output() -> None:
    """DuckDB's client draws a progress bar on standard output for a query of more than two
    seconds, a terminal or not: into `samverkan audit --format json`'s output on a large
    history. Every connection the audit opens draws none."""
    out = {
        which: subprocess.run(
            [sys.executable, "-c", _LONG_QUERY, which],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        for which in ("plain", "audit")
    }
    assert "%" in out["plain"]  # DuckDB's own bar: what the test would see
    assert out["audit"] == ""
