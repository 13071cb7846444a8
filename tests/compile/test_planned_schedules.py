"""Schedules from a plan (``every: dates``): a committee's meetings on the days it adopted.

- the scenarios of ``fixtures/committee`` (the next meeting, five working days before it,
  the minutes six working days after, a meeting with its own time);
- the next occurrence after any instant is the first planned one after it, at its own time
  or the schedule's (a property over random plans);
- a plan with a day twice, a day that does not exist, a day outside the version's validity,
  or ``dates`` on another kind of schedule is refused, located;
- after the plan's last day a deadline cannot be placed, and the message says so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules import evaluate, load_routine
from samverkan_rules.compile.schedules import CompiledSchedule
from samverkan_rules.errors import CalendarError
from samverkan_rules.language.models.schedules import Schedule
from samverkan_rules.routine.load import check_routine_text
from samverkan_rules.scenarios.check import run_scenario
from samverkan_rules.scenarios.load import load_scenario_file
from samverkan_rules.text.words import schedule_text
from tests.support import event

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "committee"
ROUTINE = load_routine(FIXTURE / "committee.yaml")
TZ = ZoneInfo("Europe/Stockholm")


@pytest.mark.parametrize("index", range(4))
def test_committee_scenarios(index: int) -> None:
    sf = load_scenario_file(FIXTURE / "scenarios.yaml")
    assert len(sf.scenarios) == 4
    result = run_scenario(sf.scenarios[index], load_routine(sf.routine_path))
    assert result.verdict == "passed", result.message


_DAYS = st.dates(date(2027, 1, 1), date(2027, 12, 31))
# As a routine writes a time ("13:30"): whole minutes and no fold, which only a Python
# object can carry (fold=1 in the spring's missing hour would be read after the jump).
_TIMES = st.one_of(st.none(), st.times().map(lambda t: t.replace(second=0, microsecond=0, fold=0)))


@settings(max_examples=200, deadline=None)
@given(
    plan=st.dictionaries(_DAYS, _TIMES, min_size=1, max_size=12),
    default=_TIMES,
    moment=st.datetimes(datetime(2026, 12, 1), datetime(2027, 12, 31), timezones=st.just(TZ)),
)
def test_the_next_occurrence_is_the_first_planned_after(
    plan: dict[date, time | None], default: time | None, moment: datetime
) -> None:
    dates = [d.isoformat() + (f" {t.strftime('%H:%M')}" if t else "") for d, t in plan.items()]
    spec = Schedule.model_validate(
        {"label": "x", "every": "dates", "dates": dates, "time": default, "units": ["u"]}
    )
    schedule = CompiledSchedule("plan", spec, tz=TZ, calendar=ROUTINE.calendar)

    def instant(day: date, clock: time | None) -> datetime:
        chosen = clock or default
        if chosen is None:  # the end of the day
            return datetime.combine(day + timedelta(days=1), time(), TZ) - timedelta(seconds=1)
        return datetime.combine(day, chosen, TZ)

    planned = sorted(instant(d, t).astimezone(UTC) for d, t in plan.items())
    later = [p for p in planned if p > moment]
    if later:
        assert schedule.next_after(moment) == later[0]
    else:
        with pytest.raises(CalendarError, match="plan ends on"):
            schedule.next_after(moment)


PLAN = 'dates: [2027-01-14, 2027-02-11, 2027-03-11, 2027-04-15, 2027-05-20, "2027-06-17 13:30"]'


def _routine(schedule: str) -> str:
    text = (FIXTURE / "committee.yaml").read_text(encoding="utf-8")
    assert PLAN in text
    return text.replace(PLAN, schedule)


@pytest.mark.parametrize(
    ("dates", "words"),
    [
        ("dates: [2027-01-14, 2027-01-14]", "on the same day already"),
        ('dates: [2027-01-14, "2027-01-14 13:30"]', "on the same day already"),
        ("dates: [2027-02-30]", "is not a day and time that exist"),
        ('dates: ["2027-02-11 25:00"]', "is not a day and time that exist"),
        ("dates: [14 januari]", "should match pattern"),
        ("dates: []", "'every: dates' needs 'dates'"),
        ("dates: [2027-08-19]", "outside this version's validity"),
    ],
)
def test_a_wrong_plan_is_refused_where_it_is(dates: str, words: str) -> None:
    check = check_routine_text(_routine(dates), file="committee.yaml")
    errors = [d.format() for d in check.diagnostics if d.is_error]
    assert any(words in m and "schedules" in m for m in errors), errors


def test_dates_belong_to_a_planned_schedule_only() -> None:
    text = (FIXTURE / "committee.yaml").read_text(encoding="utf-8")
    weekly = text.replace("every: dates", "every: week\n    weekday: thursday")
    errors = [d.format() for d in check_routine_text(weekly).diagnostics if d.is_error]
    assert any("'dates' and 'plan' apply to 'every: dates' only" in m for m in errors), errors


def test_after_the_plan_the_deadline_cannot_be_placed_and_says_why() -> None:
    late = event(id="u9", type="utredning.klar", at="2027-06-20T10:00:00+02:00")
    result = evaluate(ROUTINE, [late], datetime.fromisoformat("2027-06-21T12:00:00+02:00"))
    messages = [d.message for d in result.diagnostics if d.level == "error"]
    assert messages and all("its plan ends on 2027-06-17" in m for m in messages), messages


def test_render_lists_the_planned_days() -> None:
    spec = ROUTINE.routine.schedules["sammantraden"]
    text = schedule_text(spec)
    assert "14 januari 2027" in text and "17 juni 2027 kl. 13.30" in text and "kl. 09.00" in text
