"""Findings of a security probe of the service, each reproduced: private store and token
files, no caching of answers, one Authorization header, 400 (never 500) for pathological
JSON and dates, a cap on events per post, and a log that names routes, never raw paths."""

from __future__ import annotations

import json
import os
import socket
import stat
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from samverkan_rules import load_routine
from samverkan_rules.live import RoutineSessions
from tests.serve.support import ROUTINE, TOKEN, Service, httpx, serve_once

RID = "orebro-dagverksamhet-hemvard"
R = f"/routines/{RID}"
SECRET = "secret-case-1212"
AT = "2026-12-01T09:00:00+01:00"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    s = Service(
        tmp_path_factory.mktemp("hardening"), "--max-events", "5", "--future-tolerance", "3650d"
    )
    yield s
    s.stop()


def _event(ident: str) -> dict[str, object]:
    return {"id": ident, "type": "consent.given", "at": AT, "data": {"form": "written"}}


def test_the_store_and_its_wal_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which made the store 0644
    try:
        with RoutineSessions([load_routine(ROUTINE)], store=tmp_path / "stores") as routed:
            routed.post(RID, {**_event("m1"), "case": "c1"}, now=datetime.fromisoformat(AT))
            files = sorted((tmp_path / "stores").iterdir())
            assert {f.name for f in files} >= {f"{RID}.db", f"{RID}.db-wal", f"{RID}.db-shm"}
            modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
    finally:
        os.umask(old)
    assert set(modes.values()) == {0o600}, modes
    assert stat.S_IMODE((tmp_path / "stores").stat().st_mode) == 0o700


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_token_file_others_can_read_is_refused(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN, encoding="utf-8")
    token.chmod(0o644)
    out = serve_once(
        "--routines", str(ROUTINE), "--store", str(tmp_path / "s"), "--token-file", str(token)
    )
    assert out.returncode == 2
    assert "chmod 600" in out.stderr and TOKEN not in out.stderr


def test_every_answer_says_no_store(service: Service) -> None:
    posted = service.client.post(f"{R}/cases/cc1/events", json=_event("cc-1"))
    answers = [
        posted,
        service.client.get(f"{R}/due", params={"as_of": AT}),
        service.client.get(f"{R}/cases/cc1/due", params={"as_of": AT}),
        service.client.get("/routines"),
        service.client.get(f"{R}/cases/none/due"),
        httpx.get(service.url + "/healthz"),
        httpx.get(service.url + "/routines"),  # 401
    ]
    assert [a.headers.get("cache-control") for a in answers] == ["no-store"] * len(answers)


def test_two_authorization_headers_are_refused(service: Service) -> None:
    for pair in (
        [("Authorization", "Bearer wrong-token-0123456789"), ("Authorization", f"Bearer {TOKEN}")],
        [("Authorization", f"Bearer {TOKEN}"), ("Authorization", "Bearer wrong-token-012345")],
    ):
        answer = httpx.get(service.url + "/routines", headers=pair)
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "auth.duplicate"


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"id": "d", "type": "consent.given", "at": "'
        + AT.encode()
        + b'", "data": '
        + b'{"a": ' * 100
        + b"1"
        + b"}" * 101,
        b'{"id": "big", "type": "consent.given", "at": "'
        + AT.encode()
        + b'", "data": {"n": 1'
        + b"0" * 500_000
        + b"}}",
        b'{"id": "\\ud800", "type": "consent.given", "at": "' + AT.encode() + b'"}',
        b'{"id": "nan", "type": "consent.given", "at": "' + AT.encode() + b'", "data": {"x": NaN}}',
        b'{"id": "inf", "type": "consent.given", "at": "'
        + AT.encode()
        + b'", "data": {"x": -Infinity}}',
    ],
    ids=["deep-array", "deep-data", "huge-integer", "lone-surrogate", "nan", "infinity"],
)
def test_pathological_json_is_400_and_nothing_is_stored(
    service: Service, body: bytes, request: pytest.FixtureRequest
) -> None:
    case = "json-" + request.node.callspec.id
    answer = service.client.post(
        f"{R}/cases/{case}/events", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "request.bad-json"
    assert service.client.get(f"{R}/cases/{case}/due").status_code == 404


@pytest.mark.parametrize("as_of", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_as_of_at_the_ends_of_the_calendar_is_400(service: Service, as_of: str) -> None:
    for path in (f"{R}/due", f"{R}/obligations/x:y/explain"):
        answer = service.client.get(path, params={"as_of": as_of})
        assert answer.status_code == 400, (path, answer.text)


def test_a_post_over_the_event_cap_is_refused_whole(service: Service) -> None:
    events = [_event(f"cap-{i}") for i in range(6)]
    answer = service.client.post(f"{R}/cases/cap/events", json=events)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "request.too-many-events"
    assert service.client.get(f"{R}/cases/cap/due").status_code == 404
    assert service.client.post(f"{R}/cases/cap/events", json=events[:5]).status_code == 200


def _raw(service: Service, target: str) -> bytes:
    """One request with a target httpx would normalise, sent as written."""
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as s:
        s.sendall(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def test_the_log_names_routes_never_raw_paths(service: Service) -> None:
    targets = [
        f"/case/{SECRET}",
        f"//cases/{SECRET}/due",
        f"{R}/cases/{SECRET}/due",
        f"{R}/cases/{SECRET}%0Aforged-line%20GET/due",
        f"http://127.0.0.1:{service.port}{R}/cases/{SECRET}/due",
        f"/routines/{SECRET}/due",
    ]
    for target in targets:
        assert _raw(service, target).startswith(b"HTTP/1.1 ")
    time.sleep(0.3)
    log = service.log.read_text(encoding="utf-8")
    assert SECRET not in log
    assert not any(line.startswith("forged") for line in log.splitlines())
    assert "(no route)" in log
    assert "routine=(unknown)" in log


def test_connections_beyond_the_limit_get_503_and_a_huge_head_is_refused(
    tmp_path: Path,
) -> None:
    service = Service(tmp_path, "--max-connections", "3")
    try:
        idle = [socket.create_connection(("127.0.0.1", service.port)) for _ in range(2)]
        time.sleep(0.3)  # the server has taken both connections
        assert _raw(service, "/healthz").startswith(b"HTTP/1.1 503")
        for s in idle:
            s.close()
        time.sleep(0.3)
        assert _raw(service, "/healthz").startswith(b"HTTP/1.1 200")
        # A head that never ends is cut off at 16 KiB instead of buffered without bound.
        with socket.create_connection(("127.0.0.1", service.port), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: " + b"a" * 40_000)
            assert s.recv(65536).startswith(b"HTTP/1.1 400")
    finally:
        service.stop()


def test_content_length_with_chunked_encoding_is_refused(service: Service) -> None:
    body = json.dumps(_event("te-1")).encode()
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as s:
        s.sendall(
            f"POST {R}/cases/te/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Content-Type: application/json\r\nContent-Length: 5\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
            + chunked
        )
        assert s.recv(65536).startswith(b"HTTP/1.1 400")
    assert service.client.get(f"{R}/cases/te/due").status_code == 404


@pytest.mark.parametrize("bad", ["a\u202eb", "nul\x00", "zero\u200bwidth"], ids=repr)
def test_ids_with_control_or_format_characters_are_refused(service: Service, bad: str) -> None:
    in_path = service.client.post(f"{R}/cases/{quote(bad)}/events", json=_event("ok-id"))
    assert in_path.status_code == 400
    assert in_path.json()["error"]["code"] == "request.bad-id"
    in_body = service.client.post(f"{R}/cases/ids/events", json=_event(bad))
    assert in_body.status_code == 422
    (problem,) = in_body.json()["error"]["diagnostics"]
    assert (problem["code"], problem["field"]) == ("event.bad-id", "id")
    assert service.client.get(f"{R}/cases/ids/due").status_code == 404
