"""The pytest plugin: scenario files under a routine directory collected as pytest items,
failures shown as text without a traceback, and a coverage summary at the end.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.errors import CompileError
from samverkan_rules.routine.load import RoutineCheck, check_routine_file

try:  # The plugin part needs pytest; the runner (and ``samverkan test``) does not.
    import pytest

    _HAVE_PYTEST = True
except ModuleNotFoundError:  # pragma: no cover - pytest is a development dependency
    _HAVE_PYTEST = False
if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr
from samverkan_rules.scenarios.check import run_scenario, uncovered_rules
from samverkan_rules.scenarios.load import (
    Scenario,
    ScenarioFile,
    is_scenario_path,
    load_scenario_file,
)
from samverkan_rules.scenarios.spec import _shown

if _HAVE_PYTEST:

    class ScenarioFailure(Exception):
        """Raised by a scenario item whose expectations were not met (shown without a traceback)."""

    class ScenarioInvalid(Exception):
        """Raised by an item whose scenario, scenario file or routine cannot be used."""

    _ROUTINES = pytest.StashKey[dict[Path, RoutineCheck]]()
    _FILES = pytest.StashKey[dict[Path, list[ScenarioFile]]]()

    def _routine_check(config: pytest.Config, path: Path) -> RoutineCheck:
        """The routine at ``path``, loaded once per pytest run (cached on the config)."""
        cache = config.stash.setdefault(_ROUTINES, {})
        key = path.resolve()
        if key not in cache:
            cache[key] = check_routine_file(path)
        return cache[key]

    class ScenarioItem(pytest.Item):
        """One scenario of a scenario file."""

        def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.scenario = scenario
            if scenario.spec.known_issue is not None:
                self.add_marker(
                    pytest.mark.xfail(
                        reason=f"known issue: {scenario.spec.known_issue}",
                        raises=ScenarioFailure,
                        strict=True,
                    )
                )

        def runtest(self) -> None:
            """Run the scenario; raise :class:`ScenarioFailure` with the runner's message."""
            check = _routine_check(self.config, self.scenario.routine_path)
            if not check.ok or check.routine is None:
                errors = "\n".join(f"  {d.format()}" for d in check.diagnostics if d.is_error)
                raise ScenarioInvalid(
                    f"{self.scenario.location()}: scenario {self.name!r} cannot run: the routine "
                    f"{_shown(self.scenario.routine_path)} has errors\n{errors}"
                )
            result = run_scenario(self.scenario, check.routine)
            if result.errors:
                raise ScenarioInvalid(result.message)
            if not result.passed:
                raise ScenarioFailure(result.message)

        def repr_failure(
            self,
            excinfo: pytest.ExceptionInfo[BaseException],
            style: Any = None,
        ) -> str | TerminalRepr:
            """The runner's message for a scenario failure, without a Python traceback."""
            if isinstance(excinfo.value, (ScenarioFailure, ScenarioInvalid)):
                return str(excinfo.value)
            return super().repr_failure(excinfo, style=style)

        def reportinfo(self) -> tuple[Path, int, str]:
            """Where the scenario is, for pytest's reports."""
            return self.path, self.scenario.line - 1, f"scenario: {self.name}"

    class InvalidScenarioFileItem(pytest.Item):
        """Stands for a scenario file that cannot be loaded, so one typo fails one test."""

        def __init__(self, *, diagnostics: Sequence[Diagnostic], **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.diagnostics = tuple(diagnostics)

        def runtest(self) -> None:
            """Fail with every located problem of the file."""
            detail = "\n".join(f"  {d.format(caret=True)}" for d in self.diagnostics)
            raise ScenarioInvalid(f"{_shown(self.path)}: the scenario file is invalid\n{detail}")

        def repr_failure(
            self,
            excinfo: pytest.ExceptionInfo[BaseException],
            style: Any = None,
        ) -> str | TerminalRepr:
            """The problems, without a Python traceback."""
            if isinstance(excinfo.value, ScenarioInvalid):
                return str(excinfo.value)
            return super().repr_failure(excinfo, style=style)

        def reportinfo(self) -> tuple[Path, int, str]:
            """The file, for pytest's reports."""
            return self.path, 0, f"scenario file: {self.path.name}"

    class ScenarioFileCollector(pytest.File):
        """A YAML scenario file: one item per scenario."""

        def collect(self) -> Iterator[pytest.Item]:
            """Load the file and yield its scenarios (or one failing item when it is invalid)."""
            try:
                sf = load_scenario_file(self.path)
            except CompileError as exc:
                yield InvalidScenarioFileItem.from_parent(
                    self, name="<invalid scenario file>", diagnostics=exc.diagnostics
                )
                return
            self.config.stash.setdefault(_FILES, {}).setdefault(
                sf.routine_path.resolve(), []
            ).append(sf)
            for sc in sf.scenarios:
                yield ScenarioItem.from_parent(self, name=sc.name, scenario=sc)

    def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
        """Collect ``*.yaml`` files in a ``tests`` directory under a ``routines`` directory."""
        if is_scenario_path(file_path):
            return ScenarioFileCollector.from_parent(parent, path=file_path)
        return None

    def pytest_terminal_summary(
        terminalreporter: pytest.TerminalReporter, config: pytest.Config
    ) -> None:
        """Print each collected routine's rule coverage, listing rules without a scenario."""
        files = config.stash.get(_FILES, {})
        if not files:
            return
        terminalreporter.section("routine rule coverage (scenarios collected in this run)")
        for key in sorted(files):
            check = _routine_check(config, key)
            if check.routine is None or not check.ok:
                continue
            uncovered = uncovered_rules(check.routine, files[key])
            total = len(check.routine.rules)
            terminalreporter.write_line(
                f"{_shown(key)}: Rule coverage: {total - len(uncovered)}/{total}"
            )
            if uncovered:
                terminalreporter.write_line(
                    "  warning: rules without a scenario: " + ", ".join(uncovered)
                )
