"""Conditions on the event's own time: ``at.local_time``, ``at.local_date``, ``at.weekday``.

Read in the routine's time zone (Europe/Stockholm), whatever offset the event was written
with; summer time 2026 ends on Sunday 25 October.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from samverkan_rules import evaluate, load_routine, load_routine_text
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.routine.load import check_routine_text
from samverkan_rules.scenarios.check import run_scenario
from samverkan_rules.scenarios.load import load_scenario_file
from samverkan_rules.text.markdown import render_markdown
from tests.support import FIXTURES

MINIMAL = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")
WHEN = "    when: {event: test.referral}\n"


def routine(condition: str) -> CompiledRoutine:
    return load_routine_text(
        MINIMAL.replace(WHEN, f"    when: {{event: test.referral, if: {condition}}}\n")
    )


def raised(r: CompiledRoutine, at: str) -> bool:
    event = {"id": "e1", "case": "c1", "type": "test.referral", "at": at}
    event["data"] = {"due_date": "2026-12-01"}
    result = evaluate(
        r, [event], datetime.fromisoformat("2027-01-31T00:00:00+01:00"), ledger=True, trace=True
    )
    return bool(result.cases) and bool(result.case("c1").obligations)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-10-23T11:59:00+02:00", True),
        ("2026-10-23T12:00:00+02:00", False),
        # 10:30 UTC is 12:30 local in summer time, 11:30 local after the change.
        ("2026-10-23T10:30:00+00:00", False),
        ("2026-10-26T10:30:00+00:00", True),
    ],
)
def test_local_time_is_read_in_the_routines_time_zone(at: str, expected: bool) -> None:
    assert raised(routine('{field: at.local_time, lt: "12:00"}'), at) is expected


def test_local_time_literal_with_seconds_compares_the_same() -> None:
    r = routine('{field: at.local_time, gte: "12:00:00"}')
    assert raised(r, "2026-10-23T12:00:00+02:00")
    assert not raised(r, "2026-10-23T11:59:59+02:00")


def test_weekday_and_local_date() -> None:
    weekend = routine("{field: at.weekday, in: [saturday, sunday]}")
    # 23:30 UTC on Friday 23 October is 01:30 on Saturday in Stockholm.
    assert raised(weekend, "2026-10-23T23:30:00+00:00")
    assert not raised(weekend, "2026-10-23T20:30:00+00:00")
    christmas = routine('{field: at.local_date, equals: "2026-12-24"}')
    assert raised(christmas, "2026-12-23T23:30:00+00:00")
    assert not raised(christmas, "2026-12-23T22:30:00+00:00")


def test_an_unquoted_time_reads_as_the_time_written() -> None:
    # The YAML loader keeps 12:00 as text (never a base-60 number).
    r = routine("{field: at.local_time, lt: 12:00}")
    assert raised(r, "2026-10-23T11:59:00+02:00")
    assert not raised(r, "2026-10-23T12:00:00+02:00")


def test_a_number_is_no_time() -> None:
    text = MINIMAL.replace(
        WHEN, "    when: {event: test.referral, if: {field: at.local_time, lt: 1200}}\n"
    )
    check = check_routine_text(text, file="r.yaml")
    messages = [d.format() for d in check.diagnostics if d.is_error]
    assert any("rules[0].when.if.lt" in m and "time field" in m for m in messages), messages


def test_event_time_cannot_be_read_where_only_facts_are() -> None:
    text = MINIMAL.replace(
        "    holds: {field: fact.consent, equals: true}",
        "    holds: {field: at.weekday, equals: monday}",
    )
    check = check_routine_text(text, file="r.yaml")
    assert any("only facts" in d.message for d in check.diagnostics if d.is_error)


def test_render_names_the_event_time_fields() -> None:
    from samverkan_rules.text.markdown import render_markdown

    text = render_markdown(routine('{field: at.local_time, lt: "12:00"}'))
    assert "om händelsens lokala klockslag (`at.local_time`) är mindre än 12:00" in text


# --------------------------------------------------------------------------- at: calendar form

OFFICE = '{at: {working_day: true, between: ["08:00", "16:30"]}}'


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-05-12T10:00:00+02:00", True),  # Tuesday
        ("2026-05-12T08:00:00+02:00", True),  # from 08:00 inclusive
        ("2026-05-12T07:59:00+02:00", False),
        ("2026-05-12T16:29:59+02:00", True),
        ("2026-05-12T16:30:00+02:00", False),  # to 16:30 exclusive
        ("2026-05-14T10:00:00+02:00", False),  # Kristi himmelsfärdsdag
        ("2026-05-16T10:00:00+02:00", False),  # Saturday
        ("2026-12-24T10:00:00+01:00", False),  # julafton
        # 06:30 UTC on Monday 26 October is 07:30 local after summer time ended.
        ("2026-10-26T06:30:00+00:00", False),
        ("2026-10-26T07:30:00+00:00", True),
    ],
)
def test_at_tests_a_working_day_and_office_hours(at: str, expected: bool) -> None:
    assert raised(routine(OFFICE), at) is expected


def test_at_working_day_false_and_not_at_route_outside_office_hours() -> None:
    holiday = routine("{at: {working_day: false}}")
    assert raised(holiday, "2026-05-14T10:00:00+02:00")
    assert not raised(holiday, "2026-05-12T10:00:00+02:00")
    on_call = routine(f"{{not: {OFFICE}}}")
    assert raised(on_call, "2026-05-14T10:00:00+02:00")
    assert raised(on_call, "2026-05-12T17:00:00+02:00")
    assert not raised(on_call, "2026-05-12T10:00:00+02:00")


def test_at_working_day_uses_the_routines_closed_days() -> None:
    # Friday 15 May 2026 (the day after Kristi himmelsfärd) is a vardag unless closed.
    text = MINIMAL.replace(WHEN, f"    when: {{event: test.referral, if: {OFFICE}}}\n")
    open_ = load_routine_text(text)
    closed_days = "calendar:\n  closed_days: [2026-05-15]\nsource:\n  title:"
    closed = load_routine_text(text.replace("source:\n  title:", closed_days))
    assert raised(open_, "2026-05-15T10:00:00+02:00")
    assert not raised(closed, "2026-05-15T10:00:00+02:00")


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ("{at: {}}", "'at' needs working_day, between or both"),
        ('{at: {between: ["16:30", "08:00"]}}', "must come before"),
        ('{at: {between: ["8 o\'clock", "16:30"]}}', "is not a time of day"),
        ("{at: {weekday: monday}}", "weekday"),
        ("{at: {working_day: true}, field: data.priority, equals: 1}", "stands alone"),
    ],
)
def test_a_wrong_at_form_is_an_error_at_the_condition(condition: str, words: str) -> None:
    text = MINIMAL.replace(WHEN, f"    when: {{event: test.referral, if: {condition}}}\n")
    check = check_routine_text(text, file="r.yaml")
    errors = [d.format() for d in check.diagnostics if d.is_error]
    assert any("rules[0].when.if" in m and words in m for m in errors), errors


def test_render_names_the_working_day_field() -> None:
    text = render_markdown(routine(OFFICE))
    assert "om händelsens dag är en vardag (`at.working_day`) gäller" in text


@pytest.mark.parametrize("index", range(4))
def test_on_call_scenarios_route_by_calendar(index: int) -> None:
    """The scenarios of ``fixtures/oncall``: office hours to the reception, else on call."""
    sf = load_scenario_file(FIXTURES / "oncall" / "scenarios.yaml")
    assert len(sf.scenarios) == 4
    result = run_scenario(sf.scenarios[index], load_routine(sf.routine_path))
    assert result.verdict == "passed", result.message
