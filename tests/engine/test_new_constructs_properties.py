"""Invariants of the newer constructs, over generated instants.

* a ``later_of`` deadline is the latest of its parts and an ``earlier_of`` the earliest;
* lateness in each unit agrees: never negative, no more working days than calendar days,
  and whole hours within a day of calendar days times 24.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules import evaluate, load_routine_text
from tests.support import FIXTURES

MINIMAL = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")
WORKING = "    deadline: {after: trigger, working_days: 2}\n"
PARTS = ["{after: trigger, hours: 30}", "{before: data.due_date, working_days: 1}"]


def _routine(deadline: str):  # type: ignore[no-untyped-def]
    return load_routine_text(MINIMAL.replace(WORKING, f"    deadline: {deadline}\n"))


LATER = _routine("{later_of: [" + ", ".join(PARTS) + "]}")
EARLIER = _routine("{earlier_of: [" + ", ".join(PARTS) + "]}")
SINGLE = [_routine(p) for p in PARTS]

instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 1), timezones=st.just(UTC)
)


def _deadline(routine, at: datetime, due: str) -> datetime:  # type: ignore[no-untyped-def]
    event = {"id": "e1", "case": "c1", "type": "test.referral", "at": at.isoformat()}
    event["data"] = {"due_date": due}
    result = evaluate(routine, [event], at + timedelta(seconds=1), ledger=True, trace=True)
    deadline = result.case("c1").obligations[0].deadline
    assert deadline is not None
    return datetime.fromisoformat(deadline)


@settings(max_examples=60, deadline=None)
@given(at=instants, days=st.integers(min_value=2, max_value=40))
def test_later_and_earlier_of_are_the_max_and_min_of_their_parts(at: datetime, days: int) -> None:
    at = at.replace(microsecond=0)
    due = (at + timedelta(days=days)).date().isoformat()
    parts = [_deadline(r, at, due) for r in SINGLE]
    assert _deadline(LATER, at, due) == max(parts)
    assert _deadline(EARLIER, at, due) == min(parts)


@settings(max_examples=60, deadline=None)
@given(at=instants, after=st.integers(min_value=1, max_value=24 * 60))
def test_lateness_units_agree(at: datetime, after: int) -> None:
    at = at.replace(microsecond=0)
    routine = SINGLE[0]
    event = {"id": "e1", "case": "c1", "type": "test.referral", "at": at.isoformat()}
    event["data"] = {"due_date": (at + timedelta(days=60)).date().isoformat()}
    as_of = at + timedelta(hours=30, minutes=after)
    o = evaluate(routine, [event], as_of, ledger=True, trace=True).case("c1").obligations[0]
    assert o.status == "overdue" and o.late is not None
    late = o.late
    assert 0 <= late.working_days <= late.days
    assert late.hours == (after // 60)
    assert (late.days - 1) * 24 <= late.hours + 24 and late.hours <= (late.days + 1) * 24
    assert late.working_days == o.late_working_days
