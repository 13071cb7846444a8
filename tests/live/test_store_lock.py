"""One process writes an SQLite store: a second process that opens it is refused with a
clear error, and the store is free again once the first process is gone, however it ended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from samverkan_rules.live.store import EventStore, StoreBusyError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")

_HOLDER = """
import sys
from samverkan_rules.live.store import EventStore
store = EventStore(sys.argv[1])
print("open", flush=True)
sys.stdin.readline()
"""


def _holder(path: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "open"
    return child


def test_a_second_process_is_refused_until_the_first_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    child = _holder(path)
    try:
        with pytest.raises(StoreBusyError) as refused:
            EventStore(path)
        message = str(refused.value)
        assert f"pid {child.pid}" in message
        assert "another process" in message and "postgresql://" in message
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    with EventStore(path) as store:  # the kernel released the lock with the process
        assert len(store) == 0


def test_closing_the_store_lets_another_process_open_it(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    EventStore(path).close()
    child = _holder(path)
    assert child.stdin is not None
    child.stdin.write("\n")
    child.stdin.close()
    assert child.wait(timeout=30) == 0
    EventStore(path).close()


def test_serve_refuses_a_store_another_process_holds(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    child = _holder(path)
    try:
        served = subprocess.run(
            [
                sys.executable,
                "-m",
                "samverkan_rules",
                "serve",
                "--routines",
                "routines/orebro-dagverksamhet-hemvard.yaml",
                "--store",
                str(path),
                "--port",
                "0",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "SAMVERKAN_TOKEN": "t" * 32},
            cwd=Path(__file__).resolve().parents[2],
            check=False,
        )
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert served.returncode == 2
    assert "open in another process" in served.stderr
