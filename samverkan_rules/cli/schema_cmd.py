"""``samverkan schema``: print, write or check the JSON Schemas.

``samverkan schema`` prints the routine schema (``samverkan schema event`` another one);
``--write DIR`` writes all of them into DIR, touching only files whose text changed;
``--check DIR`` exits 1 and lists the files in DIR that are missing or stale, so CI catches
a model change whose schemas were not regenerated.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from samverkan_rules.cli import COMMANDS, EXIT_FINDINGS, EXIT_OK
from samverkan_rules.cli._common import CommandError, guarded
from samverkan_rules.cli._files import write_file_atomic
from samverkan_rules.cli._streams import write_stdout
from samverkan_rules.schemas import SCHEMAS, render

NAME = "schema"
_SUFFIX = ".schema.json"
_NAMES = tuple(name.removesuffix(_SUFFIX) for name in SCHEMAS)


def add_parser(subparsers: Any) -> None:
    """Register ``schema`` with the command line's subparsers."""
    parser = subparsers.add_parser(
        NAME,
        help=COMMANDS[NAME],
        description=(
            "Print one JSON Schema (the routine schema by default), write all of them into a "
            "directory, or check that a directory holds them up to date (exit 1 when not)."
        ),
    )
    parser.add_argument(
        "name",
        nargs="?",
        metavar="NAME",
        help=f"the schema to print: {', '.join(_NAMES)} (default routine)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", metavar="DIR", help="write every schema into DIR")
    mode.add_argument(
        "--check", metavar="DIR", help="exit 1 when a schema in DIR is missing or stale"
    )
    parser.set_defaults(run=run)


def _file_name(name: str) -> str:
    file_name = name if name.endswith(_SUFFIX) else name + _SUFFIX
    if file_name not in SCHEMAS:
        raise CommandError(f"there is no schema called {name!r}; use one of {', '.join(_NAMES)}")
    return file_name


def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def write_schemas(directory: Path) -> list[tuple[Path, bool]]:
    """Write every schema into ``directory``; returns each file and whether it changed."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, generate in SCHEMAS.items():
        path = directory / file_name
        text = render(generate())
        changed = _read(path) != text
        if changed:
            # Bytes (no newline translation anywhere), under a temporary name, then renamed.
            write_file_atomic(path, text.encode("utf-8"))
        written.append((path, changed))
    return written


def stale_files(directory: Path) -> list[tuple[Path, str]]:
    """The schema files in ``directory`` that are missing or differ from the models."""
    stale = []
    for file_name, generate in SCHEMAS.items():
        path = directory / file_name
        current = _read(path)
        if current is None:
            stale.append((path, "missing"))
        elif current != render(generate()):
            stale.append((path, "stale"))
    return stale


@guarded(NAME)
def run(args: argparse.Namespace) -> int:
    """Print, write or check the schemas."""
    if args.name is not None and (args.write or args.check):
        raise CommandError(
            "--write and --check cover every schema; leave out NAME "
            f"({args.name!r}) or leave out the option"
        )
    if args.write:
        try:
            for path, changed in write_schemas(Path(args.write)):
                print(f"{'wrote' if changed else 'unchanged'} {path}")
        except OSError as exc:
            raise CommandError(
                f"cannot write into {args.write}: {exc.strerror or exc}; check that the "
                "directory is writable"
            ) from None
        return EXIT_OK
    if args.check:
        directory = Path(args.check)
        if not directory.is_dir():
            raise CommandError(f"--check {args.check}: no such directory; check the path")
        stale = stale_files(directory)
        if not stale:
            print(f"{len(SCHEMAS)} schema(s) in {directory} are up to date")
            return EXIT_OK
        for path, reason in stale:
            print(f"{path}: {reason}")
        print(
            f"{len(stale)} schema file(s) out of date; run `samverkan schema --write "
            f"{args.check}` and commit the result",
            file=sys.stderr,
        )
        return EXIT_FINDINGS
    file_name = _file_name(args.name or "routine")
    write_stdout(render(SCHEMAS[file_name]()))
    return EXIT_OK
