"""Corrections, erasure and declared-only data over HTTP: a real ``samverkan serve`` on a
loopback port with its SQLite store on disk."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve.support import ROUTINE, Service
from tests.support import EXAMPLES

httpx = pytest.importorskip("httpx", reason="httpx (the 'dev' extra) is not installed")

RID = "orebro-dagverksamhet-hemvard"
R = f"/routines/{RID}"
AS_OF = "2026-12-15T12:00:00+01:00"
MARKER = "zz-erase-me-7f3a91"
PERSONNUMMER = "19121212-1212"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    s = Service(tmp_path_factory.mktemp("erase"), "--future-tolerance", "36500d")
    yield s
    s.stop()


def _example(case: str) -> list[dict[str, Any]]:
    lines = (EXAMPLES / "orebro-case.jsonl").read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, filter(None, lines)) if e["case"] == case]


def _file_due(events: Path) -> list[dict[str, Any]]:
    """``samverkan due --ledger`` on an event file: its cases."""
    argv = ["due", "--routine", str(ROUTINE), "--events", str(events), "--as-of", AS_OF]
    out = subprocess.run(
        [sys.executable, "-m", "samverkan_rules", *argv, "--format", "json", "--ledger"],
        capture_output=True,
        text=True,
        check=True,
    )
    cases: list[dict[str, Any]] = json.loads(out.stdout)["cases"]
    return cases


def _retraction(ident: str, target: str, case: str, at: str) -> dict[str, Any]:
    data = {"event": target, "reason": "fel ärende"}
    return {"id": ident, "case": case, "type": "event.retracted", "at": at, "data": data}


def test_a_retraction_over_http_equals_the_same_retraction_in_a_file(
    service: Service, tmp_path: Path
) -> None:
    events = _example("c2")
    # Retract the case's second event, one minute after the case's last event.
    target = events[1]
    retraction = _retraction("r-c2", target["id"], "c2", "2026-12-10T09:00:00+01:00")
    history = [*events, retraction]
    # The events first, the retraction later: the session's kept replay must start afresh.
    answer = service.client.post(f"{R}/cases/c2/events", json=events)
    assert answer.status_code == 200, answer.text
    answer = service.client.post(f"{R}/cases/c2/events", json=retraction)
    assert answer.status_code == 200, answer.text
    served = service.client.get(f"{R}/cases/c2/due", params={"as_of": AS_OF, "ledger": "true"})
    assert served.status_code == 200, served.text
    file = tmp_path / "events.jsonl"
    file.write_text("".join(json.dumps(e) + "\n" for e in history), encoding="utf-8")
    cli = _file_due(file)
    expected = cli
    got = served.json()["cases"]
    assert [c["obligations"] for c in got] == [c["obligations"] for c in expected]
    assert [c["actions"] for c in got] == [c["actions"] for c in expected]
    # The retraction made a difference: without it the case's obligations are others.
    plain = tmp_path / "plain.jsonl"
    plain.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    before = _file_due(plain)
    assert before != expected


def test_an_undeclared_field_is_422_with_a_suggestion(service: Service) -> None:
    event = {
        "id": "u1",
        "type": "consent.given",
        "at": "2026-12-01T09:00:00+01:00",
        "data": {"from": "oral"},
    }
    answer = service.client.post(f"{R}/cases/u-case/events", json=event)
    assert answer.status_code == 422, answer.text
    problem = answer.json()["error"]["diagnostics"][0]
    assert "'from'" in problem["message"] and "form" in problem["hint"]
    assert problem["path"] == "data.from"


def test_a_personnummer_case_id_is_refused(service: Service) -> None:
    event = {"id": "p1", "type": "hemvard.enrolled", "at": "2026-12-01T09:00:00+01:00"}
    answer = service.client.post(f"{R}/cases/{PERSONNUMMER}/events", json=event)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "case.personal-id"
    assert PERSONNUMMER not in answer.text


def test_a_personnummer_case_id_is_taken_when_allowed(tmp_path: Path) -> None:
    s = Service(tmp_path, "--future-tolerance", "36500d", "--allow-personal-case-ids")
    try:
        event = {"id": "p1", "type": "hemvard.enrolled", "at": "2026-12-01T09:00:00+01:00"}
        answer = s.client.post(f"{R}/cases/{PERSONNUMMER}/events", json=event)
        assert answer.status_code == 200, answer.text
    finally:
        s.stop()


def test_an_erased_case_leaves_no_trace_in_the_store_files_and_is_refused(tmp_path: Path) -> None:
    s = Service(tmp_path, "--future-tolerance", "36500d")
    try:
        case = f"case-{MARKER}"
        event = {
            "id": f"ev-{MARKER}",
            "type": "contact.made",
            "at": "2026-12-01T09:00:00+01:00",
            "data": {"topic": f"topic {MARKER}", "channel": MARKER * 20},
        }
        kept = {"id": "k1", "type": "hemvard.enrolled", "at": "2026-12-01T09:00:00+01:00"}
        assert s.client.post(f"{R}/cases/{case}/events", json=event).status_code == 200
        assert s.client.post(f"{R}/cases/other/events", json=kept).status_code == 200
        files = [p for p in tmp_path.iterdir() if p.name.startswith("events.db")]
        assert any(MARKER.encode() in p.read_bytes() for p in files)

        erased = s.client.delete(f"{R}/cases/{case}")
        assert erased.status_code == 200, erased.text
        assert erased.json()["erased_events"] == 1
        for path in tmp_path.iterdir():
            if path.name.startswith("events.db"):
                assert MARKER.encode() not in path.read_bytes(), path.name
        gone = s.client.get(f"{R}/cases/{case}/due", params={"as_of": AS_OF})
        assert gone.status_code == 404, gone.text
        again = s.client.post(f"{R}/cases/{case}/events", json=event)
        assert again.status_code == 409 and again.json()["error"]["code"] == "case.erased"
        assert "reopen" in again.json()["error"]["hint"]
    finally:
        s.stop()

    # A restarted service still refuses the case, keeps the other, and reopens on request.
    s = Service(tmp_path, "--future-tolerance", "36500d")
    try:
        assert s.client.post(f"{R}/cases/{case}/events", json=event).status_code == 409
        other = s.client.get(f"{R}/cases/other/due", params={"as_of": AS_OF, "ledger": "true"})
        assert other.json()["cases"], other.text
        reopened = s.client.post(f"{R}/cases/{case}/reopen")
        assert reopened.status_code == 200 and reopened.json() == {"reopened": True}
        assert s.client.post(f"{R}/cases/{case}/events", json=event).status_code == 200
    finally:
        s.stop()


def test_a_retraction_of_an_event_not_in_the_case_is_422_naming_it(service: Service) -> None:
    held = {"id": "h1", "type": "hemvard.enrolled", "at": "2026-12-01T09:00:00+01:00"}
    assert service.client.post(f"{R}/cases/r-case/events", json=held).status_code == 200
    wrong = _retraction("r-bad", "no-such", "r-case", "2026-12-02T09:00:00+01:00")
    answer = service.client.post(f"{R}/cases/r-case/events", json=[held, wrong])
    assert answer.status_code == 422, answer.text
    problem = answer.json()["error"]["diagnostics"][0]
    assert problem["code"] == "event.retraction-unknown" and problem["line"] == 2
    assert "'r-bad'" in problem["message"]
    right = _retraction("r-ok", "h1", "r-case", "2026-12-02T09:00:00+01:00")
    assert service.client.post(f"{R}/cases/r-case/events", json=right).status_code == 200
