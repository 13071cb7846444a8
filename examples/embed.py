"""Embed samverkan-rules: load a routine, read a case log, evaluate, print the actions.

Run from the repository root::

    python examples/embed.py

It evaluates ``examples/orebro-case.jsonl`` against the Örebro routine at a fixed instant
(2026-12-15 12:00 Swedish time), prints each action's one-line explanation and then the full
JSON result, the public contract an integration parses.
"""

from __future__ import annotations

import io
import sys
from datetime import datetime
from pathlib import Path

from samverkan_rules import evaluate, load_routine, read_events

ROOT = Path(__file__).resolve().parent.parent
ROUTINE = ROOT / "routines" / "orebro-dagverksamhet-hemvard.yaml"
EVENTS = ROOT / "examples" / "orebro-case.jsonl"
AS_OF = datetime.fromisoformat("2026-12-15T12:00:00+01:00")


def main() -> int:
    """Evaluate the bundled case log and print what is to be done; returns the exit code."""
    # The JSON contract is UTF-8: write it as UTF-8 whatever the locale says
    # (PYTHONIOENCODING=ascii or LC_ALL=C would otherwise fail on "Örebro").
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8")
    # Compile once and reuse: a compiled routine is immutable and safe to share across threads.
    routine = load_routine(ROUTINE)
    # Reading never drops a line silently: rejected lines come back as diagnostics.
    batch = read_events(EVENTS)
    result = evaluate(routine, batch, AS_OF)

    print(f"Actions as of {result.as_of} ({routine.id} version {routine.version}):")
    for case in result.cases:
        for action in case.actions:
            print(f"  [{case.case}] {action.status:<8} {action.explanation}")
    for diagnostic in result.diagnostics:
        where = f" line {diagnostic.line}" if diagnostic.line is not None else ""
        print(f"  {diagnostic.level}{where}: {diagnostic.message}", file=sys.stderr)

    print()
    print(result.to_json())
    return 1 if any(d.level == "error" for d in result.diagnostics) else 0


if __name__ == "__main__":
    sys.exit(main())
