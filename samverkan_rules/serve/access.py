"""The access log: who read or changed which case, and when.

Social services must be able to show who accessed whose data. Every request that names a
case (posting its events, asking what is due, erasing it) is recorded here with the client,
the time, the method, the route template, the routine, the answer's status and the case's
keyed pseudonym, apart from the events (``access.db`` beside the stores, 0600). The key is
kept in the file, so an admin asks for a case by its id (``GET /access?routine=R&case=C``)
and gets its entries while the file alone names no case.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from samverkan_rules.live.store import connect_private

_SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS access (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    client TEXT NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    routine TEXT,
    case_key TEXT NOT NULL,
    status INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS access_case ON access (case_key, seq);
CREATE TABLE IF NOT EXISTS access_key (one INTEGER PRIMARY KEY CHECK (one = 1), key BLOB NOT NULL);
"""


class Accesses(Protocol):
    """Where case accesses are recorded: :class:`AccessLog` (SQLite or memory) or, for
    replicas on PostgreSQL, :class:`~samverkan_rules.serve.shared.SharedAccessLog`."""

    def record(
        self,
        *,
        at: datetime,
        client: str,
        method: str,
        route: str,
        routine: str | None,
        case: str,
        status: int,
    ) -> None: ...

    def of_case(self, case: str, limit: int = 1000) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


def access_pseudonym(key: bytes, case: str) -> str:
    """A case's name in the access log under ``key`` (the same in SQLite and PostgreSQL)."""
    return "a-" + hmac.new(key, case.encode("utf-8"), hashlib.sha256).hexdigest()[:24]


class AccessLog:
    """An append-only record of case accesses, in an SQLite file (or in memory)."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._db = connect_private(path)
        self._db.executescript(_SCHEMA)
        self._db.execute(
            "INSERT OR IGNORE INTO access_key (one, key) VALUES (1, ?)", (secrets.token_bytes(32),)
        )
        self._key: bytes = self._db.execute("SELECT key FROM access_key").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def pseudonym(self, case: str) -> str:
        """The case's name in this log."""
        return access_pseudonym(self._key, case)

    def record(
        self,
        *,
        at: datetime,
        client: str,
        method: str,
        route: str,
        routine: str | None,
        case: str,
        status: int,
    ) -> None:
        """Record one access of a case."""
        with self._lock:
            self._db.execute(
                "INSERT INTO access (at, client, method, route, routine, case_key, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (at.isoformat(), client, method, route, routine, self.pseudonym(case), status),
            )

    def of_case(self, case: str, limit: int = 1000) -> list[dict[str, Any]]:
        """The accesses of one case, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT at, client, method, route, routine, status FROM access "
                "WHERE case_key = ? ORDER BY seq LIMIT ?",
                (self.pseudonym(case), limit),
            ).fetchall()
        keys = ("at", "client", "method", "route", "routine", "status")
        return [dict(zip(keys, row, strict=True)) for row in rows]
