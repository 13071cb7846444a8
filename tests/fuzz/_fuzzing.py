"""What the fuzzers share: how many examples to run, and running the CLI in-process.

The normal test run is bounded and derandomised (the same examples every time, well under
a minute together). A long run takes its size from ``SAMVERKAN_FUZZ_EXAMPLES`` or from
pytest's ``--fuzz-long`` option (2,000 examples per fuzzer)::

    SAMVERKAN_FUZZ_EXAMPLES=5000 python -m pytest tests/fuzz -q
    python -m pytest tests/fuzz -q --fuzz-long

``SAMVERKAN_FUZZ_STATS=FILE`` records each run's command, time and exit code, for counts.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, settings

from samverkan_rules.cli import main

LONG_RUN_EXAMPLES = 2_000
SLOW_SECONDS = float(os.environ.get("SAMVERKAN_FUZZ_SLOW_SECONDS", "5"))
"""No single run may take longer than this ("no run over a few seconds"); a busy shared
machine may need ``SAMVERKAN_FUZZ_SLOW_SECONDS`` raised."""
STATS_FILE = os.environ.get("SAMVERKAN_FUZZ_STATS")
"""When set, every CLI run appends ``command seconds exit-code`` to this file."""


def examples(default: int) -> int:
    """The number of examples: ``SAMVERKAN_FUZZ_EXAMPLES`` when set, else ``default``."""
    raw = os.environ.get("SAMVERKAN_FUZZ_EXAMPLES", "").strip()
    return int(raw) if raw else default


def fuzz_settings(default: int) -> settings:
    """Derandomised settings (the same examples every run) with our own time limit."""
    return settings(
        max_examples=examples(default),
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=True,
        # No shrinking: a failing file is printed with a description of its mutations,
        # and shrinking one costs minutes.
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
    )


@dataclass(frozen=True)
class CliRun:
    """One in-process ``samverkan`` run."""

    code: int
    out: str
    err: str
    seconds: float


def run_cli(argv: Sequence[str]) -> CliRun:
    """Run ``samverkan ARGV`` in this process, capturing its streams."""
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    run = CliRun(code, out.getvalue(), err.getvalue(), time.perf_counter() - started)
    if STATS_FILE:
        with open(STATS_FILE, "a", encoding="utf-8") as stats:
            stats.write(f"{argv[0]} {run.seconds:.3f} {run.code}\n")
    return run


def assert_no_internal_error(run: CliRun) -> None:
    """Exit 0, 1 or 2; no traceback and no "This is a bug" anywhere."""
    assert run.code in (0, 1, 2), (run.code, run.err[-2000:])
    for stream in (run.out, run.err):
        assert "Traceback" not in stream, stream[-2000:]
        assert "This is a bug" not in stream, stream[-2000:]
    assert run.seconds < SLOW_SECONDS, f"took {run.seconds:.1f} s"
