"""``GET .../due`` answers the question asked: filters by status, role and deadline, pages
with an opaque cursor, a trailer line that shows the stream was not cut; an unknown case is
404, and explaining one obligation finds it in its own case."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.serve.support import Service
from tests.support import EXAMPLES

RID = "orebro-dagverksamhet-hemvard"
R = f"/routines/{RID}"
AS_OF = "2026-12-15T12:00:00+01:00"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    # The example's events run to 2026-12-15: the tolerance lets them in whatever the date.
    s = Service(tmp_path_factory.mktemp("queries"), "--future-tolerance", "36500d")
    example = EXAMPLES / "orebro-case.jsonl"
    by_case: dict[str, list[dict[str, Any]]] = {}
    for line in example.read_text(encoding="utf-8").splitlines():
        if line:
            event = json.loads(line)
            by_case.setdefault(event["case"], []).append(event)
    for case, events in by_case.items():
        assert s.client.post(f"{R}/cases/{case}/events", json=events).status_code == 200
    yield s
    s.stop()


def _listing(service: Service, **params: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    answer = service.client.get(f"{R}/due", params={"as_of": AS_OF, **params})
    assert answer.status_code == 200, answer.text
    *cases, trailer = map(json.loads, answer.text.splitlines())
    assert set(trailer) == {"trailer"}
    assert trailer["trailer"]["count"] == len(cases)
    return cases, trailer["trailer"]


def test_status_filters_keep_only_those_statuses(service: Service) -> None:
    everything, _ = _listing(service, ledger="true")
    statuses = {o["status"] for c in everything for o in c["obligations"]}
    assert len(statuses) > 2  # the example has a mix to filter
    wanted = sorted(statuses)[:2]
    cases, _ = _listing(service, ledger="true", status=wanted)
    expected = {
        c["case"]: [o for o in c["obligations"] if o["status"] in wanted] for c in everything
    }
    assert {c["case"]: c["obligations"] for c in cases} == {k: v for k, v in expected.items() if v}
    bad = service.client.get(f"{R}/due", params={"status": "late"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]["message"]


def test_responsible_and_deadline_filters(service: Service) -> None:
    everything, _ = _listing(service)
    actions = [a for c in everything for a in c["actions"]]
    role = actions[0]["responsible"]
    cases, _ = _listing(service, responsible=role)
    kept = [a for c in cases for a in c["actions"]]
    assert kept == [a for a in actions if a["responsible"] == role]
    assert 0 < len(kept) < len(actions)
    before, after = "2026-12-20T00:00:00+01:00", "2026-12-10T00:00:00+01:00"
    cases, _ = _listing(service, deadline_before=before, deadline_after=after)
    window = [a for c in cases for a in c["actions"]]
    assert 0 < len(window) < len(actions)
    assert window == [
        a
        for a in actions
        if a["deadline"]
        and datetime.fromisoformat(after)
        <= datetime.fromisoformat(a["deadline"])
        < datetime.fromisoformat(before)
    ]


def test_pages_of_one_case_add_up_to_the_whole_listing(service: Service) -> None:
    everything, last = _listing(service)
    assert last["next_cursor"] is None and last["as_of"] == AS_OF
    pages: list[dict[str, Any]] = []
    cursor = None
    for _ in range(len(everything) + 1):
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        cases, trailer = _listing(service, **params)
        pages.extend(cases)
        cursor = trailer["next_cursor"]
        if cursor is None:
            break
    assert pages == everything
    assert service.client.get(f"{R}/due", params={"cursor": "nonsense"}).status_code == 400
    assert service.client.get(f"{R}/due", params={"limit": "0"}).status_code == 400


def test_later_pages_keep_the_first_pages_instant(service: Service) -> None:
    answer = service.client.get(f"{R}/due", params={"as_of": AS_OF, "limit": 1})
    cursor = json.loads(answer.text.splitlines()[-1])["trailer"]["next_cursor"]
    later = service.client.get(f"{R}/due", params={"cursor": cursor})  # no as_of: the cursor's
    assert json.loads(later.text.splitlines()[-1])["trailer"]["as_of"] == AS_OF


def test_an_unknown_case_is_404(service: Service) -> None:
    answer = service.client.get(f"{R}/cases/no-such-case/due", params={"as_of": AS_OF})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "case.unknown"


def test_explain_finds_an_obligation_in_its_case(service: Service) -> None:
    everything, _ = _listing(service)
    for case in everything:
        for action in case["actions"]:
            answer = service.client.get(
                f"{R}/obligations/{action['obligation']}/explain", params={"as_of": AS_OF}
            )
            assert answer.status_code == 200, answer.text
            (found,) = answer.json()["obligations"]
            assert found["case"] == case["case"] and found["trace"]
    wrong = service.client.get(f"{R}/obligations/start-journal:e0/explain", params={"as_of": AS_OF})
    assert wrong.status_code == 404
