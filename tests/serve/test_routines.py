"""One ``samverkan serve`` over the whole ``routines/`` directory: every routine by its path,
each answering as ``samverkan due --id`` does over the same events, and an event meant for
another routine refused."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from samverkan_rules.live import EventStore
from tests.serve.support import Service, httpx
from tests.support import EXAMPLES, ROUTINES

OREBRO = "orebro-dagverksamhet-hemvard"
KATRINEHOLM = "katrineholm-hemtjanst-vardcentral"
LSS = "lss-bostad-daglig-verksamhet"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _scenario(rid: str, file: str, name: str) -> tuple[list[dict[str, Any]], str]:
    """A routine scenario's events (as JSON) and its as_of."""
    spec = yaml.safe_load((ROUTINES / "tests" / rid / file).read_text(encoding="utf-8"))
    (found,) = [s for s in spec["scenarios"] if s["name"] == name]
    events = json.loads(json.dumps(found["events"], default=_plain))
    return events, json.loads(json.dumps(found["as_of"], default=_plain))


def _histories() -> dict[str, tuple[list[dict[str, Any]], str]]:
    example = EXAMPLES / "orebro-case.jsonl"
    orebro = [json.loads(x) for x in example.read_text(encoding="utf-8").splitlines() if x]
    return {
        OREBRO: (orebro, "2026-12-15T12:00:00+01:00"),
        KATRINEHOLM: _scenario(
            KATRINEHOLM,
            "linden-och-navertorp.yaml",
            "Mötet med Linden hållet och dokumenterat direkt efter",
        ),
        LSS: _scenario(
            LSS,
            "samverkansmote.yaml",
            "Insatsen avbryts – årsmötet och bokningen avbryts, biståndshandläggaren ska "
            "informeras",
        ),
    }


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    # The histories' events run to mid-December 2026: the tolerance lets them in whatever
    # the date of the run.
    s = Service(
        tmp_path_factory.mktemp("routines"),
        "--future-tolerance",
        "36500d",
        routines=ROUTINES,
        store="stores",
    )
    yield s
    s.stop()


def _cli_due(rid: str, events: Path, as_of: str) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "samverkan_rules",
            "due",
            "--routine",
            str(ROUTINES),
            "--id",
            rid,
            "--events",
            str(events),
            "--as-of",
            as_of,
            "--format",
            "json",
            "--ledger",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode in (0, 1), out.stderr  # 1: a warning about the input, not an error
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_one_server_answers_for_every_routine_as_samverkan_due_does(
    service: Service, tmp_path: Path
) -> None:
    for rid, (events, as_of) in _histories().items():
        by_case: dict[str, list[dict[str, Any]]] = {}
        for event in events:
            by_case.setdefault(event["case"], []).append(event)
        for case, own in by_case.items():
            answer = service.client.post(f"/routines/{rid}/cases/{case}/events", json=own)
            assert answer.status_code == 200, answer.text
            assert answer.json()["accepted"] == len(own)
        file = tmp_path / f"{rid}.jsonl"
        file.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
        cli = _cli_due(rid, file, as_of)
        listing = service.client.get(
            f"/routines/{rid}/due", params={"as_of": as_of, "ledger": "true"}
        )
        *served, trailer = map(json.loads, listing.text.splitlines())
        assert served == cli["cases"], rid
        assert trailer["trailer"]["count"] == len(cli["cases"])
        for case in by_case:
            one = service.client.get(
                f"/routines/{rid}/cases/{case}/due", params={"as_of": as_of, "ledger": "true"}
            ).json()
            assert one["cases"] == [c for c in cli["cases"] if c["case"] == case]
            assert one["routines"] == cli["routines"]
    # One store a routine, and the access log beside them.
    assert sorted(p.name for p in service.store.iterdir() if p.suffix == ".db") == sorted(
        ["access.db"]
    ) + sorted(
        f"{rid}.db"
        for rid in {
            yaml.safe_load(f.read_text(encoding="utf-8"))["id"] for f in ROUTINES.glob("*.yaml")
        }
    )


def test_an_event_of_a_type_the_routine_does_not_use_is_refused_and_not_stored(
    service: Service,
) -> None:
    event = {
        "id": "wrong-routine-1",
        "type": "dagverksamhet.start_planned",
        "at": "2026-12-01T10:00:00+01:00",
        "data": {"start_date": "2026-12-28"},
    }
    answer = service.client.post(f"/routines/{KATRINEHOLM}/cases/w1/events", json=[event])
    assert answer.status_code == 422
    (problem,) = answer.json()["error"]["diagnostics"]
    assert problem["code"] == "event.type-not-used"
    assert problem["field"] == "type" and problem["index"] == 0
    assert KATRINEHOLM in problem["message"] and "vc_meeting.held" in problem["message"]
    assert service.client.get(f"/routines/{KATRINEHOLM}/cases/w1/due").status_code == 404
    # The same event is Örebro's, and accepted there.
    ok = service.client.post(f"/routines/{OREBRO}/cases/w1/events", json=event)
    assert ok.status_code == 200, ok.text


def test_an_unknown_routine_is_404_naming_the_routines(service: Service) -> None:
    answer = service.client.get("/routines/orebro/due")
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["code"] == "routine.unknown" and OREBRO in error["message"]
    posted = service.client.post("/routines/orebro/cases/c1/events", json={"id": "x"})
    assert posted.status_code == 404


def test_routines_lists_versions_in_force_and_the_sha256_of_each_file(service: Service) -> None:
    answer = service.client.get("/routines")
    assert answer.status_code == 200
    listed = {r["id"]: r for r in answer.json()["routines"]}
    assert {OREBRO, KATRINEHOLM, LSS} <= set(listed)
    orebro = listed[OREBRO]
    assert [v["version"] for v in orebro["versions"]] == ["2014", "2"]
    assert orebro["in_force"] == "2"
    for version in orebro["versions"]:
        digest = hashlib.sha256((ROUTINES / version["file"]).read_bytes()).hexdigest()
        assert version["sha256"] == digest
    assert orebro["versions"][0]["valid_to"] == "2019-12-31"
    assert "dagverksamhet.start_planned" in orebro["event_types"]
    assert "dagverksamhet.start_planned" not in listed[KATRINEHOLM]["event_types"]


def test_a_file_store_with_several_routines_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="several routines are served"):
        Service(tmp_path, routines=ROUTINES, store="events.db")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_kill_9_loses_no_acknowledged_event_of_any_routine(tmp_path: Path) -> None:
    service = Service(tmp_path, "--future-tolerance", "36500d", routines=ROUTINES, store="stores")
    acknowledged: dict[str, list[str]] = {OREBRO: [], KATRINEHOLM: []}
    stop = threading.Event()

    def post(rid: str) -> None:
        with httpx.Client(base_url=service.url, headers=service.client.headers) as client:
            for i in range(100_000):
                if stop.is_set():
                    return
                event = {
                    "id": f"{rid[:3]}-{i}",
                    "type": "consent.given",
                    "at": "2026-12-01T09:00:00+01:00",
                    "data": {"form": "written"},
                }
                try:
                    answer = client.post(f"/routines/{rid}/cases/k{i % 20}/events", json=event)
                except httpx.TransportError:
                    return  # killed mid-request: not acknowledged
                if answer.status_code == 200:
                    acknowledged[rid].append(event["id"])

    posters = [threading.Thread(target=post, args=(rid,)) for rid in acknowledged]
    for t in posters:
        t.start()
    deadline = time.monotonic() + 60
    while min(map(len, acknowledged.values())) < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(service.process.pid, signal.SIGKILL)
    service.process.wait(timeout=30)
    stop.set()
    for t in posters:
        t.join(timeout=30)
    service.stop()
    for rid, ids in acknowledged.items():
        assert len(ids) >= 100
        with EventStore(service.store / f"{rid}.db") as reopened:
            stored = {e.id for e in reopened.events()}
        assert set(ids) <= stored, rid
        assert len(stored) - len(ids) <= 1  # at most the post in flight when killed
