"""Judging cases a few at a time (:meth:`Session.due_of`, what a listing of every case
streams) gives, case by case, what evaluating every event at once gives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules.live import Session
from tests.live.conftest import post_each
from tests.live.test_differential import REGISTRY, ROUTINE_IDS, SETTINGS, streams
from tests.live.test_session import CONSENT, OREBRO, START


def _in_batches(session: Session, as_of: Any, batch: int) -> list[dict[str, Any]]:
    return [
        case
        for result in session.due_of(as_of, session.listed_cases(), batch=batch)
        for case in result.case_dicts()
    ]


@pytest.mark.parametrize("rid", ROUTINE_IDS)
@settings(SETTINGS, max_examples=25)
@given(data=st.data())
def test_cases_judged_in_batches_are_the_cases_of_one_evaluation(rid: str, data: Any) -> None:
    with Session(REGISTRY.versions(rid)) as session:
        post_each(session, data.draw(streams(rid)))
        if session.clock is None:
            return
        batch = data.draw(st.integers(1, 5))
        for days in data.draw(st.lists(st.integers(-5, 60), min_size=1, max_size=3)):
            as_of = session.clock + timedelta(days=days, hours=data.draw(st.integers(0, 23)))
            whole = list(session.due(as_of).case_dicts())
            assert _in_batches(session, as_of, batch) == whole


def test_a_batch_counts_only_its_cases() -> None:
    with Session(OREBRO) as session:
        session.post([CONSENT, START])
        session.post({**CONSENT, "id": "k2", "case": "c2"})
        clock = session.clock
        assert clock is not None
        (first,) = session.due_of(clock, ["c2"])
        assert [c.case for c in first.cases] == ["c2"]
        assert first.summary["cases"] == 1 and first.summary["events"] == 1
        assert [c.case for r in session.due_of(clock, ["c1", "c2"], batch=1) for c in r.cases] == [
            "c1",
            "c2",
        ]
        with pytest.raises(ValueError, match="batch"):
            list(session.due_of(clock, ["c1"], batch=0))
