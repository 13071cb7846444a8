"""Schedules whose occurrences can be called off (``schedules.<name>.cancelled_by``).

Invariants, over random cancellations and questions in Katrineholm's Linden schedule
(every Tuesday 13.30, no meeting on a public holiday):

- a deadline at the next meeting is the first Tuesday meeting after the question that had
  not been called off by the time the question came, found here by walking the calendar;
- the answer does not depend on the order of the events, nor on whether the case is
  evaluated alone (``cases=``) or with every case;
- a cancellation logged after the question does not move its deadline.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules import evaluate, load_routine
from samverkan_rules.engine.occurrences import CalledOff, cancelling_types
from samverkan_rules.events.model import event_from_mapping
from tests.support import ROUTINES, event

ROUTINE = load_routine(ROUTINES / "katrineholm-hemtjanst-vardcentral.yaml")
TZ = ZoneInfo("Europe/Stockholm")
FIRST_TUESDAY = date(2026, 9, 1)


def _tuesday(n: int) -> date:
    return FIRST_TUESDAY + timedelta(weeks=n)


def _meetings_from(day: date) -> list[date]:
    """Tuesdays from ``day`` on that are working days (the schedule skips the others)."""
    out = []
    d = day + timedelta(days=(1 - day.weekday()) % 7)
    while len(out) < 20:
        if ROUTINE.calendar.is_working_day(d):
            out.append(d)
        d += timedelta(weeks=1)
    return out


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, datetime.min.time()).replace(hour=hour, minute=minute, tzinfo=TZ)


def _meeting(day: date) -> datetime:
    """The Linden meeting on ``day`` (13.30)."""
    return _at(day, 13, 30)


def _question(at: datetime) -> dict[str, Any]:
    """A question to Linden in case c1."""
    return event(id="q1", type="vc_contact.needed", at=at, vardcentral="linden", question="x")


def _call_off(
    ident: str, at: datetime, day: date, vardcentral: str = "linden", case: str = "hemtjanstgruppen"
) -> dict[str, Any]:
    """The planner calls off the meeting on ``day``, logged at ``at``."""
    return event(
        id=ident,
        case=case,
        type="vc_meeting.cancelled",
        at=at,
        vardcentral=vardcentral,
        date=day.isoformat(),
    )


CONSENT = event(
    id="k1", type="consent.given", at=datetime(2026, 8, 20, 9, tzinfo=TZ), form="written"
)


cancellation = st.tuples(st.integers(0, 12), st.integers(-9, 6))
"""(which Tuesday is called off, days before it that the call is logged)."""


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    cancels=st.lists(cancellation, max_size=6),
    asked=st.integers(0, 80),
    hour=st.integers(7, 18),
    order=st.randoms(use_true_random=False),
)
def test_the_deadline_is_the_next_meeting_not_called_off_when_the_question_came(
    cancels: list[tuple[int, int]], asked: int, hour: int, order: Any
) -> None:
    question_at = _at(FIRST_TUESDAY + timedelta(days=asked), hour, 10)
    events = [CONSENT, _question(question_at)]
    called_off: dict[date, datetime] = {}
    for i, (week, before) in enumerate(cancels):
        day = _tuesday(week)
        logged = _at(day - timedelta(days=before), 8, i)
        events.append(_call_off(f"m{i}", logged, day))
        if logged < _meeting(day):  # a call logged after the meeting calls nothing off
            called_off[day] = min(called_off.get(day, logged), logged)
    expected_day = next(
        d
        for d in _meetings_from(question_at.date())
        if _meeting(d) > question_at and not (d in called_off and called_off[d] <= question_at)
    )
    as_of = datetime(2027, 1, 31, tzinfo=TZ)
    whole = evaluate(ROUTINE, events, as_of, ledger=True, trace=True)
    deadlines = {o.rule: o.deadline for o in whole.case("c1").obligations}
    assert deadlines["prepare-linden"] == _meeting(expected_day).isoformat()
    assert deadlines["raise-at-linden"].startswith(f"{expected_day.isoformat()}T23:59:59")
    shuffled = list(events)
    order.shuffle(shuffled)
    assert evaluate(ROUTINE, shuffled, as_of, ledger=True, trace=True).to_json() == whole.to_json()
    alone = evaluate(ROUTINE, shuffled, as_of, cases=["c1"], ledger=True, trace=True)
    assert alone.case("c1") == whole.case("c1")


def test_a_cancellation_logged_after_the_question_leaves_its_deadline() -> None:
    question = _question(datetime(2026, 9, 10, 9, tzinfo=TZ))
    late_call = _call_off("m1", datetime(2026, 9, 14, 9, tzinfo=TZ), date(2026, 9, 15))
    as_of = datetime(2026, 9, 20, tzinfo=TZ)
    result = evaluate(ROUTINE, [CONSENT, question, late_call], as_of, ledger=True, trace=True)
    raise_at = next(o for o in result.case("c1").obligations if o.rule == "raise-at-linden")
    assert raise_at.deadline == "2026-09-15T23:59:59+02:00"
    assert raise_at.status == "overdue"


def test_the_trace_names_the_meeting_skipped() -> None:
    events = [
        _call_off("m1", datetime(2026, 9, 14, 9, tzinfo=TZ), date(2026, 9, 15)),
        _question(datetime(2026, 9, 14, 14, tzinfo=TZ)),
    ]
    result = json.loads(
        evaluate(
            ROUTINE, events, datetime(2026, 9, 16, tzinfo=TZ), ledger=True, trace=True
        ).to_json()
    )
    (case,) = [c for c in result["cases"] if c["case"] == "c1"]
    raise_at = next(o for o in case["obligations"] if o["rule"] == "raise-at-linden")
    deadline_step = next(s for s in raise_at["trace"] if "22 september 2026 kl. 13.30" in s)
    assert "15 september 2026 kl. 13.30" in deadline_step


def test_only_the_schedule_named_and_only_its_date_are_called_off() -> None:
    nav = _call_off(
        "m1", datetime(2026, 9, 14, 9, tzinfo=TZ), date(2026, 9, 22), "navertorp", "anywhere"
    )
    assert cancelling_types([ROUTINE]) == {"vc_meeting.cancelled"}
    off = CalledOff.collect([ROUTINE], [event_from_mapping(nav)])
    linden = ROUTINE.schedules["linden"]
    navertorp = ROUTINE.schedules["navertorp"]
    meeting = datetime(2026, 9, 22, 15, tzinfo=TZ)
    assert off.includes(navertorp, meeting, datetime(2026, 9, 15, tzinfo=TZ))
    assert not off.includes(navertorp, meeting, datetime(2026, 9, 14, 8, tzinfo=TZ))
    assert not off.includes(linden, datetime(2026, 9, 22, 13, 30, tzinfo=TZ), meeting)
    assert not off.includes(navertorp, datetime(2026, 10, 6, 15, tzinfo=TZ), meeting)
