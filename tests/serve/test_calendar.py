"""Calendar feeds: ``GET /routines/{r}/calendar/{who}.ics`` lists each open obligation of a
role or unit at its deadline, readable by a calendar program through a keyed link, naming
no case."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import pytest

from tests.serve.support import TOKEN, Service, httpx
from tests.support import EXAMPLES

icalendar = pytest.importorskip("icalendar")

RID = "orebro-dagverksamhet-hemvard"
R = f"/routines/{RID}"
AS_OF = "2026-12-15T12:00:00+01:00"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    s = Service(tmp_path_factory.mktemp("calendar"), "--future-tolerance", "36500d")
    by_case: dict[str, list[dict[str, Any]]] = {}
    for line in (EXAMPLES / "orebro-case.jsonl").read_text(encoding="utf-8").splitlines():
        if line:
            event = json.loads(line)
            by_case.setdefault(event["case"], []).append(event)
    for case, events in by_case.items():
        assert s.client.post(f"{R}/cases/{case}/events", json=events).status_code == 200
    yield s
    s.stop()


def _actions(service: Service) -> list[dict[str, Any]]:
    answer = service.client.get(f"{R}/due", params={"as_of": AS_OF})
    *cases, _trailer = map(json.loads, answer.text.splitlines())
    return [a for c in cases for a in c["actions"]]


def _feed(service: Service, who: str, **params: str) -> Any:
    answer = service.client.get(f"{R}/calendar/{who}.ics", params={"as_of": AS_OF, **params})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/calendar")
    return icalendar.Calendar.from_ical(answer.content)


def _start(event: Any) -> datetime | date:
    return event.decoded("dtstart")  # type: ignore[no-any-return]


def test_a_role_feed_has_one_event_per_open_obligation_at_its_deadline(
    service: Service,
) -> None:
    actions = _actions(service)
    roles = {a["responsible"] for a in actions if a["deadline"]}
    assert len(roles) > 1  # the example asks more than one role to act
    for role in sorted(roles):
        cal = _feed(service, role)
        events = list(cal.walk("VEVENT"))
        # A role named like its unit (``dagverksamhet``) is the unit: its feed has all of it.
        mine = [
            a
            for a in actions
            if a["deadline"]
            and (a["responsible"] == role or a["responsible"].startswith(role + "."))
        ]
        assert len(events) == len(mine)
        assert len({str(e["uid"]) for e in events}) == len(events)
        for action in mine:
            deadline = datetime.fromisoformat(action["deadline"])
            if deadline.hour == 23 and deadline.minute == 59:
                wanted: datetime | date = deadline.date()  # a whole day, not 23:59
            else:
                wanted = deadline
            assert wanted in [_start(e) for e in events], (role, action["obligation"])


def test_a_unit_feed_holds_every_role_of_the_unit(service: Service) -> None:
    actions = _actions(service)
    unit = "hemvard"
    cal = _feed(service, unit)
    expected = [a for a in actions if a["responsible"].split(".")[0] == unit and a["deadline"]]
    assert expected
    assert len(list(cal.walk("VEVENT"))) == len(expected)


def test_the_feed_names_no_case_and_keeps_its_uids_between_polls(service: Service) -> None:
    actions = _actions(service)
    role = actions[0]["responsible"]
    first = service.client.get(f"{R}/calendar/{role}.ics", params={"as_of": AS_OF}).text
    second = service.client.get(f"{R}/calendar/{role}.ics", params={"as_of": AS_OF}).text
    assert first == second
    for case in {a["case"] for a in actions}:
        assert not re.search(rf"\b{re.escape(case)}\b", first), case
    description = str(next(iter(_feed(service, role).walk("VEVENT")))["description"])
    assert "Ärende: p-" in description and "/explain" in description


def test_a_link_key_opens_its_own_feed_and_nothing_else(service: Service) -> None:
    link = service.client.get(f"{R}/calendar/hemvard.driftsplanerare")
    assert link.status_code == 200
    path = link.json()["path"]
    assert path.startswith(f"{R}/calendar/hemvard.driftsplanerare.ics?key=")
    key = path.rsplit("=", 1)[1]
    anonymous = httpx.Client(base_url=service.url, timeout=30)
    try:
        opened = anonymous.get(f"{path}&as_of={quote(AS_OF)}")
        assert opened.status_code == 200 and b"BEGIN:VCALENDAR" in opened.content
        # The key opens no other feed, no other route, and nothing without it.
        other = anonymous.get(f"{R}/calendar/hemvard.ics", params={"key": key})
        assert other.status_code == 401
        assert anonymous.get(f"{R}/due", params={"key": key}).status_code == 401
        bare = anonymous.get(f"{R}/calendar/hemvard.driftsplanerare.ics")
        assert bare.status_code == 401
        wrong = anonymous.get(path[:-1] + ("0" if path[-1] != "0" else "1"))
        assert wrong.status_code == 401
    finally:
        anonymous.close()
    assert TOKEN not in path
    assert key not in service.log.read_text()  # the log names the route, never the query


def test_an_unknown_role_is_404_with_a_suggestion(service: Service) -> None:
    answer = service.client.get(f"{R}/calendar/hemvard.driftsplanerar.ics")
    assert answer.status_code == 404
    assert "hemvard.driftsplanerare" in (answer.json()["error"]["hint"] or "")
