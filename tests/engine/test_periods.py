"""Periods: states with a length, started by an event or a breach, ended by an event.

The routine is ``tests/fixtures/minimal.yaml`` with a patient ready for discharge: the
municipality is to take the patient home within 3 calendar days (a rule); the payment
liability (a period) starts when that is breached and ends at discharge. A second period
runs from admission to discharge. Jul 2026: 24-27 December are no vardagar.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from samverkan_rules import evaluate, load_routine_text
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.routine.load import check_routine_text
from tests.support import FIXTURES, event

MINIMAL = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")

TYPES = """event_types:
  test.ready:
    label: Utskrivningsklar
  test.discharged:
    label: Utskriven
    fields:
      to: {type: string}
  test.admitted:
    label: Inskriven
"""

RULE = """  - id: take-home
    title: Ta hem patienten
    when: {event: test.ready}
    action: {kind: reply, description: Ta hem patienten, responsible: handlaggare}
    deadline: {after: trigger, days: 3}
    fulfilled_by: [{event: test.discharged}]
    source: {section: Remisser, quote: Remissen besvaras inom två vardagar.}
"""

PERIODS = """periods:
  betalningsansvar:
    label: Kommunens betalningsansvar
    starts: {breach: take-home}
    ends: [{event: test.discharged}]
    amount_per_day: 9000
    source: {section: Remisser, quote: Remissen besvaras inom två vardagar.}
  vardtid:
    label: Vårdtid
    starts: {event: test.admitted}
    ends: [{event: test.discharged, if: {field: data.to, equals: hem}}]
    source: {section: Remisser, quote: Remissen besvaras inom två vardagar.}
rules:
"""


def routine(periods: str = PERIODS) -> CompiledRoutine:
    text = MINIMAL.replace("event_types:\n", TYPES, 1).replace("rules:\n", periods + RULE, 1)
    return load_routine_text(text)


ADMITTED = event(id="a1", type="test.admitted", at="2026-12-18T08:00:00+01:00")
READY = event(id="r1", type="test.ready", at="2026-12-21T10:00:00+01:00")


def periods(*events: dict[str, Any], as_of: str) -> dict[str, dict[str, Any]]:
    result = evaluate(routine(), [ADMITTED, READY, *events], datetime.fromisoformat(as_of))
    case = result.to_dict()["cases"][0]
    return {p["period"]: p for p in case.get("periods", [])}


def test_a_breach_starts_a_period_that_is_open_until_its_end_event() -> None:
    # take-home is due by 24 December 23:59:59; on 28 December 12:00 the liability has run
    # 4 calendar days (25-28), 1 working day (28) and 84 whole hours.
    found = periods(as_of="2026-12-28T12:00:00+01:00")
    liability = found["betalningsansvar"]
    assert liability["start"] == "2026-12-24T23:59:59+01:00"
    assert (liability["end"], liability["open"]) == (None, True)
    assert liability["started_by_obligation"] == "take-home:r1"
    assert liability["length"] == {"days": 4, "working_days": 1, "hours": 84}
    assert liability["amount"] == 36000


def test_the_end_event_closes_the_period() -> None:
    home = event(id="d1", type="test.discharged", at="2026-12-30T14:00:00+01:00", to="hem")
    found = periods(home, as_of="2027-01-10T12:00:00+01:00")
    liability = found["betalningsansvar"]
    assert (liability["end"], liability["open"]) == ("2026-12-30T14:00:00+01:00", False)
    assert liability["ended_by"]["event"] == "d1"
    assert liability["length"]["days"] == 6
    stay = found["vardtid"]
    assert (stay["start"], stay["end"]) == (
        "2026-12-18T08:00:00+01:00",
        "2026-12-30T14:00:00+01:00",
    )
    assert stay["started_by"]["event"] == "a1"
    assert stay["length"] == {"days": 12, "working_days": 6, "hours": 294}
    assert stay["amount"] is None


def test_an_end_event_that_does_not_match_leaves_the_period_open() -> None:
    elsewhere = event(id="d1", type="test.discharged", at="2026-12-22T14:00:00+01:00", to="korttid")
    found = periods(elsewhere, as_of="2026-12-23T12:00:00+01:00")
    assert found["vardtid"]["open"] is True
    assert "betalningsansvar" not in found  # fulfilled in time: no breach


def test_a_case_without_periods_has_no_periods_key() -> None:
    result = evaluate(routine(), [READY], datetime.fromisoformat("2026-12-22T12:00:00+01:00"))
    assert "periods" not in result.to_dict()["cases"][0]
    assert result.case("c1").periods == []


def test_the_public_objects_carry_the_periods() -> None:
    result = evaluate(
        routine(), [ADMITTED, READY], datetime.fromisoformat("2026-12-28T12:00:00+01:00")
    )
    liability = result.case("c1").periods[-1]
    assert (liability.period, liability.length.days, liability.amount) == (
        "betalningsansvar",
        4,
        36000,
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("breach: take-home", "breach: take-hom"), "unknown rule 'take-hom'"),
        (("ends: [{event: test.discharged}]", "ends: [{event: test.dischargd}]"), "test.dischargd"),
    ],
)
def test_period_references_are_checked(change: tuple[str, str], words: str) -> None:
    text = MINIMAL.replace("event_types:\n", TYPES, 1).replace(
        "rules:\n", PERIODS.replace(*change) + RULE, 1
    )
    errors = [d.format() for d in check_routine_text(text, file="r.yaml").diagnostics]
    assert any(words in e and "did you mean" in e for e in errors), errors


def test_render_shows_the_periods() -> None:
    from samverkan_rules.text.markdown import render_markdown

    text = render_markdown(routine())
    assert "## Perioder" in text
    assert "### Kommunens betalningsansvar (`betalningsansvar`)" in text
    assert "**Belopp per dag:** 9000" in text


def test_an_event_before_the_routine_is_in_force_starts_no_period() -> None:
    text = MINIMAL.replace("event_types:\n", TYPES, 1).replace("rules:\n", PERIODS + RULE, 1)
    r = load_routine_text(text.replace("valid_from: 2020-01-01", "valid_from: 2026-12-19"))
    result = evaluate(r, [ADMITTED, READY], datetime.fromisoformat("2026-12-28T12:00:00+01:00"))
    assert [p.period for p in result.case("c1").periods] == ["betalningsansvar"]
