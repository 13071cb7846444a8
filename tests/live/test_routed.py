"""Several routines side by side: a session never mixes routine ids, and
:class:`RoutineSessions` routes each case to the routine it is posted to, refuses what a
routine does not use and events in the future, and keeps one store per routine."""

from __future__ import annotations

import stat
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import samverkan_rules.live.session as session_module
from samverkan_rules import EvaluationError, EventError, evaluate, load_registry
from samverkan_rules.live import RoutineSessions, Session, UnknownRoutineError
from tests.support import ROUTINES, event

REGISTRY = load_registry(ROUTINES)
OREBRO = "orebro-dagverksamhet-hemvard"
KATRINEHOLM = "katrineholm-hemtjanst-vardcentral"
NOW = datetime.fromisoformat("2026-12-05T12:00:00+01:00")
CONSENT = event(id="e1", type="consent.given", at="2026-12-01T09:00:00+01:00", form="written")


def _both() -> list[Any]:
    return [*REGISTRY.versions(OREBRO), *REGISTRY.versions(KATRINEHOLM)]


def test_a_session_and_evaluate_refuse_a_mix_of_routine_ids() -> None:
    # Both routines use consent.given: together they would both judge every case.
    with pytest.raises(EvaluationError, match="each case follows one routine"):
        Session(_both())
    with pytest.raises(EvaluationError, match=f"{KATRINEHOLM}, {OREBRO}"):
        evaluate(_both(), [CONSENT], NOW)
    # Every version of one routine is still one ruleset.
    assert Session(REGISTRY.versions(OREBRO)).post(CONSENT).accepted == 1


def test_each_case_follows_the_routine_it_is_posted_to() -> None:
    with RoutineSessions(_both()) as routed:
        routed.post(OREBRO, CONSENT, now=NOW)
        routed.post(KATRINEHOLM, {**CONSENT, "id": "e2", "case": "k1"}, now=NOW)
        orebro = routed.session(OREBRO).due(NOW)
        katrineholm = routed.session(KATRINEHOLM).due(NOW)
        assert [c.case for c in orebro.cases] == ["c1"]
        assert "k1" in [c.case for c in katrineholm.cases]
        assert "c1" not in [c.case for c in katrineholm.cases]
        assert orebro.to_json() == evaluate(REGISTRY.versions(OREBRO), [CONSENT], NOW).to_json()
        with pytest.raises(UnknownRoutineError, match=OREBRO):
            routed.session("orebro")


def test_a_type_the_routine_does_not_use_refuses_the_whole_post() -> None:
    planned = event(
        id="p1",
        type="dagverksamhet.start_planned",
        at="2026-12-01T10:00:00+01:00",
        start_date="2026-12-28",
    )
    with RoutineSessions(REGISTRY.versions(KATRINEHOLM)) as routed:
        with pytest.raises(EventError) as caught:
            routed.post(KATRINEHOLM, [CONSENT, planned], now=NOW)
        (problem,) = caught.value.diagnostics
        assert (problem.code, problem.line, problem.path) == ("event.type-not-used", 2, "type")
        assert routed.session(KATRINEHOLM).cases() == []  # all or nothing


def test_an_event_in_the_future_is_refused_and_the_clock_is_the_callers() -> None:
    future = {**CONSENT, "id": "f1", "at": "2062-01-01T09:00:00+01:00"}
    with RoutineSessions(REGISTRY.versions(OREBRO)) as routed:
        with pytest.raises(EventError) as caught:
            routed.post(OREBRO, future, now=NOW)
        assert caught.value.diagnostics[0].code == "event.in-future"
        assert routed.session(OREBRO).cases() == []
        changes = routed.post(OREBRO, CONSENT, now=NOW)
        assert changes.as_of == NOW
        # Within the tolerance an event is taken, and judged at its own instant.
        soon = {**CONSENT, "id": "s1", "at": (NOW + timedelta(minutes=4)).isoformat()}
        assert routed.post(OREBRO, soon, now=NOW).as_of == NOW + timedelta(minutes=4)


def test_one_store_per_routine_in_a_private_directory(tmp_path: Path) -> None:
    folder = tmp_path / "stores"
    with RoutineSessions(_both(), store=folder) as routed:
        routed.post(OREBRO, CONSENT, now=NOW)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.glob("*.db")) == [f"{KATRINEHOLM}.db", f"{OREBRO}.db"]
    with RoutineSessions(_both(), store=folder) as reopened:
        assert reopened.session(OREBRO).cases() == ["c1"]
        assert reopened.session(KATRINEHOLM).cases() == []


def test_a_query_does_not_hold_the_posting_lock_while_it_evaluates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session = Session(REGISTRY.versions(OREBRO))
    session.post(CONSENT)
    free: list[bool] = []
    original = session_module.evaluate

    def evaluate_watching(*args: Any, **kwargs: Any) -> Any:
        # Another thread (a post) can take the lock while the evaluation runs.
        probe = threading.Thread(target=lambda: free.append(_take(session._lock)))
        probe.start()
        probe.join()
        return original(*args, **kwargs)

    monkeypatch.setattr(session_module, "evaluate", evaluate_watching)
    session.due(NOW)
    session.due(NOW, "c1")
    assert free == [True, True]


def _take(lock: Any) -> bool:
    taken = bool(lock.acquire(timeout=2))
    if taken:
        lock.release()
    return taken


def test_an_obligation_is_found_in_its_case_without_evaluating() -> None:
    session = Session(REGISTRY.versions(OREBRO))
    changes = session.post([CONSENT, {**CONSENT, "id": "e9", "case": "c2"}])
    for change in changes:
        assert session.case_of(change.obligation) == change.case
    assert session.case_of("no-such-rule:nothing") is None
