"""Open vocabularies: routine action kinds, fields added to shared event types, nested paths.

The routine is ``tests/fixtures/minimal.yaml`` with its reply rule answered by the shared
``message.sent`` (whose ``content`` is an object) and acknowledged with an added ``by``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from samverkan_rules import evaluate, load_routine_text
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.i18n import translator
from samverkan_rules.text.markdown import render_markdown
from tests.support import FIXTURES, event

MINIMAL = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")

OPEN = """action_kinds:
  receive_patient: {label: Ta emot patienten}
extend_event_types:
  message.acknowledged:
    fields:
      by: {type: role, description: den som kvitterade}
event_types:
"""

RULE = """  - id: reply
    title: Svara på remissen
    when: {event: test.referral}
    action:
      kind: receive_patient
      description: Ta emot patienten
      responsible: handlaggare
    deadline: {after: trigger, working_days: 2}
    fulfilled_by:
      - event: message.sent
        if: {field: data.content.prel_datum, exists: true}
        match: {data.content.remiss: trigger.id}
    cancelled_by:
      - event: message.acknowledged
        if: {field: data.by, equals: chef}
    source:
      section: Remisser
      quote: Remissen besvaras inom två vardagar.
"""


def routine() -> CompiledRoutine:
    text = MINIMAL.replace("event_types:\n", OPEN, 1)
    head, _, _ = text.partition("  - id: reply\n")
    return load_routine_text(head + RULE)


REFERRAL = event(
    id="e1", type="test.referral", at="2026-12-21T09:00:00+01:00", due_date="2026-12-30"
)
AS_OF = datetime.fromisoformat("2026-12-22T12:00:00+01:00")


def reply(*events: dict[str, Any]) -> dict[str, Any]:
    result = evaluate(routine(), [REFERRAL, *events], AS_OF, ledger=True, trace=True)
    return result.to_dict()["cases"][0]["obligations"][0]


def test_a_routine_action_kind_is_the_obligations_kind() -> None:
    assert reply()["kind"] == "receive_patient"


def test_nested_paths_in_conditions_and_correlations() -> None:
    sent = event(
        id="m1",
        type="message.sent",
        at="2026-12-21T10:00:00+01:00",
        kind="svar",
        content={"remiss": "e1", "prel_datum": "2026-12-28"},
    )
    o = reply(sent)
    assert (o["status"], o["fulfilled_by"]["event"]) == ("fulfilled", "m1")
    other = dict(sent, id="m2", data={"kind": "svar", "content": {"remiss": "e9"}})
    assert reply(other)["status"] == "due"  # neither the date nor this referral
    no_date = dict(sent, id="m3", data={"kind": "svar", "content": {"remiss": "e1"}})
    assert reply(no_date)["status"] == "due"


def test_a_field_added_to_a_shared_type_is_read_and_checked() -> None:
    ack = event(
        id="k1", type="message.acknowledged", at="2026-12-21T11:00:00+01:00", message="x", by="chef"
    )
    assert reply(ack)["status"] == "cancelled"
    result = evaluate(
        routine(),
        [REFERRAL, dict(ack, data={"message": "x", "by": "nobody"})],
        AS_OF,
        ledger=True,
        trace=True,
    )
    assert any("nobody" in d.message for d in result.diagnostics), result.diagnostics


def test_render_uses_the_routines_label_for_its_kind() -> None:
    text = render_markdown(routine(), t=translator("en"))
    # the kind's label, when the description already says it, is not repeated in brackets
    assert "**What:** Ta emot patienten\n" in text
    assert "Ta emot patienten (Ta emot patienten)" not in text
