"""The service's log: one line format for the application and the server, and request ids.

Every line of the process (the service's own messages, uvicorn's error and access loggers,
warnings) goes through one handler on standard error, in one of two formats:

- ``json``: one JSON object a line, ``{"time", "level", "logger", "message",
  "request_id"}`` (``request_id`` null outside a request), for log collectors;
- ``text``: ``TIME LEVEL LOGGER REQUEST_ID: MESSAGE``, for a person at a terminal.

A request's id is the ``X-Request-ID`` it came with when that is short and safe (1-64
letters, digits, ``.``, ``_``, ``:`` or ``-``, and nothing shaped like a personnummer), else
one made for it; the response echoes it, error answers carry it, and every line logged while
the request is handled names it, so one request can be followed from the caller's log into
this one. An exception is logged by its type and the line that raised it, never its message
or traceback text, which may quote event data.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
import uuid
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import TracebackType
from typing import Literal, TextIO

LogFormat = Literal["json", "text"]

REQUEST_ID_HEADER = b"x-request-id"

_REQUEST_ID: ContextVar[str | None] = ContextVar("samverkan_request_id", default=None)
"""The id of the request being handled in this context (asyncio task or worker thread)."""

_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_PERSONAL = re.compile(r"\d{6}(?:\d{2})?[-+]?\d{4}")
"""Ten or twelve digits with an optional separator: a personnummer's shape, anywhere."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The request's id: its one ``X-Request-ID`` when short and safe, else a new one.

    Examples:
        >>> request_id_of([(b"x-request-id", b"abc-123")])
        'abc-123'
        >>> len(request_id_of([(b"x-request-id", b"bad id\\n")]))
        32
        >>> request_id_of([(b"x-request-id", b"19121212-1212")]) == "19121212-1212"
        False
    """
    given = [value for name, value in headers if name.lower() == REQUEST_ID_HEADER]
    if len(given) == 1:
        text = given[0].decode("latin-1")
        if _SAFE_ID.fullmatch(text) and not _PERSONAL.search(text):
            return text
    while True:  # a made id never has a personnummer's shape either
        made = uuid.uuid4().hex
        if not _PERSONAL.search(made):
            return made


def enter_request(request_id: str) -> Token[str | None]:
    """Name ``request_id`` in every line logged from here (this task and the worker
    threads it starts) until :func:`leave_request`."""
    return _REQUEST_ID.set(request_id)


def leave_request(token: Token[str | None]) -> None:
    """End what :func:`enter_request` began."""
    _REQUEST_ID.reset(token)


def current_request_id() -> str | None:
    """The id of the request being handled, or None outside a request."""
    return _REQUEST_ID.get()


class _RequestIdFilter(logging.Filter):
    """Give every record the current request's id (``request_id``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _REQUEST_ID.get()
        return True


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def _where(exc_info: ExcInfo) -> str:
    """An exception's type and the line that raised it, without its message."""
    kind, _, tb = exc_info
    name = kind.__name__ if kind is not None else "Exception"
    frames = traceback.extract_tb(tb) if tb is not None else []
    return f"{name} at {frames[-1].filename}:{frames[-1].lineno}" if frames else name


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, milliseconds), level, logger, message,
    request_id; an exception only as ``exception``: its type and where it was raised."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, object] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            line["exception"] = _where(record.exc_info)
        return json.dumps(line, ensure_ascii=True)


class TextFormatter(logging.Formatter):
    """``TIME LEVEL LOGGER REQUEST_ID: MESSAGE`` (``-`` outside a request); an exception
    as its type and where it was raised, and every control character escaped, so one
    record is one line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(request_id)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        shown = logging.makeLogRecord(record.__dict__)
        shown.request_id = getattr(record, "request_id", None) or "-"
        message = record.getMessage()
        if record.exc_info:
            message += f" ({_where(record.exc_info)})"
        shown.__dict__.update(msg=message, args=None, exc_info=None, exc_text=None)
        return _CONTROL.sub(lambda m: repr(m.group())[1:-1], super().format(shown))


def default_format(stream: TextIO) -> LogFormat:
    """Text on a terminal, JSON lines anywhere else (a file, a pipe, a log collector)."""
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):
        return "json"


def configure_logging(level: str, form: LogFormat, stream: TextIO | None = None) -> None:
    """Send every logger's lines (the service's, uvicorn's, warnings) through one handler
    on ``stream`` (standard error) in ``form``, at ``level`` and above."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(JsonFormatter() if form == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
    logging.captureWarnings(True)
