"""An event file indexed by case in one pass, then read back one case at a time.

A history is rarely sorted by case, and holding every event of a large file as objects
costs far more memory than the file itself. :func:`index_events` reads a JSON Lines file
once: each line is decoded and judged (by the run's ``judge``), and where it lies in the
file is kept (about 40 bytes an event), grouped by case; the decoded events themselves are
kept too while they fit in :data:`KEEP_BYTES`. Duplicate ids are found from hashes and
resolved exactly as :func:`samverkan_rules.events.model.deduplicate` does.
:meth:`IndexedEvents.cases` then yields each case's events, reading back from the file
those that were not kept, so evaluating a history needs memory for its largest case (and
the kept events), not for all of it. Standard input is spooled to a temporary file, which
is removed on close.

CSV files are read whole (a record may span lines) and then served case by case the same
way.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import pairwise
from types import TracebackType
from typing import IO, Any, Literal, Protocol

from samverkan_rules.diagnostics import N_, Diagnostic
from samverkan_rules.errors import EventError
from samverkan_rules.events.limits import DEFAULT_LIMITS, EventLimits
from samverkan_rules.events.model import Event, deduplicate, event_from_mapping
from samverkan_rules.events.read import decode_json_line, format_for, read_events, read_events_bytes

_GIVE_UP = 64


"""An over-long line is skipped up to this many times the line limit, then the input is
refused as not JSON Lines (``/dev/zero`` never breaks its line)."""


Verdict = Literal["admitted", "rejected", "other-case", "later", "context"]
"""What becomes of an event: evaluated, rejected for its data, of a case not asked for,
after ``as_of``, or of a case not asked for but of a shared type (it answers, queues or
calls off an occurrence for the cases asked for: the run's ``prepare`` gets it)."""


class Judge(Protocol):
    """What indexing needs of an evaluation run: the engine's ``Evaluator`` is one.

    The index decides nothing itself: each event is judged and counted by the run, so a
    file read through the index is evaluated exactly as the same events held in memory.
    """

    diagnostics: list[Diagnostic]

    @property
    def shared_types(self) -> frozenset[str]:
        """The event types that answer, queue or call off for other cases too."""
        ...

    def judge(self, event: Event) -> tuple[Verdict, list[Diagnostic]]:
        """What becomes of ``event``, and the problems found with its data (pure)."""
        ...

    def count(self, case: str, verdict: Verdict, problems: Sequence[Diagnostic] = ()) -> bool:
        """Count a judged event of ``case``; True when it is admitted."""
        ...

    def prepare(self, *, earliest: datetime | None, shared: Iterable[Event]) -> None:
        """Place the schedules' occurrences and keep the shared events."""
        ...

    def unit_cases(self) -> list[str]:
        """The cases that exist because a schedule raises obligations in them."""
        ...


_VERDICTS: tuple[Verdict, ...] = (
    "admitted",
    "rejected",
    "other-case",
    "later",
    "context",
)


_DROPPED = 255  # a duplicate id whose events are not evaluated (or a repeat counted once)


KEEP_BYTES = 64 << 20
"""The events of the first pass are kept, while their estimated size stays under this many
bytes, so a file of up to about 80,000 events is decoded once; past it, events are read
back from the file case by case and memory stays bounded by the largest case."""


def _kept_size(length: int) -> int:
    """An event's estimated size in memory from its line's length (measured on the bench
    corpus: about 760 bytes for a 160-byte line)."""
    return 400 + 3 * length


class IndexedEvents:
    """The events of one input, indexed by case; read each case back with :meth:`cases`.

    Use as a context manager (or call :meth:`close`) so a spooled standard input is
    removed.
    """

    def __init__(
        self,
        name: str,
        run: Judge,
        *,
        fd: int | None,
        spool: IO[bytes] | None,
        spans: tuple[array[int], array[int], array[int]],
        by_case: dict[str, array[int]],
        admitted: bytearray,
        memory: dict[int, Event],
        limits: EventLimits,
    ) -> None:
        """``memory`` holds the events kept from the first pass (every event when ``fd`` is
        None); the others are read back from ``fd`` at their offsets."""
        self.name = name
        self.run = run
        self._fd = fd
        self._spool = spool
        self._offsets, self._lengths, self._lines = spans
        self._by_case = by_case
        self._admitted = admitted
        self._memory = memory
        self._limits = limits

    def case_ids(self) -> list[str]:
        """Every case to evaluate, sorted: cases with admitted events, and units' cases."""
        admitted = self._admitted
        ids = {case for case, idxs in self._by_case.items() if any(admitted[i] for i in idxs)}
        ids.update(self.run.unit_cases())
        return sorted(ids)

    def events_of(self, case: str) -> list[Event]:
        """The admitted events of one case, read back from the input."""
        out: list[Event] = []
        admitted = self._admitted
        for idx in self._by_case.get(case, ()):
            if admitted[idx]:
                out.append(self._read(idx))
        return out

    def cases(self) -> Iterator[tuple[str, list[Event]]]:
        """``(case, its admitted events)`` for every case, in case order."""
        for case in self.case_ids():
            yield case, self.events_of(case)

    def _read(self, idx: int) -> Event:
        kept = self._memory.get(idx)
        if kept is not None:
            return kept
        assert self._fd is not None
        raw = os.pread(self._fd, self._lengths[idx], self._offsets[idx])
        line = self._lines[idx]
        record = decode_json_line(raw, file=self.name, line=line, limits=self._limits)
        return event_from_mapping(record, file=self.name, line=line)

    def close(self) -> None:
        """Release the input (and remove a spooled standard input)."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        elif self._fd is not None:
            os.close(self._fd)
        self._fd = None

    def __enter__(self) -> IndexedEvents:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Index:
    """What the first pass keeps of each usable line."""

    def __init__(
        self, run: Judge, limits: EventLimits = DEFAULT_LIMITS, *, keep_bytes: int = KEEP_BYTES
    ) -> None:
        self.run = run
        self.kept: dict[int, Event] = {}
        self.keep_bytes = keep_bytes
        self.limits = limits
        self.shared_types = run.shared_types
        self.offsets: array[int] = array("q")
        self.lengths: array[int] = array("q")
        self.lines: array[int] = array("q")
        self.hashes: array[int] = array("q")
        self.instants: array[float] = array("d")
        self.verdicts = bytearray()
        self.by_case: dict[str, array[int]] = {}
        self.problems: dict[int, list[Diagnostic]] = {}
        self.shared: dict[int, Event] = {}
        self.diagnostics: list[Diagnostic] = []

    def full(self, event: Event) -> bool:
        """True (and reported) when the event's case already has the most events allowed."""
        cases = self.by_case.get(event.case)
        limit = self.limits.events_per_case
        if cases is None or len(cases) < limit:
            return False
        self.diagnostics.append(
            Diagnostic.of(
                "error",
                "event.case-too-long",
                N_(
                    "event {id}: case {case} already has {limit} events, the most one "
                    "case may have; this event is not evaluated",
                    id=repr(event.id),
                    case=repr(event.case),
                    limit=format(limit, ","),
                ),
                file=event.file,
                line=event.line,
                hint=N_(
                    "raise {value} if such cases are real", value=EventLimits.ENV["events_per_case"]
                ),
            )
        )
        return True

    def add(self, event: Event, offset: int, length: int) -> int:
        verdict, problems = self.run.judge(event)
        idx = len(self.verdicts)
        self.offsets.append(offset)
        self.lengths.append(length)
        self.lines.append(event.line or 0)
        self.hashes.append(hash(event.id))
        self.instants.append(event.at.timestamp())
        self.verdicts.append(_VERDICTS.index(verdict))
        cases = self.by_case.get(event.case)
        if cases is None:
            cases = self.by_case[event.case] = array("i")
        cases.append(idx)
        if problems:
            self.problems[idx] = problems
        if verdict in ("admitted", "context") and event.type in self.shared_types:
            self.shared[idx] = event
        if verdict == "admitted" and self.keep_bytes > 0:
            self.keep_bytes -= _kept_size(length)
            if self.keep_bytes > 0:
                self.kept[idx] = event
        return idx

    def repeated(self) -> list[int]:
        """The records whose id hash is shared with another record."""
        ordered = sorted(self.hashes)
        twice = {a for a, b in pairwise(ordered) if a == b}
        del ordered
        if not twice:
            return []
        return [i for i, h in enumerate(self.hashes) if h in twice]

    def settle_duplicates(self, events: dict[int, Event]) -> None:
        """Resolve repeated ids among ``events`` (by record) as :func:`deduplicate` does."""
        kept, diagnostics = deduplicate(events.values())
        self.diagnostics.extend(diagnostics)
        keep = {id(e) for e in kept}
        for idx, event in events.items():
            if id(event) not in keep:
                self.verdicts[idx] = _DROPPED
                self.problems.pop(idx, None)
                self.shared.pop(idx, None)

    def finish(
        self,
        name: str,
        *,
        fd: int | None,
        spool: IO[bytes] | None,
        limits: EventLimits,
    ) -> IndexedEvents:
        """Count and prepare the run (:meth:`commit`); the events, ready to read back."""
        admitted = self.commit()
        return IndexedEvents(
            name,
            self.run,
            fd=fd,
            spool=spool,
            spans=(self.offsets, self.lengths, self.lines),
            by_case=self.by_case,
            admitted=admitted,
            memory=self.kept,
            limits=limits,
        )

    def commit(self) -> bytearray:
        """Count every record in the run and prepare it; returns the admitted flags."""
        run = self.run
        run.diagnostics.extend(self.diagnostics)
        admitted = bytearray(len(self.verdicts))
        earliest: float | None = None
        for case, idxs in self.by_case.items():
            for idx in idxs:
                code = self.verdicts[idx]
                if code == _DROPPED:
                    continue
                if run.count(case, _VERDICTS[code], self.problems.get(idx, ())):
                    admitted[idx] = 1
                    at = self.instants[idx]
                    if earliest is None or at < earliest:
                        earliest = at
        shared = [self.shared[i] for i in sorted(self.shared)]
        run.prepare(
            earliest=datetime.fromtimestamp(earliest, UTC) if earliest is not None else None,
            shared=shared,
        )
        return admitted


def _lines(source: IO[bytes], cap: int, name: str) -> Iterator[tuple[bytes, int, int]]:
    """``(line, its size in the file, its size without the line break)`` for each line,
    never reading more than ``cap`` bytes of one line into memory: a longer line comes back
    cut at ``cap`` with its full sizes."""
    while True:
        raw = source.readline(cap)
        if not raw:
            return
        size = len(raw)
        last = raw
        if not raw.endswith(b"\n") and size == cap:
            while True:  # skip the rest of an over-long line
                rest = source.readline(1 << 16)
                size += len(rest)
                if rest:
                    last = last[-1:] + rest
                if not rest or rest.endswith(b"\n"):
                    break
                if size > _GIVE_UP * cap:
                    raise EventError(
                        "not an event file",
                        [
                            Diagnostic.of(
                                "error",
                                "event.no-line-break",
                                N_(
                                    "no line break in {size} bytes: this is not JSON Lines",
                                    size=format(size, ","),
                                ),
                                file=name,
                                hint=N_("name a JSON Lines or CSV event file"),
                            )
                        ],
                    )
        brk = 2 if last.endswith(b"\r\n") else 1 if last.endswith(b"\n") else 0
        yield raw, size, size - brk


def _scan_jsonl(
    source: IO[bytes], name: str, index: _Index, limits: EventLimits, copy: IO[bytes] | None
) -> None:
    """The first pass: judge and index every line; ``copy`` spools what it will read back."""
    offset = 0  # where the next line starts in the file read back (the source or the copy)
    cap = limits.line_bytes + 3  # room for a byte order mark and the line's \r\n
    for number, (raw, size, body_size) in enumerate(_lines(source, cap, name), start=1):
        if size > cap:
            index.diagnostics.append(
                Diagnostic.of(
                    "error",
                    "event.too-long",
                    limits.too_long(body_size),
                    file=name,
                    line=number,
                    hint=N_("split the event's data, or raise the limit"),
                )
            )
            if copy is None:
                offset += size
            continue
        if copy is not None:
            copy.write(raw)
        start = offset
        offset += len(raw)
        body = raw[:-1] if raw.endswith(b"\n") else raw
        if body.endswith(b"\r"):
            body = body[:-1]
        if number == 1 and body.startswith(b"\xef\xbb\xbf"):
            body = body[3:]
            start += 3
        if body.strip():
            try:
                record = decode_json_line(body, file=name, line=number, limits=limits)
                event = event_from_mapping(record, file=name, line=number)
            except EventError as exc:
                index.diagnostics.extend(exc.diagnostics)
            else:
                if not index.full(event):
                    index.add(event, start, len(body))


def _read_back(fd: int, index: _Index, idxs: Iterable[int], name: str, limits: EventLimits) -> Any:
    out: dict[int, Event] = {}
    for idx in idxs:
        raw = os.pread(fd, index.lengths[idx], index.offsets[idx])
        line = index.lines[idx]
        out[idx] = event_from_mapping(
            decode_json_line(raw, file=name, line=line, limits=limits), file=name, line=line
        )
    return out


def _stdin() -> IO[bytes]:
    """Standard input as bytes (a replaced text stream, as in tests, is encoded)."""
    stream = sys.stdin
    if stream is None or getattr(stream, "closed", False):
        raise EventError(
            "standard input is closed",
            [
                Diagnostic.of(
                    "error",
                    "event.unreadable",
                    N_("standard input is closed"),
                    file="<stdin>",
                    hint=N_("pipe the events in, or name an event file"),
                )
            ],
        )
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        return buffer  # type: ignore[no-any-return]
    return io.BytesIO(stream.read().encode("utf-8", "surrogateescape"))


def index_events(
    path: str,
    run: Judge,
    *,
    format: str | None = None,
    limits: EventLimits = DEFAULT_LIMITS,
    stdin: IO[bytes] | None = None,
    keep_bytes: int = KEEP_BYTES,
) -> IndexedEvents:
    """Read an event file (``-``: standard input) once, judge every event and index it by case.

    Every event is counted in ``run`` and ``run`` is prepared (its schedules placed, the
    shared events kept), so the caller goes on with :meth:`IndexedEvents.cases` and
    :meth:`Evaluator.evaluate_case`. Decoded events are kept while their estimated size
    stays under ``keep_bytes`` (0: read every case back from the file).

    Raises:
        EventError: when the input cannot be read at all.
    """
    fmt = format or ("jsonl" if path == "-" else format_for(path))
    name = "<stdin>" if path == "-" else path
    index = _Index(run, limits, keep_bytes=keep_bytes)
    if fmt == "csv":
        if path == "-":
            data = (stdin or _stdin()).read()
            batch = read_events_bytes(data, format="csv", file=name, limits=limits)
        else:
            batch = read_events(path, format="csv", limits=limits)
        index.diagnostics.extend(batch.diagnostics)
        index.keep_bytes = 0  # the whole file is in memory already: keep every event
        for event in batch.events:
            if not index.full(event):
                index.kept[index.add(event, 0, 0)] = event
        return index.finish(name, fd=None, spool=None, limits=limits)
    spool: IO[bytes] | None = None
    try:
        if os.path.isdir(path):
            raise IsADirectoryError(f"{path} is a directory, not an event file")
        regular = path != "-" and os.path.isfile(path)
        fd = os.open(path, os.O_RDONLY) if path != "-" else None
    except OSError as exc:
        raise EventError(
            f"cannot read events from {name}",
            [Diagnostic("error", "event.unreadable", exc.strerror or str(exc), file=name)],
        ) from None
    if not regular:
        # Standard input, a pipe or a device: read once, spooled to a temporary file to
        # read each case back from (closed by IndexedEvents.close()).
        spool = tempfile.TemporaryFile(prefix="samverkan-events-")  # noqa: SIM115
        try:
            if fd is None:
                _scan_jsonl(stdin or _stdin(), name, index, limits, spool)
            else:
                with os.fdopen(fd, "rb") as source:
                    _scan_jsonl(source, name, index, limits, spool)
        except BaseException:
            spool.close()
            raise
        spool.flush()
        fd = spool.fileno()
    else:
        assert fd is not None
        try:
            with os.fdopen(os.dup(fd), "rb") as source:
                _scan_jsonl(source, name, index, limits, None)
        except BaseException:
            os.close(fd)
            raise
    repeated = index.repeated()
    if repeated:
        index.settle_duplicates(_read_back(fd, index, repeated, name, limits))
    return index.finish(name, fd=fd, spool=spool, limits=limits)
