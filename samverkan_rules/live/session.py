"""A live session: events one at a time in, what changed out.

A :class:`Session` keeps every case's events (and, with a store, writes them to disk before
answering), re-evaluates only the cases an event can affect and reports the obligations that
arose, changed status or ended. Its answers are those of :func:`samverkan_rules.evaluate`
over the same events: the session is a faster way to ask the same question, never a
different answer.

Time is always passed in. A post is judged at ``as_of`` (default: the later of the event's
instant and the latest instant the session was told), and :meth:`Session.tick` moves the
clock on and reports what time alone changed (obligations that turned overdue, escalations
that began). The session never reads the wall clock.

Which cases an event affects:

- its own case;
- every unit's case, when the event's type may answer a unit-level obligation from another
  case (``any_case`` patterns: :attr:`CompiledRoutine.borrow_types`), because the engine lends
  such events to the units' cases;
- every unit's case, when a routine has scheduled (unit-level) rules and the event is the
  earliest the session holds, because scheduled obligations start where the events do.
- every case, when the event may call off an occurrence of a schedule (``cancelled_by``):
  deadlines anchored on the schedule, in any case, then take the next occurrence held.

Queues are over all cases: they are part of :meth:`Session.due` for every case, not of a
post's changes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from samverkan_rules.compile.checks import undeclared_field_error
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.compile.versions import Window, validity_windows
from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.engine import Evaluator, Ruleset, evaluate
from samverkan_rules.engine.evaluator import routines_of
from samverkan_rules.engine.occurrences import cancelling_types, next_occurrence
from samverkan_rules.engine.output import CaseLedger, OutputCache, case_result
from samverkan_rules.engine.replay import CasePlan
from samverkan_rules.engine.result import Evaluation
from samverkan_rules.engine.settling import Moved
from samverkan_rules.errors import CaseErasedError, EvaluationError, EventError
from samverkan_rules.events.model import Event, event_from_mapping
from samverkan_rules.events.retraction import RETRACTED, without_retracted
from samverkan_rules.live.changelog import Change, ChangeLog, ChangeRow, Changes, MemoryChangeLog
from samverkan_rules.live.checking import check_all
from samverkan_rules.live.held import Batch, Held
from samverkan_rules.live.replays import KeptReplays, aware, until
from samverkan_rules.live.reports import Reports
from samverkan_rules.live.store import EventConflictError, EventStore, conflict_of, content_key
from samverkan_rules.live.stores import Seen, Store
from samverkan_rules.status import ACTION_STATUSES
from samverkan_rules.time.instants import (
    format_rfc3339,
    local_date,
    parse_rfc3339,
)

Backend = Literal["reference", "durable"]


class Session:
    """Events of many cases, one post at a time, with what each post changed.

    Args:
        ruleset: A compiled routine or several (e.g. every version of one routine).
        store: A :class:`~samverkan_rules.live.stores.Store` (an :class:`EventStore`, a
            PostgreSQL store) or the path of an SQLite file. Events are written there
            before a post returns; a session opened on an existing store starts with
            every event in it, and one on a store other processes write takes in what
            they wrote before each post and each question.
        backend: ``reference`` re-evaluates the affected cases with the reference
            evaluator; ``durable`` also matches triggers and answers with durable_rules
            (the ``live`` extra) and checks its ledger against the reference's on every
            post (see :mod:`samverkan_rules.live.durable`).
        max_live_cases: For the durable backend: how many cases stay in durable_rules'
            memory before the least recently used are evicted (rebuilt from the events
            when they return).
        kept_cases: How many cases keep their replay between posts, the least recently
            judged let go (:class:`~samverkan_rules.live.replays.KeptReplays`); None: all.

    Thread safety: every public method may be called from any thread; posts are applied
    one at a time in the order they take the session's lock.

    Examples:
        >>> from datetime import datetime
        >>> from samverkan_rules import load_routine
        >>> session = Session(load_routine("routines/orebro-dagverksamhet-hemvard.yaml"))
        >>> changes = session.post({"id": "e1", "case": "c1", "type": "dagverksamhet.start_planned",
        ...     "at": "2026-12-01T10:00:00+01:00", "data": {"start_date": "2026-12-28"}})
        >>> sorted((c.kind, c.obligation, c.after) for c in changes)[0]
        ('arose', 'consent:c1:dagverksamhet', 'due')
        >>> later = session.tick(datetime.fromisoformat("2026-12-23T08:00:00+01:00"))
        >>> sorted({(c.before, c.after) for c in later})
        [('due', 'overdue')]
    """

    # What the session holds of the events (see _hold_nothing).
    _held: Held
    _replays: KeptReplays

    def __init__(
        self,
        ruleset: Ruleset,
        *,
        store: Store | str | os.PathLike[str] | None = None,
        backend: Backend = "reference",
        max_live_cases: int = 512,
        kept_cases: int | None = None,
    ) -> None:
        # One routine id (its versions): the shared vocabulary would otherwise let every
        # routine judge every case (routines_of says how to serve several).
        routines = routines_of(ruleset)
        windows, overlaps = validity_windows(routines)
        if overlaps:
            raise EvaluationError("routine versions overlap", overlaps)
        self._routines: tuple[CompiledRoutine, ...] = routines
        self._windows: Mapping[tuple[str, str], Window] = windows
        self._plan = CasePlan(routines, windows)
        self._kept_cases = kept_cases  # checked by KeptReplays
        self._lock = threading.RLock()
        self._counting = threading.Lock()
        self._writers = 0  # posts, ticks and erasures in or waiting for the lock
        self._owns_store = isinstance(store, str | os.PathLike)
        self._store: Store | None = (
            EventStore(store) if isinstance(store, str | os.PathLike) else store
        )
        self._checkers: dict[str, list[CompiledRoutine]] = {}
        for r in routines:
            for name in r.event_types:
                self._checkers.setdefault(name, []).append(r)
        self._borrow: frozenset[str] = frozenset().union(*(r.borrow_types for r in routines))
        self._ticking = any(r.ticking for r in routines)
        self._cancelling = cancelling_types(routines)
        self._units: frozenset[str] = frozenset(
            {u for r in routines for u in r.routine.units}
            | {u for r in routines for s in r.schedules.values() for u in s.units}
        )
        self._tz = routines[0].tz
        self._held = Held(self._borrow, self._cancelling, self._units, self._ticking, self._tz)
        self._hold_nothing()
        self._erased: dict[str, str] = {}  # tombstones when there is no store
        self._clock: datetime | None = None
        self._latest: datetime | None = None
        self._backend: Backend = backend
        self._matcher: Any = None
        if backend == "durable":
            from samverkan_rules.live.durable import DurableMatcher

            self._matcher = DurableMatcher(routines, windows, max_live_cases=max_live_cases)
        elif backend != "reference":
            raise ValueError(f"backend must be 'reference' or 'durable', got {backend!r}")
        log: ChangeLog = self._store if self._store is not None else MemoryChangeLog()
        self._reports = Reports(log, self._tz)
        judged = log.last_at()
        if judged is not None:  # a restarted session goes on from where it last judged
            self._clock = parse_rfc3339(judged).astimezone(UTC)
        self._seen = Seen()
        # Cases held but not judged by this session since it opened, or since another
        # process wrote to them: what it last heard of them may be out of date (see
        # due_candidates).
        self._unjudged: set[str] = set()
        if self._store is not None and not self._sync():
            for event in self._store.events():
                self._remember(event)
        self._unjudged |= set(self._held.by_case)

    @property
    def backend(self) -> Backend:
        """The backend this session runs on."""
        return self._backend

    @property
    def routines(self) -> tuple[CompiledRoutine, ...]:
        """The routine versions the session judges with."""
        return self._routines

    @property
    def tz(self) -> ZoneInfo:
        """The routine's time zone (the one its answers' instants are written in)."""
        return self._tz

    @property
    def clock(self) -> datetime | None:
        """The latest instant the session was told (by a post or a tick), or None; a session
        opened on a store starts at the instant of its latest logged change, and one on a
        shared store moves with what the other processes judged."""
        with self._current():
            return self._clock

    def close(self) -> None:
        """Release the store (when the session opened it) and durable_rules' memory."""
        with self._lock:
            if self._matcher is not None:
                self._matcher.close()
            if self._store is not None and self._owns_store:
                self._store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cases(self) -> list[str]:
        """The cases the session holds events for, sorted."""
        with self._current():
            return list(self._held.ordered)

    def events(self, case: str | None = None) -> list[Event]:
        """The events held (one case's, or all), in (instant, id) order per case."""
        with self._current():
            if case is not None:
                return list(self._held.by_case.get(case, ()))
            return [e for c in sorted(self._held.by_case) for e in self._held.by_case[c]]

    def check(self, record: Event | Mapping[str, Any], *, declared_only: bool = False) -> Event:
        """The event ``record`` describes, checked against the routine's event types.

        ``declared_only``: a ``data`` field its type does not declare is an error (as a
        file's reader has it, a warning otherwise: the field is kept but not used).

        Raises:
            EventError: with one located diagnostic per problem.
        """
        event = record if isinstance(record, Event) else event_from_mapping(record)
        owners = self._checkers.get(event.type, [self._routines[0]])
        checker = owners[0]
        if len(owners) > 1:
            for routine in owners:
                window = self._windows[(routine.id, routine.version)]
                if window.contains(local_date(event.at, routine.tz)):
                    checker = routine
                    break
        found = checker.check_event(event)
        if declared_only:
            found = [
                undeclared_field_error(p) if p.code == "event.unknown-field" else p for p in found
            ]
        problems = [p for p in found if p.is_error]
        if problems:
            raise EventError(f"event {event.id!r} does not fit the routine", problems)
        return event

    def post(
        self,
        events: Event | Mapping[str, Any] | Sequence[Event | Mapping[str, Any]],
        *,
        as_of: datetime | None = None,
        client: str | None = None,
    ) -> Changes:
        """Accept one event or several, store them, and say what changed.

        A list is all or nothing: when one event is unusable or conflicts, none is kept.

        Args:
            events: An event, its mapping, or a list of them.
            as_of: When to judge the affected cases (default: the later of the newest
                posted event's instant and the session's clock). It must not be earlier
                than a posted event.
            client: Who posts them, kept with each event in the store.

        Returns:
            The obligations that arose, changed status or ended in the affected cases
            since the session last reported on them.

        Raises:
            EventError: for an unusable event; its diagnostics carry ``path`` (the field)
                and, for a list, the event's index in ``line``.
            EventConflictError: for an id already used by an event with other content.
            ConsequenceError, DurableMismatchError: (durable backend) durable_rules failed
                or disagreed with the reference; the events are stored all the same, and
                posting them again is a no-op.
        """
        items = [events] if isinstance(events, (Event, Mapping)) else list(events)
        checked = check_all(self.check, items)
        with self._written():
            self._refuse_erased(checked)
            moment = self._moment(checked, as_of)
            new = self._store_new(checked, client)
            if not new:
                return Changes(as_of=moment.astimezone(self._tz))
            self._advance(moment)
            affected = {e.case for e in new}
            earliest = self._held.earliest
            for event in new:
                self._remember(event)
            if self._borrow and any(e.type in self._borrow for e in new):
                affected |= self._units
            if self._cancelling and any(e.type in self._cancelling for e in new):
                affected |= self._units | set(self._held.by_case)
            if self._ticking and (
                earliest is None or self._held.earliest is not earliest
            ):  # scheduled obligations start where the events do
                affected |= self._units
            check = self._matcher is not None and moment >= (self._latest or moment)
            if self._matcher is not None:
                by_case: dict[str, list[Event]] = {}
                for event in new:
                    by_case.setdefault(event.case, []).append(event)
                for case, fresh in by_case.items():
                    held = self._held.by_case[case]
                    standing = without_retracted(held, [])
                    if standing is not held:  # durable_rules sees no retracted event
                        if any(e.type == RETRACTED for e in fresh):
                            self._matcher.forget(case)  # rebuilt from what stands
                        ids = {e.id for e in standing}
                        fresh = [e for e in fresh if e.id in ids]
                    self._matcher.observe(fresh, standing)
            changes: list[Change] = []
            causes = {e.id for e in new}
            for case in sorted(affected):
                ledger = self._evaluate_case(case, moment, whole=check)
                if check and isinstance(ledger, CaseLedger):
                    # Only when every held event counts at `moment`, as durable_rules has them all.
                    result = case_result(ledger, OutputCache(ledger=True))
                    standing = without_retracted(self._held.by_case.get(case, []), [])
                    self._matcher.reconcile(case, result, standing)
                changes.extend(self._reports.diff(case, ledger, causes, moment))
            return Changes(
                as_of=moment.astimezone(self._tz),
                changes=self._reports.logged(changes, moment),
                accepted=len(new),
            )

    def tick(self, as_of: datetime) -> Changes:
        """Move the clock to ``as_of`` and report what time alone changed since the session
        last reported on each case (obligations that turned overdue, escalations that began,
        scheduled obligations whose period began).

        Raises:
            EvaluationError: for a naive ``as_of``, or one earlier than the clock.
        """
        with self._written():
            moment = self._move_clock("tick", as_of)
            changes: list[Change] = []
            seen: set[str] = set()
            for ledger in self._evaluate_every_case(moment):
                seen.add(ledger.case)
                changes.extend(self._reports.diff(ledger.case, ledger, set(), moment))
            for case in sorted(self._reports.cases() - seen):
                changes.extend(self._reports.diff(case, None, set(), moment))
            self._unjudged.clear()
            return Changes(
                as_of=moment.astimezone(self._tz), changes=self._reports.logged(changes, moment)
            )

    def next_change(self) -> datetime | None:
        """The earliest instant at which time alone changes a case the session has judged
        (a window opening, a deadline passing, an escalation beginning), or None.

        Each post and tick keeps this for the cases it judged, so it is known for every case
        after one :meth:`tick` (a session opened on a store knows it after its first tick);
        for a routine with schedules, the next occurrence after the clock counts too.
        """
        with self._current():
            soonest = self._reports.next_change()
            if self._ticking and self._clock is not None:
                # The units' cases also change when a schedule's occurrence comes.
                scheduled = next_occurrence(self._routines, self._windows, self._clock)
                if scheduled is not None and (soonest is None or scheduled < soonest):
                    soonest = scheduled
            return soonest

    def wake(self, as_of: datetime) -> Changes:
        """Like :meth:`tick`, but judge only the cases that time changes by ``as_of`` (see
        :meth:`next_change`), and the units' cases of a routine with schedules (whose
        occurrences arise with time): the cost is that of the cases that change.

        Raises:
            EvaluationError: for a naive ``as_of``, or one earlier than the clock.
        """
        with self._written():
            moment = self._move_clock("wake", as_of)
            cases = self._reports.changing_by(moment)
            if self._ticking:
                cases |= self._units
            run = self._run(moment)
            changes: list[Change] = []
            for case in sorted(cases):
                ledger = self._evaluate_case(case, moment, run)
                changes.extend(self._reports.diff(case, ledger, set(), moment))
            return Changes(
                as_of=moment.astimezone(self._tz), changes=self._reports.logged(changes, moment)
            )

    def changes(
        self, after: int = 0, *, limit: int = 1000, case: str | None = None
    ) -> list[ChangeRow]:
        """The logged changes numbered above ``after`` (of one case, or all), in order, at
        most ``limit``: what posts and ticks reported, also before a restart (with a store).

        A client that lost an answer asks for the changes after the last number it saw;
        nothing is reported twice and nothing is lost.
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        with self._lock:
            return self._reports.log.changes_after(after, limit, case)

    def last_seq(self) -> int:
        """The highest sequence number in the change log (0 when it is empty)."""
        with self._lock:
            return self._reports.log.last_seq()

    def kept_answer(self, key: str) -> tuple[str, bytes] | None:
        """The fingerprint and body kept under an idempotency key (see :meth:`keep_answer`),
        or None."""
        with self._lock:
            return self._reports.log.answer(key)

    def keep_answer(self, key: str, fingerprint: str, body: bytes, at: datetime) -> None:
        """Keep the answer to a request with an idempotency key for 24 hours (in the store,
        when there is one): a retry with the same key gets it again."""
        with self._lock:
            self._reports.log.keep_answer(key, fingerprint, body, at)

    def due(self, as_of: datetime, case: str | None = None) -> Evaluation:
        """The evaluation at ``as_of``, as :func:`samverkan_rules.evaluate` gives it.

        Args:
            as_of: The instant to evaluate at (does not move the session's clock).
            case: Only this case: its result is the one evaluating every event gives, and
                ``queues`` (which are over all cases) are left out.
        """
        moment = aware(as_of)
        if case is not None:
            return self.judge(self._batch([case], moment), moment)
        # The events are copied under the lock and evaluated outside it: a long query never
        # holds up a post (the copy is a list of references, the events are immutable).
        with self._current():
            held = list(self._held.by_id.values())
        return evaluate(self._routines, held, moment)

    def due_of(
        self, as_of: datetime, cases: Iterable[str], *, batch: int = 64
    ) -> Iterator[Evaluation]:
        """The evaluations at ``as_of`` of ``cases``, in their order, a few cases at a time:
        each case's result is the one evaluating every event gives (as :meth:`due` with
        ``case``), and no more than ``batch`` cases are judged before the next evaluation
        is given, so a listing of every case neither waits for nor holds all of them.
        """
        moment = aware(as_of)
        for each in self.batches(moment, cases, batch=batch):
            yield self.judge(each, moment)

    def batches(self, as_of: datetime, cases: Iterable[str], *, batch: int = 64) -> Iterator[Batch]:
        """:meth:`due_of`'s batches, each with the events that decide it, read from the
        session when the listing reaches it; :meth:`judge` evaluates one (here, or wherever
        the same routines are compiled). A unit's case (a schedule's or a queue's) is a
        batch of its own, with the events other cases lend it; the other cases are judged
        together, each from its own events and those that call off an occurrence."""
        if batch < 1:
            raise ValueError(f"batch must be 1 or more, got {batch}")
        moment = aware(as_of)
        run: list[str] = []
        for case in cases:
            alone = case in self._units
            if run and (alone or len(run) == batch):
                yield self._batch(run, moment)
                run = []
            run.append(case)
            if alone:
                yield self._batch(run, moment)
                run = []
        if run:
            yield self._batch(run, moment)

    def _batch(self, cases: list[str], moment: datetime) -> Batch:
        with self._current():
            return self._held.batch(cases, moment)

    def judge(self, batch: Batch, as_of: datetime) -> Evaluation:
        """One of :meth:`batches` evaluated at ``as_of``: its cases' results only."""
        result = evaluate(self._routines, batch.inputs, aware(as_of))
        return result.only_cases(batch.cases, events=batch.events)

    def due_candidates(
        self,
        as_of: datetime,
        statuses: frozenset[str],
        *,
        deadline_before: datetime | None = None,
        deadline_after: datetime | None = None,
    ) -> list[str] | None:
        """The cases that may hold an action in one of ``statuses`` (and deadline range) at
        ``as_of``, sorted: a superset read from what was last reported (see
        :meth:`Reports.candidates`), with the units' cases (schedules change them with time)
        and the cases not judged since the session opened. None when that cannot tell: an
        ended status asked for, ``as_of`` before the clock, an event held for later."""
        moment = aware(as_of)
        if not statuses or not statuses <= ACTION_STATUSES:
            return None
        with self._current():
            clock = self._clock
            if clock is None or moment < clock or (self._latest or clock) > clock:
                return None
            cases = self._reports.candidates(moment, statuses, deadline_before, deadline_after)
            wanted = cases | self._unjudged | self._units
            return [case for case in self._held.listed() if case in wanted]

    @property
    def held_events(self) -> int:
        """How many events the session holds (read without its lock: a count that may be
        one post behind)."""
        return len(self._held.by_id)

    @property
    def writing(self) -> int:
        """How many writes (posts, the clock's moves, erasures) hold or wait for the
        session's lock now: a long listing may give way while there are any."""
        return self._writers

    def listed_cases(self) -> list[str]:
        """Every case a listing of all cases covers, sorted: the cases the session holds
        events for and the units' cases (a schedule's obligations need no event of theirs).
        :meth:`due_of` over them gives, case by case, what :meth:`due` of every case gives."""
        with self._current():
            return self._held.listed()

    def case_size(self, case: str) -> int:
        """How many events the session holds for ``case``."""
        with self._current():
            return len(self._held.by_case.get(case, ()))

    def has_case(self, case: str) -> bool:
        """Whether the session holds an event of ``case``."""
        with self._current():
            return case in self._held.by_case

    def case_of(self, obligation: str) -> str | None:
        """The case an obligation belongs to, without evaluating anything, or None when the
        session cannot tell (an obligation that arose from time alone and was never
        reported by a post).

        Obligations are indexed by case as posts report them; an obligation id otherwise
        names its trigger event (``rule:event``) or its case (``rule:case:...``)."""
        with self._current():
            known = self._reports.case_of(obligation)
            if known is not None:
                return known
            for part in obligation.split(":")[1:]:
                event = self._held.by_id.get(part)
                if event is not None:
                    return event.case
                if part in self._held.by_case:
                    return part
        return None

    def erase(self, case: str, at: datetime) -> int:
        """Forget every event of ``case``, in memory and in the store, and refuse its events
        from now on (see :meth:`reopen`); the store keeps only a tombstone.

        Returns:
            How many events were erased.
        """
        with self._written():
            count = len(self._held.by_case.get(case, ()))
            if self._store is not None:
                count = self._store.erase(case, at)  # its changes with its events
            else:
                self._erased[case] = format_rfc3339(at)
                self._reports.log.forget_case(case)
            self._held.forget(case)
            self._replays.drop(case)
            self._reports.forget(case)
            if self._matcher is not None:
                self._matcher.forget(case)
            return count

    def erased_at(self, case: str) -> str | None:
        """When ``case`` was erased (RFC 3339), or None when its events are taken."""
        with self._lock:
            if self._store is not None:
                return self._store.erased_at(case)
            return self._erased.get(case)

    def reopen(self, case: str) -> bool:
        """Take events of an erased case again; True when it was erased."""
        with self._lock:
            if self._store is not None:
                return self._store.reopen(case)
            return self._erased.pop(case, None) is not None

    def status_counts(self) -> dict[str, int]:
        """How many obligations stand in each status, as the session last reported them (by
        a post, a tick or a wake): cheap, for metrics; :meth:`due` is the exact answer."""
        with self._current():
            return self._reports.status_counts()

    def ready(self) -> None:
        """Read the store once (when there is one); raises when it cannot be read."""
        with self._lock:
            if self._store is not None:
                self._store.check()

    def describe(self) -> dict[str, Any]:
        """What runs where: the backend, the routines and, for durable_rules, which rules it
        matches and which fall back to the reference code (with the reason)."""
        with self._current():
            out: dict[str, Any] = {
                "backend": self._backend,
                "routines": [{"id": r.id, "version": r.version} for r in self._routines],
                "cases": len(self._held.by_case),
                "events": len(self._held.by_id),
                "store": self._store.location if self._store is not None else None,
            }
            if self._matcher is not None:
                out.update(self._matcher.describe())
            return out

    # ------------------------------------------------------------------ internals

    def _hold_nothing(self) -> None:
        """Empty what the session holds of the events (at start, and before a shared
        store is read again after an erasure in another process)."""
        self._held = self._held.empty()
        self._replays = KeptReplays(self._plan, self._kept_cases)

    def _sync(self) -> bool:
        """Take in what other processes wrote to a shared store since this one last read
        it; False for a store no other process writes. Called under the session's lock."""
        if self._store is None:
            return False
        found = self._store.catch_up(self._seen)
        if found is None:
            return False
        if found.reload:
            if self._matcher is not None:
                for case in self._held.by_case:
                    self._matcher.forget(case)
            self._hold_nothing()
            self._reports.clear()
            self._unjudged = set()
        for event in found.events:
            if event.id not in self._held.by_id:
                self._remember(event)
                # Judged by another process: what this one knows of its next change is old.
                self._unjudged.add(event.case)
                if self._matcher is not None:  # rebuilt from the events when it returns
                    self._matcher.forget(event.case)
        for row in found.changes:
            self._reports.heard(row)
            self._advance(parse_rfc3339(row.at).astimezone(UTC))
        return True

    @contextmanager
    def _current(self) -> Iterator[None]:
        """The session's lock, with what other processes wrote to the store taken in."""
        with self._lock:
            self._sync()
            yield

    @contextmanager
    def _written(self) -> Iterator[None]:
        """The session's lock and the store's write lock, with what other processes wrote
        taken in: what the block writes is committed at its end, after theirs."""
        with self._counting:
            self._writers += 1
        try:
            with self._lock:
                store = self._store
                try:
                    with store.writing(self._seen) if store is not None else nullcontext():
                        self._sync()
                        yield
                except (EventError, CaseErasedError, EvaluationError):
                    raise  # a post refused before anything was held or written
                except BaseException:
                    # The store may not have kept what the block took in (a lost connection
                    # rolls the write back): read everything again before the next answer.
                    self._seen = Seen()
                    raise
        finally:
            with self._counting:
                self._writers -= 1

    def _refuse_erased(self, events: Sequence[Event]) -> None:
        for case in sorted({e.case for e in events}):
            when = self.erased_at(case)
            if when is not None:
                raise CaseErasedError(
                    f"the case was erased at {when}; its events are refused until it is reopened"
                )

    def _moment(self, events: Sequence[Event], as_of: datetime | None) -> datetime:
        latest = max((e.at.astimezone(UTC) for e in events), default=None)
        if as_of is not None:
            moment = aware(as_of)
            if latest is not None and moment < latest:
                raise EvaluationError(
                    "as_of is earlier than a posted event; an event counts only from its instant"
                )
            return moment
        candidates = [t for t in (latest, self._clock) if t is not None]
        if not candidates:
            raise EvaluationError("nothing was posted and no as_of was given")
        return max(candidates)

    def _move_clock(self, verb: str, as_of: datetime) -> datetime:
        """``as_of`` in UTC, made the clock; refused when it is earlier than the clock
        (a tick or wake-up only moves time on). Called under the session's lock."""
        moment = aware(as_of)
        if self._clock is not None and moment < self._clock:
            raise EvaluationError(
                f"{verb} at {as_of.isoformat()} is earlier than the session's clock "
                f"{self._clock.astimezone(self._tz).isoformat()}; time only moves on"
            )
        self._advance(moment)
        return moment

    def _advance(self, moment: datetime) -> None:
        if self._clock is None or moment > self._clock:
            self._clock = moment

    def _store_new(self, events: Sequence[Event], client: str | None = None) -> list[Event]:
        """The events not yet held, after writing them to the store (repeats are no-ops)."""
        new: list[Event] = []
        conflicts: list[Diagnostic] = []
        unique: dict[str, Event] = {}
        for event in events:
            unique.setdefault(event.id, event)
        for event in unique.values():
            known = self._held.keys.get(event.id)
            if known is None:
                new.append(event)
            elif known != content_key(event):
                conflicts.append(conflict_of(event))
        if conflicts:
            raise EventConflictError(
                f"{len(conflicts)} event id(s) already used by other events", conflicts
            )
        if new and self._store is not None:
            fresh = self._store.append(new, client=client)
            new = [e for e, f in zip(new, fresh, strict=True) if f]
        return new

    def _remember(self, event: Event) -> None:
        at = event.at.astimezone(UTC)
        if self._latest is None or at > self._latest:
            self._latest = at
        self._held.remember(event)

    def _run(self, as_of: datetime) -> Evaluator:
        """An evaluation at ``as_of`` over the held events, prepared (schedules placed, the
        lent events kept) but with no case evaluated yet. The held events were checked when
        they were posted, so they are only sorted into before and after ``as_of``."""
        run = Evaluator(self._routines, as_of, plan=self._plan)
        earliest = self._held.earliest
        shared = {
            id(e): e
            for e in (*self._held.lent, *self._held.calling_off, *self._held.retracting)
            if e.at <= as_of
        }
        run.prepare(
            earliest=earliest.at if earliest is not None and earliest.at <= as_of else None,
            shared=list(shared.values()),
        )
        return run

    def _evaluate_case(
        self, case: str, as_of: datetime, run: Evaluator | None = None, *, whole: bool = False
    ) -> CaseLedger | Moved | None:
        """One case's ledger at ``as_of`` (or, for a kept replay and unless ``whole``, what
        may have moved since it was last judged): the single place a case is re-evaluated.

        A person's case keeps its replay between posts (see :class:`KeptReplays`); a unit's
        case is replayed afresh (other cases' events and the schedules' occurrences feed
        it). The public objects are built only for what changed.
        """
        run = run if run is not None else self._run(as_of)
        self._unjudged.discard(case)
        # A retraction changes what was seen before: the kept replay then starts afresh.
        held = until(self._held.by_case.get(case, []), as_of)
        retracted = case in self._held.retracted_cases
        own = list(without_retracted(held, []) if retracted else held)
        if not own and case not in run.unit_cases():
            self._replays.drop(case)
            return None
        if case in self._units:
            return run.evaluate_case(case, own)
        calls_off = tuple(e.id for e in self._held.calling_off if e.at <= as_of)
        return self._replays.ledger(case, own, run, calls_off, whole=whole, retracted=retracted)

    def _evaluate_every_case(self, as_of: datetime) -> list[CaseLedger]:
        run = self._run(as_of)
        by_case = self._held.by_case
        cases = {c for c, events in by_case.items() if any(e.at <= as_of for e in events)}
        cases.update(run.unit_cases())
        return [
            run.evaluate_case(case, until(by_case.get(case, []), as_of)) for case in sorted(cases)
        ]
