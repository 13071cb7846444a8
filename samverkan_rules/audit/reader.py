"""Event files in, one stream of events per case out, in bounded memory.

Reading happens in two passes:

1. Every record of every input is checked as :mod:`samverkan_rules.events` and the routine
   check it (structure, timestamp with offset, event type and fields, judged by the
   version in force on the event's date). A record that cannot be used is counted as
   rejected and reported with its file and line; a good one is staged in a DuckDB table
   on disk with its case id already replaced by its pseudonym. JSON Lines and CSV (either
   optionally gzipped) are read line by line in Python, because every bad line must be
   named by its number and DuckDB's readers either stop at a bad line or skip it
   silently; Parquet is read by DuckDB.
2. DuckDB resolves reused event ids over all files, then sorts the staged events by case
   (spilling to disk beyond its memory limit) and hands them out one case at a time.

Units' cases get, besides their own events, the events of the types some ``any_case``
pattern may borrow (from every case), and the earliest event of the history, so the
schedules' occurrences start where the history starts, as when all events are evaluated
at once.
"""

from __future__ import annotations

import csv
import gzip
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any, TextIO

import duckdb
import orjson

from samverkan_rules.audit.findings import personnummer_findings, resolve_duplicates
from samverkan_rules.audit.inputs import (
    WHOLE,
    FileTally,
    InputError,
    InputFile,
    Piece,
    ReadOptions,
    control_character,
    lines_before,
    lines_within,
    open_bytes,
    sha256_of,
    sniff_delimiter,
    splittable,
)
from samverkan_rules.audit.pseudonym import (
    Pseudonymiser,
    looks_like_personnummer,
    mask,
    valid_personnummer,
)
from samverkan_rules.audit.rows import AuditRules
from samverkan_rules.audit.streams import (
    BATCH,
    STREAM_COLUMNS,
    connect,
    group_streams,
    sql_text,
    staged_event,
)
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.compile.versions import InstantWindow, validity_windows
from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.errors import EventError
from samverkan_rules.events.model import REQUIRED_KEYS, Event, event_from_mapping
from samverkan_rules.events.read import CSV_HEADER_HINT, csv_header
from samverkan_rules.time.instants import from_micros, micros

KEYS = frozenset({*REQUIRED_KEYS, "data"})
"""An event's keys; other columns are mapped into data or rejected."""
_COLUMNS_HINT = (
    "an event has only id, case, type, at and data: map other columns into data with "
    "--columns FILE, or take them as they are with --extra-columns data"
)

_STAGED_COLUMNS = (
    "{'file_no': 'INTEGER', 'line': 'BIGINT', 'case_p': 'VARCHAR', 'at_us': 'BIGINT', "
    "'id': 'VARCHAR', 'type': 'VARCHAR', 'at_text': 'VARCHAR', 'data': 'VARCHAR', "
    "'bad_pnr': 'INTEGER'}"
)

BOUNDS_SAMPLE = 100_000
"""Staged events sampled for the ranges of case ids the workers take (see
:meth:`Staging.ranges`)."""

PER_CODE = 1000
"""Findings of one code in one file listed one by one; further ones are counted."""


def _is_declared(d: Diagnostic, declared: frozenset[str]) -> bool:
    """An unknown-field warning about a field the audit was told about."""
    return d.code == "event.unknown-field" and (d.path or "").removeprefix("data.") in declared


def _delimiter_name(delimiter: str) -> str:
    return {",": "commas", ";": "semicolons", "\t": "tabs"}.get(delimiter, repr(delimiter))


def _chain(first: Iterable[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


def _canonical(data: Any) -> str:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def _counted(counts: dict[tuple[str, str], int], d: Diagnostic) -> bool:
    """Count a finding by file and code; True while among the first :data:`PER_CODE` (listed)."""
    key = (d.file or "", d.code)
    seen = counts.get(key, 0)
    counts[key] = seen + 1
    return seen < PER_CODE


def _error(
    code: str, message: str, file: str, line: int | None, hint: str | None = None
) -> Diagnostic:
    return Diagnostic("error", code, message, file=file, line=line, hint=hint)


@dataclass
class Staging:
    """Pass 1 and pass 2 over the inputs, with a DuckDB database in a temporary directory.

    Use as a context manager; the directory and everything in it go at the end.

    Args:
        rules: The prepared routine versions.
        pseudonyms: Turns case ids into the ids every later step sees.
        work_dir: Where to put the temporary directory (default the system's).
        memory_limit: DuckDB's memory limit; beyond it, DuckDB spills to disk.
        threads: DuckDB's threads.
        read: How to read the files' text (CSV delimiter, encoding).
    """

    rules: AuditRules
    pseudonyms: Pseudonymiser
    work_dir: str | None = None
    memory_limit: str = "256MB"
    threads: int = 2
    read: ReadOptions = field(default_factory=ReadOptions)
    inputs: list[InputFile] = field(default_factory=list)
    tallies: list[FileTally] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __enter__(self) -> Staging:
        self._tmp = tempfile.TemporaryDirectory(prefix="samverkan-audit-", dir=self.work_dir)
        self.dir = Path(self._tmp.name)
        (self.dir / "spill").mkdir()
        self._connect()
        self._per_code: dict[tuple[str, str], int] = {}
        windows, _ = validity_windows(self.rules.routines)
        checkers: dict[str, list[tuple[CompiledRoutine, InstantWindow]]] = {}
        for r in self.rules.routines:
            in_force = InstantWindow.of(windows[(r.id, r.version)], r.tz)
            for name in r.event_types:
                checkers.setdefault(name, []).append((r, in_force))
        self._checkers = checkers
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()
        self._tmp.cleanup()

    @property
    def database(self) -> Path:
        """The staging database's file."""
        return self.dir / "staging.duckdb"

    def _connect(self) -> None:
        self.con = connect(self.database)
        self.con.execute(f"SET memory_limit = {sql_text(self.memory_limit)}")
        self.con.execute(f"SET threads = {int(self.threads)}")
        self.con.execute(f"SET temp_directory = {sql_text(str(self.dir / 'spill'))}")
        self.con.execute("SET preserve_insertion_order = false")

    @contextmanager
    def shared(self) -> Iterator[Path]:
        """The staging database closed here while this lasts, so that other processes can
        read it (read-only, as :func:`~samverkan_rules.audit.streams.cases_from_database`
        does); opened again after. Yields its file."""
        self.con.close()
        try:
            yield self.database
        finally:
            self._connect()

    # ------------------------------------------------------------------ pass 1

    def _check(self, event: Event, at_us: int) -> list[Diagnostic]:
        """The routine's check of an event, by the version in force on its date (``at_us``:
        its instant in microseconds since 1970)."""
        owners = self._checkers.get(event.type)
        if not owners:
            return self.rules.routines[0].check_event(event)
        chosen = owners[0][0]
        if len(owners) > 1:
            for r, in_force in owners:
                if in_force.contains(event.at, at_us):
                    chosen = r
                    break
        return chosen.check_event(event)

    def _scrub(self, d: Diagnostic, raw_case: Any) -> Diagnostic:
        if not self.pseudonyms.active:
            return d
        message, hint = d.message, d.hint
        if isinstance(raw_case, str) and len(raw_case) >= 3 and raw_case not in self.rules.units:
            alias = self.pseudonyms.case(raw_case)
            message = message.replace(raw_case, alias)
            hint = hint.replace(raw_case, alias) if hint else hint
        # The masked English only: the translatable text would still hold the raw values.
        return replace(
            d, message=mask(message), hint=mask(hint) if hint else hint, text=None, hint_text=None
        )

    def _note(self, d: Diagnostic, raw_case: Any) -> None:
        """Keep a finding about a record; beyond :data:`PER_CODE` of one code in one file,
        only count it (a summary says how many more there were)."""
        if _counted(self._per_code, d):
            self.diagnostics.append(self._scrub(d, raw_case))

    def _summarise_notes(self) -> None:
        for (file, code), count in sorted(self._per_code.items()):
            if count > PER_CODE:
                self.diagnostics.append(
                    Diagnostic(
                        "warning" if code != "event.encoding" else "error",
                        "audit.more-findings",
                        f"{count - PER_CODE} more finding(s) of {code} in this file are counted "
                        f"but not listed (the first {PER_CODE} are)",
                        file=file or None,
                        hint="fix the first ones listed; the rest are likely the same problem",
                    )
                )

    def load(self, inputs: Sequence[InputFile], advance: Callable[[int], None]) -> None:
        """Pass 1: check every record of every input and stage the good ones.

        Raises:
            InputError: when a file cannot be read at all.
        """
        self.inputs = list(inputs)
        for file_no, item in enumerate(self.inputs):
            self.tallies.append(self.stage_file(file_no, item, self.stage_path(file_no), advance))
        self.staged()

    def stage_path(self, file_no: int, piece: int = 0) -> Path:
        """Where the good records of input ``file_no`` (its ``piece``-th piece) are staged
        (CSV; :meth:`staged` loads every such file)."""
        return self.dir / (f"stage-{file_no}.csv" if not piece else f"stage-{file_no}-{piece}.csv")

    def stage_file(
        self,
        file_no: int,
        item: InputFile,
        out: Path,
        advance: Callable[[int], None],
        piece: Piece = WHOLE,
    ) -> FileTally:
        """Check the records of one input (or of a ``piece`` of it) and write the good ones to
        ``out``; findings go to :attr:`diagnostics` (see :meth:`staged` for the summary of
        repeated ones). The file's checksum is in the tally of the piece that starts it.

        Raises:
            InputError: when the file cannot be read at all.
        """
        tally = FileTally()
        try:
            if not piece.start:
                tally.sha256 = sha256_of(item.path)
        except OSError as exc:
            raise InputError(
                f"cannot read {item.name}: {exc.strerror or exc}; check the path and permissions"
            ) from None
        with out.open("w", encoding="utf-8", newline="") as handle:
            self._stage(file_no, item, self._records(item, tally, piece), tally, handle, advance)
        return tally

    def take_staged(self, tally: FileTally, diagnostics: Sequence[Diagnostic]) -> None:
        """Add what other processes' :meth:`stage_file` found about the next input (its pieces
        in order): its tally, and its findings listed as :meth:`_note` lists them."""
        self.tallies.append(tally)
        listed: dict[tuple[str, str], int] = {}
        self.diagnostics += [d for d in diagnostics if _counted(listed, d)]

    def take_staged_counts(self, per_code: dict[tuple[str, str], int]) -> None:
        """Add another process's counts of findings (see :meth:`per_code`)."""
        self._per_code.update(per_code)

    def per_code(self) -> dict[tuple[str, str], int]:
        """How many findings of each code each file had (listed or only counted)."""
        return dict(self._per_code)

    def staged(self) -> None:
        """End pass 1 once every input is staged: load them into DuckDB, summarise repeated
        findings, resolve reused event ids, report malformed personnummer."""
        staged = [str(p) for p in sorted(self.dir.glob("stage-*.csv"))]
        self.con.execute(
            "CREATE TABLE staged AS SELECT * FROM read_csv(?, header = false, delim = ',', "
            f"quote = '\"', escape = '\"', columns = {_STAGED_COLUMNS}, auto_detect = false)",
            [staged],
        )
        for path in staged:
            os.unlink(path)
        self._summarise_notes()
        names = self.file_names()
        self.diagnostics += resolve_duplicates(self.con, names, self.tallies)
        self.diagnostics += personnummer_findings(self.con, names)

    def _records(
        self, item: InputFile, tally: FileTally, piece: Piece = WHOLE
    ) -> Iterator[tuple[int, Any]]:
        try:
            if piece != WHOLE and not splittable(item):
                raise ValueError(f"{item.name} is read whole, not in pieces")
            if item.format == "parquet":
                yield from self._parquet_records(item, tally)
            elif item.format == "csv":
                yield from self._csv_records(item, tally)
            else:
                yield from self._jsonl_records(item, tally, piece)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise InputError(
                f"cannot read {item.name}: {exc}; the file is damaged or not what its name says"
            ) from None
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise InputError(f"cannot read {item.name} as Parquet: {first}") from None

    def _reject(self, tally: FileTally, d: Diagnostic, raw_case: Any = None) -> None:
        tally.rejected += 1
        self._note(d, raw_case)

    def _lines(
        self, item: InputFile, tally: FileTally, piece: Piece = WHOLE
    ) -> Iterator[tuple[int, str | None]]:
        """Each line (of ``piece``, numbered as in the file) decoded, or None (reported and
        counted) when it is not in the encoding."""
        encoding = self.read.encoding
        with open_bytes(item) as handle:
            first = 1 + lines_before(handle, piece.start) if piece.start else 1
            lines: Iterable[bytes] = handle
            if piece.end is not None:
                lines = lines_within(handle, piece.end - piece.start)
            for number, raw in enumerate(lines, start=first):
                try:
                    text = raw.decode(encoding)
                except UnicodeDecodeError as exc:
                    if raw.strip():
                        tally.read += 1
                        self._reject(
                            tally,
                            _error(
                                "event.encoding",
                                f"not {encoding} text (byte {exc.start} of the line)",
                                item.name,
                                number,
                                "give the file's encoding, e.g. --encoding cp1252 for a file "
                                "saved by Excel on Windows, or save it as UTF-8",
                            ),
                        )
                    yield number, None
                    continue
                if number == 1:
                    text = text.removeprefix("\ufeff")
                yield number, text

    def _jsonl_records(
        self, item: InputFile, tally: FileTally, piece: Piece = WHOLE
    ) -> Iterator[tuple[int, Any]]:
        for number, text in self._lines(item, tally, piece):
            if text is None or not text.strip():
                continue
            tally.read += 1
            try:
                yield number, orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                self._reject(
                    tally,
                    _error(
                        "event.bad-json",
                        f"not valid JSON: {exc.msg} (column {exc.colno})",
                        item.name,
                        number,
                        "write one JSON object per line",
                    ),
                )

    def _csv_records(self, item: InputFile, tally: FileTally) -> Iterator[tuple[int, Any]]:
        current = [0]  # the physical line the reader last took (a cell may span lines)

        def texts() -> Iterator[str]:
            for number, text in self._lines(item, tally):
                current[0] = number
                yield "" if text is None else text

        lines = texts()
        delimiter = self.read.delimiter
        if delimiter is None:  # sniffed from the header: the first line that is not blank
            ahead: list[str] = []
            for text in lines:
                ahead.append(text)
                if text.strip():
                    break
            delimiter = sniff_delimiter(ahead[-1] if ahead else "")
            lines = _chain(ahead, lines)
        reader = csv.reader(lines, delimiter=delimiter)
        header: list[str] | None = None
        for row in reader:
            number = current[0]
            if not row or all(not cell.strip() for cell in row):
                continue
            if header is None:
                header = [self.read.rename(name) for name in csv_header(row)[0]]
                missing = [k for k in REQUIRED_KEYS if k not in header]
                if missing:
                    raise InputError(
                        f"{item.name}:{number}: the CSV header lacks {', '.join(missing)}; "
                        f"{CSV_HEADER_HINT}, or map the file's columns with --columns FILE"
                    )
                continue
            tally.read += 1
            if len(row) != len(header):
                self._reject(
                    tally,
                    _error(
                        "event.csv-columns",
                        f"expected {len(header)} columns, got {len(row)}",
                        item.name,
                        number,
                        f"quote a data cell that contains {_delimiter_name(delimiter)}",
                    ),
                )
                continue
            record: dict[str, Any] = dict(zip(header, row, strict=True))
            raw = record.get("data") or ""
            if not raw.strip():
                record["data"] = {}
            else:
                try:
                    record["data"] = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    self._reject(
                        tally,
                        _error(
                            "event.bad-json",
                            f"the data column is not valid JSON: {exc.msg}",
                            item.name,
                            number,
                            'write data as a JSON object, e.g. "{""a"": 1}"',
                        ),
                        record.get("case"),
                    )
                    continue
            yield number, record

    def _parquet_records(self, item: InputFile, tally: FileTally) -> Iterator[tuple[int, Any]]:
        cursor = self.con.cursor()
        cursor.execute("SELECT * FROM read_parquet(?, file_row_number = true)", [str(item.path)])
        names = [self.read.rename(d[0]) for d in cursor.description or ()]
        while batch := cursor.fetchmany(BATCH):
            for values in batch:
                record = dict(zip(names, values, strict=True))
                number = int(record.pop("file_row_number")) + 1
                tally.read += 1
                at = record.get("at")
                if isinstance(at, datetime):
                    record["at"] = at.isoformat()  # naive stays naive: rejected below
                data = record.get("data")
                if isinstance(data, str):
                    try:
                        record["data"] = orjson.loads(data) if data.strip() else {}
                    except orjson.JSONDecodeError as exc:
                        self._reject(
                            tally,
                            _error(
                                "event.bad-json",
                                f"the data column is not valid JSON: {exc.msg}",
                                item.name,
                                number,
                            ),
                            record.get("case"),
                        )
                        continue
                yield number, record
        cursor.close()

    def _stage(
        self,
        file_no: int,
        item: InputFile,
        records: Iterable[tuple[int, Any]],
        tally: FileTally,
        out: TextIO,
        advance: Callable[[int], None],
    ) -> None:
        units = self.rules.units
        alias = self.pseudonyms.case
        writer = csv.writer(out, lineterminator="\n")  # for records that need quoting
        declared = self.read.declared
        pending = 0
        last_case, staged_as, bad = None, "", 0
        for number, record in records:
            pending += 1
            if pending == 10_000:
                advance(pending)
                pending = 0
            raw_case = record.get("case") if isinstance(record, dict) else None
            taken = declared
            if isinstance(record, dict):
                if self.read.extra_into_data:  # told to take them: not warned about
                    taken = declared | {k for k in record if self.read.rename(k) not in KEYS}
                clash = self.read.map_record(record)
                if clash is not None:
                    self._reject(
                        tally,
                        _error("event.column-conflict", clash, item.name, number),
                        raw_case,
                    )
                    continue
            try:
                event = event_from_mapping(record, file=item.name, line=number)
            except EventError as exc:
                tally.rejected += 1
                for d in exc.diagnostics:
                    if d.code == "event.unknown-key":
                        d = replace(d, hint=_COLUMNS_HINT, hint_text=None)
                    self._note(d, raw_case)
                continue
            control = control_character(event)
            if control is not None:
                code, message, hint = control
                self._reject(tally, _error(code, message, item.name, number, hint), raw_case)
                continue
            at_us = micros(event.at)
            problems = self._check(event, at_us)
            if taken and problems:
                problems = [p for p in problems if not _is_declared(p, taken)]
            if problems:
                for d in problems:
                    self._note(d, event.case)
                if any(p.is_error for p in problems):
                    tally.rejected += 1
                    continue
            case = event.case
            if case != last_case:  # a case's events come in runs
                last_case = case
                staged_as = case if case in units else alias(case)
                bad = int(looks_like_personnummer(case) and not valid_personnummer(case))
            at_text = event.at.isoformat()
            data = _canonical(event.data)
            head = f"{file_no},{number},{staged_as},{at_us},{event.id},{event.type},{at_text}"
            if '"' in head or "\n" in head or "\r" in head or head.count(",") != 6:
                writer.writerow(
                    (file_no, number, staged_as, at_us, event.id, event.type, at_text, data, bad)
                )
            else:  # as the writer writes it: the JSON data (quotes in it) quoted, the rest not
                quoted = data.replace('"', '""')
                out.write(f'{head},"{quoted}",{bad}\n')
        advance(pending)

    # ------------------------------------------------------------------ between the passes

    def span(self) -> tuple[datetime, datetime] | None:
        """The first and last instant of the usable events (None when there are none)."""
        low, high = self.con.execute(
            f"SELECT min(at_us), max(at_us) FROM ({self._kept(None)})"
        ).fetchone() or (None, None)
        if low is None or high is None:
            return None
        return from_micros(low), from_micros(high)

    def _kept(self, as_of_us: int | None, also: str = "true") -> str:
        cond = "" if as_of_us is None else f" AND s.at_us <= {int(as_of_us)}"
        return (
            "SELECT s.* FROM staged s ANTI JOIN dropped d "
            f"ON s.file_no = d.file_no AND s.line = d.line WHERE {also}{cond}"
        )

    def finish(self, as_of: datetime) -> int:
        """Count the events after ``as_of`` per file; returns the number of cases."""
        limit = micros(as_of)
        self._as_of_us = limit
        for file_no, count in self.con.execute(
            f"SELECT file_no, count(*) FROM ({self._kept(None)}) WHERE at_us > {limit} "
            "GROUP BY file_no"
        ).fetchall():
            self.tallies[file_no].after_as_of = count
        self.con.execute("CREATE TABLE units (unit VARCHAR)")
        self.con.execute("CREATE TABLE borrow (type VARCHAR)")
        if self.rules.units:
            self.con.executemany(
                "INSERT INTO units VALUES (?)", [(u,) for u in sorted(self.rules.units)]
            )
        if self.rules.borrow_types:
            self.con.executemany(
                "INSERT INTO borrow VALUES (?)", [(t,) for t in sorted(self.rules.borrow_types)]
            )
        # The streams pass 2 hands out: each case that is not a unit's, and every unit
        # (each gets the first event, see _streams_sql) when any event is kept.
        row = self.con.execute(
            "SELECT count(DISTINCT case_p), "
            "count(DISTINCT case_p) FILTER (case_p NOT IN (SELECT unit FROM units)), count(*) "
            f"FROM ({self._kept(limit)})"
        ).fetchone()
        cases, plain, kept = (int(v) for v in row) if row else (0, 0, 0)
        self._streams = plain + (len(self.rules.units) if kept else 0)
        return cases

    def _streams_sql(self, low: str | None = None, high: str | None = None) -> str:
        """Every stream's events; with ``low`` or ``high``, those of the streams from ``low``
        (inclusive) to ``high`` (exclusive) only, the cases' events taken in that range
        from the start rather than all of them filtered at the end."""
        bounds = []
        if low is not None:
            bounds.append(f" >= {sql_text(low)}")
        if high is not None:
            bounds.append(f" < {sql_text(high)}")

        def within(column: str) -> str:
            return " AND ".join(column + b for b in bounds) or "true"

        as_of = self._as_of_us
        cols = "file_no, line, case_p, at_text, id, type, data"
        k_cols = ", ".join("k." + c for c in cols.split(", "))
        a_cols = ", ".join("a." + c for c in cols.split(", "))
        # Each part reads the kept events itself, its filters pushed into the scan: a CTE
        # of them read by several parts would be materialized whole, every event copied
        # (and in a worker, spilled) even when the routine has no units.
        lent = "s.type IN (SELECT type FROM borrow) OR s.case_p IN (SELECT unit FROM ranged)"
        return (
            f"WITH ranged AS (SELECT unit FROM units WHERE {within('unit')}), "
            f"plain AS (SELECT case_p AS stream, {cols} "
            f"FROM ({self._kept(as_of, within('s.case_p'))}) "
            "WHERE case_p NOT IN (SELECT unit FROM units)), "
            f"unitrows AS (SELECT u.unit AS stream, {k_cols} "
            f"FROM ({self._kept(as_of, f'({lent})')}) k JOIN ranged u ON k.case_p = u.unit "
            f"UNION SELECT u.unit, {k_cols} "
            f"FROM ({self._kept(as_of, f'({lent})')}) k CROSS JOIN ranged u "
            "WHERE k.type IN (SELECT type FROM borrow) "
            f"UNION SELECT u.unit, {a_cols} "
            f"FROM ({self._kept(as_of)} ORDER BY at_us, id LIMIT 1) a CROSS JOIN ranged u) "
            "SELECT * FROM plain UNION ALL SELECT * FROM unitrows"
        )

    def stream_count(self) -> int:
        """How many streams (cases and units) pass 2 hands out (known once :meth:`finish`
        has run)."""
        return self._streams

    # ------------------------------------------------------------------ pass 2

    def cases(self) -> Iterator[tuple[str, list[Event]]]:
        """Each case's events (a unit's: with those lent to it), one case at a time."""
        cursor = self.con.cursor()
        cursor.execute(f"SELECT {STREAM_COLUMNS} FROM ({self._streams_sql()}) ORDER BY stream")
        yield from group_streams(cursor, [i.name for i in self.inputs])
        cursor.close()

    def export_partitions(self, count: int) -> list[list[Path]]:
        """The streams split into ``count`` ranges of their ids (each with about as many
        events), as sets of Parquet files in the order of the ranges: the rows audited from
        one partition, each sorted, all come before the next one's (see
        :func:`~samverkan_rules.audit.tables.obligations_csv`)."""
        target = self.dir / "partitions"
        bounds = self._bounds(count)
        bucket = " ".join(f"WHEN stream < {sql_text(b)} THEN {i}" for i, b in enumerate(bounds))
        self.con.execute(
            f"COPY (SELECT {STREAM_COLUMNS}, "
            f"{f'CASE {bucket} ELSE {len(bounds)} END' if bounds else '0'} AS bucket "
            f"FROM ({self._streams_sql()})) TO {sql_text(str(target))} "
            "(FORMAT parquet, PARTITION_BY (bucket), COMPRESSION zstd)"
        )
        parts: list[list[Path]] = []
        for bucket_no in range(count):
            folder = target / f"bucket={bucket_no}"
            parts.append(sorted(folder.glob("*.parquet")) if folder.is_dir() else [])
        return parts

    def ranges(self, count: int) -> list[tuple[str | None, str | None]]:
        """``count`` ranges of stream ids (fewer when the cases are few), each from its low
        end (inclusive; None: from the first) to its high end (exclusive; None: to the
        last), with about as many events in each, in order."""
        edges: list[str | None] = [None, *self._bounds(count), None]
        return list(pairwise(edges))

    def range_query(self, low: str | None, high: str | None) -> str:
        """The query of the streams of one of :meth:`ranges`, in
        :data:`~samverkan_rules.audit.streams.STREAM_COLUMNS`, sorted by stream."""
        return f"SELECT {STREAM_COLUMNS} FROM ({self._streams_sql(low, high)}) ORDER BY stream"

    def _bounds(self, count: int) -> list[str]:
        """Case ids that cut the staged events into ``count`` ranges of about as many events
        each (fewer when the cases are few), in DuckDB's order of text, which is the order
        of code points that the streams are sorted in.

        Taken from a sample of :data:`BOUNDS_SAMPLE` events: the quantiles of every case id
        hold them all in memory (past the memory limit at 10M events), and the ranges only
        share out the work (any cut gives the same files).
        """
        if count < 2:
            return []
        row = self.con.execute(
            "SELECT quantile_disc(case_p, ?) FROM (SELECT case_p FROM staged "
            f"USING SAMPLE reservoir({BOUNDS_SAMPLE} ROWS) REPEATABLE (1))",
            [[k / count for k in range(1, count)]],
        ).fetchone()
        cuts = row[0] if row and row[0] else []
        return sorted(set(cuts))

    def queue_events(self) -> list[Event]:
        """Every case's events of the types the queues look at (for one evaluation)."""
        return self.events_of_types(self.rules.queue_types)

    def events_of_types(self, wanted: Iterable[str]) -> list[Event]:
        """Every case's usable events (up to as_of) of these types: the few that count for
        every case (queue entries, cancelled meetings)."""
        types = sorted(set(wanted))
        if not types:
            return []
        return self._fetch(f"type IN ({', '.join('?' for _ in types)})", types, "")

    def events_of(self, case: str | None, also: Iterable[str] = ()) -> list[Event]:
        """The usable events up to as_of (see :meth:`finish`) of ``case`` (pseudonym, unit or
        id as staged; every case's when None), with every case's events of the types in
        ``also`` (those that may count for the case), in the order of time and id."""
        if case is None:
            return self._fetch("true", [], " ORDER BY at_us, id")
        return next(self.events_of_cases([case], also))[1]

    def events_of_cases(
        self, cases: Iterable[str], also: Iterable[str] = ()
    ) -> Iterator[tuple[str, list[Event]]]:
        """Each of ``cases`` (in their order, once) with its :meth:`events_of`, read in one
        scan of the staged events (the pages of the cases an audit lists: a scan each took
        0.08 s at 10M events); one case's list at a time, since every case's events of the
        ``also`` types are in each."""
        wanted = list(dict.fromkeys(cases))
        if not wanted:
            return
        types = sorted(set(also))
        where = f"case_p IN ({', '.join('?' for _ in wanted)})"
        if types:
            where += f" OR type IN ({', '.join('?' for _ in types)})"
        every = self._fetch(where, [*wanted, *types], " ORDER BY at_us, id")
        kinds = frozenset(types)
        for case in wanted:
            yield case, [e for e in every if e.case == case or e.type in kinds]

    def _fetch(self, where: str, params: list[str], order: str) -> list[Event]:
        cursor = self.con.cursor()
        cursor.execute(
            f"SELECT case_p AS stream, file_no, line, case_p, at_text, id, type, data "
            f"FROM ({self._kept(self._as_of_us)}) WHERE {where}{order}",
            params,
        )
        names = self.file_names()
        out = [
            staged_event(r, names)
            for batch in iter(lambda: cursor.fetchmany(BATCH), [])
            for r in batch
        ]
        cursor.close()
        return out

    def counts(self) -> list[tuple[InputFile, FileTally]]:
        """Each input and its tally."""
        return list(zip(self.inputs, self.tallies, strict=True))

    def file_names(self) -> list[str]:
        """The inputs' names, indexed by file number."""
        return [i.name for i in self.inputs]
