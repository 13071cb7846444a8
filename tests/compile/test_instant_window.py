"""A version's window asked about instants answers as the local date does, in every zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules.compile.versions import InstantWindow, Window
from samverkan_rules.time.instants import local_date

# Stockholm, zones whose clocks go back at midnight (local dates not monotonic) and Apia,
# which skipped 30 December 2011 (a change of a whole day).
ZONES = ["Europe/Stockholm", "America/Sao_Paulo", "America/Havana", "Pacific/Apia", "UTC"]


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    first=st.dates(date(2009, 1, 1), date(2030, 1, 1)),
    days=st.none() | st.integers(0, 400),
    offset_hours=st.floats(-24 * 5, 24 * 405, allow_nan=False),
    fixed=st.booleans(),
)
def test_instant_window_agrees_with_the_local_date(
    zone: str, first: date, days: int | None, offset_hours: float, fixed: bool
) -> None:
    tz = ZoneInfo(zone)
    window = Window(first, None if days is None else first + timedelta(days=days))
    at = datetime.combine(first, datetime.min.time(), UTC) + timedelta(hours=offset_hours)
    if fixed:  # as parsed from RFC 3339 text: a fixed offset
        offset = at.astimezone(tz).utcoffset()
        assert offset is not None
        at = at.astimezone(timezone(offset))
    assert InstantWindow.of(window, tz).contains(at) == window.contains(local_date(at, tz))


def test_every_instant_around_a_midnight_fall_back() -> None:
    # Havana fell back from 01:00 to 00:00 on 2011-11-13: minute by minute around the ends.
    tz = ZoneInfo("America/Havana")
    for window in (Window(date(2011, 11, 13), None), Window(date(2011, 11, 1), date(2011, 11, 12))):
        check = InstantWindow.of(window, tz)
        start = datetime(2011, 11, 9, tzinfo=UTC)
        for minutes in range(0, 8 * 24 * 60, 7):
            at = start + timedelta(minutes=minutes)
            assert check.contains(at) == window.contains(local_date(at, tz))
