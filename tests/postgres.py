"""A fresh PostgreSQL database per test, on the server ``SAMVERKAN_TEST_POSTGRES`` names
(``.ci/run`` starts one). Without it the PostgreSQL tests are skipped with the reason, but
under ``CI=true`` they fail: CI must test both stores."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ENV = "SAMVERKAN_TEST_POSTGRES"


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true the PostgreSQL tests must run (.ci/run starts one)")
    pytest.skip(reason)


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards."""
    server = os.environ.get(ENV, "")
    if not server:
        _missing(f"{ENV} is not set: no PostgreSQL server to test the store against")
    try:
        import psycopg
    except ImportError:
        _missing("psycopg is not installed (the postgres extra)")
    name = "samverkan_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}".encode())
    try:
        yield urlsplit(server)._replace(path="/" + name).geturl()
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "postgres.sh"


class PrivateServer:
    """A PostgreSQL server of a test's own (started by ``.ci/postgres.sh`` in ``directory``),
    for a test that restarts the server under load and must not take others' down with it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        found = self._bash("postgres_bin")
        if not found.stdout.strip():
            _missing("no PostgreSQL server binaries (Debian's postgresql package)")
        started = self._bash(f'postgres_start "{directory}" && echo "$SAMVERKAN_TEST_POSTGRES"')
        if started.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr}")
        self.url = started.stdout.strip().splitlines()[-1]

    def _bash(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", f'source "{SCRIPT}" && {command}'],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def restart(self) -> None:
        """Stop the server the way an operator's restart does (``pg_ctl restart -m fast``:
        every connection ended, every committed transaction kept) and start it again."""
        data = self.directory / "data"
        done = self._bash(
            f'postgres_as "$(stat -c %U "{data}")" "$(postgres_bin)/pg_ctl" -D "{data}" '
            f'-l "{self.directory}/server.log" -m fast -w -t 60 restart'
        )
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not restart: {done.stderr}{done.stdout}")

    def stop(self) -> None:
        """Stop the server and remove its files."""
        self._bash(f'postgres_stop "{self.directory}"')
