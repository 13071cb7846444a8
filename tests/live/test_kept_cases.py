"""A session that keeps few cases' replays between posts says exactly what one that keeps
every case's says: each post's changes, a wake's and a tick's are the same, and so is the
next instant time changes a case, on generated streams for every routine (a case let go is
replayed from its events and settled whole when it is next judged; a kept one settles only
what may have moved, see samverkan_rules.engine.settling)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samverkan_rules import EventError, load_routine
from samverkan_rules.live import Session
from tests.live.conftest import said
from tests.live.test_differential import REGISTRY, ROUTINE_IDS, SETTINGS, streams
from tests.support import ROUTINES


@pytest.mark.parametrize("rid", ROUTINE_IDS)
@SETTINGS
@given(data=st.data(), kept=st.integers(0, 2))
def test_few_kept_replays_change_nothing_a_post_says(rid: str, data: Any, kept: int) -> None:
    versions = REGISTRY.versions(rid)
    events = data.draw(streams(rid))
    every, few = Session(versions), Session(versions, kept_cases=kept)
    try:
        for event in events:
            try:
                every.check(event)
            except EventError:
                continue
            assert said(few.post(event)) == said(every.post(event))
            assert len(few._replays) <= kept
        if every.clock is not None:
            # Time alone: first where the next change is due, then a later wake, both on
            # what each post last settled (a kept replay settles only what may have moved).
            assert few.next_change() == every.next_change()
            soon, clock = every.next_change(), every.clock
            if soon is not None:  # (a case not judged since the clock moved may be past it)
                soon = max(soon, clock)
                assert said(few.wake(soon)) == said(every.wake(soon))
            clock = every.clock
            assert clock is not None
            later = clock + timedelta(days=data.draw(st.integers(1, 40)))
            assert said(few.wake(later)) == said(every.wake(later))
            assert few.next_change() == every.next_change()
            later += timedelta(hours=data.draw(st.integers(0, 30)))
            assert said(few.tick(later)) == said(every.tick(later))
            assert said(few.wake(later + timedelta(days=3))) == said(
                every.wake(later + timedelta(days=3))
            )
    finally:
        every.close()
        few.close()


def test_the_least_recently_judged_case_is_let_go_first() -> None:
    routine = load_routine(ROUTINES / "orebro-dagverksamhet-hemvard.yaml")
    with Session(routine, kept_cases=2) as session:
        for n, case in enumerate(["a", "b", "a", "c"]):
            session.post(
                {
                    "id": f"e{n}",
                    "case": case,
                    "type": "consent.given",
                    "at": f"2026-12-01T09:0{n}:00+01:00",
                    "data": {"form": "written"},
                }
            )
        assert list(session._replays._replays) == ["a", "c"]


def test_a_negative_number_of_kept_cases_is_refused() -> None:
    routine = load_routine(ROUTINES / "orebro-dagverksamhet-hemvard.yaml")
    with pytest.raises(ValueError, match="must not be negative"):
        Session(routine, kept_cases=-1)
