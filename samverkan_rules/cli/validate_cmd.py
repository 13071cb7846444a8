"""``samverkan validate ROUTINE...``: check routine files, report every problem of every file.

Each problem is printed as ``file:line:col: path: message. Hint: ...`` followed by the
source line and a caret, then one summary line. Findings are this command's output, so they
go to stdout (like a linter's); usage problems go to stderr. A path into a rule names the
rule by its id as well as its place (``rule "start-message" (rules[0].deadline)``). When the
YAML or the schema stops a routine before its meaning is checked, a closing line says that
further checks wait until those errors are fixed.

Messages and hints are in Swedish, or in English with ``--lang en`` (or an English
``LC_ALL``/``LC_MESSAGES``/``LANG``); each finding's ``code`` is the same in every language.
JSON output follows ``--lang`` only (Swedish without it), as the other commands' JSON does.

Every ``source.quote`` and interpretation ``text`` is looked up in the source document the
routine names in ``source.file`` (a path relative to the routine; ``--sources DIR`` adds
directories to look in, ``--source DOCUMENT`` names the document outright): a quote that is
not the document's words is an error (see :mod:`samverkan_rules.language.sources`). Each
routine that loads is then linted (:mod:`samverkan_rules.language.lint`): unused
declarations, patterns that can never match and literals that look misspelt are warnings.
``--interpretations`` lists each routine's interpretations with their reasons.

A ``source.file`` that is not found is a warning naming the path looked for (with the files
beside it that are named nearly like it): every quote of that routine goes unchecked.
``--strict`` makes it an error, so that a misspelt file name cannot turn the quote check off
in CI while the run stays green.

A rule's ``replaces:`` (the rule it succeeds in an earlier version) is checked across the
routines named: an earlier version of the same routine id among them must have that rule
(an error with a did-you-mean otherwise). With no earlier version among them it cannot be
checked: an error with ``--strict``, else not reported (one version validated alone).

Exit codes: 0 when no routine has errors (warnings allowed), 1 when any has, 2 when a named
path does not exist or names no routine file.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

from samverkan_rules.cli import COMMANDS, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from samverkan_rules.cli._common import (
    CommandError,
    Progress,
    add_format_option,
    add_lang_option,
    data_translator_from_args,
    date_argument,
    diagnostics_json,
    dump_json,
    guarded,
    print_error,
    translator_from_args,
)
from samverkan_rules.diagnostics import N_, Diagnostic, sort_key
from samverkan_rules.errors import YamlError
from samverkan_rules.i18n import Translator
from samverkan_rules.language.lint import interpretations, lint_routine
from samverkan_rules.language.replaces import check_replaces
from samverkan_rules.language.sources import (
    SourceText,
    check_quotes,
    locate_source,
    read_source,
    similar_sources,
)
from samverkan_rules.language.yaml import load_yaml_file
from samverkan_rules.routine.load import RoutineCheck, check_routine_file, routine_files

NAME = "validate"


def add_parser(subparsers: Any) -> None:
    """Register ``validate`` with the command line's subparsers."""
    parser = subparsers.add_parser(
        NAME,
        help=COMMANDS[NAME],
        description=(
            "Check routine files: YAML syntax, the schema and the meaning (every role, "
            "channel, event type and field a rule names must be declared, and every literal "
            "must fit its field), every quote against the source document, and lint "
            "warnings (unused declarations, patterns that can never match). Directories are "
            "searched for *.yaml and *.yml files (not their subdirectories). Exit 0 when no "
            "routine has errors, 1 when any has, 2 when a path does not exist. Messages are "
            "in Swedish, or in English with --lang en."
        ),
    )
    parser.add_argument(
        "routines", nargs="+", metavar="ROUTINE", help="routine files or directories of them"
    )
    add_format_option(parser)
    add_lang_option(parser)
    parser.add_argument(
        "--today",
        type=date_argument("--today"),
        default=None,
        metavar="DATE",
        help="the date a review_by is compared with (YYYY-MM-DD); default today",
    )
    parser.add_argument(
        "--source",
        metavar="DOCUMENT",
        default=None,
        help="check every quote against this source document (UTF-8 text) instead of the "
        "one the routine names in source.file",
    )
    parser.add_argument(
        "--sources",
        metavar="DIR",
        action="append",
        default=[],
        help="a directory to look for each routine's source.file in, besides the routine's "
        "own directory (may be repeated)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="a routine whose quotes cannot be checked (its source.file is not found) is an "
        "error, not a warning",
    )
    parser.add_argument(
        "--interpretations",
        action="store_true",
        help="list each routine's interpretations (where it decides what its document leaves "
        "open), with their reasons",
    )
    parser.set_defaults(run=run)


@dataclass(frozen=True)
class _Result:
    path: Path
    check: RoutineCheck
    extra: tuple[Diagnostic, ...] = ()
    """Findings of the checks made after loading (quotes against the source)."""

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return self.check.diagnostics + self.extra

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> int:
        return sum(1 for d in self.diagnostics if d.level == "warning")

    @property
    def valid(self) -> bool:
        return self.check.ok and not any(d.is_error for d in self.extra)

    @property
    def stopped_early(self) -> bool:
        """True when the YAML or the schema stopped the routine before its meaning was checked."""
        return self.errors > 0 and (
            self.check.model is None
            or any(d.code == "routine.unknown-vocabulary" for d in self.diagnostics)
        )

    def data(self) -> dict[str, Any] | None:
        """The routine's YAML as data, read from the file even when it does not compile."""
        if self.check.document is not None and isinstance(self.check.document.data, dict):
            return self.check.document.data
        try:
            data = load_yaml_file(self.path).data
        except YamlError:
            return None
        return data if isinstance(data, dict) else None

    def rule_ids(self) -> list[str | None]:
        """Each rule's id, by its place under ``rules`` (None where it has none)."""
        rules = (self.data() or {}).get("rules")
        if not isinstance(rules, list):
            return []
        return [
            r.get("id") if isinstance(r, dict) and isinstance(r.get("id"), str) else None
            for r in rules
        ]

    def identity(self) -> tuple[str | None, str | None]:
        """The routine's id and version, read from the file even when it does not compile."""
        if self.check.routine is not None:
            return self.check.routine.id, self.check.routine.version
        data = self.data()
        if data is None:
            return None, None
        rid, version = data.get("id"), data.get("version")
        return (
            rid if isinstance(rid, str) else None,
            str(version) if isinstance(version, (str, int, float)) else None,
        )

    def to_json(self, t: Translator) -> dict[str, Any]:
        rid, version = self.identity()
        return {
            "file": str(self.path),
            "id": rid,
            "version": version,
            "valid": self.valid,
            "diagnostics": diagnostics_json(self.diagnostics, t),
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


def _summary(results: list[_Result], t: Translator) -> str:
    valid = sum(1 for r in results if r.valid)
    warnings = sum(r.warnings for r in results)
    return t.gettext(
        "{checked} routine(s) checked: {valid} valid, {invalid} with errors, {warnings} warning(s)"
    ).format(checked=len(results), valid=valid, invalid=len(results) - valid, warnings=warnings)


_RULE_PATH: Final = re.compile(r"^rules\[(\d+)\]")


def rule_named(path: str | None, rule_ids: Sequence[str | None], t: Translator) -> str | None:
    """A path into a rule with the rule named by its id: ``rule "x" (rules[0].deadline)``.

    Examples:
        >>> from samverkan_rules.i18n import translator
        >>> rule_named("rules[0].deadline", ["start-message"], translator("en"))
        'rule "start-message" (rules[0].deadline)'
        >>> rule_named("rules[0]", ["start-message"], translator("sv"))
        'regel "start-message" (rules[0])'
        >>> rule_named("roles.chef", ["start-message"], translator("en"))
        'roles.chef'
    """
    found = _RULE_PATH.match(path or "")
    if path is None or found is None:
        return path
    index = int(found.group(1))
    rid = rule_ids[index] if index < len(rule_ids) else None
    if rid is None:
        return path
    return N_('rule "{id}" ({path})', id=rid, path=path).render(t)


def _print_result(result: _Result, t: Translator) -> None:
    """One routine's findings in the reader's language, the rules named, and what is left."""
    ids = result.rule_ids() if any(d.path for d in result.diagnostics) else []
    for d in sorted(result.diagnostics, key=sort_key):
        sys.stdout.write(d.format(caret=True, t=t, path=rule_named(d.path, ids, t)) + "\n")
    if result.stopped_early:
        message = N_(
            "{file}: further checks (names declared, quotes against the source, lint) wait "
            "until these errors are fixed",
            file=str(result.path),
        )
        print(message.render(t))
    if result.valid:
        rid, version = result.identity()
        ok = N_(
            "{file}: ok ({id} version {version})", file=str(result.path), id=rid, version=version
        )
        print(ok.render(t))


class _Sources:
    """Finds and reads (once each) the source documents the routines quote."""

    def __init__(self, explicit: str | None, search: list[str], strict: bool = False) -> None:
        self.search = [Path(d) for d in search]
        self.strict = strict
        self.read: dict[Path, SourceText | str] = {}
        self.explicit: SourceText | None = None
        if explicit is not None:
            found = self._read(Path(explicit))
            if isinstance(found, str):
                raise CommandError(f"--source {explicit}: {found}")
            self.explicit = found

    def _read(self, path: Path) -> SourceText | str:
        key = path.resolve()
        if key not in self.read:
            try:
                self.read[key] = read_source(path)
            except OSError as exc:
                self.read[key] = f"cannot read it ({exc.strerror or exc}); check the path"
            except UnicodeDecodeError:
                self.read[key] = "it is not UTF-8 text; save the document's text as UTF-8"
        return self.read[key]

    def findings(self, path: Path, check: RoutineCheck) -> list[Diagnostic]:
        """Quote errors for one routine, or a note saying why its quotes were not checked."""
        model, doc = check.model, check.document
        if model is None or doc is None:
            return []
        if self.explicit is not None:
            return check_quotes(model, doc, self.explicit)
        located = locate_source(path, model.source.file, self.search)
        if located is None:
            return [self._not_found(path, check)]
        text = self._read(located)
        if isinstance(text, str):
            return [
                doc.diagnostic(
                    ("source", "file"),
                    "routine.source-unreadable",
                    N_("the source document {path}: {problem}", path=str(located), problem=text),
                )
            ]
        return check_quotes(model, doc, text)

    def _not_found(self, path: Path, check: RoutineCheck) -> Diagnostic:
        """The source document is missing: the path looked for, and files named like it."""
        assert check.model is not None and check.document is not None
        declared = check.model.source.file
        looked = str(path.parent / declared)
        message = (
            N_(
                "the source document {name} is not found at {path} nor in {dirs}; the quotes "
                "were not checked",
                name=repr(declared),
                path=looked,
                dirs=", ".join(str(d) for d in self.search),
            )
            if self.search
            else N_(
                "the source document {name} is not found at {path}; the quotes were not checked",
                name=repr(declared),
                path=looked,
            )
        )
        similar = similar_sources(path, declared)
        if len(similar) == 1:
            hint = N_("did you mean {name}?", name=repr(similar[0]))
        elif similar:
            hint = N_("did you mean one of {names}?", names=", ".join(repr(s) for s in similar))
        else:
            hint = N_("give its directory with --sources DIR, or the file with --source")
        return check.document.diagnostic(
            ("source", "file"),
            "routine.source-not-found",
            message,
            hint=hint,
            level="error" if self.strict else "warning",
        )


def _print_interpretations(result: _Result, t: Translator) -> None:
    """The routine's interpretations, one block each: where, the open words and the reason."""
    model, doc = result.check.model, result.check.document
    assert model is not None
    found = interpretations(model)
    print(t.gettext("{file}: {n} interpretation(s)").format(file=result.path, n=len(found)))
    for entry in found:
        pos = doc.position(entry.path) if doc is not None else None
        where = f"{result.path}:{pos.line}" if pos is not None else str(result.path)
        words = f" «{entry.text}»" if entry.text else ""
        print(f"  {where}: {entry.owner}{words}")
        print(f"      {' '.join(entry.reason.split())}")


def _with_replaces(results: list[_Result], *, strict: bool) -> list[_Result]:
    """The results with the findings about ``replaces:``, checked across the whole set."""
    loaded = [
        (i, r.check.model, r.check.document)
        for i, r in enumerate(results)
        if r.check.model is not None and r.check.document is not None
    ]
    findings = check_replaces([(m, d) for _, m, d in loaded], strict=strict)
    out = list(results)
    for (i, _, _), found in zip(loaded, findings, strict=True):
        if found:
            out[i] = _Result(out[i].path, out[i].check, out[i].extra + tuple(found))
    return out


@guarded(NAME)
def run(args: argparse.Namespace) -> int:
    """Check every routine named; print every problem, then a summary."""
    today: date = args.today or date.today()
    t = translator_from_args(args)
    files, problems = _collect(list(args.routines))
    sources = _Sources(args.source, list(args.sources), strict=args.strict)
    results: list[_Result] = []
    with Progress(len(files), "checking") as progress:
        for path in files:
            check = check_routine_file(path, today=today)
            extra = sources.findings(path, check)
            if check.routine is not None and check.document is not None:
                extra += lint_routine(
                    check.routine.routine, check.document, check.routine.event_types
                )
            results.append(_Result(path, check, tuple(extra)))
            progress.advance(path.name)
    results = _with_replaces(results, strict=args.strict)

    if args.format == "json":
        data_t = data_translator_from_args(args)
        routines = [r.to_json(data_t) for r in results]
        if args.interpretations:
            for data, result in zip(routines, results, strict=True):
                model = result.check.model
                found = interpretations(model) if model is not None else []
                data["interpretations"] = [entry.to_json() for entry in found]
        dump_json(
            {
                "routines": routines,
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
            _print_result(result, t)
            if args.interpretations and result.check.model is not None:
                _print_interpretations(result, t)
        print(_summary(results, t))

    for message in problems:
        print_error(NAME, message)
    if problems:
        return EXIT_USAGE
    if any(not r.valid for r in results):
        return EXIT_FINDINGS
    return EXIT_OK
