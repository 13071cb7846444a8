"""Fuzzing event files through ``samverkan due`` (in-process and in a few real processes).

For every generated file (see :mod:`event_files`):

* no exit 3 and no traceback; no run over a few seconds;
* every error is located (the file and the line);
* every untouched good event is still evaluated (exit 2, the whole file refused, only for a
  file that is not UTF-8);
* the CLI's JSON is exactly what the API (``read_events`` + ``evaluate``) gives.

Mutation kinds that still break one of these promises are listed in
:data:`event_files.KNOWN_FINDINGS`; :func:`test_event_files_fuzz` leaves them out, and
:func:`test_event_files_fuzz_with_known_findings` (expected to fail until they are fixed)
keeps them in, as do the exact inputs in :func:`test_event_reading_finding`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from _fuzzing import SLOW_SECONDS, assert_no_internal_error, fuzz_settings, run_cli
from event_files import AS_OF, BASE, KNOWN_FINDINGS, ROUTINE, EventFile, event_files
from hypothesis import given

from samverkan_rules import evaluate, load_routine, read_events
from samverkan_rules.errors import SamverkanError

COMPILED = load_routine(ROUTINE)
MOMENT = datetime.fromisoformat(AS_OF)


def check_event_file(sample: EventFile) -> None:
    """Every promise, for one generated file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"events{sample.suffix}"
        path.write_bytes(sample.content)
        argv = ["due", "--routine", str(ROUTINE), "--events", str(path), "--as-of", AS_OF]
        run = run_cli([*argv, "--format", "json"])
        assert_no_internal_error(run)
        if run.code == 2:
            assert sample.unreadable, run.err
            assert str(path) in run.err  # the refusal names the file (and the line)
            return
        document = json.loads(run.out)
        # Lines as people (and editors) count them: only line feeds end a line.
        physical_lines = sample.content.count(b"\n") + 1
        for diagnostic in document["diagnostics"]:
            if diagnostic["level"] == "error":
                assert diagnostic.get("file") == str(path), diagnostic
                assert isinstance(diagnostic.get("line"), int), diagnostic
                assert 1 <= diagnostic["line"] <= physical_lines, diagnostic
        must = len(sample.untouched) + len(sample.valid_mutants)
        assert document["summary"]["events"] >= must, (document["summary"], must)
        wanted_cases = {r["case"] for r in sample.untouched}
        assert wanted_cases <= {c["case"] for c in document["cases"]}
        # The same result through the API.
        started = time.perf_counter()
        batch = read_events(path)
        expected = evaluate(COMPILED, batch, MOMENT).to_json()
        assert time.perf_counter() - started < SLOW_SECONDS
        assert document == json.loads(expected)
        text = run_cli(argv)
        assert_no_internal_error(text)
        assert text.code == run.code


@fuzz_settings(60)
@given(event_files(exclude=frozenset(KNOWN_FINDINGS)))
def test_event_files_fuzz(sample: EventFile) -> None:
    check_event_file(sample)


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False)


GOOD = _line(BASE[0])
_CSV_HEADER = "id,case,type,at,data\n"
_CSV_GOOD = 'g1,c1,consent.given,2026-11-16T09:00:00+01:00,"{""form"": ""oral""}"\n'
_CSV_GOOD_RECORD = {
    "id": "g1",
    "case": "c1",
    "type": "consent.given",
    "at": "2026-11-16T09:00:00+01:00",
    "data": {"form": "oral"},
}
FINDINGS: dict[str, tuple[str, str]] = {
    # finding: (suffix, file text); the first line (after a CSV header) is always good.
    "year-0001": (".jsonl", _line(BASE[0] | {"id": "x", "at": "0001-01-01T00:00:00+01:00"})),
    "huge-number": (".jsonl", _line(BASE[0] | {"id": "x"})[:-1] + ', "n": ' + "1" * 5000 + "}"),
    "deep-nesting": (
        ".jsonl",
        _line(BASE[0] | {"id": "x"})[:-1] + ', "n": ' + "[" * 2000 + "]" * 2000 + "}",
    ),
    "lone-surrogate": (".jsonl", _line(BASE[0]).replace('"e07"', '"e\\ud800"')),
    "separator-in-string": (".jsonl", _line(BASE[0] | {"id": "x", "data": {"note": "a\u2028b"}})),
    "string-line": (".jsonl", '"text"'),
    "csv-cell-too-long": (
        ".csv",
        'x,c1,consent.given,2026-11-16T09:00:00+01:00,"{""note"": ""' + "x" * 140_000 + '""}"',
    ),
}


def _write(tmp_path: Path, suffix: str, hostile: str) -> Path:
    path = tmp_path / f"events{suffix}"
    good = _CSV_HEADER + _CSV_GOOD if suffix == ".csv" else GOOD + "\n"
    path.write_text(good + hostile + "\n", encoding="utf-8", errors="surrogatepass")
    return path


@pytest.mark.parametrize("finding", sorted(FINDINGS))
def test_event_reading_finding(finding: str, tmp_path: Path) -> None:
    """One exact input per finding: a good line and the hostile one, through ``due``."""
    suffix, hostile = FINDINGS[finding]
    path = _write(tmp_path, suffix, hostile)
    mutants = [json.loads(hostile)] if finding == "separator-in-string" else []
    good = BASE[0] if suffix == ".jsonl" else _CSV_GOOD_RECORD
    sample = EventFile(path.read_bytes(), suffix, [finding], [good], valid_mutants=mutants)
    check_event_file(sample)


@pytest.mark.parametrize("offset", ["+00:60", "+0100"])
def test_event_reading_finding_odd_offset(offset: str, tmp_path: Path) -> None:
    hostile = _line(BASE[0] | {"id": "x", "at": "2026-11-16T09:00:00" + offset})
    path = _write(tmp_path, ".jsonl", hostile)
    run = run_cli(["due", "--routine", str(ROUTINE), "--events", str(path), "--as-of", AS_OF])
    assert run.code == 1 and f"{path}:2:" in run.err


def test_event_reading_finding_false_vs_0(tmp_path: Path) -> None:
    first = _line(BASE[0] | {"data": {"form": "oral", "flag": False}})
    second = _line(BASE[0] | {"data": {"form": "oral", "flag": 0}})
    outputs = []
    for n, lines in enumerate([(first, second), (second, first)]):
        path = tmp_path / f"events-{n}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        argv = ["due", "--routine", str(ROUTINE), "--events", str(path), "--as-of", AS_OF]
        run = run_cli([*argv, "--format", "json"])
        outputs.append((run.code, json.loads(run.out)["summary"]))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == 1  # a conflict, whatever the order


def test_event_reading_finding_csv_multiline_record(tmp_path: Path) -> None:
    hostile = 'x,c1,no.such,2026-11-16T09:00:00+01:00,"{""note"": ""a\nb\nc""}"'
    path = _write(tmp_path, ".csv", hostile)
    run = run_cli(["due", "--routine", str(ROUTINE), "--events", str(path), "--as-of", AS_OF])
    assert f"{path}:3:" in run.err  # the record starts on line 3 (after header and good line)


def test_event_files_in_real_processes(tmp_path: Path) -> None:
    """A few files through a real ``samverkan due`` process: the same bytes as in-process."""
    samples = [
        (
            _line(BASE[0])
            + "\n"
            + '"text"\n'
            + _line(BASE[1] | {"at": "2026-11-16T11:00:00"})
            + "\n"
        ),
        ("\ufeff" + "\r\n".join(_line(r) for r in BASE) + "\r\n"),
    ]
    for n, content in enumerate(samples):
        path = tmp_path / f"events-{n}.jsonl"
        path.write_text(content, encoding="utf-8")
        argv = [
            "due",
            "--routine",
            str(ROUTINE),
            "--events",
            str(path),
            "--as-of",
            AS_OF,
            "--format",
            "json",
        ]
        done = subprocess.run(
            [sys.executable, "-m", "samverkan_rules", *argv], capture_output=True, timeout=60
        )
        inside = run_cli(argv)
        assert done.returncode == inside.code in (0, 1)
        assert done.stdout.decode() == inside.out
        assert b"Traceback" not in done.stderr


def test_the_generator_covers_every_kind() -> None:
    """The findings named are kinds the generator produces."""
    import event_files as module

    source = Path(module.__file__).read_text(encoding="utf-8")
    for kind in KNOWN_FINDINGS:
        assert f'"{kind}"' in source
    assert isinstance(SamverkanError, type)
