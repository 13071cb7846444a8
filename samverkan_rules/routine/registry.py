"""Several versions of several routines, and which version is in force on a date.

A routine id can have several versions (the 2014 Örebro routine and its successor are two).
Each version is in force from its ``valid_from`` to its ``valid_to``; a version without
``valid_to`` ends the day before the next version of the same id begins, so a successor
closes its predecessor without anyone editing the older file. Versions whose explicit
windows overlap are an error: an auditor must always be able to say which one applied.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import overload

from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.compile.versions import Window, validity_windows
from samverkan_rules.diagnostics import Diagnostic, has_errors, sort_key
from samverkan_rules.errors import RoutineError
from samverkan_rules.routine.load import RoutineCheck, check_routine_file, routine_files


class Registry(Sequence[CompiledRoutine]):
    """An immutable set of compiled routine versions, ordered by id then start date.

    A registry is a sequence of :class:`CompiledRoutine`, so it can be passed to
    :func:`samverkan_rules.evaluate` directly.
    """

    __slots__ = ("_routines", "_windows")

    def __init__(self, routines: Iterable[CompiledRoutine]) -> None:
        items = sorted(routines, key=lambda r: (r.id, r.routine.valid_from, r.version))
        seen: set[tuple[str, str]] = set()
        for r in items:
            if (r.id, r.version) in seen:
                raise RoutineError(f"routine {r.id} version {r.version} is given twice")
            seen.add((r.id, r.version))
        windows, problems = validity_windows(items)
        if has_errors(problems):
            raise RoutineError("routine versions overlap", problems)
        self._routines: tuple[CompiledRoutine, ...] = tuple(items)
        self._windows = windows

    @overload
    def __getitem__(self, index: int) -> CompiledRoutine: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[CompiledRoutine]: ...

    def __getitem__(self, index: int | slice) -> CompiledRoutine | Sequence[CompiledRoutine]:
        return self._routines[index]

    def __len__(self) -> int:
        return len(self._routines)

    def __iter__(self) -> Iterator[CompiledRoutine]:
        return iter(self._routines)

    def ids(self) -> list[str]:
        """The routine ids, sorted."""
        return sorted({r.id for r in self._routines})

    def versions(self, routine_id: str) -> tuple[CompiledRoutine, ...]:
        """Every version of one routine, oldest first."""
        return tuple(r for r in self._routines if r.id == routine_id)

    def window(self, routine: CompiledRoutine) -> Window:
        """The days this version is in force (an open end closed by its successor)."""
        return self._windows[(routine.id, routine.version)]

    def in_force(self, routine_id: str, day: date) -> CompiledRoutine | None:
        """The version of ``routine_id`` in force on ``day``, or None."""
        for r in self.versions(routine_id):
            if self.window(r).contains(day):
                return r
        return None


def check_registry(
    paths: Iterable[str | os.PathLike[str]], *, today: date | None = None
) -> tuple[Registry | None, list[RoutineCheck], list[Diagnostic]]:
    """Check every routine file under ``paths`` and build a registry when all are valid.

    Returns:
        The registry (None when any file has errors), each file's check, and the
        registry-level problems (overlapping versions).
    """
    checks = [check_routine_file(p, today=today) for p in routine_files(paths)]
    if not all(c.ok for c in checks):
        return None, checks, []
    compiled = [c.routine for c in checks if c.routine is not None]
    _, problems = validity_windows(compiled)
    if has_errors(problems):
        return None, checks, sorted(problems, key=sort_key)
    return Registry(compiled), checks, sorted(problems, key=sort_key)


def load_registry(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> Registry:
    """Load every routine file named (files, or directories of ``*.yaml``) into a registry.

    Raises:
        RoutineError: listing every problem in every file, or overlapping versions.

    Examples:
        >>> registry = load_registry("routines")
        >>> "orebro-dagverksamhet-hemvard" in registry.ids()
        True
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    registry, checks, problems = check_registry(paths)
    if registry is None or not checks:
        errors = [d for c in checks for d in c.diagnostics if d.is_error] + problems
        if not errors:
            errors = [Diagnostic("error", "registry.empty", "no routine files found")]
        raise RoutineError(f"{len(errors)} error(s) in the routines", errors)
    return registry
