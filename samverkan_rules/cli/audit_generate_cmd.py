"""``samverkan audit generate``: a synthetic event history with known outcomes, for trying
the audit and for benchmarks.

The events go into ``--out``/events (give that directory to ``samverkan audit --events``),
the ground truth beside it. The cases follow the Örebro routine
(``routines/orebro-dagverksamhet-hemvard``, its version from 2020): consent, a planned
start and end, their messages, journal entries, receipts and replies. The generator decides
for every obligation whether it is met on time, late or overdue (``--mix``), so the files
come with their ground truth: ``truth.json`` (per rule and per unit, the counts per status)
and ``truth.csv`` (every obligation: case, obligation id as ``samverkan explain`` takes it,
rule, trigger event, status, unit, working days late). Case ids are valid personnummer
(check digit, real date, a serial other than 000) unless ``--plain-ids``; they are made
up, but shaped like real ones: keep them among test data.

The same options and seed give byte-identical files. Exit 0 when written, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import random
from datetime import date
from pathlib import Path
from typing import Any

from samverkan_rules.audit.synthetic import (
    FORMATS,
    MIX,
    ROUTINE_ID,
    generate_history,
    write_files,
    write_truth,
)
from samverkan_rules.cli import EXIT_OK
from samverkan_rules.cli._common import (
    CommandError,
    date_argument,
    guarded,
    positive_argument,
)

NAME = "audit"
SUBCOMMAND = "generate"
SUMMARY = "write a synthetic event history with known outcomes (and its ground truth)"


def add_parser(subparsers: Any) -> None:
    """Register ``audit`` with ``generate`` under it (when the command line asks for it)."""
    audit = subparsers.add_parser(
        NAME, help="a compliance report of an event history (JSON, CSV, offline HTML)"
    )
    inner = audit.add_subparsers(dest="audit_command", metavar="SUBCOMMAND", required=True)
    parser = inner.add_parser(
        SUBCOMMAND,
        help=SUMMARY,
        description=(
            f"Write a synthetic event history of the routine {ROUTINE_ID} into --out/events, with "
            "the outcome of every obligation decided by the generator (on time, late or "
            "overdue), and its ground truth: truth.json (counts per rule and per unit) and "
            "truth.csv (every obligation). 'samverkan audit' on the files must find the "
            "same counts. The same options give the same bytes."
        ),
    )
    _add_options(parser)
    parser.set_defaults(run=run, command=NAME)


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="a new directory: the events go into DIR/events, truth.json and truth.csv into DIR",
    )
    parser.add_argument(
        "--cases",
        type=positive_argument("--cases"),
        default=100,
        metavar="N",
        help="cases (default 100)",
    )
    parser.add_argument(
        "--years",
        type=positive_argument("--years"),
        default=3,
        metavar="N",
        help="length of the period the cases start in (default 3)",
    )
    parser.add_argument(
        "--from",
        dest="first",
        type=date_argument("--from"),
        default=date(2020, 1, 1),
        metavar="DATE",
        help="first day of the period (default 2020-01-01; the routine version of 2020 on)",
    )
    parser.add_argument(
        "--mix",
        type=_mix,
        default=MIX,
        metavar="ON_TIME:LATE:OVERDUE",
        help="weights of the outcomes of each obligation (default 6:2:1)",
    )
    parser.add_argument(
        "--unit",
        action="append",
        dest="units",
        default=[],
        metavar="NAME",
        help=(
            "an organisational unit (data.enhet on a case's first event; about a third of the "
            "cases move to another at their planned end); repeatable"
        ),
    )
    parser.add_argument(
        "--format",
        action="append",
        dest="formats",
        choices=FORMATS,
        metavar="FORMAT",
        help=f"file formats, in turn over the files ({', '.join(FORMATS)}); repeatable; "
        "default jsonl",
    )
    parser.add_argument(
        "--files",
        type=positive_argument("--files"),
        default=1,
        metavar="N",
        help="files to spread the events over, each event in a random one (default 1)",
    )
    parser.add_argument(
        "--shuffle",
        action="store_true",
        help="shuffle each file's lines (holds the events in memory)",
    )
    parser.add_argument("--seed", type=int, default=1, metavar="N", help="default 1")
    parser.add_argument(
        "--plain-ids",
        action="store_true",
        help="case ids c1, c2, ... instead of personnummer",
    )


def _mix(text: str) -> tuple[int, int, int]:
    """``--mix``: three whole weights ``on time:late:overdue``, not all 0.

    Examples:
        >>> _mix("6:2:1")
        (6, 2, 1)
    """
    parts = text.split(":")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or min(values) < 0 or sum(values) == 0:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give three whole weights on time:late:overdue, e.g. 6:2:1 or 1:0:0"
        )
    return values[0], values[1], values[2]


@guarded(f"{NAME} {SUBCOMMAND}")
def run(args: argparse.Namespace) -> int:
    """Generate the history, write its files and ground truth, say what was written."""
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CommandError(f"--out {args.out}: not an empty directory; name a new one")
    if len(set(args.units)) != len(args.units) or any(not u.strip() for u in args.units):
        raise CommandError("--unit: each unit once, with a name")
    try:
        history, stream = generate_history(
            args.seed,
            args.cases,
            first=args.first,
            years=args.years,
            ids="plain" if args.plain_ids else "personnummer",
            units=args.units,
            mix=args.mix,
            truth=True,
        )
        paths = write_files(
            stream,
            out / "events",
            files=args.files,
            formats=args.formats or ("jsonl",),
            shuffle=random.Random(args.seed) if args.shuffle else None,
        )
    except ValueError as exc:  # e.g. --from 2020-02-29 with a number of years
        raise CommandError(f"cannot generate: {exc}") from None
    except ImportError:
        raise CommandError(
            "--format parquet needs the 'audit' extra: pip install 'samverkan-rules[audit]'"
        ) from None
    paths += write_truth(history, out)
    print(
        f"{history.cases} cases, {history.events} events, "
        f"{sum(c.total() for c in history.expected.values())} obligations from "
        f"{history.first.isoformat()} to {history.last.isoformat()}"
    )
    for path in paths:
        print(f"wrote {path}")
    return EXIT_OK
