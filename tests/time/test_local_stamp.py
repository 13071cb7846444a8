"""``local_stamp``: an instant as RFC 3339 text in a zone's local time, the same text as
converting it and formatting it, for every zone, offset and instant (also the hours its
offset changes in, offsets of minutes past the hour, and offsets that are not whole minutes,
which RFC 3339 cannot write)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules.errors import CalendarError
from samverkan_rules.time.instants import format_rfc3339, local_stamp

ZONES = [
    "Europe/Stockholm",
    "UTC",
    "America/St_Johns",  # -03:30, daylight saving -02:30
    "Australia/Lord_Howe",  # daylight saving of half an hour
    "Asia/Kathmandu",  # +05:45 (+05:30 until 1986)
    "Africa/Monrovia",  # -00:44:30 until 1972: not a whole number of minutes
    "Europe/Dublin",  # "negative" daylight saving in winter
    "Pacific/Apia",  # skipped 30 December 2011
]


def _converted(moment: datetime, tz: ZoneInfo) -> str:
    """What the text must be: the instant converted to the zone, then formatted."""
    try:
        return format_rfc3339(moment.astimezone(tz))
    except CalendarError as exc:
        return f"refused: {exc}"


def _stamped(moment: datetime, tz: ZoneInfo) -> str:
    try:
        return local_stamp(moment, tz)
    except CalendarError as exc:
        return f"refused: {exc}"


_INSTANTS = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2100, 12, 30), timezones=st.just(UTC)
)
_OWN_ZONES = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=1)),
        timezone(timedelta(hours=-5, minutes=-30)),
        ZoneInfo("Europe/Stockholm"),
        ZoneInfo("America/New_York"),
    ]
)


@settings(max_examples=500)
@given(instant=_INSTANTS, own=_OWN_ZONES, zone=st.sampled_from(ZONES))
def test_the_text_is_the_converted_instants(instant: datetime, own: object, zone: str) -> None:
    moment = instant.astimezone(own)  # type: ignore[arg-type]
    tz = ZoneInfo(zone)
    assert _stamped(moment, tz) == _converted(moment, tz)


@pytest.mark.parametrize(
    ("zone", "change"),
    [
        ("Europe/Stockholm", "2026-03-29T01:00:00+00:00"),
        ("Europe/Stockholm", "2026-10-25T01:00:00+00:00"),
        ("Australia/Lord_Howe", "2026-04-04T15:00:00+00:00"),  # 02:00 +11:00 to 01:30 +10:30
        ("Australia/Lord_Howe", "2026-10-03T15:30:00+00:00"),
        ("America/St_Johns", "2026-03-08T05:30:00+00:00"),
        ("Pacific/Apia", "2011-12-30T10:00:00+00:00"),
        ("Africa/Monrovia", "1972-01-07T00:44:30+00:00"),
    ],
)
def test_every_minute_around_a_change_of_offset(zone: str, change: str) -> None:
    """Both sides of the change, to the microsecond, and the two hours around it."""
    tz = ZoneInfo(zone)
    at = datetime.fromisoformat(change)
    tick = timedelta(microseconds=1)
    moments = [at - tick, at, at + tick]
    moments += [at + timedelta(minutes=m) for m in range(-120, 121)]
    for moment in moments:
        assert _stamped(moment, tz) == _converted(moment, tz), moment.isoformat()


def test_a_stamp_keeps_microseconds_only_when_there_are_some() -> None:
    tz = ZoneInfo("Europe/Stockholm")
    at = datetime(2026, 6, 18, 22, 30, tzinfo=UTC)
    assert local_stamp(at, tz) == "2026-06-19T00:30:00+02:00"
    assert local_stamp(at + timedelta(microseconds=500), tz) == "2026-06-19T00:30:00.000500+02:00"


def test_an_offset_rfc_3339_cannot_write_is_refused() -> None:
    with pytest.raises(CalendarError, match="whole number of minutes"):
        local_stamp(datetime(1960, 1, 1, tzinfo=UTC), ZoneInfo("Africa/Monrovia"))
