"""What many test modules share: the repository's folders."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The repository: the folder holding ``pyproject.toml``, ``routines/`` and ``tests/``."""

ROUTINES = ROOT / "routines"
EXAMPLES = ROOT / "examples"
FIXTURES = ROOT / "tests" / "fixtures"
"""Routines built for the tests: ``minimal.yaml``, ``engine.yaml``, variants and versions."""
INVALID = ROOT / "tests" / "invalid"
"""One broken routine a file, each ``fixtures/minimal.yaml`` with one thing wrong."""
