"""Clients and scopes: each client its own token and scopes, who posted each event, an access
log an admin reads, tokens rotated without a restart, CORS for allowed origins. A real
``samverkan serve`` on a loopback port."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from samverkan_rules.serve.clients import Clients, ClientsError, required_scope
from tests.serve.support import Service
from tests.support import EXAMPLES

httpx = pytest.importorskip("httpx", reason="httpx (the 'dev' extra) is not installed")

RID = "orebro-dagverksamhet-hemvard"
R = f"/routines/{RID}"
TOKENS = {
    "uppfoljning": "reader-token-0123456789abcdef",
    "verksamhetssystem": "writer-token-0123456789abcdef",
    "drift": "admin-token-0123456789abcdef",
}
SCOPES = {"uppfoljning": ["read"], "verksamhetssystem": ["read", "write"], "drift": ["admin"]}
ORIGIN = "https://portal.example.se"


def _write_clients(path: Path, tokens: dict[str, str]) -> None:
    clients = [
        {"name": n, "token_sha256": hashlib.sha256(t.encode()).hexdigest(), "scopes": SCOPES[n]}
        for n, t in tokens.items()
    ]
    path.write_text(json.dumps({"clients": clients}), encoding="utf-8")


def _as(name: str, token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or TOKENS[name]}"}


def _example(case: str) -> list[dict[str, Any]]:
    lines = (EXAMPLES / "orebro-case.jsonl").read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, filter(None, lines)) if e["case"] == case]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Path]]:
    tmp = tmp_path_factory.mktemp("clients")
    clients = tmp / "clients.yaml"
    _write_clients(clients, TOKENS)
    s = Service(
        tmp,
        "--future-tolerance",
        "36500d",
        "--clients",
        str(clients),
        "--cors-origin",
        ORIGIN,
        store="stores",
    )
    yield s, clients
    s.stop()


def test_each_client_may_do_what_its_scopes_allow(served: tuple[Service, Path]) -> None:
    s, _ = served
    http = httpx.Client(base_url=s.url, timeout=30)
    event = _example("c1")[0]
    refused = http.post(f"{R}/cases/c1/events", json=event, headers=_as("uppfoljning"))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "auth.forbidden"
    assert http.get(f"{R}/cases/c1/due", headers=_as("uppfoljning")).status_code == 404
    posted = http.post(f"{R}/cases/c1/events", json=event, headers=_as("verksamhetssystem"))
    assert posted.status_code == 200, posted.text
    assert http.get(f"{R}/cases/c1/due", headers=_as("uppfoljning")).status_code == 200
    assert http.delete(f"{R}/cases/c1", headers=_as("verksamhetssystem")).status_code == 403
    assert http.get("/metrics", headers=_as("verksamhetssystem")).status_code == 403
    assert http.get("/metrics", headers=_as("drift")).status_code == 200
    assert http.get(f"{R}/due", headers=_as("x", "not-a-known-token-000000")).status_code == 401
    # The store records who posted the event.
    db = sqlite3.connect(s.store / f"{RID}.db")
    try:
        row = db.execute("SELECT client FROM events WHERE id = ?", (event["id"],)).fetchone()
    finally:
        db.close()
    assert row == ("verksamhetssystem",)
    http.close()


def test_the_access_log_says_who_touched_a_case_and_names_no_case(
    served: tuple[Service, Path],
) -> None:
    s, _ = served
    http = httpx.Client(base_url=s.url, timeout=30)
    case = "case-zz-access-91c2"
    event = {**_example("c2")[0], "id": "acc-1", "case": case}
    assert (
        http.post(f"{R}/cases/{case}/events", json=event, headers=_as("verksamhetssystem"))
    ).status_code == 200
    assert http.get(f"{R}/cases/{case}/due", headers=_as("uppfoljning")).status_code == 200
    assert http.get("/access", params={"case": case}, headers=_as("uppfoljning")).status_code == 403
    log = http.get("/access", params={"case": case}, headers=_as("drift"))
    assert log.status_code == 200, log.text
    entries = [(a["client"], a["method"], a["route"], a["status"]) for a in log.json()["accesses"]]
    assert entries == [
        ("verksamhetssystem", "POST", "/routines/{routine}/cases/{case}/events", 200),
        ("uppfoljning", "GET", "/routines/{routine}/cases/{case}/due", 200),
    ]
    for path in s.store.iterdir():
        if path.name.startswith("access.db"):
            assert case.encode() not in path.read_bytes()
    http.close()


def test_a_token_is_rotated_without_a_restart(served: tuple[Service, Path]) -> None:
    s, clients = served
    http = httpx.Client(base_url=s.url, timeout=30)
    assert http.get(f"{R}/due", headers=_as("uppfoljning")).status_code == 200
    rotated = {**TOKENS, "uppfoljning": "reader-token-rotated-0123456789"}
    time.sleep(0.01)
    _write_clients(clients, rotated)
    try:
        assert http.get(f"{R}/due", headers=_as("uppfoljning")).status_code == 401
        new = _as("uppfoljning", rotated["uppfoljning"])
        assert http.get(f"{R}/due", headers=new).status_code == 200
    finally:
        _write_clients(clients, TOKENS)
    http.close()


def test_cors_preflight_for_an_allowed_origin_only(served: tuple[Service, Path]) -> None:
    s, _ = served
    http = httpx.Client(base_url=s.url, timeout=30)
    asked = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    preflight = http.options(f"{R}/cases/c1/events", headers=asked)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in preflight.headers["access-control-allow-headers"]
    stranger = http.options(f"{R}/cases/c1/events", headers={**asked, "Origin": "https://evil"})
    assert stranger.status_code == 401
    answer = http.get(f"{R}/due", headers={**_as("uppfoljning"), "Origin": ORIGIN})
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    other = http.get(f"{R}/due", headers={**_as("uppfoljning"), "Origin": "https://evil"})
    assert "access-control-allow-origin" not in other.headers
    http.close()


def test_a_bad_clients_file_names_each_problem(tmp_path: Path) -> None:
    path = tmp_path / "clients.yaml"
    path.write_text(
        "clients:\n"
        "  - {name: a, token_sha256: abc, scopes: [read]}\n"
        "  - {name: b, token_sha256: " + "0" * 64 + ", scopes: [read, fly]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ClientsError) as caught:
        Clients.from_file(path)
    text = str(caught.value)
    assert "clients[0].token_sha256" in text and "sha256sum" in text
    assert "clients[1].scopes" in text


@pytest.mark.parametrize(
    ("method", "template", "scope"),
    [
        ("GET", "/routines/{routine}/due", "read"),
        ("POST", "/routines/{routine}/cases/{case}/events", "write"),
        ("DELETE", "/routines/{routine}/cases/{case}", "admin"),
        ("POST", "/routines/{routine}/cases/{case}/reopen", "admin"),
        ("GET", "/webhooks", "admin"),
        ("GET", "/access", "admin"),
        ("GET", "/metrics", "admin"),
    ],
)
def test_the_scope_each_route_needs(method: str, template: str, scope: str) -> None:
    assert required_scope(method, template) == scope
