"""A live session's answer for one case: that case's ledger and a summary counted over it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from samverkan_rules import evaluate, load_routine
from samverkan_rules.live import Session
from samverkan_rules.status import STATUSES

ROOT = Path(__file__).resolve().parents[2]
OREBRO = load_routine(ROOT / "routines" / "orebro-dagverksamhet-hemvard.yaml")
AS_OF = datetime.fromisoformat("2026-12-15T12:00:00+01:00")


def ev(ident: str, case: str, etype: str, when: str, **data: Any) -> dict[str, Any]:
    return {"id": ident, "case": case, "type": etype, "at": when, "data": data}


EVENTS = [
    ev("e1", "c1", "consent.given", "2026-12-01T09:00:00+01:00", form="written"),
    ev(
        "e2",
        "c1",
        "dagverksamhet.start_planned",
        "2026-12-01T10:00:00+01:00",
        start_date="2026-12-28",
    ),
    ev("x1", "c2", "consent.given", "2026-12-03T09:00:00+01:00"),
    ev("x2", "c2", "consent.given", "2026-12-20T09:00:00+01:00"),  # after as_of
]


def test_one_case_is_that_case_alone_with_its_own_summary() -> None:
    session = Session(OREBRO)
    session.post(EVENTS)
    whole = evaluate(OREBRO, EVENTS, AS_OF, ledger=True)
    for case, events in (("c1", 2), ("c2", 1)):
        doc = json.loads(session.due(AS_OF, case).with_output(ledger=True).to_json())
        assert [c["case"] for c in doc["cases"]] == [case]
        assert doc["cases"][0] == json.loads(whole.to_json())["cases"][["c1", "c2"].index(case)]
        assert doc["queues"] == []
        assert list(doc["summary"]) == [*STATUSES, "events", "cases"]
        assert doc["summary"]["events"] == events
        assert doc["summary"]["cases"] == 1
        counted = {s: 0 for s in STATUSES}
        for o in doc["cases"][0]["obligations"]:
            counted[o["status"]] += 1
        assert {s: doc["summary"][s] for s in STATUSES} == counted
        assert doc["as_of"] == whole.as_of


def test_a_case_without_events_has_no_ledger() -> None:
    session = Session(OREBRO)
    session.post(EVENTS)
    result = session.due(AS_OF, "nobody")
    assert result.cases == []
    assert result.summary == {**dict.fromkeys(STATUSES, 0), "events": 0, "cases": 0}
