"""Which version of a routine is in force on a day: a pure computation over compiled routines.

Each version is in force from its ``valid_from`` to its ``valid_to``; a version without
``valid_to`` ends the day before the next version of the same id begins. The evaluator and
the registry both use this, so evaluating never reaches into the loading side.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.time.instants import local_date, micros, start_of_day


@dataclass(frozen=True, slots=True)
class Window:
    """The days a routine version is in force: ``first`` to ``last`` inclusive (open-ended
    when ``last`` is None)."""

    first: date
    last: date | None

    def contains(self, day: date) -> bool:
        """True when ``day`` falls inside the window."""
        return self.first <= day and (self.last is None or day <= self.last)


_MARGIN = timedelta(days=2)
"""Wider than any change of a zone's UTC offset: an instant this far inside (or outside) a
window's local days is inside (or outside) whatever the offsets around it."""


_BEYOND = 1 << 62
"""Later than any instant in microseconds since 1970 (datetime ends in 9999)."""


@dataclass(frozen=True, slots=True)
class InstantWindow:
    """A :class:`Window` asked about instants: :meth:`contains` answers as
    ``window.contains(local_date(at, tz))`` does, without converting most instants.

    An instant well inside or well outside the window's days (by :data:`_MARGIN`) is
    answered by comparing it with bounds computed once (in microseconds since 1970); one
    near an end goes through the local date.

    Examples:
        >>> from samverkan_rules.time.instants import parse_rfc3339
        >>> tz = ZoneInfo("Europe/Stockholm")
        >>> w = InstantWindow.of(Window(date(2026, 1, 1), date(2026, 6, 30)), tz)
        >>> [w.contains(parse_rfc3339(t)) for t in ("2025-12-31T22:59:59Z",
        ...  "2025-12-31T23:00:00Z", "2026-03-01T12:00:00Z", "2026-06-30T21:59:59Z",
        ...  "2026-06-30T22:00:00Z", "2027-01-01T00:00:00Z")]
        [False, True, True, True, False, False]
    """

    window: Window
    tz: ZoneInfo
    inner_from: int
    """From here (up to :attr:`inner_to`) surely inside (beyond every instant: never)."""
    inner_to: int
    """Before here surely inside."""
    outer_from: int
    """Before here surely outside."""
    outer_to: int
    """From here surely outside."""

    @classmethod
    def of(cls, window: Window, tz: ZoneInfo) -> InstantWindow:
        """The bounds of ``window``'s days in ``tz``."""

        def day_start(day: date | None, shift: timedelta, otherwise: int) -> int:
            if day is None:
                return otherwise
            try:
                return micros(start_of_day(day + shift, tz))
            except OverflowError:
                return otherwise

        first, last = window.first, window.last
        inner_to = day_start(last, -_MARGIN, -_BEYOND) if last is not None else _BEYOND
        return cls(
            window,
            tz,
            day_start(first, _MARGIN, _BEYOND),
            inner_to,
            day_start(first, -_MARGIN, -_BEYOND),
            day_start(last, _MARGIN, _BEYOND),
        )

    def contains(self, at: datetime, at_micros: int | None = None) -> bool:
        """True when the local date of the instant ``at`` falls inside the window.

        Args:
            at: The instant.
            at_micros: ``micros(at)``, when the caller has it.

        Raises:
            CalendarError: If ``at`` is naive.
        """
        if at_micros is None:
            if at.tzinfo is None or at.utcoffset() is None:
                return self.window.contains(local_date(at, self.tz))  # raises
            at_micros = micros(at)
        if self.inner_from <= at_micros < self.inner_to:
            return True
        if at_micros < self.outer_from or at_micros >= self.outer_to:
            return False
        return self.window.contains(local_date(at, self.tz))


def validity_windows(
    routines: Iterable[CompiledRoutine],
) -> tuple[dict[tuple[str, str], Window], list[Diagnostic]]:
    """Each version's window, with an open end closed by its successor; overlaps reported.

    Examples:
        >>> validity_windows([])
        ({}, [])
    """
    by_id: dict[str, list[CompiledRoutine]] = {}
    for r in routines:
        by_id.setdefault(r.id, []).append(r)
    windows: dict[tuple[str, str], Window] = {}
    problems: list[Diagnostic] = []
    for rid, versions in sorted(by_id.items()):
        versions.sort(key=lambda r: (r.routine.valid_from, r.version))
        for i, r in enumerate(versions):
            meta = r.routine
            last = meta.valid_to
            nxt = versions[i + 1] if i + 1 < len(versions) else None
            if nxt is not None:
                start = nxt.routine.valid_from
                if last is None and start > meta.valid_from:
                    last = start - timedelta(days=1)
                elif last is None or last >= start:
                    problems.append(
                        Diagnostic(
                            "error",
                            "registry.overlap",
                            f"routine {rid}: versions {r.version} and {nxt.version} are both in "
                            f"force on {start.isoformat()}",
                            file=nxt.file,
                            hint=f"end version {r.version} before {start.isoformat()} with "
                            "valid_to, or move the newer valid_from",
                        )
                    )
            windows[(rid, r.version)] = Window(meta.valid_from, last)
    return windows, problems
