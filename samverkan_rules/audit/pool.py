"""The audit on this machine's cores: input files read, and partitions of cases audited,
in worker processes.

Reading (pass 1) shares the input files out over the workers, each checking and staging
its files as :meth:`Staging.stage_file` does, a large JSON Lines file cut into pieces read
by different workers (an export is often one file); what they find is taken in file order,
each file's pieces put together as one process reads the file. For
the evaluation (pass 2) the streams are split into ranges of the (pseudonymised) case ids,
one a worker, which reads its range from the staging database (closed in this process
meanwhile, read-only in the workers: no copy of the events is written for them), audits
it with :func:`~samverkan_rules.audit.partition.audit_partition`, writes the obligation
rows, sorted, to a file in the staging directory and its
:class:`~samverkan_rules.audit.report.Partial` to another. The merge is associative and
the partitions' rows, one range after another, are the sorted ``obligations.csv``, so the
report equals the single-process one byte for byte.

Workers are whole new interpreters rather than ``multiprocessing`` children: a forked child
would inherit the parent's DuckDB threads, and a spawned one re-imports the caller's main
module, which a script using the Python API without a ``__main__`` guard does not survive.
They are kept from one pass to the next (:class:`Workers`): each starts Python, imports the
package and compiles the routines once.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samverkan_rules import children
from samverkan_rules.audit.inputs import (
    WHOLE,
    FileTally,
    InputError,
    InputFile,
    Piece,
    ReadOptions,
    cut_pieces,
    splittable,
)
from samverkan_rules.audit.partition import PartitionJob, audit_partition, compile_texts
from samverkan_rules.audit.pseudonym import Pseudonymiser, forget_ids
from samverkan_rules.audit.reader import Staging
from samverkan_rules.audit.rows import AuditRules
from samverkan_rules.audit.streams import cases_from_database
from samverkan_rules.audit.tallies import Partial
from samverkan_rules.diagnostics import Diagnostic

WORKER = "samverkan_rules.audit.worker"
"""The module a worker process runs (it calls :func:`serve`)."""

DONE = b"done\n"
"""What a worker writes to the pipe it was given once a part's result is written."""

MIN_EVENTS_PER_WORKER = 40_000
"""Below this many events a worker costs more (starting, compiling the routines) than it
saves, so smaller audits run in this process."""

MIN_BYTES_PER_WORKER = 8_000_000
"""The same for reading: about 40,000 events of a typical export."""

WORKER_MEMORY = "128MB"
"""DuckDB's memory limit in each worker (it reads and sorts one range of the cases)."""


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def workers_for(jobs: int | None, events: int) -> int:
    """How many worker processes pass 2 uses (1 means this process): ``jobs`` when given;
    by default the available cores, but no more than one per
    :data:`MIN_EVENTS_PER_WORKER` events.

    Examples:
        >>> workers_for(4, 1_000), workers_for(None, 50_000), workers_for(1, 10**7)
        (4, 1, 1)
    """
    if jobs is not None:
        return max(1, jobs)
    return max(1, min(available_cores(), events // MIN_EVENTS_PER_WORKER))


def reading_workers(jobs: int | None, inputs: Sequence[InputFile]) -> int:
    """How many worker processes pass 1 uses (1 means this process): ``jobs`` when given, by
    default the available cores but no more than one per :data:`MIN_BYTES_PER_WORKER` of
    input; no more than the files when none can be read in pieces (see
    :func:`~samverkan_rules.audit.inputs.splittable`)."""
    if jobs is None:
        size = sum(i.path.stat().st_size for i in inputs)
        jobs = min(available_cores(), size // MIN_BYTES_PER_WORKER)
    if not any(splittable(i) and i.path.stat().st_size for i in inputs):
        jobs = min(jobs, len(inputs))
    return max(1, jobs)


@dataclass(frozen=True)
class _Reading:
    """What a reading worker needs: the routines' texts and how to read and pseudonymise."""

    texts: tuple[tuple[str, str], ...]
    pseudonyms: Pseudonymiser
    read: ReadOptions
    files: tuple[tuple[int, InputFile, Piece, str], ...]
    """(file number, input, the piece of it, where its good records go)."""


@dataclass(frozen=True)
class _Read:
    """What a reading worker found in one input (or the reason it could not be read)."""

    file_no: int
    start: int
    """Where the piece read begins (0: the file's start)."""
    tally: FileTally | None
    diagnostics: tuple[Diagnostic, ...]
    error: str | None = None


def _shares(inputs: Sequence[InputFile], workers: int) -> list[list[tuple[int, Piece, int]]]:
    """(file number, piece, its piece number) shared out over the workers, largest first to
    the least loaded; a file that can be read in pieces is cut into pieces of about half a
    worker's share, so that one large file, or a few, keep every worker busy.

    Files about that size stay whole: pieces of a few sizes side by side made DuckDB's load
    of the staged files take more memory (287 MB against 229 for eight equal ones, 1M
    events; past 128MB it failed where the equal ones loaded in 96MB)."""
    sizes = [i.path.stat().st_size for i in inputs]
    share = max(1, sum(sizes) // (2 * workers))
    parts: list[tuple[int, int, Piece, int]] = []  # (bytes, file number, piece, piece number)
    for n, item in enumerate(inputs):
        count = max(1, round(sizes[n] / share)) if splittable(item) else 1
        pieces = cut_pieces(item.path, count) if count > 1 else [WHOLE]
        for k, piece in enumerate(pieces):
            end = sizes[n] if piece.end is None else piece.end
            parts.append((end - piece.start, n, piece, k))
    loads: list[list[Any]] = [[0, w, []] for w in range(workers)]
    for size, n, piece, k in sorted(parts, key=lambda p: (-p[0], p[1], p[3])):
        least = min(loads, key=lambda entry: (entry[0], entry[1]))
        least[0] += size
        least[2].append((n, piece, k))
    return [sorted(entry[2], key=lambda p: (p[0], p[2])) for entry in loads if entry[2]]


class Workers:
    """Worker processes kept from one pass to the next: started as a pass first needs them,
    each given one part at a time (a line on its standard input naming the part's files)
    and answering :data:`DONE` when it has written the result; stopped at the end, killed
    when one fails or the audit is interrupted.

    Use as a context manager around both passes; each worker's standard error goes to a
    log in ``directory`` (a pipe could fill while another worker is waited for).
    """

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self._running: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self.stop()
            return
        for worker in self._running:
            if worker.stdin is not None:
                worker.stdin.close()  # no more parts: the worker ends
        for worker in self._running:
            worker.wait()

    def stop(self) -> None:
        """Kill the workers still running."""
        for worker in self._running:
            if worker.poll() is None:
                worker.kill()
            worker.wait()

    def _log(self, index: int) -> Path:
        return self.dir / f"worker-{index}.log"

    def run(self, mode: str, parts: Sequence[tuple[Path, Path]]) -> Iterator[Any]:
        """Each part (its spec file, its result file) to a worker of its own, ``mode`` (read
        or audit) saying what to do; yields each result in the parts' order.

        Raises:
            RuntimeError: when a worker fails (with the end of what it wrote to stderr).
        """
        while len(self._running) < len(parts):
            index = len(self._running)
            with self._log(index).open("wb") as errors:
                self._running.append(
                    subprocess.Popen(
                        children.command(WORKER),
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=errors,
                        env=children.environment(),
                    )
                )
        try:
            for worker, (spec, result) in zip(self._running, parts, strict=False):
                assert worker.stdin is not None
                worker.stdin.write(f"{mode}\t{spec}\t{result}\n".encode())
                worker.stdin.flush()
            for index, (worker, (_, result)) in enumerate(zip(self._running, parts, strict=False)):
                assert worker.stdout is not None
                if worker.stdout.readline() != DONE:
                    code = worker.wait()
                    log = self._log(index).read_text(encoding="utf-8", errors="replace")
                    raise RuntimeError(f"an audit worker failed (exit {code}):\n{log[-2000:]}")
                yield pickle.loads(result.read_bytes())
        except BaseException:
            self.stop()
            raise


def read_in_processes(
    staging: Staging,
    inputs: Sequence[InputFile],
    texts: tuple[tuple[str, str], ...],
    workers: Workers,
    count: int,
    advance: Callable[[int], None],
) -> None:
    """Pass 1 (:meth:`Staging.load`) with the inputs shared out over ``count`` of
    ``workers``; what they find is taken in file order, so the findings are as one process
    gives them.

    Raises:
        InputError: when a file cannot be read at all (the first such file).
        RuntimeError: when a worker fails.
    """
    staging.inputs = list(inputs)
    parts = []
    for index, share in enumerate(_shares(inputs, count)):
        spec = _Reading(
            texts,
            staging.pseudonyms,
            staging.read,
            tuple((n, inputs[n], piece, str(staging.stage_path(n, k))) for n, piece, k in share),
        )
        spec_file = staging.dir / f"reading-{index}.pickle"
        spec_file.write_bytes(pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL))
        parts.append((spec_file, staging.dir / f"read-{index}.pickle"))
    found: list[_Read] = []
    per_code: Counter[tuple[str, str]] = Counter()
    for reads, counts in workers.run("read", parts):
        found.extend(reads)
        per_code.update(counts)
        advance(sum(r.tally.read for r in reads if r.tally is not None))
    found.sort(key=lambda r: (r.file_no, r.start))
    for r in found:
        if r.error is not None:
            raise InputError(r.error)
    for file_no in range(len(inputs)):
        pieces = [r for r in found if r.file_no == file_no]
        staging.take_staged(
            _tally([r.tally for r in pieces]), [d for r in pieces for d in r.diagnostics]
        )
    staging.take_staged_counts(dict(per_code))
    staging.staged()


def _tally(pieces: Sequence[FileTally | None]) -> FileTally:
    """A file's tally from its pieces': the counts summed, the checksum of the first."""
    tally = FileTally()
    for piece in pieces:
        assert piece is not None  # no error: a tally
        tally.read += piece.read
        tally.rejected += piece.rejected
        tally.sha256 = tally.sha256 or piece.sha256
    return tally


def audit_in_processes(
    job: PartitionJob,
    staging: Staging,
    chunks: list[Path],
    workers: Workers,
    count: int,
    advance: Callable[[int], None],
) -> Partial:
    """Audit the cases in ``count`` of ``workers``, one range of case ids each; the merged
    partial.

    ``job`` carries the routines' texts (each worker compiles them once). Each worker reads
    its range from the staging database, which this process closes meanwhile
    (:meth:`Staging.shared`), and writes its rows to a file of its own, appended to
    ``chunks`` in the ranges' order.

    Raises:
        RuntimeError: when a worker fails (with the end of what it wrote to stderr).
    """
    job_file = staging.dir / "job.pickle"
    job_file.write_bytes(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
    specs = []
    for index, (low, high) in enumerate(staging.ranges(count)):
        rows = staging.dir / f"rows-part-{index}.csv"
        chunks.append(rows)
        query = staging.range_query(low, high)
        spec = staging.dir / f"part-{index}.pickle"
        spec.write_bytes(pickle.dumps((str(job_file), str(rows), str(staging.database), query)))
        specs.append((spec, staging.dir / f"partial-{index}.pickle"))
    partials = []
    with staging.shared():
        for partial in workers.run("audit", specs):
            partials.append(partial)
            advance(partial.streams)
    return Partial.merge_all(partials)


def _audit_part(spec: Path) -> Partial:
    """An auditing worker's part: one range of cases audited, its rows written."""
    job_file, rows, database, query = pickle.loads(spec.read_bytes())
    job: PartitionJob = pickle.loads(Path(job_file).read_bytes())
    streams = cases_from_database(
        Path(database),
        query,
        job.file_names,
        memory_limit=WORKER_MEMORY,
        spill=Path(rows).with_suffix(".spill"),
    )
    with open(rows, "w", encoding="utf-8", newline="") as handle:
        return audit_partition(job, streams, handle)


def _read_part(spec_file: Path) -> tuple[list[_Read], dict[tuple[str, str], int]]:
    """A reading worker's part: its inputs checked and staged, what it found in each."""
    spec: _Reading = pickle.loads(spec_file.read_bytes())
    rules = AuditRules.prepare(compile_texts(spec.texts))
    found = []
    with Staging(
        rules,
        spec.pseudonyms,
        work_dir=str(spec_file.parent),
        memory_limit=WORKER_MEMORY,
        threads=1,
        read=spec.read,
    ) as staging:
        for file_no, item, piece, out in spec.files:
            before = len(staging.diagnostics)
            try:
                tally = staging.stage_file(file_no, item, Path(out), lambda n: None, piece)
            except InputError as exc:
                found.append(_Read(file_no, piece.start, None, (), str(exc)))
                continue
            found.append(_Read(file_no, piece.start, tally, tuple(staging.diagnostics[before:])))
        counts = staging.per_code()
    forget_ids()  # the case ids read: this process goes on to audit pseudonyms
    return found, counts


def serve() -> None:
    """A worker: each line of standard input ``read SPEC RESULT`` or ``audit SPEC RESULT``
    (tab-separated; pickles in the staging directory, written by :func:`read_in_processes`
    and :func:`audit_in_processes`), :data:`DONE` on standard output once the result is
    written; ends at the end of its input. Anything else written to standard output goes
    to standard error (the log), so that the pipe carries only the answers."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    for line in sys.stdin:
        mode, spec, result = line.rstrip("\n").split("\t")
        done = _read_part(Path(spec)) if mode == "read" else _audit_part(Path(spec))
        Path(result).write_bytes(pickle.dumps(done, protocol=pickle.HIGHEST_PROTOCOL))
        answers.write(DONE)
        answers.flush()
