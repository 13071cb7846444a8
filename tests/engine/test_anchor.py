"""What a deadline counts from: ``anchor`` on an obligation, apart from its trigger.

Staff check a deadline against the day it counts from (a planned start, a meeting), not
against the moment the trigger was recorded; the two are written as two things.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules import evaluate, load_routine, load_routine_text
from tests.support import FIXTURES, ROUTINES, event

OREBRO = load_routine(ROUTINES / "orebro-dagverksamhet-hemvard.yaml")
KATRINEHOLM = load_routine(ROUTINES / "katrineholm-hemtjanst-vardcentral.yaml")
MINIMAL = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")
WORKING = "    deadline: {after: trigger, working_days: 2}\n"
AS_OF = datetime.fromisoformat("2026-12-15T12:00:00+01:00")


def _start(start_date: str) -> list[dict[str, object]]:
    return [
        event(
            id="e2",
            type="dagverksamhet.start_planned",
            at="2026-12-01T10:00:00+01:00",
            start_date=start_date,
        )
    ]


def test_a_deadline_before_a_planned_start_counts_from_that_day() -> None:
    result = evaluate(OREBRO, _start("2026-12-28"), AS_OF)
    message = next(a for a in result.case("c1").actions if a.rule == "start-message")
    assert message.anchor is not None
    assert (message.anchor.path, message.anchor.label, message.anchor.at) == (
        "data.start_date",
        "planerat startdatum",
        "2026-12-28",
    )
    assert message.to_json()["anchor"] == {
        "path": "data.start_date",
        "label": "planerat startdatum",
        "at": "2026-12-28",
    }


def test_a_deadline_after_the_trigger_has_no_anchor_and_no_key() -> None:
    result = evaluate(OREBRO, _start("2026-12-28"), AS_OF)
    consent = next(a for a in result.case("c1").actions if a.rule == "consent")
    assert consent.anchor is None
    assert "anchor" not in consent.to_json()
    document = json.loads(result.to_json())
    written = [o for o in document["cases"][0]["actions"] if o["rule"] == "consent"]
    assert written and all("anchor" not in o for o in written)
    started = [o for o in document["cases"][0]["actions"] if o["rule"] == "start-message"]
    assert started and all(o["anchor"]["at"] == "2026-12-28" for o in started)


def test_a_deadline_at_a_meeting_counts_from_the_meeting() -> None:
    question = event(
        id="q1",
        type="vc_contact.needed",
        at="2026-12-07T09:00:00+01:00",
        vardcentral="linden",
        question="x",
    )
    result = evaluate(KATRINEHOLM, [question], datetime.fromisoformat("2026-12-07T12:00+01:00"))
    anchored = [o for o in result.case("c1").actions if o.anchor is not None]
    assert anchored, "a question for Linden waits for its next meeting"
    for o in anchored:
        assert o.anchor is not None
        assert o.anchor.path == "schedule.linden"
        assert o.anchor.label.startswith("Digital samverkan med Lindens VC")
        assert o.anchor.at == "2026-12-08T13:30:00+01:00"  # the next Tuesday's meeting


def test_a_composite_deadline_counts_from_the_part_chosen() -> None:
    later = "{later_of: [{after: trigger, hours: 24}, {before: data.due_date, working_days: 1}]}"
    routine = load_routine_text(MINIMAL.replace(WORKING, f"    deadline: {later}\n"))

    def anchor_of(at: str) -> object:
        referral = event(id="e1", type="test.referral", at=at, due_date="2026-12-28")
        result = evaluate(routine, [referral], datetime.fromisoformat(at) + timedelta(hours=1))
        return result.case("c1").actions[0].anchor

    # 21 Dec: the date part (23 Dec) is later than 24 hours after the trigger
    chosen = anchor_of("2026-12-21T09:00:00+01:00")
    assert chosen is not None and getattr(chosen, "at", None) == "2026-12-28"
    # 23 Dec: 24 hours after the trigger is later, and that counts from the trigger
    assert anchor_of("2026-12-23T09:00:00+01:00") is None


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=date(2026, 12, 16), max_value=date(2027, 12, 31)))
def test_the_anchor_is_the_planned_start_whatever_it_is(start: date) -> None:
    result = evaluate(OREBRO, _start(start.isoformat()), AS_OF, ledger=True)
    counted = [o for o in result.case("c1").obligations if o.rule.startswith("start-")]
    assert counted
    for o in counted:
        assert o.anchor is not None and o.anchor.at == start.isoformat()
        assert o.deadline is not None and o.deadline[:10] < start.isoformat()
