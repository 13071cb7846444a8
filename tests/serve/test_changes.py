"""Reliable changes over HTTP: numbered changes read back after a number, the same after a
restart, and idempotent retries. A real ``samverkan serve`` on a loopback port with its
SQLite store on disk."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve.support import Service
from tests.support import EXAMPLES

httpx = pytest.importorskip("httpx", reason="httpx (the 'dev' extra) is not installed")

R = "/routines/orebro-dagverksamhet-hemvard"


def _example(case: str) -> list[dict[str, Any]]:
    lines = (EXAMPLES / "orebro-case.jsonl").read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, filter(None, lines)) if e["case"] == case]


def _all_changes(s: Service, after: int = 0, **params: Any) -> list[dict[str, Any]]:
    """Every logged change after ``after``, page by page."""
    out: list[dict[str, Any]] = []
    while True:
        page = s.client.get(f"{R}/changes", params={"after": after, "limit": 3, **params})
        assert page.status_code == 200, page.text
        body = page.json()
        out.extend(body["changes"])
        if not body["more"]:
            return out
        assert body["next_after"] > after
        after = body["next_after"]


def test_changes_survive_a_restart_and_a_kill_and_are_never_reported_twice(
    tmp_path: Path,
) -> None:
    events = _example("c1")
    s = Service(tmp_path, "--future-tolerance", "36500d")
    try:
        posted: list[dict[str, Any]] = []
        for e in events[:-1]:
            answer = s.client.post(f"{R}/cases/c1/events", json=e)
            assert answer.status_code == 200, answer.text
            posted.extend(answer.json()["changes"])
        logged = _all_changes(s)
        assert [c["seq"] for c in logged] == [c["seq"] for c in posted]
        assert [c["seq"] for c in logged] == list(range(1, len(logged) + 1))
        assert all(c["at"] and c["kind"] in ("arose", "changed", "ended") for c in logged)
        assert [c["obligation"] for c in logged] == [c["obligation"] for c in posted]
    finally:
        s.process.send_signal(signal.SIGKILL)
        s.stop()
    again = Service(tmp_path, "--future-tolerance", "36500d")
    try:
        assert _all_changes(again) == logged
        last = again.client.post(f"{R}/cases/c1/events", json=events[-1])
        assert last.status_code == 200, last.text
        fresh = last.json()["changes"]
        # Only what the last event changed, numbered on from the log.
        assert all(c["cause"] == events[-1]["id"] or c["kind"] != "arose" for c in fresh)
        assert [c["seq"] for c in fresh] == list(
            range(len(logged) + 1, len(logged) + 1 + len(fresh))
        )
        resumed = _all_changes(again, after=logged[-1]["seq"])
        assert [{k: v for k, v in c.items() if k != "at"} for c in resumed] == fresh
        assert _all_changes(again, case="nobody") == []
    finally:
        again.stop()


def test_a_retry_with_its_idempotency_key_gets_the_first_answer(tmp_path: Path) -> None:
    s = Service(tmp_path, "--future-tolerance", "36500d")
    try:
        e1, e2 = _example("c2")[:2]
        key = {"Idempotency-Key": "4f7c1e1a-retry-1"}
        first = s.client.post(f"{R}/cases/c2/events", json=e1, headers=key)
        assert first.status_code == 200, first.text
        assert first.json()["changes"], "the first answer reports what arose"
        assert "idempotent-replayed" not in first.headers
        retry = s.client.post(f"{R}/cases/c2/events", json=e1, headers=key)
        assert retry.status_code == 200
        assert retry.content == first.content
        assert retry.headers["idempotent-replayed"] == "true"
        # Without the key, the same event is a repeat: stored once, nothing new to say.
        plain = s.client.post(f"{R}/cases/c2/events", json=e1)
        assert plain.status_code == 200 and plain.json()["changes"] == []
        # The key with another request is refused, and nothing of it is stored.
        other = s.client.post(f"{R}/cases/c2/events", json=e2, headers=key)
        assert other.status_code == 422
        assert other.json()["error"]["code"] == "request.idempotency-key-reused"
        assert e2["id"] not in s.client.get(f"{R}/changes").text
    finally:
        s.stop()
    # The answer is kept in the store: a retry after a restart gets it too.
    again = Service(tmp_path, "--future-tolerance", "36500d")
    try:
        retry = again.client.post(f"{R}/cases/c2/events", json=e1, headers=key)
        assert retry.content == first.content
        assert retry.headers["idempotent-replayed"] == "true"
    finally:
        again.stop()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    s = Service(tmp_path_factory.mktemp("changes"), "--future-tolerance", "36500d")
    yield s
    s.stop()


@pytest.mark.parametrize(
    "params", [{"after": "-1"}, {"after": "x"}, {"limit": "0"}, {"limit": "10001"}]
)
def test_bad_change_queries_are_400(service: Service, params: dict[str, str]) -> None:
    answer = service.client.get(f"{R}/changes", params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "request.bad-option"


def test_a_bad_idempotency_key_is_400(service: Service) -> None:
    e = _example("c1")[0]
    for key in ("", "x" * 256):
        answer = service.client.post(
            f"{R}/cases/c1/events", json=e, headers={"Idempotency-Key": key}
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "request.bad-idempotency-key"
    assert service.client.get(f"{R}/changes").json()["changes"] == []
