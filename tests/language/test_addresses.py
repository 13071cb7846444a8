"""Role and unit references in event data, and messages addressed to a unit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from samverkan_rules import evaluate, load_routine
from samverkan_rules.compile.conditions import compile_condition
from samverkan_rules.events.model import Event, event_from_mapping
from samverkan_rules.language.models.base import FieldSpec
from samverkan_rules.language.models.conditions import Comparison
from tests.support import ROUTINES, event

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
AS_OF = datetime.fromisoformat("2026-09-09T12:00:00+02:00")


def _parsed(**fields: Any) -> Event:
    """The event ``event(**fields)`` describes, as the evaluator reads it."""
    return event_from_mapping(event(**fields))


def test_an_unknown_address_is_a_warning_with_a_suggestion() -> None:
    routine = load_routine(ROUTINE)
    sent = _parsed(
        id="e1",
        type="message.sent",
        at="2026-09-08T10:00:00+02:00",
        kind="start",
        to=["hemvrd", "hemvard"],
    )
    [diag] = routine.check_event(sent)
    assert (diag.level, diag.code, diag.path) == ("warning", "event.unknown-address", "data.to")
    assert "'hemvrd'" in diag.message
    assert diag.hint == "did you mean 'hemvard'?"


def test_units_and_roles_are_both_addresses() -> None:
    routine = load_routine(ROUTINE)
    for to in ("dagverksamhet.kontaktperson", "hemsjukvard", "hemvard"):
        made = _parsed(id="e1", type="contact.made", at="2026-09-08T10:00:00+02:00", to=to)
        assert routine.check_event(made) == []
    observed = _parsed(
        id="e2", type="needs.changed", at="2026-09-08T10:00:00+02:00", observed_by="anhorig"
    )
    assert [d.code for d in routine.check_event(observed)] == ["event.unknown-address"]


def test_a_wrong_type_is_still_an_error() -> None:
    routine = load_routine(ROUTINE)
    sent = _parsed(
        id="e1", type="message.sent", at="2026-09-08T10:00:00+02:00", kind="start", to=[3]
    )
    [diag] = routine.check_event(sent)
    assert (diag.level, diag.code) == ("error", "event.bad-field")


def test_the_unit_is_accepted_only_for_a_role_on_a_roles_field() -> None:
    cond = Comparison.model_validate({"field": "data.to", "contains": "hemvard.driftsplanerare"})
    units = {"hemvard.driftsplanerare": "hemvard"}
    to_unit = _parsed(
        id="e1", type="message.sent", at="2026-09-08T10:00:00+02:00", kind="x", to=["hemvard"]
    )
    roles = {"to": FieldSpec(type="roles")}
    assert compile_condition(cond, fields=roles, units=units)(to_unit, {})
    assert not compile_condition(cond)(to_unit, {})
    as_list = {"to": FieldSpec(type="list")}
    assert not compile_condition(cond, fields=as_list, units=units)(to_unit, {})


def test_a_message_to_the_unit_fulfils_the_roles_obligation() -> None:
    routine = load_routine(ROUTINE)
    events = [
        _parsed(id="e1", type="consent.given", at="2026-09-01T09:00:00+02:00", form="written"),
        _parsed(
            id="e3",
            type="dagverksamhet.start_planned",
            at="2026-09-01T10:00:00+02:00",
            start_date="2026-09-14",
        ),
        _parsed(
            id="e4",
            type="message.sent",
            at="2026-09-08T10:00:00+02:00",
            kind="start",
            to=["hemvard"],
            refers_to="e3",
        ),
    ]
    result = evaluate(routine, events, AS_OF, ledger=True, trace=True)
    [case] = result.cases
    start = next(o for o in case.obligations if o.obligation == "start-message:e3")
    assert start.status == "fulfilled"
    assert not [d for d in result.diagnostics if d.code == "event.unknown-address"]


def test_an_identity_number_in_an_address_is_not_echoed() -> None:
    routine = load_routine(ROUTINE)
    sent = _parsed(
        id="e1", type="message.sent", at="2026-09-08T10:00:00+02:00", kind="x", to=["19121212-1212"]
    )
    [diag] = routine.check_event(sent)
    assert "1212" not in diag.format()
    assert "[personnummer]" in diag.message
