"""``samverkan due``: what is due, for whom, by when, for the cases in an event file.

``--format json`` writes :meth:`samverkan_rules.Evaluation.to_json` exactly: the public
contract, byte-identical for the same inputs in any order. ``--format text`` (the default)
is for a person: per case, each action with its status in Swedish, what to do, who does it,
to whom and how, and the deadline in local time with its weekday.

Problems with single events (invalid JSON, a naive timestamp, an unknown event type, a
reused id) go to stderr with their line numbers; every good event is still evaluated and
the full result is printed, and the exit code is then 1. Exit 2 means the command could
not run: an unreadable event file, a bad ``--as-of`` or a routine with errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from samverkan_rules import engine
from samverkan_rules.cli import EXIT_FINDINGS, EXIT_OK
from samverkan_rules.cli._common import (
    STDIN,
    CommandError,
    Progress,
    add_format_option,
    as_of_argument,
    check_as_of,
    diagnostic_from_json,
    guarded,
    print_diagnostics,
    read_event_file,
)
from samverkan_rules.compiler import CompiledRoutine
from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.errors import EvaluationError
from samverkan_rules.evaluation import Evaluation, Obligation
from samverkan_rules.loader import check_routine_file, routine_files

__all__ = ["STATUS_SV", "WEEKDAYS_SV", "add_parser", "render_text", "run"]

NAME = "due"

STATUS_SV: Mapping[str, str] = {
    "upcoming": "kommande",
    "due": "att göra",
    "overdue": "försenad",
    "blocked": "blockerad",
    "fulfilled": "uppfylld",
    "fulfilled_late": "uppfylld för sent",
    "cancelled": "avbruten",
}
"""Each status as a Swedish reader knows it."""

_STATUS_PLURAL_SV: Mapping[str, str] = {
    "upcoming": "kommande",
    "due": "att göra",
    "overdue": "försenade",
    "blocked": "blockerade",
    "fulfilled": "uppfyllda",
    "fulfilled_late": "uppfyllda för sent",
    "cancelled": "avbrutna",
}

WEEKDAYS_SV = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
"""Swedish weekday names, Monday first (as :meth:`datetime.weekday` counts)."""

_SUMMARY_ORDER = ("overdue", "due", "blocked", "upcoming", "fulfilled_late", "fulfilled")


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
    batch = read_event_file(args.events)
    try:
        return routines, engine.evaluate(routines, batch, args.as_of, cases=cases)
    except EvaluationError as exc:
        raise CommandError(f"cannot evaluate: {exc}") from None


def report_event_problems(result: Evaluation, args: argparse.Namespace, name: str) -> int:
    """Print the evaluation's diagnostics on stderr; return how many events were rejected."""
    diagnostics = [diagnostic_from_json(d.model_dump()) for d in result.diagnostics]
    print_diagnostics(diagnostics, caret=False, unlocated=f"samverkan {name}")
    rejected = sum(1 for d in diagnostics if d.is_error)
    if rejected:
        source = "standard input" if args.events == STDIN else args.events
        print(
            f"samverkan {name}: {rejected} problem(s) with events in {source}; those events "
            "were left out and the result above covers the rest. Fix them and run again.",
            file=sys.stderr,
        )
    return rejected


def add_parser(subparsers: Any) -> None:
    """Register ``due`` with the command line's subparsers."""
    parser = subparsers.add_parser(
        NAME,
        help="list the actions due for the cases in an event file",
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
    add_format_option(parser)
    parser.add_argument(
        "--all",
        action="store_true",
        dest="show_all",
        help="text format: also list the whole ledger, fulfilled and cancelled obligations too",
    )
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


def _local(text: str | None, routine: CompiledRoutine | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment.astimezone(routine.tz) if routine is not None else moment


def format_moment(moment: datetime | None) -> str:
    """A local time as a person reads it: ``tisdag 2026-12-22 23:59``.

    Examples:
        >>> from datetime import datetime
        >>> format_moment(datetime.fromisoformat("2026-12-22T23:59:59+01:00"))
        'tisdag 2026-12-22 23:59'
    """
    if moment is None:
        return "–"
    return f"{WEEKDAYS_SV[moment.weekday()]} {moment:%Y-%m-%d %H:%M}"


def _working_days(n: int) -> str:
    return f"{n} vardag" if n == 1 else f"{n} vardagar"


class _Labels:
    """Labels of roles, channels and preconditions, from the routine an obligation names."""

    def __init__(self, routines: Sequence[CompiledRoutine]) -> None:
        self._by_key = {(r.id, r.version): r for r in routines}

    def routine(self, o: Obligation) -> CompiledRoutine | None:
        return self._by_key.get((o.routine.id, o.routine.version))

    def role(self, o: Obligation, role: str) -> str:
        routine = self.routine(o)
        return routine.role_label(role) if routine else role

    def channel(self, o: Obligation) -> str | None:
        routine = self.routine(o)
        return routine.channel_label(o.channel) if routine else o.channel

    def precondition(self, o: Obligation, name: str) -> str:
        routine = self.routine(o)
        pre = routine.preconditions.get(name) if routine else None
        return pre.label if pre is not None else name


def _action_block(o: Obligation, labels: _Labels) -> list[str]:
    routine = labels.routine(o)
    lines = [f"  [{STATUS_SV.get(o.status, o.status)}] {o.title}"]

    def row(label: str, value: str) -> None:
        lines.append(f"      {label + ':':<12}{value}")

    row("Gör", o.explanation)
    row("Ansvarig", f"{o.responsible_label or labels.role(o, o.responsible)}")
    if o.recipients:
        row("Mottagare", ", ".join(labels.role(o, r) for r in o.recipients))
    channel = labels.channel(o)
    if channel:
        row("Kanal", channel)
    if o.status == "upcoming" and o.opens_at:
        row("Från", format_moment(_local(o.opens_at, routine)))
    if o.deadline is not None:
        row("Senast", format_moment(_local(o.deadline, routine)))
    elif o.opens_at:
        row("Sedan", format_moment(_local(o.opens_at, routine)))
    if o.status == "overdue" and o.late_working_days is not None:
        row("Försenad", _working_days(o.late_working_days) + " efter fristen")
    if o.blocked_by:
        row("Väntar på", ", ".join(labels.precondition(o, p) for p in o.blocked_by))
    if o.unblocks:
        row("Låser upp", ", ".join(o.unblocks))
    if o.escalates:
        row("Eskalerar", o.escalates)
    row("Rutin", f"{o.routine.id} version {o.routine.version}, regel {o.rule}")
    if o.interpretation is not None:
        row("Tolkning", f"ja: {o.interpretation.reason}")
    else:
        row("Tolkning", "nej, som rutinen säger")
    return lines


def _ledger_line(o: Obligation, labels: _Labels) -> str:
    routine = labels.routine(o)
    status = STATUS_SV.get(o.status, o.status)
    text = f"  {status:<18} {o.obligation}: {o.title}"
    if o.deadline is not None:
        text += f", senast {format_moment(_local(o.deadline, routine))}"
    if o.fulfilled_by is not None:
        text += (
            f"; uppfylld av {o.fulfilled_by.event} "
            f"{format_moment(_local(o.fulfilled_by.at, routine))}"
        )
        if o.status == "fulfilled_late" and o.late_working_days is not None:
            text += f" ({_working_days(o.late_working_days)} för sent)"
    if o.cancelled_by is not None:
        text += f"; avbruten av {o.cancelled_by.event} ({o.cancelled_by.type})"
    if o.status == "overdue" and o.late_working_days is not None:
        text += f" ({_working_days(o.late_working_days)} för sent)"
    return text


def _count(n: int, status: str) -> str:
    return f"{n} {(STATUS_SV if n == 1 else _STATUS_PLURAL_SV)[status]}"


def render_text(
    result: Evaluation,
    routines: Sequence[CompiledRoutine],
    *,
    show_all: bool = False,
    cases: Sequence[str] | None = None,
) -> str:
    """The evaluation as text for a person, in Swedish.

    Args:
        result: The evaluation.
        routines: The routines evaluated (for role and channel labels and time zones).
        show_all: Also list every case's full ledger.
        cases: The cases asked for; those with no events are named too.
    """
    labels = _Labels(routines)
    out: list[str] = []
    as_of = _local(result.as_of, routines[0] if routines else None)
    out.append(f"Läget per {format_moment(as_of)} ({result.as_of})")
    out.append("")
    seen = set()
    for case in result.cases:
        seen.add(case.case)
        n = len(case.actions)
        out.append(f"Ärende {case.case}: {n} {'åtgärd' if n == 1 else 'åtgärder'}")
        if not case.actions:
            out.append("  Inget att göra.")
        for action in case.actions:
            out.extend(_action_block(action, labels))
            out.append("")
        if show_all:
            out.append(f"  Alla skyldigheter i ärendet ({len(case.obligations)}):")
            out.extend(_ledger_line(o, labels) for o in case.obligations)
        if not case.actions or show_all:
            out.append("")
    for name in cases or ():
        if name not in seen:
            out.append(f"Ärende {name}: inga händelser fram till {result.as_of}.")
            out.append("")
    if not result.cases and not cases:
        out.append("Inga ärenden med händelser fram till denna tidpunkt.")
        out.append("")
    summary = result.summary
    parts = [_count(summary[s], s) for s in _SUMMARY_ORDER if summary.get(s)]
    n_cases = summary.get("cases", len(result.cases))
    n_events = summary.get("events", 0)
    head = (
        f"{n_cases} {'ärende' if n_cases == 1 else 'ärenden'}, "
        f"{n_events} {'händelse' if n_events == 1 else 'händelser'}"
    )
    out.append(head + (": " + ", ".join(parts) if parts else ": inget att göra") + ".")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- the command


@guarded(NAME)
def run(args: argparse.Namespace) -> int:
    """Evaluate the event file against the routine(s) and print the actions."""
    cases: list[str] | None = args.cases
    routines, result = evaluate_from_args(args, cases)

    if args.format == "json":
        sys.stdout.write(result.to_json() + "\n")
    else:
        sys.stdout.write(render_text(result, routines, show_all=args.show_all, cases=cases))
    sys.stdout.flush()

    return EXIT_FINDINGS if report_event_problems(result, args, NAME) else EXIT_OK
