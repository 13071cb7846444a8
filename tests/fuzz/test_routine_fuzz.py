"""Fuzzing routines through the API and ``samverkan validate`` (in-process and real processes).

For every mutated routine (see :mod:`routine_texts`):

* no exception from ``check_routine_text``/``check_routine_file``, no exit 3, no traceback;
  no run over a few seconds;
* every diagnostic is located: the file, and the line wherever the problem has one;
* the same diagnostics from ``check_routine_text``, ``check_routine_file`` and
  ``samverkan validate --format json``, and the exit code that goes with them;
* a routine that loads also renders and evaluates the example case log without an
  internal error (``load_routine_text`` agrees with ``check_routine_text``).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

from _fuzzing import SLOW_SECONDS, assert_no_internal_error, fuzz_settings, run_cli
from hypothesis import given
from routine_texts import MutatedRoutine, mutated_routines

from samverkan_rules import (
    check_routine_file,
    check_routine_text,
    evaluate,
    load_routine_text,
    read_events,
)
from samverkan_rules.cli._common import diagnostics_json
from samverkan_rules.errors import RoutineError, SamverkanError
from samverkan_rules.text.html import render_html
from samverkan_rules.text.markdown import render_markdown
from tests.support import EXAMPLES, ROUTINES

EVENTS = read_events(EXAMPLES / "orebro-case.jsonl")
AS_OF = datetime.fromisoformat("2026-12-15T12:00:00+01:00")
TODAY = date(2026, 1, 1)
UNLOCATED = frozenset({"yaml.size-limit", "yaml.limit-setting", "yaml.unreadable"})
"""Problems of the whole file, which have no line."""


def _timed(function: Any, *args: Any, **kwargs: Any) -> Any:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    elapsed = time.perf_counter() - started
    assert elapsed < SLOW_SECONDS, f"{function.__name__} took {elapsed:.1f} s"
    return result


def check_mutated_routine(sample: MutatedRoutine) -> None:
    """Every promise, for one mutated routine."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_bytes(sample.content())
        name = str(path)
        from_file = _timed(check_routine_file, path, today=TODAY)
        for d in from_file.diagnostics:
            assert d.file == name, d
            assert d.line is not None or d.code in UNLOCATED, d.format()
        if sample.raw is None:
            from_text = _timed(check_routine_text, sample.text, file=name, today=TODAY)
            assert from_text.diagnostics == from_file.diagnostics
            assert from_text.ok == from_file.ok
            try:
                load_routine_text(sample.text, file=name)
            except RoutineError as exc:
                assert not from_text.ok
                assert exc.diagnostics == tuple(d for d in from_text.diagnostics if d.is_error)
            else:
                assert from_text.ok
        run = run_cli(
            ["validate", "--lang", "en", "--format", "json", "--today", TODAY.isoformat(), name]
        )
        assert_no_internal_error(run)
        [reported] = json.loads(run.out)["routines"]
        # validate reports what the API finds first, then its own layers: the quotes against
        # the source document (not found beside a temporary file) and lint.
        api = diagnostics_json(from_file.diagnostics)
        cli = reported["diagnostics"]
        assert [d for d in cli if d in api] == sorted(api, key=cli.index), (api, cli)
        extra_errors = [d for d in cli if d not in api and d["level"] == "error"]
        assert run.code == (0 if from_file.ok and not extra_errors else 1), run.err
        text_run = run_cli(["validate", "--lang", "en", "--today", TODAY.isoformat(), name])
        assert_no_internal_error(text_run)
        routine = from_file.routine
        if from_file.ok and routine is not None:
            _timed(render_markdown, routine)
            _timed(render_html, routine)
            # A located refusal is fine; anything else fails the test.
            with contextlib.suppress(SamverkanError):
                _timed(evaluate, routine, EVENTS, AS_OF)


@fuzz_settings(60)
@given(mutated_routines())
def test_mutated_routines(sample: MutatedRoutine) -> None:
    check_mutated_routine(sample)


def test_mutated_routines_in_a_real_process(tmp_path: Path) -> None:
    """A few mutated routines through a real ``samverkan validate`` process."""
    import random

    rng = random.Random(11)
    routines = sorted((ROUTINES).glob("*.yaml"))
    for n in range(8):
        source = routines[n % len(routines)]
        lines = source.read_text(encoding="utf-8").split("\n")
        i = rng.randrange(len(lines))
        lines[i] = (
            lines[i][: len(lines[i]) // 2] + "\u2028\x1b[2J: &x" + lines[i][len(lines[i]) // 2 :]
        )
        del lines[rng.randrange(len(lines))]
        (tmp_path / f"m{n}.yaml").write_text("\n".join(lines), encoding="utf-8")
    (tmp_path / "bytes.yaml").write_bytes(b"id: x\xff\nversion: 1\n")
    command = [
        sys.executable,
        "-m",
        "samverkan_rules",
        "validate",
        "--format",
        "json",
        "--lang",
        "en",
    ]
    done = subprocess.run(
        [*command, "--today", TODAY.isoformat(), str(tmp_path)],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr
    reported = json.loads(done.stdout)["routines"]
    assert len(reported) == 9
    for entry in reported:
        check = check_routine_file(entry["file"], today=TODAY)
        assert entry["diagnostics"] == diagnostics_json(check.diagnostics)
        assert entry["valid"] == check.ok
