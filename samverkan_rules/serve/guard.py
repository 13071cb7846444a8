"""What stands before every route: the token, the body limit, the error model and the log.

The log names a request by the route it matched (``/routines/{routine}/cases/{case}/due``),
never by its raw path, so a case id in a path that matches no route, an encoded newline or
an absolute-form target never reaches it; the case and the obligation appear only as keyed
pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
import traceback
from collections.abc import Awaitable, Callable, Container, MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match

from samverkan_rules.serve.access import Accesses
from samverkan_rules.serve.clients import Client, Clients, required_scope
from samverkan_rules.serve.logs import (
    current_request_id,
    enter_request,
    leave_request,
    request_id_of,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("samverkan.serve")

OPEN_PATHS = frozenset({"/healthz", "/readyz"})
"""Routes answered without a token (probes, which say nothing of cases)."""


class TooLargeError(Exception):
    """The request body grew past the limit while it was read."""


class Problem(Exception):
    """An error answer: HTTP status, code, message, hint and diagnostics."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        hint: str | None = None,
        diagnostics: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "error": {
                "code": code,
                "message": message,
                "hint": hint,
                "diagnostics": diagnostics or [],
            }
        }


RETRY_AFTER = 5
"""Seconds a client is asked to wait (``Retry-After``) when the store cannot be reached."""

NO_STORE = {"Cache-Control": "no-store"}
"""Every answer may hold case data: no proxy or browser keeps a copy."""


def problem_response(problem: Problem) -> JSONResponse:
    """The JSON answer of ``problem``, with the request's id (``error.request_id``) so a
    caller can name the request in a report and the operator find its log lines."""
    headers = dict(NO_STORE)
    if problem.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if problem.status == 503:
        headers["Retry-After"] = str(RETRY_AFTER)
    body = {"error": {**problem.body["error"], "request_id": current_request_id()}}
    return JSONResponse(body, status_code=problem.status, headers=headers)


class Pseudonyms:
    """Keyed pseudonyms for logs: the same case gets the same name within one process, and
    the name cannot be turned back into the case id without the key (never written out).

    Examples:
        >>> p = Pseudonyms(b"k" * 32)
        >>> p("c1") == p("c1"), p("c1") == p("c2"), p("c1").startswith("p-")
        (True, False, True)
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def __call__(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()
        return "p-" + digest[:12]


def where(exc: BaseException) -> str:
    """An exception's type and the line that raised it, without its message (which may
    quote event data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {last.filename}:{last.lineno}"


def _matched(scope: Scope, routes: Sequence[BaseRoute]) -> tuple[str, dict[str, str]]:
    """The request's route template and path parameters; ``(no route)`` for any other
    path."""
    for route in routes:
        match, child = route.matches({**scope, "method": scope.get("method", "GET")})
        if match is Match.NONE:
            continue
        return getattr(route, "path", "(route)"), dict(child.get("path_params", {}))
    return "(no route)", {}


def _described(
    template: str, params: dict[str, str], names: Pseudonyms, routine_ids: Container[str]
) -> str:
    """The request as the log names it: the route template, the routine when it is served,
    and the case and obligation by pseudonym."""
    parts = [template]
    routine = params.get("routine")
    if routine is not None:
        parts.append(f"routine={routine if routine in routine_ids else '(unknown)'}")
    for name in ("case", "obligation"):
        if name in params:
            parts.append(f"{name}={names(params[name])}")
    return " ".join(parts)


def _authorized(headers: list[tuple[bytes, bytes]], clients: Clients) -> Client:
    """The client of exactly one valid bearer token (compared in constant time); two
    ``Authorization`` headers are refused, since servers and proxies disagree on which one
    counts."""
    given = [value for name, value in headers if name.lower() == b"authorization"]
    if len(given) > 1:
        raise Problem(
            400,
            "auth.duplicate",
            "the request has more than one Authorization header",
            hint="send the header 'Authorization: Bearer <token>' once",
        )
    scheme, _, credential = (given[0] if given else b"").partition(b" ")
    client = clients.identify(credential.strip())
    if scheme.lower() != b"bearer" or client is None:
        raise Problem(
            401,
            "auth.unauthorized",
            "a valid bearer token is required",
            hint="send the header 'Authorization: Bearer <token>'",
        )
    return client


def _permitted(client: Client, method: str, template: str) -> None:
    """Refuse a request its client holds no scope for (403)."""
    need = required_scope(method, template)
    if not client.may(need):
        raise Problem(
            403,
            "auth.forbidden",
            f"the client {client.name!r} may not do this: it needs the {need!r} scope",
            hint="ask the service's operator for a client with that scope",
        )


CORS_HEADERS = b"authorization, content-type, idempotency-key, last-event-id"


def _preflight(origin: bytes) -> Response:
    """The answer to a CORS preflight from an allowed origin (before any token check:
    browsers send no credentials with it)."""
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": origin.decode("latin-1"),
            "Access-Control-Allow-Methods": "GET, POST, DELETE",
            "Access-Control-Allow-Headers": CORS_HEADERS.decode(),
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        },
    )


KeyCheck = Callable[[str, str, str], bool]
"""Whether a link key (the third argument) opens the calendar feed of a routine's role or
unit (the first two)."""


_FEED = re.compile(r"/routines/(?P<routine>[^/]+)/calendar/(?P<who>[^/]+)\.ics")


def _opened_by_key(scope: Scope, key_opens: KeyCheck | None) -> bool:
    """Whether the request is a calendar feed's GET with a key that opens it: calendar
    programs subscribe to a link and cannot send a bearer token."""
    if key_opens is None or scope.get("method") not in ("GET", "HEAD"):
        return False
    found = _FEED.fullmatch(scope["path"])
    if found is None:
        return False
    keys = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("key", [])
    return len(keys) == 1 and key_opens(unquote(found["routine"]), unquote(found["who"]), keys[0])


Observer = Callable[[str, str, int, float], None]
"""Told each request's method, route template, status and seconds (for metrics)."""


def guard(
    app: ASGIApp,
    *,
    clients: Clients,
    max_body: int,
    names: Pseudonyms,
    routes: Sequence[BaseRoute],
    routine_ids: Container[str],
    key_opens: KeyCheck | None = None,
    observe: Observer | None = None,
    access: Accesses | None = None,
    cors_origins: Container[str] = (),
) -> ASGIApp:
    """``app`` behind the clients' tokens and scopes, the body size limit,
    ``Cache-Control: no-store`` on every answer and a log line per request naming only the
    route. A calendar feed's GET is let through without a token when ``key_opens`` accepts
    its link's key; ``observe`` is told of every request; ``access`` records each request
    that names a case; a browser from one of ``cors_origins`` may call the service."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500}
        headers = list(scope.get("headers") or [])
        request_id = request_id_of(headers)
        entered = enter_request(request_id)
        origin = dict(headers).get(b"origin")
        allowed = (
            origin if origin is not None and origin.decode("latin-1") in cors_origins else None
        )

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message = _headed(message, request_id, allowed)
            await send(message)

        method = scope.get("method", "-") if scope.get("method") in _METHODS else "(method)"
        template, params = _matched(scope, routes)
        who = "-"
        try:
            if allowed is not None and method == "OPTIONS":
                await _preflight(allowed)(scope, receive, send)
                status_holder["status"] = 204
                return
            if _opened_by_key(scope, key_opens):
                who = "calendar-link"
            elif scope["path"] not in OPEN_PATHS:
                client = _authorized(headers, clients)
                who = client.name
                _permitted(client, method, template)
                scope.setdefault("state", {})["client"] = client.name
                _framing(headers, max_body)
            await app(scope, limited(receive, max_body), send_logged)
        except Problem as problem:
            await problem_response(problem)(scope, receive, send_logged)
        except TooLargeError:
            too_large = Problem(
                413, "request.too-large", f"the request body is larger than {max_body} bytes"
            )
            await problem_response(too_large)(scope, receive, send_logged)
        finally:
            _account(
                (method, template, params, who, status_holder["status"]),
                time.perf_counter() - started,
                names,
                routine_ids,
                observe,
                access,
            )
            leave_request(entered)

    return guarded


def _headed(message: Message, request_id: str, allowed: bytes | None) -> Message:
    """A response's start with ``Cache-Control: no-store``, the request's id and, for an
    allowed origin, the CORS headers."""
    kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
    kept.append((b"cache-control", b"no-store"))
    kept.append((b"x-request-id", request_id.encode("ascii")))
    if allowed is not None:
        kept += [(b"access-control-allow-origin", allowed), (b"vary", b"Origin")]
    return {**message, "headers": kept}


def _account(
    request: tuple[str, str, dict[str, str], str, int],
    elapsed: float,
    names: Pseudonyms,
    routine_ids: Container[str],
    observe: Observer | None,
    access: Accesses | None,
) -> None:
    """Log a request (by its route), tell the observer, and record a case's access."""
    method, template, params, who, status = request
    described = _described(template, params, names, routine_ids)
    log.info("%s %s %d %.1fms client=%s", method, described, status, elapsed * 1000, who)
    if observe is not None:
        observe(method, template, status, elapsed)
    if access is not None and "case" in params and who != "-":
        access.record(
            at=datetime.now(UTC),
            client=who,
            method=method,
            route=template,
            routine=params.get("routine"),
            case=params["case"],
            status=status,
        )


def _framing(headers: list[tuple[bytes, bytes]], max_body: int) -> None:
    """Refuse a body framed two ways, or announced larger than ``max_body``."""
    given = {name.lower() for name, _ in headers}
    if b"content-length" in given and b"transfer-encoding" in given:
        # Proxies and servers disagree on which one frames the body.
        raise Problem(
            400,
            "request.ambiguous-length",
            "the request has both Content-Length and Transfer-Encoding",
            hint="send one of them",
        )
    length = dict(headers).get(b"content-length")
    if length is not None and length.isdigit() and int(length) > max_body:
        raise Problem(
            413,
            "request.too-large",
            f"the request body is larger than {max_body} bytes",
            hint="post fewer events per request",
        )


_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})


def limited(receive: Receive, max_body: int) -> Receive:
    """``receive`` that refuses a body (chunked or not) longer than ``max_body``."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_body:
                raise TooLargeError
        return message

    return wrapped
