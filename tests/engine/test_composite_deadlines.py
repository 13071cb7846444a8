"""``later_of`` and ``earlier_of`` deadlines: the instant chosen and the steps explained.

The routine is ``tests/fixtures/minimal.yaml`` with the reply deadline replaced. Jul 2026:
24-27 December are no vardagar.
"""

from __future__ import annotations

from datetime import datetime

from samverkan_rules import Obligation, evaluate, load_routine_text
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.i18n import translator
from samverkan_rules.text.markdown import render_markdown
from tests.support import FIXTURES, event

MINIMAL = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")
WORKING = "    deadline: {after: trigger, working_days: 2}\n"


def routine(deadline: str) -> CompiledRoutine:
    return load_routine_text(MINIMAL.replace(WORKING, f"    deadline: {deadline}\n"))


def reply(r: CompiledRoutine, at: str, due_date: str, as_of: str) -> Obligation:
    referral = event(id="e1", type="test.referral", at=at, due_date=due_date)
    result = evaluate(r, [referral], datetime.fromisoformat(as_of), ledger=True, trace=True)
    return result.case("c1").obligations[0]


LATER = "{later_of: [{after: trigger, hours: 24}, {before: data.due_date, working_days: 1}]}"
EARLIER = "{earlier_of: [{after: trigger, hours: 24}, {before: data.due_date, working_days: 1}]}"


def test_later_of_takes_the_later_part() -> None:
    # (1) 24 hours after Monday 21 December 09:00 -> Tuesday 22 December 09:00;
    # (2) 1 working day before Monday 28 December -> Wednesday 23 December, end of day.
    o = reply(routine(LATER), "2026-12-21T09:00:00+01:00", "2026-12-28", "2026-12-21T12:00+01:00")
    assert o.deadline == "2026-12-23T23:59:59+01:00"
    o = reply(routine(LATER), "2026-12-23T09:00:00+01:00", "2026-12-28", "2026-12-23T12:00+01:00")
    assert o.deadline == "2026-12-24T09:00:00+01:00"


def test_earlier_of_takes_the_earlier_part() -> None:
    o = reply(routine(EARLIER), "2026-12-21T09:00:00+01:00", "2026-12-28", "2026-12-21T12:00+01:00")
    assert o.deadline == "2026-12-22T09:00:00+01:00"


def test_composites_nest() -> None:
    nested = (
        "{earlier_of: [" + LATER + ", {after: trigger, days: 1, time: '12:00'}]}"
    )  # later_of gives 23 Dec 23:59:59; the third part 22 Dec 12:00 is earlier
    o = reply(routine(nested), "2026-12-21T09:00:00+01:00", "2026-12-28", "2026-12-21T12:00+01:00")
    assert o.deadline == "2026-12-22T12:00:00+01:00"


def test_the_trace_shows_each_part_and_the_choice() -> None:
    o = reply(routine(LATER), "2026-12-21T09:00:00+01:00", "2026-12-28", "2026-12-21T12:00+01:00")
    deadline_line = next(line for line in o.trace if line.startswith("frist:"))
    assert "(1) " in deadline_line and "+24 timmar" in deadline_line, deadline_line
    assert "(2) " in deadline_line and "23 december 2026" in deadline_line, deadline_line
    assert deadline_line.endswith("den senare är (2): onsdag 23 december 2026"), deadline_line


def test_render_words_a_composite_deadline() -> None:
    text = render_markdown(routine(LATER), t=translator("en"))
    assert "the later of: 24 hours after" in text, text


def test_an_opening_time_can_be_composite_too() -> None:
    text = MINIMAL.replace(
        WORKING,
        "    opens: {earlier_of: [{after: trigger, hours: 1}, {before: data.due_date, days: 1}]}\n"
        + WORKING,
    )
    r = load_routine_text(text)
    o = reply(r, "2026-12-21T09:00:00+01:00", "2026-12-28", "2026-12-21T09:30+01:00")
    assert (o.status, o.opens_at) == ("upcoming", "2026-12-21T10:00:00+01:00")
