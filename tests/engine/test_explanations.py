"""The evaluator's explanations and traces are the catalog's templates, word for word.

The evaluator's output is built from ``samverkan_rules.phrases``; these tests pin each
template against a real explanation or trace line, with real plurals ("1 vardag",
"4 vardagar").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from samverkan_rules import Evaluation, Obligation, evaluate, load_routine
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.i18n import translator
from samverkan_rules.phrases import (
    cause_line,
    escalated_trace,
    escalation_explanation,
    escalation_title,
    explain_blocked,
    explain_due,
    explain_fulfilled,
    explain_overdue,
    remedy_deadline_trace,
    remedy_explanation,
    remedy_missing_trace,
    step_not_working_days,
    step_working_days,
    trace_blocked,
    trace_deadline,
    trace_fulfilled,
    trace_status,
    triggered_by,
)
from tests.support import FIXTURES, ROUTINES, event

SV, EN = translator("sv"), translator("en")


def obligations(routine: CompiledRoutine, events: list[dict[str, Any]], as_of: str) -> Evaluation:
    return evaluate(routine, events, datetime.fromisoformat(as_of), ledger=True, trace=True)


def by_id(result: Evaluation) -> dict[str, Obligation]:
    return {o.obligation: o for o in result.case("c1").obligations}


@pytest.fixture(scope="module")
def engine() -> CompiledRoutine:
    return load_routine(FIXTURES / "engine.yaml")


@pytest.fixture(scope="module")
def orebro() -> CompiledRoutine:
    return load_routine(ROUTINES / "orebro-dagverksamhet-hemvard.yaml")


REFERRAL = event(id="e1", type="test.referral", at="2026-12-21T09:00:00+01:00")
CAUSE = triggered_by(SV, event_type="Remiss", event="e1")
DEADLINE = "onsdag 23 december 2026"


def test_due_and_fulfilled(engine: CompiledRoutine) -> None:
    reply = by_id(obligations(engine, [REFERRAL], "2026-12-22T12:00:00+01:00"))["reply:e1"]
    assert reply.explanation == explain_due(
        SV, action="Svara på remissen", who="Handläggare", deadline=DEADLINE, cause=CAUSE
    )
    answer = event(
        id="r1", type="test.reply", at="2026-12-23T10:00:00+01:00", refers_to="e1", kind="answer"
    )
    result = obligations(engine, [REFERRAL, answer], "2027-01-08T12:00:00+01:00")
    reply = by_id(result)["reply:e1"]
    assert reply.explanation == explain_fulfilled(
        SV,
        action="Svara på remissen",
        event="r1",
        at="onsdag 23 december 2026 kl. 10.00",
        deadline=DEADLINE,
        cause=CAUSE,
    )
    assert (
        trace_fulfilled(
            SV, event="r1", event_type="Svar på remiss", at="onsdag 23 december 2026 kl. 10.00"
        )
        in reply.trace
    )
    assert reply.trace[-1] == trace_status(
        SV, at="fredag 8 januari 2027 kl. 12.00", status="klar i tid"
    )
    title = engine.rule("reply").rule.title  # the rule as staff know it, not its id
    assert reply.trace[0] == f"{title}: " + cause_line(
        SV,
        event_type="Remiss",
        event="e1",
        at="måndag 21 december 2026 kl. 09.00",
        case="c1",
    )


def test_escalation(engine: CompiledRoutine) -> None:
    evaluation = obligations(engine, [REFERRAL], "2026-12-29T09:00:00+01:00")
    result = by_id(evaluation)
    first = result["reply:e1:escalation-1"]
    assert evaluation.rule_text(first).title == escalation_title(
        SV, title=evaluation.rule_text(result["reply:e1"]).title
    )
    assert first.explanation == escalation_explanation(
        SV,
        escalation="Samordnaren påminner",
        who="Samordnare",
        obligation="reply:e1",
        deadline=DEADLINE,
    )
    assert first.trace == [
        escalated_trace(SV, at="torsdag 24 december 2026 kl. 03.59", role="samordnare")
    ]


def test_overdue_the_same_day_and_in_working_days(engine: CompiledRoutine) -> None:
    same = explain_overdue(SV, action="Svara", who="H", deadline=DEADLINE, late=0, cause=CAUSE)
    assert "(samma dag)" in same
    assert "(1 vardag sedan)" in explain_overdue(
        SV, action="Svara", who="H", deadline=DEADLINE, late=1, cause=CAUSE
    )
    assert (
        explain_overdue(EN, action="Reply", who="H", deadline="Wednesday", late=4, cause="x")
        == "Reply (H): overdue, should have been done by Wednesday (4 working days ago); x."
    )
    reply = by_id(obligations(engine, [REFERRAL], "2026-12-29T09:00:00+01:00"))["reply:e1"]
    # the evaluator writes its explanations with these templates
    assert reply.explanation == explain_overdue(
        SV, action="Svara på remissen", who="Handläggare", deadline=DEADLINE, late=2, cause=CAUSE
    )


def test_blocked_remedy_and_the_working_day_steps(orebro: CompiledRoutine) -> None:
    start = event(
        id="e2",
        type="dagverksamhet.start_planned",
        at="2026-12-01T10:00:00+01:00",
        start_date="2026-12-28",
    )
    result = by_id(obligations(orebro, [start], "2026-12-15T12:00:00+01:00"))
    message = result["start-message:e2"]
    action = "Skicka meddelande om start till hemvårdens Treservabrevlåda"
    cause = triggered_by(SV, event_type="Planerad start på dagverksamhet", event="e2")
    deadline = "tisdag 22 december 2026"
    consent = "Samtycke till informationsöverföring"
    assert message.explanation == explain_blocked(
        SV, action=action, who="Dagverksamheten", deadline=deadline, waiting=consent, cause=cause
    )
    step = step_working_days(
        SV, n=2, before=True, base="måndag 28 december 2026", day="tisdag 22 december 2026"
    )
    steps = [
        "planerat startdatum, måndag 28 december 2026",
        step_not_working_days(
            SV, step=step, days="julafton 24 december 2026, juldagen 25 december 2026"
        ),
    ]  # the day-long deadline is the day the step ends on: no step repeats it
    assert message.trace[1] == trace_deadline(SV, steps="; ".join(steps))
    assert trace_blocked(SV, preconditions=consent) in message.trace

    remedy = result["consent:c1:dagverksamhet"]
    assert remedy.explanation == remedy_explanation(
        SV,
        remedy="Inhämta den enskildes samtycke och dokumentera det i Samtyckesmodulen",
        who="Dagverksamheten",
        deadline=deadline,
        obligations="Meddelande om start till hemvården (start-message:e2)",
        overdue=False,
    )
    assert remedy.trace == [
        remedy_missing_trace(
            SV, precondition="consent", label=consent, at="tisdag 15 december 2026 kl. 12.00"
        ),
        remedy_deadline_trace(SV, obligation="start-message:e2", deadline=deadline),
    ]
    assert step_working_days(EN, n=1, before=False, base="2026-12-01", day="2026-12-02") == (
        "1 working day after 2026-12-01 -> 2026-12-02"
    )


def test_non_working_reasons_keep_their_swedish_words() -> None:
    from datetime import date

    from samverkan_rules.phrases import non_working_reason
    from samverkan_rules.time.calendar import WorkingCalendar

    cal = WorkingCalendar([date(2026, 5, 15)], first_year=2026, last_year=2026)
    days = [date(2026, 12, 19), date(2026, 12, 20), date(2026, 5, 15), date(2026, 12, 24)]
    reasons = [cal.non_working_reason(d) or "" for d in days]
    assert reasons == ["lördag", "söndag", "stängd dag", "julafton"]
    assert [non_working_reason(SV, r) for r in reasons] == reasons
    assert [non_working_reason(EN, r) for r in reasons] == [
        "Saturday",
        "Sunday",
        "closed day",
        "julafton",
    ]
