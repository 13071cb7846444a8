"""The same bytes whatever the environment: time zone, locale, I/O encoding, closed streams,
and 16 threads sharing one compiled routine.

Each environment gets one process, which runs the examples (``samverkan due`` in both
formats, ``explain``, ``render``, ``validate`` and ``examples/embed.py``) with its real
standard output pointed at a file per command; every file must equal the reference run's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

import pytest

from samverkan_rules import check_routine_text, evaluate, load_routine, read_events
from samverkan_rules.text.html import render_html
from samverkan_rules.text.markdown import render_markdown
from tests.support import EXAMPLES, ROOT, ROUTINES

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
EVENTS = EXAMPLES / "orebro-case.jsonl"
CSV_EVENTS = EXAMPLES / "orebro-case.csv"
AS_OF = "2026-12-15T12:00:00+01:00"
EVAL = ["--routine", str(ROUTINE), "--events", str(EVENTS), "--as-of", AS_OF]
JOBS: dict[str, list[str] | str] = {
    "due-json": ["due", *EVAL, "--format", "json"],
    "due-text": ["due", *EVAL, "--all"],
    "due-csv": ["due", "--routine", str(ROUTINE), "--events", str(CSV_EVENTS), "--as-of", AS_OF],
    "explain": ["explain", *EVAL, "start-message:e06"],
    "render-md": ["render", str(ROUTINE)],
    "render-html": ["render", str(ROUTINE), "--format", "html"],
    "validate": ["validate", "--today", "2026-01-01", str(ROUTINES)],
    "embed": "embed",
}

# Runs each job with the process's real descriptor 1 pointed at a file of its own.
DRIVER = """
import json, os, runpy, sys
from samverkan_rules.cli import main
folder, jobs = sys.argv[1], json.loads(sys.argv[2])
for name, argv in jobs.items():
    fd = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(fd, 1)
    os.close(fd)
    try:
        if argv == "embed":
            sys.argv = ["embed.py"]
            try:
                runpy.run_path(os.path.join("examples", "embed.py"), run_name="__main__")
            except SystemExit:
                pass
        else:
            main(argv)
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
"""

ENVIRONMENTS: dict[str, dict[str, str]] = {
    "tz-utc": {"TZ": "UTC"},
    "tz-new-york": {"TZ": "America/New_York"},
    "tz-kiritimati": {"TZ": "Pacific/Kiritimati"},
    "tz-kolkata": {"TZ": "Asia/Kolkata"},
    "tz-posix-string": {"TZ": "EST5EDT,M3.2.0,M11.1.0"},
    "c-locale": {"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0"},
    "posix-locale": {"LC_ALL": "POSIX", "PYTHONUTF8": "0"},
    "c-utf8": {"LC_ALL": "C.UTF-8"},
    "turkish": {"LC_ALL": "tr_TR.UTF-8", "LANG": "tr_TR.UTF-8"},
    "swedish": {"LC_ALL": "sv_SE.UTF-8", "LANG": "sv_SE.UTF-8"},
    "io-ascii": {"PYTHONIOENCODING": "ascii"},
    "io-latin-1": {"PYTHONIOENCODING": "latin-1:strict"},
    "io-utf-16": {"PYTHONIOENCODING": "utf-16"},
    "everything": {
        "TZ": "Asia/Tokyo",
        "LC_ALL": "C",
        "LANG": "C",
        "PYTHONUTF8": "0",
        "PYTHONIOENCODING": "ascii",
    },
}


def _run_jobs(folder: Path, env: Mapping[str, str], redirect: str = "") -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-c", DRIVER, str(folder), json.dumps(JOBS)]
    if redirect:
        command = ["bash", "-c", f'exec "$@" {redirect}', "_", *command]
    base = {k: v for k, v in os.environ.items() if k not in ("TZ", "LC_ALL", "LANG")}
    done = subprocess.run(command, env={**base, **env}, cwd=ROOT, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    assert b"Traceback" not in done.stderr
    return {name: (folder / name).read_bytes() for name in JOBS}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    outputs = _run_jobs(tmp_path_factory.mktemp("reference"), {"PYTHONUTF8": "1"})
    assert "Läget per".encode() in outputs["due-text"]
    assert json.loads(outputs["due-json"])["summary"]["events"] == 25
    return outputs


@pytest.mark.parametrize("env", list(ENVIRONMENTS.values()), ids=list(ENVIRONMENTS))
def test_the_examples_give_the_same_bytes_in_every_environment(
    env: dict[str, str], reference: dict[str, bytes], tmp_path: Path
) -> None:
    outputs = _run_jobs(tmp_path, env)
    for name in JOBS:
        assert outputs[name] == reference[name], name


def test_closed_stdin_and_stderr_change_nothing_on_stdout(
    reference: dict[str, bytes], tmp_path: Path
) -> None:
    outputs = _run_jobs(tmp_path, {"PYTHONUTF8": "1"}, redirect="<&- 2>&-")
    for name in JOBS:
        assert outputs[name] == reference[name], name


# --------------------------------------------------------------------------- threads


THREADS = 16


def _in_threads(work: Callable[[], str], rounds: int = 3) -> list[str]:
    """Run ``work`` in 16 threads released at once, ``rounds`` times each."""
    barrier = threading.Barrier(THREADS)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(rounds):
                value = work()
                with lock:
                    results.append(value)
        except BaseException as exc:  # report it in the main thread
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert len(results) == THREADS * rounds
    return results


def test_sixteen_threads_evaluate_one_routine_to_the_same_bytes() -> None:
    routine = load_routine(ROUTINE)
    batch = read_events(EVENTS)
    as_of = datetime.fromisoformat(AS_OF)
    expected = evaluate(routine, batch, as_of).to_json()
    results = _in_threads(lambda: evaluate(routine, batch, as_of).to_json())
    assert set(results) == {expected}


def test_sixteen_threads_load_check_and_render_to_the_same_bytes() -> None:
    text = ROUTINE.read_text(encoding="utf-8")
    broken = text.replace("time_zone: Europe/Stockholm", "time_zone: Europe/Stokholm")

    def work() -> str:
        routine = load_routine(ROUTINE)
        check = check_routine_text(broken, file="broken.yaml")
        events = read_events(CSV_EVENTS)
        result = evaluate(routine, events, datetime.fromisoformat(AS_OF))
        return "\n".join(
            [
                routine.sha256,
                render_markdown(routine),
                render_html(routine),
                *(d.format() for d in check.diagnostics),
                result.to_json(),
            ]
        )

    expected = work()
    assert "Europe/Stockholm" in expected  # the did-you-mean of the broken copy
    results = _in_threads(work, rounds=1)
    assert set(results) == {expected}
