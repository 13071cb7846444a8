"""The durable_rules 2.0.28 sharp edges the durable backend relies on, each shown on the real
library, and the backend's way around it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest

pytest.importorskip(
    "durable",
    reason="durable-rules is not installed (the `live` extra; it does not build on Python 3.13)",
)

from durable import engine

from samverkan_rules import evaluate, load_routine
from samverkan_rules.live import Session
from samverkan_rules.live.durable import (
    ConsequenceError,
    DurableMatcher,
    _noop,
    _SyncHost,
)
from tests.support import ROUTINES

OREBRO = load_routine(ROUTINES / "orebro-dagverksamhet-hemvard.yaml")
_names = iter(range(10**6))


def _ruleset(host: Any, rules: dict[str, Any]) -> str:
    name = f"edge-{next(_names)}-{id(host)}"
    host.register_rulesets({name: rules})
    return name


def _consent(i: int, case: str, when: datetime) -> dict[str, Any]:
    return {
        "id": f"e{i}",
        "case": case,
        "type": "consent.given",
        "at": when.isoformat(),
        "data": {"form": "written"},
    }


def test_the_synchronous_host_starts_no_timer_threads() -> None:
    before = threading.active_count()
    host = _SyncHost()
    name = _ruleset(host, {"r": {"all": [{"m": {"lane": "x"}}], "run": lambda c: None}})
    host.post(name, {"sid": "1", "id": 1, "lane": "x"})
    assert threading.active_count() == before
    # The library's own host starts two wall-clock timer threads.
    engine.Host()
    assert threading.active_count() >= before + 1


def test_ruleset_names_are_global_so_each_session_has_its_own() -> None:
    host = _SyncHost()
    rules = {"r": {"all": [{"m": {"lane": "x"}}], "run": lambda c: None}}
    name = _ruleset(host, rules)
    with pytest.raises(Exception, match="already registered"):
        host.register_rulesets({name: {"r": {"all": [{"m": {"lane": "x"}}], "run": lambda c: 0}}})
    a = DurableMatcher([OREBRO], {("orebro-dagverksamhet-hemvard", "2"): _window()})
    b = DurableMatcher([OREBRO], {("orebro-dagverksamhet-hemvard", "2"): _window()})
    assert a.describe()["durable_rules"]["ruleset"] != b.describe()["durable_rules"]["ruleset"]


def _window() -> Any:
    from samverkan_rules.compile.versions import validity_windows

    return validity_windows([OREBRO])[0][("orebro-dagverksamhet-hemvard", "2")]


def test_a_ruleset_holds_1024_sessions_and_eviction_keeps_far_below() -> None:
    host = _SyncHost()
    name = _ruleset(host, {"r": {"all": [{"m": {"lane": "x"}}], "run": lambda c: None}})
    for sid in range(1, 1025):
        host.post(name, {"sid": str(sid), "id": 1, "lane": "x"})
    with pytest.raises(MemoryError):
        host.post(name, {"sid": "1025", "id": 1, "lane": "x"})
    # The backend evicts the least recently used cases and rebuilds them from their events.
    session = Session(OREBRO, backend="durable", max_live_cases=40)
    start = datetime.fromisoformat("2026-12-01T09:00:00+01:00")
    for i in range(1100):
        session.post(_consent(i, f"c{i % 1060}", start + timedelta(minutes=i)))
    info = session.describe()["durable_rules"]
    assert info["live_cases"] <= 40 and info["evictions"] >= 1000
    # An evicted case comes back: rebuilt, and still agreeing with the reference.
    session.post(_consent(5000, "c3", start + timedelta(days=3)))
    assert session.describe()["durable_rules"]["rebuilds"] >= 1
    as_of = start + timedelta(days=4)
    assert (
        session.due(as_of).with_output(ledger=True, trace=True).to_json()
        == evaluate(OREBRO, session.events(), as_of, ledger=True, trace=True).to_json()
    )
    session.close()


def test_delete_state_without_a_fired_consequence_kills_the_process_unless_a_sentinel_fired() -> (
    None
):
    script = textwrap.dedent(
        """
        import sys
        from samverkan_rules.live.durable import _SyncHost
        host = _SyncHost()
        host.register_rulesets({"crash": {
            "r": {"all": [{"m": {"lane": "x"}}], "run": lambda c: None},
            "sentinel": {"all": [{"m": {"lane": "sentinel"}}], "run": lambda c: None}}})
        if sys.argv[1] == "sentinel":
            host.post("crash", {"sid": "7", "id": 1, "lane": "sentinel"})
        else:
            host.assert_fact("crash", {"sid": "7", "id": 1, "lane": "none"})
        host.delete_state("crash", "7")
        print("survived")
        """
    )
    bare = subprocess.run([sys.executable, "-c", script, "bare"], capture_output=True, timeout=60)
    assert bare.returncode != 0 and b"survived" not in bare.stdout
    safe = subprocess.run(
        [sys.executable, "-c", script, "sentinel"], capture_output=True, timeout=60
    )
    assert safe.returncode == 0 and b"survived" in safe.stdout


def test_dense_session_ids_keep_cases_apart() -> None:
    host = _SyncHost()
    rules = {"r": {"all": [{"a": {"lane": "keep"}}, {"b": {"lane": "never"}}], "run": _noop}}
    name = _ruleset(host, rules)
    for sid in range(1, 1001):
        host.assert_fact(name, {"sid": str(sid), "id": 1, "lane": "keep", "owner": sid})
    for sid in (1, 2, 500, 1000):
        facts = host.get_facts(name, str(sid))
        assert [f["owner"] for f in facts] == [sid]


def test_an_event_fires_one_rule_but_a_fact_completes_every_match() -> None:
    fired: list[str] = []

    def answer(c: Any) -> None:
        fired.append(c.ob["ob"])
        c.retract_fact(c.ob._d)

    host = _SyncHost()
    rules = {
        "a": {
            "all": [{"ob": {"lane": "ob"}}, {"ans": {"$and": [{"lane": "ans"}]}}],
            "run": answer,
        }
    }
    name = _ruleset(host, rules)
    for sid, post in (("1", host.post), ("2", host.assert_fact)):
        for n in (1, 2):
            host.assert_fact(name, {"sid": sid, "id": n, "lane": "ob", "ob": f"{sid}-o{n}"})
        fired.clear()
        post(name, {"sid": sid, "id": 3, "lane": "ans"})
        assert len(fired) == (1 if post == host.post else 2)


def test_consequence_exceptions_are_swallowed_by_durable_rules_but_raised_by_the_backend() -> None:
    def boom(c: Any) -> None:
        raise ValueError("boom")

    host = _SyncHost()
    name = _ruleset(host, {"b": {"all": [{"m": {"lane": "b"}}], "run": boom}})
    state = host.post(name, {"sid": "1", "id": 1, "lane": "b"})  # no exception here
    assert "boom" in state["exception"]
    # In the backend, an obligation fact it does not know makes its answer consequence fail.
    session = Session(OREBRO, backend="durable")
    session.post(_consent(1, "c1", datetime.fromisoformat("2026-12-01T09:00:00+01:00")))
    matcher = session._matcher
    live = matcher._live["c1"]
    plan = next(p for p in matcher._plans if p.rule.id == "consent-recorded")
    fact = {"sid": str(live.sid), "id": 10**6, "lane": plan.ob_lane, "ob": "ghost", "opens": -1}
    host_of_matcher = matcher._host
    host_of_matcher.assert_fact(matcher._name, {**fact, "deadline": 10**17})
    with pytest.raises(ConsequenceError):
        session.post(
            {
                "id": "e2",
                "case": "c1",
                "type": "document.recorded",
                "at": "2026-12-01T10:00:00+01:00",
                "data": {"record": "samtyckesmodul"},
            }
        )


def test_describe_names_the_rules_left_to_the_reference_code() -> None:
    routine = load_routine(ROUTINES / "katrineholm-hemtjanst-vardcentral.yaml")
    with Session(routine, backend="durable") as session:
        rules = session.describe()["rules"]
    fallback = {r["rule"]: r["reason"] for r in rules if r["engine"] == "reference"}
    assert "cancel-linden-meeting" in fallback
    assert "schedule" in fallback["cancel-linden-meeting"]
    assert any(r["engine"] == "durable_rules" for r in rules)
    # Deadlines at the next meeting depend on cancellations logged in the unit's case.
    assert "call off" in fallback["raise-at-linden"]
    assert "call off" in fallback["prepare-navertorp"]


def test_a_cancelled_meeting_gives_the_durable_session_the_reference_answer() -> None:
    routine = load_routine(ROUTINES / "katrineholm-hemtjanst-vardcentral.yaml")
    events: list[dict[str, Any]] = [
        {
            "id": "k1",
            "case": "c1",
            "type": "consent.given",
            "at": "2026-09-01T09:00:00+02:00",
            "data": {"form": "written"},
        },
        {
            "id": "q1",
            "case": "c1",
            "type": "vc_contact.needed",
            "at": "2026-09-14T14:00:00+02:00",
            "data": {"vardcentral": "linden", "question": "läkemedel"},
        },
        {
            "id": "m1",
            "case": "hemtjanstgruppen",
            "type": "vc_meeting.cancelled",
            "at": "2026-09-14T09:00:00+02:00",
            "data": {"vardcentral": "linden", "date": "2026-09-15"},
        },
    ]
    as_of = datetime.fromisoformat("2026-09-16T12:00:00+02:00")
    with Session(routine, backend="durable") as session:
        for event in events:  # the cancellation arrives last, timestamped first
            session.post(event, as_of=as_of)
        got = session.due(as_of).with_output(ledger=True, trace=True)
    want = evaluate(routine, events, as_of, ledger=True, trace=True)
    assert got.to_json() == want.to_json()
    deadlines = {o.rule: o.deadline for o in want.case("c1").obligations}
    assert deadlines["raise-at-linden"] == "2026-09-22T23:59:59+02:00"
