"""A kept replay settles only what may have moved since its last settle (see
samverkan_rules.engine.settling): it must say exactly what settling every obligation says.

Events come in time order here (so the replays are kept, not started afresh), with the
clock moved between posts by wakes of hours to weeks, long enough for deadlines to pass and
escalations to begin; a session keeping no replay settles every obligation every time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules import EventError
from samverkan_rules.live import Session
from tests.live.conftest import said
from tests.live.test_differential import REGISTRY, ROUTINE_IDS, SETTINGS, streams
from tests.live.test_session import CONSENT, KATRINEHOLM, OREBRO, START
from tests.support import event


@pytest.mark.parametrize("rid", ROUTINE_IDS)
@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_settling_what_may_have_moved_says_what_settling_everything_says(
    rid: str, data: Any
) -> None:
    versions = REGISTRY.versions(rid)
    events = sorted(
        data.draw(streams(rid)), key=lambda e: (datetime.fromisoformat(e["at"]), e["id"])
    )
    kept, fresh = Session(versions), Session(versions, kept_cases=0)
    try:
        for event in events:
            try:
                kept.check(event)
            except EventError:
                continue
            clock = kept.clock
            if clock is not None and datetime.fromisoformat(event["at"]) < clock:
                continue  # the clock went past it in a wake
            assert said(kept.post(event)) == said(fresh.post(event))
            assert kept.next_change() == fresh.next_change()
            if data.draw(st.booleans()):
                clock = kept.clock
                assert clock is not None
                soon = kept.next_change()
                if soon is not None and data.draw(st.booleans()):
                    later = max(soon, clock)  # exactly where time next changes a case
                else:
                    later = clock + timedelta(hours=data.draw(st.integers(0, 24 * 30)))
                assert said(kept.wake(later)) == said(fresh.wake(later))
                assert kept.next_change() == fresh.next_change()
    finally:
        kept.close()
        fresh.close()


def test_an_escalation_stays_while_its_overdue_obligation_does() -> None:
    """The Vår vårdcentral reply escalates from its deadline; posts to the case after that
    neither end the escalation nor say it again, kept replay or not."""
    question = event(
        id="q1",
        type="message.sent",
        at="2026-12-01T10:00:00+01:00",
        kind="vc_question",
        to=["vardcentral.var"],
        channel="prator",
    )
    notes = [
        event(id=f"d{n}", type="document.recorded", at=at, record="genomforandeplan")
        for n, at in enumerate(
            ["2026-12-02T09:00:00+01:00", "2026-12-07T09:00:00+01:00", "2026-12-08T09:00:00+01:00"]
        )
    ]
    kept, fresh = Session(KATRINEHOLM), Session(KATRINEHOLM, kept_cases=0)
    with kept, fresh:
        posts = []
        for e in [question, *notes]:
            posts.append(said(kept.post(e)))
            assert posts[-1] == said(fresh.post(e))
        escalation = "var-vardcentral-reply:q1:escalation-1"
        arose = [c for c in posts[2] if c["obligation"] == escalation]
        assert [(c["before"], c["after"]) for c in arose] == [(None, "due")]
        assert not [c for c in posts[3] if c["obligation"] == escalation]
        later = datetime.fromisoformat("2026-12-20T09:00:00+01:00")
        assert said(kept.wake(later)) == said(fresh.wake(later))
        assert said(kept.post({**notes[0], "id": "d9", "at": later.isoformat()})) == said(
            fresh.post({**notes[0], "id": "d9", "at": later.isoformat()})
        )
        assert kept.due(later).case("c1") == fresh.due(later).case("c1")


def test_a_retraction_and_an_earlier_event_in_one_post_replay_the_case_afresh() -> None:
    """The retraction leaves an event out of the case's list while the earlier event
    enters it, so the last event judged stands where it stood: only comparing every event
    judged tells that the replay must start again."""
    first = [
        CONSENT,
        START,
        event(id="e3", type="document.recorded", at="2026-12-01T11:00:00+01:00", record="x"),
    ]
    then = [
        event(
            id="e4",
            type="dagverksamhet.start_planned",
            at="2026-12-01T09:30:00+01:00",
            start_date="2027-01-11",
        ),
        event(id="r1", type="event.retracted", at="2026-12-01T12:00:00+01:00", event="e2"),
    ]
    kept, fresh = Session(OREBRO), Session(OREBRO, kept_cases=0)
    with kept, fresh:
        for e in first:
            assert said(kept.post(e)) == said(fresh.post(e))
        both = said(kept.post(then))
        assert both == said(fresh.post(then))
        assert any(c["obligation"].endswith(":e4") and c["before"] is None for c in both)
        assert any(c["obligation"].endswith(":e2") and c["after"] is None for c in both)
