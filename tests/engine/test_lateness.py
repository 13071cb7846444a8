"""Lateness in every unit, and in the unit a rule words it in (``late_in``).

The routine is ``tests/fixtures/minimal.yaml`` with the reply deadline changed per test.
Daylight saving 2026: clocks go back on Sunday 25 October (03:00 -> 02:00), so that local
day has 25 hours; jul 2026: 24-27 December are no vardagar.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from samverkan_rules import Obligation, evaluate, load_routine_text
from samverkan_rules.compile.routine import CompiledRoutine
from tests.support import FIXTURES, event

MINIMAL = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")
WORKING = "    deadline: {after: trigger, working_days: 2}\n"


def routine(deadline: str, extra: str = "", calendar: str = "") -> CompiledRoutine:
    text = MINIMAL.replace(WORKING, f"    deadline: {deadline}\n{extra}")
    if calendar:
        text = text.replace("roles:\n", f"calendar:\n  late_in: {calendar}\nroles:\n", 1)
    return load_routine_text(text)


REFERRAL = event(
    id="e1", type="test.referral", at="2026-10-24T10:00:00+02:00", due_date="2026-11-01"
)


def reply(r: CompiledRoutine, events: list[dict[str, Any]], as_of: str) -> Obligation:
    result = evaluate(
        r, [REFERRAL, *events], datetime.fromisoformat(as_of), ledger=True, trace=True
    )
    return next(o for o in result.case("c1").obligations if o.rule == "reply")


def test_an_overdue_obligation_reports_lateness_in_every_unit_across_a_dst_change() -> None:
    # Deadline Sunday 25 October 10:00+01:00 (24 hours after the trigger, one of them the
    # hour gained); as_of Tuesday 27 October 12:00: 50 hours, 2 calendar days, and 2
    # working days (Monday 26 and Tuesday 27 October).
    r = routine("{after: trigger, hours: 24}")
    o = reply(r, [], "2026-10-27T12:00:00+01:00")
    assert o.deadline == "2026-10-25T09:00:00+01:00"
    assert o.status == "overdue"
    assert o.late is not None
    assert (o.late.working_days, o.late.days, o.late.hours) == (2, 2, 51)
    assert o.late_working_days == 2


def test_lateness_is_null_when_not_late() -> None:
    r = routine("{after: trigger, hours: 24}")
    o = reply(r, [], "2026-10-25T08:00:00+01:00")
    assert (o.status, o.late, o.late_working_days) == ("due", None, None)


def test_a_fulfilled_late_obligation_counts_to_the_fulfilment() -> None:
    # Working-day deadline Tuesday 22 December 23:59:59 (2 working days after Friday 18
    # December); the reply on Monday 28 December 09:00 is 6 calendar days, 2 working days
    # (23 and 28 December; 24-27 December are no vardagar) and 129 whole hours late.
    r = routine("{after: trigger, working_days: 2}")
    referral = event(
        id="e1", type="test.referral", at="2026-12-18T10:00:00+01:00", due_date="2027-01-10"
    )
    answer = event(id="r1", type="test.reply", at="2026-12-28T09:00:00+01:00", refers_to="e1")
    result = evaluate(
        r,
        [referral, answer],
        datetime.fromisoformat("2027-01-05T12:00:00+01:00"),
        ledger=True,
        trace=True,
    )
    o = result.case("c1").obligations[0]
    assert o.status == "fulfilled_late"
    assert o.late is not None
    assert (o.late.working_days, o.late.days, o.late.hours) == (2, 6, 129)
    assert "2 vardagar för sent" in o.explanation


@pytest.mark.parametrize(
    ("deadline", "late_in", "calendar", "words"),
    [
        # The default words lateness in vardagar whatever the deadline's unit.
        ("{after: trigger, hours: 24}", "", "", "(2 vardagar sedan)"),
        # A rule's own unit.
        ("{after: trigger, hours: 24}", "    late_in: hours\n", "", "(51 timmar sedan)"),
        ("{after: trigger, hours: 24}", "    late_in: days\n", "", "(2 dagar sedan)"),
        # The calendar's 'deadline_unit' follows each deadline's unit.
        ("{after: trigger, hours: 24}", "", "deadline_unit", "(51 timmar sedan)"),
        ("{after: trigger, days: 1}", "", "deadline_unit", "(2 dagar sedan)"),
        ("{after: trigger, working_days: 1}", "", "deadline_unit", "(1 vardag sedan)"),
        # A rule's own unit wins over the calendar's.
        ("{after: trigger, hours: 24}", "    late_in: working_days\n", "hours", "vardagar"),
    ],
)
def test_the_explanation_words_lateness_in_the_rules_unit(
    deadline: str, late_in: str, calendar: str, words: str
) -> None:
    r = routine(deadline, late_in, calendar)
    o = reply(r, [], "2026-10-27T12:00:00+01:00")
    assert o.status == "overdue"
    assert words in o.explanation, o.explanation


def test_overdue_within_the_hour_says_so() -> None:
    r = routine("{after: trigger, hours: 24}", "    late_in: hours\n")
    o = reply(r, [], "2026-10-25T09:30:00+01:00")
    assert o.late is not None and o.late.hours == 0
    assert "för mindre än en timme sedan" in o.explanation


def test_fulfilled_late_in_hours() -> None:
    r = routine("{after: trigger, hours: 24}", "    late_in: hours\n")
    answer = event(id="r1", type="test.reply", at="2026-10-25T12:15:00+01:00", refers_to="e1")
    o = reply(r, [answer], "2026-10-27T12:00:00+01:00")
    assert o.status == "fulfilled_late"
    assert "gjort 3 timmar för sent" in o.explanation


def test_the_json_keeps_late_working_days_and_adds_late_after_it() -> None:
    r = routine("{after: trigger, hours: 24}")
    result = evaluate(
        r, [REFERRAL], datetime.fromisoformat("2026-10-27T12:00:00+01:00"), ledger=True, trace=True
    )
    obligation = result.to_dict()["cases"][0]["obligations"][0]
    keys = list(obligation)
    assert keys[keys.index("late_working_days") + 1] == "late"
    assert obligation["late"] == {"working_days": 2, "days": 2, "hours": 51}


def test_the_text_output_words_lateness_in_the_rules_unit() -> None:
    from samverkan_rules.i18n import translator
    from samverkan_rules.text.due import format_action, ledger_line

    sv = translator("sv")
    hours = routine("{after: trigger, hours: 24}", "    late_in: hours\n")
    o = reply(hours, [], "2026-10-27T12:00:00+01:00")
    assert "Försenad:" in format_action(o, sv, hours)
    assert "51 timmar efter fristen" in format_action(o, sv, hours)
    assert "(51 timmar för sent)" in ledger_line(o, sv, hours)
    working = routine("{after: trigger, hours: 24}")
    o = reply(working, [], "2026-10-27T12:00:00+01:00")
    assert "2 vardagar efter fristen" in format_action(o, sv, working)
