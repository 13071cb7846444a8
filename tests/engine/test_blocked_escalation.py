"""Escalation of an obligation that stays blocked (consent missing) past its deadline.

The routine is ``tests/fixtures/minimal.yaml`` with the reply requiring consent. The reply
to a referral on Monday 21 December 2026 09:00 is due by Wednesday 23 December 23:59:59
(2 working days); 24-27 December are no vardagar.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from samverkan_rules import evaluate, load_routine_text
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.i18n import translator
from samverkan_rules.text.markdown import render_markdown
from tests.support import FIXTURES, event

MINIMAL = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")
ESCALATION = """    escalation:
      - on: blocked
        after: {working_days: 1}
        to: chef
        within: {working_days: 1}
        description: Se till att samtycke inhämtas
"""


def routine(escalation: str = ESCALATION) -> CompiledRoutine:
    text = MINIMAL.replace(
        "    when: {event: test.referral}\n",
        "    when: {event: test.referral}\n    requires: [samtycke]\n",
    )
    text = text.replace(
        "    source:\n      section: Remisser", escalation + "    source:\n      section: Remisser"
    )
    return load_routine_text(text)


REFERRAL = event(
    id="e1", type="test.referral", at="2026-12-21T09:00:00+01:00", due_date="2027-01-15"
)


def obligations(r: CompiledRoutine, as_of: str, events: list[dict] | None = None) -> dict:
    result = evaluate(
        r, [REFERRAL, *(events or [])], datetime.fromisoformat(as_of), ledger=True, trace=True
    )
    return {o["obligation"]: o for o in result.to_dict()["cases"][0]["obligations"]}


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2026-12-23T12:00:00+01:00", None),  # blocked, deadline not passed
        ("2026-12-28T09:00:00+01:00", None),  # starts 28 December at 23:59:59
        ("2026-12-29T09:00:00+01:00", ("due", "2026-12-29T23:59:59+01:00")),
        ("2026-12-30T09:00:00+01:00", ("overdue", "2026-12-29T23:59:59+01:00")),
    ],
)
def test_a_blocked_obligation_escalates_after_its_deadline_with_its_own_deadline(
    as_of: str, expected: tuple[str, str] | None
) -> None:
    found = obligations(routine(), as_of)
    assert found["reply:e1"]["status"] == "blocked"
    esc = found.get("reply:e1:escalation-1")
    if expected is None:
        assert esc is None
        return
    assert esc is not None
    assert (esc["status"], esc["deadline"]) == expected
    assert esc["responsible"] == "chef"
    assert esc["escalates"] == "reply:e1"
    assert "väntar fortfarande på Samtycke" in esc["explanation"], esc["explanation"]


def test_consent_given_ends_the_blocked_escalation() -> None:
    consent = event(id="k1", type="consent.given", at="2026-12-29T10:00:00+01:00", form="oral")
    found = obligations(routine(), "2026-12-30T09:00:00+01:00", [consent])
    assert found["reply:e1"]["status"] == "overdue"
    assert "reply:e1:escalation-1" not in found


def test_a_breach_escalation_does_not_fire_on_a_blocked_obligation() -> None:
    breach = ESCALATION.replace("      - on: blocked\n", "      - on: overdue\n")
    found = obligations(routine(breach), "2027-01-10T09:00:00+01:00")
    assert found["reply:e1"]["status"] == "blocked"
    assert "reply:e1:escalation-1" not in found


def test_render_says_when_and_within_what() -> None:
    text = render_markdown(routine(), t=translator("en"))
    assert "While still blocked, 1 working day after the deadline: to" in text, text
    assert "(to be done within 1 working day)" in text
