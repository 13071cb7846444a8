"""One partition of an audit: the cases of one staged slice evaluated and tallied.

A :class:`PartitionJob` carries everything a worker needs (the routines' texts, the period,
the cancelled meetings of the whole history), so the same function runs in this process or on
a Dask worker; the compiled routines are kept per process, keyed by the texts' hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TextIO

from samverkan_rules.audit.rows import AuditRules, ObligationRow, rows_for_case, sort_in_file_order
from samverkan_rules.audit.tables import CsvLines
from samverkan_rules.audit.tallies import Partial
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.events.model import Event
from samverkan_rules.events.source import CaseStream
from samverkan_rules.routine.load import load_routine_text
from samverkan_rules.time.instants import start_of_day


@dataclass(frozen=True)
class PartitionJob:
    """Everything a partition step needs, in plain data (it travels to Dask workers).

    Routines travel as their YAML text, so workers need no access to the routine files.
    """

    routines: tuple[tuple[str, str], ...]
    """(file name, YAML text) of each audited routine version."""
    compare: tuple[tuple[str, str], ...] | None
    """The same for the compared versions, or None."""
    as_of: str
    first: date
    last: date
    file_names: tuple[str, ...]
    """Input names by file number, for diagnostics."""
    called_off: tuple[Event, ...] = ()
    """Every case's events that call off a schedule's occurrence (they count for all)."""
    group_by: tuple[str, ...] = ()
    """Data fields (``data.enhet``) the obligations are also counted by."""
    closed: bool = False
    """A closed-period view: leave out obligations whose deadline falls after ``last``."""

    @property
    def token(self) -> str:
        """Identifies the job's routines and instant (a worker compiles them once)."""
        digest = hashlib.sha256()
        for name, text in (*self.routines, *(self.compare or ())):
            digest.update(name.encode() + b"\0" + text.encode() + b"\0")
        digest.update(self.as_of.encode() + b"\0" + self.last.isoformat().encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class _Prepared:
    rules: AuditRules
    compare: AuditRules | None
    as_of: datetime
    period_end: datetime
    routine_level: frozenset[tuple[str, str]]
    compare_level: frozenset[tuple[str, str]]


_PREPARED: dict[str, _Prepared] = {}


@lru_cache(maxsize=2)
def compile_texts(texts: tuple[tuple[str, str], ...]) -> list[CompiledRoutine]:
    """Routines compiled from (file name, YAML text) pairs, as jobs carry them; the last two
    sets kept (a job's audited and compared versions), so that a worker compiles them once
    for reading and auditing."""
    return [load_routine_text(text, file=name) for name, text in texts]


def _baseline(rules: AuditRules, as_of: datetime) -> frozenset[tuple[str, str]]:
    return frozenset((d.code, d.message) for d in rules.baseline(as_of).diagnostics)


def _prepare(
    job: PartitionJob,
    routines: Sequence[CompiledRoutine] | None = None,
    compare: Sequence[CompiledRoutine] | None = None,
) -> _Prepared:
    cached = _PREPARED.get(job.token) if routines is None else None
    if cached is not None:
        return cached
    as_of = datetime.fromisoformat(job.as_of)
    rules = AuditRules.prepare(routines if routines is not None else compile_texts(job.routines))
    other: AuditRules | None = None
    if job.compare is not None:
        other = AuditRules.prepare(compare if compare is not None else compile_texts(job.compare))
    tz = rules.routines[0].tz
    prepared = _Prepared(
        rules,
        other,
        as_of,
        min(as_of, start_of_day(job.last + timedelta(days=1), tz)),
        _baseline(rules, as_of),
        _baseline(other, as_of) if other else frozenset(),
    )
    if routines is None:  # compiled from the job's texts: once per worker process
        _PREPARED.clear()  # one job at a time per process: keep memory flat
        _PREPARED[job.token] = prepared
    return prepared


def _waiting_past(row: ObligationRow, as_of: datetime) -> bool:
    """Whether the row is a waiting (blocked) obligation whose deadline passed by as_of."""
    return row.status == "blocked" and datetime.fromisoformat(row.deadline) < as_of


def _texts(row: ObligationRow) -> tuple[str, ...]:
    """The row's fields as ``obligations.csv`` writes them (no lateness: empty)."""
    late_wd, late_cd = row.late_working_days, row.late_calendar_days
    return (
        *row[:10],
        "" if late_wd is None else str(late_wd),
        "" if late_cd is None else str(late_cd),
        row.obligation,
        row.trigger_event,
        *row.groups,
    )


def audit_partition(
    job: PartitionJob,
    streams: CaseStream,
    rows_out: TextIO,
    *,
    advance: Callable[[int], None] = lambda n: None,
    routines: Sequence[CompiledRoutine] | None = None,
    compare: Sequence[CompiledRoutine] | None = None,
) -> Partial:
    """Audit some cases: the per-partition step. Partials merge with :meth:`Partial.merge`.

    Args:
        job: The routines, instant and period.
        streams: (case, events) for each case of the partition, in the order of the case
            ids, as :meth:`Staging.cases` and the partitions' readers give them.
        rows_out: Where the obligations of the period go, as CSV rows without a header,
            in the order of ``obligations.csv`` (the cases' order, each case's rows sorted).
        advance: Called with 1 after each case (progress).
        routines: The compiled routines, when the caller has them (else compiled from the
            job's texts, once per process).
        compare: The same for the compared routines.
    """
    prepared = _prepare(job, routines, compare)
    partial = Partial()
    lines = CsvLines(rows_out)
    first, last = job.first.isoformat(), job.last.isoformat()
    for case, events in streams:
        partial.streams += 1
        written: list[tuple[str, ...]] = []
        result = rows_for_case(
            prepared.rules,
            case,
            events,
            prepared.as_of,
            routine_level=prepared.routine_level,
            context=job.called_off,
            group_by=job.group_by,
            period_end=prepared.period_end,
            checked=True,  # the reader checked them against the audited routines
        )
        for row in result.rows:
            if first <= row.trigger[:10] <= last:
                if job.closed and row.deadline[:10] > last:
                    partial.left_out += 1
                    continue
                partial.add(row, _waiting_past(row, prepared.as_of))
                written.append(_texts(row))
        sort_in_file_order(written)
        partial.add_case(case, written)
        lines.write_all(written)
        for period in result.periods:
            if first <= period.start[:10] <= last:
                partial.add_period(period)
        for record in result.diagnostics:
            partial.add_diagnostic(record)
        partial.not_in_force += result.not_in_force
        if prepared.compare is not None:
            other = rows_for_case(
                prepared.compare,
                case,
                events,
                prepared.as_of,
                routine_level=prepared.compare_level,
                context=job.called_off,
            )
            for row in other.rows:
                if first <= row.trigger[:10] <= last:
                    if job.closed and row.deadline[:10] > last:
                        continue
                    partial.add_compared(row, _waiting_past(row, prepared.as_of))
            partial.compare_rejected += sum(1 for d in other.diagnostics if d["level"] == "error")
        advance(1)
    return partial.fold()
