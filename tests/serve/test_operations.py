"""Operating the service: readiness, Prometheus metrics and a log pseudonym key that
survives a restart. A real ``samverkan serve`` on a loopback port."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from samverkan_rules import load_routine
from samverkan_rules.live import RoutineSessions
from tests.serve.support import TOKEN, Service, serve_once
from tests.support import EXAMPLES, ROUTINES

httpx = pytest.importorskip("httpx", reason="httpx (the 'dev' extra) is not installed")
pytest.importorskip("prometheus_client", reason="the 'serve' extra is not installed")

RID = "orebro-dagverksamhet-hemvard"
R = f"/routines/{RID}"


def _example(case: str) -> list[dict[str, Any]]:
    lines = (EXAMPLES / "orebro-case.jsonl").read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, filter(None, lines)) if e["case"] == case]


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the metrics text (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', line[: line.rindex("}")]))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_readiness_and_metrics(tmp_path: Path) -> None:
    s = Service(tmp_path, "--future-tolerance", "36500d")
    try:
        ready = httpx.get(s.url + "/readyz", timeout=10)  # no token: a probe
        assert ready.status_code == 200
        assert ready.json() == {"ready": True, "routines": 1, "problems": []}
        assert httpx.get(s.url + "/metrics", timeout=10).status_code == 401
        events = _example("c1")
        for event in events:
            assert s.client.post(f"{R}/cases/c1/events", json=event).status_code == 200
        text = s.client.get("/metrics").text
        route = "/routines/{routine}/cases/{case}/events"
        posts = _sample(text, "samverkan_http_requests_total", route=route, status="200")
        assert posts == len(events)
        assert _sample(text, "samverkan_events", routine=RID) == len(events)
        assert _sample(text, "samverkan_cases", routine=RID) == 1
        # The obligations by status are those of every case's ledger (units' too), judged
        # where the posts were: at the latest event, later than the wall clock here.
        latest = max(e["at"] for e in events)
        params = {"ledger": "true", "as_of": latest}
        lines = s.client.get(f"{R}/due", params=params).text.splitlines()
        statuses: dict[str, int] = {}
        for case in map(json.loads, lines):
            for o in case.get("obligations", []):
                statuses[o["status"]] = statuses.get(o["status"], 0) + 1
        counted = {
            status: _sample(text, "samverkan_obligations", routine=RID, status=status)
            for status in statuses
        }
        assert counted == statuses
        assert "c1" not in text and "e01" not in text  # no case or event id
    finally:
        s.stop()


def test_a_store_that_cannot_be_read_makes_the_service_unready(tmp_path: Path) -> None:
    routine = load_routine(ROUTINES / "orebro-dagverksamhet-hemvard.yaml")
    sessions = RoutineSessions([routine], store=tmp_path / "events.db")
    assert sessions.problems() == []
    sessions.close()  # the store's connection is gone
    assert sessions.problems() == [f"{RID}: ProgrammingError"]


def _pseudonym(log: Path) -> str:
    found = re.findall(r"case=(p-[0-9a-f]+)", log.read_text(encoding="utf-8"))
    assert found, log.read_text(encoding="utf-8")
    return found[-1]


def test_the_log_key_keeps_a_cases_pseudonym_across_restarts(tmp_path: Path) -> None:
    key = tmp_path / "log.key"
    key.write_text("a-long-random-log-key-0123456789", encoding="utf-8")
    key.chmod(0o600)
    event = _example("c1")[0]
    seen = []
    for extra in (("--log-key-file", str(key)), ("--log-key-file", str(key)), ()):
        s = Service(tmp_path, "--future-tolerance", "36500d", *extra)
        try:
            assert s.client.get(f"{R}/cases/c1/due").status_code in (200, 404)
            s.client.post(f"{R}/cases/c1/events", json=event)
        finally:
            s.stop()
        seen.append(_pseudonym(s.log))
    assert seen[0] == seen[1] != seen[2]
    key.chmod(0o644)
    refused = serve_once(
        "--routines",
        str(ROUTINES),
        "--store",
        str(tmp_path / "other"),
        "--log-key-file",
        str(key),
        env={"SAMVERKAN_TOKEN": TOKEN},
    )
    assert refused.returncode == 2 and "chmod 600" in refused.stderr
