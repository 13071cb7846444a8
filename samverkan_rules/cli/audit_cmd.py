"""``samverkan audit``: an event history against the routine versions in force, as a report.

Writes ``report.json`` (the contract in ``schemas/audit.schema.json``), ``obligations.csv``,
``summary.csv``, ``rule_months.csv``, ``periods.csv`` and ``report.html`` (with
``--group-by``, also ``groups.csv`` and ``group_months.csv``; with ``--xlsx``,
``report.xlsx``) into ``--out``, each under a temporary name first and renamed into place
only when all are complete. Case ids are pseudonymised with a key (``--key-file`` or
``SAMVERKAN_AUDIT_KEY``); without one the command refuses unless ``--identify`` is given
on purpose.

Exit 0 when every event was used, 1 when some were rejected (each reported with its file
and line on stderr and in the report), 2 when the audit cannot run (an unreadable file, no
key, an empty period, more rejected records than ``--max-rejected`` allows, a missing
extra), 3 for an internal error. When a run stops, the findings that led to it are printed
before the message; on stderr each code shows its first ``--max-messages`` findings and one
line counting the rest. The breach policy (``--blocked-is-breach``, ``--tolerance N``,
``--closed``) decides the on-time rates and is stated in the report's header, with the
``--target`` rate the months are held against. No message names a raw case id or anything
shaped like a personnummer when a key is given.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import traceback
from collections.abc import Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Any

from samverkan_rules.audit.inputs import ColumnMap, InputError, load_column_map
from samverkan_rules.audit.policy import BreachPolicy, statement, target_statement
from samverkan_rules.audit.pseudonym import AuditKeyError, load_key, mask
from samverkan_rules.audit.swedish import summary_sentence, written_lines
from samverkan_rules.cli import COMMANDS, EXIT_FINDINGS, EXIT_INTERNAL, EXIT_OK
from samverkan_rules.cli._common import (
    CommandError,
    add_format_option,
    as_of_argument,
    date_argument,
    dump_json,
    guarded,
    positive_argument,
    print_diagnostics,
)
from samverkan_rules.cli.due_cmd import load_routines, select_routine
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.diagnostics import Diagnostic, sort_key
from samverkan_rules.i18n import translator

if TYPE_CHECKING:  # the audit's modules load only when it runs (they need the extra)
    from samverkan_rules.audit.run import AuditOutcome

NAME = "audit"
NAME_PREFIX = f"samverkan {NAME}"

_AUDIT_MODULES = ("duckdb", "jinja2", "tqdm", "personnummer")
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*([KMGT]i?B|B)$", re.IGNORECASE)


def add_parser(subparsers: Any) -> None:
    """Register ``audit`` with the command line's subparsers."""
    parser = subparsers.add_parser(
        NAME,
        help=COMMANDS[NAME],
        description=(
            "Judge every obligation of an event history by the routine version in force at "
            "its trigger and write report.json, obligations.csv, summary.csv, rule_months.csv, "
            "periods.csv and report.html into --out (with --group-by also groups.csv and "
            "group_months.csv, with --xlsx report.xlsx). "
            "CSV exports are read as Excel writes them (semicolon or tab, --encoding cp1252); "
            "a column map (--columns) takes an export's own column names and extra columns. "
            "Case ids are pseudonymised with a key unless --identify is given. Needs the "
            "'audit' extra."
        ),
        epilog="samverkan audit generate --help: a made-up history with its ground truth, "
        "to try the audit on.",
    )
    # In this order in --help: what is read and written, the period, then how it runs.
    _add_source_options(parser)
    _add_period_options(parser)
    _add_group_options(parser)
    _add_policy_options(parser)
    _add_run_options(parser)
    add_format_option(parser)
    parser.set_defaults(run=run)


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--routines",
        required=True,
        metavar="PATH",
        help="a routine file or a directory of routine files (every version of the routine)",
    )
    parser.add_argument(
        "--id",
        dest="routine_id",
        metavar="ROUTINE_ID",
        help="with a directory of several routines: the one to audit (all its versions)",
    )
    parser.add_argument(
        "--events",
        required=True,
        nargs="+",
        metavar="PATH",
        help=(
            "event files or directories: JSON Lines or CSV (either optionally .gz) and "
            "Parquet; a case's events may be spread over several files in any order"
        ),
    )
    parser.add_argument(
        "--delimiter",
        type=_delimiter,
        metavar="CHAR",
        help=(
            "the CSV files' delimiter: ',', ';' or 'tab' (default: sniffed from each CSV "
            "file's header, so Excel's semicolon CSV is read as it is)"
        ),
    )
    parser.add_argument(
        "--encoding",
        default="utf-8",
        metavar="NAME",
        help=(
            "the text encoding of the JSON Lines and CSV files (default utf-8; cp1252 for a "
            "file saved by Excel on Windows); a byte order mark is dropped"
        ),
    )
    parser.add_argument(
        "--columns",
        metavar="FILE",
        help=(
            "a column map (YAML or TOML): 'columns:' maps each export column to id, case, "
            "type, at, data or data.NAME (e.g. Enhet: data.enhet); 'unknown: data' takes the "
            "other columns into data; 'fields:' lists data fields not to warn about"
        ),
    )
    parser.add_argument(
        "--extra-columns",
        choices=("reject", "data"),
        default="reject",
        help=(
            "what to do with a column that is no event key and not in --columns: reject the "
            "record (default) or take it into data under its name"
        ),
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="where the report goes")


def _delimiter(text: str) -> str:
    """``--delimiter``: one character, or ``tab``."""
    value = "\t" if text.lower() in ("tab", "\\t") else text
    if len(value) != 1 or value in '"\r\n':
        raise argparse.ArgumentTypeError(
            f"{text!r}: give one character such as ',' or ';', or 'tab'"
        )
    return value


def _add_period_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="first",
        type=date_argument("--from"),
        metavar="DATE",
        help="first day of the period (its obligations' triggers); default the first event's day",
    )
    parser.add_argument(
        "--to",
        dest="last",
        type=date_argument("--to"),
        metavar="DATE",
        help="last day of the period; default the last event's day",
    )
    parser.add_argument(
        "--as-of",
        type=as_of_argument,
        metavar="T",
        help="when statuses are judged, not before the end of the period (the default)",
    )


def _add_group_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--group-by",
        action="append",
        default=[],
        metavar="FIELD",
        help=(
            "also count the obligations by this data field (e.g. data.enhet), as the case's "
            "events last gave it at or before each trigger; repeatable. Adds the field to "
            "obligations.csv and writes groups.csv and group_months.csv"
        ),
    )


def _add_policy_options(parser: argparse.ArgumentParser) -> None:
    """The breach policy; the report's header states the one used."""
    parser.add_argument(
        "--blocked-is-breach",
        action="store_true",
        help=(
            "count a waiting (blocked) action whose deadline passed, e.g. consent never "
            "obtained so the message was never sent, as a breach in the on-time rate"
        ),
    )
    parser.add_argument(
        "--tolerance",
        type=_non_negative("--tolerance"),
        default=0,
        metavar="N",
        help="done late by at most N working days counts as on time (default 0: none)",
    )
    parser.add_argument(
        "--closed",
        action="store_true",
        help=(
            "a closed-period view: leave out the actions whose deadline falls after --to "
            "(instead of showing them as to do), so every action counted is judged"
        ),
    )
    parser.add_argument(
        "--target",
        type=_target,
        metavar="SHARE",
        help=(
            "the on-time rate each month should reach, e.g. 0.9 or 90%%: report.html draws "
            "it over the monthly rate and marks the months and rule-months below it"
        ),
    )


def _target(text: str) -> float:
    """``--target``: a share above 0 and at most 1 (``0.9``, ``0,9``) or a percentage
    (``90%``).

    Examples:
        >>> _target("0.9"), _target("90%"), _target("92,5 %"), _target("1")
        (0.9, 0.9, 0.925, 1.0)
    """
    number = text.strip().replace(",", ".")
    percent = number.endswith("%")
    try:
        value = float(number.removesuffix("%").strip())
    except ValueError:
        value = math.nan
    share = round(value / 100, 6) if percent else value
    if not 0 < share <= 1:  # NaN and infinities fail too
        hint = f" (did you mean {text.strip()}%?)" if not percent and 1 < value <= 100 else ""
        raise argparse.ArgumentTypeError(
            f"{text!r}: give the on-time rate to reach as a share above 0 and at most 1, "
            f"such as 0.9, or as a percentage such as 90%{hint}"
        )
    return share


def _non_negative(option: str) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = -1
        if value < 0:
            raise argparse.ArgumentTypeError(f"{text!r}: give a whole number >= 0 ({option})")
        return value

    return parse


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lang",
        choices=("en", "sv"),
        default="en",
        help="sv: the CSV files for Swedish Excel (Swedish column names, ';', decimal comma, "
        "UTF-8 with a byte order mark); en (default): the form for programs",
    )
    parser.add_argument(
        "--xlsx",
        action="store_true",
        help=(
            "also write report.xlsx: the tables as an Excel workbook, one sheet per table, "
            "typed columns, frozen header"
        ),
    )
    parser.add_argument(
        "--key-file",
        metavar="FILE",
        help="the pseudonymisation key (at least 16 bytes); or set SAMVERKAN_AUDIT_KEY",
    )
    parser.add_argument(
        "--identify",
        action="store_true",
        help="write case ids as they are, without pseudonyms (on purpose only)",
    )
    parser.add_argument(
        "--compare",
        metavar="PATH",
        help="another routine file or directory: how each rule's counts would differ under it",
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="audit on the Dask cluster whose scheduler is at ADDRESS (extra 'audit-dask')",
    )
    parser.add_argument(
        "--jobs",
        type=positive_argument("--jobs"),
        metavar="N",
        help=(
            "worker processes on this machine: input files (and pieces of a JSON Lines "
            "file) read in parallel, cases evaluated in parallel (default: the available "
            "cores, for large inputs; 1: one process)"
        ),
    )
    parser.add_argument(
        "--partitions",
        type=int,
        metavar="N",
        help="Dask: partitions of cases (default 4 per worker)",
    )
    parser.add_argument(
        "--max-messages",
        type=positive_argument("--max-messages"),
        default=10,
        metavar="N",
        help=(
            "print at most N findings of each code, then one line saying how many more and "
            "where the next ones are (default 10; the report keeps up to 1000 per file)"
        ),
    )
    parser.add_argument(
        "--max-rejected",
        type=_reject_limit,
        metavar="N|P%",
        help=(
            "fail (exit 2, no report) when more than N records, or more than P percent of "
            "those read, are rejected; the rejected ones are shown first"
        ),
    )
    parser.add_argument(
        "--memory-limit",
        default="256MB",
        metavar="SIZE",
        help="DuckDB's memory limit before it spills to disk (default 256MB)",
    )


def _reject_limit(text: str) -> Any:
    """``--max-rejected``: a count (``100``) or a percentage of the records read (``0.5%``)."""
    from samverkan_rules.audit.run import RejectLimit

    number = text.strip().removesuffix("%")
    percent = text.strip().endswith("%")
    try:
        value = float(number) if percent else int(number)
    except ValueError:
        value = -1
    if value < 0 or (percent and value > 100):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a number of records such as 100, or a percentage such as 0.5%"
        )
    return RejectLimit(float(value), percent=percent)


def summarise(diagnostics: Sequence[Diagnostic], per_code: int) -> list[Diagnostic]:
    """The first ``per_code`` diagnostics of each code (in the printed order), and for each
    code with more, one line saying how many more and where the next few are.

    Examples:
        >>> found = [Diagnostic("error", "event.bad-json", "bad", file="f", line=n)
        ...          for n in range(1, 7)]
        >>> [d.location() for d in summarise(found, 2)]
        ['f:1', 'f:2', '<input>']
        >>> summarise(found, 2)[-1].message
        '4 more event.bad-json finding(s) not shown (--max-messages); the next at f:3, f:4, f:5'
    """
    shown: list[Diagnostic] = []
    rest: dict[str, list[Diagnostic]] = {}
    seen: dict[str, int] = {}
    for d in sorted(diagnostics, key=sort_key):
        seen[d.code] = seen.get(d.code, 0) + 1
        if seen[d.code] <= per_code:
            shown.append(d)
        else:
            rest.setdefault(d.code, []).append(d)
    for code, more in sorted(rest.items()):
        places = ", ".join(d.location() for d in more[:3])
        shown.append(
            Diagnostic(
                "error" if any(d.is_error for d in more) else "warning",
                code,
                f"{len(more)} more {code} finding(s) not shown (--max-messages); the next at "
                f"{places}",
            )
        )
    return shown


def _require(modules: tuple[str, ...], extra: str) -> None:
    missing = []
    for name in modules:
        try:
            import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise CommandError(
            f"samverkan audit{' --dask' if extra == 'audit-dask' else ''} needs the "
            f"'{extra}' extra ({', '.join(missing)} missing): "
            f"pip install 'samverkan-rules[{extra}]'"
        )


def _is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@guarded(NAME)
def run(args: argparse.Namespace) -> int:
    """Run the audit and print where the report went."""
    _require(_AUDIT_MODULES, "audit")
    if args.dask:
        _require(("dask.distributed",), "audit-dask")
    if args.xlsx:
        _require(("xlsxwriter",), "audit")
    try:
        return _run(args)
    except CommandError:
        raise
    except AuditKeyError as exc:
        raise CommandError(str(exc)) from None
    except Exception as exc:  # never a raw id in a traceback: mask what is shown
        if os.environ.get("SAMVERKAN_DEBUG"):
            print(mask(traceback.format_exc()), file=sys.stderr)
        print(
            f"samverkan audit: internal error: {type(exc).__name__}: {mask(str(exc))}\n"
            "This is a bug in samverkan-rules. Run again with SAMVERKAN_DEBUG=1 and report the "
            "traceback.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _run(args: argparse.Namespace) -> int:
    from samverkan_rules.audit.run import AuditError, AuditOptions, run_audit

    routines = select_routine(load_routines(args.routines), args.routines, args.routine_id)
    compare = _compare_routines(args, routines[0].id)
    key = None if args.identify else load_key(args.key_file)
    _check_sizes(args)
    client = _dask_client(args)
    options = AuditOptions(
        routines=routines,
        events=args.events,
        out=args.out,
        first=args.first,
        last=args.last,
        as_of=args.as_of,
        key=key,
        identify=args.identify,
        compare=compare,
        client=client,
        partitions=args.partitions,
        jobs=args.jobs,
        progress=_is_terminal(),
        memory_limit=args.memory_limit,
        routine_id=routines[0].id,
        delimiter=args.delimiter,
        encoding=args.encoding,
        max_rejected=args.max_rejected,
        group_by=tuple(args.group_by),
        columns=_column_map(args.columns),
        extra_columns=args.extra_columns == "data",
        xlsx=args.xlsx,
        lang=args.lang,
        blocked_is_breach=args.blocked_is_breach,
        tolerance=args.tolerance,
        closed=args.closed,
        target=args.target,
    )
    try:
        outcome = run_audit(options)
    except AuditError as exc:  # what led to it first, so the message's "above" holds
        print_diagnostics(
            summarise(exc.diagnostics, args.max_messages), caret=False, unlocated=NAME_PREFIX
        )
        raise CommandError(mask(str(exc)) if key is not None else str(exc)) from None
    finally:
        if client is not None:
            client.close()
    _print_outcome(args, outcome)
    if outcome.rejected:
        print(
            f"samverkan audit: {outcome.rejected} event(s) were rejected; each is named above "
            "and counted in the report",
            file=sys.stderr,
        )
    return EXIT_FINDINGS if outcome.rejected or outcome.errors else EXIT_OK


def _column_map(path: str | None) -> ColumnMap | None:
    """The ``--columns`` file, read and checked, or None without it."""
    if path is None:
        return None
    try:
        return load_column_map(path)
    except InputError as exc:
        raise CommandError(str(exc)) from None


def _compare_routines(args: argparse.Namespace, routine_id: str) -> list[CompiledRoutine] | None:
    """The routine versions of ``--compare``, or None without it."""
    if not args.compare:
        return None
    others = load_routines(args.compare)
    # One routine in OTHER: compare with it whatever its id (a successor may rename).
    single = len({r.id for r in others}) == 1
    return select_routine(others, args.compare, None if single else routine_id)


def _check_sizes(args: argparse.Namespace) -> None:
    if not _MEMORY.match(args.memory_limit):
        raise CommandError(
            f"--memory-limit {args.memory_limit!r}: write a size such as 256MB, 1GB or 512MiB"
        )
    if args.partitions is not None and args.partitions < 1:
        raise CommandError(f"--partitions {args.partitions}: give a whole number >= 1")


def _dask_client(args: argparse.Namespace) -> Any:
    """A client of the ``--dask`` scheduler, or None without it."""
    if not args.dask:
        return None
    from samverkan_rules.audit.dask import connect

    try:
        return connect(args.dask)
    except (OSError, TimeoutError, ValueError) as exc:
        raise CommandError(
            f"--dask {args.dask}: cannot reach the scheduler ({type(exc).__name__}); "
            "check the address and that the scheduler runs"
        ) from None


def _print_outcome(args: argparse.Namespace, outcome: AuditOutcome) -> None:
    """The report's findings on stderr, then what was written (``--format``) on stdout."""
    from samverkan_rules.audit.run import diagnostics_of

    report = outcome.report
    print_diagnostics(
        summarise([d for d in diagnostics_of(report) if d.level != "info"], args.max_messages),
        caret=False,
        unlocated=NAME_PREFIX,
    )
    if args.format == "json":
        dump_json(
            {
                "files": [str(p) for p in outcome.files],
                "events": report.header.events_total,
                "rules": len(report.by_rule),
                "obligations": sum(r.total for r in report.by_rule),
            }
        )
    else:
        print(summary_sentence(report))
        policy = report.header.policy
        if policy.blocked_is_breach or policy.tolerance_working_days or policy.closed:
            held = BreachPolicy(
                policy.blocked_is_breach, policy.tolerance_working_days, policy.closed
            )
            print(statement(held, translator("sv"), policy.left_out))
        if report.header.target is not None:
            print(target_statement(report.header.target, translator("sv")))
        for line in written_lines(outcome.files):
            print(line)
