"""Pass 2's reading: the staged events of each stream (a case, or a unit with the events lent
to it), one stream at a time, from the staging database (in its process or another) or
from a partition's Parquet files (:meth:`Staging.export_partitions
<samverkan_rules.audit.reader.Staging.export_partitions>`, for Dask).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson

from samverkan_rules.events.model import Event

BATCH = 20_000
"""Rows fetched from DuckDB at a time."""

STREAM_COLUMNS = "stream, file_no, line, case_p, at_text, id, type, data"
"""The columns of a staged event as pass 2 reads them, the stream first."""


def sql_text(text: str) -> str:
    """``text`` as a SQL string literal (for the statements that take no parameters).

    Examples:
        >>> sql_text("/tmp/it's here")
        "'/tmp/it''s here'"
    """
    return "'" + text.replace("'", "''") + "'"


def connect(database: Path | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection as the audit opens every one: one that prints nothing.

    DuckDB's Python client draws a progress bar on standard output for a query of more than
    two seconds, a terminal or not: into ``samverkan audit --format json``'s own output, and
    between the audit's progress bars on stderr.
    """
    con = duckdb.connect(":memory:" if database is None else str(database), read_only=read_only)
    con.execute("SET enable_progress_bar = false")
    con.execute("SET enable_progress_bar_print = false")  # a later progress_bar_time sets the other
    return con


def staged_event(row: Sequence[Any], names: Sequence[str]) -> Event:
    """The event of a row in :data:`STREAM_COLUMNS` order (``names``: the inputs' names,
    indexed by file number)."""
    _, file_no, line, case, at, ident, etype, data = row
    return Event(
        ident, case, etype, datetime.fromisoformat(at), orjson.loads(data), line, names[file_no]
    )


def group_streams(cursor: Any, names: Sequence[str]) -> Iterator[tuple[str, list[Event]]]:
    """(stream, its events) for each run of rows of one stream from a DuckDB cursor whose
    query gives :data:`STREAM_COLUMNS` ordered by stream, fetched :data:`BATCH` at a time."""
    current: str | None = None
    events: list[Event] = []
    while batch := cursor.fetchmany(BATCH):
        for row in batch:
            stream = row[0]
            if stream != current:
                if current is not None:
                    yield current, events
                current, events = stream, []
            events.append(staged_event(row, names))
    if current is not None:
        yield current, events


def cases_from_parquet(
    files: Sequence[Path],
    names: Sequence[str],
    *,
    spill: Path,
    memory_limit: str = "256MB",
) -> Iterator[tuple[str, list[Event]]]:
    """The streams of one partition written by :meth:`Staging.export_partitions`; the sort
    by stream beyond ``memory_limit`` goes to files in ``spill``, a private temporary
    directory (DuckDB's default is ``.tmp`` in the working directory, and the rows hold
    events)."""
    if not files:
        return
    con = connect()
    try:
        con.execute(f"SET memory_limit = {sql_text(memory_limit)}")
        con.execute("SET threads = 1")
        con.execute(f"SET temp_directory = {sql_text(str(spill))}")
        con.execute(
            f"SELECT {STREAM_COLUMNS} FROM read_parquet(?, hive_partitioning = false) "
            "ORDER BY stream",
            [[str(f) for f in files]],
        )
        yield from group_streams(con, names)
    finally:
        con.close()


def cases_from_database(
    database: Path,
    query: str,
    names: Sequence[str],
    *,
    spill: Path,
    memory_limit: str = "256MB",
) -> Iterator[tuple[str, list[Event]]]:
    """The streams a query of the staging database gives (one range of them, see
    :meth:`Staging.range_query <samverkan_rules.audit.reader.Staging.range_query>`), read
    from its file by this process while the staging process has it closed
    (:meth:`Staging.shared <samverkan_rules.audit.reader.Staging.shared>`); the sort by
    stream beyond ``memory_limit`` goes to files in ``spill``, as for
    :func:`cases_from_parquet`."""
    con = connect(database, read_only=True)
    try:
        con.execute(f"SET memory_limit = {sql_text(memory_limit)}")
        con.execute("SET threads = 1")
        con.execute(f"SET temp_directory = {sql_text(str(spill))}")
        con.execute(query)
        yield from group_streams(con, names)
    finally:
        con.close()
