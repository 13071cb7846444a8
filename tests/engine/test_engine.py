"""Tests for the reference evaluator: the obligation lifecycle, with exact expected values.

Most tests run against ``tests/fixtures/engine.yaml``, a routine built for them (one trigger
type per feature). Every expected deadline is worked out by hand from the Swedish calendar:

* jul 2026: 24, 25 and 31 December and 1 January 2027 are not vardagar; 26-27 December and
  2-3 January are a weekend; 6 January 2027 (trettondedag jul) is a holiday.
* midsommar 2026: midsommarafton is Friday 19 June; the fixture closes Monday 22 June.
* daylight saving 2026: clocks go forward on 29 March (02:00 -> 03:00) and back on
  25 October (03:00 -> 02:00).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pytest

from samverkan_rules import Evaluation, EvaluationError, Obligation, evaluate, load_routine
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.events.model import event_from_mapping
from tests.support import FIXTURES, ROUTINES, event

OREBRO_FILE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"


@pytest.fixture(scope="module")
def engine() -> CompiledRoutine:
    return load_routine(FIXTURES / "engine.yaml")


@pytest.fixture(scope="module")
def orebro() -> CompiledRoutine:
    return load_routine(OREBRO_FILE)


@pytest.fixture(scope="module")
def versions() -> list[CompiledRoutine]:
    return [
        load_routine(FIXTURES / "versioned-2025.yaml"),
        load_routine(FIXTURES / "versioned-2026.yaml"),
    ]


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def ledger(result: Evaluation, case: str = "c1") -> dict[str, Obligation]:
    """A case's obligations by id."""
    return {o.obligation: o for o in result.case(case).obligations}


def action_ids(result: Evaluation, case: str = "c1") -> list[str]:
    return [a.obligation for a in result.case(case).actions]


def diagnostics(result: Evaluation, code: str) -> list[tuple[str, str]]:
    """(level, message) of every diagnostic with ``code``."""
    return [(d.level, d.message) for d in result.diagnostics if d.code == code]


def run(
    routine: CompiledRoutine | list[CompiledRoutine],
    events: Iterable[Mapping[str, Any]],
    as_of: str,
    **kwargs: Any,
) -> Evaluation:
    return evaluate(routine, list(events), t(as_of), **kwargs, ledger=True, trace=True)


# --- the lifecycle of one obligation ------------------------------------------------------
#
# reply: a test.referral on Monday 2026-12-21 09:00 must be answered within 2 working days:
# 22 December is working day 1, 23 December working day 2 -> 2026-12-23T23:59:59+01:00.

REFERRAL = event(id="e1", type="test.referral", at="2026-12-21T09:00:00+01:00")
REPLY_DEADLINE = "2026-12-23T23:59:59+01:00"


def test_due_obligation_is_an_action_with_its_deadline_and_explanation(engine) -> None:
    result = run(engine, [REFERRAL], "2026-12-22T12:00:00+01:00")
    reply = ledger(result)["reply:e1"]
    assert reply.status == "due"
    assert reply.rule == "reply"
    assert reply.opens_at == "2026-12-21T09:00:00+01:00"
    assert reply.deadline == REPLY_DEADLINE
    assert reply.late_working_days is None
    assert reply.fulfilled_by is None
    assert reply.explanation == (
        "Svara på remissen (Handläggare) senast onsdag 23 december 2026; utlöst av Remiss (e1)."
    )
    assert action_ids(result) == ["reply:e1"]


def test_fulfilled_exactly_at_the_deadline_is_on_time(engine) -> None:
    events = [
        REFERRAL,
        event(
            id="r1",
            type="test.reply",
            at="2026-12-23T23:59:59+01:00",
            refers_to="e1",
            kind="answer",
        ),
    ]
    result = run(engine, events, "2027-01-08T12:00:00+01:00")
    reply = ledger(result)["reply:e1"]
    assert reply.status == "fulfilled"
    assert reply.fulfilled_by is not None
    assert (reply.fulfilled_by.event, reply.fulfilled_by.at) == ("r1", "2026-12-23T23:59:59+01:00")
    assert reply.late_working_days is None
    assert action_ids(result) == []


def test_fulfilled_late_counts_working_days_across_jul(engine) -> None:
    # Done Tuesday 29 December: 28 and 29 December are the working days after the deadline.
    events = [
        REFERRAL,
        event(
            id="r1",
            type="test.reply",
            at="2026-12-29T10:00:00+01:00",
            refers_to="e1",
            kind="answer",
        ),
    ]
    result = run(engine, events, "2027-01-08T12:00:00+01:00")
    reply = ledger(result)["reply:e1"]
    assert reply.status == "fulfilled_late"
    assert reply.late_working_days == 2
    assert reply.fulfilled_by is not None and reply.fulfilled_by.event == "r1"
    assert "2 vardagar för sent" in reply.explanation
    assert action_ids(result) == []


def test_one_second_late_on_julafton_is_late_by_one_working_day(engine) -> None:
    # The deadline is the end of 23 Dec, the last working day before jul; the reply comes
    # on julafton, a day later that is no working day. Counting the working days passed
    # would say 0, as if it were on time: a later day counts as at least one.
    events = [
        REFERRAL,
        event(
            id="r1",
            type="test.reply",
            at="2026-12-24T00:00:00+01:00",
            refers_to="e1",
            kind="answer",
        ),
    ]
    reply = ledger(run(engine, events, "2027-01-08T12:00:00+01:00"))["reply:e1"]
    assert (reply.status, reply.late_working_days) == ("fulfilled_late", 1)
    assert reply.late is not None and (reply.late.days, reply.late.hours) == (1, 0)
    assert "1 vardag för sent" in reply.explanation


def test_overdue_counts_working_days_to_as_of(engine) -> None:
    # Working days after 23 Dec up to Friday 8 Jan 2027: 28, 29, 30 Dec, 4, 5, 7, 8 Jan.
    result = run(engine, [REFERRAL], "2027-01-08T12:00:00+01:00")
    reply = ledger(result)["reply:e1"]
    assert reply.status == "overdue"
    assert reply.late_working_days == 7
    assert "reply:e1" in action_ids(result)


@pytest.mark.parametrize("at", ["2026-12-22T10:00:00+01:00", "2026-12-23T23:59:59+01:00"])
def test_cancelled_up_to_the_deadline(engine, at) -> None:
    events = [REFERRAL, event(id="w1", type="test.withdrawn", at=at, refers_to="e1")]
    result = run(engine, events, "2027-01-08T12:00:00+01:00")
    reply = ledger(result)["reply:e1"]
    assert reply.status == "cancelled"
    assert reply.cancelled_by is not None and reply.cancelled_by.event == "w1"
    assert action_ids(result) == []


def test_a_cancelling_event_after_the_deadline_does_not_cancel(engine) -> None:
    events = [
        REFERRAL,
        event(id="w1", type="test.withdrawn", at="2026-12-28T10:00:00+01:00", refers_to="e1"),
    ]
    result = run(engine, events, "2026-12-29T12:00:00+01:00")
    reply = ledger(result)["reply:e1"]
    assert reply.status == "overdue"
    assert reply.cancelled_by is None
    assert reply.late_working_days == 2  # 28 and 29 December


def test_a_cancelling_event_for_another_referral_does_not_cancel(engine) -> None:
    events = [
        REFERRAL,
        event(id="w1", type="test.withdrawn", at="2026-12-22T10:00:00+01:00", refers_to="e7"),
    ]
    reply = ledger(run(engine, events, "2026-12-22T12:00:00+01:00"))["reply:e1"]
    assert (reply.status, reply.cancelled_by) == ("due", None)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (
            event(
                id="r0",
                type="test.reply",
                at="2026-12-21T08:59:59+01:00",
                refers_to="e1",
                kind="answer",
            ),
            "before the trigger",
        ),
        (
            event(
                id="r1",
                type="test.reply",
                at="2026-12-22T10:00:00+01:00",
                refers_to="e7",
                kind="answer",
            ),
            "refers to another event",
        ),
        (
            event(id="r1", type="test.reply", at="2026-12-22T10:00:00+01:00", kind="answer"),
            "refers to nothing",
        ),
        (
            event(
                id="r1",
                type="test.reply",
                at="2026-12-22T10:00:00+01:00",
                refers_to="e1",
                kind="question",
            ),
            "fails the pattern's condition",
        ),
        (
            event(
                id="r1",
                case="c2",
                type="test.reply",
                at="2026-12-22T10:00:00+01:00",
                refers_to="e1",
                kind="answer",
            ),
            "belongs to another case",
        ),
    ],
)
def test_an_answer_that_does_not_match_does_not_fulfil(engine, answer, why) -> None:
    reply = ledger(run(engine, [REFERRAL, answer], "2026-12-22T12:00:00+01:00"))["reply:e1"]
    assert (reply.status, reply.fulfilled_by) == ("due", None), why


def test_the_first_matching_answer_fulfils(engine) -> None:
    events = [
        REFERRAL,
        event(
            id="r1",
            type="test.reply",
            at="2026-12-22T10:00:00+01:00",
            refers_to="e9",
            kind="answer",
        ),
        event(
            id="r2",
            type="test.reply",
            at="2026-12-28T10:00:00+01:00",
            refers_to="e1",
            kind="answer",
        ),
        event(
            id="r3",
            type="test.reply",
            at="2026-12-29T10:00:00+01:00",
            refers_to="e1",
            kind="answer",
        ),
    ]
    reply = ledger(run(engine, events, "2027-01-08T12:00:00+01:00"))["reply:e1"]
    assert reply.status == "fulfilled_late"
    assert reply.fulfilled_by is not None and reply.fulfilled_by.event == "r2"
    assert reply.late_working_days == 1


def test_working_days_skip_midsommar_and_the_routines_closed_day(engine) -> None:
    # Thursday 18 June: 19 (midsommarafton), 20-21 (weekend) and 22 (closed) are skipped,
    # so 23 June is working day 1 and 24 June working day 2; summer time, +02:00.
    result = run(
        engine,
        [event(id="e1", type="test.referral", at="2026-06-18T10:00:00+02:00")],
        "2026-06-18T12:00:00+02:00",
    )
    assert ledger(result)["reply:e1"].deadline == "2026-06-24T23:59:59+02:00"


# --- windows, time of day, calendar days --------------------------------------------------
#
# prepare: opens 3 working days before the meeting (start of day), due 1 working day before
# it at 12:00. Meeting Monday 2026-12-28: opens 21 Dec 00:00, due 23 Dec 12:00.

MEETING = event(id="m1", type="test.meeting", at="2026-12-01T09:00:00+01:00", date="2026-12-28")


@pytest.mark.parametrize(
    ("as_of", "status", "late"),
    [
        ("2026-12-20T23:59:59+01:00", "upcoming", None),
        ("2026-12-21T00:00:00+01:00", "due", None),
        ("2026-12-23T12:00:00+01:00", "due", None),
        ("2026-12-23T12:00:01+01:00", "overdue", 0),
        ("2026-12-28T08:00:00+01:00", "overdue", 1),
    ],
)
def test_window_opens_before_the_deadline(engine, as_of, status, late) -> None:
    result = run(engine, [MEETING], as_of)
    prepare = ledger(result)["prepare:m1"]
    assert prepare.opens_at == "2026-12-21T00:00:00+01:00"
    assert prepare.deadline == "2026-12-23T12:00:00+01:00"
    assert (prepare.status, prepare.late_working_days) == (status, late)
    assert "prepare:m1" in action_ids(result)


def test_upcoming_explanation_names_the_opening(engine) -> None:
    prepare = ledger(run(engine, [MEETING], "2026-12-15T12:00:00+01:00"))["prepare:m1"]
    assert prepare.status == "upcoming"
    assert "från måndag 21 december 2026 kl. 00.00" in prepare.explanation


def test_a_date_deadline_in_summer_carries_summer_time(engine) -> None:
    meeting = event(id="m1", type="test.meeting", at="2026-06-01T09:00:00+02:00", date="2026-07-01")
    prepare = ledger(run(engine, [meeting], "2026-06-01T12:00:00+02:00"))["prepare:m1"]
    # 30 June is 1 working day before; 30, 29 and 26 June are 1, 2 and 3.
    assert prepare.deadline == "2026-06-30T12:00:00+02:00"
    assert prepare.opens_at == "2026-06-26T00:00:00+02:00"


@pytest.mark.parametrize(
    ("meeting_day", "moved", "kept"),
    [
        # +1 month clamps 31 Jan to Sunday 28 Feb 2027; the routine moves it to Monday 1 Mar.
        ("2027-01-31", "2027-03-01T23:59:59+01:00", "2027-02-28T23:59:59+01:00"),
        # +1 month lands on the routine's closed Monday 22 June 2026.
        ("2026-05-22", "2026-06-23T23:59:59+02:00", "2026-06-22T23:59:59+02:00"),
        # +1 month lands on julafton 2026 (a Thursday): moved past jul to Monday 28 Dec.
        ("2026-11-24", "2026-12-28T23:59:59+01:00", "2026-12-24T23:59:59+01:00"),
        # A working day stays where it is.
        ("2026-11-23", "2026-12-23T23:59:59+01:00", "2026-12-23T23:59:59+01:00"),
    ],
)
def test_calendar_deadline_policy_next_working_day_and_keep(
    engine, meeting_day, moved, kept
) -> None:
    meeting = event(id="m1", type="test.meeting", at="2026-01-05T09:00:00+01:00", date=meeting_day)
    obligations = ledger(run(engine, [meeting], "2026-01-05T12:00:00+01:00"))
    assert obligations["follow-up:m1"].deadline == moved
    assert obligations["follow-up-keep:m1"].deadline == kept


def test_the_trace_names_the_calendar_step(engine) -> None:
    meeting = event(id="m1", type="test.meeting", at="2026-01-05T09:00:00+01:00", date="2026-05-22")
    follow_up = ledger(run(engine, [meeting], "2026-01-05T12:00:00+01:00"))["follow-up:m1"]
    assert any("22 juni 2026" in step and "23 juni 2026" in step for step in follow_up.trace)


def test_hours_deadline(engine) -> None:
    events = [
        event(id="k1", type="test.call", at="2026-03-10T14:30:00+01:00"),
        event(id="d1", type="test.done", at="2026-03-10T16:30:00+01:00", task="call"),
        event(id="k2", type="test.call", at="2026-03-10T16:40:00+01:00"),
        event(id="d2", type="test.done", at="2026-03-10T18:40:01+01:00", task="call"),
        event(id="k3", type="test.call", at="2026-03-10T19:00:00+01:00"),
    ]
    obligations = ledger(run(engine, events, "2026-03-10T21:00:01+01:00"))
    summary = {k: (o.deadline, o.status, o.late_working_days) for k, o in obligations.items()}
    assert summary == {
        "call-back:k1": ("2026-03-10T16:30:00+01:00", "fulfilled", None),
        "call-back:k2": ("2026-03-10T18:40:00+01:00", "fulfilled_late", 0),
        "call-back:k3": ("2026-03-10T21:00:00+01:00", "overdue", 0),
    }


@pytest.mark.parametrize(
    ("at", "deadline"),
    [
        # Spring forward: 00:30Z + 2 h = 02:30Z, which is 04:30 summer time.
        ("2026-03-29T01:30:00+01:00", "2026-03-29T04:30:00+02:00"),
        # Fall back: 23:30Z + 2 h = 01:30Z, the second 02:30 of the night (winter time).
        ("2026-10-25T01:30:00+02:00", "2026-10-25T02:30:00+01:00"),
        # Inside the fold: 00:30Z + 2 h = 02:30Z = 03:30 winter time.
        ("2026-10-25T02:30:00+02:00", "2026-10-25T03:30:00+01:00"),
    ],
)
def test_hours_deadline_is_elapsed_time_across_daylight_saving(engine, at, deadline) -> None:
    result = run(engine, [event(id="k1", type="test.call", at=at)], "2026-10-26T12:00:00+01:00")
    assert ledger(result)["call-back:k1"].deadline == deadline


def test_actions_come_earliest_deadline_first_by_instant(engine) -> None:
    # k1 is due 02:45 summer time (00:45Z), k2 at 02:30 winter time (01:30Z): as text k2's
    # deadline sorts first, as instants k1's does.
    events = [
        event(id="k2", type="test.call", at="2026-10-24T23:30:00Z"),
        event(id="k1", type="test.call", at="2026-10-25T00:45:00+02:00"),
    ]
    result = run(engine, events, "2026-10-25T00:00:00Z")
    assert [(a.obligation, a.deadline) for a in result.case("c1").actions] == [
        ("call-back:k1", "2026-10-25T02:45:00+02:00"),
        ("call-back:k2", "2026-10-25T02:30:00+01:00"),
    ]


def test_a_date_outside_the_calendar_rejects_only_its_event(engine) -> None:
    events = [
        REFERRAL,
        event(id="m1", type="test.meeting", at="2026-12-01T09:00:00+01:00", date="2206-12-28"),
    ]
    result = run(engine, events, "2026-12-22T12:00:00+01:00")
    assert list(ledger(result)) == ["reply:e1"]
    assert any(d.level == "error" and "m1" in d.message for d in result.diagnostics)


# --- escalation ---------------------------------------------------------------------------
#
# reply escalates (1) to samordnare 4 hours after the deadline -> 2026-12-24T03:59:59+01:00,
# (2) two levels up from handlaggare (chef.enhet -> chef.omrade) 1 working day after it ->
# Monday 2026-12-28T23:59:59+01:00.


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2026-12-23T23:59:59+01:00", []),
        ("2026-12-24T03:59:58+01:00", []),
        ("2026-12-24T03:59:59+01:00", ["reply:e1:escalation-1"]),
        ("2026-12-28T23:59:58+01:00", ["reply:e1:escalation-1"]),
        ("2026-12-28T23:59:59+01:00", ["reply:e1:escalation-1", "reply:e1:escalation-2"]),
    ],
)
def test_escalation_appears_once_as_of_passes_deadline_plus_after(engine, as_of, expected) -> None:
    result = run(engine, [REFERRAL], as_of)
    escalations = sorted(o.obligation for o in result.case("c1").obligations if o.escalates)
    assert escalations == expected
    assert set(expected) <= set(action_ids(result))


def test_escalation_records_resolve_their_roles(engine) -> None:
    result = run(engine, [REFERRAL], "2026-12-29T09:00:00+01:00")
    obligations = ledger(result)
    first = obligations["reply:e1:escalation-1"]
    second = obligations["reply:e1:escalation-2"]
    assert (first.kind, first.responsible, first.status) == ("escalate", "samordnare", "due")
    assert first.opens_at == "2026-12-24T03:59:59+01:00"
    assert first.escalates == "reply:e1"
    assert (second.responsible, second.responsible_label) == ("chef.omrade", "Områdeschef")
    assert second.opens_at == "2026-12-28T23:59:59+01:00"
    assert second.escalates == "reply:e1"


def test_no_escalation_action_once_the_obligation_is_fulfilled(engine) -> None:
    events = [
        REFERRAL,
        event(
            id="r1",
            type="test.reply",
            at="2026-12-29T10:00:00+01:00",
            refers_to="e1",
            kind="answer",
        ),
    ]
    result = run(engine, events, "2027-01-08T12:00:00+01:00")
    assert action_ids(result) == []


# --- preconditions: blocked obligations and their remedies --------------------------------
#
# test.plan on Tuesday 2026-12-01 09:00 raises blocked-b (1 working day -> 2 Dec), blocked-a
# (3 -> 4 Dec), both for handlaggare and requiring consent, and blocked-c (5 -> 8 Dec) for
# mottagare, requiring consent and support.

PLAN = event(id="p1", type="test.plan", at="2026-12-01T09:00:00+01:00")


def remedies(result: Evaluation, case: str = "c1") -> dict[str, Obligation]:
    return {o.obligation: o for o in result.case(case).obligations if o.unblocks}


def test_unmet_precondition_blocks_and_emits_one_remedy_per_precondition_and_role(engine) -> None:
    result = run(engine, [PLAN], "2026-12-01T12:00:00+01:00")
    obligations = ledger(result)
    assert {k: (o.status, o.blocked_by) for k, o in obligations.items() if not o.unblocks} == {
        "blocked-a:p1": ("blocked", ["consent"]),
        "blocked-b:p1": ("blocked", ["consent"]),
        "blocked-c:p1": ("blocked", ["consent", "support"]),
    }
    found = remedies(result)
    assert {k: (o.deadline, o.unblocks, o.status) for k, o in found.items()} == {
        "consent:c1:handlaggare": (
            "2026-12-02T23:59:59+01:00",
            ["blocked-b:p1", "blocked-a:p1"],
            "due",
        ),
        "consent:c1:mottagare": ("2026-12-08T23:59:59+01:00", ["blocked-c:p1"], "due"),
        "support:c1:samordnare": ("2026-12-08T23:59:59+01:00", ["blocked-c:p1"], "due"),
    }
    consent = found["consent:c1:handlaggare"]
    assert (consent.kind, consent.responsible, consent.channel) == (
        "obtain_consent",
        "handlaggare",
        "brevlada",
    )
    text = result.rule_text(consent)
    assert text.content == ["samtyckets omfattning"]
    assert text.source is not None and text.source.quote == "Samtycke krävs."
    assert found["support:c1:samordnare"].kind == "assess"
    assert set(action_ids(result)) == set(obligations)


def test_several_blocked_obligations_share_one_remedy_with_the_earliest_deadline(engine) -> None:
    events = [PLAN, event(id="p2", type="test.plan", at="2026-12-02T09:00:00+01:00")]
    # p2: blocked-b due 3 Dec, blocked-a due 7 Dec; p1's blocked-b (2 Dec) is the earliest.
    found = remedies(run(engine, events, "2026-12-02T12:00:00+01:00"))
    assert sorted(found) == [
        "consent:c1:handlaggare",
        "consent:c1:mottagare",
        "support:c1:samordnare",
    ]
    consent = found["consent:c1:handlaggare"]
    assert consent.deadline == "2026-12-02T23:59:59+01:00"
    assert consent.unblocks == ["blocked-b:p1", "blocked-b:p2", "blocked-a:p1", "blocked-a:p2"]


def test_remedy_past_the_blocked_deadline_is_overdue(engine) -> None:
    result = run(engine, [PLAN], "2026-12-03T12:00:00+01:00")
    consent = remedies(result)["consent:c1:handlaggare"]
    assert (consent.status, consent.late_working_days) == ("overdue", 1)
    assert ledger(result)["blocked-b:p1"].status == "blocked"


def test_consent_given_later_unblocks(engine) -> None:
    events = [
        PLAN,
        event(id="g1", type="consent.given", at="2026-12-02T08:00:00+01:00", form="written"),
    ]
    result = run(engine, events, "2026-12-02T12:00:00+01:00")
    obligations = ledger(result)
    assert obligations["blocked-a:p1"].status == "due"
    assert obligations["blocked-a:p1"].blocked_by == []
    assert obligations["blocked-b:p1"].status == "due"
    assert (obligations["blocked-c:p1"].status, obligations["blocked-c:p1"].blocked_by) == (
        "blocked",
        ["support"],
    )
    assert list(remedies(result)) == ["support:c1:samordnare"]


def test_every_precondition_met_leaves_no_remedy(engine) -> None:
    events = [
        PLAN,
        event(id="g1", type="consent.given", at="2026-12-02T08:00:00+01:00"),
        event(id="s1", type="test.status", at="2026-12-02T08:30:00+01:00", has_support=True),
    ]
    result = run(engine, events, "2026-12-03T12:00:00+01:00")
    obligations = ledger(result)
    assert remedies(result) == {}
    # Unblocked on 2 December, but nothing fulfilled blocked-b by its deadline that day.
    assert (obligations["blocked-b:p1"].status, obligations["blocked-b:p1"].late_working_days) == (
        "overdue",
        1,
    )
    assert obligations["blocked-c:p1"].status == "due"


def test_consent_withdrawn_blocks_again(engine) -> None:
    events = [
        event(id="g1", type="consent.given", at="2026-11-30T08:00:00+01:00"),
        PLAN,
        event(id="g2", type="consent.withdrawn", at="2026-12-01T10:00:00+01:00"),
    ]
    result = run(engine, events, "2026-12-01T12:00:00+01:00")
    assert ledger(result)["blocked-a:p1"].status == "blocked"
    assert "consent:c1:handlaggare" in remedies(result)


# --- condition operators and facts --------------------------------------------------------

OPERATOR_RULES = {
    "op-gt",
    "op-lt",
    "op-contains",
    "op-in",
    "op-not-in",
    "op-not-equals",
    "op-not",
    "op-any",
    "op-all",
    "op-exists",
    "op-not-exists",
    "op-fact",
    "op-unless",
}


def fired(result: Evaluation) -> set[str]:
    return {o.rule for o in result.case("c1").obligations} & OPERATOR_RULES


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, {"op-not-in", "op-not-equals", "op-not", "op-not-exists", "op-unless"}),
        (
            {"level": 4, "flags": ["fall", "wander"], "area": "health", "severe": False},
            {"op-gt", "op-contains", "op-in", "op-not", "op-not-exists", "op-unless"},
        ),
        (
            {"level": 0, "flags": ["wander"], "area": "other", "severe": True, "note": "x"},
            {
                "op-lt",
                "op-not-in",
                "op-not-equals",
                "op-any",
                "op-all",
                "op-exists",
                "op-unless",
            },
        ),
        (
            {"level": 5, "area": "social"},
            {"op-gt", "op-in", "op-not-equals", "op-not", "op-any", "op-not-exists", "op-unless"},
        ),
    ],
)
def test_condition_operators(engine, data, expected) -> None:
    result = run(
        engine,
        [event(id="k1", type="test.risk", at="2026-12-01T09:00:00+01:00", **data)],
        "2026-12-01T12:00:00+01:00",
    )
    assert fired(result) == expected


def test_a_mistyped_field_raises_nothing_and_is_reported(engine) -> None:
    # 'flags' is a list field; one string is refused by the event type's check.
    result = run(
        engine,
        [event(id="k1", type="test.risk", at="2026-12-01T09:00:00+01:00", flags="fall", level=4)],
        "2026-12-01T12:00:00+01:00",
    )
    assert result.cases == []
    assert diagnostics(result, "event.bad-field") == [
        ("error", "event 'k1': data.flags must be a list")
    ]


@pytest.mark.parametrize(
    ("statuses", "fact_fires"),
    [
        ([], False),
        ([{"has_support": True}], True),
        ([{"has_support": True}, {}], True),  # no value: the fact keeps its value
        ([{"has_support": True}, {"has_support": False}], False),
    ],
)
def test_fact_set_from_event_data(engine, statuses, fact_fires) -> None:
    events = [
        event(id=f"s{i}", type="test.status", at=f"2026-12-01T0{i}:00:00+01:00", **data)
        for i, data in enumerate(statuses)
    ]
    events.append(event(id="k1", type="test.risk", at="2026-12-01T09:00:00+01:00", level=2))
    rules = fired(run(engine, events, "2026-12-01T12:00:00+01:00"))
    assert ("op-fact" in rules) is fact_fires
    assert ("op-unless" in rules) is not fact_fires


# --- what is evaluated, and what is reported -----------------------------------------------


def test_events_after_as_of_are_ignored_with_an_info(engine) -> None:
    events = [
        REFERRAL,
        event(
            id="e2", type="test.referral", at="2026-12-21T12:00:00+01:00"
        ),  # exactly at as_of: counts
        event(id="e3", type="test.referral", at="2026-12-21T12:00:01+01:00"),
        event(
            id="r1",
            type="test.reply",
            at="2026-12-22T08:00:00+01:00",
            refers_to="e1",
            kind="answer",
        ),
    ]
    result = run(engine, events, "2026-12-21T12:00:00+01:00")
    assert sorted(ledger(result)) == ["reply:e1", "reply:e2"]
    assert ledger(result)["reply:e1"].status == "due"
    assert diagnostics(result, "event.after-as-of") == [
        ("info", "2 event(s) after as_of 2026-12-21T12:00:00+01:00 are not evaluated")
    ]
    assert result.summary["events"] == 2


def test_cases_filter_warns_about_other_cases(engine) -> None:
    events = [
        REFERRAL,
        event(id="e2", case="c2", type="test.referral", at="2026-12-21T09:00:00+01:00"),
        event(id="e3", case="c2", type="test.referral", at="2026-12-21T10:00:00+01:00"),
        event(id="e4", case="c3", type="test.referral", at="2026-12-21T10:00:00+01:00"),
    ]
    result = run(engine, events, "2026-12-22T12:00:00+01:00", cases=["c1"])
    assert [c.case for c in result.cases] == ["c1"]
    found = diagnostics(result, "event.unknown-case")
    assert [level for level, _ in found] == ["warning", "warning"]
    messages = " | ".join(message for _, message in found)
    assert "2 event(s) for case 'c2'" in messages
    assert "1 event(s) for case 'c3'" in messages


@pytest.mark.parametrize("as_objects", [False, True], ids=["mappings", "events"])
def test_an_exact_duplicate_is_a_warning_and_counted_once(engine, as_objects) -> None:
    events: list[Any] = [REFERRAL, dict(REFERRAL)]
    if as_objects:
        events = [event_from_mapping(e) for e in events]
    result = evaluate(engine, events, t("2026-12-22T12:00:00+01:00"), ledger=True, trace=True)
    assert list(ledger(result)) == ["reply:e1"]
    assert [level for level, _ in diagnostics(result, "event.duplicate")] == ["warning"]
    assert diagnostics(result, "event.duplicate-id") == []
    assert result.summary["events"] == 1


@pytest.mark.parametrize("as_objects", [False, True], ids=["mappings", "events"])
def test_a_reused_id_with_other_content_is_an_error(engine, as_objects) -> None:
    other = event(id="e1", type="test.referral", at="2026-12-22T09:00:00+01:00")
    events: list[Any] = [REFERRAL, other]
    if as_objects:
        events = [event_from_mapping(e) for e in events]
    result = evaluate(engine, events, t("2026-12-22T12:00:00+01:00"), ledger=True, trace=True)
    assert [level for level, _ in diagnostics(result, "event.duplicate-id")] == ["error"]
    # Neither is evaluated: keeping one would make the result depend on input order.
    assert result.cases == []
    assert result.summary["events"] == 0


def test_a_reused_id_gives_the_same_result_in_any_order(engine) -> None:
    first = REFERRAL
    second = event(id="e1", type="test.referral", at="2026-12-22T09:00:00+01:00")
    as_of = t("2026-12-22T12:00:00+01:00")
    one = evaluate(engine, [first, second], as_of, ledger=True, trace=True)
    other = evaluate(engine, [second, first], as_of, ledger=True, trace=True)
    assert one.to_json() == other.to_json()


def test_bad_events_are_reported_by_id_and_the_others_evaluated(engine) -> None:
    events = [
        REFERRAL,
        event(id="x1", type="test.refferal", at="2026-12-21T09:00:00+01:00"),
        event(id="x2", type="test.meeting", at="2026-12-21T09:00:00+01:00"),
        event(id="x3", type="test.meeting", at="2026-12-21T09:00:00+01:00", date="2024-02-98"),
    ]
    result = run(engine, events, "2026-12-22T12:00:00+01:00")
    assert list(ledger(result)) == ["reply:e1"]
    assert result.summary["events"] == 1
    errors = {d.code: d.message for d in result.diagnostics if d.level == "error"}
    assert errors["event.unknown-type"] == "event 'x1': unknown event type 'test.refferal'"
    assert errors["event.missing-field"] == "event 'x2': test.meeting needs data.date (date)"
    assert errors["event.bad-field"].startswith("event 'x3': data.date must be a real date")
    assert "2024-02-98" in errors["event.bad-field"]
    hints = {d.code: d.hint for d in result.diagnostics}
    assert hints["event.unknown-type"] == "did you mean 'test.referral'?"


def test_a_naive_timestamp_in_an_event_names_the_event(engine) -> None:
    events = [REFERRAL, event(id="x4", type="test.referral", at="2026-12-21T09:00:00")]
    result = run(engine, events, "2026-12-22T12:00:00+01:00")
    assert list(ledger(result)) == ["reply:e1"]
    (message,) = [d.message for d in result.diagnostics if d.code == "event.bad-timestamp"]
    assert "x4" in message


def test_naive_as_of_is_an_evaluation_error(engine) -> None:
    with pytest.raises(EvaluationError, match="naive"):
        evaluate(engine, [REFERRAL], datetime(2026, 12, 22, 12, 0), ledger=True, trace=True)


@pytest.mark.parametrize(
    ("as_of", "warned"),
    [
        ("2027-12-31T23:59:59+01:00", False),
        # 23:30 UTC on 31 December is already 1 January 2028 in Stockholm.
        ("2027-12-31T23:30:00+00:00", True),
        ("2028-06-01T12:00:00+02:00", True),
    ],
)
def test_passed_review_date_is_a_warning_relative_to_as_of(engine, as_of, warned) -> None:
    result = run(engine, [REFERRAL], as_of)
    found = diagnostics(result, "routine.review-passed")
    if warned:
        assert [level for level, _ in found] == ["warning"]
        assert "2027-12-31" in found[0][1]
    else:
        assert found == []


# --- routine versions ---------------------------------------------------------------------
#
# test-versioned 2025 (valid 2025) answers within 1 working day, 2026 (valid 2026) within 3.


def test_each_trigger_is_judged_by_the_version_in_force_on_its_local_date(versions) -> None:
    events = [
        # 23:30 UTC on 31 December 2024 is 00:30 on 1 January 2025 in Stockholm: version 2025;
        # 1 January is a holiday, so Thursday 2 January is working day 1.
        event(id="a", type="test.referral", at="2024-12-31T23:30:00Z"),
        event(id="b", type="test.referral", at="2025-06-10T10:00:00+02:00"),
        # 00:30 on 1 January 2026 local time: version 2026; 2, 5 and 7 January (6th is a
        # holiday) are working days 1-3.
        event(id="c", type="test.referral", at="2025-12-31T23:30:00Z"),
    ]
    obligations = ledger(run(versions, events, "2026-02-01T12:00:00+01:00"))
    assert {k: (o.routine.version, o.deadline) for k, o in obligations.items()} == {
        "notify:a": ("2025", "2025-01-02T23:59:59+01:00"),
        "notify:b": ("2025", "2025-06-11T23:59:59+02:00"),
        "notify:c": ("2026", "2026-01-07T23:59:59+01:00"),
    }


@pytest.mark.parametrize("both", [False, True], ids=["only-version", "every-version"])
def test_a_trigger_outside_the_versions_given_warns_once(versions, both: bool) -> None:
    result = run(
        versions if both else versions[1],
        [event(id="x", type="test.referral", at="2027-01-05T10:00:00+01:00")],
        "2027-02-01T12:00:00+01:00",
    )
    assert result.case("c1").obligations == []
    found = diagnostics(result, "routine.not-in-force")
    assert [level for level, _ in found] == ["warning"]
    assert found[0][1].startswith("1 trigger event(s)")


def test_triggers_covered_by_some_version_give_no_not_in_force_warning(versions) -> None:
    events = [
        event(id="b", type="test.referral", at="2025-06-10T10:00:00+02:00"),
        event(id="c", type="test.referral", at="2026-06-10T10:00:00+02:00"),
    ]
    result = run(versions, events, "2026-07-01T12:00:00+02:00")
    assert sorted(ledger(result)) == ["notify:b", "notify:c"]
    assert diagnostics(result, "routine.not-in-force") == []


# --- the Örebro routine and the output contract ---------------------------------------------

DESIGN_EVENTS = [
    event(id="e1", type="consent.given", at="2026-12-01T09:00:00+01:00", form="written"),
    event(
        id="e2",
        type="dagverksamhet.start_planned",
        at="2026-12-01T10:00:00+01:00",
        start_date="2026-12-28",
        form="dagrehab",
    ),
]


def test_design_example_start_message_deadline(orebro) -> None:
    result = run(orebro, DESIGN_EVENTS, "2026-12-15T12:00:00+01:00")
    start = ledger(result)["start-message:e2"]
    assert start.deadline == "2026-12-22T23:59:59+01:00"
    assert (start.status, start.kind, start.responsible) == ("due", "send_message", "dagverksamhet")
    assert start.recipients == ["hemvard.driftsplanerare"]
    assert start.channel == "treserva.hemvard"
    assert "start-message:e2" in action_ids(result)


def test_orebro_start_in_summer_has_summer_time(orebro) -> None:
    events = [
        DESIGN_EVENTS[0],
        event(
            id="e2",
            type="dagverksamhet.start_planned",
            at="2026-08-03T10:00:00+02:00",
            start_date="2026-08-17",
        ),
    ]
    start = ledger(run(orebro, events, "2026-08-04T12:00:00+02:00"))["start-message:e2"]
    # Monday 17 August: Friday 14 is working day 1, Thursday 13 working day 2.
    assert start.deadline == "2026-08-13T23:59:59+02:00"


@pytest.mark.parametrize(
    ("message", "status"),
    [
        ({"kind": "start", "to": ["hemvard.driftsplanerare"], "refers_to": "e2"}, "fulfilled"),
        ({"kind": "start", "to": ["hemvard.driftsplanerare"], "refers_to": "e1"}, "due"),
        ({"kind": "start", "to": ["hemsjukvard"], "refers_to": "e2"}, "due"),
        ({"kind": "end", "to": ["hemvard.driftsplanerare"], "refers_to": "e2"}, "due"),
    ],
)
def test_orebro_start_message_is_fulfilled_only_by_the_matching_message(
    orebro, message, status
) -> None:
    events = [
        *DESIGN_EVENTS,
        event(id="m1", type="message.sent", at="2026-12-14T10:00:00+01:00", **message),
    ]
    start = ledger(run(orebro, events, "2026-12-15T12:00:00+01:00"))["start-message:e2"]
    assert start.status == status


ACTION_KEYS = {
    "obligation",
    "rule",
    "routine",
    "case",
    "kind",
    "responsible",
    "recipients",
    "channel",
    "status",
    "opens_at",
    "deadline",
    "occurrence",
    "explanation",
}
RULE_TEXT_KEYS = {"title", "source", "interpretation", "content"}
"""Written once per rule in the routine's entry, never in an obligation."""


def test_output_json_has_the_contract_keys(orebro) -> None:
    result = run(orebro, DESIGN_EVENTS, "2026-12-15T12:00:00+01:00")
    data = json.loads(result.to_json())
    assert {"as_of", "routines", "cases", "diagnostics"} <= set(data)
    assert data["as_of"] == "2026-12-15T12:00:00+01:00"
    (stamp,) = data["routines"]
    assert stamp["id"] == "orebro-dagverksamhet-hemvard"
    assert stamp["version"] == "2"
    assert stamp["sha256"] == hashlib.sha256(OREBRO_FILE.read_bytes()).hexdigest()
    rules = stamp["rules"]
    assert set(rules) == {r.id for r in orebro.rules}
    assert all(set(text) == RULE_TEXT_KEYS for text in rules.values())
    (case,) = data["cases"]
    assert {"case", "actions", "obligations"} <= set(case)
    assert case["case"] == "c1"
    assert case["actions"], "the example has actions"
    for action in case["actions"]:
        assert set(action) >= ACTION_KEYS, ACTION_KEYS - set(action)
        assert not set(action) & RULE_TEXT_KEYS
        assert action["routine"] == {"id": "orebro-dagverksamhet-hemvard", "version": "2"}
        assert {"document", "quote"} <= set(rules[action["rule"]]["source"])
        assert action["status"] in {"upcoming", "due", "overdue", "blocked"}
    start = next(a for a in case["actions"] if a["obligation"] == "start-message:e2")
    assert start["deadline"] == "2026-12-22T23:59:59+01:00"
    assert start["occurrence"] is None
    assert (
        rules["start-message"]["source"]["quote"]
        == "Meddelandet skickas senast 2 vardagar innan planerad start eller avslut."
    )
    assert rules["start-message"]["interpretation"]["text"] is None
    assert rules["start-message"]["interpretation"]["reason"].startswith(
        "Dokumentet säger inget om ändrade planer"
    )
    assert any(o["obligation"] == "consent-recorded:e1" for o in case["obligations"])
    assert rules["consent-recorded"]["interpretation"]["reason"].startswith("Ingen frist anges")
    assert isinstance(data["diagnostics"], list)
