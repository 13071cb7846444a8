"""``samverkan due``: what is due, for whom, by when, for the cases in an event file.

``--format json`` writes :meth:`samverkan_rules.Evaluation.to_json` exactly: the public
contract, byte-identical for the same inputs in any order. ``--format text`` (the default)
is for a person: per case, each action with its status and obligation id (to ask
``samverkan explain`` about it), what to do, who does it, to whom and how, and the deadline in
local time with its weekday; in Swedish, or in English with ``--lang en`` or an English
``LANG``.

Problems with single events (invalid JSON, a naive timestamp, an unknown event type, a
reused id) go to stderr with their line numbers; every good event is still evaluated and
the full result is printed, and the exit code is then 1. Exit 2 means the command could
not run: an unreadable event file, a bad ``--as-of`` or a routine with errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from samverkan_rules import engine
from samverkan_rules.cli import COMMANDS, EXIT_FINDINGS, EXIT_OK
from samverkan_rules.cli._common import (
    FORMATS,
    STDIN,
    CommandError,
    Progress,
    add_format_option,
    add_lang_option,
    as_of_argument,
    check_as_of,
    data_translator_from_args,
    guarded,
    print_diagnostics,
    read_event_file,
    settle_memory,
    translator_from_args,
    unreadable_events,
)
from samverkan_rules.cli._streams import stdout_writer
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.engine.evaluator import Evaluator
from samverkan_rules.engine.output import (
    OutputCache,
    case_dict,
    case_result,
    json_document,
    json_lines,
)
from samverkan_rules.engine.result import Evaluation
from samverkan_rules.errors import EvaluationError, EventError
from samverkan_rules.events.index import IndexedEvents, index_events
from samverkan_rules.events.limits import EventLimits
from samverkan_rules.records import diagnostic_fields, to_builtins
from samverkan_rules.routine.load import check_routine_file, routine_files
from samverkan_rules.text.due import evaluation_chunks

NAME = "due"


def add_evaluation_arguments(parser: argparse.ArgumentParser) -> None:
    """The inputs every evaluating command takes: --routine, --id, --events and --as-of."""
    parser.add_argument(
        "--routine",
        required=True,
        metavar="PATH",
        help=(
            "a routine file, or a directory of routine files (several versions: each "
            "obligation is judged by the version in force when its trigger happened)"
        ),
    )
    parser.add_argument(
        "--id",
        dest="routine_id",
        metavar="ROUTINE_ID",
        help=(
            "with a directory that holds several routines: the one to evaluate (all its "
            "versions); events are facts about cases, and each case follows one routine"
        ),
    )
    parser.add_argument(
        "--events",
        required=True,
        metavar="FILE",
        help="events as JSON Lines, or CSV (id,case,type,at,data) by a .csv suffix; - for stdin",
    )
    parser.add_argument(
        "--as-of",
        required=True,
        type=as_of_argument,
        metavar="T",
        help="the instant to evaluate at, with its offset, e.g. 2026-12-15T12:00:00+01:00",
    )


def evaluate_from_args(
    args: argparse.Namespace, cases: list[str] | None = None
) -> tuple[list[CompiledRoutine], Evaluation]:
    """Load the routine(s) and the events named on the command line and evaluate them.

    Raises:
        CommandError: for unreadable or invalid input (exit 2).
    """
    routines = select_routine(load_routines(args.routine), args.routine, args.routine_id)
    check_as_of(args.as_of, routines)
    settle_memory()
    batch = read_event_file(args.events)
    try:
        return routines, engine.evaluate(routines, batch, args.as_of, cases=cases)
    except EvaluationError as exc:
        raise CommandError(f"cannot evaluate: {exc}") from None


def report_event_problems(result: Evaluation, args: argparse.Namespace, name: str) -> int:
    """Print the evaluation's diagnostics on stderr; return how many events were rejected."""
    return report_problems(result.findings, args, name)


def report_problems(diagnostics: Sequence[Diagnostic], args: argparse.Namespace, name: str) -> int:
    """Print diagnostics on stderr in the reader's language (Swedish unless ``--lang en``);
    return how many events were rejected."""
    t = translator_from_args(args)
    print_diagnostics(diagnostics, caret=False, unlocated=f"samverkan {name}", t=t)
    rejected = sum(1 for d in diagnostics if d.is_error)
    if rejected:
        source = t.gettext("standard input") if args.events == STDIN else args.events
        problems = t.ngettext(
            "{n} problem with events in {source}; those events were left out and the result "
            "above covers the rest. Fix them and run again.",
            "{n} problems with events in {source}; those events were left out and the result "
            "above covers the rest. Fix them and run again.",
            rejected,
        ).format(n=rejected, source=source)
        print(f"samverkan {name}: {problems}", file=sys.stderr)
    return rejected


def add_parser(subparsers: Any) -> None:
    """Register ``due`` with the command line's subparsers."""
    parser = subparsers.add_parser(
        NAME,
        help=COMMANDS[NAME],
        description=(
            "Evaluate a case log against a routine at one instant and list what must be done: "
            "upcoming, due, overdue and blocked actions, with deadlines in local time. Event "
            "lines that cannot be used are reported with their line numbers on stderr; the "
            "rest are evaluated (exit 1 when any line was rejected)."
        ),
    )
    add_evaluation_arguments(parser)
    parser.add_argument(
        "--case",
        action="append",
        dest="cases",
        metavar="ID",
        help="only this case (repeat for several); default every case in the file",
    )
    add_format_option(
        parser,
        choices=(*FORMATS, "jsonl"),
        help=(
            "text for people; json for the evaluation contract (one document); jsonl for a "
            "first line with as_of and the routines (each rule's text once), one case a line "
            "as each is evaluated, then a last line with diagnostics, summary and queues; "
            "default text"
        ),
    )
    parser.add_argument(
        "--ledger",
        "--all",
        action="store_true",
        dest="show_all",
        help=(
            "also each case's whole ledger, fulfilled and cancelled obligations too (by "
            "default only the actions, what someone must still do)"
        ),
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="json and jsonl: each obligation's trace, the calendar steps of its deadline",
    )
    add_lang_option(parser)
    parser.set_defaults(run=run)


def load_routines(name: str) -> list[CompiledRoutine]:
    """Every routine named by ``name`` (a file or a directory), compiled.

    Raises:
        CommandError: when the path does not exist, holds no routine or a routine has errors
            (exit 2, with every located error).
    """
    path = Path(name)
    if not path.exists():
        raise CommandError(f"--routine {name}: no such file or directory; check the path")
    files = list(routine_files([path]))
    if not files:
        raise CommandError(
            f"--routine {name}: no routine files (*.yaml, *.yml) in this directory; name a "
            "routine file or a directory that holds some"
        )
    compiled: list[CompiledRoutine] = []
    errors: list[Diagnostic] = []
    broken: list[str] = []
    with Progress(len(files), "loading routines") as progress:
        for file in files:
            check = check_routine_file(file)
            progress.advance(file.name)
            if check.ok and check.routine is not None:
                compiled.append(check.routine)
            else:
                broken.append(str(file))
                errors.extend(d for d in check.diagnostics if d.is_error)
    if broken:
        raise CommandError(
            f"{', '.join(broken)}: the routine has errors and cannot be evaluated; fix them "
            f"(samverkan validate {name} lists them too)",
            diagnostics=errors,
        )
    return compiled


def select_routine(
    routines: list[CompiledRoutine], name: str, routine_id: str | None
) -> list[CompiledRoutine]:
    """The versions of one routine id among ``routines``.

    Different routines (different municipalities' documents) share the event vocabulary,
    so evaluating them all over one case log would raise every routine's obligations for
    every case. A directory of several routines therefore needs ``--id``.

    Raises:
        CommandError: when ``routine_id`` names none of them, or is needed and missing.
    """
    ids = sorted({r.id for r in routines})
    if routine_id is not None:
        chosen = [r for r in routines if r.id == routine_id]
        if not chosen:
            raise CommandError(
                f"--id {routine_id}: no such routine in {name}; it holds {', '.join(ids)}"
            )
        return chosen
    if len(ids) > 1:
        raise CommandError(
            f"--routine {name} holds {len(ids)} different routines ({', '.join(ids)}); "
            f"choose one with --id, e.g. --id {ids[0]}"
        )
    return routines


# --------------------------------------------------------------------------- text output


# --------------------------------------------------------------------------- the command


def write_bytes(chunks: Iterable[bytes]) -> None:
    """Write UTF-8 chunks to standard output through the checked writer: a full disk or a
    closed stream is an error (exit 2), never a silently short output."""
    with stdout_writer() as out:
        for chunk in chunks:
            out.write(chunk.decode("utf-8"))


def open_evaluation(
    args: argparse.Namespace, cases: list[str] | None = None
) -> tuple[list[CompiledRoutine], Evaluator, IndexedEvents]:
    """Load the routine(s), read and index the events named on the command line.

    Raises:
        CommandError: for unreadable or invalid input (exit 2).
    """
    routines = select_routine(load_routines(args.routine), args.routine, args.routine_id)
    check_as_of(args.as_of, routines)
    settle_memory()
    try:
        evaluator = Evaluator(routines, args.as_of, cases=cases)
        limits = EventLimits.from_environment()
    except (EvaluationError, EventError) as exc:
        raise CommandError(f"cannot evaluate: {exc}") from None
    try:
        log = index_events(args.events, evaluator, limits=limits)
    except EventError as exc:
        raise unreadable_events(exc) from None
    return routines, evaluator, log


@guarded(NAME)
def run(args: argparse.Namespace) -> int:
    """Evaluate the event file against the routine(s) and print the actions, case by case.

    The events are indexed by case in one pass and each case is evaluated and written
    before the next is read, so memory stays bounded by the largest case.
    """
    cases: list[str] | None = args.cases
    routines, evaluator, log = open_evaluation(args, cases)
    finished: list[Diagnostic] = []

    def tail() -> dict[str, Any]:
        queues, diagnostics = evaluator.finish()
        finished.extend(diagnostics)
        return {
            "diagnostics": [diagnostic_fields(d) for d in diagnostics],
            "summary": evaluator.summary,
            "queues": [to_builtins(q) for q in queues],
        }

    t = translator_from_args(args) if args.format == "text" else data_translator_from_args(args)
    cache = OutputCache(t, ledger=args.show_all, trace=args.trace)
    out = sys.stdout
    with log:
        ledgers = engine.evaluate_source(evaluator, log)
        if args.format == "text":
            results = (case_result(ledger, cache) for ledger in ledgers)

            def summary() -> Mapping[str, int]:
                tail()
                return evaluator.summary

            as_of = evaluator.header()["as_of"]
            for text in evaluation_chunks(
                as_of, results, summary, routines, t, show_all=args.show_all, cases=cases
            ):
                out.write(text)
        else:
            dicts = (case_dict(ledger, cache) for ledger in ledgers)
            if args.format == "json":
                chunks = json_document(evaluator.header(), "cases", dicts, tail)
            else:
                chunks = json_lines(evaluator.header(), dicts, tail)
            write_bytes(chunks)
    out.flush()
    return EXIT_FINDINGS if report_problems(finished, args, NAME) else EXIT_OK
