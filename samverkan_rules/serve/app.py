"""The HTTP service: a live session with an event store behind a small JSON API.

Routes (JSON in and out; a bearer token on every route but ``/healthz``):

- ``POST /cases/{case}/events``: one event or an array (``id``, ``type``, ``at``, ``data``;
  the case comes from the path). Answers ``{"accepted": n, "as_of": ..., "changes": [...]}``
  once the events are on disk; 409 for an id already used by other content, 422 for an
  unusable event (each problem with the event's ``index`` and ``line``, and its ``field``).
- ``GET /cases/{case}/due?as_of=T``: the evaluation JSON for that case.
- ``GET /due?as_of=T``: every case's result, one JSON object a line (JSON Lines).
- ``GET /obligations/{id}/explain?as_of=T``: the obligation with its steps, as
  ``samverkan explain --format json`` writes them.
- ``GET /healthz``: ``{"ok": true}``.
- ``GET /openapi.json``: the OpenAPI document of these routes.

Errors are ``{"error": {"code", "message", "hint", "diagnostics": [...]}}`` with the codes
and messages the command line uses. The token is compared in constant time; request bodies
are limited in size; the log names a case only by a keyed pseudonym and never shows event
data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from samverkan_rules._json import dumps_bytes
from samverkan_rules._version import version
from samverkan_rules.diagnostics import Diagnostic, did_you_mean
from samverkan_rules.engine.result import find_obligations
from samverkan_rules.errors import CalendarError, EvaluationError, EventError
from samverkan_rules.live.session import Session
from samverkan_rules.live.store import EventConflictError
from samverkan_rules.time.instants import parse_as_of

DEFAULT_MAX_BODY = 1024 * 1024
"""The largest request body accepted by default (1 MiB), in bytes."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("samverkan.serve")


class _TooLarge(Exception):
    pass


class _Problem(Exception):
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


def _problem_response(problem: _Problem) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
    return JSONResponse(problem.body, status_code=problem.status, headers=headers)


def _diagnostics(diagnostics: tuple[Diagnostic, ...]) -> list[dict[str, Any]]:
    out = []
    for d in diagnostics:
        record = d.to_json()
        if d.line is not None:
            record["index"] = d.line - 1
        record["field"] = d.path
        out.append(record)
    return out


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


def _guard_middleware(app: ASGIApp, *, token: str, max_body: int, names: Pseudonyms) -> ASGIApp:
    """Token check (constant time), body size limit and a pseudonymous access log."""
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
            await send(message)

        path: str = scope["path"]
        try:
            if path != "/healthz":
                headers = dict(scope.get("headers") or [])
                given = headers.get(b"authorization", b"")
                scheme, _, credential = given.partition(b" ")
                ok = hmac.compare_digest(credential.strip(), expected)
                if scheme.lower() != b"bearer" or not ok:
                    raise _Problem(
                        401,
                        "auth.unauthorized",
                        "a valid bearer token is required",
                        hint="send the header 'Authorization: Bearer <token>'",
                    )
                length = headers.get(b"content-length")
                if length is not None and length.isdigit() and int(length) > max_body:
                    raise _Problem(
                        413,
                        "request.too-large",
                        f"the request body is larger than {max_body} bytes",
                        hint="post fewer events per request",
                    )
            await app(scope, _limited(receive, max_body), send_logged)
        except _Problem as problem:
            await _problem_response(problem)(scope, receive, send_logged)
        except _TooLarge:
            too_large = _Problem(
                413, "request.too-large", f"the request body is larger than {max_body} bytes"
            )
            await _problem_response(too_large)(scope, receive, send_logged)
        finally:
            log.info(
                "%s %s %d %.1fms",
                scope.get("method", "-"),
                _log_path(path, names),
                status_holder["status"],
                (time.perf_counter() - started) * 1000,
            )

    return guarded


def _limited(receive: Receive, max_body: int) -> Receive:
    """``receive`` that refuses a body (chunked or not) longer than ``max_body``."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_body:
                raise _TooLarge
        return message

    return wrapped


def _where(exc: BaseException) -> str:
    """An exception's type and the line that raised it, without its message (which may
    quote event data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {last.filename}:{last.lineno}"


def _log_path(path: str, names: Pseudonyms) -> str:
    """The path with case and obligation ids replaced by pseudonyms."""
    parts = path.split("/")
    if len(parts) >= 3 and parts[1] in ("cases", "obligations") and parts[2]:
        parts[2] = names(parts[2])
    return "/".join(parts)


def _as_of(request: Request) -> Any:
    text = request.query_params.get("as_of")
    if not text:
        raise _Problem(
            400,
            "request.as-of-missing",
            "as_of is required, e.g. ?as_of=2026-12-15T12:00:00%2B01:00",
            hint="give the instant to evaluate at, with its UTC offset",
        )
    try:
        return parse_as_of(text)
    except CalendarError as exc:
        raise _Problem(400, "request.bad-as-of", str(exc)) from None


def _output_options(request: Request) -> dict[str, bool]:
    """``ledger`` and ``trace`` from the query (``true``/``false``, ``1``/``0``): the full
    ledger and the traces are written only when asked for, like ``samverkan due``."""
    out: dict[str, bool] = {}
    for name in ("ledger", "trace"):
        text = request.query_params.get(name, "false").lower()
        if text not in ("true", "false", "1", "0"):
            raise _Problem(
                400,
                "request.bad-option",
                f"{name}={text!r}: write true or false",
                hint=f"e.g. ?{name}=true",
            )
        out[name] = text in ("true", "1")
    return out


async def _json_body(request: Request) -> Any:
    try:
        body = await request.body()
    except _TooLarge:
        raise _Problem(
            413, "request.too-large", "the request body is too large", hint="post fewer events"
        ) from None
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _Problem(
            400,
            "request.bad-json",
            f"the body is not valid JSON: {exc}",
            hint="send one event as a JSON object, or several as a JSON array",
        ) from None


def _handled(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """``endpoint`` with every error it raises turned into an error answer."""

    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except _Problem as problem:
            return _problem_response(problem)
        except EventConflictError as exc:
            return _problem_response(
                _Problem(
                    409,
                    "event.conflict",
                    str(exc).splitlines()[0],
                    hint="give every event its own id",
                    diagnostics=_diagnostics(exc.diagnostics),
                )
            )
        except EventError as exc:
            return _problem_response(
                _Problem(
                    422,
                    "event.invalid",
                    str(exc).splitlines()[0],
                    diagnostics=_diagnostics(exc.diagnostics),
                )
            )
        except EvaluationError as exc:
            return _problem_response(_Problem(400, "request.invalid", str(exc)))
        except Exception as exc:  # a message may quote event data: log where, not what
            log.error("request failed: %s", _where(exc))
            return _problem_response(
                _Problem(500, "internal", "the service could not answer; see its log")
            )

    return run


def _posted_events(body: Any, case: str) -> list[dict[str, Any]]:
    """The posted events, each in the path's case; every item that is no event of it is
    a problem, and any problem refuses the whole post."""
    items = body if isinstance(body, list) else [body]
    if not items:
        raise _Problem(422, "event.none", "the array holds no events")
    problems: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(
                {
                    "level": "error",
                    "code": "event.not-object",
                    "message": f"expected a JSON object, got {type(item).__name__}",
                    "index": index,
                    "line": index + 1,
                    "field": None,
                }
            )
            continue
        given = item.get("case")
        if given is not None and given != case:
            problems.append(
                {
                    "level": "error",
                    "code": "event.case-mismatch",
                    "message": "the event names another case than the path",
                    "index": index,
                    "line": index + 1,
                    "field": "case",
                }
            )
            continue
        events.append({**item, "case": case})
    if problems:
        raise _Problem(
            422,
            "event.invalid",
            f"{len(problems)} problem(s) with the posted events",
            diagnostics=problems,
        )
    return events


async def _healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def _openapi_document(request: Request) -> Response:
    return JSONResponse(openapi())


async def _not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    return _problem_response(
        _Problem(
            status,
            "request.not-found" if status == 404 else "request.method",
            "no such route" if status == 404 else "method not allowed here",
            hint="GET /openapi.json lists the routes",
        )
    )


async def _internal(request: Request, exc: Exception) -> Response:
    log.error("request failed: %s", _where(exc))
    return _problem_response(_Problem(500, "internal", "the service could not answer; see its log"))


def create_app(
    session: Session,
    *,
    token: str,
    max_body: int = DEFAULT_MAX_BODY,
    pseudonyms: Pseudonyms | None = None,
) -> ASGIApp:
    """The ASGI application over ``session``.

    Args:
        session: The live session (usually with an event store).
        token: The bearer token every route but ``/healthz`` needs; at least 16 characters.
        max_body: The largest request body accepted, in bytes.
        pseudonyms: How the log names cases (default: a fresh random key).

    Raises:
        ValueError: for a token shorter than 16 characters.
    """
    if len(token) < 16:
        raise ValueError("the token must be at least 16 characters long")
    names = pseudonyms or Pseudonyms()

    async def post_events(request: Request) -> Response:
        case = request.path_params["case"]
        events = _posted_events(await _json_body(request), case)
        changes = await run_in_threadpool(session.post, events)
        return JSONResponse(changes.to_json())

    async def case_due(request: Request) -> Response:
        as_of = _as_of(request)
        case = request.path_params["case"]
        result = await run_in_threadpool(session.due, as_of, case)
        text = result.with_output(**_output_options(request)).to_json()
        return Response(text, media_type="application/json")

    async def all_due(request: Request) -> Response:
        as_of = _as_of(request)
        result = await run_in_threadpool(session.due, as_of)
        wanted = result.with_output(**_output_options(request))

        async def lines() -> AsyncIterator[bytes]:
            for case in wanted.case_dicts():
                yield dumps_bytes(case, indent=None) + b"\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    async def explain(request: Request) -> Response:
        as_of = _as_of(request)
        ident = request.path_params["obligation"]
        result = await run_in_threadpool(session.due, as_of)
        found, unknown = find_obligations(result, [ident])
        if unknown:
            known = result.obligation_ids()
            message = f"no obligation {ident!r} in the evaluation at {result.as_of}"
            raise _Problem(404, "obligation.unknown", message, hint=did_you_mean(ident, known))
        return JSONResponse(
            {
                "as_of": result.as_of,
                "obligations": [o.to_json() for o in found],
                "unknown": [],
            }
        )

    app = Starlette(
        routes=[
            Route("/cases/{case}/events", _handled(post_events), methods=["POST"]),
            Route("/cases/{case}/due", _handled(case_due), methods=["GET"]),
            Route("/due", _handled(all_due), methods=["GET"]),
            Route("/obligations/{obligation}/explain", _handled(explain), methods=["GET"]),
            # The route names url_path_for knows: "healthz", not the private function names.
            Route("/healthz", _healthz, methods=["GET"], name="healthz"),
            Route("/openapi.json", _openapi_document, methods=["GET"], name="openapi_document"),
        ],
        exception_handlers={404: _not_found, 405: _not_found, Exception: _internal},
    )
    return _guard_middleware(app, token=token, max_body=max_body, names=names)


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "hint": {"type": ["string", "null"]},
                    "diagnostics": {"type": "array", "items": {"type": "object"}},
                },
                "required": ["code", "message"],
            }
        },
    }


def _event_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["id", "type", "at"],
        "properties": {
            "id": {"type": "string"},
            "type": {"type": "string"},
            "at": {"type": "string", "description": "RFC 3339 with offset"},
            "data": {"type": "object"},
            "case": {"type": "string", "description": "optional; must equal the path's"},
        },
    }


def _errors(*codes: int) -> dict[str, Any]:
    """The error answers of a route, by HTTP status."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    texts = {
        400: "bad request (as_of, JSON)",
        401: "no or a wrong bearer token",
        404: "unknown obligation",
        409: "an event id already used by other content",
        413: "request body too large",
        422: "an unusable event (index, line, field)",
    }
    return {str(c): {"description": texts[c], "content": error} for c in codes}


def _post_events_operation(case: dict[str, Any]) -> dict[str, Any]:
    event = {"$ref": "#/components/schemas/Event"}
    return {
        "summary": "Post one event or an array of events of a case",
        "parameters": [case],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"oneOf": [event, {"type": "array", "items": event}]}
                }
            },
        },
        "responses": {
            "200": {
                "description": "stored; the obligations that changed",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **_errors(400, 401, 409, 413, 422),
        },
    }


_OUTPUT_PARAMETERS = [
    {
        "name": name,
        "in": "query",
        "required": False,
        "description": text,
        "schema": {"type": "boolean", "default": False},
    }
    for name, text in (
        ("ledger", "also each case's full ledger (fulfilled and cancelled obligations)"),
        ("trace", "each obligation's trace: the calendar steps of its deadline"),
    )
]


def _evaluation_paths(case: dict[str, Any], as_of: dict[str, Any]) -> dict[str, Any]:
    """The routes that evaluate at an instant: one case, every case, one obligation."""
    obligation = {
        "name": "obligation",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    return {
        "/cases/{case}/due": {
            "get": {
                "summary": "The evaluation of one case (schemas/evaluation.schema.json)",
                "parameters": [case, as_of, *_OUTPUT_PARAMETERS],
                "responses": {"200": {"description": "the evaluation"}, **_errors(400, 401)},
            }
        },
        "/due": {
            "get": {
                "summary": "Every case's result, one JSON object a line",
                "parameters": [as_of, *_OUTPUT_PARAMETERS],
                "responses": {
                    "200": {"description": "JSON Lines", "content": {"application/x-ndjson": {}}},
                    **_errors(400, 401),
                },
            }
        },
        "/obligations/{obligation}/explain": {
            "get": {
                "summary": "How an obligation's deadline and status were reached",
                "parameters": [obligation, as_of],
                "responses": {
                    "200": {"description": "as samverkan explain --format json"},
                    **_errors(400, 401, 404),
                },
            }
        },
    }


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the service.

    Examples:
        >>> sorted(openapi()["paths"])[:2]
        ['/cases/{case}/due', '/cases/{case}/events']
    """
    as_of = {
        "name": "as_of",
        "in": "query",
        "required": True,
        "description": "RFC 3339 instant with its offset, e.g. 2026-12-15T12:00:00+01:00",
        "schema": {"type": "string"},
    }
    case = {"name": "case", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "samverkan-rules live service",
            "version": version(),
            "description": "Post case events as they happen; ask what is due.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": _error_schema(), "Event": _event_schema()},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/cases/{case}/events": {"post": _post_events_operation(case)},
            **_evaluation_paths(case, as_of),
            "/healthz": {
                "get": {
                    "summary": "Liveness",
                    "security": [],
                    "responses": {"200": {"description": '{"ok": true}'}},
                }
            },
            "/openapi.json": {
                "get": {"summary": "This document", "responses": {"200": {"description": "OK"}}}
            },
        },
    }
