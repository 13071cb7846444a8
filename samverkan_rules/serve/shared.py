"""What the replicas on one PostgreSQL database share besides the store (the ``postgres``
extra): what the webhooks delivered, so the replica that takes the lease over delivers from
the cursor the one before it left (a change is delivered again only when it was in flight as
that one died, with the same ``Samverkan-Delivery`` id, which receivers drop); the access
log, so an admin asking any replica sees the accesses made through all of them; and the key
of calendar links, so a link opens on any replica."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import psycopg

from samverkan_rules.live.postgres import Database
from samverkan_rules.serve.access import access_pseudonym
from samverkan_rules.serve.guard import log


class SharedDeliveries:
    """The :class:`~samverkan_rules.serve.webhooks.WebhookState` of replicas on one
    PostgreSQL database (tables ``webhook_cursors`` and ``webhook_dead_letters``)."""

    def __init__(self, database: Database) -> None:
        self._pool = database.pool

    def close(self) -> None:
        """Nothing to release: the pool is the database's."""

    def cursor(self, subscription: str, routine: str) -> int | None:
        """The sequence number delivered through, or None before the first delivery."""
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT after FROM webhook_cursors WHERE subscription = %s AND routine = %s",
                (subscription, routine),
            ).fetchone()
        return int(row[0]) if row is not None else None

    def advance(self, subscription: str, routine: str, seq: int) -> None:
        """Record that the subscription has had everything through ``seq``."""
        with self._pool.connection() as conn:
            conn.execute(_ADVANCE, (subscription, routine, seq))

    def bury(self, subscription: str, routine: str, seq: int, attempts: int, error: str) -> None:
        """Set a change aside as a dead letter and move the cursor past it, in one step."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO webhook_dead_letters VALUES (%s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (subscription, routine, seq) DO UPDATE SET attempts = "
                "excluded.attempts, error = excluded.error, at = excluded.at",
                (
                    subscription,
                    routine,
                    seq,
                    attempts,
                    error,
                    datetime.now().astimezone().isoformat(),
                ),
            )
            conn.execute(_ADVANCE, (subscription, routine, seq))

    def dead_letters(self, subscription: str) -> list[dict[str, Any]]:
        """The subscription's dead letters, by routine and number."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT routine, seq, attempts, error, at FROM webhook_dead_letters "
                "WHERE subscription = %s ORDER BY routine, seq",
                (subscription,),
            ).fetchall()
        keys = ("routine", "seq", "attempts", "error", "at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def resurrect(self, subscription: str, routine: str, seq: int) -> bool:
        """Remove a dead letter (a replay delivered it); True when it was there."""
        with self._pool.connection() as conn:
            cur = conn.execute(
                "DELETE FROM webhook_dead_letters "
                "WHERE subscription = %s AND routine = %s AND seq = %s",
                (subscription, routine, seq),
            )
        return cur.rowcount > 0


class SharedAccessLog:
    """The :class:`~samverkan_rules.serve.access.AccessLog` of replicas on one PostgreSQL
    database (tables ``access`` and ``access_key``)."""

    def __init__(self, database: Database) -> None:
        self._pool = database.pool
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO access_key (one, key) VALUES (1, %s) ON CONFLICT (one) DO NOTHING",
                (secrets.token_bytes(32),),
            )
            row = conn.execute("SELECT key FROM access_key").fetchone()
        assert row is not None
        self._key = bytes(row[0])

    def close(self) -> None:
        """Nothing to release: the pool is the database's."""

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
        """Record one access of a case; when the database cannot take it, say so in the log
        (the answer has gone out already)."""
        try:
            with self._pool.connection() as conn:
                conn.execute(
                    "INSERT INTO access (at, client, method, route, routine, case_key, status) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (at.isoformat(), client, method, route, routine, self.pseudonym(case), status),
                )
        except psycopg.Error as exc:
            log.error("access log: an access was not recorded: %s", type(exc).__name__)

    def of_case(self, case: str, limit: int = 1000) -> list[dict[str, Any]]:
        """The accesses of one case, oldest first."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT at, client, method, route, routine, status FROM access "
                "WHERE case_key = %s ORDER BY seq LIMIT %s",
                (self.pseudonym(case), limit),
            ).fetchall()
        keys = ("at", "client", "method", "route", "routine", "status")
        return [dict(zip(keys, row, strict=True)) for row in rows]


def shared_key(database: Database, name: str) -> bytes:
    """The secret ``name`` all replicas share: made (64 hex digits) by the first to ask."""
    with database.pool.connection() as conn:
        conn.execute(
            "INSERT INTO service_keys (name, key) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
            (name, secrets.token_hex(32)),
        )
        row = conn.execute("SELECT key FROM service_keys WHERE name = %s", (name,)).fetchone()
    assert row is not None
    return str(row[0]).encode("utf-8")


_ADVANCE = (
    "INSERT INTO webhook_cursors (subscription, routine, after) VALUES (%s, %s, %s) "
    "ON CONFLICT (subscription, routine) DO UPDATE SET after = excluded.after"
)
