"""A durable, append-only event store on SQLite (standard library ``sqlite3``).

Every event a live session accepts is written here before the session answers, in one
transaction per post, so an acknowledged event survives the process being killed. The file
runs in WAL mode: readers never block the writer, and a crash leaves either the whole
transaction or none of it. The file (and so its ``-wal`` and ``-shm``) is created with mode
0600: it holds case data.

The store is append-only: triggers refuse ``UPDATE`` and ``DELETE`` on the events table, so
a restarted session replays exactly what it had. The one exception is :meth:`EventStore.erase`,
which removes a whole case (the right to erasure) in one transaction and leaves a tombstone:
the case's keyed pseudonym and when it was erased. Deleted content is overwritten
(``secure_delete``) and the log is checkpointed and truncated, so the case's text is left in
neither the file nor its ``-wal``. The pseudonym's key is kept in the file, so that a
restarted service still refuses the erased case; it is not the log's key.

Beside the events, the file holds the session's change log (every change it reported, with
a sequence number, see :mod:`samverkan_rules.live.changelog`) and the answers kept for
requests with an idempotency key (for 24 hours). An erasure removes the case's changes too.

Posting an event id again with the same content is a no-op; with other content it is a
:class:`EventConflictError`, because keeping either version would make the result depend on
which arrived first.

One process writes a store: a second process that opens it is refused with
:class:`StoreBusyError` (an exclusive ``flock`` on ``<file>.lock``, which holds the pid of the
process that has it), because two sessions on one file each hold their own copy of the
events and would silently diverge. Several replicas share a PostgreSQL store instead
(:mod:`samverkan_rules.live.postgres`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.errors import EventError, SamverkanError
from samverkan_rules.events.model import Event
from samverkan_rules.live.changelog import ANSWER_TTL, ChangeRow
from samverkan_rules.live.stores import CatchUp, Seen
from samverkan_rules.time.instants import format_rfc3339, parse_rfc3339

if sys.platform != "win32":
    import fcntl

Synchronous = Literal["full", "normal"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    case_id TEXT NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL,
    content TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_case ON events (case_id, seq);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event store is append-only'); END;
CREATE TABLE IF NOT EXISTS pseudonym_key (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    key BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS erased (case_key TEXT PRIMARY KEY, erased_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    at TEXT NOT NULL,
    obligation TEXT NOT NULL,
    rule TEXT NOT NULL,
    before TEXT,
    after TEXT,
    cause TEXT,
    named TEXT NOT NULL,
    deadline TEXT,
    record TEXT
);
CREATE INDEX IF NOT EXISTS changes_case ON changes (case_id, obligation, seq);
CREATE TABLE IF NOT EXISTS routine_versions (
    routine TEXT NOT NULL,
    version TEXT NOT NULL,
    digest TEXT NOT NULL,
    first_at TEXT NOT NULL,
    PRIMARY KEY (routine, version)
);
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    body BLOB NOT NULL,
    at TEXT NOT NULL
);
"""

_NO_DELETE = """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event store is append-only'); END"""


class EventConflictError(EventError):
    """An event id that is already stored arrived with other content."""


class StoreBusyError(SamverkanError):
    """The store is open in another process (SQLite takes one writer process)."""


def content_key(event: Event) -> str:
    """What makes two events under one id the same event: case, type, instant and data.

    The instant is compared in UTC, so the same moment written with another offset is the
    same event (as :class:`~samverkan_rules.events.model.Event` equality has it).

    Examples:
        >>> from samverkan_rules.events.model import event_from_mapping
        >>> a = event_from_mapping({"id": "e", "case": "c", "type": "t",
        ...                         "at": "2026-12-01T10:00:00+01:00"})
        >>> b = event_from_mapping({"id": "e", "case": "c", "type": "t",
        ...                         "at": "2026-12-01T09:00:00Z"})
        >>> content_key(a) == content_key(b)
        True
    """
    return json.dumps(
        [event.case, event.type, event.at.astimezone(UTC).isoformat(), event.data],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


class EventStore:
    """An append-only SQLite file of events, safe to share between threads.

    Args:
        path: The database file (created when missing).
        synchronous: ``full`` (default) syncs the log on every commit, so an acknowledged
            event survives a power cut too; ``normal`` survives a killed process but may
            lose the last commits on a power cut, and is faster.

    Examples:
        >>> import tempfile, os
        >>> from samverkan_rules.events.model import event_from_mapping
        >>> folder = tempfile.mkdtemp()
        >>> store = EventStore(os.path.join(folder, "events.db"))
        >>> e = event_from_mapping({"id": "e1", "case": "c1", "type": "hemvard.enrolled",
        ...                         "at": "2026-12-01T09:00:00+01:00"})
        >>> store.append([e]), store.append([e])
        ([True], [False])
        >>> [x.id for x in store.events()]
        ['e1']
        >>> store.close()
    """

    def __init__(self, path: str | os.PathLike[str], *, synchronous: Synchronous = "full") -> None:
        if synchronous not in ("full", "normal"):
            raise ValueError(f"synchronous must be 'full' or 'normal', got {synchronous!r}")
        self.path = Path(path)
        self._holder = _hold(self.path)
        _private(self.path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30.0
        )
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            self.close()
            raise OSError(f"{self.path}: cannot switch SQLite to WAL mode (got {mode})")
        self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        # An erased case's text must not stay behind in freed pages.
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(events)")}
        if "client" not in columns:  # a store from before clients were recorded
            self._db.execute("ALTER TABLE events ADD COLUMN client TEXT")
        self._db.execute(
            "INSERT OR IGNORE INTO pseudonym_key (one, key) VALUES (1, ?)",
            (secrets.token_bytes(32),),
        )
        self._key: bytes = self._db.execute("SELECT key FROM pseudonym_key").fetchone()[0]
        # An erasure cut short between its commit and its checkpoint left old pages in the
        # log: write them back and empty it before anything else.
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    @property
    def location(self) -> str:
        """The store's file."""
        return str(self.path)

    def close(self) -> None:
        """Close the file and let another process open it; the store cannot be used
        afterwards."""
        with self._lock:
            self._db.close()
            if self._holder is not None:
                os.close(self._holder)  # releases the flock
                self._holder = None

    def writing(self, seen: Seen) -> AbstractContextManager[None]:
        """Nothing to hold: one process writes the file, under its session's lock."""
        return nullcontext()

    def catch_up(self, seen: Seen) -> CatchUp | None:
        """None: no other process writes the file (see :class:`StoreBusyError`)."""
        return None

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, events: Sequence[Event], *, client: str | None = None) -> list[bool]:
        """Store events in one transaction: all of them, or none when one conflicts.
        ``client`` names who posted them (the service's client), kept with each.

        Returns:
            For each event, True when it was new and False when the same event was already
            stored (a repeat, which is a no-op).

        Raises:
            EventConflictError: when an id is stored (or given twice here) with other
                content; nothing of this call is stored then.
        """
        keys = [content_key(e) for e in events]
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                fresh: list[bool] = []
                seen: dict[str, str] = {}
                conflicts: list[Diagnostic] = []
                for event, key in zip(events, keys, strict=True):
                    known = seen.get(event.id)
                    if known is None:
                        row = cur.execute(
                            "SELECT content FROM events WHERE id = ?", (event.id,)
                        ).fetchone()
                        known = row[0] if row is not None else None
                    if known is None:
                        cur.execute(
                            "INSERT INTO events (id, case_id, type, at, data, content, client) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (
                                event.id,
                                event.case,
                                event.type,
                                format_rfc3339(event.at),
                                json.dumps(dict(event.data), ensure_ascii=False),
                                key,
                                client,
                            ),
                        )
                        seen[event.id] = key
                        fresh.append(True)
                    elif known == key:
                        fresh.append(False)
                    else:
                        conflicts.append(conflict_of(event))
                if conflicts:
                    cur.execute("ROLLBACK")
                    raise EventConflictError(
                        f"{len(conflicts)} event id(s) already used by other events", conflicts
                    )
                cur.execute("COMMIT")
                return fresh
            except BaseException:
                if self._db.in_transaction:
                    cur.execute("ROLLBACK")
                raise

    def pseudonym(self, case: str) -> str:
        """The case's keyed pseudonym, as its tombstone names it."""
        return "p-" + hmac.new(self._key, case.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def erase(self, case: str, at: datetime) -> int:
        """Remove every event of ``case`` and leave its tombstone (erased at ``at``).

        Returns:
            How many events were removed.
        """
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                # The append-only trigger is lifted for this transaction only.
                cur.execute("DROP TRIGGER events_no_delete")
                count = cur.execute("DELETE FROM events WHERE case_id = ?", (case,)).rowcount
                cur.execute(_NO_DELETE)
                cur.execute("DELETE FROM changes WHERE case_id = ?", (case,))
                cur.execute(
                    "INSERT OR REPLACE INTO erased (case_key, erased_at) VALUES (?, ?)",
                    (self.pseudonym(case), format_rfc3339(at)),
                )
                cur.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    cur.execute("ROLLBACK")
                raise
            # The log still holds the pages as they were before: write them back and empty it.
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            return int(count)

    def erased_at(self, case: str) -> str | None:
        """When ``case`` was erased (RFC 3339), or None when it has no tombstone."""
        with self._lock:
            row = self._db.execute(
                "SELECT erased_at FROM erased WHERE case_key = ?", (self.pseudonym(case),)
            ).fetchone()
        return str(row[0]) if row is not None else None

    def reopen(self, case: str) -> bool:
        """Remove ``case``'s tombstone, so events of it are taken again; True when it had one."""
        with self._lock:
            cur = self._db.execute("DELETE FROM erased WHERE case_key = ?", (self.pseudonym(case),))
            return cur.rowcount > 0

    def events(self, case: str | None = None) -> Iterator[Event]:
        """Every stored event (or one case's), in the order they were stored."""
        with self._lock:
            if case is None:
                rows = self._db.execute(
                    "SELECT id, case_id, type, at, data FROM events ORDER BY seq"
                ).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT id, case_id, type, at, data FROM events WHERE case_id = ? ORDER BY seq",
                    (case,),
                ).fetchall()
        for row in rows:
            yield event_of_row(row)

    def check(self) -> None:
        """Read the file once; raises ``sqlite3.Error`` when it cannot be read."""
        with self._lock:
            self._db.execute("SELECT count(*) FROM pseudonym_key").fetchone()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM events").fetchone()[0])

    # ------------------------------------------------------------------ the change log

    def log_changes(self, rows: Iterable[ChangeRow]) -> list[ChangeRow]:
        """Log ``rows`` in one transaction; the rows with their sequence numbers."""
        out: list[ChangeRow] = []
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                for row in rows:
                    cur.execute(
                        "INSERT INTO changes (case_id, at, obligation, rule, before, after, "
                        "cause, named, deadline, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        change_values(row),
                    )
                    out.append(replace(row, seq=int(cur.lastrowid or 0)))
                cur.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    cur.execute("ROLLBACK")
                raise
        return out

    def changes_after(self, after: int, limit: int, case: str | None = None) -> list[ChangeRow]:
        """Up to ``limit`` changes numbered above ``after`` (of one case, or all), in order."""
        query = f"SELECT {CHANGE_COLUMNS} FROM changes WHERE seq > ?"
        args: tuple[Any, ...] = (after,)
        if case is not None:
            query += " AND case_id = ?"
            args += (case,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY seq LIMIT ?", (*args, limit)).fetchall()
        return [change_of_row(r) for r in rows]

    def last_reported(self) -> Iterator[ChangeRow]:
        """The latest row of each obligation that had not ended."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {CHANGE_COLUMNS} FROM changes WHERE seq IN "
                "(SELECT max(seq) FROM changes GROUP BY case_id, obligation) "
                "AND after IS NOT NULL ORDER BY seq"
            ).fetchall()
        return (change_of_row(r) for r in rows)

    def forget_case(self, case: str) -> None:
        """Remove a case's changes (:meth:`erase` does it with the events)."""
        with self._lock:
            self._db.execute("DELETE FROM changes WHERE case_id = ?", (case,))

    def last_at(self) -> str | None:
        """When the latest logged change was judged (RFC 3339), or None."""
        with self._lock:
            row = self._db.execute("SELECT at FROM changes ORDER BY seq DESC LIMIT 1").fetchone()
        return str(row[0]) if row is not None else None

    def last_seq(self) -> int:
        """The highest sequence number logged (0 when none)."""
        with self._lock:
            row = self._db.execute("SELECT max(seq) FROM changes").fetchone()
        return int(row[0] or 0)

    def version_digests(self) -> dict[tuple[str, str], str]:
        """The digest kept of each routine version (routine id, version) that judged this
        store's events (see :meth:`keep_version_digests`)."""
        with self._lock:
            rows = self._db.execute("SELECT routine, version, digest FROM routine_versions")
            return {(str(r), str(v)): str(d) for r, v, d in rows}

    def keep_version_digests(self, digests: dict[tuple[str, str], str], at: datetime) -> None:
        """Keep the digest of each routine version not yet kept (a kept one stays as it is:
        a version's content is fixed once it has judged events)."""
        with self._lock:
            self._db.executemany(
                "INSERT OR IGNORE INTO routine_versions (routine, version, digest, first_at) "
                "VALUES (?, ?, ?, ?)",
                [(r, v, d, format_rfc3339(at.astimezone(UTC))) for (r, v), d in digests.items()],
            )

    def answer(self, key: str) -> tuple[str, bytes] | None:
        """The fingerprint and body kept for an idempotency key, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT fingerprint, body FROM answers WHERE key = ?", (key,)
            ).fetchone()
        return (str(row[0]), bytes(row[1])) if row is not None else None

    def keep_answer(self, key: str, fingerprint: str, body: bytes, at: datetime) -> None:
        """Keep an answer under ``key`` (the first one stays); drop answers older than
        :data:`~samverkan_rules.live.changelog.ANSWER_TTL`."""
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.execute(
                    "DELETE FROM answers WHERE at < ?",
                    (format_rfc3339((at - ANSWER_TTL).astimezone(UTC)),),
                )
                cur.execute(
                    "INSERT OR IGNORE INTO answers (key, fingerprint, body, at) "
                    "VALUES (?, ?, ?, ?)",
                    (key, fingerprint, body, format_rfc3339(at.astimezone(UTC))),
                )
                cur.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    cur.execute("ROLLBACK")
                raise


def connect_private(path: Path | None) -> sqlite3.Connection:
    """An SQLite connection, shared between threads, in autocommit mode, to a file made
    private (0600) the way a store is (see :func:`_private`), or to memory for None."""
    if path is not None:
        _private(path)
    return sqlite3.connect(
        str(path) if path is not None else ":memory:",
        check_same_thread=False,
        isolation_level=None,
    )


def _hold(path: Path) -> int | None:
    """Take the store's lock file (``<file>.lock``, 0600) for this process: an exclusive
    ``flock`` the kernel releases when the process ends, however it ends; the file holds the
    pid, to name the holder. None for memory, and on Windows (no ``flock``).

    Raises:
        StoreBusyError: when another process holds it.
    """
    if str(path) == ":memory:" or sys.platform == "win32":
        return None
    lock = path.with_name(path.name + ".lock")
    descriptor = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(descriptor, 20, 0).decode("ascii", "replace").strip() or "?"
        os.close(descriptor)
        raise StoreBusyError(
            f"{path}: the store is open in another process (pid {holder}); SQLite takes one "
            "writer process: stop that one first, or serve several replicas from one "
            "PostgreSQL store (--store postgresql://...)"
        ) from None
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, str(os.getpid()).encode("ascii"), 0)
    return descriptor


def _private(path: Path) -> None:
    """Create the store file readable by its owner only (0600) before SQLite opens it:
    SQLite gives the ``-wal`` and ``-shm`` files the main file's mode, so they are private
    too. An existing file keeps its mode (the operator chose it)."""
    if str(path) == ":memory:" or path.exists():
        return
    # Created meanwhile by another process: theirs to keep.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


CHANGE_COLUMNS = "seq, case_id, at, obligation, rule, before, after, cause, named, deadline, record"


def change_of_row(row: tuple[Any, ...]) -> ChangeRow:
    """A change-log row as read (the columns of ``CHANGE_COLUMNS``)."""
    seq, case, at, obligation, rule, before, after, cause, named, deadline, record = row
    return ChangeRow(
        seq=int(seq),
        case=case,
        at=at,
        obligation=obligation,
        rule=rule,
        before=before,
        after=after,
        cause=cause,
        named=tuple(json.loads(named)),
        deadline=deadline,
        record=record,
    )


def change_values(row: ChangeRow) -> tuple[Any, ...]:
    """A change as written: the columns of ``CHANGE_COLUMNS`` after ``seq`` (the store
    numbers it), the inverse of :func:`change_of_row`."""
    return (
        row.case,
        row.at,
        row.obligation,
        row.rule,
        row.before,
        row.after,
        row.cause,
        json.dumps(list(row.named), ensure_ascii=False),
        row.deadline,
        row.record,
    )


def event_of_row(row: tuple[Any, ...]) -> Event:
    """An event as read: id, case, type, instant and data (JSON text)."""
    ident, case, etype, at, data = row
    return Event(id=ident, case=case, type=etype, at=parse_rfc3339(at), data=json.loads(data))


def conflict_of(event: Event) -> Diagnostic:
    """The problem of an event whose id is stored with other content."""
    return Diagnostic(
        "error",
        "event.conflict",
        f"event id {event.id!r} is already stored with other content",
        path="id",
        hint="give every event its own id; post the same event again only unchanged",
    )
