"""Reading a request: its JSON body (bounded in depth and size, decoded off the event loop
when large), the events a post holds, whole-number query parameters, and the
``Idempotency-Key`` with a lock per key."""

from __future__ import annotations

import asyncio
import contextlib
import json
import unicodedata
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from samverkan_rules.serve.guard import Problem, TooLargeError

MAX_DIAGNOSTICS = 100
"""The most problems one error answer lists (its message gives the count of all)."""

MAX_KEY = 255
"""The longest ``Idempotency-Key`` taken, in characters."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


INLINE_BODY = 16 * 1024
"""Bodies up to this size (bytes) are decoded on the event loop, larger ones in a thread."""

MAX_DEPTH = 32
"""The deepest nesting a posted body may have (an event is three levels deep)."""


def _depth(value: Any) -> int:
    """How deeply ``value`` nests, counted without recursion (a deep body cannot overflow
    the stack here)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                break
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _decoded(body: bytes) -> Any:
    """The JSON of a body; every way it can be unusable (bad syntax or UTF-8, nesting too
    deep, an integer too long, ``NaN``/``Infinity``, a lone surrogate) is a ValueError."""
    try:
        value = json.loads(body, parse_constant=_no_constant)
        if _depth(value) > MAX_DEPTH:
            raise RecursionError
        # A lone surrogate parses but cannot be written as UTF-8 (nor stored).
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    except UnicodeError:
        raise ValueError("the JSON is not valid UTF-8 text (e.g. a lone surrogate)") from None
    return value


async def json_body(request: Request) -> Any:
    try:
        body = await request.body()
    except TooLargeError:
        raise Problem(
            413, "request.too-large", "the request body is too large", hint="post fewer events"
        ) from None
    try:
        # A small body is decoded at once (a thread hop would cost more than the work); a
        # large one in a worker thread, so it holds up no other request.
        if len(body) <= INLINE_BODY:
            return _decoded(body)
        return await run_in_threadpool(_decoded, body)
    except ValueError as exc:
        raise Problem(
            400,
            "request.bad-json",
            f"the body is not usable JSON: {str(exc)[:200]}",
            hint="send one event as a JSON object, or several as a JSON array",
        ) from None


def count_param(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    """A whole-number query parameter between ``low`` and ``high``."""
    text = request.query_params.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 19) or not low <= int(text) <= high:
        raise Problem(
            400,
            "request.bad-option",
            f"{name}={text[:40]!r}: write a whole number from {low} to {high}",
        )
    return int(text)


def idempotency_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key`` (printable, at most :data:`MAX_KEY` characters)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 0 < len(key) <= MAX_KEY or not key.isprintable():
        raise Problem(
            400,
            "request.bad-idempotency-key",
            f"the Idempotency-Key must be 1 to {MAX_KEY} printable characters",
            hint="e.g. a UUID made for the request and reused for its retries",
        )
    return key


class KeyLocks:
    """One lock per idempotency key while requests with it run: the second request with a
    key waits for the first one's answer instead of running beside it."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def holding(self, routine: str, key: str) -> AsyncIterator[None]:
        name = (routine, key)
        lock, users = self._held.get(name, (asyncio.Lock(), 0))
        self._held[name] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._held[name]
            if users == 1:
                del self._held[name]
            else:
                self._held[name] = (lock, users - 1)


def unprintable(text: str) -> bool:
    """Whether ``text`` holds a control or format character (NUL, a newline, a bidi
    override, a zero-width space): such an id reads as another one in logs and lists."""
    return any(unicodedata.category(c) in ("Cc", "Cf") for c in text)


def posted_events(body: Any, case: str, max_events: int) -> list[dict[str, Any]]:
    """The posted events, each in the path's case; every item that is no event of it is
    a problem, and any problem refuses the whole post."""
    items = body if isinstance(body, list) else [body]
    if not items:
        raise Problem(422, "event.none", "the array holds no events")
    if len(items) > max_events:
        raise Problem(
            413,
            "request.too-many-events",
            f"the post holds {len(items)} events; at most {max_events} are taken at once",
            hint="post the events in several requests",
        )
    problems: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(_item_problem("event.not-object", index, None, type(item).__name__))
            continue
        ident = item.get("id")
        if isinstance(ident, str) and unprintable(ident):
            problems.append(_item_problem("event.bad-id", index, "id", ""))
            continue
        given = item.get("case")
        if given is not None and given != case:
            problems.append(_item_problem("event.case-mismatch", index, "case", ""))
            continue
        events.append({**item, "case": case})
    if problems:
        raise Problem(
            422,
            "event.invalid",
            f"{len(problems)} problem(s) with the posted events",
            diagnostics=problems[:MAX_DIAGNOSTICS],
        )
    return events


def _item_problem(code: str, index: int, field: str | None, got: str) -> dict[str, Any]:
    message = {
        "event.not-object": f"expected a JSON object, got {got}",
        "event.case-mismatch": "the event names another case than the path",
        "event.bad-id": "the event id holds a control or format character",
    }[code]
    return {
        "level": "error",
        "code": code,
        "message": message,
        "index": index,
        "line": index + 1,
        "field": field,
    }
