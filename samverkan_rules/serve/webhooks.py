"""Webhooks: each change of the change log delivered to the systems that subscribe to it.

A subscriptions file (``samverkan serve --webhooks FILE``, YAML) lists who gets what::

    subscriptions:
      - name: verksamhetssystem
        url: https://vs.example.se/samverkan/changes
        secret_file: /etc/samverkan/vs.secret     # private (0600), 16+ characters
        routines: [orebro-dagverksamhet-hemvard]  # default: every routine served
        kinds: [arose, changed]                   # default: every kind
        statuses: [overdue]                       # the status after the change; default: all
        responsible: [hemvard.driftsplanerare]    # default: every role

Each change is POSTed as JSON, ``{"id", "routine", "change"}``, one change a request, with
``Samverkan-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>``
(the scheme Stripe and GitHub use: :func:`verify` is the receiver's side) and
``Samverkan-Delivery: <id>``, the same on every retry, so a receiver drops repeats.

Delivery is at least once and in the log's order: the change log is the outbox (a change is
committed with the post or tick that made it), and each subscription keeps, per routine, the
sequence number it has delivered through, in ``webhooks.db`` beside the routines' stores. A
failed delivery (no connection, a timeout, any answer but 2xx) is retried with exponential
backoff and jitter, up to ``backoff_max_seconds`` (300) between tries, and later changes wait
for it, so a receiver that was down gets everything, in order, when it returns. A change
that still fails after ``give_up_after_hours`` (24) goes to the subscription's dead letters,
which an admin reads (``GET /webhooks/{name}/dead-letters``) and replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import orjson

from samverkan_rules._json import dumps_bytes
from samverkan_rules._version import version
from samverkan_rules.errors import SamverkanError
from samverkan_rules.live.changelog import ChangeRow
from samverkan_rules.live.routed import RoutineSessions
from samverkan_rules.live.store import connect_private
from samverkan_rules.private_files import PrivateFileError, read_private
from samverkan_rules.serve.config_files import ConfigFileError, read_list
from samverkan_rules.serve.guard import log
from samverkan_rules.serve.scheduler import SHARED_LOOK, Scheduler

SIGNATURE_HEADER = "Samverkan-Signature"
DELIVERY_HEADER = "Samverkan-Delivery"
TIMEOUT = 10.0
"""Seconds a receiver has to answer one delivery."""

_KINDS = frozenset({"arose", "changed", "ended"})
_STATUSES = frozenset(
    {"upcoming", "due", "fulfilled", "fulfilled_late", "overdue", "cancelled", "blocked"}
)


class WebhookConfigError(SamverkanError):
    """A subscriptions file that cannot be used (its message names the file and the key)."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """Who gets which changes, where, signed with what."""

    name: str
    url: str
    secret: bytes
    routines: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    statuses: frozenset[str] | None = None
    responsible: frozenset[str] | None = None
    backoff_max: float = 300.0
    give_up_after: timedelta = timedelta(hours=24)

    def wants(self, routine: str, row: ChangeRow) -> bool:
        """Whether the change passes this subscription's filters. A change that ended an
        obligation carries no record, so ``responsible`` does not filter it out."""
        if self.routines is not None and routine not in self.routines:
            return False
        if self.kinds is not None and row.kind not in self.kinds:
            return False
        if self.statuses is not None and (row.after or row.before) not in self.statuses:
            return False
        if self.responsible is not None and row.record is not None:
            responsible = _responsible(row.record)
            return responsible in self.responsible
        return True


def _responsible(record: str) -> str | None:
    value = orjson.loads(record).get("responsible")
    return value if isinstance(value, str) else None


# ------------------------------------------------------------------------- the file


def load_subscriptions(
    path: str | os.PathLike[str], routine_ids: Iterable[str]
) -> list[Subscription]:
    """The subscriptions of a YAML file.

    Raises:
        WebhookConfigError: naming the file and the key for every problem found.
    """
    file = Path(path)
    try:
        items = read_list(file, "subscriptions")
    except ConfigFileError as exc:
        raise WebhookConfigError(str(exc)) from None
    known = frozenset(routine_ids)
    out: list[Subscription] = []
    problems: list[str] = []
    for index, item in enumerate(items):
        where = f"{file}: subscriptions[{index}]"
        try:
            out.append(_subscription(item, file.parent, known, where))
        except WebhookConfigError as exc:
            problems.append(str(exc))
    names = [s.name for s in out]
    problems.extend(
        f"{file}: the name {n!r} is given twice" for n in sorted(set(names)) if names.count(n) > 1
    )
    if problems:
        raise WebhookConfigError("\n".join(problems))
    return out


_KEYS = frozenset(
    {
        "name",
        "url",
        "secret_file",
        "routines",
        "kinds",
        "statuses",
        "responsible",
        "backoff_max_seconds",
        "give_up_after_hours",
    }
)


def _subscription(item: Any, base: Path, routines: frozenset[str], where: str) -> Subscription:
    if not isinstance(item, dict):
        raise WebhookConfigError(f"{where}: expected a mapping")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise WebhookConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}"
        )
    name = item.get("name")
    if (
        not isinstance(name, str)
        or not name
        or not name.replace("-", "").replace("_", "").isalnum()
    ):
        raise WebhookConfigError(f"{where}.name: give a name of letters, digits, - and _")
    url = item.get("url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise WebhookConfigError(f"{where}.url: give an http(s) URL")
    secret = _secret(item.get("secret_file"), base, f"{where}.secret_file")

    def names(key: str, allowed: frozenset[str] | None) -> frozenset[str] | None:
        value = item.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or not value:
            raise WebhookConfigError(f"{where}.{key}: give a list of names")
        if allowed is not None and not set(value) <= allowed:
            bad = ", ".join(sorted(set(value) - allowed))
            raise WebhookConfigError(
                f"{where}.{key}: unknown {bad}; known: {', '.join(sorted(allowed))}"
            )
        return frozenset(value)

    def number(key: str, default: float) -> float:
        value = item.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise WebhookConfigError(f"{where}.{key}: give a positive number")
        return float(value)

    return Subscription(
        name=name,
        url=url,
        secret=secret,
        routines=names("routines", routines),
        kinds=names("kinds", _KINDS),
        statuses=names("statuses", _STATUSES),
        responsible=names("responsible", None),
        backoff_max=number("backoff_max_seconds", 300.0),
        give_up_after=timedelta(hours=number("give_up_after_hours", 24.0)),
    )


def _secret(value: Any, base: Path, where: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise WebhookConfigError(f"{where}: give the file that holds the signing secret")
    path = base / value
    try:
        secret = read_private(path).decode("utf-8").strip()
    except PrivateFileError as exc:
        raise WebhookConfigError(f"{where}: {exc}") from None
    except UnicodeDecodeError:
        raise WebhookConfigError(f"{where}: {path}: not UTF-8 text") from None
    if len(secret) < 16:
        raise WebhookConfigError(f"{where}: the secret is shorter than 16 characters")
    return secret.encode("utf-8")


# ------------------------------------------------------------------------- signatures


def sign(secret: bytes, body: bytes, at: int) -> str:
    """The signature header's value for ``body`` sent at unix time ``at``."""
    mac = hmac.new(secret, str(at).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def verify(
    secret: bytes, header: str, body: bytes, *, now: float, tolerance: float = 300.0
) -> bool:
    """The receiver's check: the signature is the sender's and no older than ``tolerance``
    seconds (a replayed old request fails).

    Examples:
        >>> header = sign(b"0123456789abcdef", b'{"id": 1}', 1_800_000_000)
        >>> verify(b"0123456789abcdef", header, b'{"id": 1}', now=1_800_000_010)
        True
        >>> verify(b"0123456789abcdef", header, b'{"id": 2}', now=1_800_000_010)
        False
    """
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        at = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - at) > tolerance:
        return False
    expected = sign(secret, body, at).split(",v1=")[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# ------------------------------------------------------------------------- state


class WebhookState:
    """What each subscription delivered (per routine) and its dead letters, in an SQLite
    file (0600) or in memory."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._db = connect_private(path)
        self._db.executescript(
            """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS cursors (
                subscription TEXT NOT NULL, routine TEXT NOT NULL, after INTEGER NOT NULL,
                PRIMARY KEY (subscription, routine));
            CREATE TABLE IF NOT EXISTS dead_letters (
                subscription TEXT NOT NULL, routine TEXT NOT NULL, seq INTEGER NOT NULL,
                attempts INTEGER NOT NULL, error TEXT NOT NULL, at TEXT NOT NULL,
                PRIMARY KEY (subscription, routine, seq));
            """
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def cursor(self, subscription: str, routine: str) -> int | None:
        """The sequence number delivered through, or None before the first delivery."""
        with self._lock:
            row = self._db.execute(
                "SELECT after FROM cursors WHERE subscription = ? AND routine = ?",
                (subscription, routine),
            ).fetchone()
        return int(row[0]) if row is not None else None

    def advance(self, subscription: str, routine: str, seq: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO cursors (subscription, routine, after) VALUES (?, ?, ?) "
                "ON CONFLICT (subscription, routine) DO UPDATE SET after = excluded.after",
                (subscription, routine, seq),
            )

    def bury(self, subscription: str, routine: str, seq: int, attempts: int, error: str) -> None:
        """Set a change aside as a dead letter and move the cursor past it, in one step."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT OR REPLACE INTO dead_letters VALUES (?, ?, ?, ?, ?, ?)",
                (
                    subscription,
                    routine,
                    seq,
                    attempts,
                    error,
                    datetime.now().astimezone().isoformat(),
                ),
            )
            self._db.execute(
                "INSERT INTO cursors (subscription, routine, after) VALUES (?, ?, ?) "
                "ON CONFLICT (subscription, routine) DO UPDATE SET after = excluded.after",
                (subscription, routine, seq),
            )
            self._db.execute("COMMIT")

    def dead_letters(self, subscription: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT routine, seq, attempts, error, at FROM dead_letters "
                "WHERE subscription = ? ORDER BY routine, seq",
                (subscription,),
            ).fetchall()
        keys = ("routine", "seq", "attempts", "error", "at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def resurrect(self, subscription: str, routine: str, seq: int) -> bool:
        """Remove a dead letter (it was delivered by a replay); True when it was there."""
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM dead_letters WHERE subscription = ? AND routine = ? AND seq = ?",
                (subscription, routine, seq),
            )
            return cur.rowcount > 0


# ------------------------------------------------------------------------- delivery

Post = Callable[[str, bytes, dict[str, str]], None]


def http_post(url: str, body: bytes, headers: dict[str, str]) -> None:
    """POST ``body`` to ``url``; raises OSError for anything but a 2xx answer."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            answer.read(65536)
    except urllib.error.HTTPError as exc:
        raise OSError(f"the receiver answered {exc.code}") from None
    except urllib.error.URLError as exc:
        raise OSError(f"no connection: {exc.reason}") from None


def delivery(
    subscription: Subscription, routine: str, row: ChangeRow, at: int
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery, signed at unix time ``at``."""
    ident = f"{subscription.name}:{routine}:{row.seq}"
    body = dumps_bytes({"id": ident, "routine": routine, "change": row.to_json()}, indent=None)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"samverkan-rules/{version()}",
        SIGNATURE_HEADER: sign(subscription.secret, body, at),
        DELIVERY_HEADER: ident,
    }
    return body, headers


class Deliveries(Protocol):
    """Where what each subscription delivered is kept: :class:`WebhookState` (SQLite or
    memory) or, for replicas on PostgreSQL,
    :class:`~samverkan_rules.serve.shared.SharedDeliveries`."""

    def close(self) -> None: ...

    def cursor(self, subscription: str, routine: str) -> int | None: ...

    def advance(self, subscription: str, routine: str, seq: int) -> None: ...

    def bury(
        self, subscription: str, routine: str, seq: int, attempts: int, error: str
    ) -> None: ...

    def dead_letters(self, subscription: str) -> list[dict[str, Any]]: ...

    def resurrect(self, subscription: str, routine: str, seq: int) -> bool: ...


class Deliverer:
    """Delivers each routine's changes to each subscription, in order, until stopped."""

    def __init__(
        self,
        subscriptions: list[Subscription],
        sessions: RoutineSessions,
        scheduler: Scheduler,
        state: Deliveries,
        post: Post = http_post,
    ) -> None:
        self.subscriptions = {s.name: s for s in subscriptions}
        self.sessions = sessions
        self.scheduler = scheduler
        self.state = state
        self.post = post

    async def run(self) -> None:
        """One task per subscription and routine."""
        tasks = [
            self._follow(s, routine)
            for s in self.subscriptions.values()
            for routine in self.sessions.ids()
            if s.routines is None or routine in s.routines
        ]
        await asyncio.gather(*tasks)

    async def replay(self, name: str, routine: str, seq: int) -> None:
        """Deliver one dead letter again, once; it leaves the dead letters when it arrives.

        Raises:
            KeyError: for no such dead letter.
            OSError: when the receiver still fails.
        """
        subscription = self.subscriptions[name]
        if not any(
            d["routine"] == routine and d["seq"] == seq for d in self.state.dead_letters(name)
        ):
            raise KeyError(seq)
        rows = await asyncio.to_thread(self.sessions.session(routine).changes, seq - 1, limit=1)
        if not rows or rows[0].seq != seq:
            raise KeyError(seq)
        body, headers = delivery(subscription, routine, rows[0], int(time.time()))
        await asyncio.to_thread(self.post, subscription.url, body, headers)
        self.state.resurrect(name, routine, seq)

    async def _follow(self, subscription: Subscription, routine: str) -> None:
        """Deliver one routine's changes to one subscription, in order, for ever: on a
        shared store only while this replica holds the lease (from the cursor as it then
        stands), so no two replicas deliver the same change."""
        session = self.sessions.session(routine)
        after: int | None = None
        while True:
            if not await asyncio.to_thread(self.sessions.leader):
                after = None
                await asyncio.sleep(SHARED_LOOK)
                continue
            if after is None:
                after = await asyncio.to_thread(self._start, subscription.name, session, routine)
            grown = self.scheduler.listen(routine)
            try:
                rows = await asyncio.to_thread(session.changes, after, limit=100)
                for row in rows:
                    if subscription.wants(routine, row):
                        await self._deliver(subscription, routine, row)
                    else:
                        self.state.advance(subscription.name, routine, row.seq)
                    after = row.seq
            except Exception as exc:  # the store (SQLite or PostgreSQL) or the network
                # The deliveries of this subscription must not end: say so and try again.
                log.error("webhook %s: %s; trying again", subscription.name, type(exc).__name__)
                await asyncio.sleep(5.0)
                continue
            if not rows:
                look = SHARED_LOOK if self.sessions.shared else 15.0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(grown.wait(), look)

    def _start(self, name: str, session: Any, routine: str) -> int:
        """Where a subscription's deliveries of a routine go on from: its cursor; a new
        subscription starts with what happens from now on."""
        after = self.state.cursor(name, routine)
        if after is None:
            after = int(session.last_seq())
            self.state.advance(name, routine, after)
        return after

    async def _deliver(self, subscription: Subscription, routine: str, row: ChangeRow) -> None:
        """Deliver one change, retrying until it arrives or the subscription gives up."""
        first_failure: float | None = None
        attempts = 0
        while True:
            attempts += 1
            body, headers = delivery(subscription, routine, row, int(time.time()))
            try:
                await asyncio.to_thread(self.post, subscription.url, body, headers)
            except OSError as exc:
                now = time.monotonic()
                first_failure = first_failure if first_failure is not None else now
                error = str(exc)[:200]
                if now - first_failure >= subscription.give_up_after.total_seconds():
                    self.state.bury(subscription.name, routine, row.seq, attempts, error)
                    log.warning(
                        "webhook %s: change %d of %s set aside after %d attempts: %s",
                        subscription.name,
                        row.seq,
                        routine,
                        attempts,
                        error,
                    )
                    return
                delay = min(subscription.backoff_max, 0.5 * 2 ** min(attempts, 20))
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                continue
            self.state.advance(subscription.name, routine, row.seq)
            return
