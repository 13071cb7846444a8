"""From the report's numbers to the cases behind them: the worst cases, the most overdue
obligations, and an offline page per listed case.

The lists are drawn from the obligation rows (every case, every obligation) as each
partition writes them, kept by :class:`~samverkan_rules.audit.tallies.Partial` and merged
with it, ordered so the same history gives the same lists: the worst cases by overdue
obligations, then late ones, then working days late; the most overdue obligations by their
age at the end of the period.
Each listed case gets ``cases/case-NN.html`` (named by rank, never by its id): its events
and the explanation of each of its obligations, as ``samverkan explain`` gives them, with
the case named by its pseudonym and anything shaped like a personnummer masked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from samverkan_rules import engine
from samverkan_rules.audit.html import TEMPLATES
from samverkan_rules.audit.models import OverdueObligation, WorstCase
from samverkan_rules.audit.pseudonym import mask
from samverkan_rules.audit.reader import Staging
from samverkan_rules.audit.rows import AuditRules
from samverkan_rules.audit.tallies import Partial
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.engine.result import find_obligations
from samverkan_rules.events.model import Event
from samverkan_rules.i18n import translator
from samverkan_rules.phrases import format_moment
from samverkan_rules.records import Obligation
from samverkan_rules.text.due import render_obligation


@dataclass(frozen=True)
class DrillDown:
    """The lists for report.html and the case pages to write (name -> bytes)."""

    cases: list[WorstCase]
    overdue: list[OverdueObligation]
    pages: dict[str, bytes]


def case_page(
    events: Sequence[Event],
    routines: Sequence[CompiledRoutine],
    case: str,
    as_of: datetime,
) -> str:
    """One case's page: its events and each obligation explained (Swedish), masked.

    ``events``: the case's with every case's that may count for it, as
    :meth:`Staging.events_of <samverkan_rules.audit.reader.Staging.events_of>` gives them.
    """
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
    partial: Partial,
    staging: Staging,
    rules: AuditRules,
    routines: Sequence[CompiledRoutine],
    as_of: datetime,
) -> DrillDown:
    """The lists (as the merged ``partial`` has them, see :meth:`Partial.add_case`) and the
    pages of the cases they name (see the module)."""
    partial.fold()
    cases, overdue = partial.worst, partial.most_overdue
    names: dict[str, str] = {}
    for case in [c[0] for c in cases] + [o[0] for o in overdue]:
        names.setdefault(case, f"cases/case-{len(names) + 1:02d}.html")
    also = rules.borrow_types | rules.cancelling_types | rules.queue_types
    pages = {
        names[case]: case_page(events, routines, case, as_of).encode("utf-8")
        for case, events in staging.events_of_cases(names, also)
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
