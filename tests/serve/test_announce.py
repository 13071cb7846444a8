"""Deadlines that announce themselves: a real ``samverkan serve`` whose clock task logs a
deadline passing while no one posts, and the Server-Sent Events stream of its change log."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.serve.support import Service
from tests.support import ROUTINES

httpx = pytest.importorskip("httpx", reason="httpx (the 'dev' extra) is not installed")

ROUTINE = ROUTINES / "utskrivning-sluten-vard.yaml"
R = "/routines/utskrivning-sluten-vard"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _assessed(ident: str, case: str, deadline: datetime) -> dict[str, Any]:
    """A needs assessment whose message deadline is ``deadline``: the later of 24 hours
    after admission and 4 hours after the assessment."""
    return {
        "id": ident,
        "type": "patient.needs_assessed",
        "at": _stamp(deadline - timedelta(hours=4)),
        "data": {"admitted_at": _stamp(deadline - timedelta(hours=24))},
    }


def _events(
    s: Service, headers: dict[str, str], params: dict[str, Any], want: int
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(id, change)`` of the stream's events, until ``want`` of them (or 30 s) have come."""
    seen = 0
    ident = None
    with s.client.stream(
        "GET", f"{R}/changes/stream", headers=headers, params=params, timeout=30
    ) as answer:
        assert answer.status_code == 200, answer.read()
        assert answer.headers["content-type"].startswith("text/event-stream")
        for line in answer.iter_lines():
            if line.startswith("id: "):
                ident = int(line[4:])
            elif line.startswith("data: "):
                assert ident is not None
                yield ident, json.loads(line[6:])
                seen += 1
                if seen == want:
                    return


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    s = Service(tmp_path_factory.mktemp("announce"), routines=ROUTINE)
    yield s
    s.stop()


def test_a_deadline_that_passes_while_no_one_posts_is_announced(service: Service) -> None:
    deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    posted = service.client.post(f"{R}/cases/p1/events", json=_assessed("b1", "p1", deadline))
    assert posted.status_code == 200, posted.text
    arose = {c["obligation"]: c for c in posted.json()["changes"]}
    message = arose["inskrivningsmeddelande:b1"]
    assert message["after"] == "due"
    after = max(c["seq"] for c in arose.values())
    # Nothing more is posted: the service's clock must say that the deadline passed.
    for ident, change in _events(service, {}, {"after": after, "case": "p1"}, want=1):
        assert ident == change["seq"] > after
        assert (change["obligation"], change["before"], change["after"], change["cause"]) == (
            "inskrivningsmeddelande:b1",
            "due",
            "overdue",
            None,
        )
        judged = datetime.fromisoformat(change["at"])
        assert deadline < judged < deadline + timedelta(seconds=10)
    # It is in the log too, once.
    log = service.client.get(f"{R}/changes", params={"after": after}).json()["changes"]
    assert [(c["obligation"], c["after"]) for c in log] == [
        ("inskrivningsmeddelande:b1", "overdue")
    ]


def test_the_stream_resumes_after_the_last_event_id(service: Service) -> None:
    far = datetime.now(UTC) + timedelta(hours=1)
    first = service.client.post(f"{R}/cases/p2/events", json=_assessed("b2", "p2", far))
    assert first.status_code == 200, first.text
    seqs = [c["seq"] for c in first.json()["changes"]]
    assert seqs
    # A reconnecting EventSource sends the id of the last event it saw.
    resumed = list(_events(service, {"Last-Event-ID": str(seqs[0] - 1)}, {"case": "p2"}, 1))
    assert [ident for ident, _ in resumed] == [seqs[0]]
    # An open stream gets a later post's changes as they are logged.
    later = far + timedelta(hours=2)
    got: list[int] = []
    start = time.monotonic()
    stream = _events(service, {"Last-Event-ID": str(seqs[-1])}, {"case": "p2"}, 1)
    # The stream opens before the post: the post below must reach it.
    with httpx.Client(base_url=service.url, headers=service.auth, timeout=30) as other:

        def post_later() -> None:
            time.sleep(0.5)
            answer = other.post(f"{R}/cases/p2/events", json=_assessed("b3", "p2", later))
            assert answer.status_code == 200, answer.text

        poster = threading.Thread(target=post_later)
        poster.start()
        for ident, change in stream:
            got.append(ident)
            assert change["cause"] == "b3"
        poster.join()
    assert got and got[0] > seqs[-1]
    assert time.monotonic() - start < 15, "the post's change came only with a keep-alive"


def test_a_bad_last_event_id_is_400(service: Service) -> None:
    answer = service.client.get(f"{R}/changes/stream", headers={"Last-Event-ID": "x"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "request.bad-option"


def test_a_restarted_service_announces_what_passed_while_it_was_down(tmp_path: Path) -> None:
    s = Service(tmp_path, routines=ROUTINE)
    deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    try:
        posted = s.client.post(f"{R}/cases/p3/events", json=_assessed("b4", "p3", deadline))
        assert posted.status_code == 200, posted.text
        after = max(c["seq"] for c in posted.json()["changes"])
    finally:
        s.stop()  # down before the deadline passes
    time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 1)
    again = Service(tmp_path, routines=ROUTINE)
    try:
        changes = [c for _, c in _events(again, {}, {"after": after}, want=1)]
        assert [(c["obligation"], c["after"], c["cause"]) for c in changes] == [
            ("inskrivningsmeddelande:b4", "overdue", None)
        ]
    finally:
        again.stop()
