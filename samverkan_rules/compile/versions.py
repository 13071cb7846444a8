"""Which version of a routine is in force on a day: a pure computation over compiled routines.

Each version is in force from its ``valid_from`` to its ``valid_to``; a version without
``valid_to`` ends the day before the next version of the same id begins. The evaluator and
the registry both use this, so evaluating never reaches into the loading side.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.diagnostics import Diagnostic


@dataclass(frozen=True, slots=True)
class Window:
    """The days a routine version is in force: ``first`` to ``last`` inclusive (open-ended
    when ``last`` is None)."""

    first: date
    last: date | None

    def contains(self, day: date) -> bool:
        """True when ``day`` falls inside the window."""
        return self.first <= day and (self.last is None or day <= self.last)


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
