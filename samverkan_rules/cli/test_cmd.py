"""``samverkan test ROUTINE-OR-DIR``: run the YAML scenario tests next to the routines.

Runs every scenario of the routine(s), prints pass or fail per scenario with each failure's
message, then each routine's rule coverage and the rules that no scenario names (a
warning, not a failure). The text output ends with ``N passed, N failed``.

Exit codes: 0 when everything passed, 1 when a scenario failed or a routine or scenario
file is invalid, 2 when the path does not exist or holds no routine and no scenario.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from samverkan_rules.cli import COMMANDS
from samverkan_rules.scenarios.runner import run_directory

if TYPE_CHECKING:
    # The runner imports the evaluator and pytest's plugin hooks: loaded when a test runs.
    from samverkan_rules.scenarios.check import ScenarioResult
    from samverkan_rules.scenarios.runner import Report, RoutineReport

    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

_LABELS = {
    "passed": "PASS",
    "failed": "FAIL",
    "error": "ERROR",
    "known_issue": "KNOWN",
    "fixed_issue": "FIXED",
}


def add_parser(subparsers: SubParsers) -> None:
    """Register the ``test`` command."""
    parser = subparsers.add_parser(
        "test",
        help=COMMANDS["test"],
        description=(
            "Run the scenario tests in routines/tests/<routine-id>/*.yaml. Give a routine "
            "file, a directory of routines (e.g. routines/), or a scenario file or directory."
        ),
    )
    parser.add_argument(
        "path",
        metavar="ROUTINE-OR-DIR",
        help="a routine file, a directory of routines, or scenario files",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (default), json for programs",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the scenarios under ``args.path`` and print the report.

    Returns:
        0 when every scenario passed, 1 for any failure or invalid routine or scenario
        file, 2 for a path that does not exist or holds nothing to test.
    """
    path = Path(args.path)
    if not path.exists():
        print(f"samverkan test: error: no such file or directory: {path}", file=sys.stderr)
        return EXIT_USAGE

    report = run_directory(path)
    if not report.routines and not report.invalid_files:
        print(
            f"samverkan test: error: no routine or scenario file found in {path}. Hint: give "
            "a routine file, or a directory with routines and a tests/ directory",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.format == "json":
        json.dump(report.to_json(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        write_text(report, sys.stdout)
    return EXIT_OK if report.ok else EXIT_FINDINGS


def format_text(report: Report) -> str:
    """The text report: scenarios, failures, coverage, and the ``N passed, N failed`` line."""
    lines: list[str] = []
    for rr in report.routines:
        lines.extend(_routine_lines(rr))
        lines.append("")
    if report.invalid_files:
        lines.append("Invalid scenario files:")
        for f in report.invalid_files:
            lines.extend(f"  {d.format()}" for d in f.diagnostics)
        lines.append("")
    if report.known_issues:
        lines.append(
            f"{report.known_issues} known issue(s): scenarios marked known_issue that still "
            "fail (not counted)"
        )
    lines.append(f"{report.passed} passed, {report.failed} failed")
    return "\n".join(lines)


def write_text(report: Report, out: TextIO) -> None:
    """Write :func:`format_text` to ``out``."""
    out.write(format_text(report) + "\n")


def _routine_lines(rr: RoutineReport) -> list[str]:
    routine = rr.routine
    title = f"{rr.path}"
    if routine is not None:
        title += f" ({routine.id}, version {routine.version})"
    lines = [title]
    if routine is None:
        lines.append("  FAIL  the routine is invalid; its scenarios were not run")
        lines.extend(f"    {d.format()}" for d in rr.check.diagnostics if d.is_error)
        return lines
    if not rr.results:
        lines.append("  no scenarios")
    for result in rr.results:
        lines.extend(_result_lines(result))
    rules = rr.rules
    uncovered = rr.uncovered
    lines.append(f"  Rule coverage: {len(rules) - len(uncovered)}/{len(rules)}")
    if uncovered:
        lines.append(
            f"  warning: {len(uncovered)} rule(s) without a scenario: " + ", ".join(uncovered)
        )
    return lines


def _result_lines(result: ScenarioResult) -> list[str]:
    verdict = result.verdict
    sc = result.scenario
    head = f"  {_LABELS[verdict]:<5} {sc.file.name}:{sc.line}  {sc.name}"
    if verdict == "passed":
        return [head]
    if verdict == "known_issue":
        return [f"{head}  (known issue: {sc.spec.known_issue})"]
    return [head, *(f"        {line}" for line in result.message.splitlines())]
