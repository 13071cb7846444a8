"""A listing filtered by status judges only the cases that may match, and says exactly what
judging every case and then filtering says, at any instant after the clock, with or without
a restart in between."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samverkan_rules.live import Session
from samverkan_rules.serve.queries import DueQuery, case_lines, judged_here, judged_lines, page
from samverkan_rules.status import ACTION_STATUSES
from samverkan_rules.time.instants import local_stamp
from tests.live.conftest import Stores, post_each
from tests.live.test_differential import REGISTRY, ROUTINE_IDS, streams
from tests.live.test_session import CONSENT, OREBRO, START

_SETTINGS = settings(
    deadline=None,
    max_examples=12,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _listing(session: Session, as_of: datetime, query: DueQuery, fast: bool) -> list[bytes]:
    candidates = (
        session.due_candidates(
            as_of,
            query.statuses,
            deadline_before=query.deadline_before,
            deadline_after=query.deadline_after,
        )
        if fast
        else None
    )
    if candidates is None:  # (also when the session cannot tell: see the second test)
        result = session.due(as_of)
        return list(page(case_lines(result, {}, query), query, result.as_of))
    lines = judged_lines(session, candidates, as_of, judged_here(session, as_of, {}, query))
    return list(page(lines, query, local_stamp(as_of, session.tz)))


@pytest.mark.parametrize("rid", ROUTINE_IDS)
@_SETTINGS
@given(data=st.data())
def test_the_candidates_give_the_listing_every_case_gives(rid: str, data: Any) -> None:
    versions = REGISTRY.versions(rid)
    events = data.draw(streams(rid))
    restart = data.draw(st.integers(0, len(events)))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.db"
        session = Session(versions, store=path)
        try:
            post_each(session, events[:restart])
            session.close()  # a restarted session knows only what it logged
            session = Session(versions, store=path)
            post_each(session, events[restart:])
            if session.clock is None:
                return
            if data.draw(st.booleans()):
                session.wake(session.clock + timedelta(days=data.draw(st.integers(0, 10))))
            clock = session.clock
            assert clock is not None
            statuses = frozenset(
                data.draw(st.sets(st.sampled_from(sorted(ACTION_STATUSES)), min_size=1))
            )
            limit = data.draw(st.none() | st.integers(1, 3))
            # Deadline bounds, each maybe, within a few weeks either side of the clock.
            bound = st.none() | st.integers(-30, 60).map(lambda d: clock + timedelta(days=d))
            query = DueQuery(
                statuses=statuses,
                limit=limit,
                deadline_before=data.draw(bound),
                deadline_after=data.draw(bound),
            )
            cases = session.cases()
            if cases and data.draw(st.booleans()):  # an erased case is listed no more
                session.erase(data.draw(st.sampled_from(cases)), clock)
            for days in sorted(data.draw(st.lists(st.integers(0, 60), min_size=1, max_size=3))):
                as_of = clock + timedelta(days=days, hours=data.draw(st.integers(0, 23)))
                assert _listing(session, as_of, query, fast=True) == _listing(
                    session, as_of, query, fast=False
                )
        finally:
            session.close()


def test_candidates_are_the_matching_cases_and_none_where_they_cannot_tell() -> None:
    session = Session(OREBRO)
    session.post([CONSENT, START])
    for n in range(2, 40):
        session.post({**CONSENT, "id": f"k{n}", "case": f"c{n}"})
    clock = session.clock
    assert clock is not None
    later = clock + timedelta(days=30)
    # Before time is told: every case whose next change has come by then may have changed.
    assert len(session.due_candidates(later, frozenset({"blocked"})) or []) == 39
    session.wake(later)
    overdue = {
        c.case for c in session.due(later).cases if any(a.status == "overdue" for a in c.actions)
    }
    assert overdue, "the example has overdue actions"
    assert session.due_candidates(later, frozenset({"overdue"})) == sorted(overdue)
    assert session.due_candidates(later, frozenset({"blocked"})) == []
    assert session.due_candidates(later, frozenset({"fulfilled"})) is None
    assert session.due_candidates(later - timedelta(seconds=1), frozenset({"due"})) is None
    assert session.due_candidates(later, frozenset()) is None


def test_a_replica_lists_what_another_wrote(stores: Stores) -> None:
    """Two sessions on one store (two replicas on PostgreSQL; on SQLite a reopened file):
    the one that did not judge a case still lists it as judging every case would."""
    if stores.kind == "sqlite":
        pytest.skip("one process writes an SQLite file: no second session beside the first")
    a, b = Session(OREBRO, store=stores.open()), Session(OREBRO, store=stores.open())
    a.post([CONSENT, START])
    for n in range(2, 12):
        a.post({**CONSENT, "id": f"k{n}", "case": f"c{n}"})
    clock = a.clock
    assert clock is not None
    query = DueQuery(statuses=frozenset({"overdue"}))
    for days in (0, 3, 30):
        as_of = clock + timedelta(days=days)
        assert b.due_candidates(as_of, query.statuses) is not None
        assert _listing(b, as_of, query, fast=True) == _listing(a, as_of, query, fast=False)
    b.wake(clock + timedelta(days=30))
    a.post({**START, "id": "s9", "case": "c9"})
    as_of = clock + timedelta(days=31)
    assert "c9" in (b.due_candidates(as_of, query.statuses) or [])
    assert _listing(b, as_of, query, fast=True) == _listing(a, as_of, query, fast=False)
