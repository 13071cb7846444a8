"""The HTTP service: live sessions of several routines behind a small JSON API.

Every route names the routine the case follows (a bearer token on every route but
``/healthz``):

- ``POST /routines/{routine}/cases/{case}/events``: one event or an array (``id``, ``type``,
  ``at``, ``data``; the case comes from the path), all or nothing. Answers
  ``{"accepted": n, "as_of": ..., "changes": [...]}`` once the events are on disk; 409 for
  an id already used by other content, 422 for an unusable event (each problem with the
  event's ``index`` and ``line``, and its ``field``), among them a type the routine does not
  use and an event more than the tolerance after the service's clock.
- ``GET /routines/{routine}/cases/{case}/due``: the evaluation JSON of that case (404 for a
  case the routine holds no event of).
- ``GET /routines/{routine}/due``: every case's result, one JSON object a line (JSON
  Lines), then a trailer line ``{"trailer": {"count", "as_of", "next_cursor"}}``; filters
  ``status`` (repeatable), ``responsible``, ``deadline_before``/``deadline_after``, pages with
  ``limit`` and ``cursor``.
- ``GET /routines/{routine}/changes?after=SEQ``: every change posts and ticks reported
  after sequence number ``SEQ`` (``limit``, ``case``), also across restarts: a client that
  lost an answer resumes from the last number it saw. A post with an ``Idempotency-Key``
  header answers a retry with the same key with the first answer (kept 24 hours).
- ``GET /routines/{routine}/changes/stream``: the same log as Server-Sent Events (``id`` the
  sequence number; resumed after ``Last-Event-ID`` or ``after``), live: a clock task wakes
  at each deadline, window or escalation and logs what time changed, so a deadline that
  passes while no one posts is announced within a second.
- ``GET /routines/{routine}/obligations/{id}/explain``: the obligation with its steps, as
  ``samverkan explain --format json`` writes them; only its case is evaluated.
- ``GET /routines``: the routines served, their versions, the one in force, each file's
  SHA-256 and the event types each uses.
- ``GET /webhooks``, ``GET /webhooks/{name}/dead-letters``,
  ``POST /webhooks/{name}/dead-letters/{routine}/{seq}/replay``: the subscriptions, what
  each delivered, and the changes set aside (see :mod:`samverkan_rules.serve.webhooks`).
- ``GET /healthz``: ``{"ok": true}`` (the process answers); ``GET /readyz``: 200 when every
  routine's store can be read, else 503 naming the routines that cannot (both without the
  token, for probes); ``GET /metrics``: Prometheus metrics (see
  :mod:`samverkan_rules.serve.metrics`); ``GET /openapi.json``: the OpenAPI document.

The clock is the wall clock: every answer is judged now unless the request gives ``as_of``,
and nothing an event says moves it. Queries are evaluated in worker threads over a copy of
the events taken under the session's lock, so a long listing never holds up a post.

Errors are ``{"error": {"code", "message", "hint", "diagnostics": [...], "request_id"}}``
with the codes and messages the command line uses. The token is compared in constant time;
request bodies and events per post are limited; every answer says ``Cache-Control:
no-store``; the log names a request by its route, a case only by a keyed pseudonym, and never
shows event data.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from samverkan_rules._json import dumps_bytes
from samverkan_rules.audit.pseudonym import looks_like_personnummer, valid_personnummer
from samverkan_rules.diagnostics import Diagnostic, did_you_mean
from samverkan_rules.engine.result import Evaluation, find_obligations
from samverkan_rules.errors import CalendarError, CaseErasedError, EvaluationError, EventError
from samverkan_rules.i18n import translator
from samverkan_rules.live.changelog import Changes
from samverkan_rules.live.routed import RoutineSessions, UnknownRoutineError
from samverkan_rules.live.store import EventConflictError
from samverkan_rules.serve import operations as op
from samverkan_rules.serve.access import Accesses, AccessLog
from samverkan_rules.serve.calendar import FeedKeys, addressees, feed
from samverkan_rules.serve.clients import Clients
from samverkan_rules.serve.guard import (
    NO_STORE,
    ASGIApp,
    Problem,
    Pseudonyms,
    guard,
    log,
    problem_response,
    where,
)
from samverkan_rules.serve.heap import Heap
from samverkan_rules.serve.judging import JudgingProcess
from samverkan_rules.serve.metrics import CONTENT_TYPE, Metrics
from samverkan_rules.serve.openapi import openapi, served_event_types
from samverkan_rules.serve.operations import route
from samverkan_rules.serve.queries import (
    QueryError,
    give_way,
    in_chunks,
    judged_here,
    judged_lines,
    listed_cases,
    page,
    parse_due_query,
)
from samverkan_rules.serve.requests import (
    MAX_DIAGNOSTICS,
    KeyLocks,
    count_param,
    idempotency_key,
    json_body,
    posted_events,
    unprintable,
)
from samverkan_rules.serve.scheduler import Scheduler, change_stream
from samverkan_rules.serve.webhooks import Deliverer, Deliveries, Subscription, WebhookState
from samverkan_rules.time.instants import (
    check_supported,
    format_rfc3339,
    local_stamp,
    parse_as_of,
)

DEFAULT_MAX_BODY = 1024 * 1024
"""The largest request body accepted by default (1 MiB), in bytes."""

DEFAULT_MAX_EVENTS = 1000
"""The most events one post may hold by default."""

DEFAULT_CHANGES = 1000
"""How many logged changes ``GET .../changes`` answers with when no ``limit`` is given."""

MAX_CHANGES = 10_000
"""The most logged changes one ``GET .../changes`` answers with."""

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    """The current instant (UTC, whole seconds, as instants are written): the service's
    clock."""
    return datetime.now(UTC).replace(microsecond=0)


def _path_ids(request: Request) -> None:
    """Refuse a routine or case id in the path that holds an unprintable character."""
    for name in ("routine", "case", "obligation"):
        value = request.path_params.get(name)
        if value is not None and unprintable(value):
            raise Problem(
                400,
                "request.bad-id",
                f"the {name} id holds a control or format character",
                hint="ids are printable text: letters, digits and punctuation",
            )


def _diagnostics(diagnostics: tuple[Diagnostic, ...]) -> list[dict[str, Any]]:
    out = []
    for d in diagnostics:
        record = d.to_json()
        if d.line is not None:
            record["index"] = d.line - 1
        record["field"] = d.path
        out.append(record)
    return out


def _as_of(request: Request, now: datetime) -> datetime:
    """The request's ``as_of``, or the service's clock when it gives none."""
    text = request.query_params.get("as_of")
    if not text:
        return now
    try:
        moment = parse_as_of(text)
        moment.astimezone(UTC)  # year 1 with a positive offset has no UTC instant
    except CalendarError as exc:
        raise Problem(400, "request.bad-as-of", str(exc)) from None
    except (ValueError, OverflowError):
        raise Problem(
            400, "request.bad-as-of", f"as_of={text!r} is out of range", hint="give a real date"
        ) from None
    return moment


def _output_options(request: Request) -> dict[str, bool]:
    """``ledger`` and ``trace`` from the query (``true``/``false``, ``1``/``0``): the full
    ledger and the traces are written only when asked for, like ``samverkan due``."""
    out: dict[str, bool] = {}
    for name in ("ledger", "trace"):
        text = request.query_params.get(name, "false").lower()
        if text not in ("true", "false", "1", "0"):
            raise Problem(
                400,
                "request.bad-option",
                f"{name}={text!r}: write true or false",
                hint=f"e.g. ?{name}=true",
            )
        out[name] = text in ("true", "1")
    return out


def _handled(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """``endpoint`` with every error it raises turned into an error answer."""

    async def run(request: Request) -> Response:
        try:
            _path_ids(request)
            return await endpoint(request)
        except Problem as problem:
            return problem_response(problem)
        except UnknownRoutineError as exc:
            return problem_response(
                Problem(404, "routine.unknown", str(exc), hint="GET /routines lists them")
            )
        except QueryError as exc:
            return problem_response(Problem(400, "request.bad-query", str(exc)))
        except CaseErasedError as exc:
            return problem_response(
                Problem(
                    409,
                    "case.erased",
                    str(exc),
                    hint="POST /routines/{routine}/cases/{case}/reopen takes its events again",
                )
            )
        except EventConflictError as exc:
            return problem_response(
                Problem(
                    409,
                    "event.conflict",
                    str(exc).splitlines()[0],
                    hint="give every event its own id",
                    diagnostics=_diagnostics(exc.diagnostics),
                )
            )
        except EventError as exc:
            # The first MAX_DIAGNOSTICS problems; the message counts them all.
            return problem_response(
                Problem(
                    422,
                    "event.invalid",
                    str(exc).splitlines()[0],
                    diagnostics=_diagnostics(exc.diagnostics[:MAX_DIAGNOSTICS]),
                )
            )
        except EvaluationError as exc:
            return problem_response(Problem(400, "request.invalid", str(exc)))
        except OverflowError:  # an instant out of the calendar's range
            return problem_response(Problem(400, "request.out-of-range", "a date is out of range"))
        except Exception as exc:  # a message may quote event data: log where, not what
            if _unreachable(exc):
                log.error("the store cannot be reached: %s", type(exc).__name__)
                return problem_response(
                    Problem(
                        503,
                        "store.unavailable",
                        "the store cannot be reached just now",
                        hint="send the request again in a few seconds (a repeated event is a "
                        "no-op)",
                    )
                )
            log.error("request failed: %s", where(exc))
            return problem_response(
                Problem(500, "internal", "the service could not answer; see its log")
            )

    return run


def _unreachable(exc: Exception) -> bool:
    """Whether ``exc`` says the PostgreSQL store cannot be reached (a lost connection, a
    server restarting, a pool with no connection to give): told by the error's class, as
    psycopg is an optional extra."""
    return any(
        kind.__module__.startswith("psycopg")
        and kind.__name__ in ("OperationalError", "PoolTimeout")
        for kind in type(exc).__mro__
    )


def _personal(case: str) -> bool:
    """True for a case id that is a valid personnummer or samordningsnummer."""
    return looks_like_personnummer(case) and valid_personnummer(case)


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        dumps_bytes(data, indent=None), status_code=status, media_type="application/json"
    )


async def _healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def _not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    return problem_response(
        Problem(
            status,
            "request.not-found" if status == 404 else "request.method",
            "no such route" if status == 404 else "method not allowed here",
            hint="GET /openapi.json lists the routes",
        )
    )


async def _internal(request: Request, exc: Exception) -> Response:
    log.error("request failed: %s", where(exc))
    return problem_response(Problem(500, "internal", "the service could not answer; see its log"))


class _Routes:
    """The routes' handlers over one set of routine sessions."""

    def __init__(
        self,
        sessions: RoutineSessions,
        clock: Clock,
        max_events: int,
        personal_ids: bool,
        keys: FeedKeys,
        scheduler: Scheduler,
        deliverer: Deliverer,
        access: Accesses,
        heap: Heap | None,
        judging: JudgingProcess | None,
    ) -> None:
        self.sessions = sessions
        self.heap = heap
        self.judging = judging
        self.clock = clock
        self.max_events = max_events
        self.personal_ids = personal_ids
        self.keys = keys
        self.key_locks = KeyLocks()
        self.scheduler = scheduler
        self.deliverer = deliverer
        self.measured = Metrics(sessions, clock, judging)
        self.access = access
        self._document: bytes | None = None

    def _judged_at(self, request: Request, given: datetime | None = None) -> datetime:
        """The instant a query is judged at (``given``, else ``as_of``, else now), within
        the years the routine's calendar covers."""
        moment = given if given is not None else _as_of(request, self.clock())
        for version in self.sessions.versions(request.path_params["routine"]):
            try:
                check_supported(moment, version.tz, "as_of")
            except CalendarError as exc:
                raise Problem(400, "request.bad-as-of", str(exc)) from None
        return moment

    def _addressee(self, request: Request) -> tuple[str, str]:
        """The routine and the role or unit a calendar route names (404 for neither)."""
        routine = request.path_params["routine"]
        who = request.path_params["who"]
        known = addressees(self.sessions.versions(routine))
        if who not in known:
            raise Problem(
                404,
                "calendar.unknown",
                f"no role or unit {who!r} in routine {routine!r}",
                hint=str(close) if (close := did_you_mean(who, known)) else None,
            )
        return routine, who

    async def calendar_link(self, request: Request) -> Response:
        routine, who = self._addressee(request)
        key = self.keys.key(routine, who)
        path = request.url_for("calendar_feed", routine=routine, who=who).path
        return _json({"routine": routine, "for": who, "path": f"{path}?key={key}"})

    async def calendar_feed(self, request: Request) -> Response:
        routine, who = self._addressee(request)
        session = self.sessions.session(routine)
        as_of = self._judged_at(request)
        versions = self.sessions.versions(routine)

        def answer() -> bytes:
            return feed(session.due(as_of), versions, who, keys=self.keys, t=translator("sv"))

        return Response(await run_in_threadpool(answer), media_type="text/calendar")

    async def post_events(self, request: Request) -> Response:
        routine = request.path_params["routine"]
        self.sessions.session(routine)  # an unknown routine is 404 before the body is read
        case = request.path_params["case"]
        if not self.personal_ids and _personal(case):
            raise Problem(
                422,
                "case.personal-id",
                "the case id looks like a personnummer or samordningsnummer; a case id must "
                "not name the person",
                hint="use the case number of the case system, or start the service with "
                "--allow-personal-case-ids",
            )
        key = idempotency_key(request)
        if key is None:
            return _json(await self._post(request, routine, case))
        # The same key and the same request: the first answer again, not a second post.
        body = await request.body()
        fingerprint = hashlib.sha256(
            b"\0".join([routine.encode(), case.encode(), body])
        ).hexdigest()
        session = self.sessions.session(routine)
        async with self.key_locks.holding(routine, key):
            kept = await run_in_threadpool(session.kept_answer, key)
            if kept is not None:
                if kept[0] != fingerprint:
                    raise Problem(
                        422,
                        "request.idempotency-key-reused",
                        "this Idempotency-Key was used for another request",
                        hint="make a new key for each request; reuse it only for its retries",
                    )
                return Response(
                    kept[1],
                    media_type="application/json",
                    headers={"Idempotent-Replayed": "true"},
                )
            answer = dumps_bytes(await self._post(request, routine, case), indent=None)
            await run_in_threadpool(session.keep_answer, key, fingerprint, answer, self.clock())
        return Response(answer, media_type="application/json")

    async def _post(self, request: Request, routine: str, case: str) -> dict[str, Any]:
        """Post the request's events; the answer's JSON."""
        events = posted_events(await json_body(request), case, self.max_events)
        now = self.clock()
        client = request.scope.get("state", {}).get("client")
        heap = self.heap

        def post() -> Changes:
            changes = self.sessions.post(routine, events, now=now, client=client)
            if heap is not None:
                heap.settle()
            return changes

        changes = await run_in_threadpool(post)
        self.scheduler.nudge(routine)
        return changes.to_json()

    async def change_stream(self, request: Request) -> Response:
        routine = request.path_params["routine"]
        self.sessions.session(routine)  # an unknown routine is 404 before the stream starts
        after = count_param(request, "after", 0, low=0, high=2**63 - 1)
        resume = request.headers.get("last-event-id")
        if resume is not None:  # a reconnecting EventSource resumes after its last event
            if not (resume.isascii() and resume.isdigit() and len(resume) <= 19):
                raise Problem(400, "request.bad-option", "Last-Event-ID: write a sequence number")
            after = int(resume)
        stream = change_stream(self.scheduler, routine, after, request.query_params.get("case"))
        return StreamingResponse(
            stream,
            media_type="text/event-stream",
            headers={**NO_STORE, "X-Accel-Buffering": "no"},
        )

    async def changes(self, request: Request) -> Response:
        session = self.sessions.session(request.path_params["routine"])
        after = count_param(request, "after", 0, low=0, high=2**63 - 1)
        limit = count_param(request, "limit", DEFAULT_CHANGES, low=1, high=MAX_CHANGES)
        case = request.query_params.get("case")
        rows = await run_in_threadpool(session.changes, after, limit=limit, case=case)

        def answer() -> bytes:
            return dumps_bytes(
                {
                    "changes": [r.to_json() for r in rows],
                    "next_after": rows[-1].seq if rows else after,
                    "more": len(rows) == limit,
                },
                indent=None,
            )

        return Response(await run_in_threadpool(answer), media_type="application/json")

    async def erase_case(self, request: Request) -> Response:
        session = self.sessions.session(request.path_params["routine"])
        now = self.clock()
        count = await run_in_threadpool(session.erase, request.path_params["case"], now)
        return _json({"erased_events": count, "erased_at": format_rfc3339(now)})

    async def reopen_case(self, request: Request) -> Response:
        session = self.sessions.session(request.path_params["routine"])
        reopened = await run_in_threadpool(session.reopen, request.path_params["case"])
        return _json({"reopened": reopened})

    async def case_due(self, request: Request) -> Response:
        session = self.sessions.session(request.path_params["routine"])
        as_of = self._judged_at(request)
        case = request.path_params["case"]
        if not session.has_case(case):
            raise Problem(404, "case.unknown", "the routine holds no event of this case")
        options = _output_options(request)

        def answer() -> bytes:
            return session.due(as_of, case).with_output(**options).to_json().encode("utf-8")

        return Response(await run_in_threadpool(answer), media_type="application/json")

    async def all_due(self, request: Request) -> Response:
        session = self.sessions.session(request.path_params["routine"])
        query = parse_due_query(request.query_params)
        # Every page of a listing is judged at its first page's instant.
        try:
            cursor_as_of = parse_as_of(query.as_of) if query.as_of is not None else None
        except CalendarError:  # a cursor this service did not give
            raise QueryError(
                "cursor: not a cursor this service gave; start again without one"
            ) from None
        as_of = self._judged_at(request, cursor_as_of)
        options = _output_options(request)
        judging = self.judging
        judge = (
            judged_here(session, as_of, options, query)
            if judging is None
            else judging.judge(session, as_of, options, query)
        )
        listed = listed_cases(session, query, as_of)
        lines = judged_lines(session, listed, as_of, judge, between=lambda: give_way(session))
        # A plain iterator: Starlette advances it in a worker thread, off the event loop, so
        # the session's lock is never waited for there.
        chunks = in_chunks(page(lines, query, local_stamp(as_of, session.tz)))
        return StreamingResponse(chunks, media_type="application/x-ndjson", headers=NO_STORE)

    async def explain(self, request: Request) -> Response:
        session = self.sessions.session(request.path_params["routine"])
        as_of = self._judged_at(request)
        ident = request.path_params["obligation"]
        case = session.case_of(ident)

        def search() -> tuple[Evaluation, list[Any], list[str]]:
            result = session.due(as_of, case) if case is not None else session.due(as_of)
            found, unknown = find_obligations(result, [ident])
            return result, found, unknown

        result, found, unknown = await run_in_threadpool(search)
        if unknown:
            # Suggest only ids of the obligation's own case, never another case's.
            close = did_you_mean(ident, result.obligation_ids()) if case is not None else None
            hint = str(close) if close else None
            message = f"no obligation {ident!r} in the evaluation at {result.as_of}"
            raise Problem(404, "obligation.unknown", message, hint=hint)
        return _json(
            {"as_of": result.as_of, "obligations": [o.to_json() for o in found], "unknown": []}
        )

    def _subscription(self, request: Request) -> str:
        name = request.path_params["name"]
        if name not in self.deliverer.subscriptions:
            raise Problem(
                404,
                "webhook.unknown",
                f"no subscription {name!r}",
                hint=str(
                    did_you_mean(name, self.deliverer.subscriptions) or "GET /webhooks lists them"
                ),
            )
        return str(name)

    async def webhooks(self, request: Request) -> Response:
        state = self.deliverer.state
        listed = []
        for name, s in self.deliverer.subscriptions.items():
            routines = [r for r in self.sessions.ids() if s.routines is None or r in s.routines]
            listed.append(
                {
                    "name": name,
                    "routines": {r: {"delivered_through": state.cursor(name, r)} for r in routines},
                    "dead_letters": len(state.dead_letters(name)),
                }
            )
        return _json({"subscriptions": listed})

    async def dead_letters(self, request: Request) -> Response:
        name = self._subscription(request)
        return _json(
            {"subscription": name, "dead_letters": self.deliverer.state.dead_letters(name)}
        )

    async def replay(self, request: Request) -> Response:
        name = self._subscription(request)
        routine = request.path_params["routine"]
        seq = request.path_params["seq"]
        if not (seq.isascii() and seq.isdigit() and len(seq) <= 19):
            raise Problem(404, "webhook.no-dead-letter", "no such dead letter")
        try:
            await self.deliverer.replay(name, routine, int(seq))
        except KeyError:
            raise Problem(404, "webhook.no-dead-letter", "no such dead letter") from None
        except OSError as exc:
            raise Problem(
                502, "webhook.failed", f"the receiver still fails: {str(exc)[:200]}"
            ) from None
        return _json({"replayed": True})

    async def access_of_case(self, request: Request) -> Response:
        case = request.query_params.get("case")
        if not case:
            raise Problem(400, "request.bad-option", "give the case: ?case=...")
        entries = await run_in_threadpool(self.access.of_case, case)
        return _json({"accesses": entries})

    async def readyz(self, request: Request) -> Response:
        problems = await run_in_threadpool(self.sessions.problems)
        body = {"ready": not problems, "routines": len(self.sessions.ids()), "problems": problems}
        return _json(body, status=503 if problems else 200)

    async def metrics(self, request: Request) -> Response:
        text = await run_in_threadpool(self.measured.text)
        return Response(text, media_type=CONTENT_TYPE)

    async def routines(self, request: Request) -> Response:
        now = self.clock()
        return _json({"as_of": format_rfc3339(now), "routines": self.sessions.describe(now)})

    async def openapi_document(self, request: Request) -> Response:
        if self._document is None:  # the routes and routines are fixed once served
            used = served_event_types(self.sessions)
            self._document = dumps_bytes(openapi(self.table(), used), indent=None)
        return Response(self._document, media_type="application/json")

    def table(self) -> list[Route]:
        """Every route, with the error model around each handler, registered with its
        declaration (the OpenAPI document is generated from these)."""
        return [
            route(op.LIST_ROUTINES, _handled(self.routines)),
            route(op.POST_EVENTS, _handled(self.post_events)),
            route(op.ERASE_CASE, _handled(self.erase_case)),
            route(op.REOPEN_CASE, _handled(self.reopen_case)),
            route(op.CASE_DUE, _handled(self.case_due)),
            route(op.ALL_DUE, _handled(self.all_due)),
            route(op.CHANGES, _handled(self.changes)),
            route(op.CHANGE_STREAM, _handled(self.change_stream)),
            route(op.EXPLAIN, _handled(self.explain)),
            route(op.CALENDAR_FEED, _handled(self.calendar_feed)),
            route(op.CALENDAR_LINK, _handled(self.calendar_link)),
            route(op.WEBHOOKS, _handled(self.webhooks)),
            route(op.DEAD_LETTERS, _handled(self.dead_letters)),
            route(op.REPLAY, _handled(self.replay)),
            route(op.HEALTHZ, _healthz),
            route(op.READYZ, _handled(self.readyz)),
            route(op.ACCESS, _handled(self.access_of_case)),
            route(op.METRICS, _handled(self.metrics)),
            route(op.OPENAPI_DOCUMENT, _handled(self.openapi_document)),
        ]


def _lifespan(
    scheduler: Scheduler, deliverer: Deliverer, run_scheduler: bool
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    """Start the clock task and the webhook deliveries with the application, and end them
    with it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(scheduler.run()) if run_scheduler else None
        delivering = asyncio.create_task(deliverer.run())
        try:
            yield
        finally:
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering
            if task is not None:
                await scheduler.stop()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, 30)

    return lifespan


def _credentials(
    token: str | None, clients: Clients | None, feed_secret: bytes | None
) -> tuple[Clients, FeedKeys]:
    """The clients (the one admin's token when none are given) and the calendar links' keys.

    Raises:
        ValueError: for a token shorter than 16 characters, or neither token nor clients.
    """
    if clients is None:
        if token is None or len(token) < 16:
            raise ValueError("the token must be at least 16 characters long")
        clients = Clients.single(token)
    secret = feed_secret if feed_secret is not None else (token or "").encode()
    if len(secret) < 16:
        raise ValueError("calendar links need a secret of at least 16 bytes")
    return clients, FeedKeys(hashlib.sha256(b"samverkan calendar feeds\0" + secret).digest())


def create_app(
    sessions: RoutineSessions,
    *,
    token: str | None = None,
    clients: Clients | None = None,
    feed_secret: bytes | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    max_events: int = DEFAULT_MAX_EVENTS,
    pseudonyms: Pseudonyms | None = None,
    clock: Clock = wall_clock,
    allow_personal_case_ids: bool = False,
    run_scheduler: bool = True,
    webhooks: list[Subscription] | None = None,
    webhook_state: Deliveries | None = None,
    access: Accesses | None = None,
    cors_origins: frozenset[str] = frozenset(),
    heap: Heap | None = None,
    judging: JudgingProcess | None = None,
) -> ASGIApp:
    """The ASGI application over ``sessions`` (one live session per routine).

    Args:
        sessions: The routines' live sessions (usually with event stores).
        token: The one admin's bearer token (at least 16 characters), when no ``clients``.
        clients: The clients, their tokens and scopes (see
            :mod:`samverkan_rules.serve.clients`).
        feed_secret: The secret calendar links' keys are made from (default: the token).
        max_body: The largest request body accepted, in bytes.
        max_events: The most events one post may hold.
        pseudonyms: How the log names cases (default: a fresh random key).
        clock: The service's clock (default: the wall clock).
        allow_personal_case_ids: Take posts for case ids that are a valid personnummer or
            samordningsnummer (refused by default: 422 ``case.personal-id``).
        run_scheduler: Run the clock task (see :mod:`samverkan_rules.serve.scheduler`) while
            the application runs: time-driven changes are logged and streamed as they come.
        webhooks: The subscriptions whose changes are delivered (see
            :mod:`samverkan_rules.serve.webhooks`).
        webhook_state: Where deliveries are recorded (default: in memory).
        access: The access log (default: in memory).
        cors_origins: Origins whose browsers may call the service (default: none).
        heap: Settled after each post (see :mod:`samverkan_rules.serve.heap`); the
            service's own process passes one, an application embedding this one need not.
        judging: Judges the cases of a listing of every case (see
            :mod:`samverkan_rules.serve.judging`; default: this process judges them).

    Raises:
        ValueError: for a token shorter than 16 characters, or neither token nor clients.
    """
    clients, keys = _credentials(token, clients, feed_secret)
    scheduler = Scheduler(sessions, clock)
    deliverer = Deliverer(webhooks or [], sessions, scheduler, webhook_state or WebhookState(None))
    access = access if access is not None else AccessLog(None)
    parts = (scheduler, deliverer, access, heap, judging)
    handlers = _Routes(sessions, clock, max_events, allow_personal_case_ids, keys, *parts)
    routes = handlers.table()
    app = Starlette(
        routes=routes,
        exception_handlers={404: _not_found, 405: _not_found, Exception: _internal},
        lifespan=_lifespan(scheduler, deliverer, run_scheduler),
    )
    return guard(
        app,
        clients=clients,
        max_body=max_body,
        names=pseudonyms or Pseudonyms(),
        routes=routes,
        routine_ids=frozenset(sessions.ids()),
        key_opens=lambda routine, who, key: keys.opens(key, routine, who),
        observe=handlers.measured.observe,
        access=access,
        cors_origins=cors_origins,
    )
