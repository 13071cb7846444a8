"""What is found over all the staged records at once, once pass 1 has staged them: reused
event ids (:func:`resolve_duplicates`) and malformed personnummer
(:func:`personnummer_findings`), each a query of the staging database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import duckdb

from samverkan_rules.audit.pseudonym import mask
from samverkan_rules.diagnostics import Diagnostic


class _Tally(Protocol):
    rejected: int


def resolve_duplicates(
    con: duckdb.DuckDBPyConnection, names: Sequence[str], tallies: Sequence[_Tally]
) -> list[Diagnostic]:
    """Reused event ids over all files, handled as :func:`events.deduplicate` does; the
    findings. The records left out go into the table ``dropped`` (file number, line), and
    each is counted as rejected in its file's tally.

    An exact repeat (same case, instant, type and data) is kept once, at its first file and
    line; the repeats are rejected with a warning. Different events under one id are all
    rejected with an error: keeping one would depend on the order of the inputs.
    """
    found: list[Diagnostic] = []
    con.execute("CREATE TABLE dropped (file_no INTEGER, line BIGINT)")
    # The ids used more than once first: comparing every record's content, only to keep the
    # groups of more than one, took 0.5 s of a 1M-event audit's 0.6 here; this takes 0.08.
    con.execute(
        "CREATE TABLE dup AS SELECT id, count(*) AS n, "
        "count(DISTINCT concat_ws(chr(31), case_p, at_us::VARCHAR, type, data)) AS variants, "
        "min(file_no * 1000000000000 + line) AS keep "
        "FROM staged SEMI JOIN (SELECT id FROM staged GROUP BY id HAVING count(*) > 1) USING (id) "
        "GROUP BY id"
    )
    con.execute(
        "INSERT INTO dropped SELECT s.file_no, s.line FROM staged s JOIN dup d USING (id) "
        "WHERE d.variants > 1 OR s.file_no * 1000000000000 + s.line <> d.keep"
    )
    repeats = con.execute(
        "SELECT s.file_no, count(*), min(s.line) FROM staged s JOIN dup d USING (id) "
        "WHERE d.variants = 1 AND s.file_no * 1000000000000 + s.line <> d.keep "
        "GROUP BY s.file_no ORDER BY s.file_no"
    ).fetchall()
    for file_no, count, first in repeats:
        tallies[file_no].rejected += count
        found.append(
            Diagnostic(
                "warning",
                "event.duplicate",
                f"{count} event(s) repeat an event read before (same id and content); "
                "each is counted once",
                file=names[file_no],
                line=first,
                hint="leave overlapping exports out, or keep them: the result is the same",
            )
        )
    conflicts = con.execute(
        "SELECT s.id, list(s.file_no ORDER BY s.file_no, s.line), "
        "list(s.line ORDER BY s.file_no, s.line) "
        "FROM staged s JOIN dup d USING (id) WHERE d.variants > 1 GROUP BY s.id ORDER BY s.id"
    ).fetchall()
    for ident, files, lines in conflicts:
        for file_no in files:
            tallies[file_no].rejected += 1
        where = ", ".join(f"{names[f]}:{n}" for f, n in zip(files, lines, strict=True))
        found.append(
            Diagnostic(
                "error",
                "event.duplicate-id",
                mask(
                    f"event id {ident!r} is used by {len(files)} different events ({where}); "
                    "none of them is evaluated"
                ),
                file=names[files[0]],
                line=lines[0],
                hint="give every event its own id",
            )
        )
    return found


def personnummer_findings(con: duckdb.DuckDBPyConnection, names: Sequence[str]) -> list[Diagnostic]:
    """A warning for each case whose id has a personnummer's form but is not a valid one, at
    its first record."""
    found: list[Diagnostic] = []
    rows = con.execute(
        "SELECT min(file_no * 1000000000000 + line) AS pos FROM staged WHERE bad_pnr = 1 "
        "GROUP BY case_p ORDER BY pos"
    ).fetchall()
    for (position,) in rows:
        file_no, line = divmod(int(position), 1_000_000_000_000)
        found.append(
            Diagnostic(
                "warning",
                "case.invalid-personnummer",
                "the case id has the form of a personnummer or samordningsnummer but is not "
                "a valid one (date or check digit); the case is audited under it as given",
                file=names[file_no],
                line=line,
                hint="check the case id in the source system",
            )
        )
    return found
