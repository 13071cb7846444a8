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
from typing import Any
from urllib.parse import parse_qs, unquote

from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match

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


NO_STORE = {"Cache-Control": "no-store"}
"""Every answer may hold case data: no proxy or browser keeps a copy."""


def problem_response(problem: Problem) -> JSONResponse:
    """The JSON answer of ``problem``."""
    headers = dict(NO_STORE)
    if problem.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(problem.body, status_code=problem.status, headers=headers)


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


def _described(
    scope: Scope, routes: Sequence[BaseRoute], names: Pseudonyms, routine_ids: Container[str]
) -> tuple[str, str]:
    """The request's route template and the request as the log names it: the template, the
    routine when it is served, and the case and obligation by pseudonym; ``(no route)`` for
    any other path."""
    for route in routes:
        match, child = route.matches({**scope, "method": scope.get("method", "GET")})
        if match is Match.NONE:
            continue
        params: dict[str, str] = child.get("path_params", {})
        parts = [getattr(route, "path", "(route)")]
        routine = params.get("routine")
        if routine is not None:
            parts.append(f"routine={routine if routine in routine_ids else '(unknown)'}")
        for name in ("case", "obligation"):
            if name in params:
                parts.append(f"{name}={names(params[name])}")
        return parts[0], " ".join(parts)
    return "(no route)", "(no route)"


def _authorized(headers: list[tuple[bytes, bytes]], expected: bytes) -> None:
    """Refuse a request without exactly one valid bearer token (compared in constant time);
    two ``Authorization`` headers are refused, since servers and proxies disagree on which
    one counts."""
    given = [value for name, value in headers if name.lower() == b"authorization"]
    if len(given) > 1:
        raise Problem(
            400,
            "auth.duplicate",
            "the request has more than one Authorization header",
            hint="send the header 'Authorization: Bearer <token>' once",
        )
    scheme, _, credential = (given[0] if given else b"").partition(b" ")
    ok = hmac.compare_digest(credential.strip(), expected)
    if scheme.lower() != b"bearer" or not ok:
        raise Problem(
            401,
            "auth.unauthorized",
            "a valid bearer token is required",
            hint="send the header 'Authorization: Bearer <token>'",
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


def guard(
    app: ASGIApp,
    *,
    token: str,
    max_body: int,
    names: Pseudonyms,
    routes: Sequence[BaseRoute],
    routine_ids: Container[str],
    key_opens: KeyCheck | None = None,
    observe: Callable[[str, str, int, float], None] | None = None,
) -> ASGIApp:
    """``app`` behind the token check, the body size limit, ``Cache-Control: no-store`` on
    every answer and a log line per request naming only the route. A calendar feed's GET
    is let through without the token when ``key_opens`` accepts its link's key; ``observe``
    is told each request's method, route template, status and seconds (for metrics)."""
    expected = token.encode("utf-8")

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                ]
                message = {**message, "headers": [*headers, (b"cache-control", b"no-store")]}
            await send(message)

        try:
            headers = list(scope.get("headers") or [])
            if scope["path"] not in OPEN_PATHS and not _opened_by_key(scope, key_opens):
                _authorized(headers, expected)
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
            await app(scope, limited(receive, max_body), send_logged)
        except Problem as problem:
            await problem_response(problem)(scope, receive, send_logged)
        except TooLargeError:
            too_large = Problem(
                413, "request.too-large", f"the request body is larger than {max_body} bytes"
            )
            await problem_response(too_large)(scope, receive, send_logged)
        finally:
            method = scope.get("method", "-") if scope.get("method") in _METHODS else "(method)"
            template, described = _described(scope, routes, names, routine_ids)
            elapsed = time.perf_counter() - started
            log.info("%s %s %d %.1fms", method, described, status_holder["status"], elapsed * 1000)
            if observe is not None:
                observe(method, template, status_holder["status"], elapsed)

    return guarded


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
