"""Tests for samverkan_rules.time.calendar: vardagar, calendar arithmetic and local time.

Expected dates in the tables are worked out by hand from the 2025-2027 calendars; the
Hypothesis properties compare the indexed calendar with a day-by-day reference.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from holidays.countries.sweden import Sweden
from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules.errors import CalendarError
from samverkan_rules.time.calendar import (
    WorkingCalendar,
    add_days,
    add_months,
    end_of_month,
    iso_week_parity,
    sweden_calendar,
)
from samverkan_rules.time.instants import (
    DEFAULT_FIRST_YEAR,
    DEFAULT_LAST_YEAR,
    _parse_rfc3339,
    end_of_day,
    format_rfc3339,
    get_zone,
    local_date,
    local_datetime,
    parse_rfc3339,
    require_aware,
    start_of_day,
    to_local,
)

CAL = sweden_calendar()
STOCKHOLM = ZoneInfo("Europe/Stockholm")
D = date


# -- which days are vardagar -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        # jul and nyår 2026-2027
        (D(2026, 12, 22), None),
        (D(2026, 12, 23), None),
        (D(2026, 12, 24), "julafton"),
        (D(2026, 12, 25), "juldagen"),
        (D(2026, 12, 26), "annandag jul"),  # also a Saturday: the holiday name wins
        (D(2026, 12, 27), "söndag"),
        (D(2026, 12, 28), None),
        (D(2026, 12, 30), None),
        (D(2026, 12, 31), "nyårsafton"),
        (D(2027, 1, 1), "nyårsdagen"),
        (D(2027, 1, 2), "lördag"),
        (D(2027, 1, 4), None),
        (D(2027, 1, 5), None),  # trettondagsafton is a half day, still a vardag
        (D(2027, 1, 6), "trettondedag jul"),
        (D(2027, 1, 7), None),
        (D(2025, 12, 24), "julafton"),  # a Wednesday
        (D(2026, 1, 6), "trettondedag jul"),  # a Tuesday
        (D(2026, 1, 5), None),  # klämdag between the weekend and trettondedag
        # påsk 2026
        (D(2026, 4, 2), None),  # skärtorsdag
        (D(2026, 4, 3), "långfredagen"),
        (D(2026, 4, 4), "lördag"),  # påskafton is no holiday of its own
        (D(2026, 4, 5), "påskdagen"),
        (D(2026, 4, 6), "annandag påsk"),
        (D(2026, 4, 7), None),
        # första maj and Kristi himmelsfärd 2026
        (D(2026, 5, 1), "första maj"),
        (D(2026, 5, 13), None),
        (D(2026, 5, 14), "kristi himmelsfärdsdag"),
        (D(2026, 5, 15), None),  # klämdag: a working day
        # pingst: annandag pingst was a holiday until 2004, nationaldagen from 2005
        (D(2026, 5, 24), "pingstdagen"),
        (D(2026, 5, 25), None),
        (D(2004, 5, 31), "annandag pingst"),
        (D(2005, 5, 16), None),
        (D(2005, 6, 6), "nationaldagen"),
        (D(2004, 6, 7), None),  # a Monday; nationaldagen was not yet a holiday
        (D(2008, 5, 1), "första maj; kristi himmelsfärdsdag"),
        # midsommar 2026
        (D(2026, 6, 18), None),
        (D(2026, 6, 19), "midsommarafton"),
        (D(2026, 6, 20), "midsommardagen"),
        (D(2026, 6, 22), None),
        # nationaldagen on a weekday and on a Saturday
        (D(2025, 6, 5), None),
        (D(2025, 6, 6), "nationaldagen"),
        (D(2025, 6, 9), None),
        (D(2026, 6, 6), "nationaldagen"),
        # alla helgons dag (a Saturday); allhelgonaafton is a working day
        (D(2026, 10, 30), None),
        (D(2026, 10, 31), "alla helgons dag"),
        (D(2025, 10, 31), None),
        (D(2025, 11, 1), "alla helgons dag"),
    ],
)
def test_non_working_reason_table(day: date, reason: str | None) -> None:
    assert CAL.non_working_reason(day) == reason
    assert CAL.is_working_day(day) is (reason is None)


@pytest.mark.parametrize(
    ("year", "closed_weekdays"),
    [
        (
            2026,
            [
                D(2026, 1, 1),
                D(2026, 1, 6),
                D(2026, 4, 3),
                D(2026, 4, 6),
                D(2026, 5, 1),
                D(2026, 5, 14),
                D(2026, 6, 19),
                D(2026, 12, 24),
                D(2026, 12, 25),
                D(2026, 12, 31),
            ],
        ),
        (
            2027,
            [
                D(2027, 1, 1),
                D(2027, 1, 6),
                D(2027, 3, 26),
                D(2027, 3, 29),
                D(2027, 5, 6),
                D(2027, 6, 25),
                D(2027, 12, 24),
                D(2027, 12, 31),
            ],
        ),
    ],
)
def test_every_closed_weekday_of_a_year(year: int, closed_weekdays: list[date]) -> None:
    """Exactly these Mondays-Fridays are not vardagar: no klämdag, no half day, nothing missed."""
    days = [D(year, 1, 1) + timedelta(days=i) for i in range(366)]
    weekdays = [d for d in days if d.year == year and d.weekday() < 5]
    assert [d for d in weekdays if not CAL.is_working_day(d)] == closed_weekdays


def test_weekends_are_never_working_days() -> None:
    start = D(2026, 1, 3)  # a Saturday
    for week in range(60):
        saturday = start + timedelta(weeks=week)
        assert not CAL.is_working_day(saturday)
        assert not CAL.is_working_day(saturday + timedelta(days=1))


# -- working-day arithmetic tables ---------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        # the DESIGN example: 23 Dec is working day 1, 24-27 Dec are not vardagar
        (D(2026, 12, 28), 1, D(2026, 12, 23)),
        (D(2026, 12, 28), 2, D(2026, 12, 22)),
        (D(2026, 12, 27), 2, D(2026, 12, 22)),
        (D(2026, 12, 24), 1, D(2026, 12, 23)),
        (D(2027, 1, 4), 1, D(2026, 12, 30)),
        (D(2027, 1, 7), 2, D(2027, 1, 4)),
        # seven working days before ...
        (D(2027, 1, 7), 7, D(2026, 12, 22)),  # ... trettondedag jul and nyår
        (D(2026, 12, 26), 7, D(2026, 12, 15)),  # ... a Saturday that is annandag jul
        (D(2026, 4, 7), 7, D(2026, 3, 25)),  # ... påsk
        (D(2026, 5, 18), 7, D(2026, 5, 6)),  # ... Kristi himmelsfärd
        (D(2026, 6, 22), 7, D(2026, 6, 10)),  # ... midsommar
        (D(2025, 6, 9), 7, D(2025, 5, 27)),  # ... nationaldagen and Kristi himmelsfärd 2025
        (D(2026, 11, 2), 7, D(2026, 10, 22)),  # ... alla helgons dag
    ],
)
def test_working_days_before_table(day: date, n: int, expected: date) -> None:
    assert CAL.working_days_before(day, n) == expected
    assert CAL.add_working_days(day, -n) == expected


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (D(2026, 12, 22), 1, D(2026, 12, 23)),
        (D(2026, 12, 23), 1, D(2026, 12, 28)),
        (D(2026, 12, 24), 1, D(2026, 12, 28)),
        (D(2026, 12, 23), 3, D(2026, 12, 30)),
        (D(2026, 12, 23), 4, D(2027, 1, 4)),
        (D(2026, 12, 23), 6, D(2027, 1, 7)),
        (D(2026, 12, 30), 1, D(2027, 1, 4)),
        (D(2026, 12, 18), 10, D(2027, 1, 8)),
        (D(2026, 4, 2), 1, D(2026, 4, 7)),
        (D(2026, 5, 13), 1, D(2026, 5, 15)),
        (D(2026, 6, 18), 1, D(2026, 6, 22)),
        (D(2025, 6, 5), 1, D(2025, 6, 9)),
        (D(2026, 1, 5), 1, D(2026, 1, 7)),
    ],
)
def test_working_days_after_table(day: date, n: int, expected: date) -> None:
    assert CAL.working_days_after(day, n) == expected
    assert CAL.add_working_days(day, n) == expected
    assert CAL.add_working_days_ordinal(day.toordinal(), n) == expected.toordinal()


@pytest.mark.parametrize("day", [D(2026, 12, 24), D(2026, 12, 23), D(2026, 12, 27)])
def test_add_zero_working_days_returns_the_day(day: date) -> None:
    assert CAL.add_working_days(day, 0) == day
    assert CAL.add_working_days_ordinal(day.toordinal(), 0) == day.toordinal()


@pytest.mark.parametrize(
    ("day", "inclusive", "next_day", "previous_day"),
    [
        (D(2026, 12, 23), True, D(2026, 12, 23), D(2026, 12, 23)),
        (D(2026, 12, 23), False, D(2026, 12, 28), D(2026, 12, 22)),
        (D(2026, 12, 24), True, D(2026, 12, 28), D(2026, 12, 23)),
        (D(2026, 12, 24), False, D(2026, 12, 28), D(2026, 12, 23)),
        (D(2026, 12, 31), True, D(2027, 1, 4), D(2026, 12, 30)),
        (D(2026, 6, 19), True, D(2026, 6, 22), D(2026, 6, 18)),
    ],
)
def test_next_and_previous_working_day(
    day: date, inclusive: bool, next_day: date, previous_day: date
) -> None:
    assert CAL.next_working_day(day, inclusive=inclusive) == next_day
    assert CAL.previous_working_day(day, inclusive=inclusive) == previous_day


@pytest.mark.parametrize(
    ("start", "end", "between", "within"),
    [
        (D(2026, 12, 22), D(2026, 12, 22), 0, 1),
        (D(2026, 12, 22), D(2026, 12, 28), 2, 3),
        (D(2026, 12, 28), D(2026, 12, 22), -2, 0),
        (D(2026, 12, 24), D(2026, 12, 27), 0, 0),
        (D(2026, 12, 23), D(2027, 1, 4), 4, 5),  # "late by 4 working days"
        (D(2027, 1, 4), D(2026, 12, 23), -4, 0),
        (D(2026, 12, 21), D(2027, 1, 8), 9, 10),
        (D(2026, 1, 1), D(2026, 12, 31), 251, 251),  # 261 weekdays, 10 closed
    ],
)
def test_working_days_between_and_in(start: date, end: date, between: int, within: int) -> None:
    assert CAL.working_days_between(start, end) == between
    assert CAL.working_days_in(start, end) == within


# -- closed days of the routine --------------------------------------------------------------


def test_closed_day_shifts_deadlines() -> None:
    cal = sweden_calendar([D(2026, 12, 23), D(2026, 5, 15)])
    assert cal.closed_days == frozenset({D(2026, 12, 23), D(2026, 5, 15)})
    assert not cal.is_working_day(D(2026, 12, 23))
    assert cal.non_working_reason(D(2026, 12, 23)) == "stängd dag"
    assert cal.working_days_before(D(2026, 12, 28), 2) == D(2026, 12, 21)
    assert cal.working_days_after(D(2026, 5, 13), 1) == D(2026, 5, 18)
    assert cal.working_days_between(D(2026, 12, 22), D(2026, 12, 28)) == 1
    # the shared calendar is unaffected
    assert CAL.working_days_before(D(2026, 12, 28), 2) == D(2026, 12, 22)


def test_closed_day_on_a_holiday_or_weekend_keeps_the_better_reason() -> None:
    cal = WorkingCalendar([D(2026, 12, 24), D(2026, 12, 27)], first_year=2026, last_year=2026)
    assert cal.non_working_reason(D(2026, 12, 24)) == "julafton"
    assert cal.non_working_reason(D(2026, 12, 27)) == "söndag"


def test_closed_days_outside_the_range_are_ignored() -> None:
    cal = WorkingCalendar([D(1980, 1, 2), D(2030, 1, 2)], first_year=2026, last_year=2027)
    assert cal.first_day == D(2026, 1, 1)
    assert cal.last_day == D(2027, 12, 31)
    assert cal.working_days_in(cal.first_day, cal.last_day) == CAL.working_days_in(
        D(2026, 1, 1), D(2027, 12, 31)
    )


def test_sweden_calendar_is_shared() -> None:
    assert sweden_calendar() is sweden_calendar([])
    assert sweden_calendar([D(2026, 5, 15)]) is sweden_calendar({D(2026, 5, 15)})
    assert sweden_calendar([D(2026, 5, 15)]) is not sweden_calendar()
    assert CAL.first_day == D(DEFAULT_FIRST_YEAR, 1, 1)
    assert CAL.last_day == D(DEFAULT_LAST_YEAR, 12, 31)


def test_calendar_is_immutable() -> None:
    with pytest.raises(AttributeError):
        CAL.first_day = D(2000, 1, 1)
    with pytest.raises(AttributeError):
        del CAL.closed_days


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("day", [D(1989, 12, 31), D(2101, 1, 1), D(1, 1, 1)])
def test_dates_outside_the_range_raise(day: date) -> None:
    with pytest.raises(CalendarError, match=rf"{day.isoformat()}.*1990-01-01\.\.2100-12-31"):
        CAL.is_working_day(day)
    with pytest.raises(CalendarError, match=day.isoformat()):
        CAL.add_working_days(day, 1)
    with pytest.raises(CalendarError, match=day.isoformat()):
        CAL.add_working_days_ordinal(day.toordinal(), 1)
    with pytest.raises(CalendarError):
        CAL.working_days_between(D(2026, 1, 1), day)
    with pytest.raises(CalendarError):
        CAL.working_days_in(day, D(2026, 1, 1))


def test_results_outside_the_range_raise() -> None:
    with pytest.raises(CalendarError, match=r"5 working day\(s\) after 2100-12-28"):
        CAL.working_days_after(D(2100, 12, 28), 5)
    with pytest.raises(CalendarError, match="1990-01-01"):
        CAL.working_days_before(D(1990, 1, 2), 1)  # 1 Jan 1990 is nyårsdagen
    with pytest.raises(CalendarError):
        CAL.add_working_days_ordinal(D(1990, 1, 2).toordinal(), -1)
    with pytest.raises(CalendarError):
        CAL.next_working_day(D(2100, 12, 31))  # a Friday and nyårsafton
    with pytest.raises(CalendarError):
        CAL.previous_working_day(D(1990, 1, 1))
    with pytest.raises(CalendarError):
        CAL.add_working_days_ordinal(10**9, 1)


@pytest.mark.parametrize("n", [0, -1, -7])
def test_counts_below_one_raise_value_error(n: int) -> None:
    with pytest.raises(ValueError, match=r">= 1"):
        CAL.working_days_before(D(2026, 12, 28), n)
    with pytest.raises(ValueError, match=r">= 1"):
        CAL.working_days_after(D(2026, 12, 28), n)


def test_datetime_is_not_a_date() -> None:
    with pytest.raises(TypeError, match="local_date"):
        CAL.is_working_day(datetime(2026, 12, 28, 9, 0, tzinfo=UTC))


@pytest.mark.parametrize(("first_year", "last_year"), [(1950, 2000), (2000, 2101), (2027, 2026)])
def test_bad_year_range(first_year: int, last_year: int) -> None:
    assert Sweden.start_year <= DEFAULT_FIRST_YEAR
    with pytest.raises(ValueError, match="first_year"):
        WorkingCalendar(first_year=first_year, last_year=last_year)


# -- calendar arithmetic -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2025, 11, 30), 3, D(2026, 2, 28)),
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2023, 1, 31), 1, D(2023, 2, 28)),
        (D(2000, 1, 31), 1, D(2000, 2, 29)),
        (D(1900, 1, 31), 1, D(1900, 2, 28)),
        (D(2026, 5, 31), 1, D(2026, 6, 30)),
        (D(2026, 8, 31), 6, D(2027, 2, 28)),
        (D(2026, 12, 15), 1, D(2027, 1, 15)),
        (D(2028, 2, 29), 12, D(2029, 2, 28)),
        (D(2026, 6, 15), 0, D(2026, 6, 15)),
        (D(2026, 3, 31), -1, D(2026, 2, 28)),
        (D(2026, 1, 15), -1, D(2025, 12, 15)),
        (D(2026, 1, 31), -11, D(2025, 2, 28)),
        (D(2026, 1, 31), -13, D(2024, 12, 31)),
        (D(2026, 1, 1), -24, D(2024, 1, 1)),
        (D(2026, 1, 10), 6, D(2026, 7, 10)),  # "cirka sex månader"
    ],
)
def test_add_months_clamps(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_add_months_out_of_range() -> None:
    with pytest.raises(CalendarError):
        add_months(D(9999, 12, 1), 1)
    with pytest.raises(CalendarError):
        add_months(D(1, 1, 1), -1)


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (D(2026, 12, 28), 7, D(2027, 1, 4)),  # "inom en vecka"
        (D(2024, 2, 28), 1, D(2024, 2, 29)),
        (D(2026, 3, 1), -1, D(2026, 2, 28)),
    ],
)
def test_add_days(day: date, n: int, expected: date) -> None:
    assert add_days(day, n) == expected


def test_add_days_out_of_range() -> None:
    with pytest.raises(CalendarError):
        add_days(D(9999, 12, 31), 1)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2024, 2, 1), D(2024, 2, 29)),
        (D(2023, 2, 15), D(2023, 2, 28)),
        (D(2000, 2, 29), D(2000, 2, 29)),
        (D(1900, 2, 1), D(1900, 2, 28)),
        (D(2100, 2, 1), D(2100, 2, 28)),
        (D(2026, 4, 10), D(2026, 4, 30)),
        (D(2026, 12, 31), D(2026, 12, 31)),
        (D(9999, 12, 1), D(9999, 12, 31)),
    ],
)
def test_end_of_month(day: date, expected: date) -> None:
    assert end_of_month(day) == expected


@pytest.mark.parametrize(
    ("day", "week", "parity"),
    [
        (D(2026, 12, 21), 52, "even"),
        (D(2026, 12, 28), 53, "odd"),
        (D(2026, 12, 31), 53, "odd"),
        (D(2027, 1, 3), 53, "odd"),
        (D(2027, 1, 4), 1, "odd"),
        (D(2027, 1, 11), 2, "even"),
        (D(2025, 12, 29), 1, "odd"),  # ISO week 1 of 2026 starts in 2025
        (D(2026, 1, 1), 1, "odd"),
    ],
)
def test_iso_week_parity(day: date, week: int, parity: str) -> None:
    assert day.isocalendar().week == week
    assert iso_week_parity(day) == parity


# -- local time and daylight saving --------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "wall", "expected"),
    [
        # spring forward: 02:00-02:59 do not exist on 2026-03-29
        (D(2026, 3, 29), time(1, 30), "2026-03-29T01:30:00+01:00"),
        (D(2026, 3, 29), time(2, 0), "2026-03-29T03:00:00+02:00"),
        (D(2026, 3, 29), time(2, 30), "2026-03-29T03:30:00+02:00"),
        (D(2026, 3, 29), time(3, 0), "2026-03-29T03:00:00+02:00"),
        (D(2026, 3, 29), time(13, 30), "2026-03-29T13:30:00+02:00"),
        # fall back: 02:00-02:59 happen twice on 2026-10-25; the first one is taken
        (D(2026, 10, 25), time(1, 30), "2026-10-25T01:30:00+02:00"),
        (D(2026, 10, 25), time(2, 30), "2026-10-25T02:30:00+02:00"),
        (D(2026, 10, 25), time(2, 30, fold=1), "2026-10-25T02:30:00+02:00"),
        (D(2026, 10, 25), time(3, 0), "2026-10-25T03:00:00+01:00"),
        (D(2026, 10, 25), time(13, 30), "2026-10-25T13:30:00+01:00"),
    ],
)
def test_local_datetime_across_dst(day: date, wall: time, expected: str) -> None:
    result = local_datetime(day, wall, STOCKHOLM)
    assert result.tzinfo is STOCKHOLM
    assert result.isoformat() == expected
    # compare instants in UTC: == on a datetime in a fold is always False across zones (PEP 495)
    assert result.astimezone(UTC) == datetime.fromisoformat(expected).astimezone(UTC)


def test_local_datetime_gap_is_normalised_through_utc() -> None:
    result = local_datetime(D(2026, 3, 29), time(2, 30), STOCKHOLM)
    assert result.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert result.hour == 3


def test_local_datetime_refuses_an_aware_time() -> None:
    with pytest.raises(CalendarError, match="wall-clock"):
        local_datetime(D(2026, 1, 1), time(9, 0, tzinfo=UTC), STOCKHOLM)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 12, 22), "2026-12-22T23:59:59+01:00"),
        (D(2026, 3, 28), "2026-03-28T23:59:59+01:00"),
        (D(2026, 3, 29), "2026-03-29T23:59:59+02:00"),
        (D(2026, 6, 18), "2026-06-18T23:59:59+02:00"),
        (D(2026, 10, 24), "2026-10-24T23:59:59+02:00"),
        (D(2026, 10, 25), "2026-10-25T23:59:59+01:00"),
    ],
)
def test_end_of_day_offsets(day: date, expected: str) -> None:
    assert format_rfc3339(end_of_day(day, STOCKHOLM)) == expected


def _elapsed(start: datetime, end: datetime) -> timedelta:
    # subtracting two datetimes with the same tzinfo is wall-clock arithmetic: go through UTC
    return end.astimezone(UTC) - start.astimezone(UTC)


def test_day_lengths_across_dst() -> None:
    spring = _elapsed(
        start_of_day(D(2026, 3, 29), STOCKHOLM), end_of_day(D(2026, 3, 29), STOCKHOLM)
    )
    autumn = _elapsed(
        start_of_day(D(2026, 10, 25), STOCKHOLM), end_of_day(D(2026, 10, 25), STOCKHOLM)
    )
    assert spring == timedelta(hours=22, minutes=59, seconds=59)
    assert autumn == timedelta(hours=24, minutes=59, seconds=59)


def test_local_date_and_to_local() -> None:
    late_utc = parse_rfc3339("2026-06-18T22:30:00Z")
    assert local_date(late_utc, STOCKHOLM) == D(2026, 6, 19)
    assert local_date(late_utc, ZoneInfo("UTC")) == D(2026, 6, 18)
    local = to_local(late_utc, STOCKHOLM)
    assert local.tzinfo is STOCKHOLM
    assert local.isoformat() == "2026-06-19T00:30:00+02:00"
    assert local == late_utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-22T23:59:59+01:00", datetime(2026, 12, 22, 22, 59, 59, tzinfo=UTC)),
        ("2026-12-22T22:59:59Z", datetime(2026, 12, 22, 22, 59, 59, tzinfo=UTC)),
        ("2026-12-22T22:59:59z", datetime(2026, 12, 22, 22, 59, 59, tzinfo=UTC)),
        ("2026-12-22 23:59:59+01:00", datetime(2026, 12, 22, 22, 59, 59, tzinfo=UTC)),
        ("2026-12-22t23:59:59+01:00", datetime(2026, 12, 22, 22, 59, 59, tzinfo=UTC)),
        ("2026-12-22T23:59:59.5+01:00", datetime(2026, 12, 22, 22, 59, 59, 500000, tzinfo=UTC)),
        ("2026-12-22T23:59:59.123456789Z", datetime(2026, 12, 22, 23, 59, 59, 123456, tzinfo=UTC)),
        ("2026-06-18T13:30+02:00", datetime(2026, 6, 18, 11, 30, tzinfo=UTC)),
        ("2026-06-18T13:30:00-05:30", datetime(2026, 6, 18, 19, 0, tzinfo=UTC)),
    ],
)
def test_parse_rfc3339(text: str, expected: datetime) -> None:
    parsed = parse_rfc3339(text)
    assert parsed.utcoffset() is not None
    assert parsed == expected


def test_parse_keeps_the_stated_offset() -> None:
    parsed = parse_rfc3339("2026-12-22T23:59:59+01:00")
    assert parsed.utcoffset() == timedelta(hours=1)
    assert format_rfc3339(parsed) == "2026-12-22T23:59:59+01:00"
    assert format_rfc3339(parse_rfc3339("2026-12-22T22:59:59Z")) == "2026-12-22T22:59:59+00:00"


def _digits(n: int, high: int) -> st.SearchStrategy[str]:
    """``n`` digits of a number up to ``high`` (past the field's range, to reach its edge)."""
    return st.integers(0, high).map(lambda v: f"{v:0{n}d}")


@settings(max_examples=500)
@given(
    st.tuples(
        _digits(4, 9999),
        st.sampled_from(["-", "/"]),
        _digits(2, 13),
        _digits(2, 32),
        st.sampled_from(["T", "T", "t", " "]),
        _digits(2, 25),
        _digits(2, 60),
        _digits(2, 61),
        st.sampled_from(["+", "-", "Z", ""]),
        _digits(2, 25),
        _digits(2, 61),
    )
)
def test_parse_rfc3339_takes_the_common_form_as_the_general_parse_does(
    parts: tuple[str, ...],
) -> None:
    """The common form's shortcut (``2026-12-22T23:59:59+01:00`` read as it stands) gives
    what the general parse gives, the same instant and offset or the same error, for every
    string of that shape: impossible dates and times, offsets past 23:59, other separators."""
    year, dash, month, day, sep, hh, mm, ss, sign, oh, om = parts
    offset = "Z" if sign == "Z" else "" if not sign else f"{sign}{oh}:{om}"
    text = f"{year}{dash}{month}-{day}{sep}{hh}:{mm}:{ss}{offset}"
    try:
        general: datetime | str = _parse_rfc3339(text)
    except CalendarError as exc:
        general = str(exc)
    try:
        parsed: datetime | str = parse_rfc3339(text)
    except CalendarError as exc:
        parsed = str(exc)
    assert parsed == general
    if isinstance(parsed, datetime) and isinstance(general, datetime):
        assert parsed.utcoffset() == general.utcoffset()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2026-12-22T23:59:59", "naive"),
        ("2026-12-22 23:59", "naive"),
        ("2026-12-22", "not an RFC 3339"),
        ("23:59:59+01:00", "not an RFC 3339"),
        ("2024-02-98T10:00:00+01:00", "not a valid"),
        ("2026-13-01T00:00:00Z", "not a valid"),
        ("2026-12-22T25:00:00Z", "not a valid"),
        ("2026-12-22T23:59:59+01:00 trailing", "not an RFC 3339"),
        ("igår", "not an RFC 3339"),
        ("", "not an RFC 3339"),
    ],
)
def test_parse_rfc3339_rejects(text: str, words: str) -> None:
    with pytest.raises(CalendarError) as info:
        parse_rfc3339(text)
    assert words in str(info.value)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    ("dt", "expected"),
    [
        (datetime(2026, 12, 22, 23, 59, 59, tzinfo=STOCKHOLM), "2026-12-22T23:59:59+01:00"),
        (datetime(2026, 6, 18, 8, 0, tzinfo=STOCKHOLM), "2026-06-18T08:00:00+02:00"),
        (datetime(2026, 6, 18, 8, 0, 0, 250, tzinfo=UTC), "2026-06-18T08:00:00.000250+00:00"),
        (
            datetime(2026, 6, 18, 8, 0, tzinfo=timezone(-timedelta(hours=3, minutes=30))),
            "2026-06-18T08:00:00-03:30",
        ),
    ],
)
def test_format_rfc3339(dt: datetime, expected: str) -> None:
    assert format_rfc3339(dt) == expected


@pytest.mark.parametrize(
    "offset",
    [
        timedelta(seconds=30),
        -timedelta(seconds=30),
        timedelta(hours=1, minutes=12, seconds=12),  # Stockholm's local mean time, until 1879
        timedelta(hours=1, microseconds=1),
    ],
)
def test_format_rfc3339_refuses_an_offset_of_part_minutes(offset: timedelta) -> None:
    with pytest.raises(CalendarError, match="not a whole number of minutes"):
        format_rfc3339(datetime(2026, 6, 18, 8, 0, tzinfo=timezone(offset)))


def test_naive_timestamps_are_rejected() -> None:
    naive = datetime(2026, 12, 22, 23, 59, 59)
    for call in (
        lambda: require_aware(naive),
        lambda: format_rfc3339(naive),
        lambda: local_date(naive, STOCKHOLM),
        lambda: to_local(naive, STOCKHOLM),
    ):
        with pytest.raises(CalendarError, match=r"naive timestamp.*\+01:00"):
            call()
    with pytest.raises(CalendarError, match=r"^as_of 2026"):
        require_aware(naive, "as_of")
    aware = naive.replace(tzinfo=STOCKHOLM)
    assert require_aware(aware) is aware


def test_get_zone() -> None:
    assert get_zone("Europe/Stockholm") == STOCKHOLM
    for bad in ("Europe/Stokholm", "", "../etc/passwd", "Stockholm"):
        with pytest.raises(CalendarError, match="unknown time zone"):
            get_zone(bad)


# -- properties ----------------------------------------------------------------------------

# A reference that knows nothing of the prefix index: weekday, holiday list, closed days.
_REFERENCE_HOLIDAYS = Sweden(categories=("public", "de_facto"), language="sv")


def _reference_is_working(d: date, closed: frozenset[date] = frozenset()) -> bool:
    return d.weekday() < 5 and d not in _REFERENCE_HOLIDAYS and d not in closed


def _reference_add(d: date, n: int, closed: frozenset[date] = frozenset()) -> date:
    step = timedelta(days=1 if n > 0 else -1)
    remaining = abs(n)
    while remaining:
        d += step
        if _reference_is_working(d, closed):
            remaining -= 1
    return d


# n <= 400 working days is under two years: keep two years clear of the covered range.
dates = st.dates(min_value=D(1992, 1, 1), max_value=D(2098, 12, 31))
counts = st.integers(min_value=1, max_value=400)
small_counts = st.integers(min_value=1, max_value=60)


@given(dates, counts)
def test_there_and_back_lands_on_the_working_day_start(d: date, n: int) -> None:
    """Forward then back gives the last working day on or before d (d itself if it works)."""
    assert CAL.add_working_days(CAL.add_working_days(d, n), -n) == CAL.previous_working_day(d)
    assert CAL.add_working_days(CAL.add_working_days(d, -n), n) == CAL.next_working_day(d)
    if CAL.is_working_day(d):
        assert CAL.add_working_days(CAL.add_working_days(d, n), -n) == d
        assert CAL.add_working_days(CAL.add_working_days(d, -n), n) == d


@given(dates, counts)
def test_results_are_working_days_on_the_right_side(d: date, n: int) -> None:
    after = CAL.working_days_after(d, n)
    before = CAL.working_days_before(d, n)
    assert CAL.is_working_day(after)
    assert CAL.is_working_day(before)
    assert before < d < after
    assert CAL.working_days_in(add_days(d, 1), after) == n
    assert CAL.working_days_in(before, add_days(d, -1)) == n


@given(dates, counts)
def test_results_strictly_monotone_in_n(d: date, n: int) -> None:
    assert CAL.add_working_days(d, n) < CAL.add_working_days(d, n + 1)
    assert CAL.add_working_days(d, -n) > CAL.add_working_days(d, -n - 1)
    assert CAL.add_working_days(d, -1) < d < CAL.add_working_days(d, 1)


@given(dates, counts)
def test_working_days_between_counts_the_offset(d: date, n: int) -> None:
    w = CAL.next_working_day(d)
    assert CAL.working_days_between(w, CAL.add_working_days(w, n)) == n
    assert CAL.working_days_between(w, CAL.add_working_days(w, -n)) == -n
    # forwards the start need not be a working day
    assert CAL.working_days_between(d, CAL.add_working_days(d, n)) == n


@given(dates, dates)
def test_working_days_between_is_antisymmetric(a: date, b: date) -> None:
    assert CAL.working_days_between(a, b) == -CAL.working_days_between(b, a)
    lo, hi = min(a, b), max(a, b)
    assert CAL.working_days_in(lo, hi) == CAL.working_days_between(lo, hi) + (
        1 if CAL.is_working_day(lo) else 0
    )
    if lo < hi:
        assert CAL.working_days_in(hi, lo) == 0


@given(dates, st.integers(min_value=-60, max_value=60))
def test_matches_day_by_day_reference(d: date, n: int) -> None:
    assert CAL.add_working_days(d, n) == _reference_add(d, n)
    assert CAL.is_working_day(d) == _reference_is_working(d)
    end = add_days(d, abs(n))
    expected = sum(_reference_is_working(add_days(d, i)) for i in range(abs(n) + 1))
    assert CAL.working_days_in(d, end) == expected


@given(
    st.dates(min_value=D(2025, 7, 1), max_value=D(2027, 6, 30)),
    small_counts,
    st.frozensets(st.dates(min_value=D(2024, 1, 1), max_value=D(2028, 12, 31)), max_size=40),
)
@settings(max_examples=50)
def test_closed_days_match_reference(d: date, n: int, closed: frozenset[date]) -> None:
    cal = WorkingCalendar(closed, first_year=2024, last_year=2028)
    assert cal.working_days_after(d, n) == _reference_add(d, n, closed)
    assert cal.working_days_before(d, n) == _reference_add(d, -n, closed)
    assert cal.is_working_day(d) == _reference_is_working(d, closed)
    assert (cal.non_working_reason(d) is None) == _reference_is_working(d, closed)


@given(dates, st.integers(min_value=-400, max_value=400))
def test_ordinal_fast_path_agrees(d: date, n: int) -> None:
    expected = CAL.add_working_days(d, n)
    assert date.fromordinal(CAL.add_working_days_ordinal(d.toordinal(), n)) == expected


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from(
            [STOCKHOLM, UTC, timezone(timedelta(hours=-5, minutes=-30)), ZoneInfo("Asia/Tokyo")]
        ),
    )
)
def test_format_parse_round_trip(dt: datetime) -> None:
    text = format_rfc3339(dt)
    parsed = parse_rfc3339(text)
    assert parsed.astimezone(UTC) == dt.astimezone(UTC)
    assert parsed.utcoffset() == dt.utcoffset()
    assert format_rfc3339(parsed) == text


@given(
    st.dates(min_value=D(1991, 1, 1), max_value=D(2099, 12, 31)),
    st.times(),
)
def test_local_datetime_keeps_the_date_and_existing_wall_times(d: date, t: time) -> None:
    result = local_datetime(d, t, STOCKHOLM)
    assert result.tzinfo is STOCKHOLM
    assert local_date(result, STOCKHOLM) == d
    round_trip = result.astimezone(UTC).astimezone(STOCKHOLM)
    assert (round_trip.hour, round_trip.minute) == (result.hour, result.minute)
    if (result.hour, result.minute, result.second) != (t.hour, t.minute, t.second):
        # only a time in the spring-forward gap moves, and by exactly one hour
        assert result.replace(tzinfo=None) - datetime.combine(d, t) == timedelta(hours=1)


def test_the_shipped_holiday_table_is_what_the_holidays_package_computes() -> None:
    from samverkan_rules.time.calendar import compute_holiday_table, holiday_table

    shipped, computed = holiday_table(), compute_holiday_table()
    assert (shipped.start_year, shipped.end_year) == (computed.start_year, computed.end_year)
    assert dict(shipped.days) == dict(computed.days), (
        "the holidays package computes other Swedish holidays than the shipped table: run "
        "python -c 'from samverkan_rules.time.calendar import write_holiday_table; "
        "write_holiday_table()' and review the difference"
    )


def test_a_calendar_beyond_the_table_asks_the_holidays_package() -> None:
    cal = WorkingCalendar(first_year=1960, last_year=1961)
    assert cal.non_working_reason(date(1960, 12, 24)) == "julafton"
    assert cal.is_working_day(date(1960, 12, 23))
