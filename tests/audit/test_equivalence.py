"""Case by case equals all at once: the audit's rows match one evaluation of the whole history.

The scenario events of each bundled routine are put together into one history (ids and
case ids made distinct per scenario, units' cases shared), audited with DuckDB on disk,
and compared obligation by obligation with :func:`samverkan_rules.evaluate` over all
events. This covers schedules (units' cases), ``any_case`` patterns (events lent to
units) and queues.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from samverkan_rules import evaluate, load_registry
from samverkan_rules.audit.inputs import find_inputs
from samverkan_rules.audit.pseudonym import Pseudonymiser
from samverkan_rules.audit.reader import Staging
from samverkan_rules.audit.rows import AuditRules
from samverkan_rules.audit.run import AuditOptions, run_audit
from samverkan_rules.audit.streams import group_streams
from samverkan_rules.time.instants import start_of_day
from tests.support import ROUTINES

pytest.importorskip("duckdb")


def _history(routine_id: str, units: set[str]) -> tuple[list[dict[str, Any]], datetime]:
    events: list[dict[str, Any]] = []
    latest: datetime | None = None
    for n, path in enumerate(sorted((ROUTINES / "tests" / routine_id).glob("*.yaml"))):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for m, scenario in enumerate(doc["scenarios"]):
            prefix = f"s{n}x{m}-"
            ids = {str(e["id"]) for e in scenario.get("events", [])}
            for e in scenario.get("events", []):
                record = dict(e)
                record["id"] = prefix + str(record["id"])
                if record.get("case") not in units:
                    record["case"] = prefix + str(record["case"])
                data = dict(record.get("data") or {})
                for key, value in data.items():
                    if isinstance(value, str) and value in ids:
                        data[key] = prefix + value
                record["data"] = data
                record["at"] = str(record["at"])
                events.append(record)
                at = datetime.fromisoformat(record["at"])
                latest = at if latest is None or at > latest else latest
    assert latest is not None
    return events, latest


def _rows_from_evaluation(result: Any) -> Counter[tuple[str, ...]]:
    rows: Counter[tuple[str, ...]] = Counter()
    for case in result.cases:
        for o in case.obligations:
            if o.escalates is not None or o.trigger is None:
                continue
            if o.obligation != f"{o.rule}:{o.trigger.event}":
                continue
            rows[
                (
                    o.case,
                    o.routine.version,
                    o.rule,
                    o.trigger.at,
                    o.deadline or "",
                    o.fulfilled_by.at if o.fulfilled_by else "",
                    o.status,
                    "" if o.late_working_days is None else str(o.late_working_days),
                )
            ] += 1
    return rows


def _rows_from_csv(path: Path) -> Counter[tuple[str, ...]]:
    rows: Counter[tuple[str, ...]] = Counter()
    with path.open(encoding="utf-8", newline="") as handle:
        for r in csv.DictReader(handle):
            rows[
                (
                    r["case"],
                    r["version"],
                    r["rule"],
                    r["trigger"],
                    r["deadline"],
                    r["fulfilled"],
                    r["status"],
                    r["late_working_days"],
                )
            ] += 1
    return rows


@pytest.mark.parametrize("jobs", [1, 3])
@pytest.mark.parametrize(
    "routine_id",
    ["katrineholm-hemtjanst-vardcentral", "dagverksamhet-beslut", "lss-bostad-daglig-verksamhet"],
)
def test_case_by_case_equals_whole_history(routine_id: str, jobs: int, tmp_path: Path) -> None:
    """In one process and in worker processes, each reading its range of the cases (and of
    the units, with the events lent to them) from the staging database."""
    registry = load_registry(ROUTINES)
    routines = list(registry.versions(routine_id))
    units = {u for r in routines for u in r.routine.units}
    units |= {u for r in routines for s in r.routine.schedules.values() for u in s.units}
    events, latest = _history(routine_id, units)
    tz = routines[0].tz
    last = latest.astimezone(tz).date() + timedelta(days=1)
    as_of = start_of_day(last + timedelta(days=1), tz)

    events = json.loads(json.dumps(events, default=str))  # YAML dates as the text they were
    whole = evaluate(routines, events, as_of, ledger=True, trace=True)
    expected = _rows_from_evaluation(whole)
    assert expected, "the scenarios raise obligations"

    log = tmp_path / "history.jsonl"
    lines = (json.dumps(e, ensure_ascii=False) + "\n" for e in events)
    log.write_text("".join(lines), encoding="utf-8")
    outcome = run_audit(
        AuditOptions(
            routines=routines,
            events=[str(log)],
            out=str(tmp_path / "out"),
            first=date(1990, 1, 1),
            last=last,
            as_of=as_of,
            identify=True,
            jobs=jobs,
        )
    )
    got = _rows_from_csv(tmp_path / "out" / "obligations.csv")
    assert got == expected
    assert sum(r.total for r in outcome.report.by_rule) == sum(expected.values())
    # Queue offers judged over all cases, as the whole evaluation judges them.
    whole_offers = sum(len(q.offers) for q in whole.queues)
    assert sum(q.offers for q in outcome.report.queues) == whole_offers


@pytest.mark.parametrize(
    "routine_id",
    ["katrineholm-hemtjanst-vardcentral", "dagverksamhet-beslut", "orebro-dagverksamhet-hemvard"],
)
def test_the_stream_count_is_the_streams_handed_out(routine_id: str, tmp_path: Path) -> None:
    """The progress bar's total, counted when pass 1 ends, is the number of streams pass 2
    hands out: each case that is not a unit's, and every unit (lent events or not)."""
    routines = list(load_registry(ROUTINES).versions(routine_id))
    rules = AuditRules.prepare(routines)
    events, latest = _history(routine_id, set(rules.units))
    log = tmp_path / "history.jsonl"
    log.write_text("".join(json.dumps(e, default=str) + "\n" for e in events), encoding="utf-8")
    with Staging(rules, Pseudonymiser(b"0123456789abcdef")) as staging:
        staging.load(find_inputs([str(log)]), lambda n: None)
        cases = staging.finish(latest + timedelta(days=1))
        streams = [case for case, _ in staging.cases()]
        # Cut into ranges for worker processes: every stream once, in order, with the
        # events one process reads for it.
        whole = [(case, sorted(e.id for e in got)) for case, got in staging.cases()]
        for count in (2, 3, 5):
            ranged = []
            for low, high in staging.ranges(count):
                cursor = staging.con.cursor()
                cursor.execute(staging.range_query(low, high))
                ranged += [(c, sorted(e.id for e in es)) for c, es in group_streams(cursor, ["f"])]
            assert ranged == whole
    assert staging.stream_count() == len(streams) == len(set(streams))
    assert len(streams) == cases + len(rules.units - {e["case"] for e in events})
