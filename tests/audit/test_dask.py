"""The audit on a real Dask ``LocalCluster`` of two workers equals the single-process one."""

from __future__ import annotations

from pathlib import Path

import pytest

from samverkan_rules import load_registry
from samverkan_rules.audit.run import AuditOptions, run_audit

from .conftest import ROUTINE_ID, ROUTINES, Generated, audit_args, run_cli

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
    assert outcome.report.header.events_total["used"] == generated.history.events
    for name in OUTPUTS:
        assert (single / name).read_bytes() == (on_dask / name).read_bytes(), name
        assert (single / name).read_bytes() == (by_cli / name).read_bytes(), name
