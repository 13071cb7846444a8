"""Every route of the service declared with what it takes and answers.

A route is registered through :func:`route` with one of the operations below, so the path
and method it is served at are the ones its declaration documents; the OpenAPI document
(:func:`samverkan_rules.serve.openapi.openapi`) is generated from the registered routes and
nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from samverkan_rules.records import EvaluationDocument
from samverkan_rules.serve import answers as a
from samverkan_rules.serve.answers import Parameters

Security = Literal["token", "none", "token-or-key"]
"""How a route is opened: the bearer token, nothing (probes), or the token or a calendar
link's key."""


@dataclass(frozen=True)
class Answer:
    """One documented answer of a route.

    Attributes:
        description: What it means.
        body: The record its JSON body is (a tuple: one of these records), or None.
        media: Its media type.
        schema: The schema of a body that is no record (text), when ``body`` is None.
    """

    description: str
    body: type[Any] | tuple[type[Any], ...] | None = None
    media: str = "application/json"
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Operation:
    """A route's declaration: where it is served and what it takes and answers.

    Attributes:
        operation_id: Its name in generated clients.
        method: The HTTP method.
        path: The path template (Starlette's ``{name}`` parameters, each a field of
            :class:`~samverkan_rules.serve.answers.PathIds`).
        summary: What it does.
        ok: Its answer when it succeeds (200).
        parameters: Its query and header parameters, a struct per group.
        events: Whether it takes posted events as its body.
        errors: The statuses of its error answers, beyond those of the token check.
        other: Other answers, by status.
        security: How it is opened.
    """

    operation_id: str
    method: Literal["GET", "POST", "DELETE"]
    path: str
    summary: str
    ok: Answer
    parameters: tuple[type[Parameters], ...] = ()
    events: bool = False
    errors: tuple[int, ...] = ()
    other: Mapping[int, Answer] = field(default_factory=dict)
    security: Security = "token"


class TypedRoute(Route):
    """A Starlette route that carries its declaration."""

    def __init__(
        self,
        operation: Operation,
        endpoint: Callable[[Request], Awaitable[Response]],
        *,
        name: str | None = None,
    ) -> None:
        super().__init__(
            operation.path,
            endpoint,
            methods=[operation.method],
            name=name or operation.operation_id,
        )
        self.operation = operation


def route(
    operation: Operation,
    endpoint: Callable[[Request], Awaitable[Response]],
    name: str | None = None,
) -> TypedRoute:
    """The route serving ``operation`` with ``endpoint``."""
    return TypedRoute(operation, endpoint, name=name)


_TEXT: Mapping[str, Any] = {"type": "string"}

LIST_ROUTINES = Operation(
    "list_routines",
    "GET",
    "/routines",
    "The routines served: versions, the one in force, each file's SHA-256, the event types "
    "each uses",
    Answer("the routines", a.RoutineList),
)
POST_EVENTS = Operation(
    "post_events",
    "POST",
    "/routines/{routine}/cases/{case}/events",
    "Post one event or an array of events of a case, all or nothing; the answer comes once "
    "they are on disk",
    Answer("stored; the obligations that changed", a.Posted),
    parameters=(a.Idempotency,),
    events=True,
    errors=(404, 409, 422),
)
ERASE_CASE = Operation(
    "erase_case",
    "DELETE",
    "/routines/{routine}/cases/{case}",
    "Erase a case: its events leave the store (overwritten, the log truncated); a tombstone "
    "(keyed pseudonym, time) refuses its later events with 409 until it is reopened",
    Answer("erased", a.Erased),
    errors=(404,),
)
REOPEN_CASE = Operation(
    "reopen_case",
    "POST",
    "/routines/{routine}/cases/{case}/reopen",
    "Take events of an erased case again (its old events stay gone)",
    Answer("whether it was erased", a.Reopened),
    errors=(404,),
)
CASE_DUE = Operation(
    "case_due",
    "GET",
    "/routines/{routine}/cases/{case}/due",
    "The evaluation of one case (schemas/evaluation.schema.json)",
    Answer("the evaluation", EvaluationDocument),
    parameters=(a.AsOf, a.Output),
    errors=(404,),
)
ALL_DUE = Operation(
    "all_due",
    "GET",
    "/routines/{routine}/due",
    "Every case's result, one JSON object a line (JSON Lines), then a trailer line "
    '{"trailer": {"count", "as_of", "next_cursor"}}; the schema is that of one line',
    Answer("JSON Lines: each case's result, then the trailer", a.DUE_LINE, "application/x-ndjson"),
    parameters=(a.AsOf, a.Output, a.DueFilters),
    errors=(404,),
)
CHANGES = Operation(
    "changes",
    "GET",
    "/routines/{routine}/changes",
    "The changes posts and ticks reported after a sequence number (also across restarts)",
    Answer("the changes", a.ChangePage),
    parameters=(a.ChangesQuery,),
    errors=(404,),
)
CHANGE_STREAM = Operation(
    "change_stream",
    "GET",
    "/routines/{routine}/changes/stream",
    "The change log as Server-Sent Events, live: each change an event (id: its sequence "
    "number, event: change, data: a LoggedChange's JSON), including what time alone changed "
    "(a deadline passing), announced when it happens",
    Answer("the stream", media="text/event-stream", schema=_TEXT),
    parameters=(a.StreamQuery, a.StreamResume),
    errors=(404,),
)
EXPLAIN = Operation(
    "explain",
    "GET",
    "/routines/{routine}/obligations/{obligation}/explain",
    "How an obligation's deadline and status were reached; only its case is evaluated",
    Answer("the obligation with its steps", a.Explained),
    parameters=(a.AsOf,),
    errors=(404,),
)
CALENDAR_FEED = Operation(
    "calendar_feed",
    "GET",
    "/routines/{routine}/calendar/{who}.ics",
    "The open obligations of a role or unit as an iCalendar feed (RFC 5545), one event at "
    "each deadline",
    Answer("iCalendar", media="text/calendar", schema=_TEXT),
    parameters=(a.AsOf,),
    errors=(404,),
    security="token-or-key",
)
CALENDAR_LINK = Operation(
    "calendar_link",
    "GET",
    "/routines/{routine}/calendar/{who}",
    "The link of a calendar feed, with its key",
    Answer("the link", a.CalendarLink),
    errors=(404,),
)
WEBHOOKS = Operation(
    "webhooks",
    "GET",
    "/webhooks",
    "The webhook subscriptions and how far each delivered (admin)",
    Answer("the subscriptions", a.SubscriptionList),
)
DEAD_LETTERS = Operation(
    "dead_letters",
    "GET",
    "/webhooks/{name}/dead-letters",
    "The changes a subscription set aside after failing to deliver them (admin)",
    Answer("the dead letters", a.DeadLetterList),
    errors=(404,),
)
REPLAY = Operation(
    "replay",
    "POST",
    "/webhooks/{name}/dead-letters/{routine}/{seq}/replay",
    "Deliver a dead letter again, once; it leaves the dead letters when it arrives (admin)",
    Answer("delivered", a.Replayed),
    errors=(404,),
    other={502: Answer("the receiver still fails", a.ErrorAnswer)},
)
HEALTHZ = Operation(
    "healthz",
    "GET",
    "/healthz",
    "Liveness: the process answers",
    Answer("alive", a.Health),
    security="none",
)
READYZ = Operation(
    "readyz",
    "GET",
    "/readyz",
    "Readiness: every routine's store can be read",
    Answer("ready", a.Readiness),
    other={503: Answer("a store cannot be read", a.Readiness)},
    security="none",
)
ACCESS = Operation(
    "access",
    "GET",
    "/access",
    "Who accessed a case (admin)",
    Answer("the accesses", a.AccessList),
    parameters=(a.CaseQuery,),
)
METRICS = Operation(
    "metrics",
    "GET",
    "/metrics",
    "Prometheus metrics (text format): requests by route template, obligations by status, "
    "events, cases and the next change per routine (admin)",
    Answer("metrics", media="text/plain", schema=_TEXT),
)
OPENAPI_DOCUMENT = Operation(
    "openapi_document",
    "GET",
    "/openapi.json",
    "This document (OpenAPI 3.1)",
    Answer("the document", schema={"type": "object"}),
)
