"""``samverkan explain``: how a deadline or status was reached, step by step.

The routine and the events are evaluated exactly as ``samverkan due`` does; then each
obligation asked for (by its id, e.g. ``start-message:e2``, a remedy such as
``consent:c3:dagverksamhet`` or an escalation ``...:escalation-1``) is shown with its rule,
routine version, case and status, the one-line explanation, the numbered steps of its trace
(trigger, calendar steps of the deadline, opening, answers, status), the source quote and
the local interpretation when there is one. The text is Swedish, or English with ``--lang
en`` (or an English ``LANG``); what to do, by whom and by when are shown as ``due`` shows them.

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

from samverkan_rules.cli import COMMANDS, EXIT_FINDINGS, EXIT_OK
from samverkan_rules.cli._common import (
    CommandError,
    add_format_option,
    add_lang_option,
    data_translator_from_args,
    dump_json,
    guarded,
    print_error,
    read_event_file,
    translator_from_args,
)
from samverkan_rules.cli.due_cmd import (
    add_evaluation_arguments,
    evaluate_from_args,
    load_routines,
    report_event_problems,
    report_problems,
    select_routine,
)
from samverkan_rules.diagnostics import did_you_mean
from samverkan_rules.engine.result import find_obligations
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
    add_evaluation_arguments(parser)
    parser.add_argument(
        "obligations",
        nargs="*",
        metavar="OBLIGATION",
        help="an obligation id as 'samverkan due --format json' shows it, e.g. start-message:e2",
    )
    parser.add_argument(
        "--case",
        metavar="CASE",
        help="with --rule: explain what the rule did for this case",
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
    batch = read_event_file(args.events)
    t = translator_from_args(args) if args.format == "text" else data_translator_from_args(args)
    try:
        answer = explain_rule(
            routines, batch.events, args.as_of, case=args.case, rule=args.rule, t=t
        )
    except EvaluationError as exc:
        raise CommandError(str(exc)) from None
    if args.format == "json":
        dump_json(answer.to_json())
    else:
        sys.stdout.write("\n".join(answer.lines(t)) + "\n")
    sys.stdout.flush()
    rejected = report_problems(list(batch.diagnostics), args, NAME)
    return EXIT_FINDINGS if rejected else EXIT_OK


@guarded(NAME)
def run(args: argparse.Namespace) -> int:
    """Evaluate the event file and explain the obligations asked for."""
    if args.case or args.rule:
        return _explain_rule(args)
    if not args.obligations:
        raise CommandError(
            "name an obligation id (samverkan due --format json lists them), or --case and "
            "--rule to ask why a rule raised nothing for a case"
        )
    routines, result = evaluate_from_args(args)
    t = translator_from_args(args)
    result = result.in_language(t if args.format == "text" else data_translator_from_args(args))
    by_key = {(r.id, r.version): r for r in routines}

    found, unknown = find_obligations(result, list(args.obligations))
    as_of = datetime.fromisoformat(result.as_of)
    if args.format == "json":
        dump_json(
            {
                "as_of": result.as_of,
                "obligations": [o.to_json() for o in found],
                "unknown": unknown,
            }
        )
    else:
        sys.stdout.write(
            "\n".join(
                render_obligation(o, t, by_key.get((o.routine.id, o.routine.version)), as_of=as_of)
                for o in found
            )
        )
    sys.stdout.flush()

    rejected = report_event_problems(result, args, NAME)
    known = result.obligation_ids()
    for name in unknown:
        print_error(NAME, _unknown_message(name, known, result.as_of))
    return EXIT_FINDINGS if unknown or rejected else EXIT_OK
