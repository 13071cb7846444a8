"""Several routines side by side, each case following the routine it is posted to.

Routines share the event vocabulary, so one :class:`Session` over several routine ids would
let every routine judge every case (a ``consent.given`` would raise Örebro's and
Katrineholm's obligations alike); :class:`Session` refuses that. :class:`RoutineSessions`
holds one session per routine id (all its versions) and is told the routine with every
post and every question, as the service's routes are (``/routines/{routine}/...``).

It also refuses what a single session takes on trust:

- an event whose type the routine does not use (an event meant for another routine would
  otherwise be stored for good and count for nothing);
- an event more than ``future_tolerance`` after ``now``: an event's time never moves the
  clock; the caller passes the clock in (the service passes the wall clock).

A routine version is immutable once it has judged events: the store keeps a digest of
each version's content (the validated routine, so comments and layout do not count) from
the first time it judges the store's events, and a store opened with a version of the same
number but other content is refused (:class:`RoutineChangedError`); old cases would
otherwise be judged again, silently, by rules they were never judged by.

Storage: one SQLite file per routine id, ``<store>/<routine-id>.db``, rather than one file
with a routine column. A post goes to one routine, so it is still one transaction in one
file, synced before the answer: the all-or-nothing, nothing-acknowledged-is-lost guarantee of
:class:`EventStore` holds unchanged under ``kill -9``. Routines never wait on each other's
write lock, and one routine's events can be backed up, moved or erased without touching
another's. A store that served one routine before is that routine's file, unchanged.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.compile.versions import validity_windows
from samverkan_rules.diagnostics import Diagnostic, did_you_mean
from samverkan_rules.errors import EventError, SamverkanError
from samverkan_rules.events.model import Event, canonical_json
from samverkan_rules.events.retraction import RETRACTED, retraction_problem
from samverkan_rules.live.changelog import Changes
from samverkan_rules.live.session import Backend, Session
from samverkan_rules.live.store import EventStore, Synchronous
from samverkan_rules.live.stores import Store, is_database_url
from samverkan_rules.time.instants import format_rfc3339, local_date

DEFAULT_FUTURE_TOLERANCE = timedelta(minutes=5)
"""How far after the clock an event may be (clocks of posting systems drift a little)."""

DEFAULT_MAX_CASE_EVENTS = 50_000
"""The most events one case may hold by default: far beyond any real case, a bound on what
one client can make the service hold for a single case."""

DEFAULT_KEPT_CASES = 5_000
"""How many cases of a routine the service keeps evaluation state for between posts by
default (about 6 KB each): the recently posted ones, which are the ones posted to next.
At 20,000 open cases this keeps the service under half a gigabyte."""


class UnknownRoutineError(SamverkanError):
    """A routine id that is not served."""


class RoutineChangedError(SamverkanError):
    """A routine version's content differs from the content that judged the store's
    events."""


def content_digest(routine: CompiledRoutine) -> str:
    """The SHA-256 of a routine version's content: the validated routine (variants merged,
    parameters filled in) as canonical JSON, without the values left at their defaults, so
    neither a comment, the file's layout nor a new optional field of a later release
    counts as a change."""
    content = routine.routine.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return hashlib.sha256(canonical_json(content)).hexdigest()


class RoutineSessions:
    """One live session per routine id; every post and question names the routine.

    Args:
        routines: Compiled routines, of one id or several (all versions of each).
        store: A directory for one event store per routine (``<id>.db``, created with
            mode 0700), or, when only one routine id is served, the path of its store
            file (a name with a suffix, e.g. ``events.db``); or a PostgreSQL URL
            (``postgresql://...``, the ``postgres`` extra) that several processes may
            serve at once. None keeps events in memory.
        backend: The sessions' backend (see :class:`Session`).
        synchronous: The stores' sync mode (see :class:`EventStore`).
        future_tolerance: How far after ``now`` a posted event may be.
        max_case_events: The most events one case may hold; a post beyond it is refused.
        kept_cases: Per routine, how many cases keep their replay between posts (see
            :class:`~samverkan_rules.live.session.Session`); None: every case.

    Examples:
        >>> from datetime import datetime
        >>> from samverkan_rules import load_registry
        >>> registry = load_registry("routines")
        >>> routed = RoutineSessions(
        ...     [*registry.versions("orebro-dagverksamhet-hemvard"),
        ...      *registry.versions("katrineholm-hemtjanst-vardcentral")])
        >>> routed.ids()
        ['katrineholm-hemtjanst-vardcentral', 'orebro-dagverksamhet-hemvard']
        >>> now = datetime.fromisoformat("2026-12-02T12:00:00+01:00")
        >>> event = {"id": "e1", "case": "c1", "type": "dagverksamhet.start_planned",
        ...          "at": "2026-12-01T10:00:00+01:00", "data": {"start_date": "2026-12-28"}}
        >>> routed.post("orebro-dagverksamhet-hemvard", event, now=now).accepted
        1
        >>> try:
        ...     routed.post("katrineholm-hemtjanst-vardcentral", {**event, "id": "e2"}, now=now)
        ... except EventError as exc:
        ...     print(exc.diagnostics[0].code)
        event.type-not-used
        >>> routed.close()
    """

    def __init__(
        self,
        routines: Iterable[CompiledRoutine],
        *,
        store: str | os.PathLike[str] | None = None,
        backend: Backend = "reference",
        synchronous: Synchronous = "full",
        future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
        max_case_events: int = DEFAULT_MAX_CASE_EVENTS,
        kept_cases: int | None = None,
    ) -> None:
        by_id: dict[str, list[CompiledRoutine]] = {}
        for r in routines:
            by_id.setdefault(r.id, []).append(r)
        if not by_id:
            raise SamverkanError("no routine to serve")
        if future_tolerance < timedelta(0):
            raise ValueError("future_tolerance must not be negative")
        self.future_tolerance = future_tolerance
        if max_case_events < 1:
            raise ValueError("max_case_events must be at least 1")
        self.max_case_events = max_case_events
        self._versions = {rid: tuple(v) for rid, v in sorted(by_id.items())}
        self._used = {
            rid: frozenset().union(*(r.used_event_types for r in v))
            for rid, v in self._versions.items()
        }
        self._digests = {
            (r.id, r.version): _sha256(r.file) for v in self._versions.values() for r in v
        }
        self._stores: dict[str, Store] = {}
        self._sessions: dict[str, Session] = {}
        self._database: Any = None
        self._lease: Any = None
        self._kept: dict[str, set[tuple[str, str]]] = {}
        self.retired: list[tuple[str, str]] = []
        """Versions that judged a store's events and are no longer given (replaced by a new
        version number), as (routine id, version)."""
        try:
            for rid, versions in self._versions.items():
                event_store = self._open(rid, store, synchronous)
                if event_store is not None:
                    self._stores[rid] = event_store
                    self._check_versions(rid, event_store)
                self._sessions[rid] = Session(
                    versions, store=event_store, backend=backend, kept_cases=kept_cases
                )
                if event_store is not None and self._sessions[rid].cases():
                    self._keep_versions(rid, datetime.now(UTC))
        except BaseException:
            self.close()
            raise

    def _open(
        self, rid: str, store: str | os.PathLike[str] | None, synchronous: Synchronous
    ) -> Store | None:
        """The store of one routine (None: memory)."""
        if store is not None and is_database_url(str(store)):
            from samverkan_rules.live.postgres import Database, Lease, PostgresStore

            if self._database is None:
                self._database = Database(str(store))
                self._lease = Lease(str(store))
            return PostgresStore(self._database, rid)
        path = _store_paths(list(self._versions), store).get(rid)
        return EventStore(path, synchronous=synchronous) if path else None

    @property
    def database(self) -> Any:
        """The PostgreSQL database (:class:`~samverkan_rules.live.postgres.Database`) the
        routines are served from, or None."""
        return self._database

    @property
    def shared(self) -> bool:
        """Whether other processes may serve the same store (a PostgreSQL store)."""
        return self._lease is not None

    def leader(self) -> bool:
        """Whether this process does the background work (the clock task, the webhook
        deliveries): always for its own SQLite files or memory; on a shared store while it
        holds the lease (see :class:`~samverkan_rules.live.postgres.Lease`)."""
        return self._lease is None or bool(self._lease.held())

    def held_events(self) -> int:
        """How many events the sessions hold together (see :attr:`Session.held_events`)."""
        return sum(s.held_events for s in self._sessions.values())

    def ids(self) -> list[str]:
        """The routine ids served, sorted."""
        return list(self._versions)

    def session(self, routine: str) -> Session:
        """The session of one routine id.

        Raises:
            UnknownRoutineError: naming the routines served, with a did-you-mean.
        """
        found = self._sessions.get(routine)
        if found is None:
            hint = did_you_mean(routine, self._versions) or ""
            raise UnknownRoutineError(
                f"no routine {routine!r} is served; the routines are "
                f"{', '.join(self._versions)}. {hint}".strip()
            )
        return found

    def versions(self, routine: str) -> tuple[CompiledRoutine, ...]:
        """The versions of one routine id, as given.

        Raises:
            UnknownRoutineError: for a routine not served.
        """
        self.session(routine)
        return self._versions[routine]

    def used_types(self, routine: str) -> frozenset[str]:
        """The event types a routine (any of its versions) uses."""
        self.session(routine)
        return self._used[routine]

    def post(
        self,
        routine: str,
        events: Event | Mapping[str, Any] | Sequence[Event | Mapping[str, Any]],
        *,
        now: datetime,
        client: str | None = None,
    ) -> Changes:
        """Post events of cases that follow ``routine``, judged at ``now`` (or at the latest
        posted event, when that is later but within the tolerance).

        All or nothing: an unusable event, a ``data`` field its type does not declare, a
        type the routine does not use or an event too far in the future refuses the whole
        post and stores nothing.

        Raises:
            UnknownRoutineError: for a routine not served.
            EventError: every problem, each with the event's 1-based place in ``line``.
            EventConflictError: for an id already used by another event.
        """
        session = self.session(routine)
        items = [events] if isinstance(events, (Event, Mapping)) else list(events)
        limit = now.astimezone(UTC) + self.future_tolerance
        checked: list[Event] = []
        places: list[int] = []  # each checked event's 1-based place in the post
        problems: list[Diagnostic] = []
        for index, item in enumerate(items):
            try:
                event = session.check(item, declared_only=True)
            except EventError as exc:
                problems.extend(replace(d, line=index + 1) for d in exc.diagnostics)
                continue
            if event.type not in self._used[routine]:
                problems.append(replace(self._unused(routine, event), line=index + 1))
            elif event.at.astimezone(UTC) > limit:
                problems.append(replace(self._in_future(event, now), line=index + 1))
            else:
                checked.append(event)
                places.append(index + 1)
        problems.extend(_retractions_of_nothing(session, checked, places))
        problems.extend(self._too_many(session, checked))
        if problems:
            raise EventError(f"{len(problems)} problem(s) with the posted events", problems)
        # Time only moves on: never judged before what the session judged last (a post of
        # an event a little ahead of the clock moved it), or a status would step back.
        moments = [now.astimezone(UTC), *(e.at.astimezone(UTC) for e in checked)]
        if session.clock is not None:
            moments.append(session.clock)
        moment = max(moments)
        changes = session.post(checked, as_of=moment, client=client)
        self._keep_versions(routine, moment)
        return changes

    def _check_versions(self, rid: str, event_store: Store) -> None:
        """Refuse a version whose content is not the content that judged the store's
        events; note the versions that did and are no longer given."""
        kept = event_store.version_digests()
        given = {(r.id, r.version): r for r in self._versions[rid]}
        for key, digest in sorted(kept.items()):
            routine = given.get(key)
            if routine is None:
                if key[0] == rid:
                    self.retired.append(key)
                continue
            if content_digest(routine) != digest:
                raise RoutineChangedError(
                    f"{routine.file or rid}: routine {rid} version {key[1]} has changed since "
                    f"it judged the events in {event_store.location}; a routine version is "
                    "immutable once it has judged events. Give the changed routine a new "
                    "version (its 'version', and a later 'valid_from' when the old version "
                    "should go on judging earlier cases), or restore the file"
                )
        self._kept[rid] = set(kept)

    def _keep_versions(self, rid: str, moment: datetime) -> None:
        """Keep the digest of each version in force on or before ``moment`` that the
        routine's store does not hold yet: from now on they have judged its events."""
        event_store = self._stores.get(rid)
        if event_store is None:
            return
        kept = self._kept.setdefault(rid, set())
        new = {
            (r.id, r.version): content_digest(r)
            for r in self._versions[rid]
            if (r.id, r.version) not in kept and r.routine.valid_from <= local_date(moment, r.tz)
        }
        if new:
            event_store.keep_version_digests(new, moment)
            kept.update(new)

    def problems(self) -> list[str]:
        """Why a routine cannot serve (its store cannot be read), by routine; empty when all
        can. Names the routine and the kind of error only."""
        out = []
        for rid, session in self._sessions.items():
            try:
                session.ready()
            except Exception as exc:  # any failure to read the store makes the service unready
                out.append(f"{rid}: {type(exc).__name__}")
        return out

    def _too_many(self, session: Session, events: Sequence[Event]) -> list[Diagnostic]:
        """A problem for each case the post would take past :attr:`max_case_events`."""
        adding: dict[str, int] = {}
        for event in events:
            adding[event.case] = adding.get(event.case, 0) + 1
        out = []
        for case, count in sorted(adding.items()):
            held = session.case_size(case)
            if held + count > self.max_case_events:
                out.append(
                    Diagnostic(
                        "error",
                        "case.too-many-events",
                        f"the case holds {held} events and may hold at most {self.max_case_events}",
                        hint="a case this long is likely a feed error; split or erase it",
                    )
                )
        return out

    def describe(self, now: datetime) -> list[dict[str, Any]]:
        """Each routine: its id, its versions (validity, file, SHA-256 of the file) and the
        version in force at ``now``."""
        out: list[dict[str, Any]] = []
        for rid, versions in self._versions.items():
            windows, _ = validity_windows(versions)
            listed = []
            in_force = None
            for r in sorted(versions, key=lambda v: v.routine.valid_from):
                window = windows[(r.id, r.version)]
                if window.contains(local_date(now, r.tz)):
                    in_force = r.version
                listed.append(
                    {
                        "version": r.version,
                        "valid_from": r.routine.valid_from.isoformat(),
                        "valid_to": window.last.isoformat() if window.last else None,
                        "file": Path(r.file).name if r.file else None,
                        "sha256": self._digests[(r.id, r.version)],
                    }
                )
            out.append(
                {
                    "id": rid,
                    "title": versions[-1].routine.title,
                    "in_force": in_force,
                    "versions": listed,
                    "event_types": sorted(self._used[rid]),
                }
            )
        return out

    def close(self) -> None:
        """Close every session and the stores this object opened."""
        for session in self._sessions.values():
            session.close()
        for event_store in self._stores.values():
            event_store.close()
        if self._lease is not None:
            self._lease.close()
        if self._database is not None:
            self._database.close()

    def __enter__(self) -> RoutineSessions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _unused(self, routine: str, event: Event) -> Diagnostic:
        used = sorted(self._used[routine])
        return Diagnostic.of(
            "error",
            "event.type-not-used",
            f"routine {routine} does not use event type {event.type!r}; it uses {', '.join(used)}",
            path="type",
            hint=did_you_mean(event.type, used) or "post the event to the routine the case follows",
        )

    def _in_future(self, event: Event, now: datetime) -> Diagnostic:
        seconds = int(self.future_tolerance.total_seconds())
        return Diagnostic(
            "error",
            "event.in-future",
            f"event {event.id!r} is at {format_rfc3339(event.at)}, more than {seconds} s after "
            f"the service's clock ({format_rfc3339(now)}); an event is posted when it has "
            "happened",
            path="at",
            hint="check the event's date and year, and the posting system's clock",
        )


def _retractions_of_nothing(
    session: Session, checked: Sequence[Event], places: Sequence[int]
) -> list[Diagnostic]:
    """A problem for each posted retraction that names no event of its case (held or in
    this post) or names a retraction; its ``line`` is its 1-based place in the post."""
    out: list[Diagnostic] = []
    for place, event in zip(places, checked, strict=True):
        if event.type != RETRACTED:
            continue
        mine = [*session.events(event.case), *(e for e in checked if e.case == event.case)]
        problem = retraction_problem(event, {e.id: e for e in mine})
        if problem is not None:
            out.append(replace(problem, line=place))
    return out


def _sha256(file: str | None) -> str | None:
    if not file:
        return None
    try:
        return hashlib.sha256(Path(file).read_bytes()).hexdigest()
    except OSError:
        return None


def _store_paths(ids: list[str], store: str | os.PathLike[str] | None) -> dict[str, Path | None]:
    """Where each routine's events are kept (see the module's docstring for why one file
    per routine)."""
    if store is None:
        return dict.fromkeys(ids)
    path = Path(store)
    if path.suffix and not path.is_dir():
        if len(ids) > 1:
            raise SamverkanError(
                f"{path}: several routines are served ({', '.join(ids)}); give a directory "
                "for their stores (one file per routine), not a file"
            )
        return {ids[0]: path}
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return {rid: path / f"{rid}.db" for rid in ids}
