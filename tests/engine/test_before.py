"""Order: a rule's ``before`` (an obligation that must be met before another event).

"Innan kontakt tas … fyll i blanketten": the first matching event after the trigger cuts the
deadline to its instant when that is earlier than the computed one. A fulfilment after it is
late; with no fulfilment, the obligation is overdue from that event on. The output names the
event (``before``) only when the cut applied.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules import evaluate, load_routine_text
from samverkan_rules.i18n import translator
from samverkan_rules.records import Obligation
from samverkan_rules.text.markdown import render_markdown
from tests.support import FIXTURES, event

MINIMAL = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")
CONTACT_TYPE = """  test.contact:
    label: Kontakt tagen
    fields:
      refers_to: {type: event}
      channel: {type: string}
facts:
"""
BEFORE = """    before:
      event: test.contact
      if: {field: data.channel, equals: telefon}
      match: {data.refers_to: trigger.id}
    fulfilled_by:
"""
CANCEL = """    cancelled_by:
      - event: test.withdrawn
        match: {data.refers_to: trigger.id}
    source:
"""
WITHDRAWN_TYPE = """  test.withdrawn:
    label: Återkallad
    fields:
      refers_to: {type: event}
facts:
"""


def _routine_text(*, before: bool = True, cancel: bool = False) -> str:
    text = MINIMAL.replace("facts:\n", CONTACT_TYPE, 1)
    if before:
        text = text.replace("    fulfilled_by:\n", BEFORE, 1)
    if cancel:
        text = text.replace("facts:\n", WITHDRAWN_TYPE, 1).replace("    source:\n", CANCEL, 1)
    return text


WITH = load_routine_text(_routine_text())
WITHOUT = load_routine_text(_routine_text(before=False))
CANCELLABLE = load_routine_text(_routine_text(cancel=True))

# Wednesday 2026-12-02 10:00; two working days later: Friday 2026-12-04 23:59:59.
REFERRAL = event(
    id="r1", type="test.referral", at="2026-12-02T10:00:00+01:00", due_date="2026-12-31"
)
COMPUTED = "2026-12-04T23:59:59+01:00"


def _contact(ident: str, at: str, *, refers_to: str = "r1", channel: str = "telefon") -> dict:
    return event(id=ident, type="test.contact", at=at, refers_to=refers_to, channel=channel)


def _reply(ident: str, at: str, *, refers_to: str = "r1") -> dict:
    return event(id=ident, type="test.reply", at=at, refers_to=refers_to)


def _reply_obligation(events: list[dict], as_of: str, routine=WITH) -> Obligation:
    result = evaluate(routine, events, datetime.fromisoformat(as_of), ledger=True, trace=True)
    (found,) = [o for o in result.case("c1").obligations or () if o.obligation == "reply:r1"]
    return found


def test_done_before_the_event_is_on_time_and_keeps_the_computed_deadline() -> None:
    events = [
        REFERRAL,
        _reply("a1", "2026-12-03T09:00:00+01:00"),
        _contact("k1", "2026-12-03T10:00:00+01:00"),
    ]
    o = _reply_obligation(events, "2026-12-03T12:00:00+01:00")
    assert (o.status, o.deadline, o.before) == ("fulfilled", COMPUTED, None)
    assert "before" not in o.to_json()


def test_done_after_the_event_is_late_even_before_the_computed_deadline() -> None:
    events = [
        REFERRAL,
        _contact("k1", "2026-12-03T10:00:00+01:00"),
        _reply("a1", "2026-12-03T13:00:00+01:00"),
    ]
    o = _reply_obligation(events, "2026-12-03T14:00:00+01:00")
    assert o.status == "fulfilled_late"
    assert o.deadline == "2026-12-03T10:00:00+01:00"
    assert o.before is not None
    assert (o.before.event, o.before.type, o.before.at) == (
        "k1",
        "test.contact",
        "2026-12-03T10:00:00+01:00",
    )
    assert o.to_json()["before"] == {
        "event": "k1",
        "type": "test.contact",
        "at": "2026-12-03T10:00:00+01:00",
    }
    assert o.late is not None and (o.late.working_days, o.late.hours) == (0, 3)
    assert (
        "skulle ha gjorts före Kontakt tagen (k1), torsdag 3 december 2026 kl. 10.00"
        in o.explanation
    )
    assert o.trace is not None
    assert any("före k1 (Kontakt tagen)" in line for line in o.trace)


def test_not_done_and_the_event_happened_is_overdue() -> None:
    events = [REFERRAL, _contact("k1", "2026-12-03T10:00:00+01:00")]
    before_contact = _reply_obligation(events, "2026-12-03T09:00:00+01:00")
    assert (before_contact.status, before_contact.deadline) == ("due", COMPUTED)
    o = _reply_obligation(events, "2026-12-03T11:00:00+01:00")
    assert (o.status, o.deadline) == ("overdue", "2026-12-03T10:00:00+01:00")
    english = evaluate(
        WITH, events, datetime.fromisoformat("2026-12-03T11:00:00+01:00")
    ).in_language(translator("en"))
    (action,) = english.case("c1").actions
    assert "It had to be done before Kontakt tagen (k1), Thursday 3 December 2026 at 10:00." in (
        action.explanation
    )


def test_an_event_after_the_computed_deadline_changes_nothing() -> None:
    events = [REFERRAL, _contact("k1", "2026-12-07T10:00:00+01:00")]
    o = _reply_obligation(events, "2026-12-07T11:00:00+01:00")
    assert (o.status, o.deadline, o.before) == ("overdue", COMPUTED, None)


def test_only_the_first_matching_event_after_the_trigger_cuts() -> None:
    events = [
        _contact("k0", "2026-12-01T10:00:00+01:00"),  # before the trigger
        REFERRAL,
        _contact("k1", "2026-12-03T10:00:00+01:00", refers_to="other"),  # another matter
        _contact("k2", "2026-12-03T11:00:00+01:00", channel="brev"),  # fails the condition
        _contact("k3", "2026-12-03T12:00:00+01:00"),
        _contact("k4", "2026-12-03T13:00:00+01:00"),
    ]
    o = _reply_obligation(events, "2026-12-03T14:00:00+01:00")
    assert o.before is not None and o.before.event == "k3"
    assert o.deadline == "2026-12-03T12:00:00+01:00"


def test_an_event_in_the_triggers_second_counts_whatever_the_ids_order() -> None:
    same = _contact("a0", "2026-12-02T10:00:00+01:00")  # sorts before r1 in that second
    o = _reply_obligation([same, REFERRAL], "2026-12-02T11:00:00+01:00")
    assert (o.status, o.deadline) == ("overdue", "2026-12-02T10:00:00+01:00")


def test_a_cancellation_after_the_event_does_not_undo_the_breach() -> None:
    withdrawn = event(
        id="w1", type="test.withdrawn", at="2026-12-03T11:00:00+01:00", refers_to="r1"
    )
    events = [REFERRAL, _contact("k1", "2026-12-03T10:00:00+01:00"), withdrawn]
    o = _reply_obligation(events, "2026-12-03T12:00:00+01:00", CANCELLABLE)
    assert (o.status, o.cancelled_by) == ("overdue", None)
    early = [REFERRAL, {**withdrawn, "at": "2026-12-03T09:00:00+01:00"}, events[1]]
    o = _reply_obligation(early, "2026-12-03T12:00:00+01:00", CANCELLABLE)
    assert (o.status, o.before) == ("cancelled", None)


def test_the_json_document_writes_before_only_where_it_applies() -> None:
    events = [
        REFERRAL,
        {**REFERRAL, "id": "r2", "case": "c2"},
        _contact("k1", "2026-12-03T10:00:00+01:00"),
    ]
    document = json.loads(
        evaluate(WITH, events, datetime.fromisoformat("2026-12-03T11:00:00+01:00")).to_json()
    )
    by_case = {c["case"]: c["actions"] for c in document["cases"]}
    assert by_case["c1"][0]["before"]["event"] == "k1"
    assert "before" not in by_case["c2"][0]


def test_the_rendering_says_what_the_obligation_must_precede() -> None:
    text = render_markdown(WITH)
    assert "Görs före" in text
    assert "Kontakt tagen" in text
    assert "Done before" in render_markdown(WITH, translator("en"))
    assert "Görs före" not in render_markdown(WITHOUT)


_BASE = datetime.fromisoformat("2026-12-02T10:00:00+01:00")
_minutes = st.integers(-3 * 24 * 60, 12 * 24 * 60)


@settings(max_examples=60, deadline=None)
@given(
    contacts=st.lists(st.tuples(_minutes, st.booleans()), max_size=4),
    reply=st.none() | _minutes,
    as_of=st.integers(0, 15 * 24 * 60),
)
def test_before_never_makes_a_deadline_later(
    contacts: list[tuple[int, bool]], reply: int | None, as_of: int
) -> None:
    events = [REFERRAL]
    for n, (minutes, ours) in enumerate(contacts):
        at = (_BASE + timedelta(minutes=minutes)).isoformat()
        events.append(_contact(f"k{n}", at, refers_to="r1" if ours else "r9"))
    if reply is not None:
        events.append(_reply("a1", (_BASE + timedelta(minutes=reply)).isoformat()))
    moment = (_BASE + timedelta(minutes=as_of)).isoformat()
    cut = _reply_obligation(events, moment)
    plain = _reply_obligation(events, moment, WITHOUT)
    cut_at = datetime.fromisoformat(cut.deadline or "")
    plain_at = datetime.fromisoformat(plain.deadline or "")
    assert cut_at <= plain_at
    if cut.before is None:
        assert (cut.deadline, cut.status) == (plain.deadline, plain.status)
    else:
        # Cut to the instant of the event it had to precede, which came after the trigger.
        assert cut_at == datetime.fromisoformat(cut.before.at) > _BASE - timedelta(seconds=1)
    # What is late without `before` is late with it; on time with it is on time without it.
    if plain.status in ("fulfilled_late", "overdue"):
        assert cut.status == plain.status
    if cut.status == "fulfilled":
        assert plain.status == "fulfilled"
