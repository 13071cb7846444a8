"""Shared helpers for the audit tests: generated histories and a CLI runner.

The root conftest leaves this directory out when the ``audit`` extra is not installed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("duckdb")
pytest.importorskip("jinja2")

from samverkan_rules.audit.synthetic import History, generate_history, write_files
from samverkan_rules.cli import main

ROOT = Path(__file__).resolve().parents[2]
ROUTINES = ROOT / "routines"
ROUTINE_ID = "orebro-dagverksamhet-hemvard"
KEY = "a-test-key-of-enough-bytes"


@dataclass
class Generated:
    """A generated history on disk."""

    history: History
    paths: list[Path]
    case_ids: set[str]


def generate(
    directory: Path, seed: int = 1, cases: int = 25, files: int = 3, years: int = 2
) -> Generated:
    """Write a history with known outcomes into ``directory`` (shuffled over ``files``)."""
    history, stream = generate_history(seed, cases, years=years)
    ids: set[str] = set()

    def keep() -> object:
        for events in stream:
            ids.add(events[0]["case"])
            yield events

    paths = write_files(keep(), directory, files=files, shuffle=random.Random(seed))  # type: ignore[arg-type]
    return Generated(history, paths, ids)


def audit_args(events: Sequence[Path | str], out: Path, *extra: str) -> list[str]:
    """The command line of an audit of the Örebro routine."""
    return [
        "audit",
        "--routines",
        str(ROUTINES),
        "--id",
        ROUTINE_ID,
        "--events",
        *(str(e) for e in events),
        "--out",
        str(out),
        *extra,
    ]


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch, key: str | None = KEY) -> int:
    """Run ``samverkan`` in-process with the key in the environment (or none)."""
    if key is None:
        monkeypatch.delenv("SAMVERKAN_AUDIT_KEY", raising=False)
    else:
        monkeypatch.setenv("SAMVERKAN_AUDIT_KEY", key)
    return main(args)


@pytest.fixture
def generated(tmp_path: Path) -> Generated:
    """A small generated history."""
    return generate(tmp_path / "in")
