"""Running one scenario and comparing what came out with what it expects, with the nearest
match shown when an expectation is not met; and rule coverage.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.diagnostics import Diagnostic, did_you_mean
from samverkan_rules.engine import evaluate
from samverkan_rules.engine.result import Evaluation
from samverkan_rules.errors import CalendarError, SamverkanError
from samverkan_rules.language.yaml_core import PathPart
from samverkan_rules.records import Obligation, to_builtins
from samverkan_rules.time.instants import check_supported, parse_rfc3339

if TYPE_CHECKING:
    pass
from samverkan_rules.scenarios.load import Scenario, ScenarioFile
from samverkan_rules.scenarios.spec import ExpectedObligation, Verdict, _shown


@dataclass(frozen=True)
class ScenarioResult:
    """The outcome of one scenario.

    Attributes:
        scenario: The scenario that ran.
        routine: The routine file it ran against.
        failures: One text per expectation that was not met.
        errors: Problems with the scenario itself (e.g. it names a rule the routine lacks).
    """

    scenario: Scenario
    routine: Path
    failures: tuple[str, ...] = ()
    errors: tuple[Diagnostic, ...] = ()

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
        >>> from samverkan_rules.scenarios.load import load_scenario_file
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
        result = evaluate(routine, scenario.events, scenario.as_of).with_output(ledger=True)
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


def _with_text(o: Obligation, result: Evaluation) -> dict[str, Any]:
    """An obligation as expectations read it: its fields and its rule's text (title, source,
    interpretation, content), which the evaluation writes once per rule."""
    return {**to_builtins(o), **to_builtins(result.rule_text(o))}


def _check(scenario: Scenario, result: Evaluation) -> Iterator[str]:
    spec = scenario.spec
    expect = spec.expect
    if spec.case is not None:
        cases = [c for c in result.cases if c.case == spec.case]
    else:
        cases = list(result.cases)
    actions = [a for c in cases for a in c.actions]
    ledger = [o for c in cases for o in c.obligations or ()]
    actual_actions = [_with_text(a, result) for a in actions]
    actual_ledger = [_with_text(o, result) for o in ledger]
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

    actual_periods = [to_builtins(p) for c in cases for p in c.periods]
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
    for i in range(len(wants)):
        _assign(i, set(), candidates, owner)
    return {i: j for j, i in owner.items()}


def _assign(i: int, seen: set[int], candidates: list[list[int]], owner: dict[int, int]) -> bool:
    """Kuhn's augmenting step for expected entry ``i`` (a plain function: a nested one
    calling itself would be a reference cycle)."""
    for j in candidates[i]:
        if j in seen:
            continue
        seen.add(j)
        if j not in owner or _assign(owner[j], seen, candidates, owner):
            owner[j] = i
            return True
    return False


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
        >>> from samverkan_rules.scenarios.load import load_scenario_file
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
