"""``samverkan render ROUTINE``: a readable version of a routine to check against its source.

Writes the routine in words (metadata, roles, channels, schedules, facts and event types,
then each rule with its trigger, action, deadline, escalation, source quote and any local
interpretation) as Markdown or as a self-contained HTML page, to stdout or to ``--out FILE``
(written under a temporary name and renamed, so the file is whole or untouched); in Swedish,
or in English with ``--lang en`` or an English ``LANG`` (the routine's own words stay as
written). The output is deterministic: the same routine gives the same bytes.

Exit codes: 0 rendered, 1 the routine has errors (each printed with file:line:col, as
``samverkan validate`` does), 2 bad usage, a path that is no routine file, or an unwritable
``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from samverkan_rules.cli import COMMANDS, EXIT_FINDINGS, EXIT_OK
from samverkan_rules.cli._common import (
    CommandError,
    add_lang_option,
    guarded,
    print_diagnostics,
    translator_from_args,
)
from samverkan_rules.cli._files import write_file_atomic
from samverkan_rules.cli._streams import write_stdout
from samverkan_rules.routine.load import check_routine_file
from samverkan_rules.text.html import render_html
from samverkan_rules.text.markdown import render_markdown

NAME = "render"

RENDER_FORMATS = ("markdown", "html")


def add_parser(subparsers: Any) -> None:
    """Register ``render`` with the command line's subparsers."""
    parser = subparsers.add_parser(
        NAME,
        help=COMMANDS[NAME],
        description=(
            "Render a routine in words (Swedish, or English with --lang en), as Markdown or a "
            "self-contained HTML page, for policy authors and auditors to check against the "
            "source document. Each rule shows its trigger, action, deadline, source quote and "
            "any local interpretation. Exit 0 when rendered, 1 when the routine has errors, 2 "
            "for a bad path."
        ),
    )
    parser.add_argument("routine", metavar="ROUTINE", help="a routine file (*.yaml)")
    parser.add_argument(
        "--format",
        choices=RENDER_FORMATS,
        default="markdown",
        help="markdown (default) or html",
    )
    parser.add_argument(
        "--out", metavar="FILE", default=None, help="write to FILE instead of standard output"
    )
    add_lang_option(parser)
    parser.set_defaults(run=run)


@guarded(NAME)
def run(args: argparse.Namespace) -> int:
    """Check the routine; render it when it has no errors."""
    path = Path(args.routine)
    if not path.exists():
        raise CommandError(f"{args.routine}: no such file; check the path")
    if not path.is_file():
        raise CommandError(f"{args.routine}: not a file; name one routine file (*.yaml)")
    check = check_routine_file(path)
    if check.routine is None or not check.ok:
        errors = [d for d in check.diagnostics if d.is_error]
        raise CommandError(
            f"{args.routine}: {len(errors)} error(s); fix them and render again",
            exit_code=EXIT_FINDINGS,
            diagnostics=check.diagnostics,
        )
    print_diagnostics(check.diagnostics)  # warnings only: stderr, the document is on stdout
    render = render_html if args.format == "html" else render_markdown
    text = render(check.routine, translator_from_args(args))
    if args.out is None:
        write_stdout(text)
        return EXIT_OK
    try:
        write_file_atomic(args.out, text.encode("utf-8"))
    except OSError as exc:
        raise CommandError(
            f"cannot write {args.out}: {exc.strerror or exc}; check the directory exists "
            "and is writable"
        ) from None
    return EXIT_OK
