"""``samverkan explain``: how a deadline or status was reached, step by step.

The routine and the events are evaluated exactly as ``samverkan due`` does; then each
obligation asked for (by its id, e.g. ``start-message:e2``, a remedy such as
``consent:c3:dagverksamhet`` or an escalation ``...:escalation-1``) is shown with its rule,
routine version, case and status, the one-line explanation, the numbered steps of its trace
(trigger, calendar steps of the deadline, opening, answers, status), the source quote and
the local interpretation when there is one. The text is Swedish, or English with ``--lang
en`` (or an English ``LANG``); what to do, by whom and by when are shown as ``due`` shows them.

``--events`` repeated, a directory, ``.gz`` or Parquet read a history as ``samverkan audit``
does (see :mod:`samverkan_rules.cli._history`): with the audit's key, cases are named by
their pseudonyms (``--case p-...``) and the real ids are never shown. ``--case`` alone
explains all of a case's obligations.

``--format json`` writes ``{"as_of": ..., "obligations": [...], "unknown": [...]}`` with
each obligation in the evaluation contract's form. Exit 0 when every id was found, 1 when
any was unknown (each gets a did-you-mean hint; the others are still explained) or an event
line was rejected, 2 for bad usage or unreadable input.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from samverkan_rules import engine
from samverkan_rules.cli import COMMANDS, EXIT_FINDINGS, EXIT_OK
from samverkan_rules.cli._common import (
    STDIN,
    CommandError,
    add_format_option,
    add_lang_option,
    check_as_of,
    data_translator_from_args,
    dump_json,
    guarded,
    print_error,
    settle_memory,
    translator_from_args,
)
from samverkan_rules.cli._history import (
    add_history_arguments,
    is_history,
    match_masked,
    private,
    read_events,
    shown_json,
    shown_text,
)
from samverkan_rules.cli.due_cmd import (
    add_evaluation_arguments,
    load_routines,
    report_event_problems,
    report_problems,
    select_routine,
)
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.diagnostics import did_you_mean
from samverkan_rules.engine.result import Evaluation, find_obligations
from samverkan_rules.engine.why_not import explain_rule
from samverkan_rules.errors import EvaluationError
from samverkan_rules.text.due import render_obligation

NAME = "explain"


def add_parser(subparsers: Any) -> None:
    """Register ``explain`` with the command line's subparsers."""
    parser = subparsers.add_parser(
        NAME,
        help=COMMANDS[NAME],
        description=(
            "Evaluate a case log against a routine at one instant, as 'samverkan due' does, "
            "and explain the obligations named: the triggering event, each calendar step of "
            "the deadline, the answers that fulfilled or cancelled it, and its status, with "
            "the source quote and any local interpretation."
        ),
    )
    add_evaluation_arguments(parser, several=True)
    add_history_arguments(parser)
    parser.add_argument(
        "obligations",
        nargs="*",
        metavar="OBLIGATION",
        help="an obligation id as 'samverkan due --format json' shows it, e.g. start-message:e2",
    )
    parser.add_argument(
        "--case",
        metavar="CASE",
        help=(
            "explain this case's obligations (those named, or all); with --rule: what the "
            "rule did for it. A history's case by its pseudonym (p-..., with the audit's key)"
        ),
    )
    parser.add_argument(
        "--rule",
        metavar="RULE",
        help=(
            "with --case: why the rule raised no obligation for the case (no trigger, a "
            "false condition with the values it saw, out of force, ...), or what each open "
            "obligation would need and every near miss in the log"
        ),
    )
    add_format_option(parser)
    add_lang_option(parser)
    parser.set_defaults(run=run)


def _unknown_message(name: str, known: list[str], as_of: str) -> str:
    message = f"no obligation {name!r} in the evaluation at {as_of}"
    if not known:
        return message + "; the events raise no obligations at all (check --events and --as-of)"
    hint = did_you_mean(name, known)
    if hint:
        return f"{message}; {hint}"
    return message + "; 'samverkan due --all' lists the obligations in the ledger"


def _explain_rule(args: argparse.Namespace) -> int:
    """``--case C --rule R``: what the rule did for the case, or why it did nothing."""
    if not args.case or not args.rule:
        raise CommandError("--case and --rule go together: name the case and the rule")
    if args.obligations:
        raise CommandError("give obligation ids or --case with --rule, not both")
    routines = select_routine(load_routines(args.routine), args.routine, args.routine_id)
    batch = read_events(args, routines, args.case if is_history(args) else None)
    t = translator_from_args(args) if args.format == "text" else data_translator_from_args(args)
    try:
        answer = explain_rule(
            routines, batch.events, args.as_of, case=args.case, rule=args.rule, t=t
        )
    except EvaluationError as exc:
        raise CommandError(str(exc)) from None
    hide = private(args)
    if args.format == "json":
        dump_json(shown_json(answer.to_json(), hide))
    else:
        sys.stdout.write(shown_text("\n".join(answer.lines(t)) + "\n", hide))
    sys.stdout.flush()
    rejected = report_problems(list(batch.diagnostics), _shown(args), NAME)
    return EXIT_FINDINGS if rejected else EXIT_OK


def _shown(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with the event inputs as one text, for the messages that name them."""
    return argparse.Namespace(**{**vars(args), "events": " ".join(args.events)})


def _evaluate(args: argparse.Namespace) -> tuple[list[CompiledRoutine], Evaluation]:
    """The routines and the evaluation of the events (a history's: of ``--case`` only)."""
    routines = select_routine(load_routines(args.routine), args.routine, args.routine_id)
    check_as_of(args.as_of, routines)
    settle_memory()
    batch = read_events(args, routines, args.case if is_history(args) else None)
    try:
        return routines, engine.evaluate(routines, batch, args.as_of)
    except EvaluationError as exc:
        raise CommandError(f"cannot evaluate: {exc}") from None


def _wanted(args: argparse.Namespace, result: Evaluation) -> list[str]:
    """The obligation ids asked for (a masked id as its one match), or all of ``--case``."""
    if args.obligations:
        return match_masked(list(args.obligations), result.obligation_ids())
    for case in result.with_output(ledger=True).cases:
        if case.case == args.case:
            return [o.obligation for o in case.obligations or ()]
    return []


@guarded(NAME)
def run(args: argparse.Namespace) -> int:
    """Evaluate the event file and explain the obligations asked for."""
    if len(args.events) > 1 and STDIN in args.events:
        raise CommandError("--events -: standard input alone, not with other inputs")
    if args.rule:
        return _explain_rule(args)
    if not args.obligations and not args.case:
        raise CommandError(
            "name an obligation id (samverkan due --format json lists them), --case for a "
            "case's obligations, or --case and --rule to ask why a rule raised nothing"
        )
    routines, result = _evaluate(args)
    t = translator_from_args(args)
    result = result.in_language(t if args.format == "text" else data_translator_from_args(args))
    by_key = {(r.id, r.version): r for r in routines}

    found, unknown = find_obligations(result, _wanted(args, result))
    if args.case:  # an id of another case is not this case's
        unknown += [o.obligation for o in found if o.case != args.case]
        found = [o for o in found if o.case == args.case]
    as_of = datetime.fromisoformat(result.as_of)
    hide = private(args)
    if args.format == "json":
        document = {
            "as_of": result.as_of,
            "obligations": [o.to_json() for o in found],
            "unknown": unknown,
        }
        dump_json(shown_json(document, hide))
    else:
        sys.stdout.write(
            shown_text(
                "\n".join(
                    render_obligation(
                        o, t, by_key.get((o.routine.id, o.routine.version)), as_of=as_of
                    )
                    for o in found
                ),
                hide,
            )
        )
    sys.stdout.flush()

    rejected = report_event_problems(result, _shown(args), NAME)
    known = result.obligation_ids()
    for name in unknown:
        print_error(NAME, shown_text(_unknown_message(name, known, result.as_of), hide))
    if args.case and not args.obligations and not found:
        print_error(NAME, f"no obligation of case {args.case!r} in the evaluation at {as_of}")
        return EXIT_FINDINGS
    return EXIT_FINDINGS if unknown or rejected else EXIT_OK
