"""The service's log: one JSON-lines shape for the service's and the server's lines, and a
request id taken from ``X-Request-ID`` (or made), echoed, carried in error answers and named
in every line of the request. A real ``samverkan serve`` on a loopback port."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samverkan_rules.serve.logs import JsonFormatter, TextFormatter, request_id_of
from tests.serve.support import Service

httpx = pytest.importorskip("httpx", reason="httpx (the 'dev' extra) is not installed")

RID = "orebro-dagverksamhet-hemvard"
R = f"/routines/{RID}"
SECRET_CASE = "hemligt-fall-77"
PERSONNUMMER = "19121212-1212"
EVENT = {
    "id": "log-1",
    "type": "consent.given",
    "at": "2026-12-01T09:00:00+01:00",
    "data": {"form": "written"},
}
SHAPE = r"\d{6}(?:\d{2})?[-+]?\d{4}"
"""A personnummer's shape anywhere in a text."""
KEYS = {"time", "level", "logger", "message", "request_id"}


def _lines(service: Service) -> list[dict[str, object]]:
    """Every line the process wrote, each parsed as JSON (a line that is not fails)."""
    out = []
    for number, line in enumerate(service.log.read_text(encoding="utf-8").splitlines(), 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"log line {number} is not JSON: {line!r}")
        assert isinstance(record, dict)
        assert KEYS <= set(record) <= KEYS | {"exception"}, line
        out.append(record)
    return out


def test_every_line_is_json_and_a_request_is_followed_by_its_id(tmp_path: Path) -> None:
    s = Service(tmp_path, "--log-format", "json", "--future-tolerance", "36500d")
    try:
        posted = s.client.post(
            f"{R}/cases/{SECRET_CASE}/events", json=EVENT, headers={"X-Request-ID": "trace-42"}
        )
        assert posted.status_code == 200
        assert posted.headers["x-request-id"] == "trace-42"
        # Without a header, or with an unsafe one, the service makes an id; an error answer
        # carries it in its body too.
        bad = s.client.post(f"{R}/cases/{SECRET_CASE}/events", json={**EVENT, "at": "x"})
        assert bad.status_code == 422
        made = bad.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", made)
        assert bad.json()["error"]["request_id"] == made
        for unsafe in ("a b", "x" * 65, "ok;drop", f"req-{PERSONNUMMER}"):
            answer = s.client.get(f"{R}/cases/{SECRET_CASE}/due", headers={"X-Request-ID": unsafe})
            assert answer.headers["x-request-id"] != unsafe
        unauthorized = httpx.get(s.url + f"{R}/due", headers={"X-Request-ID": "no-token-1"})
        assert unauthorized.status_code == 401
        assert unauthorized.json()["error"]["request_id"] == "no-token-1"
    finally:
        s.stop()
    lines = _lines(s)
    text = json.dumps(lines)
    assert SECRET_CASE not in text and PERSONNUMMER not in text
    [post] = [x for x in lines if x["request_id"] == "trace-42"]
    assert post["logger"] == "samverkan.serve"
    assert str(post["message"]).startswith("POST /routines/{routine}/cases/{case}/events")
    assert "case=p-" in str(post["message"])
    assert any(x["request_id"] == made and " 422 " in str(x["message"]) for x in lines)
    assert any(x["request_id"] == "no-token-1" for x in lines)
    # The server's own lines have the same shape, outside any request.
    server = [x for x in lines if str(x["logger"]).startswith("uvicorn")]
    assert any("Application startup complete" in str(x["message"]) for x in server)
    assert all(x["request_id"] is None for x in server)
    assert {x["level"] for x in lines} <= {"debug", "info", "warning", "error", "critical"}


def test_text_lines_name_the_request_id_too(tmp_path: Path) -> None:
    s = Service(tmp_path, "--log-format", "text")
    try:
        s.client.get(f"{R}/cases/c1/due", headers={"X-Request-ID": "text-7"})
    finally:
        s.stop()
    lines = s.log.read_text(encoding="utf-8").splitlines()
    assert any(" samverkan.serve text-7: GET " in line for line in lines)
    assert any(" uvicorn.error -: " in line for line in lines)
    assert not any(line.startswith("{") for line in lines)


def _record(message: str, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("x", logging.ERROR, __file__, 1, "%s", (message,), info)


@given(st.text())
def test_any_message_is_one_line_in_either_format(message: str) -> None:
    assert "\n" not in JsonFormatter().format(_record(message))
    assert json.loads(JsonFormatter().format(_record(message)))["message"] == message
    assert len(TextFormatter().format(_record(message)).splitlines()) == 1


def test_an_exception_is_logged_by_type_and_place_never_its_message() -> None:
    try:
        raise ValueError(f"case {PERSONNUMMER} broke")
    except ValueError as exc:
        record = _record("request failed", exc)
    line = json.loads(JsonFormatter().format(record))
    assert line["exception"].startswith("ValueError at ")
    assert PERSONNUMMER not in JsonFormatter().format(record)
    assert PERSONNUMMER not in TextFormatter().format(record)


@given(st.binary(max_size=80))
def test_a_request_id_is_always_short_and_safe(given_id: bytes) -> None:
    made = request_id_of([(b"x-request-id", given_id)])
    text = given_id.decode("latin-1")
    if re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", text) and not re.search(SHAPE, text):
        assert made == text
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", made)
        assert not re.search(SHAPE, made)


def test_two_request_id_headers_give_a_new_one() -> None:
    made = request_id_of([(b"x-request-id", b"a"), (b"X-Request-ID", b"b")])
    assert made not in ("a", "b")
