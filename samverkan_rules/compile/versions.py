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
from samverkan_rules.time.instants import local_date, start_of_day


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


@dataclass(frozen=True, slots=True)
class InstantWindow:
    """A :class:`Window` asked about instants: :meth:`contains` answers as
    ``window.contains(local_date(at, tz))`` does, without converting most instants.

    An instant well inside or well outside the window's days (by :data:`_MARGIN`) is
    answered by comparing it with bounds computed once; one near an end goes through the
    local date.

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
    inner_from: datetime | None
    """From here (up to :attr:`inner_to`) surely inside; None: no sure inside."""
    inner_to: datetime | None
    """Before here surely inside; None: open-ended."""
    outer_from: datetime | None
    """Before here surely outside; None: never surely (the calendar's first days)."""
    outer_to: datetime | None
    """From here surely outside; None: never surely."""

    @classmethod
    def of(cls, window: Window, tz: ZoneInfo) -> InstantWindow:
        """The bounds of ``window``'s days in ``tz``."""

        def day_start(day: date, shift: timedelta) -> datetime | None:
            try:
                return start_of_day(day + shift, tz)
            except OverflowError:
                return None

        last = window.last
        inner_from = day_start(window.first, _MARGIN)
        inner_to = day_start(last, -_MARGIN) if last is not None else None
        if last is not None and inner_to is None:
            inner_from = None  # at the calendar's end: never surely inside
        return cls(
            window,
            tz,
            inner_from,
            inner_to,
            day_start(window.first, -_MARGIN),
            day_start(last, _MARGIN) if last is not None else None,
        )

    def contains(self, at: datetime) -> bool:
        """True when the local date of the instant ``at`` falls inside the window.

        Raises:
            CalendarError: If ``at`` is naive.
        """
        if at.tzinfo is not None and at.utcoffset() is not None:
            low, high = self.inner_from, self.inner_to
            if low is not None and low <= at and (high is None or at < high):
                return True
            if (self.outer_from is not None and at < self.outer_from) or (
                self.outer_to is not None and at >= self.outer_to
            ):
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
