"""What the audit tests share: generated histories, the command line of an audit and a
runner for it. The fixtures built from them are in this folder's conftest.py.

The root conftest leaves this directory out when the ``audit`` extra is not installed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("duckdb")
pytest.importorskip("jinja2")

from samverkan_rules.audit.models import AuditHeader, Period, Software
from samverkan_rules.audit.synthetic import ROUTINE_ID, History, generate_history, write_files
from samverkan_rules.cli import main
from tests.support import ROUTINES, event

KEY = "a-test-key-of-enough-bytes"
VARIANT = "utskrivning-sluten-vard-exempelregion"
"""The discharge routine's regional variant: it declares a priced period."""
DISCHARGE_YEAR = (date(2026, 1, 1), date(2026, 12, 31))
DISCHARGE_AS_OF = "2027-01-15T00:00:00+01:00"
_TZ = ZoneInfo("Europe/Stockholm")


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


def bare_header(as_of: str, routine_id: str, first: date, last: date) -> AuditHeader:
    """A report header with no inputs, routine records or software versions: for reports
    finished from partials in the tests."""
    return AuditHeader(
        as_of=as_of,
        period=Period.model_validate({"from": first.isoformat(), "to": last.isoformat()}),
        routine_id=routine_id,
        routines=[],
        software=Software.model_validate(
            {"samverkan-rules": "x", "holidays": "x", "duckdb": "x", "python": "x"}
        ),
        inputs=[],
        pseudonymised=True,
        key_fingerprint=None,
        events_total={},
        cases=0,
    )


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


def discharge_history(seed: int, cases: int) -> list[dict[str, Any]]:
    """Ready-for-discharge notices through 2026, each discharged 0 to 20 days later or not
    at all (an open period), at random local times."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for n in range(cases):
        day = DISCHARGE_YEAR[0] + timedelta(days=rng.randrange(0, 330))
        ready = datetime(day.year, day.month, day.day, rng.randrange(7, 18), 5, tzinfo=_TZ)
        case = f"patient-{seed}-{n}"
        events.append(
            event(id=f"{case}-ready", case=case, type="patient.ready_for_discharge", at=ready)
        )
        if rng.random() < 0.8:
            out = ready + timedelta(hours=rng.randrange(2, 20 * 24))
            events.append(
                event(
                    id=f"{case}-out",
                    case=case,
                    type="patient.discharged",
                    at=out,
                    to=rng.choice(["hem", "sarskilt_boende"]),
                )
            )
    return events


def write_shuffled(events: list[dict[str, Any]], path: Path) -> Path:
    rng = random.Random(7)
    lines = [json.dumps(e, ensure_ascii=False) for e in events]
    rng.shuffle(lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
