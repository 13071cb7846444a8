"""Deadlines that announce themselves: the service's clock task and its change stream.

:class:`Scheduler` runs beside the routes. At start it judges every case of every routine
at the wall clock (so what passed while the service was down is reported now), then sleeps
until the earliest instant at which time alone changes a case (a window opening, a deadline
passing, an escalation beginning, a schedule's occurrence: see
:meth:`~samverkan_rules.live.session.Session.next_change`), wakes only the cases due then
(:meth:`~samverkan_rules.live.session.Session.wake`), and sleeps again. A post wakes it too,
since it may bring a nearer instant. What it finds goes to the same numbered change log as
what posts report, so ``GET .../changes`` and the stream show both.

:func:`change_stream` is the Server-Sent Events stream of a routine's change log: every
logged change as an event whose id is its sequence number, resumed after ``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from starlette.concurrency import run_in_threadpool

from samverkan_rules._json import dumps_bytes
from samverkan_rules.live.routed import RoutineSessions
from samverkan_rules.live.session import Session
from samverkan_rules.serve.guard import log

MAX_SLEEP = 60.0
"""The longest the scheduler sleeps (seconds) without looking again."""

SHARED_LOOK = 1.0
"""On a store several replicas serve: how often (seconds) the scheduler looks for posts
other replicas made, and a replica without the lease asks for it again."""

KEEP_ALIVE = 15.0
"""Seconds between keep-alive comments on a quiet change stream (proxies close idle ones)."""

STREAM_BATCH = 500
"""How many logged changes a stream reads at a time."""


class Scheduler:
    """Wakes each routine's cases when time changes them, and tells streams of new changes.

    Args:
        sessions: The routines' sessions.
        clock: The service's clock.
        max_sleep: The longest sleep between looks, in seconds.
    """

    def __init__(
        self,
        sessions: RoutineSessions,
        clock: Callable[[], datetime],
        *,
        max_sleep: float = MAX_SLEEP,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.max_sleep = max_sleep
        self._moved = asyncio.Event()
        self._logged: dict[str, asyncio.Event] = {}
        self._stopping = False

    def nudge(self, routine: str) -> None:
        """A post was logged: wake the scheduler (its case may change sooner) and the
        routine's streams."""
        self._moved.set()
        self.logged(routine)

    def logged(self, routine: str) -> None:
        """Tell the routine's streams that the change log grew."""
        event = self._logged.pop(routine, None)
        if event is not None:
            event.set()

    def listen(self, routine: str) -> asyncio.Event:
        """An event set when the routine's change log next grows: take it before reading the
        log, so nothing logged in between is missed."""
        return self._logged.setdefault(routine, asyncio.Event())

    async def run(self) -> None:
        """Judge every case now, then wake at each next change until :meth:`stop`.

        On a shared store only the replica that holds the lease does this (see
        :meth:`~samverkan_rules.live.routed.RoutineSessions.leader`); the others ask for it
        every :data:`SHARED_LOOK` seconds, and the one that takes it judges every case first.
        """
        leading = False
        while not self._stopping:
            if not await run_in_threadpool(self.sessions.leader):
                leading = False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._moved.wait(), SHARED_LOOK)
                self._moved.clear()
                continue
            if not leading:
                if self.sessions.shared:
                    log.info("this replica holds the lease: it runs the clock and the webhooks")
                for routine in self.sessions.ids():
                    await self._judge(routine, everything=True)
                leading = True
            self._moved.clear()
            soonest: datetime | None = None
            for routine in self.sessions.ids():
                upcoming = await self._judge(routine, everything=False)
                if upcoming is not None and (soonest is None or upcoming < soonest):
                    soonest = upcoming
            delay = SHARED_LOOK if self.sessions.shared else self.max_sleep
            if soonest is not None:
                delay = min(delay, max(0.0, (soonest - self.clock()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._moved.wait(), delay)

    async def stop(self) -> None:
        """End :meth:`run` at its next look."""
        self._stopping = True
        self._moved.set()

    async def _judge(self, routine: str, *, everything: bool) -> datetime | None:
        """Wake (or, ``everything``, tick) one routine's session when its next change has
        come; its next change after that. An error is logged, never raised: the clock must
        keep running for the other routines."""
        session = self.sessions.session(routine)
        try:
            changed = await run_in_threadpool(_wake, session, self.clock(), everything)
        except Exception as exc:  # logged by type only: a message may quote case data
            log.error("scheduler: judging routine %s failed: %s", routine, type(exc).__name__)
            return None
        if changed:
            self.logged(routine)
        return session.next_change()


def _wake(session: Session, now: datetime, everything: bool) -> int:
    """Tick or wake ``session`` at ``now`` (or its clock, when a post moved it further);
    how many changes were logged."""
    moment = max(now, session.clock) if session.clock is not None else now
    if everything:
        return len(session.tick(moment))
    upcoming = session.next_change()
    if upcoming is None or upcoming > now:  # never announce a change before it comes
        return 0
    return len(session.wake(moment))


async def change_stream(
    scheduler: Scheduler, routine: str, after: int, case: str | None
) -> AsyncIterator[bytes]:
    """The routine's logged changes after ``after`` as Server-Sent Events (``id`` the
    sequence number, ``event: change``, ``data`` the change's JSON), then each new one as
    it is logged, with a keep-alive comment when the log is quiet. On a shared store the
    log is read again every :data:`SHARED_LOOK` seconds too: other replicas log there."""
    session = scheduler.sessions.session(routine)
    look = SHARED_LOOK if scheduler.sessions.shared else KEEP_ALIVE
    quiet = 0.0
    yield b"retry: 5000\n\n"
    while True:
        grown = scheduler.listen(routine)
        rows = await run_in_threadpool(session.changes, after, limit=STREAM_BATCH, case=case)
        for row in rows:
            data = dumps_bytes(row.to_json(), indent=None)
            yield b"id: %d\nevent: change\ndata: %s\n\n" % (row.seq, data)
            after = row.seq
        if rows:
            quiet = 0.0
            continue
        try:
            await asyncio.wait_for(grown.wait(), look)
        except TimeoutError:
            quiet += look
            if quiet >= KEEP_ALIVE:
                quiet = 0.0
                yield b": keep-alive\n\n"
