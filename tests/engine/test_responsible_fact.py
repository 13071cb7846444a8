"""``responsible: fact.<name>``: the person or unit a case fact names, with a fallback role.

The routine is ``tests/fixtures/minimal.yaml`` with a fact set by an appointment event.
"""

from __future__ import annotations

from datetime import datetime

from samverkan_rules import evaluate, load_routine_text
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.i18n import translator
from samverkan_rules.text.markdown import render_markdown
from tests.support import FIXTURES, event

MINIMAL = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")

ADDITIONS = """  test.appointed:
    label: Kontaktperson utsedd
    fields:
      person: {type: string, required: true}
facts:
  kontaktperson:
    label: Utsedd kontaktperson
    set_by:
      - {event: test.appointed, value_from: data.person}
"""


def routine(acting_as: str = "") -> CompiledRoutine:
    text = MINIMAL.replace("facts:\n", ADDITIONS, 1)
    text = text.replace(
        "      responsible: handlaggare\n",
        f"      responsible: fact.kontaktperson\n      fallback: chef\n{acting_as}",
    )
    return load_routine_text(text)


REFERRAL = event(
    id="e1", type="test.referral", at="2026-12-21T09:00:00+01:00", due_date="2026-12-30"
)
AS_OF = datetime.fromisoformat("2026-12-22T12:00:00+01:00")


def test_the_fallback_acts_and_is_flagged_while_the_fact_is_unset() -> None:
    result = evaluate(routine(), [REFERRAL], AS_OF, ledger=True, trace=True)
    d = result.to_dict()["cases"][0]["obligations"][0]
    assert d["responsible"] == "chef"
    assert d["responsible_label"] == "Enhetschef"
    assert d["responsible_party"] == {"fact": "kontaktperson", "value": None, "fallback": True}
    assert "Enhetschef (i stället, så länge ”Utsedd kontaktperson” saknas)" in d["explanation"]


def test_the_person_named_by_the_fact_is_responsible_in_the_role_it_acts_in() -> None:
    appointed = event(
        id="a1", type="test.appointed", at="2026-12-21T10:00:00+01:00", person="Anna Berg"
    )
    r = routine("      acting_as: handlaggare\n")
    result = evaluate(r, [REFERRAL, appointed], AS_OF, ledger=True, trace=True)
    o = result.case("c1").obligations[0]
    assert o.responsible == "handlaggare"
    assert o.responsible_party is not None
    assert (o.responsible_party.value, o.responsible_party.fallback) == ("Anna Berg", False)
    assert "Anna Berg (Handläggare)" in o.explanation


def test_without_acting_as_the_person_acts_in_the_fallback_role() -> None:
    appointed = event(
        id="a1", type="test.appointed", at="2026-12-21T10:00:00+01:00", person="Anna Berg"
    )
    o = (
        evaluate(routine(), [REFERRAL, appointed], AS_OF, ledger=True, trace=True)
        .case("c1")
        .obligations[0]
    )
    assert o.responsible == "chef"
    assert "Anna Berg (Enhetschef)" in o.explanation


def test_rules_with_a_fixed_role_have_no_responsible_party_key() -> None:
    text = MINIMAL
    result = evaluate(load_routine_text(text), [REFERRAL], AS_OF, ledger=True, trace=True)
    assert "responsible_party" not in result.to_dict()["cases"][0]["obligations"][0]


def test_render_names_the_fact_the_role_and_the_fallback() -> None:
    text = render_markdown(routine("      acting_as: handlaggare\n"), t=translator("en"))
    assert (
        "“Utsedd kontaktperson” (`fact.kontaktperson`), acting as Handläggare (`handlaggare`); "
        "while unset: Enhetschef (`chef`)"
    ) in text
