"""The audit on a real Dask ``LocalCluster`` of two workers equals the single-process one."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from samverkan_rules import load_registry
from samverkan_rules.audit.run import AuditOptions, run_audit
from tests.audit.support import ROUTINE_ID, Generated, audit_args, run_cli
from tests.support import ROUTINES, event

distributed = pytest.importorskip("dask.distributed")

OUTPUTS = ("report.json", "obligations.csv", "summary.csv", "periods.csv", "report.html")


def test_dask_report_is_byte_identical(
    generated: Generated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    routines = list(load_registry(ROUTINES).versions(ROUTINE_ID))
    key = b"a-test-key-of-enough-bytes"
    single = tmp_path / "single"
    run_audit(
        AuditOptions(
            routines=routines, events=[str(p) for p in generated.paths], out=str(single), key=key
        )
    )
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = tmp_path / "dask"
        outcome = run_audit(
            AuditOptions(
                routines=routines,
                events=[str(p) for p in generated.paths],
                out=str(on_dask),
                key=key,
                client=client,
                partitions=2,
            )
        )
        assert len(client.scheduler_info()["workers"]) == 2
        # The command line's --dask: a client of its own to the same scheduler.
        by_cli = tmp_path / "cli"
        args = audit_args(generated.paths, by_cli, "--dask", cluster.scheduler_address)
        assert run_cli(args, monkeypatch, key=key.decode()) == 0
        # A cancelled meeting logged in the unit's case moves the deadlines of the person
        # cases in other partitions too: the workers get every case's cancellations.
        history = write_meetings(tmp_path / "meetings.jsonl")
        katrineholm = list(load_registry(ROUTINES).versions("katrineholm-hemtjanst-vardcentral"))
        meetings = {}
        for name, extra in (("single", {}), ("dask", {"client": client, "partitions": 3})):
            meetings[name] = run_audit(
                AuditOptions(
                    routines=katrineholm,
                    events=[str(history)],
                    out=str(tmp_path / f"meetings-{name}"),
                    key=key,
                    as_of=datetime.fromisoformat("2026-10-01T00:00:00+02:00"),
                    **extra,  # type: ignore[arg-type]
                )
            ).report
    assert outcome.report.header.events_total["used"] == generated.history.events
    for name in OUTPUTS:
        assert (single / name).read_bytes() == (on_dask / name).read_bytes(), name
        assert (single / name).read_bytes() == (by_cli / name).read_bytes(), name
    assert meetings["single"].to_json() == meetings["dask"].to_json()
    raised = {r.rule: r.statuses for r in meetings["dask"].by_rule}
    # Every question came after the 15 September meeting was called off and was raised on
    # 22 September: on time, none late.
    assert raised["raise-at-linden"]["fulfilled"] == MEETING_CASES
    assert raised["raise-at-linden"]["fulfilled_late"] == raised["raise-at-linden"]["overdue"] == 0


MEETING_CASES = 12


def write_meetings(path: Path) -> Path:
    """Questions to Linden in many cases after the meeting of 15 September 2026 was called
    off in the unit's case; each is raised at the meeting of 22 September."""
    events: list[dict[str, Any]] = [
        event(
            id="m1",
            case="hemtjanstgruppen",
            type="vc_meeting.cancelled",
            at="2026-09-14T09:00:00+02:00",
            vardcentral="linden",
            date="2026-09-15",
        )
    ]
    for n in range(MEETING_CASES):
        case = f"brukare-{n}"
        events += [
            event(
                id=f"{case}-k",
                case=case,
                type="consent.given",
                at="2026-09-01T09:00:00+02:00",
                form="written",
            ),
            event(
                id=f"{case}-q",
                case=case,
                type="vc_contact.needed",
                at=f"2026-09-14T1{n % 6}:00:00+02:00",
                vardcentral="linden",
                question="läkemedel",
            ),
            event(
                id=f"{case}-h",
                case=case,
                type="vc_meeting.held",
                at="2026-09-22T14:00:00+02:00",
                vardcentral="linden",
            ),
        ]
    path.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in events) + "\n")
    return path
