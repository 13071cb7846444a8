"""What many test modules share: the repository's folders and a way to write an event."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
"""The repository: the folder holding ``pyproject.toml``, ``routines/`` and ``tests/``."""

ROUTINES = ROOT / "routines"
EXAMPLES = ROOT / "examples"
FIXTURES = ROOT / "tests" / "fixtures"
"""Routines built for the tests: ``minimal.yaml``, ``engine.yaml``, variants and versions."""
INVALID = ROOT / "tests" / "invalid"
"""One broken routine a file, each ``fixtures/minimal.yaml`` with one thing wrong."""


def event(
    *, id: str, type: str, at: str | datetime, case: str = "c1", **data: Any
) -> dict[str, Any]:
    """One event as a line of an event file has it; the other keywords are its ``data``.

    ``at`` is the instant as written (an offset is part of what a test checks), or an aware
    ``datetime`` written in ISO 8601.
    """
    written = at.isoformat() if isinstance(at, datetime) else at
    return {"id": id, "case": case, "type": type, "at": written, "data": data}


def package_copy(directory: Path) -> Path:
    """``directory`` holding another ``samverkan_rules`` (as a checkout or an unpacked
    release would), one that stops any process importing it; returns ``directory``."""
    package = directory / "samverkan_rules"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise SystemExit('another copy of the package')\n")
    return directory
