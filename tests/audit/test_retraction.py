"""The audit honours retractions as ``evaluate`` does: a retracted event counts for nothing,
also where it answered a unit's obligation or called off a schedule's occurrence."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from samverkan_rules import evaluate, load_registry
from samverkan_rules.audit.run import AuditOptions, run_audit
from samverkan_rules.time.instants import start_of_day
from tests.audit.test_equivalence import _history, _rows_from_csv, _rows_from_evaluation
from tests.support import ROUTINES

pytest.importorskip("duckdb")


@pytest.mark.parametrize(
    "routine_id", ["katrineholm-hemtjanst-vardcentral", "dagverksamhet-beslut"]
)
def test_the_audit_drops_retracted_events_as_evaluate_does(routine_id: str, tmp_path: Path) -> None:
    routines = list(load_registry(ROUTINES).versions(routine_id))
    units = {u for r in routines for u in r.routine.units}
    units |= {u for r in routines for s in r.routine.schedules.values() for u in s.units}
    events, latest = _history(routine_id, units)
    events = json.loads(json.dumps(events, default=str))
    tz = routines[0].tz
    last = latest.astimezone(tz).date() + timedelta(days=1)
    as_of = start_of_day(last + timedelta(days=1), tz)
    # Scheduled obligations start where the history starts, retracted events or not: the
    # earliest event stays.
    first = min(events, key=lambda e: datetime.fromisoformat(e["at"]))
    gone = [e for e in events[::3] if e is not first]
    retractions = [
        {
            "id": f"retract-{e['id']}",
            "case": e["case"],
            "type": "event.retracted",
            "at": e["at"],
            "data": {"event": e["id"]},
        }
        for e in gone
    ]
    history = [*events, *retractions]
    whole = evaluate(routines, history, as_of, ledger=True, trace=True)
    without = evaluate(routines, [e for e in events if e not in gone], as_of, ledger=True)
    expected = _rows_from_evaluation(whole)
    assert expected == _rows_from_evaluation(without)
    assert expected != _rows_from_evaluation(evaluate(routines, events, as_of, ledger=True))

    log = tmp_path / "history.jsonl"
    log.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in history), "utf-8")
    options = AuditOptions(
        routines=routines,
        events=[str(log)],
        out=str(tmp_path / "out"),
        first=date(1990, 1, 1),
        last=last,
        as_of=as_of,
        identify=True,
    )
    run_audit(options)
    assert _rows_from_csv(tmp_path / "out" / "obligations.csv") == expected
