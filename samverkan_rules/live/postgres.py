"""PostgreSQL as the live store, so several ``samverkan serve`` replicas share one database
(the ``postgres`` extra: psycopg 3 and its connection pool).

The concepts are the SQLite file's (:mod:`samverkan_rules.live.store`): append-only events
with per-case order, tombstones of erased cases, the numbered change log and the answers
kept for idempotency keys, one database for every routine (a ``routine`` column). The schema
is the SQL of ``migrations/`` (``NNNN_name.sql``), applied in order at start under an
advisory lock and recorded in ``schema_migrations``, so replicas starting together apply
each once.

Several replicas, one truth:

- **Writes.** A post holds its routine's row in ``routines`` ``FOR UPDATE`` from before it
  reads what others wrote until it commits its events, the changes they made and the
  routine's bumped ``version``, all in one transaction. Posts of one routine are therefore
  applied one at a time across replicas, so the changes of a case keep their order; and the
  change log's numbers, drawn from its sequence under that lock, become visible in the order
  they were drawn, so a client that resumes after a number never skips one committed later
  (a lock per case would let a lower number commit after a higher one was read).
- **Reads.** Before each post or question a replica compares the routine's ``version`` with
  the one it last read (:meth:`PostgresStore.catch_up`): one small query when nothing
  changed; else it reads the events and change-log rows numbered above those it holds, in
  one snapshot. An erasure bumps ``epoch`` too, and the others read the routine again.
- **Background work.** The clock task and webhook deliveries run on one replica at a time:
  the holder of a session-level advisory lock on a dedicated connection (:class:`Lease`).
  When that replica dies its connection closes and the lock is free; another takes it
  within a second of looking.

Erasure removes the case's rows, but PostgreSQL keeps the dead rows in the table files
until ``VACUUM`` reclaims them (autovacuum does, eventually), and in its write-ahead log
and backups: run ``VACUUM`` on ``events`` and ``changes`` after an erasure when the text
must be gone from the files at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from samverkan_rules.errors import SamverkanError
from samverkan_rules.events.model import Event
from samverkan_rules.live.changelog import ANSWER_TTL, ChangeRow
from samverkan_rules.live.store import (
    EventConflictError,
    change_of_row,
    change_values,
    conflict_of,
    content_key,
    event_of_row,
)
from samverkan_rules.live.stores import CatchUp, Seen
from samverkan_rules.time.instants import format_rfc3339

_MIGRATION_LOCK = 0x73616D76_6D696772
"""The advisory lock key held while migrations are applied ("samvmigr")."""

_COLUMNS = "seq, case_id, at, obligation, rule, before, after, cause, named, deadline, record"
_EVENT_COLUMNS = "id, case_id, type, at, data"


class DatabaseError(SamverkanError):
    """The database cannot be reached or set up (the message never holds a password)."""


def redacted(url: str) -> str:
    """A connection URL as logs may show it: user, host, port and database, no password.

    Examples:
        >>> redacted("postgresql://app:secret@db.example.se:5433/samverkan")
        'postgresql://app@db.example.se:5433/samverkan'
    """
    try:
        parts = conninfo_to_dict(url)
    except psycopg.Error:
        return "postgresql://(unreadable URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


class Database:
    """A connection pool on one PostgreSQL database, its schema brought up to date.

    Args:
        url: ``postgresql://user:password@host:port/database`` (or any libpq URL).
        max_size: The most connections the pool opens.

    Raises:
        DatabaseError: when the database cannot be reached in 30 s or a migration fails.
    """

    def __init__(self, url: str, *, max_size: int = 8) -> None:
        self.url = url
        self.location = redacted(url)
        # Each connection is checked as it is handed out, so one the server dropped (a
        # restart, a failover) is replaced rather than failing a request.
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs={"autocommit": True},
            check=ConnectionPool.check_connection,
            open=False,
        )
        try:
            self.pool.open(wait=True, timeout=30.0)
            migrate(self.pool)
        except PoolTimeout:
            self.pool.close()
            raise DatabaseError(
                f"{self.location}: no connection within 30 s; is the server running, and "
                "does it take this user from this host?"
            ) from None
        except psycopg.Error as exc:
            self.pool.close()
            raise DatabaseError(
                f"{self.location}: {type(exc).__name__}: {_first_line(exc)}"
            ) from None

    def close(self) -> None:
        """Close the pool's connections."""
        self.pool.close()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:300]


def migrations() -> list[tuple[int, str, str]]:
    """The schema's migrations, in order: number, name and SQL of each ``NNNN_name.sql``."""
    folder = resources.files("samverkan_rules.live") / "migrations"
    out = []
    for item in folder.iterdir():
        if item.name.endswith(".sql"):
            number, _, name = item.name.removesuffix(".sql").partition("_")
            out.append((int(number), name, item.read_text(encoding="utf-8")))
    return sorted(out)


def migrate(pool: ConnectionPool) -> list[int]:
    """Apply the migrations the database lacks, each in its own transaction, under an
    advisory lock (replicas that start together wait for each other); the numbers applied."""
    applied: list[int] = []
    with pool.connection() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for number, name, sql in migrations():
                if number in done:
                    continue
                with conn.transaction():
                    conn.execute(sql.encode("utf-8"))
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (number, name),
                    )
                applied.append(number)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
    return applied


@dataclass(slots=True)
class _Write:
    """The transaction a :meth:`PostgresStore.writing` block holds, and what it wrote."""

    conn: psycopg.Connection[Any]
    wrote: bool = False
    erased: bool = False
    events: int = 0
    changes: int = 0


class PostgresStore:
    """One routine's live store in a PostgreSQL database; safe to share between threads,
    and between processes (see the module's docstring).

    Args:
        database: The database (its pool), shared by the routines served.
        routine: The routine id whose rows this store reads and writes.
    """

    def __init__(self, database: Database, routine: str) -> None:
        self._database = database
        self.routine = routine
        self._local = threading.local()
        with database.pool.connection() as conn:
            conn.execute(
                "INSERT INTO routines (routine, pseudonym_key) VALUES (%s, %s) "
                "ON CONFLICT (routine) DO NOTHING",
                (routine, secrets.token_bytes(32)),
            )
            row = conn.execute(
                "SELECT pseudonym_key FROM routines WHERE routine = %s", (routine,)
            ).fetchone()
        assert row is not None
        self._key = bytes(row[0])

    @property
    def location(self) -> str:
        """The database (no password) and the routine."""
        return f"{self._database.location} (routine {self.routine})"

    def close(self) -> None:
        """Nothing to release: the pool is the database's (see :meth:`Database.close`)."""

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def writing(self, seen: Seen) -> Iterator[None]:
        """Hold the routine's row lock until the block ends and commit what it wrote at
        once, with the routine's ``version`` bumped; ``seen`` then counts this write. The
        caller reads what others wrote (:meth:`catch_up`) inside the block, after the lock."""
        if getattr(self._local, "tx", None) is not None:  # nested: the outer block commits
            yield
            return
        row = None
        with self._database.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT 1 FROM routines WHERE routine = %s FOR UPDATE", (self.routine,))
            tx = _Write(conn)
            self._local.tx = tx
            try:
                yield
                if tx.wrote:
                    row = conn.execute(
                        "UPDATE routines SET version = version + 1, epoch = epoch + %s "
                        "WHERE routine = %s RETURNING version, epoch",
                        (int(tx.erased), self.routine),
                    ).fetchone()
            finally:
                self._local.tx = None
        if tx.wrote and row is not None:  # committed
            seen.version, seen.epoch = int(row[0]), int(row[1])
            seen.events = max(seen.events, tx.events)
            seen.changes = max(seen.changes, tx.changes)

    @contextmanager
    def _tx(self) -> Iterator[_Write]:
        """A write: inside the thread's :meth:`writing` block (as a savepoint, so a refused
        write leaves nothing), or in a transaction of its own."""
        tx: _Write | None = getattr(self._local, "tx", None)
        if tx is None:
            with self.writing(Seen()), self._tx() as own:
                yield own
            return
        with tx.conn.transaction():
            yield tx
            tx.wrote = True

    @contextmanager
    def _reading(self) -> Iterator[psycopg.Connection[Any]]:
        """The thread's write transaction (to read what it wrote), or a pooled connection."""
        tx: _Write | None = getattr(self._local, "tx", None)
        if tx is not None:
            yield tx.conn
            return
        with self._database.pool.connection() as conn:
            yield conn

    def catch_up(self, seen: Seen) -> CatchUp:
        """What was written since ``seen``, read in one snapshot, with ``seen`` moved past
        it; everything after an erasure (or the first time)."""
        with self._reading() as conn:
            own = getattr(self._local, "tx", None) is not None
            if not own and seen.version >= 0:  # one query when nothing changed
                head = conn.execute(
                    "SELECT version FROM routines WHERE routine = %s", (self.routine,)
                ).fetchone()
                if head is not None and int(head[0]) == seen.version:
                    return CatchUp()
            with conn.transaction():
                if not own:
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                head = conn.execute(
                    "SELECT version, epoch FROM routines WHERE routine = %s", (self.routine,)
                ).fetchone()
                assert head is not None
                version, epoch = int(head[0]), int(head[1])
                if version == seen.version:
                    return CatchUp()
                reload = seen.version < 0 or epoch != seen.epoch
                after_events = 0 if reload else seen.events
                rows = conn.execute(
                    f"SELECT seq, {_EVENT_COLUMNS} FROM events WHERE routine = %s AND seq > %s "
                    "ORDER BY seq",
                    (self.routine, after_events),
                ).fetchall()
                if reload:
                    changes = list(self._last_reported(conn))
                    top = conn.execute(
                        "SELECT coalesce(max(seq), 0) FROM changes WHERE routine = %s",
                        (self.routine,),
                    ).fetchone()
                    last_change = int(top[0]) if top is not None else 0
                else:
                    changes = self._changes(conn, seen.changes, None, None)
                    last_change = changes[-1].seq if changes else seen.changes
        seen.version, seen.epoch = version, epoch
        seen.events = int(rows[-1][0]) if rows else after_events
        seen.changes = last_change
        return CatchUp(reload=reload, events=[event_of_row(r[1:]) for r in rows], changes=changes)

    # ------------------------------------------------------------------ events

    def append(self, events: Sequence[Event], *, client: str | None = None) -> list[bool]:
        """Store events all or nothing; for each, True when new and False for a repeat.

        Raises:
            EventConflictError: for an id stored (or given twice here) with other content.
        """
        fresh: list[bool] = []
        conflicts = []
        with self._tx() as tx:
            for event in events:
                key = content_key(event)
                row = tx.conn.execute(
                    "INSERT INTO events (routine, id, case_id, type, at, data, content, client) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (routine, id) DO NOTHING RETURNING seq",
                    (
                        self.routine,
                        event.id,
                        event.case,
                        event.type,
                        format_rfc3339(event.at),
                        json.dumps(dict(event.data), ensure_ascii=False),
                        key,
                        client,
                    ),
                ).fetchone()
                if row is not None:
                    tx.events = max(tx.events, int(row[0]))
                    fresh.append(True)
                    continue
                known = tx.conn.execute(
                    "SELECT content FROM events WHERE routine = %s AND id = %s",
                    (self.routine, event.id),
                ).fetchone()
                if known is not None and known[0] == key:
                    fresh.append(False)
                else:
                    conflicts.append(conflict_of(event))
            if conflicts:  # the savepoint is rolled back: nothing of this call is kept
                raise EventConflictError(
                    f"{len(conflicts)} event id(s) already used by other events", conflicts
                )
        return fresh

    def events(self, case: str | None = None) -> Iterator[Event]:
        """Every stored event (or one case's), in the order they were stored."""
        query = f"SELECT {_EVENT_COLUMNS} FROM events WHERE routine = %s"
        args: tuple[Any, ...] = (self.routine,)
        if case is not None:
            query += " AND case_id = %s"
            args += (case,)
        with self._reading() as conn:
            rows = conn.execute(query + " ORDER BY seq", args).fetchall()
        return (event_of_row(r) for r in rows)

    def __len__(self) -> int:
        with self._reading() as conn:
            row = conn.execute(
                "SELECT count(*) FROM events WHERE routine = %s", (self.routine,)
            ).fetchone()
        return int(row[0]) if row is not None else 0

    def check(self) -> None:
        """Read the database once; raises ``psycopg.Error`` when it cannot be read."""
        with self._reading() as conn:
            conn.execute("SELECT 1 FROM routines WHERE routine = %s", (self.routine,))

    def pseudonym(self, case: str) -> str:
        """The case's keyed pseudonym, as its tombstone names it."""
        return "p-" + hmac.new(self._key, case.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def erase(self, case: str, at: datetime) -> int:
        """Remove every event and change of ``case`` and leave its tombstone; how many
        events were removed. Other replicas read the routine again."""
        with self._tx() as tx:
            tx.conn.execute("SET LOCAL samverkan.erasing = 'on'")
            count = tx.conn.execute(
                "DELETE FROM events WHERE routine = %s AND case_id = %s", (self.routine, case)
            ).rowcount
            tx.conn.execute("SET LOCAL samverkan.erasing = 'off'")
            tx.conn.execute(
                "DELETE FROM changes WHERE routine = %s AND case_id = %s", (self.routine, case)
            )
            tx.conn.execute(
                "INSERT INTO erased (routine, case_key, erased_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (routine, case_key) DO UPDATE SET erased_at = excluded.erased_at",
                (self.routine, self.pseudonym(case), format_rfc3339(at)),
            )
            tx.erased = True
        return int(count)

    def erased_at(self, case: str) -> str | None:
        """When ``case`` was erased (RFC 3339), or None."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT erased_at FROM erased WHERE routine = %s AND case_key = %s",
                (self.routine, self.pseudonym(case)),
            ).fetchone()
        return str(row[0]) if row is not None else None

    def reopen(self, case: str) -> bool:
        """Remove ``case``'s tombstone; True when it had one."""
        with self._reading() as conn:
            cur = conn.execute(
                "DELETE FROM erased WHERE routine = %s AND case_key = %s",
                (self.routine, self.pseudonym(case)),
            )
        return cur.rowcount > 0

    # ------------------------------------------------------------------ the change log

    def log_changes(self, rows: Iterable[ChangeRow]) -> list[ChangeRow]:
        """Log ``rows`` in the current write; the rows with their sequence numbers."""
        out: list[ChangeRow] = []
        with self._tx() as tx:
            for row in rows:
                got = tx.conn.execute(
                    "INSERT INTO changes (routine, case_id, at, obligation, rule, before, "
                    "after, cause, named, deadline, record) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING seq",
                    (self.routine, *change_values(row)),
                ).fetchone()
                assert got is not None
                out.append(replace(row, seq=int(got[0])))
                tx.changes = max(tx.changes, int(got[0]))
        return out

    def _changes(
        self, conn: psycopg.Connection[Any], after: int, limit: int | None, case: str | None
    ) -> list[ChangeRow]:
        query = f"SELECT {_COLUMNS} FROM changes WHERE routine = %s AND seq > %s"
        args: tuple[Any, ...] = (self.routine, after)
        if case is not None:
            query += " AND case_id = %s"
            args += (case,)
        query += " ORDER BY seq"
        if limit is not None:
            query += " LIMIT %s"
            args += (limit,)
        return [change_of_row(r) for r in conn.execute(query.encode("utf-8"), args)]

    def changes_after(self, after: int, limit: int, case: str | None = None) -> list[ChangeRow]:
        """Up to ``limit`` changes numbered above ``after`` (of one case, or all), in order."""
        with self._reading() as conn:
            return self._changes(conn, after, limit, case)

    def _last_reported(self, conn: psycopg.Connection[Any]) -> list[ChangeRow]:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM (SELECT DISTINCT ON (case_id, obligation) {_COLUMNS} "
            "FROM changes WHERE routine = %s ORDER BY case_id, obligation, seq DESC) latest "
            "WHERE after IS NOT NULL ORDER BY seq",
            (self.routine,),
        ).fetchall()
        return [change_of_row(r) for r in rows]

    def last_reported(self) -> Iterator[ChangeRow]:
        """The latest row of each obligation that had not ended."""
        with self._reading() as conn:
            return iter(self._last_reported(conn))

    def forget_case(self, case: str) -> None:
        """Remove a case's changes (:meth:`erase` does it with the events)."""
        with self._tx() as tx:
            tx.conn.execute(
                "DELETE FROM changes WHERE routine = %s AND case_id = %s", (self.routine, case)
            )
            tx.erased = True

    def last_at(self) -> str | None:
        """When the latest logged change was judged (RFC 3339), or None."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT at FROM changes WHERE routine = %s ORDER BY seq DESC LIMIT 1",
                (self.routine,),
            ).fetchone()
        return str(row[0]) if row is not None else None

    def last_seq(self) -> int:
        """The highest sequence number logged (0 when none)."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT coalesce(max(seq), 0) FROM changes WHERE routine = %s", (self.routine,)
            ).fetchone()
        return int(row[0]) if row is not None else 0

    def version_digests(self) -> dict[tuple[str, str], str]:
        """The digest kept of each version of this routine that judged its events."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT version, digest FROM routine_versions WHERE routine = %s",
                (self.routine,),
            ).fetchall()
        return {(self.routine, str(v)): str(d) for v, d in rows}

    def keep_version_digests(self, digests: dict[tuple[str, str], str], at: datetime) -> None:
        """Keep the digest of each version not kept yet (the first one stays, whichever
        replica kept it)."""
        with self._database.pool.connection() as conn, conn.transaction():
            for (routine, version), digest in sorted(digests.items()):
                conn.execute(
                    "INSERT INTO routine_versions (routine, version, digest, first_at) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (routine, version) DO NOTHING",
                    (routine, version, digest, format_rfc3339(at.astimezone(UTC))),
                )

    def answer(self, key: str) -> tuple[str, bytes] | None:
        """The fingerprint and body kept for an idempotency key, or None."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT fingerprint, body FROM answers WHERE routine = %s AND key = %s",
                (self.routine, key),
            ).fetchone()
        return (str(row[0]), bytes(row[1])) if row is not None else None

    def keep_answer(self, key: str, fingerprint: str, body: bytes, at: datetime) -> None:
        """Keep an answer under ``key`` (the first one stays); drop answers older than
        :data:`~samverkan_rules.live.changelog.ANSWER_TTL`."""
        with self._database.pool.connection() as conn, conn.transaction():
            conn.execute(
                "DELETE FROM answers WHERE routine = %s AND at < %s",
                (self.routine, format_rfc3339((at - ANSWER_TTL).astimezone(UTC))),
            )
            conn.execute(
                "INSERT INTO answers (routine, key, fingerprint, body, at) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (routine, key) DO NOTHING",
                (self.routine, key, fingerprint, body, format_rfc3339(at.astimezone(UTC))),
            )


class Lease:
    """Which replica does the background work: the one holding a session-level advisory
    lock on a connection of its own. PostgreSQL frees the lock when that connection ends
    (the process died, the network or the server went away), and the next replica to ask
    takes it.

    Args:
        url: The database.
        name: What the lease is for (replicas asking under one name share it).
    """

    def __init__(self, url: str, name: str = "samverkan background work") -> None:
        self._url = url
        digest = hashlib.sha256(name.encode("utf-8")).digest()
        self._key = int.from_bytes(digest[:8], "big", signed=True)
        self._conn: psycopg.Connection[Any] | None = None
        self._holding = False
        self._lock = threading.Lock()

    def held(self) -> bool:
        """Whether this process holds the lease now, taking it when it is free: a check of
        the connection when held, one query when not."""
        with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._holding = False
                    self._conn = psycopg.connect(self._url, autocommit=True, connect_timeout=5)
                if self._holding:
                    self._conn.execute("SELECT 1")
                    return True
                row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
                self._holding = bool(row and row[0])
                return self._holding
            except psycopg.Error:
                self._drop()
                return False

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._holding = False

    def close(self) -> None:
        """Give the lease up (another replica takes it at its next look)."""
        with self._lock:
            self._drop()
