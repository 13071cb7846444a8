"""Scenario tests for routines, written in YAML by policy authors, and their pytest plugin.

A scenario file lives next to the routines, in ``routines/tests/<routine-id>/*.yaml``. It
names the routine it tests (a path relative to the scenario file) and lists scenarios: a
case's events, the instant to evaluate at, and what the evaluation must show. Its first line
points editors at the JSON Schema generated from the models below
(``schemas/scenario.schema.json``)::

    # yaml-language-server: $schema=../../../schemas/scenario.schema.json
    routine: ../../orebro-dagverksamhet-hemvard.yaml
    scenarios:
      - name: Start efter jul – meddelandet ska skickas senast 22 december
        as_of: 2026-12-15T12:00:00+01:00
        events:
          - {id: e1, case: c1, type: consent.given, at: "2026-12-01T09:00:00+01:00"}
        expect:
          actions:
            - {rule: start-message, status: due, deadline: "2026-12-22T23:59:59+01:00"}
          obligations:
            - {obligation: "start-message:e2", status: fulfilled}
          absent: [start-message-hemsjukvard]
          diagnostics: [event.unknown-type]

Expectations are partial: each key written must equal that field of the obligation's JSON
form (:class:`~samverkan_rules.evaluation.Obligation`), nested mappings partially too.
Timestamps are compared as written, so write them with the local offset.

* ``actions``: the case's actions must be exactly these (as many, each entry matching its
  own action).
* ``obligations``: each entry must match at least one obligation of the ledger.
* ``absent``: rule ids that must raise no obligation.
* ``diagnostics``: codes that must be among the evaluation's diagnostics. An event the
  evaluation rejects or only partly understands (an ``event.*`` error or warning) fails the
  scenario unless its code is listed here, so a misspelt event cannot pass unnoticed.

A scenario may carry ``known_issue: <what is wrong>``: it documents a bug in the engine with
the expectation the routine's text requires. It is reported as a known issue while it fails
and fails as soon as it passes, so the marker is removed when the bug is fixed.

The same files run under ``samverkan test`` and under pytest: this module is a pytest plugin
(registered by the repository's root ``conftest.py``) that collects one test item per
scenario. The runner itself does not need pytest.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from samverkan_rules._validation import located_errors
from samverkan_rules._yaml import PathPart, YamlDocument, load_yaml_file
from samverkan_rules.calendar import check_supported, parse_rfc3339
from samverkan_rules.compiler import CompiledRoutine
from samverkan_rules.diagnostics import Diagnostic, did_you_mean, sort_key
from samverkan_rules.engine import evaluate
from samverkan_rules.errors import CalendarError, CompileError, EventError, SamverkanError
from samverkan_rules.evaluation import Evaluation, Status
from samverkan_rules.events import Event, event_from_mapping
from samverkan_rules.loader import RoutineCheck, check_routine_file, routine_files

try:  # The plugin part needs pytest; the runner (and ``samverkan test``) does not.
    import pytest

    _HAVE_PYTEST = True
except ModuleNotFoundError:  # pragma: no cover - pytest is a development dependency
    _HAVE_PYTEST = False

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr

__all__ = [
    "Expectations",
    "ExpectedObligation",
    "InvalidScenarioFile",
    "Report",
    "RoutineReport",
    "Scenario",
    "ScenarioError",
    "ScenarioFile",
    "ScenarioFileSpec",
    "ScenarioResult",
    "ScenarioSpec",
    "is_scenario_path",
    "load_scenario_file",
    "referenced_rules",
    "run_directory",
    "run_scenario",
    "uncovered_rules",
]

YAML_SUFFIXES: Final = (".yaml", ".yml")
TESTS_DIR: Final = "tests"

Verdict = Literal["passed", "failed", "error", "known_issue", "fixed_issue"]
"""How a scenario came out: ``error`` means the scenario itself is wrong (e.g. it names a
rule the routine does not have); ``known_issue`` a scenario marked ``known_issue`` that still
fails; ``fixed_issue`` one that now passes (a failure: remove the marker)."""

_TIMESTAMP: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?[+-]\d{2}:\d{2}\Z")


class ScenarioError(CompileError):
    """A scenario file cannot be used: every problem is a located diagnostic."""


# --------------------------------------------------------------------------- the file format


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        coerce_numbers_to_str=True,
        use_attribute_docstrings=True,
    )


def _aware(value: str) -> str:
    try:
        parse_rfc3339(value)
    except CalendarError as exc:
        raise ValueError(str(exc)) from None
    return value


def _as_written(value: str | None) -> str | None:
    """An expected timestamp must have the exact shape the evaluation writes."""
    if value is None:
        return None
    _aware(value)
    if not _TIMESTAMP.match(value):
        raise ValueError(
            f"write the timestamp as the evaluation does, e.g. 2026-12-22T23:59:59+01:00 "
            f"(with seconds and the local offset), got {value!r}"
        )
    return value


class ExpectedRoutineRef(_Model):
    """The routine an obligation comes from (any of its keys)."""

    id: str | None = None
    version: str | None = None


class ExpectedSource(_Model):
    """Where in the source document the rule comes from (any of its keys)."""

    document: str | None = None
    section: str | None = None
    quote: str | None = None


class ExpectedResponsibleParty(_Model):
    """Who a case fact names as responsible (any of its keys)."""

    fact: str | None = None
    value: Any = None
    fallback: bool | None = None
    """True while the fact is unset and the fallback role acts."""


class ExpectedLateness(_Model):
    """How late an obligation is (any of its keys), e.g. ``{days: 10}``."""

    working_days: int | None = None
    days: int | None = None
    """Calendar days from the deadline's local day."""
    hours: int | None = None
    """Whole hours elapsed since the deadline."""


class ExpectedInterpretation(_Model):
    """The rule's interpretation (any of its keys)."""

    reason: str | None = None
    text: str | None = None


class ExpectedEventRef(_Model):
    """An event an obligation refers to (any of its keys)."""

    event: str | None = None
    type: str | None = None
    at: str | None = None

    _at = field_validator("at")(_as_written)


class ExpectedObligation(_Model):
    """An expected obligation or action: only the keys written are compared.

    The keys are the fields of :class:`~samverkan_rules.evaluation.Obligation`.
    """

    obligation: str | None = None
    """The obligation id, '<rule>:<trigger event id>' (remedies: '<precondition>:<case>:<role>')."""
    rule: str | None = None
    routine: ExpectedRoutineRef | None = None
    case: str | None = None
    kind: str | None = None
    """A built-in action kind or one the routine declares."""
    title: str | None = None
    responsible: str | None = None
    responsible_label: str | None = None
    responsible_party: ExpectedResponsibleParty | None = None
    recipients: list[str] | None = None
    channel: str | None = None
    status: Status | None = None
    opens_at: str | None = None
    deadline: str | None = None
    """RFC 3339 with the local offset, e.g. 2026-12-22T23:59:59+01:00."""
    occurrence: str | None = None
    content: list[str] | None = None
    source: ExpectedSource | None = None
    interpretation: ExpectedInterpretation | None = None
    explanation: str | None = None
    trigger: ExpectedEventRef | None = None
    fulfilled_by: ExpectedEventRef | None = None
    cancelled_by: ExpectedEventRef | None = None
    late_working_days: int | None = None
    late: ExpectedLateness | None = None
    """Lateness in each unit; write only the units to check, or null for not late."""
    blocked_by: list[str] | None = None
    unblocks: list[str] | None = None
    escalates: str | None = None
    trace: list[str] | None = None

    _times = field_validator("opens_at", "deadline")(_as_written)

    def expected(self) -> dict[str, Any]:
        """The keys the author wrote, as plain data to compare with ``Obligation.model_dump()``."""
        return self.model_dump(exclude_unset=True)


class ExpectedPeriodLength(_Model):
    """A period's length (any of its keys)."""

    days: int | None = None
    working_days: int | None = None
    hours: int | None = None


class ExpectedPeriod(_Model):
    """A period of the case (any of its keys), e.g. ``{period: betalningsansvar, open: true}``."""

    period: str | None = None
    label: str | None = None
    start: str | None = None
    end: str | None = None
    open: bool | None = None
    started_by_obligation: str | None = None
    length: ExpectedPeriodLength | None = None
    amount: float | None = None

    _times = field_validator("start", "end")(_as_written)

    def expected(self) -> dict[str, Any]:
        """The keys the author wrote."""
        return self.model_dump(exclude_unset=True)


class Expectations(_Model):
    """What the evaluation must show. At least one key is needed."""

    actions: list[ExpectedObligation] | None = None
    """Exactly the case's actions (an empty list: no action at all)."""
    obligations: list[ExpectedObligation] = Field(default_factory=list)
    """Each entry matches at least one obligation of the ledger; others may exist."""
    absent: list[str] = Field(default_factory=list)
    """Rule ids that must raise no obligation."""
    periods: list[ExpectedPeriod] = Field(default_factory=list)
    """Each entry matches at least one period of the case; others may exist."""
    diagnostics: list[str] = Field(default_factory=list)
    """Diagnostic codes that must appear, e.g. 'event.unknown-type'."""

    @model_validator(mode="after")
    def _something(self) -> Expectations:
        if not self.model_fields_set:
            raise ValueError("say what to expect: actions, obligations, absent or diagnostics")
        return self


class ScenarioEvent(_Model):
    """One event of a scenario, as in an event file."""

    id: str = Field(min_length=1)
    case: str = Field(min_length=1)
    type: str = Field(min_length=1)
    at: str
    """RFC 3339 with offset, e.g. 2026-12-01T09:00:00+01:00."""
    data: dict[str, Any] = Field(default_factory=dict)

    _at = field_validator("at")(_aware)


class ScenarioSpec(_Model):
    """One scenario: events, the instant to evaluate at, and what must come out."""

    name: str = Field(min_length=1)
    """Shown in test reports; unique within the file."""
    description: str | None = None
    known_issue: str | None = None
    """A known bug in the engine that makes this scenario fail; it is then reported as a
    known issue, and as a failure once it passes (remove the marker when it is fixed)."""
    as_of: str
    """The instant to evaluate at, RFC 3339 with offset."""
    case: str | None = None
    """The case whose actions are checked; default: every case's, pooled."""
    events: list[ScenarioEvent] = Field(default_factory=list)
    expect: Expectations

    _as_of = field_validator("as_of")(_aware)


class ScenarioFileSpec(_Model):
    """A scenario file: the routine it tests and its scenarios."""

    routine: str = Field(min_length=1)
    """The routine file, relative to the scenario file."""
    description: str | None = None
    scenarios: list[ScenarioSpec] = Field(min_length=1)


# --------------------------------------------------------------------------- loaded scenarios


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
        spec = ScenarioFileSpec.model_validate(doc.data)
    except ValidationError as exc:
        found = sorted(located_errors(exc, doc, ScenarioFileSpec, prefix="scenario"), key=sort_key)
        raise ScenarioError(f"{_shown(file)}: {len(found)} error(s)", found) from None
    problems: list[Diagnostic] = []
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
    scenarios: list[Scenario] = []
    names: dict[str, int] = {}
    for i, sc in enumerate(spec.scenarios):
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
                    event_from_mapping(
                        raw.model_dump(), file=str(file), line=pos.line if pos else None
                    )
                )
            except EventError as exc:  # pragma: no cover - the model checks the same things
                problems.extend(
                    doc.diagnostic(where, d.code, d.message, hint=d.hint) for d in exc.diagnostics
                )
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
        scenarios.append(
            Scenario(
                spec=sc,
                index=i,
                file=file,
                routine_path=routine_path,
                document=doc,
                events=tuple(events),
            )
        )
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


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class ScenarioResult:
    """The outcome of one scenario.

    Attributes:
        scenario: The scenario that ran.
        routine: The routine file it ran against.
        failures: One text per expectation that was not met.
        errors: Problems with the scenario itself (e.g. it names a rule the routine lacks).
        evaluation: The evaluation, when it could be made.
    """

    scenario: Scenario
    routine: Path
    failures: tuple[str, ...] = ()
    errors: tuple[Diagnostic, ...] = ()
    evaluation: Evaluation | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.scenario.name

    @property
    def passed(self) -> bool:
        """True when every expectation was met."""
        return not self.failures and not self.errors

    @property
    def verdict(self) -> Verdict:
        """How the scenario counts, taking ``known_issue`` into account."""
        if self.errors:
            return "error"
        if self.scenario.spec.known_issue is not None:
            return "fixed_issue" if self.passed else "known_issue"
        return "passed" if self.passed else "failed"

    @property
    def ok(self) -> bool:
        """True unless the scenario counts as a failure."""
        return self.verdict in ("passed", "known_issue")

    @cached_property
    def message(self) -> str:
        """A readable report: where the scenario is, and every unmet expectation."""
        sc = self.scenario
        head = f"{sc.location()}: scenario {sc.name!r}"
        lines: list[str] = []
        if self.errors:
            lines.append(f"{head}: the scenario cannot be run")
        elif self.failures:
            count = len(self.failures)
            lines.append(f"{head}: {count} expectation{'s' if count != 1 else ''} not met")
        else:
            lines.append(f"{head}: passed")
        lines.append(f"  routine: {_shown(self.routine)}")
        lines.append(
            f"  as_of: {sc.spec.as_of}" + (f", case: {sc.spec.case}" if sc.spec.case else "")
        )
        if sc.spec.known_issue is not None:
            if self.passed:
                lines.append(
                    "  this scenario is marked known_issue but now passes: the issue seems "
                    "fixed, so remove 'known_issue' from the scenario"
                )
            lines.append(f"  known issue: {sc.spec.known_issue}")
        lines.extend(f"  - {d.format()}" for d in self.errors)
        for failure in self.failures:
            first, *rest = failure.splitlines()
            lines.append(f"  - {first}")
            lines.extend(f"    {line}" for line in rest)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "name": self.name,
            "file": _shown(self.scenario.file),
            "line": self.scenario.line,
            "routine": _shown(self.routine),
            "verdict": self.verdict,
            "failures": list(self.failures),
            "errors": [d.to_json() for d in self.errors],
            "message": None if self.passed and self.verdict == "passed" else self.message,
        }


def run_scenario(scenario: Scenario, routine: CompiledRoutine) -> ScenarioResult:
    """Evaluate a scenario's events against a compiled routine and check its expectations.

    Args:
        scenario: A scenario from :func:`load_scenario_file`.
        routine: The compiled routine (e.g. from :func:`samverkan_rules.load_routine`).

    Returns:
        The result; ``message`` says which expectations failed and what came out instead.

    Examples:
        >>> from samverkan_rules import load_routine
        >>> sf = load_scenario_file("routines/tests/orebro-dagverksamhet-hemvard/helgdagar.yaml")
        >>> routine = load_routine(sf.routine_path)
        >>> run_scenario(sf.scenarios[0], routine).verdict
        'passed'
    """
    errors = _reference_errors(scenario, routine)
    if errors:
        return ScenarioResult(scenario, scenario.routine_path, errors=tuple(errors))
    try:
        # Outside the calendar's years the evaluation cannot run: say so by name.
        check_supported(scenario.as_of, routine.tz, "as_of")
        result = evaluate(routine, scenario.events, scenario.as_of)
    except SamverkanError as exc:
        diag = scenario.document.diagnostic(
            scenario.path,
            "scenario.evaluation-failed",
            f"the evaluation stopped: {exc}",
            hint="check the scenario's as_of and the dates in its events",
        )
        return ScenarioResult(scenario, scenario.routine_path, errors=(diag,))
    return ScenarioResult(
        scenario,
        scenario.routine_path,
        failures=tuple(_check(scenario, result)),
        evaluation=result,
    )


def _reference_errors(scenario: Scenario, routine: CompiledRoutine) -> list[Diagnostic]:
    """Rule ids in the expectations that the routine does not have (typos never pass)."""
    known = [r.id for r in routine.rules] + list(routine.preconditions)
    doc = scenario.document
    out: list[Diagnostic] = []

    def check(path: tuple[PathPart, ...], rule: str) -> None:
        if rule not in known:
            out.append(
                doc.diagnostic(
                    (*scenario.path, *path),
                    "scenario.unknown-rule",
                    f"routine {routine.id} has no rule {rule!r}",
                    hint=did_you_mean(rule, known) or "use the id of one of the routine's rules",
                )
            )

    expect = scenario.spec.expect
    for key in ("actions", "obligations"):
        entries: list[ExpectedObligation] = getattr(expect, key) or []
        for i, entry in enumerate(entries):
            if entry.rule is not None:
                check(("expect", key, i, "rule"), entry.rule)
            if entry.obligation is not None:
                check(("expect", key, i, "obligation"), entry.obligation.split(":", 1)[0])
    for i, rule in enumerate(expect.absent):
        check(("expect", "absent", i), rule)
    return out


def _check(scenario: Scenario, result: Evaluation) -> Iterator[str]:
    spec = scenario.spec
    expect = spec.expect
    if spec.case is not None:
        cases = [c for c in result.cases if c.case == spec.case]
    else:
        cases = list(result.cases)
    actions = [a for c in cases for a in c.actions]
    ledger = [o for c in cases for o in c.obligations]
    actual_actions = [a.model_dump() for a in actions]
    actual_ledger = [o.model_dump() for o in ledger]
    where = scenario.location

    expected_codes = set(expect.diagnostics)
    for d in result.diagnostics:
        if d.code.startswith("event.") and d.level != "info" and d.code not in expected_codes:
            at = f"{_shown(Path(d.file))}:{d.line}" if d.file and d.line else "an event"
            hint = f" Hint: {d.hint}." if d.hint else ""
            yield (
                f"{at}: {d.message} ({d.code}).{hint} If the scenario tests this, list "
                f"'{d.code}' under expect.diagnostics"
            )

    if expect.actions is not None:
        yield from _check_actions(scenario, expect.actions, actual_actions)

    for i, entry in enumerate(expect.obligations):
        want = entry.expected()
        if any(_matches(want, o) for o in actual_ledger):
            continue
        yield (
            f"expect.obligations[{i}] ({where(('expect', 'obligations', i))}): no obligation "
            f"matches {_brief(want)}\n" + _closest_text(want, actual_ledger, "obligation")
        )

    actual_periods = [p.model_dump() for c in cases for p in c.periods]
    for i, period in enumerate(expect.periods):
        want = period.expected()
        if any(_matches(want, p) for p in actual_periods):
            continue
        shown = "\n".join(
            f"  {p['period']} {p['start']} .. {p['end']} length {p['length']}"
            for p in actual_periods
        )
        yield (
            f"expect.periods[{i}] ({where(('expect', 'periods', i))}): no period matches "
            f"{_brief(want)}\n" + (shown or "  (the case has no periods)")
        )

    for i, rule in enumerate(expect.absent):
        raised = [o for o in actual_ledger if o["rule"] == rule]
        if raised:
            shown = "\n".join(f"  {_describe(o)}" for o in raised)
            yield (
                f"expect.absent[{i}] ({where(('expect', 'absent', i))}): rule {rule} should "
                f"raise no obligation, but raised:\n{shown}"
            )

    present = sorted({d.code for d in result.diagnostics})
    for i, code in enumerate(expect.diagnostics):
        if code not in present:
            yield (
                f"expect.diagnostics[{i}] ({where(('expect', 'diagnostics', i))}): no "
                f"diagnostic {code!r}; the evaluation gave "
                + (", ".join(present) if present else "no diagnostics")
            )


def _check_actions(
    scenario: Scenario, expected: Sequence[ExpectedObligation], actual: Sequence[dict[str, Any]]
) -> Iterator[str]:
    wants = [e.expected() for e in expected]
    pairing = _pair(wants, actual)
    unmatched = [i for i in range(len(wants)) if i not in pairing]
    matched_actual = set(pairing.values())
    spare = [a for j, a in enumerate(actual) if j not in matched_actual]
    for i in unmatched:
        want = wants[i]
        # Compare with the actions no other entry claimed first; fall back to all of them.
        pool = spare or list(actual)
        yield (
            f"expect.actions[{i}] ({scenario.location(('expect', 'actions', i))}): no action "
            f"matches {_brief(want)}\n" + _closest_text(want, pool, "action")
        )
    if len(wants) != len(actual):
        head = (
            f"expect.actions ({scenario.location(('expect', 'actions'))}): expected "
            f"{len(wants)} action{'s' if len(wants) != 1 else ''}, got {len(actual)}"
        )
        if spare and not unmatched:
            head += "; not expected:"
            yield head + "".join(f"\n  {_describe(a)}" for a in spare)
        elif not actual:
            yield head + " (there are no actions)"
        else:
            yield head + "; the actions are:" + "".join(f"\n  {_describe(a)}" for a in actual)


def _pair(wants: Sequence[dict[str, Any]], actual: Sequence[dict[str, Any]]) -> dict[int, int]:
    """A maximum matching of expected entries to distinct actual actions (Kuhn's algorithm)."""
    candidates = [[j for j, a in enumerate(actual) if _matches(w, a)] for w in wants]
    owner: dict[int, int] = {}

    def assign(i: int, seen: set[int]) -> bool:
        for j in candidates[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or assign(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(len(wants)):
        assign(i, set())
    return {i: j for j, i in owner.items()}


def _matches(expected: Any, actual: Any) -> bool:
    """Partial equality: mappings compare only the expected keys, recursively."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and _matches(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(_matches(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return bool(expected == actual)


def _differences(expected: Any, actual: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """The (path, expected, actual) triples that make a partial match fail."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[tuple[str, Any, Any]] = []
        for key, value in expected.items():
            path = f"{prefix}.{key}" if prefix else key
            if key not in actual:
                out.append((path, value, "<missing>"))
            elif not _matches(value, actual[key]):
                out.extend(_differences(value, actual[key], path))
        return out
    return [(prefix, expected, actual)]


def _closest(want: Mapping[str, Any], pool: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The actual entries that agree with most of the expected keys (rule first)."""

    def score(o: dict[str, Any]) -> tuple[int, int, int]:
        same_rule = int("rule" in want and o.get("rule") == want["rule"]) + int(
            "obligation" in want and o.get("obligation") == want["obligation"]
        )
        agreeing = sum(1 for k, v in want.items() if k in o and _matches(v, o[k]))
        return (same_rule, agreeing, -len(_differences(want, o)))

    if not pool:
        return []
    ranked = sorted(pool, key=score, reverse=True)
    best = score(ranked[0])
    return [o for o in ranked[:3] if score(o) == best][:2]


def _closest_text(want: Mapping[str, Any], pool: Sequence[dict[str, Any]], what: str) -> str:
    close = _closest(want, pool)
    if not close:
        return f"  there is no {what} at all"
    lines = []
    for o in close:
        lines.append(f"  closest {what}: {_describe(o)}")
        for path, exp, got in _differences(want, o):
            line = f"    {path}: expected {_value(exp)}, got {_value(got)}"
            same = _same_instant(exp, got)
            if same:
                line += f" (the same instant: write it as {got})"
            lines.append(line)
    return "\n".join(lines)


def _same_instant(a: Any, b: Any) -> bool:
    if not (isinstance(a, str) and isinstance(b, str)) or a == b:
        return False
    try:
        return parse_rfc3339(a).astimezone(UTC) == parse_rfc3339(b).astimezone(UTC)
    except (CalendarError, TypeError):
        return False


def _describe(o: Mapping[str, Any]) -> str:
    """One line naming an obligation, its status and its deadline."""
    text = f"{o.get('obligation')} (rule {o.get('rule')}, status {o.get('status')}"
    if o.get("deadline") is not None:
        text += f", deadline {o['deadline']}"
    if o.get("late_working_days") is not None:
        text += f", late {o['late_working_days']} working day(s)"
    if o.get("blocked_by"):
        text += f", blocked by {', '.join(o['blocked_by'])}"
    return text + ")"


def _brief(want: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in want.items()) + "}"


def _value(v: Any) -> str:
    if isinstance(v, dict):
        return _brief(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


# --------------------------------------------------------------------------- coverage


def referenced_rules(scenario_files: Iterable[ScenarioFile]) -> set[str]:
    """Rule ids named in any expectation (``rule``, an ``obligation`` id's prefix, ``absent``)."""
    out: set[str] = set()
    for sf in scenario_files:
        for sc in sf.scenarios:
            expect = sc.spec.expect
            for entry in [*(expect.actions or []), *expect.obligations]:
                if entry.rule is not None:
                    out.add(entry.rule)
                if entry.obligation is not None:
                    out.add(entry.obligation.split(":", 1)[0])
                if entry.escalates is not None:
                    out.add(entry.escalates.split(":", 1)[0])
            out.update(expect.absent)
    return out


def uncovered_rules(routine: CompiledRoutine, scenario_files: Iterable[ScenarioFile]) -> list[str]:
    """The routine's rules that no expectation of these scenario files names, in rule order.

    Scenario files that test another routine file are ignored when the routine's file is
    known.

    Examples:
        >>> from samverkan_rules import load_routine
        >>> routine = load_routine("routines/orebro-dagverksamhet-hemvard.yaml")
        >>> sf = load_scenario_file("routines/tests/orebro-dagverksamhet-hemvard/helgdagar.yaml")
        >>> "start-message" in uncovered_rules(routine, [sf])
        False
        >>> "quick-contact-homecoming" in uncovered_rules(routine, [])
        True
    """
    files = list(scenario_files)
    if routine.file is not None:
        mine = Path(routine.file).resolve()
        files = [f for f in files if f.routine_path.resolve() == mine]
    named = referenced_rules(files)
    return [r.id for r in routine.rules if r.id not in named]


# --------------------------------------------------------------------------- directories


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


def _shown(path: str | os.PathLike[str]) -> str:
    """A path relative to the working directory when it lies inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)


# --------------------------------------------------------------------------- pytest plugin


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
        terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
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
