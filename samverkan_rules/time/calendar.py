"""Swedish working days and calendar arithmetic (local wall-clock time: :mod:`.instants`).

A *vardag* (working day) is what lag (1930:173) om beräkning av lagstadgad tid says it is:
Monday to Friday, except Swedish public holidays (allmänna helgdagar, lag (1989:253)) and
midsommarafton, julafton and nyårsafton, which the law treats like public holidays. The
calendar is built from ``holidays.Sweden(categories=("public", "de_facto"), language="sv")``
(stored as a table in the package, see :func:`holiday_table`):
the ``public`` category holds the allmänna helgdagar and ``de_facto`` adds exactly the three
aftnar. Klämdagar and half days (the ``bank`` and ``optional`` categories) are working days
unless a routine closes them itself with ``closed_days``.

Working-day arithmetic never loops over days: :class:`WorkingCalendar` precomputes, for every
day in its covered range, how many working days fall at or before it, plus the ordinals of all
working days, so each query is a few list look-ups.

Times are wall-clock times in a routine's IANA time zone (``zoneinfo``), resolved across
daylight-saving changes by :func:`local_datetime`. Naive timestamps are refused with
:class:`~samverkan_rules.errors.CalendarError` rather than guessed. Mind Python's rules for
aware datetimes: subtracting or comparing two values that share one ``ZoneInfo`` works on the
wall clock, not on elapsed time, and ``==`` across zones is always false for a time inside the
autumn fold (PEP 495); convert both to UTC to compare instants or measure durations.

References:
    * Lag (1930:173) om beräkning av lagstadgad tid, 2 §:
      <https://www.riksdagen.se/sv/dokument-och-lagar/dokument/svensk-forfattningssamling/lag-1930173-om-berakning-av-lagstadgad-tid_sfs-1930-173/>
    * Lag (1989:253) om allmänna helgdagar.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path
from types import MappingProxyType
from typing import Final, Literal, NoReturn

from samverkan_rules.errors import CalendarError
from samverkan_rules.time.instants import (
    DEFAULT_FIRST_YEAR,
    DEFAULT_LAST_YEAR,
    _check_date,
)

_WEEKEND_NAMES = {5: "lördag", 6: "söndag"}


_CLOSED_REASON = "stängd dag"


def _check_count(n: int, what: str = "n") -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{what} must be a whole number, got {n!r}")
    if n < 1:
        raise ValueError(f"{what} must be a whole number >= 1, got {n}")


class WorkingCalendar:
    """Swedish working days (vardagar) over a fixed range of years.

    Immutable. Precomputes an ordinal index so every query is O(1)/O(log n), never a day loop:
    ``_upto[i]`` is the number of working days at or before day ``i`` of the range,
    ``_before[i]`` the number strictly before it, and ``_working`` the sorted ordinals
    (``date.toordinal()``) of all working days.

    Args:
        closed_days: Extra days the routine's own organisation is closed. Days outside the
            covered range are allowed and ignored.
        first_year: First covered year (1 January), at least 1953.
        last_year: Last covered year (31 December), at most 2100.

    Raises:
        ValueError: If the years are out of order or outside what the holiday data covers.

    Examples:
        >>> cal = WorkingCalendar(first_year=2026, last_year=2027)
        >>> cal.working_days_before(date(2026, 12, 28), 2)
        datetime.date(2026, 12, 22)
        >>> cal.non_working_reason(date(2026, 12, 24))
        'julafton'
        >>> cal.is_working_day(date(2026, 5, 15))  # klämdag after Kristi himmelsfärd
        True
        >>> closed = WorkingCalendar([date(2026, 5, 15)], first_year=2026, last_year=2026)
        >>> closed.non_working_reason(date(2026, 5, 15))
        'stängd dag'
    """

    __slots__ = (
        "_base",
        "_before",
        "_holiday_names",
        "_ndays",
        "_nworking",
        "_upto",
        "_working",
        "closed_days",
        "first_day",
        "last_day",
    )

    first_day: date
    last_day: date
    closed_days: frozenset[date]
    _base: int
    _ndays: int
    _nworking: int
    _upto: tuple[int, ...]
    _before: tuple[int, ...]
    _working: tuple[int, ...]
    _holiday_names: Mapping[date, str]

    def __init__(
        self,
        closed_days: Iterable[date] = (),
        *,
        first_year: int = DEFAULT_FIRST_YEAR,
        last_year: int = DEFAULT_LAST_YEAR,
    ) -> None:
        table = holiday_table()
        lowest, highest = table.start_year, table.end_year
        if not lowest <= first_year <= last_year <= highest:
            raise ValueError(
                f"the covered years must satisfy {lowest} <= first_year <= last_year <= "
                f"{highest}, got first_year={first_year}, last_year={last_year}"
            )
        closed = frozenset(closed_days)
        for d in closed:
            _check_date(d, "a closed day")

        first_day = date(first_year, 1, 1)
        last_day = date(last_year, 12, 31)
        base = first_day.toordinal()
        ndays = last_day.toordinal() - base + 1

        names = table.names(first_year, last_year)

        # Weekday of day i is (first weekday + i) % 7; Monday is 0.
        first_weekday = first_day.weekday()
        flags = [(first_weekday + i) % 7 < 5 for i in range(ndays)]
        for d in names.keys() | closed:
            if first_day <= d <= last_day:
                flags[d.toordinal() - base] = False

        upto = tuple(accumulate(flags, initial=0))  # upto[i + 1] = working days in days 0..i
        set_ = object.__setattr__
        set_(self, "first_day", first_day)
        set_(self, "last_day", last_day)
        set_(self, "closed_days", closed)
        set_(self, "_base", base)
        set_(self, "_ndays", ndays)
        set_(self, "_before", upto[:-1])
        set_(self, "_upto", upto[1:])
        set_(self, "_working", tuple(base + i for i, ok in enumerate(flags) if ok))
        set_(self, "_nworking", upto[-1])
        set_(self, "_holiday_names", MappingProxyType(names))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"WorkingCalendar is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"WorkingCalendar is immutable: cannot delete {name!r}")

    def __repr__(self) -> str:
        return (
            f"WorkingCalendar(first_year={self.first_day.year}, last_year={self.last_day.year}, "
            f"closed_days={len(self.closed_days)})"
        )

    # -- helpers ---------------------------------------------------------------------------

    def _range_text(self) -> str:
        return f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"

    def _index(self, d: date, what: str = "date") -> int:
        _check_date(d, what)
        i = d.toordinal() - self._base
        if not 0 <= i < self._ndays:
            raise CalendarError(
                f"{what} {d.isoformat()} is outside the working-day calendar's covered range "
                f"{self._range_text()}"
            )
        return i

    def _raise_outside_ordinal(self, ordinal: int) -> NoReturn:
        try:
            text = date.fromordinal(ordinal).isoformat()
        except (ValueError, OverflowError):
            text = f"ordinal {ordinal}"
        raise CalendarError(
            f"date {text} is outside the working-day calendar's covered range {self._range_text()}"
        )

    def _raise_result_outside(self, start: int, n: int) -> NoReturn:
        direction = "after" if n > 0 else "before"
        raise CalendarError(
            f"{abs(n)} working day(s) {direction} {date.fromordinal(start).isoformat()} falls "
            f"outside the working-day calendar's covered range {self._range_text()}"
        )

    def _raise_no_working_day(self, d: date, direction: str) -> NoReturn:
        raise CalendarError(
            f"no working day {direction} {d.isoformat()} within the working-day calendar's "
            f"covered range {self._range_text()}"
        )

    # -- queries ---------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a vardag and not one of the routine's closed days.

        Examples:
            >>> cal = sweden_calendar()
            >>> cal.is_working_day(date(2026, 12, 23)), cal.is_working_day(date(2026, 12, 24))
            (True, False)
        """
        i = self._index(d)
        return self._upto[i] != self._before[i]

    def non_working_reason(self, d: date) -> str | None:
        """Why ``d`` is not a working day, or ``None`` if it is one.

        A holiday's Swedish name (lower case) comes first, then ``"lördag"``/``"söndag"``, then
        ``"stängd dag"`` for a day closed only by the routine.

        Examples:
            >>> cal = sweden_calendar()
            >>> cal.non_working_reason(date(2026, 4, 3))
            'långfredagen'
            >>> cal.non_working_reason(date(2026, 12, 26))  # a Saturday and annandag jul
            'annandag jul'
            >>> cal.non_working_reason(date(2026, 12, 27))
            'söndag'
            >>> cal.non_working_reason(date(2026, 12, 28)) is None
            True
        """
        if self.is_working_day(d):
            return None
        name = self._holiday_names.get(d)
        if name is not None:
            return name
        weekend = _WEEKEND_NAMES.get(d.weekday())
        if weekend is not None:
            return weekend
        return _CLOSED_REASON

    def add_working_days_ordinal(self, ordinal: int, n: int) -> int:
        """:meth:`add_working_days` on ``date.toordinal()`` values: the fast path for audits.

        Examples:
            >>> cal = sweden_calendar()
            >>> start = date(2026, 12, 28).toordinal()
            >>> date.fromordinal(cal.add_working_days_ordinal(start, -2))
            datetime.date(2026, 12, 22)
        """
        i = ordinal - self._base
        if not 0 <= i < self._ndays:
            self._raise_outside_ordinal(ordinal)
        if n > 0:
            k = self._upto[i] + n - 1
            if k >= self._nworking:
                self._raise_result_outside(ordinal, n)
            return self._working[k]
        if n < 0:
            k = self._before[i] + n
            if k < 0:
                self._raise_result_outside(ordinal, n)
            return self._working[k]
        return ordinal

    def add_working_days(self, d: date, n: int) -> date:
        """Move ``n`` working days from ``d``: after it if ``n > 0``, before it if ``n < 0``.

        The start day itself is never counted; ``n == 0`` returns ``d`` unchanged, even when it
        is not a working day.

        Raises:
            CalendarError: If ``d`` or the result lies outside the covered range.

        Examples:
            >>> cal = sweden_calendar()
            >>> cal.add_working_days(date(2026, 12, 23), 1)  # 24-27 Dec are not vardagar
            datetime.date(2026, 12, 28)
            >>> cal.add_working_days(date(2026, 12, 28), -2)
            datetime.date(2026, 12, 22)
            >>> cal.add_working_days(date(2026, 12, 26), 0)
            datetime.date(2026, 12, 26)
        """
        self._index(d)
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be a whole number, got {n!r}")
        return date.fromordinal(self.add_working_days_ordinal(d.toordinal(), n))

    def working_days_before(self, d: date, n: int) -> date:
        """The ``n``-th working day strictly before ``d`` ("senast N vardagar innan D").

        Raises:
            ValueError: If ``n < 1``.
            CalendarError: If ``d`` or the result lies outside the covered range.

        Examples:
            >>> sweden_calendar().working_days_before(date(2026, 12, 28), 2)
            datetime.date(2026, 12, 22)
        """
        _check_count(n)
        return self.add_working_days(d, -n)

    def working_days_after(self, d: date, n: int) -> date:
        """The ``n``-th working day strictly after ``d``.

        Raises:
            ValueError: If ``n < 1``.
            CalendarError: If ``d`` or the result lies outside the covered range.

        Examples:
            >>> sweden_calendar().working_days_after(date(2026, 12, 22), 3)
            datetime.date(2026, 12, 29)
        """
        _check_count(n)
        return self.add_working_days(d, n)

    def next_working_day(self, d: date, *, inclusive: bool = True) -> date:
        """The first working day on or after ``d`` (strictly after it if not ``inclusive``).

        Examples:
            >>> cal = sweden_calendar()
            >>> cal.next_working_day(date(2026, 12, 24))
            datetime.date(2026, 12, 28)
            >>> cal.next_working_day(date(2026, 12, 23)), cal.next_working_day(
            ...     date(2026, 12, 23), inclusive=False
            ... )
            (datetime.date(2026, 12, 23), datetime.date(2026, 12, 28))
        """
        i = self._index(d)
        k = self._before[i] if inclusive else self._upto[i]
        if k >= self._nworking:
            self._raise_no_working_day(d, "after")
        return date.fromordinal(self._working[k])

    def previous_working_day(self, d: date, *, inclusive: bool = True) -> date:
        """The last working day on or before ``d`` (strictly before it if not ``inclusive``).

        Examples:
            >>> cal = sweden_calendar()
            >>> cal.previous_working_day(date(2026, 12, 27))
            datetime.date(2026, 12, 23)
            >>> cal.previous_working_day(date(2026, 12, 28), inclusive=False)
            datetime.date(2026, 12, 23)
        """
        i = self._index(d)
        k = (self._upto[i] if inclusive else self._before[i]) - 1
        if k < 0:
            self._raise_no_working_day(d, "before")
        return date.fromordinal(self._working[k])

    def working_days_between(self, start: date, end: date) -> int:
        """Signed count of working days from ``start`` (excluded) to ``end`` (included).

        For ``end >= start`` this counts working days ``w`` with ``start < w <= end``; for
        ``end < start`` it is minus the count with ``end < w <= start``. Use it for "late by N
        working days": ``working_days_between(deadline_day, done_day)``.

        Examples:
            >>> cal = sweden_calendar()
            >>> cal.working_days_between(date(2026, 12, 22), date(2026, 12, 28))
            2
            >>> cal.working_days_between(date(2026, 12, 28), date(2026, 12, 22))
            -2
            >>> cal.working_days_between(date(2026, 12, 24), date(2026, 12, 27))
            0
        """
        return self._upto[self._index(end, "end")] - self._upto[self._index(start, "start")]

    def working_days_in(self, start: date, end: date) -> int:
        """Number of working days ``w`` with ``start <= w <= end`` (0 if ``end < start``).

        Examples:
            >>> sweden_calendar().working_days_in(date(2026, 12, 21), date(2027, 1, 8))
            10
        """
        i = self._index(start, "start")
        j = self._index(end, "end")
        if j < i:
            return 0
        return self._upto[j] - self._before[i]


@dataclass(frozen=True)
class HolidayTable:
    """Sweden's non-working holidays (public and de facto) by date, with their names.

    Attributes:
        holidays_version: The ``holidays`` release the table was computed with.
        start_year: The first year the ``holidays`` package covers for Sweden.
        end_year: The last year it covers.
        first_year: The first year the table holds.
        last_year: The last year the table holds.
        days: Each holiday in the years held, with its Swedish name(s), lower case.
    """

    holidays_version: str
    start_year: int
    end_year: int
    first_year: int
    last_year: int
    days: Mapping[date, str]

    def names(self, first_year: int, last_year: int) -> dict[date, str]:
        """The holidays of the years ``first_year..last_year`` (computed when not held)."""
        if first_year < self.first_year or last_year > self.last_year:
            return dict(compute_holiday_table(first_year, last_year).days)
        return {d: n for d, n in self.days.items() if first_year <= d.year <= last_year}

    def to_json(self) -> dict[str, object]:
        """The table as stored in the package."""
        return {
            "holidays_version": self.holidays_version,
            "start_year": self.start_year,
            "end_year": self.end_year,
            "first_year": self.first_year,
            "last_year": self.last_year,
            "days": {d.isoformat(): n for d, n in sorted(self.days.items())},
        }


_TABLE_FILE = Path(__file__).parent.parent / "data" / "sweden-holidays.json"


def compute_holiday_table(
    first_year: int = DEFAULT_FIRST_YEAR, last_year: int = DEFAULT_LAST_YEAR
) -> HolidayTable:
    """The holidays of ``first_year..last_year`` as the ``holidays`` package computes them.

    ``holidays.Sweden(categories=("public", "de_facto"), language="sv")``: the allmänna
    helgdagar and midsommar-, jul- and nyårsafton.
    """
    from holidays.countries.sweden import Sweden
    from holidays.version import __version__ as holidays_version

    first_year = max(first_year, Sweden.start_year)
    last_year = min(last_year, Sweden.end_year)
    sweden = Sweden(
        categories=("public", "de_facto"),
        language="sv",
        years=range(first_year, last_year + 1),
        include_sundays=False,
    )
    return HolidayTable(
        holidays_version=holidays_version,
        start_year=Sweden.start_year,
        end_year=Sweden.end_year,
        first_year=first_year,
        last_year=last_year,
        days=MappingProxyType({d: "; ".join(sweden.get_list(d)).lower() for d in sweden}),
    )


@functools.lru_cache(maxsize=1)
def holiday_table() -> HolidayTable:
    """The holidays of the default years, read from the table shipped with the package.

    Importing ``holidays`` costs a third of a second (it loads every country); the table is
    what it computes for Sweden, stored when the package is built and checked against it by
    the test suite (``write_holiday_table`` refreshes it). Without the file, or with
    ``SAMVERKAN_HOLIDAYS=compute``, the ``holidays`` package is asked directly.
    """
    if os.environ.get("SAMVERKAN_HOLIDAYS") != "compute":
        try:
            raw = json.loads(_TABLE_FILE.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        else:
            return HolidayTable(
                holidays_version=raw["holidays_version"],
                start_year=raw["start_year"],
                end_year=raw["end_year"],
                first_year=raw["first_year"],
                last_year=raw["last_year"],
                days=MappingProxyType({date.fromisoformat(d): n for d, n in raw["days"].items()}),
            )
    return compute_holiday_table()


def write_holiday_table(path: Path = _TABLE_FILE) -> None:
    """Store what the installed ``holidays`` computes as the package's table."""
    text = json.dumps(compute_holiday_table().to_json(), indent=1, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


@functools.lru_cache(maxsize=32)
def _cached_sweden_calendar(closed_days: frozenset[date]) -> WorkingCalendar:
    return WorkingCalendar(closed_days)


def sweden_calendar(closed_days: Iterable[date] = ()) -> WorkingCalendar:
    """The shared Swedish :class:`WorkingCalendar` for a set of closed days.

    Memoised on the set of closed days (at most 32 distinct sets are kept), so routines that
    share closed days share one calendar. The cache holds only immutable
    :class:`WorkingCalendar` objects, so sharing them is safe.

    Examples:
        >>> sweden_calendar() is sweden_calendar([])
        True
        >>> sweden_calendar([date(2026, 5, 15)]).is_working_day(date(2026, 5, 15))
        False
    """
    return _cached_sweden_calendar(frozenset(closed_days))


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (date(year, month + 1, 1) - timedelta(days=1)).day


def add_days(d: date, n: int) -> date:
    """``d`` plus ``n`` calendar days (``n`` may be negative).

    Raises:
        CalendarError: If the result is not a representable date.

    Examples:
        >>> add_days(date(2026, 12, 28), 7)
        datetime.date(2027, 1, 4)
    """
    _check_date(d)
    try:
        return d + timedelta(days=n)
    except OverflowError:
        raise CalendarError(f"{d.isoformat()} + {n} days is not a representable date") from None


def add_months(d: date, n: int) -> date:
    """``d`` plus ``n`` calendar months, clamped to the end of a shorter month.

    Raises:
        CalendarError: If the result is not a representable date.

    Examples:
        >>> add_months(date(2025, 11, 30), 3)
        datetime.date(2026, 2, 28)
        >>> add_months(date(2024, 1, 31), 1)
        datetime.date(2024, 2, 29)
        >>> add_months(date(2026, 3, 31), -1)
        datetime.date(2026, 2, 28)
    """
    _check_date(d)
    total = d.year * 12 + (d.month - 1) + n
    year, month0 = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise CalendarError(f"{d.isoformat()} + {n} months is not a representable date")
    return date(year, month0 + 1, min(d.day, _days_in_month(year, month0 + 1)))


def end_of_month(d: date) -> date:
    """The last day of ``d``'s month.

    Examples:
        >>> end_of_month(date(2024, 2, 10)), end_of_month(date(2026, 12, 1))
        (datetime.date(2024, 2, 29), datetime.date(2026, 12, 31))
    """
    _check_date(d)
    return date(d.year, d.month, _days_in_month(d.year, d.month))


def iso_week_parity(d: date) -> Literal["odd", "even"]:
    """Whether ``d`` falls in an odd or an even ISO week number ("ojämn vecka").

    2026 has an ISO week 53, so weeks 53 and 1 are both odd.

    Examples:
        >>> iso_week_parity(date(2026, 12, 28)), iso_week_parity(date(2027, 1, 4))
        ('odd', 'odd')
        >>> iso_week_parity(date(2027, 1, 11))
        'even'
    """
    _check_date(d)
    return "odd" if d.isocalendar().week % 2 else "even"


WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""The weekday names routines use, Monday first (indexed by :meth:`datetime.date.weekday`)."""
