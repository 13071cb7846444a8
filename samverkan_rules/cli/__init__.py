"""The ``samverkan`` command line: one module per command.

Exit codes: 0 success, 1 findings (an invalid routine, a failed scenario, overdue actions
are *not* findings), 2 bad usage, unreadable input or output that could not be written in
full, 3 internal error, 130 interrupted (Ctrl-C). A bare traceback is never shown;
``SAMVERKAN_DEBUG=1`` shows it for a bug report.

Everything written goes through :mod:`samverkan_rules.cli._streams`: UTF-8 whatever the
locale, every write checked, standard error never mixed into standard output.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, NoReturn

from samverkan_rules._version import version
from samverkan_rules.cli._interrupt import interrupts_at_safe_points

if TYPE_CHECKING:
    from _typeshed import SupportsWrite
from samverkan_rules.cli._streams import (
    OutputError,
    checked_standard_streams,
    guard_standard_streams,
    silence_stdout,
    write_stderr,
    write_stdout,
)

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
"""128 + SIGINT, what a shell reports for a command stopped with Ctrl-C."""

COMMANDS: dict[str, str] = {
    "validate": "check routine files and report every problem with file:line:col",
    "due": "list the actions due for the cases in an event file",
    "explain": "show step by step how an obligation's deadline and status were reached",
    "test": "run the YAML scenario tests of routines, with rule coverage",
    "render": "write a readable version of a routine to check against its source document",
    "schema": "print, write or check the JSON Schemas",
    "serve": "serve a live session over HTTP (needs the 'serve' extra)",
    "audit": "a compliance report of an event history (JSON, CSV, offline HTML)",
}
"""Each command with its one-line summary. The module ``samverkan_rules.cli.<name>_cmd``
defines ``add_parser(subparsers)`` (with ``help=COMMANDS[NAME]``) and ``run(args) -> int``.
Only the module of the command being run is imported, so ``samverkan --help`` and each
command pay for what they use."""


SUBCOMMANDS: dict[tuple[str, str], str] = {("audit", "generate"): "audit_generate"}
"""A command and the word after it that name another module: ``samverkan audit generate``
registers ``audit`` from ``audit_generate_cmd`` (a command of its own under ``audit``,
while ``samverkan audit --routines ...`` keeps its options)."""


def _module(name: str) -> ModuleType:
    return import_module(f"samverkan_rules.cli.{name}_cmd")


def _chosen(argv: Sequence[str] | None) -> str | None:
    """The module of the command named on the command line (its first word that is not an
    option; with the next word, when :data:`SUBCOMMANDS` names one)."""
    words = list(sys.argv[1:] if argv is None else argv)
    for i, word in enumerate(words):
        if not word.startswith("-"):
            if word not in COMMANDS:
                return None
            following = words[i + 1] if i + 1 < len(words) else ""
            return SUBCOMMANDS.get((word, following), word)
    return None


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors as exit 2 and its own writes checked like all others."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")

    def print_help(self, file: SupportsWrite[str] | None = None) -> None:
        self._print_message(self.format_help(), sys.stderr if file is sys.stderr else None)

    def print_usage(self, file: SupportsWrite[str] | None = None) -> None:
        self._print_message(self.format_usage(), sys.stderr if file is sys.stderr else None)

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if not message:
            return
        if file is not None and file is sys.stderr:
            write_stderr(message)
        else:
            write_stdout(message)


class _Version(argparse.Action):
    """``--version``: the version is read from the installed metadata only when asked for."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> NoReturn:
        write_stdout(f"samverkan {version()}\n")
        parser.exit()


def build_parser(
    argv: Sequence[str] | None = None, *, every: bool = False
) -> argparse.ArgumentParser:
    """The argument parser: the command in ``argv`` in full, the others by their summary.

    With ``every``, every command is registered in full (for documentation and tests).
    """
    parser = _Parser(
        prog="samverkan",
        description="Swedish collaboration routines as executable, versioned YAML rulesets.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    chosen = _chosen(argv)
    for name, summary in COMMANDS.items():
        if every or name == chosen:
            _module(name).add_parser(sub)
        elif chosen in {m for (c, _), m in SUBCOMMANDS.items() if c == name}:
            _module(chosen).add_parser(sub)  # e.g. audit with its generate
        else:
            sub.add_parser(name, help=summary)
    return parser


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return int(args.run(args))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        with interrupts_at_safe_points():
            guard_standard_streams()
            with checked_standard_streams():
                return _run(argv)
    except KeyboardInterrupt:
        write_stderr("samverkan: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader stopped reading (`samverkan due ... | head`): not an error.
        silence_stdout()
        return EXIT_OK
    except OutputError as exc:
        write_stderr(f"samverkan: error: {exc.message}\n")
        return EXIT_USAGE
    except OSError as exc:
        # The environment refused something (a permission, a device): not a bug.
        if os.environ.get("SAMVERKAN_DEBUG"):
            write_stderr(traceback.format_exc())
        where = f"{exc.filename}: " if exc.filename else ""
        write_stderr(
            f"samverkan: error: {where}{exc.strerror or exc}; check the path and its permissions\n"
        )
        return EXIT_USAGE
    except Exception as exc:  # the last line of defence: never a bare traceback
        if os.environ.get("SAMVERKAN_DEBUG"):
            write_stderr(traceback.format_exc())
        write_stderr(
            f"samverkan: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in samverkan-rules. Run again with SAMVERKAN_DEBUG=1 and report the "
            "traceback.\n"
        )
        return EXIT_INTERNAL
