"""The ``samverkan`` command line: one module per command.

Exit codes: 0 success, 1 findings (an invalid routine, a failed scenario, overdue actions
are *not* findings), 2 bad usage or unreadable input, 3 internal error. A bare traceback is
never shown; ``SAMVERKAN_DEBUG=1`` shows it for a bug report.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from importlib import import_module
from types import ModuleType

from samverkan_rules import __version__

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3

# Each module defines `add_parser(subparsers)` and `run(args) -> int`.
COMMANDS: tuple[str, ...] = ("validate", "due", "explain", "test", "render", "schema", "audit")


def _modules() -> list[ModuleType]:
    return [import_module(f"samverkan_rules.cli.{name}_cmd") for name in COMMANDS]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command registered."""
    parser = _Parser(
        prog="samverkan",
        description="Swedish collaboration routines as executable, versioned YAML rulesets.",
    )
    parser.add_argument("--version", action="version", version=f"samverkan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in _modules():
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:
            return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
        if not getattr(args, "command", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return int(args.run(args))
    except KeyboardInterrupt:
        print("samverkan: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the last line of defence: never a bare traceback
        if os.environ.get("SAMVERKAN_DEBUG"):
            traceback.print_exc()
        print(
            f"samverkan: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in samverkan-rules. Run again with SAMVERKAN_DEBUG=1 and report the "
            "traceback.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
