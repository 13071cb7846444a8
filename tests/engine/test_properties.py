"""Properties of the evaluator on generated event streams for the Örebro routine.

Streams hold several cases and a random mix of the event types the routine reads (triggers,
answers and fact setters), with valid data built from each type's declared fields. Instants
cluster around daylight-saving changes and holidays in 2025-2027 and are written with
different UTC offsets, so ordering by text would be wrong where ordering by instant is right.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samverkan_rules import Evaluation, Obligation, evaluate, load_routine
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.language.models.base import FieldSpec
from samverkan_rules.status import ACTION_STATUSES
from samverkan_rules.time.instants import local_date, parse_rfc3339
from tests.support import ROUTINES

ROUTINE_FILE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
ROUTINE: CompiledRoutine = load_routine(ROUTINE_FILE)
TZ = ROUTINE.tz

PROPERTY_SETTINGS = settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# The event types the routine reads: what triggers a rule, answers one, or sets a fact.
ANSWER_TYPES = {p.event_type for r in ROUTINE.rules for p in r.fulfilled_by + r.cancelled_by}
TYPES = sorted(
    t
    for t in set(ROUTINE.rules_by_trigger) | ANSWER_TYPES | set(ROUTINE.fact_setters)
    if t in ROUTINE.event_types
)
ANSWERS = sorted(ANSWER_TYPES & set(TYPES))
CASES = ["c1", "c1", "c2", "c3"]
ROLES = sorted(ROUTINE.routine.roles)
# Values the routine's conditions compare strings with, and one they never do.
WORDS = [
    "start",
    "end",
    "closure",
    "start_reply",
    "samtyckesmodul",
    "verkstallighetsjournal",
    "referenspersoner",
    "genomforandejournal",
    "dagverksamhet",
    "hemvard",
    "annat",
]
# Fields the routine's answer patterns test, with the values that matter to them.
FIELD_WORDS = {
    "kind": ["start", "end", "closure", "start_reply", "annat"],
    "record": [
        "samtyckesmodul",
        "verkstallighetsjournal",
        "referenspersoner",
        "genomforandejournal",
    ],
    "observed_by": ["dagverksamhet", "hemvard", "annat"],
}

FIRST = datetime(2025, 1, 1, tzinfo=UTC)
LAST = datetime(2027, 12, 31, 22, 0, tzinfo=UTC)
# Daylight-saving changes (01:00 UTC) and local midnights of holidays and aftnar.
SPECIAL_INSTANTS = [
    datetime(2025, 3, 30, 1, 0, tzinfo=UTC),
    datetime(2025, 10, 26, 1, 0, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    datetime(2027, 3, 28, 1, 0, tzinfo=UTC),
    datetime(2027, 10, 31, 1, 0, tzinfo=UTC),
    datetime(2025, 12, 23, 23, 0, tzinfo=UTC),
    datetime(2026, 6, 18, 22, 0, tzinfo=UTC),
    datetime(2026, 12, 23, 23, 0, tzinfo=UTC),
    datetime(2026, 12, 30, 23, 0, tzinfo=UTC),
    datetime(2027, 1, 5, 23, 0, tzinfo=UTC),
    datetime(2027, 4, 1, 22, 0, tzinfo=UTC),
]
SPECIAL_DATES = [
    date(2025, 3, 30),
    date(2025, 6, 20),
    date(2025, 12, 24),
    date(2025, 12, 29),
    date(2026, 1, 6),
    date(2026, 3, 29),
    date(2026, 6, 19),
    date(2026, 6, 22),
    date(2026, 10, 25),
    date(2026, 12, 24),
    date(2026, 12, 28),
    date(2027, 1, 1),
    date(2027, 1, 7),
]
OFFSETS = [UTC, TZ, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-3))]

instants = st.one_of(
    st.datetimes(min_value=FIRST.replace(tzinfo=None), max_value=LAST.replace(tzinfo=None)).map(
        lambda d: d.replace(microsecond=0, tzinfo=UTC)
    ),
    st.builds(
        lambda base, minutes: base + timedelta(minutes=minutes),
        st.sampled_from(SPECIAL_INSTANTS),
        st.integers(-24 * 60, 24 * 60),
    ),
)
dates = st.one_of(st.sampled_from(SPECIAL_DATES), st.dates(date(2025, 1, 1), date(2027, 12, 31)))


def written(moment: datetime, zone: Any) -> str:
    """``moment`` as RFC 3339 text in some zone (the same instant, another offset)."""
    text = moment.astimezone(zone).isoformat(timespec="seconds")
    return text.replace("+00:00", "Z") if zone is UTC else text


def field_value(name: str, spec: FieldSpec, ids: list[str]) -> st.SearchStrategy[Any]:
    """A valid value of a declared field."""
    kind = spec.type
    if kind == "string":
        return st.sampled_from(FIELD_WORDS.get(name, WORDS))
    if kind == "date":
        return dates.map(date.isoformat)
    if kind == "datetime":
        return st.builds(written, instants, st.sampled_from(OFFSETS))
    if kind == "time":
        return st.times().map(lambda t: t.replace(microsecond=0).isoformat())
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(0, 7)
    if kind == "number":
        return st.floats(0, 10, allow_nan=False)
    if kind == "enum":
        return st.sampled_from(list(spec.values or []))
    if kind == "role":
        return st.sampled_from(ROLES)
    if kind == "roles":
        return st.lists(st.sampled_from(ROLES), min_size=1, max_size=3, unique=True)
    if kind == "event":
        return st.sampled_from(ids)
    if kind == "object":
        return st.just({})
    return st.just([])


@st.composite
def event_data(
    draw: st.DrawFn, etype: str, ids: list[str], *, every_field: bool = False
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, spec in ROUTINE.event_types[etype].fields.items():
        if spec.required or every_field or draw(st.booleans()):
            data[name] = draw(field_value(name, spec, ids))
    return data


@st.composite
def streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A list of valid events with unique ids.

    Most events fall within a week of the stream's first instant, some anywhere in
    2025-2027; about a third answer an earlier event (same case, soon after it, referring
    to it where the type can), so obligations are often fulfilled, not only left overdue.
    """
    count = draw(st.integers(1, 24))
    ids = [f"e{i:02d}" for i in range(count)]
    base = draw(instants)
    events: list[dict[str, Any]] = []
    for ident in ids:
        if events and draw(st.integers(0, 2)) == 0:
            earlier = draw(st.sampled_from(events))
            etype = draw(st.sampled_from(ANSWERS))
            case = earlier["case"]
            moment = instant(earlier["at"]) + timedelta(minutes=draw(st.integers(1, 3 * 24 * 60)))
            data = draw(event_data(etype, ids, every_field=True))
            for name, spec in ROUTINE.event_types[etype].fields.items():
                if spec.type == "event":
                    data[name] = earlier["id"]
        else:
            etype = draw(st.sampled_from(TYPES))
            case = draw(st.sampled_from(CASES))
            if draw(st.integers(0, 4)):
                moment = base + timedelta(minutes=draw(st.integers(0, 7 * 24 * 60)))
            else:
                moment = draw(instants)
            data = draw(event_data(etype, ids))
        events.append(
            {
                "id": ident,
                "case": case,
                "type": etype,
                "at": written(moment, draw(st.sampled_from(OFFSETS))),
                "data": data,
            }
        )
    return events


@st.composite
def as_of_for(draw: st.DrawFn, events: list[dict[str, Any]]) -> datetime:
    """An evaluation instant near one of the events: from an hour before it to two weeks
    after it, so obligations are seen due, settled and overdue."""
    near = instant(draw(st.sampled_from(events))["at"])
    return (near + timedelta(minutes=draw(st.integers(-60, 14 * 24 * 60)))).astimezone(TZ)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[dict[str, Any]], datetime]:
    events = draw(streams())
    return events, draw(as_of_for(events))


def instant(text: str) -> datetime:
    return parse_rfc3339(text)


def ledger(result: Evaluation) -> list[Obligation]:
    return [o for c in result.cases for o in c.obligations]


def is_rule_obligation(o: Obligation) -> bool:
    """Obligations raised by a rule's trigger (not remedies, not escalations)."""
    return o.escalates is None and not o.unblocks


def test_the_generator_covers_the_routines_event_types() -> None:
    # A sanity check on the strategy: the routine reads at least these types.
    assert {
        "consent.given",
        "dagverksamhet.start_planned",
        "message.sent",
        "contact.made",
        "document.recorded",
    } <= set(TYPES)


# --- (1) order independence and (2) determinism -------------------------------------------


@PROPERTY_SETTINGS
@given(scenario=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_output_is_independent_of_event_order(scenario, seed) -> None:
    events, as_of = scenario
    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)
    expected = evaluate(ROUTINE, events, as_of, ledger=True, trace=True).to_json()
    assert evaluate(ROUTINE, shuffled, as_of, ledger=True, trace=True).to_json() == expected
    assert (
        evaluate(ROUTINE, list(reversed(events)), as_of, ledger=True, trace=True).to_json()
        == expected
    )


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_evaluation_is_deterministic(scenario) -> None:
    events, as_of = scenario
    assert (
        evaluate(ROUTINE, events, as_of, ledger=True, trace=True).to_json()
        == evaluate(ROUTINE, events, as_of, ledger=True, trace=True).to_json()
    )


# --- (3) working-day deadlines and (4) consistent statuses ---------------------------------


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_working_day_deadlines_fall_on_working_days(scenario) -> None:
    events, as_of = scenario
    result = evaluate(ROUTINE, events, as_of, ledger=True, trace=True)
    for o in ledger(result):
        if not is_rule_obligation(o) or o.deadline is None:
            continue
        if ROUTINE.rule(o.rule).rule.deadline.working_days is None:
            continue
        day = local_date(instant(o.deadline), TZ)
        assert ROUTINE.calendar.is_working_day(day), (o.obligation, o.deadline)


def _late(cal: Any, deadline: date, moment: date) -> int:
    """Working days late: the working days passed, and at least 1 once a later day began."""
    days = int(cal.working_days_between(deadline, moment))
    return max(days, 1) if moment > deadline else days


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_statuses_are_consistent(scenario) -> None:
    events, as_of = scenario
    result = evaluate(ROUTINE, events, as_of, ledger=True, trace=True)
    cal = ROUTINE.calendar
    for case in result.cases:
        for o in case.obligations:
            if o.deadline is None:  # escalations: due from opens_at, no deadline
                assert o.escalates is not None and o.status == "due"
                assert instant(o.opens_at or "") <= as_of
                continue
            deadline = instant(o.deadline)
            late_days = _late(cal, local_date(deadline, TZ), local_date(as_of, TZ))
            if o.status == "fulfilled":
                assert o.fulfilled_by is not None
                assert instant(o.fulfilled_by.at) <= deadline
            elif o.status == "fulfilled_late":
                assert o.fulfilled_by is not None
                done = instant(o.fulfilled_by.at)
                assert done > deadline
                assert o.late_working_days == _late(
                    cal, local_date(deadline, TZ), local_date(done, TZ)
                )
            elif o.status == "overdue":
                assert as_of > deadline
                assert o.fulfilled_by is None and o.cancelled_by is None
                assert o.late_working_days == late_days
            elif o.status == "due":
                assert as_of <= deadline
                assert o.fulfilled_by is None and o.cancelled_by is None
                if not o.unblocks:  # a remedy opens with the first obligation it unblocks
                    assert instant(o.opens_at or "") <= as_of
            elif o.status == "upcoming":
                assert as_of < instant(o.opens_at or "")
            elif o.status == "cancelled":
                assert o.cancelled_by is not None and o.fulfilled_by is None
                assert instant(o.cancelled_by.at) <= deadline
            elif o.status == "blocked":
                assert o.blocked_by
            if o.fulfilled_by is not None and o.trigger is not None:
                # An answer comes after its trigger, or in the same second whatever the ids.
                assert instant(o.fulfilled_by.at) >= instant(o.trigger.at)
                assert o.fulfilled_by.event != o.trigger.event
                assert instant(o.fulfilled_by.at) <= as_of
        expected = [o.obligation for o in case.obligations if o.status in ACTION_STATUSES]
        assert sorted(a.obligation for a in case.actions) == sorted(expected)
        by_id = {o.obligation: o for o in case.obligations}
        assert all(by_id[a.obligation] == a for a in case.actions)


# --- (5) monotonic in as_of -----------------------------------------------------------------

TERMINAL = {"fulfilled", "fulfilled_late", "cancelled"}


@PROPERTY_SETTINGS
@given(data=st.data())
def test_a_later_as_of_keeps_what_was_settled(data) -> None:
    events = data.draw(streams())
    first, later = sorted([data.draw(as_of_for(events)), data.draw(as_of_for(events))])
    before = {
        o.obligation: o for o in ledger(evaluate(ROUTINE, events, first, ledger=True, trace=True))
    }
    after = {
        o.obligation: o for o in ledger(evaluate(ROUTINE, events, later, ledger=True, trace=True))
    }
    rule_ids = {k for k, o in before.items() if is_rule_obligation(o)}
    assert rule_ids <= set(after)
    for key in rule_ids:
        was, now = before[key], after[key]
        if was.status in TERMINAL:
            assert now.status == was.status, key
            assert now.fulfilled_by == was.fulfilled_by
            assert now.cancelled_by == was.cancelled_by
            assert now.late_working_days == was.late_working_days


def test_generated_instants_cover_both_offsets_of_stockholm() -> None:
    # The special instants straddle the changes, so local times with +01:00 and +02:00 occur.
    offsets = {
        (moment + timedelta(minutes=m)).astimezone(TZ).utcoffset()
        for moment in SPECIAL_INSTANTS[:6]
        for m in (-30, 30)
    }
    assert offsets == {timedelta(hours=1), timedelta(hours=2)}


@pytest.mark.parametrize("zone", OFFSETS, ids=["utc", "stockholm", "plus0530", "minus0300"])
def test_written_instants_parse_back_to_the_same_instant(zone) -> None:
    moment = datetime.combine(date(2026, 10, 25), time(0, 30), tzinfo=UTC)
    assert parse_rfc3339(written(moment, zone)) == moment
