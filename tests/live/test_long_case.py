"""A long case: the events a post judges are cut by binary search (the same as filtering
every one), and a case may hold only so many events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samverkan_rules import EventError
from samverkan_rules.events.model import Event
from samverkan_rules.live import RoutineSessions
from samverkan_rules.live.replays import until as _until
from tests.live.test_session import OREBRO

START = datetime(2026, 1, 5, 8, tzinfo=UTC)


@given(
    minutes=st.lists(st.integers(0, 50), max_size=30),
    cut=st.integers(-5, 60),
    offset=st.sampled_from([0, 1, 2]),
)
def test_the_cut_is_the_events_at_or_before_as_of(
    minutes: list[int], cut: int, offset: int
) -> None:
    zone = timezone(timedelta(hours=offset))
    events = sorted(
        (
            Event(f"e{i:02d}", "c", "contact.made", (START + timedelta(minutes=m)).astimezone(zone))
            for i, m in enumerate(minutes)
        ),
        key=lambda e: e.order_key,
    )
    as_of = START + timedelta(minutes=cut)
    assert _until(events, as_of) == [e for e in events if e.at <= as_of]


def test_a_case_may_hold_only_so_many_events() -> None:
    routed = RoutineSessions([OREBRO], max_case_events=3)
    now = datetime(2026, 2, 1, tzinfo=UTC)

    def contact(i: int, case: str = "c1") -> dict[str, object]:
        at = (START + timedelta(minutes=i)).isoformat()
        return {"id": f"e{i}", "case": case, "type": "contact.made", "at": at, "data": {}}

    routed.post("orebro-dagverksamhet-hemvard", [contact(1), contact(2)], now=now)
    with pytest.raises(EventError) as caught:
        routed.post("orebro-dagverksamhet-hemvard", [contact(3), contact(4)], now=now)
    assert [d.code for d in caught.value.diagnostics] == ["case.too-many-events"]
    assert routed.session("orebro-dagverksamhet-hemvard").case_size("c1") == 2
    # Another case is not held back, and the third event of this one is taken.
    routed.post("orebro-dagverksamhet-hemvard", contact(5, "c2"), now=now)
    routed.post("orebro-dagverksamhet-hemvard", contact(6), now=now)
    assert routed.session("orebro-dagverksamhet-hemvard").case_size("c1") == 3
    with pytest.raises(ValueError, match="max_case_events"):
        RoutineSessions([OREBRO], max_case_events=0)
    routed.close()
