"""The service's clock is the wall clock: answers are judged now unless a request gives
``as_of``, an event far in the future is refused, and nothing an event says moves the
clock (one event typed with the year 2062 once moved a server there for good)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.serve.support import Service, serve_once
from tests.support import ROUTINES

RID = "orebro-dagverksamhet-hemvard"
R = f"/routines/{RID}"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    s = Service(tmp_path_factory.mktemp("clock"))  # the default tolerance, 5 minutes
    yield s
    s.stop()


def _consent(ident: str, at: datetime) -> dict[str, Any]:
    return {
        "id": ident,
        "type": "consent.given",
        "at": at.isoformat(timespec="seconds"),
        "data": {"form": "written"},
    }


def _close_to_now(text: str) -> bool:
    return abs(datetime.fromisoformat(text) - datetime.now(UTC)) < timedelta(minutes=2)


def test_the_year_2062_event_is_refused_and_the_next_answer_is_judged_now(
    service: Service,
) -> None:
    now = datetime.now(UTC)
    future = _consent("y2062", datetime(2062, 3, 1, 9, tzinfo=UTC))
    refused = service.client.post(f"{R}/cases/clock-1/events", json=future)
    assert refused.status_code == 422
    (problem,) = refused.json()["error"]["diagnostics"]
    assert problem["code"] == "event.in-future" and problem["field"] == "at"
    assert "2062" in problem["message"] and "300 s" in problem["message"]
    answer = service.client.post(
        f"{R}/cases/clock-2/events", json=_consent("ordinary", now - timedelta(hours=1))
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert _close_to_now(body["as_of"]) and "." not in body["as_of"]  # whole seconds
    assert all(c["case"] == "clock-2" for c in body["changes"])  # no 2062 in any answer
    assert len(body["changes"]) < 10
    assert service.client.get(f"{R}/cases/clock-1/due").status_code == 404  # not stored


def test_an_answer_without_as_of_is_judged_at_the_wall_clock(service: Service) -> None:
    now = datetime.now(UTC)
    posted = service.client.post(
        f"{R}/cases/clock-3/events", json=_consent("c3", now - timedelta(days=10))
    )
    assert posted.status_code == 200
    due = service.client.get(f"{R}/cases/clock-3/due").json()
    assert _close_to_now(due["as_of"])
    *_, trailer = service.client.get(f"{R}/due").text.splitlines()
    assert _close_to_now(json.loads(trailer)["trailer"]["as_of"])
    # as_of still answers the question "what was due then".
    then = (now - timedelta(days=9)).isoformat(timespec="seconds")
    assert service.client.get(f"{R}/cases/clock-3/due", params={"as_of": then}).status_code == 200


def test_an_event_within_the_tolerance_is_taken(service: Service) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=2)
    answer = service.client.post(f"{R}/cases/clock-4/events", json=_consent("soon", soon))
    assert answer.status_code == 200, answer.text


def test_a_bad_tolerance_is_a_usage_error(tmp_path: Path) -> None:
    out = serve_once(
        "--routines", str(ROUTINES), "--store", str(tmp_path), "--future-tolerance", "five minutes"
    )
    assert out.returncode == 2
    assert "--future-tolerance" in out.stderr and "5m" in out.stderr
