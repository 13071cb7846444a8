"""Running every scenario under a directory against the routines it names: the report that
``samverkan test`` prints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.errors import CompileError
from samverkan_rules.language.yaml import load_yaml_file
from samverkan_rules.routine.load import RoutineCheck, check_routine_file, routine_files

if TYPE_CHECKING:
    pass
from samverkan_rules.scenarios.check import ScenarioResult, run_scenario, uncovered_rules
from samverkan_rules.scenarios.load import ScenarioFile, load_scenario_file
from samverkan_rules.scenarios.spec import TESTS_DIR, YAML_SUFFIXES, _shown


@dataclass(frozen=True)
class InvalidScenarioFile:
    """A scenario file that could not be loaded, with every problem found."""

    path: Path
    diagnostics: tuple[Diagnostic, ...]

    @property
    def message(self) -> str:
        """The problems, one per line."""
        return "\n".join(d.format() for d in self.diagnostics)


@dataclass(frozen=True)
class RoutineReport:
    """A routine's scenario results and rule coverage.

    Attributes:
        path: The routine file.
        check: Loading it (diagnostics, and the compiled routine when it is valid).
        scenario_files: Its scenario files.
        results: One result per scenario (empty when the routine is invalid).
    """

    path: Path
    check: RoutineCheck
    scenario_files: tuple[ScenarioFile, ...]
    results: tuple[ScenarioResult, ...]

    @property
    def routine(self) -> CompiledRoutine | None:
        """The compiled routine, or None when it has errors."""
        return self.check.routine if self.check.ok else None

    @property
    def rules(self) -> list[str]:
        """The routine's rule ids."""
        return [r.id for r in self.routine.rules] if self.routine else []

    @property
    def uncovered(self) -> list[str]:
        """Rules without a scenario (a warning, not a failure)."""
        return uncovered_rules(self.routine, self.scenario_files) if self.routine else []

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        routine = self.routine
        return {
            "file": _shown(self.path),
            "id": routine.id if routine else None,
            "version": routine.version if routine else None,
            "valid": routine is not None,
            "diagnostics": [d.to_json() for d in self.check.diagnostics],
            "scenarios": [r.to_json() for r in self.results],
            "coverage": {
                "rules": len(self.rules),
                "covered": len(self.rules) - len(self.uncovered),
                "uncovered": self.uncovered,
            },
        }


@dataclass(frozen=True)
class Report:
    """Everything :func:`run_directory` found."""

    routines: tuple[RoutineReport, ...]
    invalid_files: tuple[InvalidScenarioFile, ...] = ()

    @property
    def results(self) -> list[ScenarioResult]:
        """Every scenario result, routine by routine."""
        return [r for rr in self.routines for r in rr.results]

    @property
    def passed(self) -> int:
        """Scenarios that passed."""
        return sum(1 for r in self.results if r.verdict == "passed")

    @property
    def known_issues(self) -> int:
        """Scenarios marked ``known_issue`` that still fail (not counted as failures)."""
        return sum(1 for r in self.results if r.verdict == "known_issue")

    @property
    def failed(self) -> int:
        """Failed scenarios, plus invalid scenario files and invalid routines."""
        failing = sum(1 for r in self.results if not r.ok)
        invalid_routines = sum(1 for rr in self.routines if rr.routine is None)
        return failing + len(self.invalid_files) + invalid_routines

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return self.failed == 0

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "routines": [r.to_json() for r in self.routines],
            "invalid_scenario_files": [
                {"file": _shown(f.path), "diagnostics": [d.to_json() for d in f.diagnostics]}
                for f in self.invalid_files
            ],
            "passed": self.passed,
            "failed": self.failed,
            "known_issues": self.known_issues,
        }


def _in_tests_dir(path: Path) -> bool:
    return TESTS_DIR in path.parts


def _yaml_files_under(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())


def run_directory(path: str | os.PathLike[str]) -> Report:
    """Run the scenarios of a routine, of a directory of routines, or of scenario files.

    * A routines directory (e.g. ``routines/``): every routine file in it, and every
      scenario file under its ``tests/`` directory.
    * A routine file: the scenario files under ``tests/`` next to it that test it.
    * A scenario file, or a directory inside ``tests/``: those scenario files, and the
      routines they name.

    Args:
        path: A file or directory.

    Returns:
        The results per routine, with coverage, and the scenario files that could not be
        loaded. Never raises for problems in the files.

    Raises:
        FileNotFoundError: when ``path`` does not exist.

    Examples:
        >>> report = run_directory("routines/orebro-dagverksamhet-hemvard.yaml")
        >>> report.failed, report.routines[0].uncovered
        (0, [])
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"no such file or directory: {root}")
    routine_paths: list[Path] = []
    candidates: list[Path]
    only_for: Path | None = None
    if root.is_dir() and not _in_tests_dir(root):
        routine_paths = list(routine_files([root]))
        candidates = _yaml_files_under(root / TESTS_DIR)
    elif root.is_dir():
        candidates = _yaml_files_under(root)
    elif _in_tests_dir(root):
        candidates = [root]
    else:
        routine_paths = [root]
        candidates = _yaml_files_under(root.parent / TESTS_DIR)
        only_for = root

    loaded: list[ScenarioFile] = []
    invalid: list[InvalidScenarioFile] = []
    for candidate in candidates:
        try:
            sf = load_scenario_file(candidate)
        except CompileError as exc:
            if only_for is None or _named_for(candidate, only_for):
                invalid.append(InvalidScenarioFile(candidate, exc.diagnostics))
            continue
        if only_for is None or _same_file(sf.routine_path, only_for):
            loaded.append(sf)

    by_routine: dict[Path, list[ScenarioFile]] = {}
    order: list[Path] = []
    for p in routine_paths:
        key = p.resolve()
        if key not in by_routine:
            by_routine[key] = []
            order.append(p)
    for sf in loaded:
        key = sf.routine_path.resolve()
        if key not in by_routine:
            by_routine[key] = []
            order.append(sf.routine_path)
        by_routine[key].append(sf)

    reports = []
    for p in order:
        files = tuple(by_routine[p.resolve()])
        check = check_routine_file(p)
        results: tuple[ScenarioResult, ...] = ()
        if check.ok and check.routine is not None:
            routine = check.routine
            results = tuple(run_scenario(sc, routine) for sf in files for sc in sf.scenarios)
        reports.append(RoutineReport(p, check, files, results))
    return Report(tuple(reports), tuple(invalid))


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _named_for(scenario_path: Path, routine_path: Path) -> bool:
    """Whether a scenario file that cannot be loaded belongs to this routine.

    It does when its ``routine`` key can still be read and names the routine, or else when
    it sits in the routine's own directory, ``tests/<routine file name without .yaml>/``.
    """
    try:
        data = load_yaml_file(scenario_path).data
    except CompileError:
        data = None
    declared = data.get("routine") if isinstance(data, dict) else None
    if isinstance(declared, str) and declared:
        return _same_file(scenario_path.parent / declared, routine_path)
    return scenario_path.parent.name == routine_path.stem
