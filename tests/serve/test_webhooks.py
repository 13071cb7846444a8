"""Webhooks: signed deliveries of every change, in order, at least once, through a receiver
that fails for a while; dead letters and their replay. A real ``samverkan serve`` and a real
receiver, both on loopback ports."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from samverkan_rules.live.changelog import ChangeRow
from samverkan_rules.serve.webhooks import (
    Subscription,
    WebhookConfigError,
    load_subscriptions,
    sign,
    verify,
)
from tests.serve.support import Service, conforms
from tests.support import EXAMPLES

httpx = pytest.importorskip("httpx", reason="httpx (the 'dev' extra) is not installed")

RID = "orebro-dagverksamhet-hemvard"
R = f"/routines/{RID}"
SECRET = "whsec-0123456789abcdef-test"


class Receiver:
    """An HTTP server that records what it is sent and fails while told to."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.failing = 0  # fail this many more requests (-1: all of them)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.failing != 0:
                    receiver.failing -= 1 if receiver.failing > 0 else 0
                    self.send_response(500)
                else:
                    receiver.got.append((dict(self.headers), body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _config(tmp: Path, url: str, **extra: Any) -> Path:
    secret = tmp / "hook.secret"
    secret.write_text(SECRET, encoding="utf-8")
    secret.chmod(0o600)
    sub = {"name": "vs", "url": url, "secret_file": "hook.secret", "backoff_max_seconds": 0.3}
    path = tmp / "webhooks.yaml"
    path.write_text(json.dumps({"subscriptions": [{**sub, **extra}]}), encoding="utf-8")
    return path


def _example(case: str) -> list[dict[str, Any]]:
    lines = (EXAMPLES / "orebro-case.jsonl").read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, filter(None, lines)) if e["case"] == case]


def _wait(condition: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.1)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_every_change_arrives_signed_and_in_order_through_failures(
    tmp_path: Path, receiver: Receiver
) -> None:
    s = Service(
        tmp_path, "--future-tolerance", "36500d", "--webhooks", str(_config(tmp_path, receiver.url))
    )
    try:
        receiver.failing = 3  # down for the first tries
        for case in ("c1", "c2"):
            for event in _example(case):
                answer = s.client.post(f"{R}/cases/{case}/events", json=event)
                assert answer.status_code == 200, answer.text
        logged = s.client.get(f"{R}/changes", params={"limit": 10_000}).json()["changes"]
        assert logged
        _wait(
            lambda: (
                {json.loads(b)["change"]["seq"] for _, b in receiver.got}
                >= {c["seq"] for c in logged}
            )
        )
        seen: dict[str, bytes] = {}
        for headers, body in receiver.got:
            assert verify(SECRET.encode(), headers["Samverkan-Signature"], body, now=time.time())
            ident = headers["Samverkan-Delivery"]
            # A repeat is the same change under the same id.
            assert json.loads(seen.setdefault(ident, body))["change"] == json.loads(body)["change"]
        delivered = [json.loads(b)["change"] for _, b in receiver.got]
        firsts = list(dict.fromkeys(c["seq"] for c in delivered))
        assert firsts == sorted(firsts) == [c["seq"] for c in logged]
        # What arrives is what the log holds.
        by_seq = {c["seq"]: c for c in delivered}
        assert [by_seq[c["seq"]] for c in logged] == logged
        listed = s.client.get("/webhooks").json()["subscriptions"]
        assert listed == [
            {
                "name": "vs",
                "routines": {RID: {"delivered_through": logged[-1]["seq"]}},
                "dead_letters": 0,
            }
        ]
    finally:
        s.stop()


def test_a_change_that_keeps_failing_becomes_a_dead_letter_and_can_be_replayed(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = _config(tmp_path, receiver.url, give_up_after_hours=0.0004, kinds=["arose"])
    s = Service(tmp_path, "--future-tolerance", "36500d", "--webhooks", str(config))
    try:
        receiver.failing = -1
        event = _example("c1")[0]
        answer = s.client.post(f"{R}/cases/c1/events", json=event)
        assert answer.status_code == 200, answer.text
        arose = [c for c in answer.json()["changes"] if c["kind"] == "arose"]
        assert arose
        _wait(
            lambda: (
                len(s.client.get("/webhooks/vs/dead-letters").json()["dead_letters"]) == len(arose)
            )
        )
        answer = s.client.get("/webhooks/vs/dead-letters").json()
        document = s.client.get("/openapi.json").json()
        conforms(document, "DeadLetterList", answer)  # as the OpenAPI document says
        conforms(document, "SubscriptionList", s.client.get("/webhooks").json())
        letters = answer["dead_letters"]
        assert [d["seq"] for d in letters] == [c["seq"] for c in arose]
        assert all(d["attempts"] >= 2 and "500" in d["error"] for d in letters)
        # Still failing: the replay says so and the letter stays.
        first = letters[0]
        path = f"/webhooks/vs/dead-letters/{RID}/{first['seq']}/replay"
        failed = s.client.post(path)
        assert failed.status_code == 502
        conforms(document, "ErrorAnswer", failed.json())
        receiver.failing = 0
        replayed = s.client.post(path)
        assert replayed.status_code == 200, replayed.text
        conforms(document, "Replayed", replayed.json())
        assert [json.loads(b)["change"]["seq"] for _, b in receiver.got] == [first["seq"]]
        left = s.client.get("/webhooks/vs/dead-letters").json()["dead_letters"]
        assert [d["seq"] for d in left] == [d["seq"] for d in letters[1:]]
        assert s.client.post(path).status_code == 404
        assert s.client.get("/webhooks/nobody/dead-letters").status_code == 404
    finally:
        s.stop()


def test_the_subscriptions_file_is_checked_with_the_place_of_each_problem(tmp_path: Path) -> None:
    secret = tmp_path / "s.secret"
    secret.write_text(SECRET, encoding="utf-8")
    secret.chmod(0o644)
    path = tmp_path / "hooks.yaml"
    path.write_text(
        "subscriptions:\n"
        "  - {name: a, url: 'https://x/h', secret_file: s.secret}\n"
        "  - {name: b, url: 'ftp://x', secret_file: s.secret}\n"
        "  - {name: c, url: 'https://x/h', secret_file: s.secret, routines: [nope], colour: red}\n",
        encoding="utf-8",
    )
    with pytest.raises(WebhookConfigError) as caught:
        load_subscriptions(path, [RID])
    text = str(caught.value)
    assert f"{path}: subscriptions[0].secret_file" in text and "chmod 600" in text
    assert "subscriptions[1].url" in text
    assert "subscriptions[2]: unknown key(s) colour" in text
    secret.chmod(0o600)
    path.write_text(
        "subscriptions:\n"
        "  - {name: a, url: 'https://x/h', secret_file: s.secret, routines: [nope]}\n"
        "  - {name: a, url: 'https://x/h', secret_file: s.secret, kinds: [arose, gone]}\n",
        encoding="utf-8",
    )
    with pytest.raises(WebhookConfigError) as caught:
        load_subscriptions(path, [RID])
    text = str(caught.value)
    assert "subscriptions[0].routines: unknown nope" in text
    assert "subscriptions[1].kinds: unknown gone" in text


def test_filters_and_signatures() -> None:
    path_free = ChangeRow(
        seq=3,
        case="c1",
        at="2026-12-01T10:00:00+01:00",
        obligation="o",
        rule="r",
        before="due",
        after="overdue",
        cause=None,
        named=(),
        deadline=None,
        record='{"responsible": "hemvard.driftsplanerare"}',
    )
    everything = Subscription(name="a", url="https://x", secret=b"k" * 16)
    assert everything.wants(RID, path_free)
    overdue = Subscription(
        name="b", url="https://x", secret=b"k" * 16, statuses=frozenset({"overdue"})
    )
    assert overdue.wants(RID, path_free)
    arose = Subscription(name="c", url="https://x", secret=b"k" * 16, kinds=frozenset({"arose"}))
    assert not arose.wants(RID, path_free)
    other = Subscription(name="d", url="https://x", secret=b"k" * 16, responsible=frozenset({"x"}))
    assert not other.wants(RID, path_free)
    elsewhere = Subscription(name="e", url="https://x", secret=b"k" * 16, routines=frozenset({"x"}))
    assert not elsewhere.wants(RID, path_free)
    header = sign(b"k" * 16, b"{}", 1_800_000_000)
    assert verify(b"k" * 16, header, b"{}", now=1_800_000_100)
    assert not verify(b"k" * 16, header, b"{}", now=1_800_001_000)  # too old: a replay
    assert not verify(b"j" * 16, header, b"{}", now=1_800_000_100)
    assert not verify(b"k" * 16, "garbage", b"{}", now=1_800_000_100)
