"""Audits: years of case logs against the routine versions in force, as a compliance report.

The pieces, each in its own module:

- :mod:`.inputs`: which files to read and how (CSV delimiter sniffed or given, text
  encoding such as Excel's cp1252);
- :mod:`.reader`: event files (JSON Lines, CSV, optionally gzipped, and Parquet) to one
  stream of events per case, with DuckDB sorting and spilling to disk;
- :mod:`.rows`: the one call into the evaluator, a case's events to obligation rows;
- :mod:`.report`: aggregates, the associative merge of partial results, the report;
- :mod:`.tables`: the report's tables as CSV files;
- :mod:`.html`: the offline HTML report with its charts;
- :mod:`.drill`: the worst cases and most overdue obligations, and a page per listed case;
- :mod:`.pseudonym`: keyed pseudonyms and personnummer checks;
- :mod:`.dask`: the partitions on a Dask cluster;
- :mod:`.synthetic`: histories with known outcomes, for tests, benchmarks and
  ``samverkan audit generate``.

Needs the ``audit`` extra (``pip install 'samverkan-rules[audit]'``); the Dask path needs
``audit-dask``. Importing this package needs neither: the names below load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from samverkan_rules.audit.models import AuditReport
    from samverkan_rules.audit.partition import PartitionJob, audit_partition
    from samverkan_rules.audit.run import AuditError, AuditOptions, AuditOutcome, run_audit
    from samverkan_rules.audit.tallies import Partial

__all__ = [
    "AuditError",
    "AuditOptions",
    "AuditOutcome",
    "AuditReport",
    "Partial",
    "PartitionJob",
    "audit_partition",
    "run_audit",
]

_WHERE = {
    "AuditReport": "models",
    "Partial": "tallies",
    "AuditError": "run",
    "AuditOptions": "run",
    "AuditOutcome": "run",
    "PartitionJob": "run",
    "audit_partition": "run",
    "run_audit": "run",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
