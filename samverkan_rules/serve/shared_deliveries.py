"""What the webhooks delivered, kept in the PostgreSQL database the replicas share (the
``postgres`` extra): the replica that takes the lease over delivers from the cursor the one
before it left, so a change is delivered again only when it was in flight as that one died
(with the same ``Samverkan-Delivery`` id, which receivers drop)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from samverkan_rules.live.postgres import Database


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


_ADVANCE = (
    "INSERT INTO webhook_cursors (subscription, routine, after) VALUES (%s, %s, %s) "
    "ON CONFLICT (subscription, routine) DO UPDATE SET after = excluded.after"
)
