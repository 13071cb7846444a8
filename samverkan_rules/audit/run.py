"""The audit from files to report: options, the per-partition step, outputs written atomically.

:func:`audit_partition` is the step a partition of cases goes through (on this machine, or
on a Dask worker); :func:`run_audit` reads the inputs, runs the step over every case (or
hands partitions to a Dask client), merges the partials and writes ``report.json``,
``obligations.csv``, ``summary.csv``, ``rule_months.csv``, ``periods.csv`` and
``report.html`` (with ``group_by`` also ``groups.csv`` and ``group_months.csv``, see
:mod:`.tables`; with ``xlsx`` also ``report.xlsx``, see :mod:`.xlsx`; the pages of the cases
report.html lists in ``cases/``, see :mod:`.drill`) into the output directory.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

import duckdb

from samverkan_rules._version import version
from samverkan_rules.audit.compare import compare_report
from samverkan_rules.audit.inputs import (
    ColumnMap,
    InputError,
    InputFile,
    ReadOptions,
    check_encoding,
    find_inputs,
    tally_total,
)
from samverkan_rules.audit.models import (
    AuditHeader,
    AuditReport,
    InputRecord,
    Period,
    Software,
)
from samverkan_rules.audit.partition import PartitionJob, audit_partition
from samverkan_rules.audit.policy import BreachPolicy, check_target, policy_record
from samverkan_rules.audit.pool import (
    Workers,
    audit_in_processes,
    read_in_processes,
    reading_workers,
    workers_for,
)
from samverkan_rules.audit.pseudonym import Pseudonymiser, mask
from samverkan_rules.audit.reader import Staging
from samverkan_rules.audit.report import finish, routine_records
from samverkan_rules.audit.rows import AuditRules, queue_results
from samverkan_rules.audit.swedish import swedish_csv, swedish_csv_file
from samverkan_rules.audit.tables import obligations_csv, report_tables
from samverkan_rules.audit.tallies import Partial
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.engine.occurrences import cancelling_types
from samverkan_rules.events.retraction import RETRACTED
from samverkan_rules.records import QueueResult, to_builtins
from samverkan_rules.routine.registry import Registry
from samverkan_rules.time.instants import format_rfc3339, local_date, start_of_day


class AuditError(Exception):
    """The audit cannot run: bad usage or unusable input. The message says what to do.

    Attributes:
        diagnostics: The findings about the input that led to it (each record rejected,
            with its file and line), to show before the message.
    """

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.diagnostics = tuple(diagnostics)


@dataclass(frozen=True)
class RejectLimit:
    """How many rejected records an audit tolerates before it fails (``--max-rejected``).

    Attributes:
        limit: The most records that may be rejected, or the most percent of those read.
        percent: Whether ``limit`` is a percentage.
    """

    limit: float
    percent: bool = False

    def exceeded(self, rejected: int, read: int) -> bool:
        """Whether ``rejected`` of ``read`` records is past the limit.

        Examples:
            >>> RejectLimit(5).exceeded(6, 100), RejectLimit(5, percent=True).exceeded(5, 100)
            (True, False)
        """
        if self.percent:
            return rejected * 100 > self.limit * read
        return rejected > self.limit

    def __str__(self) -> str:
        return f"{self.limit:g}%" if self.percent else f"{int(self.limit)}"


@dataclass(frozen=True)
class AuditOptions:
    """What to audit and how (the command line's options, for the Python API).

    Attributes:
        routines: The audited routine versions (one routine id, every version).
        events: Files or directories of events.
        out: The output directory (created when missing).
        first: First day of the period (default: the first event's local date).
        last: Last day of the period (default: the last event's local date).
        as_of: When statuses are judged (default: the start of the day after ``last``).
        key: The pseudonymisation key; None only with ``identify``.
        identify: Write case ids as they are (on purpose; no key needed).
        compare: Other routine versions to audit the same history under.
        client: A ``dask.distributed.Client``: audit the partitions on its cluster.
        partitions: How many partitions to make for Dask (default 4 per worker).
        jobs: Worker processes on this machine (default: the available cores; 1: all in
            this process): for reading, input files or pieces of a JSON Lines file (see
            :func:`.pool.reading_workers`); for the evaluation, partitions of cases (not with
            ``client``; see :func:`.pool.workers_for`). By default small audits run in this
            process.
        progress: Show progress bars (the command line: when stderr is a terminal).
        memory_limit: DuckDB's memory limit before it spills to disk.
        work_dir: Where temporary files go (default the system's temporary directory).
        delimiter: The CSV files' delimiter; None sniffs it from each file's header.
        encoding: The text encoding of JSON Lines and CSV files (e.g. ``cp1252``).
        max_rejected: Fail (no report) when more records than this are rejected.
        group_by: Data fields (``data.enhet``) to count obligations by as well, each as the
            case's events last gave it at or before the obligation's trigger.
        columns: A column map (:func:`~samverkan_rules.audit.inputs.load_column_map`).
        extra_columns: Take columns that are not event keys into ``data`` under their names
            (instead of rejecting the record).
        xlsx: Also write ``report.xlsx`` (needs XlsxWriter, in the ``audit`` extra).
        blocked_is_breach: Count a waiting (blocked) obligation whose deadline passed as a
            breach, in the on-time rate (see :mod:`.policy`).
        tolerance: Done late by at most this many working days counts as on time.
        closed: A closed-period view: leave out obligations whose deadline falls after
            the period's last day.
        target: The on-time rate each month is held against, above 0 and at most 1 (0.9:
            90 %); report.html marks the months and rule-months below it. None: no target.
        lang: ``sv`` writes the CSV files for Swedish Excel (Swedish column names, ``;``,
            decimal comma, a UTF-8 byte order mark, see :mod:`.swedish`); ``en`` (the
            default) the form for programs.
    """

    routines: Sequence[CompiledRoutine]
    events: Sequence[str]
    out: str
    first: date | None = None
    last: date | None = None
    as_of: datetime | None = None
    key: bytes | None = None
    identify: bool = False
    compare: Sequence[CompiledRoutine] | None = None
    client: Any = None
    partitions: int | None = None
    jobs: int | None = None
    progress: bool = False
    memory_limit: str = "256MB"
    work_dir: str | None = None
    routine_id: str = field(default="")
    delimiter: str | None = None
    encoding: str = "utf-8"
    max_rejected: RejectLimit | None = None
    group_by: tuple[str, ...] = ()
    columns: ColumnMap | None = None
    extra_columns: bool = False
    xlsx: bool = False
    lang: str = "en"
    blocked_is_breach: bool = False
    tolerance: int = 0
    closed: bool = False
    target: float | None = None

    @property
    def policy(self) -> BreachPolicy:
        """The breach policy these options ask for."""
        return BreachPolicy(self.blocked_is_breach, self.tolerance, self.closed)


@dataclass(frozen=True)
class AuditOutcome:
    """What a run produced."""

    report: AuditReport
    files: tuple[Path, ...]
    rejected: int
    """Events rejected over all inputs (the command exits 1 when any)."""
    errors: int
    """Error-level diagnostics."""


def _bar(enabled: bool, total: int | None, label: str, unit: str) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=label,
        unit=unit,
        disable=not enabled,
        file=sys.stderr,
        leave=False,
        unit_scale=True,
        dynamic_ncols=True,
    )


def _software() -> Software:
    return Software.model_validate(
        {
            "samverkan-rules": version(),
            "holidays": dist_version("holidays"),
            "duckdb": duckdb.__version__,
            "python": platform.python_version(),
        }
    )


def _period(staging: Staging, options: AuditOptions, tz: Any) -> tuple[date, date, datetime]:
    span = staging.span()
    if span is None:
        raise AuditError(
            "no usable events in the inputs; every record was rejected (see the messages above)",
            staging.diagnostics,
        )
    first = options.first or local_date(span[0], tz)
    last = options.last or local_date(span[1], tz)
    if first > last:
        raise AuditError(
            f"the period is empty: --from {first.isoformat()} is after --to {last.isoformat()}"
        )
    end = start_of_day(last + timedelta(days=1), tz)
    as_of = options.as_of or end
    if as_of < end:
        raise AuditError(
            f"--as-of {format_rfc3339(as_of)} is before the end of the period "
            f"({format_rfc3339(end)}); statuses are judged after the period has ended"
        )
    return first, last, as_of


def _texts(routines: Sequence[CompiledRoutine]) -> tuple[tuple[str, str], ...]:
    out = []
    for r in routines:
        if r.file is None:
            raise AuditError(f"routine {r.id} {r.version} has no file to send to the workers")
        out.append((r.file, Path(r.file).read_text(encoding="utf-8")))
    return tuple(out)


def _write_atomic(path: Path, data: bytes) -> Path:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    return tmp


_GROUP_FIELD = re.compile(r"^data(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def _read_options(options: AuditOptions) -> ReadOptions:
    """How to read the inputs; the grouped and mapped fields are declared (not warned)."""
    for name in options.group_by:
        if not _GROUP_FIELD.match(name):
            raise AuditError(
                f"--group-by {name}: name a data field, e.g. data.enhet or data.utforare"
            )
    if len(set(options.group_by)) != len(options.group_by):
        raise AuditError("--group-by: each field once")
    mapping = options.columns or ColumnMap({}, False, frozenset())
    declared = {g.removeprefix("data.").split(".")[0] for g in options.group_by}
    declared |= {t.removeprefix("data.") for t in mapping.columns.values() if "." in t}
    return ReadOptions(
        delimiter=options.delimiter,
        encoding=check_encoding(options.encoding),
        columns=mapping.columns,
        extra_into_data=options.extra_columns or mapping.extra_into_data,
        declared=frozenset(declared | mapping.fields),
    )


def _pseudonymiser(options: AuditOptions) -> Pseudonymiser:
    """The case ids' pseudonymiser; without a key, only an explicit ``identify`` will do."""
    if options.key is None and not options.identify:
        raise AuditError(
            "no pseudonymisation key: give --key-file FILE or set SAMVERKAN_AUDIT_KEY, or "
            "--identify to write case ids as they are"
        )
    return Pseudonymiser(None if options.identify else options.key)


def _out_dir(options: AuditOptions) -> Path:
    out = Path(options.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AuditError(f"--out {options.out}: {exc.strerror or exc}") from None
    return out


def _read_inputs(
    staging: Staging,
    inputs: list[InputFile],
    options: AuditOptions,
    routines: Sequence[CompiledRoutine],
    workers: Workers,
) -> None:
    """Pass 1 over the inputs, here or in worker processes (large inputs, routines read from
    files); fails past ``--max-rejected`` rejected records (showing them)."""
    count = 1 if any(r.file is None for r in routines) else reading_workers(options.jobs, inputs)
    with _bar(options.progress, None, "reading", "events") as bar:
        try:
            if count > 1:
                read_in_processes(staging, inputs, _texts(routines), workers, count, bar.update)
            else:
                staging.load(inputs, bar.update)
        except InputError as exc:
            raise AuditError(str(exc), staging.diagnostics) from None
    totals = tally_total(staging.tallies)
    limit = options.max_rejected
    if limit is not None and limit.exceeded(totals["rejected"], totals["read"]):
        raise AuditError(
            f"{totals['rejected']} of {totals['read']} records were rejected, more than "
            f"--max-rejected {limit} allows (see the messages above); no report is written",
            staging.diagnostics,
        )


def _workers(
    options: AuditOptions,
    routines: Sequence[CompiledRoutine],
    compare: Sequence[CompiledRoutine] | None,
    staging: Staging,
) -> int:
    """Worker processes for pass 2 here (1: this process; always 1 with Dask, or when a
    routine has no file to send to the workers)."""
    if options.client is not None or any(r.file is None for r in (*routines, *(compare or ()))):
        return 1
    return workers_for(options.jobs, tally_total(staging.tallies)["used"])


def _job(
    options: AuditOptions,
    routines: Sequence[CompiledRoutine],
    compare: Sequence[CompiledRoutine] | None,
    rules: AuditRules,
    staging: Staging,
    period: tuple[date, date, datetime],
    workers: int,
) -> PartitionJob:
    """What every partition needs; the routines' texts only when they go to other processes
    (Dask workers or this machine's)."""
    first, last, as_of = period
    calling_off = rules.cancelling_types | cancelling_types(compare or ())
    if calling_off:  # a retracted event calls nothing off
        calling_off |= {RETRACTED}
    ship = options.client is not None or workers > 1
    return PartitionJob(
        routines=_texts(routines) if ship else (),
        compare=((_texts(compare) if ship else ()) if compare is not None else None),
        as_of=format_rfc3339(as_of.astimezone(routines[0].tz)),
        first=first,
        last=last,
        file_names=tuple(staging.file_names()),
        called_off=tuple(staging.events_of_types(calling_off)),
        group_by=tuple(options.group_by),
        closed=options.closed,
    )


def _audit_cases(
    options: AuditOptions,
    job: PartitionJob,
    staging: Staging,
    routines: Sequence[CompiledRoutine],
    compare: Sequence[CompiledRoutine] | None,
    count: int,
    workers: Workers,
) -> tuple[Partial, list[Path]]:
    """Every case through the partition step, here, in worker processes or on Dask; the
    merged partial and the chunks of obligation rows it wrote."""
    chunks: list[Path] = []
    total_streams = staging.stream_count()
    with _bar(options.progress, total_streams, "auditing", "cases") as bar:
        if options.client is None and count > 1:
            partial = audit_in_processes(job, staging, chunks, workers, count, bar.update)
        elif options.client is None:
            chunk = staging.dir / "rows-0.csv"
            with chunk.open("w", encoding="utf-8", newline="") as handle:
                partial = audit_partition(
                    job,
                    staging.cases(),
                    handle,
                    advance=bar.update,
                    routines=routines,
                    compare=compare,
                )
            chunks.append(chunk)
        else:
            from samverkan_rules.audit.dask import audit_on_dask

            partial = audit_on_dask(
                options.client, job, staging, chunks, options.partitions, bar.update
            )
    return partial, chunks


def _add_run_findings(
    partial: Partial, rules: AuditRules, staging: Staging, as_of: datetime
) -> list[QueueResult]:
    """Add what is found once per run, not per case, to ``partial``; returns the queues."""
    for record in rules.baseline(as_of).diagnostics:  # routine-level: once, not per case
        partial.add_diagnostic(to_builtins(record))
    queue_list, queue_findings = queue_results(rules, staging.queue_events(), as_of)
    for finding in queue_findings:
        partial.add_diagnostic(finding)
    for d in staging.diagnostics:
        partial.add_diagnostic(d.to_json())
    return queue_list


def _input_records(staging: Staging, pseudonyms: Pseudonymiser) -> list[InputRecord]:
    records = []
    for item, tally in staging.counts():
        records.append(
            InputRecord(
                file=mask(item.name) if pseudonyms.active else item.name,
                format=item.format,
                sha256=tally.sha256,
                events_read=tally.read,
                events_used=tally.read - tally.rejected,
                events_rejected=tally.rejected,
                events_after_as_of=tally.after_as_of,
            )
        )
    return records


def _header(
    options: AuditOptions,
    registry: Registry,
    routines: Sequence[CompiledRoutine],
    pseudonyms: Pseudonymiser,
    records: list[InputRecord],
    totals: Mapping[str, int],
    cases: int,
    period: tuple[date, date, datetime],
) -> AuditHeader:
    first, last, as_of = period
    return AuditHeader(
        as_of=format_rfc3339(as_of.astimezone(routines[0].tz)),
        period=Period.model_validate({"from": first.isoformat(), "to": last.isoformat()}),
        routine_id=options.routine_id or registry.ids()[0],
        routines=routine_records(routines),
        software=_software(),
        inputs=records,
        pseudonymised=pseudonyms.active,
        key_fingerprint=pseudonyms.fingerprint(),
        events_total={k: totals[k] for k in ("read", "used", "rejected", "after_as_of")},
        cases=cases,
        group_by=list(options.group_by),
        target=options.target,
    )


def _write_outputs(
    out: Path,
    targets: Mapping[str, bytes],
    chunks: list[Path],
    options: AuditOptions,
    staging: Staging,
    report: AuditReport,
) -> tuple[Path, ...]:
    """Write every output under a temporary name, then rename them all into place; on any
    failure the temporary files go and the directory is left as it was. ``obligations.csv``
    is the chunks one after another (each sorted, in the order of the partitions)."""
    temporary: dict[Path, Path] = {}
    try:
        obligations = out / "obligations.csv"
        tmp = obligations.with_name(f".{obligations.name}.tmp-{os.getpid()}")
        obligations_csv(chunks, tmp, options.group_by)
        temporary[obligations] = tmp
        swedish = options.lang == "sv"
        for name, data in targets.items():
            if swedish and name.endswith(".csv"):
                data = swedish_csv(data)
            (out / name).parent.mkdir(exist_ok=True)  # cases/ for the case pages
            temporary[out / name] = _write_atomic(out / name, data)
        if options.xlsx:
            from samverkan_rules.audit.xlsx import write_workbook

            book = out / "report.xlsx"
            temporary[book] = book.with_name(f".{book.name}.tmp-{os.getpid()}")
            write_workbook(report, targets, tmp, temporary[book])
        if swedish:
            temporary[obligations] = tmp.with_name(f"{tmp.name}.sv")
            swedish_csv_file(tmp, temporary[obligations])
            tmp.unlink()
    except BaseException:
        for tmp in temporary.values():
            tmp.unlink(missing_ok=True)
        raise
    for final, tmp in temporary.items():
        os.replace(tmp, final)
    return tuple(sorted(temporary))


def _drill(
    report: AuditReport,
    partial: Partial,
    staging: Staging,
    rules: AuditRules,
    as_of: datetime,
) -> tuple[AuditReport, Any]:
    """The report with its worst cases and most overdue obligations, and the
    :class:`.drill.DrillDown` with the pages of their cases."""
    from samverkan_rules.audit.drill import drill_down

    drill = drill_down(partial, staging, rules, rules.routines, as_of)
    update = {"worst_cases": drill.cases, "most_overdue": drill.overdue}
    return report.model_copy(update=update), drill


def _finish(
    partial: Partial,
    header: AuditHeader,
    routines: Sequence[CompiledRoutine],
    compare: Sequence[CompiledRoutine] | None,
    queues: Sequence[QueueResult],
    period: tuple[date, date, datetime],
    policy: BreachPolicy,
) -> AuditReport:
    """The report from the merged partial: the policy in the header, the comparison."""
    first, last, _as_of = period
    partial.fold()  # the comparison below reads the tallies before finish() does
    header = header.model_copy(update={"policy": policy_record(policy, partial.left_out)})
    compared = None
    if compare is not None:
        compared = compare_report(
            partial.rules,
            partial.compare,
            routines,
            compare,
            first=first,
            last=last,
            rejected=partial.compare_rejected,
            policy=policy,
        )
    return finish(
        partial,
        header,
        routines,
        first=first,
        last=last,
        queues=queues,
        compare=compared,
        policy=policy,
    )


def run_audit(options: AuditOptions) -> AuditOutcome:
    """Audit the event history and write the report files into ``options.out``.

    Every output is written under a temporary name and renamed into place only when all of
    them are complete, so a failed run leaves the directory as it was.

    Raises:
        AuditError: bad usage or unusable input (the command exits 2).
    """
    from samverkan_rules.audit.html import render_html

    pseudonyms = _pseudonymiser(options)
    try:
        policy = options.policy
    except ValueError as exc:
        raise AuditError(f"--tolerance: {exc}") from None
    try:
        check_target(options.target)
    except ValueError as exc:
        raise AuditError(f"--target: {exc}") from None
    registry = Registry(options.routines)
    routines = list(registry)
    tz = routines[0].tz
    try:
        inputs = find_inputs(options.events)
        read = _read_options(options)
    except InputError as exc:
        raise AuditError(str(exc)) from None
    rules = AuditRules.prepare(routines)
    out = _out_dir(options)
    with Staging(
        rules,
        pseudonyms,
        work_dir=options.work_dir,
        memory_limit=options.memory_limit,
        read=read,
    ) as staging:
        with Workers(staging.dir) as workers:
            _read_inputs(staging, inputs, options, routines, workers)
            first, last, as_of = period = _period(staging, options, tz)
            cases = staging.finish(as_of)
            compare = list(Registry(options.compare)) if options.compare is not None else None
            count = _workers(options, routines, compare, staging)
            job = _job(options, routines, compare, rules, staging, period, count)
            partial, chunks = _audit_cases(options, job, staging, routines, compare, count, workers)
        queue_list = _add_run_findings(partial, rules, staging, as_of)
        if partial.rows == 0:
            raise AuditError(
                f"the period {first.isoformat()} to {last.isoformat()} holds no obligation of "
                f"{registry.ids()[0]}: no trigger event falls in it; check --from and --to "
                "against the dates of the events",
                _partial_diagnostics(partial),
            )
        records = _input_records(staging, pseudonyms)
        totals = tally_total(t for _, t in staging.counts())
        header = _header(options, registry, routines, pseudonyms, records, totals, cases, period)
        report = _finish(partial, header, routines, compare, queue_list, period, policy)
        report, drill = _drill(report, partial, staging, rules, as_of)
        targets = {
            "report.json": report.to_json().encode("utf-8"),
            **report_tables(report),
            "report.html": render_html(report, drill).encode("utf-8"),
            **drill.pages,
        }
        files = _write_outputs(out, targets, chunks, options, staging, report)
    errors = sum(1 for d in report.diagnostics if d.level == "error")
    return AuditOutcome(
        report=report,
        files=files,
        rejected=totals["rejected"],
        errors=errors,
    )


def _partial_diagnostics(partial: Partial) -> list[Diagnostic]:
    return [
        Diagnostic(level, code, message, file=file, line=line, hint=hint)  # type: ignore[arg-type]
        for level, code, message, file, line, hint in sorted(set(partial.diagnostics), key=str)
    ]


def diagnostics_of(report: AuditReport) -> list[Diagnostic]:
    """The report's diagnostics as :class:`Diagnostic` (to print them)."""
    return [
        Diagnostic(d.level, d.code, d.message, file=d.file, line=d.line, hint=d.hint)
        for d in report.diagnostics
    ]
