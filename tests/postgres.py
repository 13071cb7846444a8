"""A fresh PostgreSQL database per test, on the server ``SAMVERKAN_TEST_POSTGRES`` names
(``.ci/run`` starts one). Without it the PostgreSQL tests are skipped with the reason, but
under ``CI=true`` they fail: CI must test both stores."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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
