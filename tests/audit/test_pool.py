"""The audit in worker processes on this machine (``--jobs``) equals the one-process audit:
the same files byte for byte, the same findings about bad records, the same refusal of a
file that cannot be read, and it works from a script without a ``__main__`` guard."""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samverkan_rules import load_registry
from samverkan_rules.audit import pool
from samverkan_rules.audit.inputs import WHOLE, InputFile, cut_pieces
from samverkan_rules.audit.pool import Workers, _shares, reading_workers
from samverkan_rules.audit.pseudonym import Pseudonymiser
from samverkan_rules.audit.reader import PER_CODE, Staging
from samverkan_rules.audit.rows import AuditRules, file_order
from samverkan_rules.audit.run import AuditError, AuditOptions, run_audit
from tests.audit.support import KEY, ROUTINE_ID, Generated, audit_args, generate, run_cli
from tests.support import ROOT, ROUTINES, package_copy

OUTPUTS = ("report.json", "obligations.csv", "summary.csv", "periods.csv", "report.html")


def _audit(paths: list[Path], out: Path, jobs: int) -> list[str]:
    outcome = run_audit(
        AuditOptions(
            routines=list(load_registry(ROUTINES).versions(ROUTINE_ID)),
            events=[str(p) for p in paths],
            out=str(out),
            key=KEY.encode(),
            jobs=jobs,
        )
    )
    return [json.dumps(d.model_dump(), sort_keys=True) for d in outcome.report.diagnostics]


def _spoil(paths: list[Path], directory: Path) -> list[Path]:
    """Bad records in two files (broken JSON, an unknown event type, a reused id with other
    content); the inputs with a file of their own added."""
    jsonl = next(p for p in paths if p.name.endswith(".jsonl"))
    first = json.loads(jsonl.read_text(encoding="utf-8").splitlines()[0])
    with jsonl.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    extra = directory / "extra.jsonl"
    unknown = {"id": "x-1", "case": "c-x", "type": "no.such-type", "at": first["at"]}
    reused = {**first, "at": first["at"].replace("T", "T0").replace("T00", "T0")}
    reused["data"] = {**first.get("data", {}), "form": "oral"}
    extra.write_text("".join(json.dumps(r) + "\n" for r in (unknown, reused)), encoding="utf-8")
    return [*paths, extra]


@pytest.mark.parametrize("jobs", [2, 3])
def test_worker_processes_give_the_same_files_and_findings(
    generated: Generated, tmp_path: Path, jobs: int
) -> None:
    paths = _spoil(generated.paths, tmp_path)
    one = _audit(paths, tmp_path / "one", 1)
    many = _audit(paths, tmp_path / "many", jobs)
    codes = {json.loads(d)["code"] for d in one}
    assert {"event.bad-json", "event.duplicate-id"} <= codes, codes
    assert many == one
    for name in OUTPUTS:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "many" / name).read_bytes()
    # Put together from the partitions' rows, unsorted here: the file is in its order.
    with (tmp_path / "many" / "obligations.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    assert len({r[0] for r in rows}) > jobs  # cases in every partition
    assert rows == sorted(rows, key=file_order)


def test_an_unreadable_file_is_named_as_in_one_process(
    generated: Generated, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(b'{"id": "a"}\n')[:-12])
    messages = []
    for jobs in (1, 2):
        with pytest.raises(AuditError) as caught:
            _audit([*generated.paths, broken], tmp_path / f"out-{jobs}", jobs)
        messages.append(str(caught.value))
    assert "broken.jsonl.gz" in messages[0]
    assert messages[1] == messages[0]
    assert not (tmp_path / "out-2" / "report.json").exists()


def test_the_command_line_takes_jobs(
    generated: Generated,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_cli(audit_args(generated.paths, tmp_path / "one", "--jobs", "1"), monkeypatch) == 0
    assert run_cli(audit_args(generated.paths, tmp_path / "two", "--jobs", "2"), monkeypatch) == 0
    for name in OUTPUTS:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert run_cli(audit_args(generated.paths, tmp_path / "zero", "--jobs", "0"), monkeypatch) == 2
    assert "--jobs" in capsys.readouterr().err


def test_a_script_without_a_main_guard_can_use_worker_processes(
    generated: Generated, tmp_path: Path
) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from samverkan_rules import load_registry
            from samverkan_rules.audit.run import AuditOptions, run_audit
            routines = list(load_registry({str(ROUTINES)!r}).versions({ROUTINE_ID!r}))
            events = {[str(p) for p in generated.paths]!r}
            out = {str(tmp_path / "out")!r}
            options = AuditOptions(routines=routines, events=events, out=out, key=b"k" * 16, jobs=2)
            outcome = run_audit(options)
            print(outcome.report.header.cases)
            """
        ),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) == len(generated.case_ids)


def test_the_ranges_of_case_ids_are_cut_within_the_memory_limit(tmp_path: Path) -> None:
    """The quantiles of every case id held them all in memory and failed past the staging
    database's limit on a 10M-event history; a sample cuts the ranges in bounded memory."""
    rules = AuditRules.prepare(list(load_registry(ROUTINES).versions(ROUTINE_ID)))
    with Staging(
        rules, Pseudonymiser(KEY.encode()), work_dir=str(tmp_path), memory_limit="24MB"
    ) as staging:
        staging.con.execute(
            "CREATE TABLE staged AS "
            "SELECT 'p-' || md5(range::VARCHAR) AS case_p FROM range(3000000)"
        )
        with pytest.raises(duckdb.OutOfMemoryException):  # every id at once: the old way
            staging.con.execute("SELECT quantile_disc(case_p, [0.5]) FROM staged").fetchall()
        ranges = staging.ranges(4)
        counts = [
            staging.con.execute(
                "SELECT count(*) FROM staged WHERE case_p >= coalesce(?, '') "
                "AND (? IS NULL OR case_p < ?)",
                [low, high, high],
            ).fetchone()[0]  # type: ignore[index]
            for low, high in ranges
        ]
    assert len(ranges) == 4 and ranges[0][0] is None and ranges[-1][1] is None
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert sum(counts) == 3_000_000 and min(counts) > 600_000  # about a quarter each


_RULES = AuditRules.prepare(list(load_registry(ROUTINES).versions(ROUTINE_ID)))
_GOOD = [
    json.dumps(
        {
            "id": f"e{n}",
            "case": f"c{n % 3}",
            "type": "hemvard.enrolled",
            "at": f"2026-03-0{1 + n % 9}T09:00:00+01:00",
        }
    ).encode()
    for n in range(12)
]
_LINES = st.one_of(
    st.sampled_from(_GOOD),
    st.sampled_from([b"{not json", b"\xff\xfe not utf-8", b"", b"   ", b'{"id": "x"}']),
    st.just(
        json.dumps(
            {"id": "u", "case": "c9", "type": "no.such-type", "at": "2026-03-01T09:00:00+01:00"}
        ).encode()
    ),
)


def _stage(path: Path, item: InputFile, pieces: list, work: Path) -> tuple[list, list, list]:
    """Each piece staged by a Staging of its own (as in the workers); the staged rows, the
    tallies and the findings, in the pieces' order."""
    rows, tallies, found = [], [], []
    for k, piece in enumerate(pieces):
        with Staging(_RULES, Pseudonymiser(KEY.encode()), work_dir=str(work)) as staging:
            out = work / f"piece-{k}.csv"
            tallies.append(staging.stage_file(0, item, out, lambda n: None, piece))
            found += staging.diagnostics
            rows += out.read_text(encoding="utf-8").splitlines()
    return rows, tallies, found


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(st.tuples(_LINES, st.sampled_from([b"\n", b"\r\n"])), max_size=30),
    bom=st.booleans(),
    last_open=st.booleans(),
    count=st.integers(1, 7),
)
def test_a_file_read_in_pieces_is_read_as_whole(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[tuple[bytes, bytes]],
    bom: bool,
    last_open: bool,
    count: int,
) -> None:
    """Cut anywhere into pieces read by different readers, a JSON Lines file gives the same
    staged records (with their line numbers), counts and findings as read in one go: a BOM,
    CRLF, blank and undecodable lines and a last line without a line break included."""
    work = tmp_path_factory.mktemp("pieces")
    body = b"".join(text + end for text, end in lines)
    if last_open and lines:
        body = body[: -len(lines[-1][1])]
    path = work / "events.jsonl"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + body)
    item = InputFile(path, "events.jsonl", "jsonl", False)
    pieces = cut_pieces(path, count)
    assert pieces[0].start == 0 and pieces[-1].end is None
    assert all(a.end == b.start for a, b in itertools.pairwise(pieces))
    whole = _stage(path, item, [WHOLE], work)
    apart = _stage(path, item, pieces, work)
    assert apart[0] == whole[0]
    assert sum(t.read for t in apart[1]) == whole[1][0].read
    assert sum(t.rejected for t in apart[1]) == whole[1][0].rejected
    assert [t.sha256 for t in apart[1] if t.sha256] == [whole[1][0].sha256]
    assert apart[2] == whole[2]


def test_one_large_file_is_read_by_every_worker_as_by_one(tmp_path: Path) -> None:
    """An export is often one file: it is cut into pieces for the workers, and the audit,
    its findings (listed up to the limit per code, counted beyond) and every file are those
    of one process."""
    source = generate(tmp_path / "gen", cases=60, files=1).paths[0]
    assert source.name.endswith(".jsonl")
    spoiled = [b"\xef\xbb\xbf"]
    for line in source.read_bytes().splitlines(keepends=True):
        spoiled += [line, *[b"{not json\r\n"] * 3]  # more than the findings listed per code
    one = tmp_path / "in" / "events.jsonl"
    one.parent.mkdir()
    one.write_bytes(b"".join(spoiled))
    item = InputFile(one, str(one), "jsonl", False)
    assert len([p for share in _shares([item], 3) for p in share]) > 1  # read in pieces
    assert len(spoiled) // 4 * 3 > PER_CODE
    first = _audit([one], tmp_path / "one", 1)
    many = _audit([one], tmp_path / "many", 3)
    assert any(json.loads(d)["code"] == "audit.more-findings" for d in first)
    assert many == first
    for name in OUTPUTS:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "many" / name).read_bytes()


def test_the_workers_read_and_then_audit(
    generated: Generated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers read the files and then audit the cases: started once for both passes."""
    started = []
    real = subprocess.Popen

    def popen(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        started.append(args)
        return real(*args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(pool.subprocess, "Popen", popen)
    one = _audit(generated.paths, tmp_path / "one", 1)
    assert not started
    assert _audit(generated.paths, tmp_path / "two", 2) == one
    assert len(started) == 2
    for name in OUTPUTS:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_a_failing_worker_is_reported_and_every_worker_stopped(tmp_path: Path) -> None:
    parts = [
        (tmp_path / f"no-such-spec-{n}.pickle", tmp_path / f"result-{n}.pickle") for n in (0, 1)
    ]
    workers = Workers(tmp_path)
    with pytest.raises(RuntimeError, match="an audit worker failed") as caught, workers:
        list(workers.run("read", parts))
    assert "no-such-spec-0.pickle" in str(caught.value)  # the end of its log: the traceback
    assert all(worker.poll() is not None for worker in workers._running)


def test_one_file_keeps_every_worker_busy_when_it_can_be_cut(tmp_path: Path) -> None:
    """A JSON Lines file is cut into about two pieces a worker, the pieces' bytes shared out
    evenly; a CSV (or gzipped) file is read by one worker, whatever the jobs."""
    lines = b"".join(b'{"n": %d}\n' % n for n in range(5000))
    jsonl, csv_file = tmp_path / "e.jsonl", tmp_path / "e.csv"
    jsonl.write_bytes(lines)
    csv_file.write_bytes(lines)
    one = InputFile(jsonl, "e.jsonl", "jsonl", False)
    assert reading_workers(3, [one]) == 3
    assert reading_workers(3, [InputFile(csv_file, "e.csv", "csv", False)]) == 1
    shares = _shares([one], 3)
    pieces = sorted((piece for share in shares for _, piece, _ in share), key=lambda p: p.start)
    assert len(shares) == 3 and len(pieces) == 6
    assert pieces[0].start == 0 and pieces[-1].end is None
    assert all(a.end == b.start for a, b in itertools.pairwise(pieces))
    sizes = [(p.end or len(lines)) - p.start for p in pieces]
    assert max(sizes) - min(sizes) < 20  # a line's length at most
    loads = [sum((p.end or len(lines)) - p.start for _, p, _ in share) for share in shares]
    assert max(loads) - min(loads) < 40


def test_the_workers_run_this_package_not_a_copy_in_the_working_directory(
    generated: Generated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An audit started in a directory holding another ``samverkan_rules`` (a checkout, an
    unpacked release: another version, or the pure build beside a compiled one) has its
    workers import the package the audit runs, as the one-process audit does."""
    one = _audit(generated.paths, tmp_path / "one", 1)
    monkeypatch.chdir(package_copy(tmp_path / "elsewhere"))
    assert _audit(generated.paths, tmp_path / "two", 2) == one
    for name in OUTPUTS:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
