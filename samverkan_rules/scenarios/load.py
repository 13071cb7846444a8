"""Reading a scenario file: located errors for the format, routine paths resolved beside it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from samverkan_rules.diagnostics import Diagnostic, did_you_mean, sort_key
from samverkan_rules.errors import EventError
from samverkan_rules.events.model import Event, event_from_mapping
from samverkan_rules.language.validation import located_errors
from samverkan_rules.language.yaml import YamlDocument, load_yaml_file
from samverkan_rules.language.yaml_core import PathPart
from samverkan_rules.time.instants import parse_rfc3339

if TYPE_CHECKING:
    pass
from samverkan_rules.scenarios.spec import (
    TESTS_DIR,
    YAML_SUFFIXES,
    ScenarioError,
    ScenarioFileSpec,
    ScenarioSpec,
    _shown,
)


@dataclass(frozen=True)
class Scenario:
    """One scenario of a loaded file, with what is needed to run it and to locate it.

    Attributes:
        spec: The validated scenario.
        index: Its position in the file's ``scenarios`` list.
        file: The scenario file.
        routine_path: The routine file it tests.
        document: The loaded YAML, for line numbers.
        events: The scenario's events, each knowing its file and line.
    """

    spec: ScenarioSpec
    index: int
    file: Path
    routine_path: Path
    document: YamlDocument = field(repr=False)
    events: tuple[Event, ...] = field(repr=False)

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.spec.name

    @property
    def path(self) -> tuple[PathPart, ...]:
        """Its path in the document, e.g. ``("scenarios", 3)``."""
        return ("scenarios", self.index)

    @property
    def line(self) -> int:
        """The line where the scenario starts (1-based)."""
        return self.line_of(())

    def line_of(self, path: Sequence[PathPart]) -> int:
        """The line of a part of the scenario, e.g. ``("expect", "actions", 0)``."""
        pos = self.document.position((*self.path, *path))
        return pos.line if pos is not None else 1

    def location(self, path: Sequence[PathPart] = ()) -> str:
        """``file:line`` of the scenario (or of a part of it)."""
        return f"{_shown(self.file)}:{self.line_of(path)}"

    @property
    def as_of(self) -> datetime:
        """The instant to evaluate at."""
        return parse_rfc3339(self.spec.as_of)


@dataclass(frozen=True)
class ScenarioFile:
    """A loaded, checked scenario file.

    Attributes:
        path: The file.
        routine_path: The routine it tests (resolved against the file's directory).
        spec: The validated content.
        scenarios: Its scenarios, in file order.
    """

    path: Path
    routine_path: Path
    spec: ScenarioFileSpec
    scenarios: tuple[Scenario, ...]
    document: YamlDocument = field(repr=False)


def is_scenario_path(path: str | os.PathLike[str]) -> bool:
    """True for a ``.yaml`` file inside a ``tests`` directory under a ``routines`` directory.

    Examples:
        >>> is_scenario_path("routines/tests/orebro-dagverksamhet-hemvard/helgdagar.yaml")
        True
        >>> is_scenario_path("routines/orebro-dagverksamhet-hemvard.yaml")
        False
        >>> is_scenario_path("tests/invalid/unknown-role.yaml")
        False
    """
    p = Path(path)
    if p.suffix not in YAML_SUFFIXES:
        return False
    dirs = p.parent.parts
    if "routines" not in dirs:
        return False
    return TESTS_DIR in dirs[dirs.index("routines") + 1 :]


def load_scenario_file(path: str | os.PathLike[str]) -> ScenarioFile:
    """Load and check a scenario file.

    Checks the YAML, the format (unknown keys are errors, with a did-you-mean hint), that
    the routine file exists, and that names within the file are consistent (unique
    scenario names and event ids, a ``case`` that some event belongs to). References to the
    routine's rules are checked when the scenario runs, against the compiled routine.

    Args:
        path: The scenario file.

    Returns:
        The loaded file.

    Raises:
        ScenarioError: (a :class:`~samverkan_rules.errors.CompileError`) listing every
            problem with its file, line and column.

    Examples:
        >>> sf = load_scenario_file("routines/tests/orebro-dagverksamhet-hemvard/helgdagar.yaml")
        >>> sf.routine_path.name
        'orebro-dagverksamhet-hemvard.yaml'
        >>> sf.scenarios[0].line > 1
        True
    """
    file = Path(path)
    doc = load_yaml_file(file)  # YamlError is a CompileError too
    spec = _validated_spec(file, doc)
    problems: list[Diagnostic] = []
    routine_path = _routine_path(file, spec, doc, problems)
    names: dict[str, int] = {}
    scenarios = [
        _scenario(i, sc, names, file, routine_path, doc, problems)
        for i, sc in enumerate(spec.scenarios)
    ]
    if problems:
        problems.sort(key=sort_key)
        raise ScenarioError(f"{_shown(file)}: {len(problems)} error(s)", problems)
    return ScenarioFile(
        path=file,
        routine_path=routine_path,
        spec=spec,
        scenarios=tuple(scenarios),
        document=doc,
    )


def _validated_spec(file: Path, doc: YamlDocument) -> ScenarioFileSpec:
    """The file's content checked against the format; every format error is raised at once."""
    if not isinstance(doc.data, dict):
        raise ScenarioError(
            f"{_shown(file)}: not a scenario file",
            [
                doc.diagnostic(
                    (),
                    "scenario.not-mapping",
                    "a scenario file must be a YAML mapping",
                    hint="start with 'routine: ../../<routine>.yaml' and 'scenarios:'",
                )
            ],
        )
    try:
        return ScenarioFileSpec.model_validate(doc.data)
    except ValidationError as exc:
        found = sorted(located_errors(exc, doc, ScenarioFileSpec, prefix="scenario"), key=sort_key)
        raise ScenarioError(f"{_shown(file)}: {len(found)} error(s)", found) from None


def _routine_path(
    file: Path, spec: ScenarioFileSpec, doc: YamlDocument, problems: list[Diagnostic]
) -> Path:
    """The routine file, resolved beside the scenario file; a problem when it is missing."""
    routine_path = Path(os.path.normpath(file.parent / spec.routine))
    if not routine_path.is_file():
        problems.append(
            doc.diagnostic(
                ("routine",),
                "scenario.routine-not-found",
                f"there is no routine file at {_shown(routine_path)}",
                hint="give the routine's path relative to this file, e.g. "
                "'../../orebro-dagverksamhet-hemvard.yaml'",
            )
        )
    return routine_path


def _scenario(
    i: int,
    sc: ScenarioSpec,
    names: dict[str, int],
    file: Path,
    routine_path: Path,
    doc: YamlDocument,
    problems: list[Diagnostic],
) -> Scenario:
    """Scenario ``i`` with its events; its name must be new to ``names``, its case known."""
    base: tuple[PathPart, ...] = ("scenarios", i)
    if sc.name in names:
        problems.append(
            doc.diagnostic(
                (*base, "name"),
                "scenario.duplicate-name",
                f"the name {sc.name!r} is already used by scenarios[{names[sc.name]}]",
                hint="give every scenario its own name",
            )
        )
    names.setdefault(sc.name, i)
    events = _scenario_events(base, sc, file, doc, problems)
    cases = sorted({e.case for e in sc.events})
    if sc.case is not None and sc.case not in cases:
        problems.append(
            doc.diagnostic(
                (*base, "case"),
                "scenario.unknown-case",
                f"no event of this scenario belongs to case {sc.case!r}",
                hint=did_you_mean(sc.case, cases) or "use the 'case' of one of the events",
            )
        )
    return Scenario(
        spec=sc,
        index=i,
        file=file,
        routine_path=routine_path,
        document=doc,
        events=tuple(events),
    )


def _scenario_events(
    base: tuple[PathPart, ...],
    sc: ScenarioSpec,
    file: Path,
    doc: YamlDocument,
    problems: list[Diagnostic],
) -> list[Event]:
    """A scenario's events, each knowing its line; an id used twice is a problem."""
    events: list[Event] = []
    seen: dict[str, int] = {}
    for j, raw in enumerate(sc.events):
        where = (*base, "events", j)
        if raw.id in seen:
            problems.append(
                doc.diagnostic(
                    (*where, "id"),
                    "scenario.duplicate-event-id",
                    f"event id {raw.id!r} is already used by events[{seen[raw.id]}]",
                    hint="give every event of a scenario its own id",
                )
            )
            continue
        seen[raw.id] = j
        pos = doc.position(where)
        try:
            events.append(
                event_from_mapping(raw.model_dump(), file=str(file), line=pos.line if pos else None)
            )
        except EventError as exc:  # pragma: no cover - the model checks the same things
            problems.extend(
                doc.diagnostic(where, d.code, d.message, hint=d.hint) for d in exc.diagnostics
            )
    return events
