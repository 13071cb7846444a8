"""``samverkan validate ROUTINE...``: check routine files, report every problem of every file.

Each problem is printed as ``file:line:col: path: message. Hint: ...`` followed by the
source line and a caret, then one summary line. Findings are this command's output, so they
go to stdout (like a linter's); usage problems go to stderr.

Exit codes: 0 when no routine has errors (warnings allowed), 1 when any has, 2 when a named
path does not exist or names no routine file.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from samverkan_rules._yaml import load_yaml_file
from samverkan_rules.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from samverkan_rules.cli._common import (
    Progress,
    add_format_option,
    date_argument,
    diagnostics_json,
    dump_json,
    guarded,
    print_diagnostics,
    print_error,
)
from samverkan_rules.errors import YamlError
from samverkan_rules.loader import RoutineCheck, check_routine_file, routine_files

__all__ = ["add_parser", "run"]

NAME = "validate"


def add_parser(subparsers: Any) -> None:
    """Register ``validate`` with the command line's subparsers."""
    parser = subparsers.add_parser(
        NAME,
        help="check routine files and report every problem with file:line:col",
        description=(
            "Check routine files: YAML syntax, the schema and the meaning (every role, "
            "channel, event type and field a rule names must be declared). Directories are "
            "searched for *.yaml and *.yml files (not their subdirectories). Exit 0 when no "
            "routine has errors, 1 when any has, 2 when a path does not exist."
        ),
    )
    parser.add_argument(
        "routines", nargs="+", metavar="ROUTINE", help="routine files or directories of them"
    )
    add_format_option(parser)
    parser.add_argument(
        "--today",
        type=date_argument("--today"),
        default=None,
        metavar="DATE",
        help="the date a review_by is compared with (YYYY-MM-DD); default today",
    )
    parser.set_defaults(run=run)


@dataclass(frozen=True)
class _Result:
    path: Path
    check: RoutineCheck

    @property
    def errors(self) -> int:
        return sum(1 for d in self.check.diagnostics if d.is_error)

    @property
    def warnings(self) -> int:
        return sum(1 for d in self.check.diagnostics if d.level == "warning")

    @property
    def valid(self) -> bool:
        return self.check.ok

    def identity(self) -> tuple[str | None, str | None]:
        """The routine's id and version, read from the file even when it does not compile."""
        if self.check.routine is not None:
            return self.check.routine.id, self.check.routine.version
        try:
            data = load_yaml_file(self.path).data
        except YamlError:
            return None, None
        if not isinstance(data, dict):
            return None, None
        rid, version = data.get("id"), data.get("version")
        return (
            rid if isinstance(rid, str) else None,
            str(version) if isinstance(version, (str, int, float)) else None,
        )

    def to_json(self) -> dict[str, Any]:
        rid, version = self.identity()
        return {
            "file": str(self.path),
            "id": rid,
            "version": version,
            "valid": self.valid,
            "diagnostics": diagnostics_json(self.check.diagnostics),
        }


def _collect(names: list[str]) -> tuple[list[Path], list[str]]:
    """The routine files named, and a message for every name that yields none."""
    files: list[Path] = []
    problems: list[str] = []
    for name in names:
        path = Path(name)
        if not path.exists():
            problems.append(f"{name}: no such file or directory; check the path")
            continue
        try:
            found = list(routine_files([path]))
        except OSError as exc:
            problems.append(
                f"{name}: cannot read the directory ({exc.strerror or exc}); check its permissions"
            )
            continue
        if not found:
            problems.append(
                f"{name}: no routine files (*.yaml, *.yml) in this directory; name a routine "
                "file or a directory that holds some"
            )
        files.extend(f for f in found if f not in files)
    return files, problems


def _summary(results: list[_Result]) -> str:
    valid = sum(1 for r in results if r.valid)
    warnings = sum(r.warnings for r in results)
    return (
        f"{len(results)} routine(s) checked: {valid} valid, {len(results) - valid} with errors, "
        f"{warnings} warning(s)"
    )


@guarded(NAME)
def run(args: argparse.Namespace) -> int:
    """Check every routine named; print every problem, then a summary."""
    today: date = args.today or date.today()
    files, problems = _collect(list(args.routines))
    results: list[_Result] = []
    with Progress(len(files), "checking") as progress:
        for path in files:
            results.append(_Result(path, check_routine_file(path, today=today)))
            progress.advance(path.name)

    if args.format == "json":
        dump_json(
            {
                "routines": [r.to_json() for r in results],
                "summary": {
                    "checked": len(results),
                    "valid": sum(1 for r in results if r.valid),
                    "with_errors": sum(1 for r in results if not r.valid),
                    "warnings": sum(r.warnings for r in results),
                },
            }
        )
    else:
        for result in results:
            print_diagnostics(result.check.diagnostics, stream=sys.stdout)
            if result.valid:
                rid, version = result.identity()
                print(f"{result.path}: ok ({rid} version {version})")
        print(_summary(results))

    for message in problems:
        print_error(NAME, message)
    if problems:
        return EXIT_USAGE
    if any(not r.valid for r in results):
        return EXIT_FINDINGS
    return EXIT_OK
