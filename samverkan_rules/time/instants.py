"""Instants and zones: timestamps that carry a UTC offset, local days and minutes in a
routine's zone, RFC 3339 in and out, and the range the calendar supports.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from samverkan_rules.diagnostics import N_, did_you_mean
from samverkan_rules.errors import CalendarError

DEFAULT_FIRST_YEAR = 1990


DEFAULT_LAST_YEAR = 2100


SUPPORTED_FIRST_DAY = date(DEFAULT_FIRST_YEAR, 1, 1)


"""The first local date the working-day calendar (and so every evaluation) covers."""


SUPPORTED_LAST_DAY = date(DEFAULT_LAST_YEAR, 12, 31)


"""The last local date covered. Times outside the range are refused by name
(:func:`check_supported`), not computed wrongly."""


SUPPORTED_RANGE = f"{SUPPORTED_FIRST_DAY.isoformat()}..{SUPPORTED_LAST_DAY.isoformat()}"


"""The supported range as text, for messages."""


def _check_date(d: date, what: str = "date") -> None:
    # A datetime is a date too, but its calendar day depends on a time zone: make the caller
    # say which (local_date) instead of silently using whatever offset it carries.
    if isinstance(d, datetime):
        raise TypeError(
            f"{what} must be a date, got the datetime {d.isoformat()}; "
            "convert it with local_date(dt, tz) first"
        )
    if not isinstance(d, date):
        raise TypeError(f"{what} must be a datetime.date, got {type(d).__name__}")


def require_aware(dt: datetime, what: str = "timestamp") -> datetime:
    """Return ``dt`` unchanged if it carries a UTC offset, else raise.

    Raises:
        CalendarError: If ``dt`` is naive.

    Examples:
        >>> require_aware(datetime(2026, 1, 1, 12, 0))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        samverkan_rules.errors.CalendarError: timestamp 2026-01-01T12:00:00 is a naive ...
    """
    if not isinstance(dt, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise CalendarError(
            f"{what} {dt.isoformat()} is a naive timestamp: it must carry a UTC offset "
            "such as +01:00 (naive times are not guessed)"
        )
    return dt


def local_datetime(d: date, t: time, tz: ZoneInfo) -> datetime:
    """Wall-clock time ``t`` on date ``d`` in ``tz``, resolved across daylight-saving changes.

    A time in the spring-forward gap becomes the instant the clocks show after the jump
    (02:30 becomes 03:30 summer time); a time that occurs twice in the autumn takes its first
    occurrence (summer time).

    Examples:
        >>> tz = ZoneInfo("Europe/Stockholm")
        >>> local_datetime(date(2026, 3, 29), time(2, 30), tz).isoformat()
        '2026-03-29T03:30:00+02:00'
        >>> local_datetime(date(2026, 10, 25), time(2, 30), tz).isoformat()
        '2026-10-25T02:30:00+02:00'
    """
    _check_date(d)
    if t.tzinfo is not None:
        raise CalendarError(
            f"local_datetime takes a wall-clock time without tzinfo, got {t.isoformat()}"
        )
    wall = datetime.combine(d, t).replace(tzinfo=tz, fold=0)
    # Round-tripping through UTC moves a non-existent (gap) time past the jump and leaves
    # every other time as it was.
    return wall.astimezone(UTC).astimezone(tz)


def end_of_day(d: date, tz: ZoneInfo) -> datetime:
    """23:59:59 local time on ``d``.

    Examples:
        >>> tz = ZoneInfo("Europe/Stockholm")
        >>> end_of_day(date(2026, 12, 22), tz).isoformat()
        '2026-12-22T23:59:59+01:00'
        >>> end_of_day(date(2026, 6, 18), tz).isoformat()
        '2026-06-18T23:59:59+02:00'
    """
    return local_datetime(d, time(23, 59, 59), tz)


def start_of_day(d: date, tz: ZoneInfo) -> datetime:
    """00:00 local time on ``d`` (the first instant after a gap if midnight is skipped).

    Examples:
        >>> start_of_day(date(2026, 3, 29), ZoneInfo("Europe/Stockholm")).isoformat()
        '2026-03-29T00:00:00+01:00'
    """
    return local_datetime(d, time(0, 0), tz)


def to_local(dt: datetime, tz: ZoneInfo) -> datetime:
    """The same instant as ``dt``, expressed in ``tz``.

    Raises:
        CalendarError: If ``dt`` is naive.

    Examples:
        >>> local = to_local(parse_rfc3339("2026-12-22T22:59:59Z"), ZoneInfo("Europe/Stockholm"))
        >>> local.isoformat(), local.tzinfo
        ('2026-12-22T23:59:59+01:00', zoneinfo.ZoneInfo(key='Europe/Stockholm'))
    """
    return require_aware(dt).astimezone(tz)


def local_date(dt: datetime, tz: ZoneInfo) -> date:
    """The local calendar date of the instant ``dt`` in ``tz``.

    Raises:
        CalendarError: If ``dt`` is naive.

    Examples:
        >>> local_date(parse_rfc3339("2026-06-18T22:30:00Z"), ZoneInfo("Europe/Stockholm"))
        datetime.date(2026, 6, 19)
    """
    return to_local(dt, tz).date()


def format_rfc3339(dt: datetime) -> str:
    """``dt`` as RFC 3339 text with its own offset as ``+HH:MM`` (never ``Z``).

    Seconds are always written, microseconds only when nonzero.

    Raises:
        CalendarError: If ``dt`` is naive or its offset is not a whole number of minutes.

    Examples:
        >>> format_rfc3339(end_of_day(date(2026, 12, 22), ZoneInfo("Europe/Stockholm")))
        '2026-12-22T23:59:59+01:00'
        >>> format_rfc3339(datetime(2026, 1, 1, 8, 0, 0, 500, tzinfo=UTC))
        '2026-01-01T08:00:00.000500+00:00'
    """
    offset = require_aware(dt).utcoffset()
    assert offset is not None  # require_aware checked it
    if offset.seconds % 60 or offset.microseconds:
        raise CalendarError(
            f"timestamp {dt.isoformat()} has a UTC offset that is not a whole number of "
            "minutes and cannot be written as RFC 3339"
        )
    # Seconds always, microseconds only when nonzero, the offset as +HH:MM: what isoformat
    # writes for an offset of whole minutes.
    return dt.isoformat()


def format_local_minute(moment: datetime, tz: ZoneInfo) -> str:
    """``2026-12-22 23:59+01:00``: the instant in local time to the minute, for people.

    Examples:
        >>> format_local_minute(parse_rfc3339("2026-12-22T22:59:59Z"), ZoneInfo("Europe/Stockholm"))
        '2026-12-22 23:59+01:00'
    """
    return _minute_utc(_instant_key(moment), tz)


def local_stamp(moment: datetime, tz: ZoneInfo) -> str:
    """RFC 3339 text of ``moment`` with the offset in force in ``tz`` at that instant.

    Examples:
        >>> local_stamp(parse_rfc3339("2026-06-18T22:30:00Z"), ZoneInfo("Europe/Stockholm"))
        '2026-06-19T00:30:00+02:00'
    """
    # This runs for every time of every obligation row (the audit's millions), and most
    # instants come once: rather than converting each (or caching it), the offset of its
    # UTC day (or, on a day the offset changes, its hour) is looked up and the local time
    # written as that much past the instant, a third of the time.
    if moment.tzinfo is not None:
        since = moment - _EPOCH
        offset = _offset_throughout(tz, since.days * 24, 24)
        if offset is None:
            offset = _offset_throughout(tz, since.days * 24 + since.seconds // 3600, 1)
        if offset is not None:
            return (_NAIVE_EPOCH + since + offset[0]).isoformat() + offset[1]
    # _instant_key, inlined.
    return _stamp_utc(moment.astimezone(UTC) if isinstance(moment.tzinfo, ZoneInfo) else moment, tz)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH: Final = datetime(1970, 1, 1)
_MICRO: Final = timedelta(microseconds=1)


def micros(at: datetime) -> int:
    """The aware instant ``at`` in microseconds since 1970-01-01 UTC (exact in a JSON
    number and in a database's BIGINT).

    Examples:
        >>> micros(datetime(1970, 1, 1, 1, tzinfo=UTC))
        3600000000
        >>> from_micros(micros(parse_rfc3339("2026-12-22T23:59:59.5+01:00"))).isoformat()
        '2026-12-22T22:59:59.500000+00:00'
    """
    return (at - _EPOCH) // _MICRO


def from_micros(count: int) -> datetime:
    """The instant ``count`` microseconds after 1970-01-01 UTC, in UTC (see :func:`micros`)."""
    return _EPOCH + count * _MICRO


@functools.lru_cache(maxsize=16384)
def _offset_throughout(tz: ZoneInfo, hour: int, hours: int) -> tuple[timedelta, str] | None:
    """The offset ``tz`` has throughout ``hours`` UTC hours from ``hour`` (hours since
    1970), and as RFC 3339 writes it (``+01:00``); None when it changes in them or is not
    a whole number of minutes (the instant is then converted on its own, and such an offset
    refused as RFC 3339).

    The offset is read at the start of each hour and at the last microsecond: a change
    and a change back within one hour would go unseen, and no zone has made one.
    """
    try:
        start = _EPOCH + timedelta(hours=hour)
        moments = [start + timedelta(hours=h) for h in range(hours)]
        moments.append(start + timedelta(hours=hours, microseconds=-1))
        offsets = {m.astimezone(tz).utcoffset() for m in moments}
    except OverflowError:  # past year 1 or 9999
        return None
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    if offset is None or offset % timedelta(minutes=1):
        return None
    return offset, datetime(2000, 1, 1, tzinfo=timezone(offset)).isoformat()[19:]


def _instant_key(moment: datetime) -> datetime:
    # Cache keys must stand for the instant. Two datetimes sharing a ZoneInfo compare by
    # wall clock, so the fold's two 02:30s would share one entry: those go through UTC.
    # A fixed offset (as parsed from RFC 3339 text) has no fold and is a key as it is.
    return moment.astimezone(UTC) if isinstance(moment.tzinfo, ZoneInfo) else moment


@functools.lru_cache(maxsize=65536)
def _stamp_utc(moment: datetime, tz: ZoneInfo) -> str:
    return format_rfc3339(moment.astimezone(tz))


@functools.lru_cache(maxsize=65536)
def _minute_utc(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    offset = local.utcoffset()
    minutes = int(offset.total_seconds()) // 60 if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d} "
        f"{local.hour:02d}:{local.minute:02d}{sign}{hours:02d}:{minutes:02d}"
    )


_RFC3339 = re.compile(
    r"""
    (?P<date>\d{4}-\d{2}-\d{2})
    [Tt\ ]
    (?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)
    (?P<offset>[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)?
    """,
    re.VERBOSE | re.ASCII,
)


_CANONICAL: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-](?:[01]\d|2[0-3]):[0-5]\d", re.ASCII
)
"""The form nearly every event file writes (``2026-12-22T23:59:59+01:00``): one of those
:data:`_RFC3339` accepts, which :meth:`datetime.fromisoformat` reads as it stands."""


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp that carries a UTC offset.

    Accepts ``T``, ``t`` or a space between date and time, optional fractional seconds, and
    ``Z`` or ``+HH:MM`` as the offset. Seconds may be left out (``13:30``).

    Raises:
        CalendarError: If the text is not a timestamp, is an invalid date or time, or has no
            offset (naive).

    Examples:
        >>> parse_rfc3339("2026-12-22T23:59:59+01:00").isoformat()
        '2026-12-22T23:59:59+01:00'
        >>> parse_rfc3339("2026-12-22 22:59:59.25Z")
        datetime.datetime(2026, 12, 22, 22, 59, 59, 250000, tzinfo=datetime.timezone.utc)
        >>> parse_rfc3339("2026-12-22T23:59:59")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        samverkan_rules.errors.CalendarError: timestamp '2026-12-22T23:59:59' is naive: ...
    """
    if type(text) is str and _CANONICAL.fullmatch(text) is not None:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass  # an impossible date or time: the general parse names it
    return _parse_rfc3339(text)


def _parse_rfc3339(text: str) -> datetime:
    """:func:`parse_rfc3339` for every form it accepts, and the errors for those it does not."""
    if not isinstance(text, str):
        raise TypeError(f"timestamp must be a string, got {type(text).__name__}")
    match = _RFC3339.fullmatch(text.strip())
    if match is None:
        raise CalendarError(
            N_(
                "timestamp {value} is not an RFC 3339 date and time; expected e.g. "
                "'2026-12-22T23:59:59+01:00'",
                value=repr(text),
            )
        )
    offset = match["offset"]
    if offset is None:
        raise CalendarError(
            N_(
                "timestamp {value} is naive: it must carry a UTC offset such as +01:00 or Z",
                value=repr(text),
            )
        )
    if offset in ("Z", "z"):
        offset = "+00:00"
    try:
        return datetime.fromisoformat(f"{match['date']}T{match['time']}{offset}")
    except ValueError as exc:
        raise CalendarError(
            N_(
                "timestamp {value} is not a valid date and time: {error}",
                value=repr(text),
                error=exc,
            )
        ) from None


_SUGGEST_ZONE: Final = ZoneInfo("Europe/Stockholm")  # the zone of every bundled routine


def parse_as_of(text: str) -> datetime:
    """Parse the instant to evaluate at: an RFC 3339 timestamp that carries a UTC offset.

    The message of a refusal says what to write instead, so the command line and the
    service give the same advice.

    Raises:
        CalendarError: for a naive or malformed timestamp, with an example of what to write.

    Examples:
        >>> parse_as_of("2026-12-15T12:00:00+01:00").isoformat()
        '2026-12-15T12:00:00+01:00'
        >>> parse_as_of("2026-12-15T12:00:00")
        Traceback (most recent call last):
        ...
        samverkan_rules.errors.CalendarError: 2026-12-15T12:00:00 has no UTC offset, ...
    """
    try:
        return parse_rfc3339(text)
    except CalendarError as exc:
        naive = _naive(text)
        if naive is None:
            message = str(exc)
            if "e.g." not in message:
                message += "; write it like 2026-12-15T12:00:00+01:00"
            raise CalendarError(message) from None
        suggestion = format_rfc3339(naive.replace(tzinfo=_SUGGEST_ZONE))
        raise CalendarError(
            f"{text} has no UTC offset, and times are never guessed; "
            f"write it with one, e.g. {suggestion}"
        ) from None


def _naive(text: str) -> datetime | None:
    """``text`` as a naive timestamp, or None when it is something else."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is None else None


def check_supported(moment: datetime, tz: ZoneInfo, what: str = "timestamp") -> None:
    """Refuse an instant whose local date in ``tz`` lies outside the supported range.

    The range is :data:`SUPPORTED_RANGE` (local dates, both ends included), the years the
    working-day calendar covers. Instants that cannot even be converted (year 1 with a
    positive offset, year 9999 with a negative one) are outside too.

    Raises:
        CalendarError: Naming ``what``, the instant and the supported range.

    Examples:
        >>> tz = ZoneInfo("Europe/Stockholm")
        >>> check_supported(parse_rfc3339("2026-12-15T12:00:00+01:00"), tz)
        >>> check_supported(parse_rfc3339("2100-12-31T23:00:00+00:00"), tz, "--as-of")
        Traceback (most recent call last):
        ...
        samverkan_rules.errors.CalendarError: --as-of 2100-12-31T23:00:00+00:00 (2101-01-01 in ...
    """
    require_aware(moment, what)
    try:
        day = moment.astimezone(tz).date()
    except (OverflowError, ValueError):
        day = None
    if day is None or not SUPPORTED_FIRST_DAY <= day <= SUPPORTED_LAST_DAY:
        local = f" ({day.isoformat()} in {tz.key})" if day is not None else ""
        raise CalendarError(
            f"{what} {moment.isoformat()}{local} is outside the supported range "
            f"{SUPPORTED_RANGE} (local dates); the working-day calendar covers those years only"
        )


@functools.lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    try:
        from zoneinfo import available_timezones

        return tuple(sorted(available_timezones()))
    except Exception:  # pragma: no cover - an unreadable zone database: no suggestions
        return ()


def zone_problem(name: object) -> tuple[str, str] | None:
    """What is wrong with a time zone name, as (message, hint); None when it is usable.

    Examples:
        >>> zone_problem("Europe/Stockholm") is None
        True
        >>> zone_problem("Europe/Stokholm")
        ("unknown time zone 'Europe/Stokholm'", "did you mean 'Europe/Stockholm'?")
        >>> zone_problem("")[0]
        'the time zone is empty'
    """
    if not isinstance(name, str):
        return (
            f"a time zone must be text, not {type(name).__name__}",
            "write an IANA name such as 'Europe/Stockholm'",
        )
    if not name.strip():
        return "the time zone is empty", "write an IANA name such as 'Europe/Stockholm'"
    if name.startswith(("/", ".")) or "\\" in name or "\x00" in name or ".." in name.split("/"):
        return (
            f"{name!r} is no time zone name (a path or a control character)",
            "write an IANA name such as 'Europe/Stockholm', not a file path",
        )
    try:
        get_zone(name)
    except CalendarError:
        close = did_you_mean(name, _zone_names()) if len(name) <= 100 else None
        return (
            f"unknown time zone {name!r}",
            str(close) if close else "write an IANA name such as 'Europe/Stockholm'",
        )
    return None


def get_zone(name: str) -> ZoneInfo:
    """The IANA time zone called ``name``.

    Raises:
        CalendarError: If there is no such zone.

    Examples:
        >>> get_zone("Europe/Stockholm")
        zoneinfo.ZoneInfo(key='Europe/Stockholm')
        >>> get_zone("Europe/Stokholm")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        samverkan_rules.errors.CalendarError: unknown time zone 'Europe/Stokholm': ...
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise CalendarError(
            f"unknown time zone {name!r}: expected an IANA name such as 'Europe/Stockholm'"
        ) from None
