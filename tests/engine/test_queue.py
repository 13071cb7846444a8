"""Tests for queues: the order in which a vacant day-care place is offered.

They run against ``routines/dagverksamhet-beslut.yaml``, whose queue ``ledig-plats`` puts a
case in line on ``decision.made`` (priority 1, "Ny brukare") or ``utokning.onskad``
(priority 2), takes it out on ``decision.executed``, ``start.declined``,
``kolista.borttagen`` or ``days.increased``, and checks every ``plats.erbjuden``. The routine
is in force from 2020-01-01. Times in March 2026 are +01:00 (summer time starts 29 March).
"""

from __future__ import annotations

import json
import random
from datetime import datetime
from typing import Any

import pytest

from samverkan_rules import Evaluation, evaluate, load_routine
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.records import QueueEntry, QueueOffer, QueueResult, RoutineRef
from samverkan_rules.routine.load import check_routine_text
from tests.support import ROUTINES, event

ROUTINE_FILE = ROUTINES / "dagverksamhet-beslut.yaml"
REF = RoutineRef(id="dagverksamhet-beslut", version="1")


@pytest.fixture(scope="module")
def routine() -> CompiledRoutine:
    return load_routine(ROUTINE_FILE)


def decision(ident: str, at: str, case: str) -> dict[str, Any]:
    return event(id=ident, case=case, type="decision.made", at=at, unit="st-knut")


def more_days(ident: str, at: str, case: str) -> dict[str, Any]:
    return event(
        id=ident, case=case, type="utokning.onskad", at=at, unit="st-knut", days_per_week=3
    )


def offer(ident: str, at: str, case: str, kind: str = "new_user") -> dict[str, Any]:
    return event(id=ident, case=case, type="plats.erbjuden", at=at, unit="st-knut", kind=kind)


def run(routine: CompiledRoutine, events: list[dict[str, Any]], as_of: str) -> Evaluation:
    return evaluate(routine, events, datetime.fromisoformat(as_of))


def the_queue(result: Evaluation) -> QueueResult:
    assert [(q.queue, q.routine) for q in result.queues] == [("ledig-plats", REF)]
    return result.queues[0]


def out_of_order(result: Evaluation) -> list[tuple[str, str, str | None]]:
    return [
        (d.level, d.message, d.hint) for d in result.diagnostics if d.code == "queue.out-of-order"
    ]


NEW = "Ny brukare"
MORE = "Brukare som önskar utökning av dagar"
WHERE = (
    "queue ledig-plats (Kölistan för ledig plats på dagverksamhet) "
    "of routine dagverksamhet-beslut 1"
)


def test_an_offer_to_the_first_in_line_is_in_order(routine: CompiledRoutine) -> None:
    # a decided on 2 March, b on 3 March: a is first; the offer to a is in order.
    events = [
        decision("e1", "2026-03-02T10:00:00+01:00", "a"),
        decision("e2", "2026-03-03T10:00:00+01:00", "b"),
        offer("e3", "2026-03-10T09:00:00+01:00", "a"),
    ]
    result = run(routine, events, "2026-03-20T12:00:00+01:00")
    queue = the_queue(result)
    assert queue.label == "Kölistan för ledig plats på dagverksamhet"
    assert queue.offers == [
        QueueOffer(event="e3", case="a", at="2026-03-10T09:00:00+01:00", in_order=True, first="a")
    ]
    # The offer does not take a out of the queue: accepting or declining does.
    assert queue.order == [
        QueueEntry(case="a", priority=1, label=NEW, since="2026-03-02T10:00:00+01:00"),
        QueueEntry(case="b", priority=1, label=NEW, since="2026-03-03T10:00:00+01:00"),
    ]
    assert out_of_order(result) == []


def test_more_days_offered_while_a_new_user_waits_is_out_of_order(
    routine: CompiledRoutine,
) -> None:
    # b has wanted more days since February, but a new user (a) came in March: a goes first.
    events = [
        more_days("e1", "2026-02-02T10:00:00+01:00", "b"),
        decision("e2", "2026-03-02T10:00:00+01:00", "a"),
        offer("e3", "2026-03-10T09:00:00+01:00", "b", kind="more_days"),
    ]
    result = run(routine, events, "2026-03-20T12:00:00+01:00")
    queue = the_queue(result)
    assert queue.offers == [
        QueueOffer(event="e3", case="b", at="2026-03-10T09:00:00+01:00", in_order=False, first="a")
    ]
    assert out_of_order(result) == [
        (
            "warning",
            f"{WHERE}: offer e3 on 2026-03-10 09:00+01:00 went to case 'b', but case 'a' was "
            "first in line (Ny brukare, priority 1, queued since 2026-03-02 10:00+01:00)",
            "offer the place to case 'a' first, or record why the order was departed from",
        )
    ]
    # Before the new user came, b was first: the same offer on 27 February is in order.
    events[2] = offer("e3", "2026-02-27T09:00:00+01:00", "b", kind="more_days")
    assert the_queue(run(routine, events, "2026-03-20T12:00:00+01:00")).offers[0].in_order


def test_an_offer_to_someone_not_in_the_queue_is_out_of_order(routine: CompiledRoutine) -> None:
    events = [offer("e1", "2026-03-10T09:00:00+01:00", "x")]
    result = run(routine, events, "2026-03-20T12:00:00+01:00")
    assert the_queue(result).offers == [
        QueueOffer(event="e1", case="x", at="2026-03-10T09:00:00+01:00", in_order=False, first=None)
    ]
    assert [m for _, m, _ in out_of_order(result)] == [
        f"{WHERE}: offer e1 on 2026-03-10 09:00+01:00 went to case 'x', which was not in the "
        "queue; the queue was empty"
    ]
    events.insert(0, decision("e0", "2026-03-01T10:00:00+01:00", "a"))
    result = run(routine, events, "2026-03-20T12:00:00+01:00")
    assert [m for _, m, _ in out_of_order(result)] == [
        f"{WHERE}: offer e1 on 2026-03-10 09:00+01:00 went to case 'x', which was not in the "
        "queue, but case 'a' was first in line (Ny brukare, priority 1, queued since "
        "2026-03-01 10:00+01:00)"
    ]


def test_a_better_priority_keeps_the_join_time(routine: CompiledRoutine) -> None:
    # c wants more days from 5 January; a is decided on 2 February; c gets a new decision on
    # 1 March (now priority 1) but keeps 5 January, so c is now ahead of a.
    events = [
        more_days("e1", "2026-01-05T10:00:00+01:00", "c"),
        decision("e2", "2026-02-02T10:00:00+01:00", "a"),
        decision("e3", "2026-03-01T10:00:00+01:00", "c"),
        offer("e4", "2026-03-10T09:00:00+01:00", "c"),
        # Wanting more days again does not make c worse off.
        more_days("e5", "2026-03-11T10:00:00+01:00", "c"),
    ]
    result = run(routine, events, "2026-03-20T12:00:00+01:00")
    queue = the_queue(result)
    assert queue.order == [
        QueueEntry(case="c", priority=1, label=NEW, since="2026-01-05T10:00:00+01:00"),
        QueueEntry(case="a", priority=1, label=NEW, since="2026-02-02T10:00:00+01:00"),
    ]
    assert [(o.event, o.in_order, o.first) for o in queue.offers] == [("e4", True, "c")]
    # Before the decision, c (priority 2) came after a.
    early = run(routine, events[:2], "2026-02-20T12:00:00+01:00")
    assert [(e.case, e.priority, e.label) for e in the_queue(early).order] == [
        ("a", 1, NEW),
        ("c", 2, MORE),
    ]


def test_leaving_removes_the_case(routine: CompiledRoutine) -> None:
    events = [
        decision("e1", "2026-03-02T10:00:00+01:00", "a"),
        decision("e2", "2026-03-03T10:00:00+01:00", "b"),
        more_days("e3", "2026-03-04T10:00:00+01:00", "d"),
        decision("e4", "2026-03-05T10:00:00+01:00", "e"),
        offer("e5", "2026-03-09T09:00:00+01:00", "a"),
        event(
            id="e6",
            case="a",
            type="decision.executed",
            at="2026-03-16T08:00:00+01:00",
            first_day="2026-03-16",
        ),
        event(id="e7", case="b", type="start.declined", at="2026-03-16T09:00:00+01:00"),
        event(
            id="e8",
            case="d",
            type="days.increased",
            at="2026-03-16T10:00:00+01:00",
            days_per_week=3,
        ),
        event(id="e9", case="e", type="kolista.borttagen", at="2026-03-16T11:00:00+01:00"),
        decision("e10", "2026-03-17T10:00:00+01:00", "f"),
        # a, b, d and e have left: f is first.
        offer("e11", "2026-03-18T09:00:00+01:00", "f"),
    ]
    result = run(routine, events, "2026-03-20T12:00:00+01:00")
    queue = the_queue(result)
    assert queue.order == [
        QueueEntry(case="f", priority=1, label=NEW, since="2026-03-17T10:00:00+01:00")
    ]
    assert [(o.event, o.in_order, o.first) for o in queue.offers] == [
        ("e5", True, "a"),
        ("e11", True, "f"),
    ]
    assert out_of_order(result) == []


def test_the_order_at_as_of(routine: CompiledRoutine) -> None:
    # Priority first, then the join instant (UTC, across the change to summer time), then
    # the join event's id for joins at the same instant.
    events = [
        more_days("m1", "2026-01-10T10:00:00+01:00", "old-wish"),
        decision("d2", "2026-03-30T09:00:00+02:00", "late"),
        decision("d1", "2026-03-27T09:00:00+01:00", "early"),
        decision("x2", "2026-03-02T10:00:00+01:00", "same-b"),
        decision("x1", "2026-03-02T10:00:00+01:00", "same-a"),
        decision("later", "2026-05-01T10:00:00+02:00", "after-as-of"),
    ]
    result = run(routine, events, "2026-04-01T12:00:00+02:00")
    assert [(e.case, e.priority, e.since) for e in the_queue(result).order] == [
        ("same-a", 1, "2026-03-02T10:00:00+01:00"),
        ("same-b", 1, "2026-03-02T10:00:00+01:00"),
        ("early", 1, "2026-03-27T09:00:00+01:00"),
        ("late", 1, "2026-03-30T09:00:00+02:00"),
        ("old-wish", 2, "2026-01-10T10:00:00+01:00"),
    ]
    assert the_queue(result).offers == []


def test_joins_and_offers_outside_the_version_window_are_ignored(
    routine: CompiledRoutine,
) -> None:
    # The routine is in force from 2020-01-01: a 2019 decision queues nobody and a 2019
    # offer is not judged; a leave counts whenever it happens.
    events = [
        decision("e1", "2019-11-04T10:00:00+01:00", "old"),
        offer("e2", "2019-12-02T10:00:00+01:00", "nobody"),
        decision("e3", "2019-12-30T10:00:00+01:00", "a"),
        decision("e4", "2020-01-07T10:00:00+01:00", "b"),
        offer("e5", "2020-01-08T10:00:00+01:00", "b"),
    ]
    result = run(routine, events, "2020-01-20T12:00:00+01:00")
    queue = the_queue(result)
    assert queue.order == [
        QueueEntry(case="b", priority=1, label=NEW, since="2020-01-07T10:00:00+01:00")
    ]
    assert queue.offers == [
        QueueOffer(event="e5", case="b", at="2020-01-08T10:00:00+01:00", in_order=True, first="b")
    ]
    assert out_of_order(result) == []


def test_the_result_does_not_depend_on_the_events_order(routine: CompiledRoutine) -> None:
    events = [
        more_days("e1", "2026-02-02T10:00:00+01:00", "b"),
        decision("e2", "2026-03-02T10:00:00+01:00", "a"),
        decision("e3", "2026-03-02T10:00:00+01:00", "c"),
        offer("e4", "2026-03-10T09:00:00+01:00", "b", kind="more_days"),
        offer("e5", "2026-03-11T09:00:00+01:00", "a"),
        event(id="e6", case="a", type="start.declined", at="2026-03-12T09:00:00+01:00"),
        offer("e7", "2026-03-13T09:00:00+01:00", "c"),
    ]
    as_of = "2026-03-20T12:00:00+01:00"
    expected = run(routine, events, as_of).to_json()
    queue = json.loads(expected)["queues"][0]
    assert [(o["event"], o["in_order"]) for o in queue["offers"]] == [
        ("e4", False),
        ("e5", True),
        ("e7", True),
    ]
    rng = random.Random(20260320)
    for _ in range(20):
        shuffled = events[:]
        rng.shuffle(shuffled)
        assert run(routine, shuffled, as_of).to_json() == expected


def test_a_routine_without_queues_reports_none() -> None:
    other = load_routine(ROUTINE_FILE.parent / "orebro-dagverksamhet-hemvard.yaml")
    result = evaluate(other, [], datetime.fromisoformat("2026-03-20T12:00:00+01:00"))
    assert result.queues == []
    assert json.loads(result.to_json())["queues"] == []


# --------------------------------------------------------------------------- loading


def _with(old: str, new: str) -> str:
    text = ROUTINE_FILE.read_text("utf-8")
    assert old in text
    return text.replace(old, new, 1)


def _errors(text: str) -> list[tuple[str, str, str | None, str | None]]:
    check = check_routine_text(text, file="r.yaml")
    return [(d.code, d.message, d.path, d.hint) for d in check.diagnostics if d.is_error]


def test_a_queue_naming_an_unknown_event_type_is_an_error() -> None:
    text = _with("      - event: kolista.borttagen\n", "      - event: kolista.bortagen\n")
    assert _errors(text) == [
        (
            "routine.unknown-event-type",
            "unknown event type 'kolista.bortagen'",
            "queues.ledig-plats.leaves[2].event",
            "did you mean 'kolista.borttagen'?",
        )
    ]


def test_a_queue_condition_names_fields_of_its_event_and_no_facts() -> None:
    text = _with(
        "      - event: plats.erbjuden\n    source:",
        "      - event: plats.erbjuden\n"
        "        if: {all: [{field: data.knd, equals: new_user}, {field: fact.x, equals: 1}]}\n"
        "    source:",
    )
    errors = _errors(text)
    assert [(code, path) for code, _, path, _ in errors] == [
        ("routine.unknown-field", "queues.ledig-plats.offers[0].if.all[0].field"),
        ("routine.field-not-allowed", "queues.ledig-plats.offers[0].if.all[1].field"),
    ]
    assert errors[0][3] == "did you mean 'kind'?"


def test_a_queue_needs_joins_and_offers() -> None:
    text = _with("    offers:\n      - event: plats.erbjuden\n", "    offers: []\n")
    check = check_routine_text(text, file="r.yaml")
    assert not check.ok
    assert any(d.path == "queues.ledig-plats.offers" for d in check.diagnostics)
