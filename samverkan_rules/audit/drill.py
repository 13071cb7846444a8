"""From the report's numbers to the cases behind them: the worst cases, the most overdue
obligations, and an offline page per listed case.

The lists are drawn from the obligation rows (every case, every obligation), ordered so the
same history gives the same lists: the worst cases by overdue obligations, then late ones,
then working days late; the most overdue obligations by their age at the end of the period.
Each listed case gets ``cases/case-NN.html`` (named by rank, never by its id): its events
and the explanation of each of its obligations, as ``samverkan explain`` gives them, with
the case named by its pseudonym and anything shaped like a personnummer masked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from samverkan_rules import engine
from samverkan_rules.audit.html import TEMPLATES
from samverkan_rules.audit.models import OverdueObligation, WorstCase
from samverkan_rules.audit.pseudonym import mask
from samverkan_rules.audit.reader import Staging
from samverkan_rules.audit.rows import AuditRules
from samverkan_rules.audit.streams import sql_text
from samverkan_rules.audit.tables import OBLIGATION_COLUMNS
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.engine.result import find_obligations
from samverkan_rules.i18n import translator
from samverkan_rules.phrases import format_moment
from samverkan_rules.records import Obligation
from samverkan_rules.text.due import render_obligation

LISTED = 10
"""How many cases and obligations each list shows."""


@dataclass(frozen=True)
class DrillDown:
    """The lists for report.html and the case pages to write (name -> bytes)."""

    cases: list[WorstCase]
    overdue: list[OverdueObligation]
    pages: dict[str, bytes]


def _source(chunks: Sequence[Path], group_by: Sequence[str]) -> tuple[str, list[object]]:
    """The obligation rows of the chunks as a SELECT (read where they lie, not loaded)."""
    names = (*OBLIGATION_COLUMNS, *group_by)
    columns = "{" + ", ".join(f"{sql_text(c)}: 'VARCHAR'" for c in names) + "}"
    existing = [str(c) for c in chunks if c.stat().st_size > 0]
    if not existing:
        return 'SELECT NULL::VARCHAR AS "case", NULL::VARCHAR AS status WHERE false', []
    return (
        "SELECT * FROM read_csv(?, header = false, delim = ',', quote = '\"', escape = '\"', "
        f"columns = {columns}, auto_detect = false)",
        [existing],
    )


def worst(
    chunks: Sequence[Path],
    con: duckdb.DuckDBPyConnection,
    group_by: Sequence[str] = (),
) -> tuple[list[tuple[str, int, int, int, int]], list[tuple[str, str, str, str, int]]]:
    """The worst cases (case, obligations, overdue, late, working days late) and the most
    overdue obligations (case, obligation, rule, deadline, working days), :data:`LISTED` each.

    DuckDB reads the rows where they lie, in ``con`` (the staging database) within its
    memory limit.
    """
    source, params = _source(chunks, group_by)
    if not params:
        return [], []
    cases = con.execute(
        "SELECT \"case\", count(*), count(*) FILTER (status = 'overdue'), "
        "count(*) FILTER (status = 'fulfilled_late'), "
        "coalesce(sum(TRY_CAST(late_working_days AS BIGINT)) "
        "FILTER (status = 'fulfilled_late'), 0) AS days "
        f"FROM ({source}) GROUP BY \"case\" HAVING count(*) FILTER (status IN ('overdue', "
        "'fulfilled_late')) > 0 ORDER BY 3 DESC, 4 DESC, days DESC, 1 LIMIT ?",
        [*params, LISTED],
    ).fetchall()
    overdue = con.execute(
        'SELECT "case", obligation, rule, deadline, '
        f"coalesce(TRY_CAST(late_working_days AS BIGINT), 0) AS days FROM ({source}) "
        "WHERE status = 'overdue' ORDER BY days DESC, 1, 2 LIMIT ?",
        [*params, LISTED],
    ).fetchall()
    return [tuple(r) for r in cases], [tuple(r) for r in overdue]


def case_page(
    staging: Staging,
    rules: AuditRules,
    routines: Sequence[CompiledRoutine],
    case: str,
    as_of: datetime,
) -> str:
    """One case's page: its events and each obligation explained (Swedish), masked."""
    also = rules.borrow_types | rules.cancelling_types | rules.queue_types
    events = staging.events_of(case, also)
    t = translator("sv")
    result = engine.evaluate(routines, events, as_of).in_language(t)
    mine = [
        o.obligation
        for c in result.with_output(ledger=True).cases
        if c.case == case
        for o in c.obligations or ()
    ]
    found, _ = find_obligations(result, mine)
    by_key = {(r.id, r.version): r for r in routines}
    tz = routines[0].tz
    explained = [
        (
            o.obligation,
            render_obligation(o, t, by_key.get((o.routine.id, o.routine.version)), as_of=as_of),
        )
        for o in found
        if o.case == case
    ]
    rows = [
        (format_moment(e.at.astimezone(tz), t), e.type, e.id, _data(e.data))
        for e in events
        if e.case == case
    ]
    html = TEMPLATES.get_template("case.html.j2").render(
        case=case, as_of=format_moment(as_of.astimezone(tz), t), events=rows, obligations=explained
    )
    return mask(html)


def _key(o: Obligation) -> tuple[str, str]:
    return o.routine.id, o.routine.version


def _data(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def drill_down(
    chunks: Sequence[Path],
    staging: Staging,
    rules: AuditRules,
    routines: Sequence[CompiledRoutine],
    as_of: datetime,
    group_by: Sequence[str] = (),
) -> DrillDown:
    """The lists and the pages of the cases they name (see the module)."""
    cases, overdue = worst(chunks, staging.con, group_by)
    names: dict[str, str] = {}
    for case in [c[0] for c in cases] + [o[0] for o in overdue]:
        names.setdefault(case, f"cases/case-{len(names) + 1:02d}.html")
    pages = {
        page: case_page(staging, rules, routines, case, as_of).encode("utf-8")
        for case, page in names.items()
    }
    return DrillDown(
        cases=[
            WorstCase(
                case=c[0],
                page=names[c[0]],
                obligations=c[1],
                overdue=c[2],
                late=c[3],
                late_working_days=c[4],
            )
            for c in cases
        ],
        overdue=[
            OverdueObligation(
                case=o[0],
                page=names[o[0]],
                obligation=o[1],
                rule=o[2],
                deadline=o[3],
                working_days=o[4],
            )
            for o in overdue
        ],
        pages=pages,
    )
