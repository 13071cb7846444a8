"""The audit on a Dask cluster: partitions of cases audited on workers, partials merged here.

The staged events are split into ranges of the (pseudonymised) case ids as Parquet files;
each partition travels to a worker as bytes (workers need no shared disk; they never see
the key, and case ids only as pseudonyms), is audited there by
:func:`samverkan_rules.audit.audit_partition`, and comes back as a
:class:`~samverkan_rules.audit.report.Partial` and its obligation rows (gzipped CSV).
The merge is associative, so the report equals the single-process one.
"""

from __future__ import annotations

import gzip
import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from samverkan_rules.audit.partition import PartitionJob, audit_partition
from samverkan_rules.audit.reader import Staging
from samverkan_rules.audit.streams import cases_from_parquet
from samverkan_rules.audit.tallies import Partial


def connect(address: str) -> Any:
    """A ``dask.distributed.Client`` for the scheduler at ``address``.

    Raises:
        ImportError: when the ``audit-dask`` extra is not installed.
        OSError: when the scheduler cannot be reached.
    """
    from dask.distributed import Client

    return Client(address, timeout="10s")  # type: ignore[no-untyped-call]


def partition_task(job: PartitionJob, blobs: list[bytes]) -> tuple[Partial, bytes]:
    """Audit one partition on a worker: Parquet bytes in, a partial and gzipped rows out."""
    with tempfile.TemporaryDirectory(prefix="samverkan-part-") as tmp:
        files = []
        for i, blob in enumerate(blobs):
            path = Path(tmp) / f"part-{i}.parquet"
            path.write_bytes(blob)
            files.append(path)
        buffer = io.StringIO()
        streams = cases_from_parquet(files, job.file_names, spill=Path(tmp) / "spill")
        partial = audit_partition(job, streams, buffer)
    return partial, gzip.compress(buffer.getvalue().encode("utf-8"), mtime=0)


def audit_on_dask(
    client: Any,
    job: PartitionJob,
    staging: Staging,
    chunks: list[Path],
    partitions: int | None,
    advance: Callable[[int], None],
) -> Partial:
    """Audit every partition on the client's cluster; returns the merged partial.

    The rows each partition returns are written to ``chunks`` (gzipped CSV files in the
    staging directory) for the sorted ``obligations.csv``.
    """
    if partitions is None:
        workers = len(client.scheduler_info().get("workers", {})) or 1
        partitions = 4 * workers
    parts = staging.export_partitions(partitions)
    futures = []
    for files in parts:
        if not files:
            continue
        blobs = [f.read_bytes() for f in files]
        futures.append(client.submit(partition_task, job, blobs, pure=False))
    from dask.distributed import as_completed

    done = {}
    for future in as_completed(futures):  # type: ignore[no-untyped-call]
        done[future.key] = future.result()
    results: list[tuple[Partial, bytes]] = [done[f.key] for f in futures]  # the ranges' order
    for i, (partial, rows) in enumerate(results):
        chunk = staging.dir / f"rows-dask-{i}.csv.gz"
        chunk.write_bytes(rows)
        chunks.append(chunk)
        advance(partial.streams)
    return Partial.merge_all(partial for partial, _ in results)
