"""Checks of ``referred.*`` fields: what a condition may read of the event referred to.

``referred.data.<name>`` reads the data of the event that the condition's event names in
its reference field (``refers_to``, or its type's only field of type ``event``). Which
type that event has is known only when the events come, so a field is checked against the
fields of every event type of the routine; ``referred.type`` literals must be event types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from samverkan_rules.diagnostics import N_, Message, did_you_mean
from samverkan_rules.language.models.base import EventType, FieldSpec
from samverkan_rules.language.models.conditions import (
    EVENT_TIME_FIELDS,
    Comparison,
    reference_field,
)


@dataclass(frozen=True)
class Problem:
    """One finding about a ``referred.*`` field: its code, message and hint."""

    code: str
    message: Message
    hint: Message | None = None


def referred_problem(
    c: Comparison,
    event: EventType | None,
    event_name: str,
    types: Mapping[str, EventType],
) -> Problem | None:
    """What is wrong with comparison ``c`` on a ``referred.*`` field, or None.

    Args:
        c: The comparison, its field starting with ``referred.``.
        event: The type of the event the condition reads (None when not known).
        event_name: That type's name, for messages.
        types: The routine's event types.
    """
    found = referred_path_problem(c.field, event, event_name, types)
    if found is not None or not c.field.startswith("referred.type"):
        return found
    return _type_literals(c, types)


def referred_path_problem(
    path: str,
    event: EventType | None,
    event_name: str,
    types: Mapping[str, EventType],
) -> Problem | None:
    """What is wrong with reading ``path`` (``referred.<...>``) of an event of type
    ``event``, or None: the type must name another event, and a data field must be one
    some event type of the routine declares."""
    name = path.partition(".")[2]
    if event is not None and reference_field(event) is None:
        return Problem(
            "routine.no-reference",
            N_(
                "{field}: event type {event_name} names no other event (it has no field "
                "'refers_to' nor a single field of type 'event')",
                field=repr(path),
                event_name=repr(event_name),
            ),
            N_("read data.<name> of the event itself, or compare with a 'match'"),
        )
    scope, _, rest = name.partition(".")
    if scope == "at" and rest not in EVENT_TIME_FIELDS:
        return Problem(
            "routine.unknown-field",
            N_("unknown event time field {field}", field=repr(path)),
            did_you_mean(path, [f"referred.at.{n}" for n in EVENT_TIME_FIELDS]),
        )
    if scope == "data":
        head = rest.partition(".")[0]
        known = _fields(types)
        if head not in known:
            return Problem(
                "routine.unknown-field",
                N_(
                    "{field}: no event type of the routine has a field {head}",
                    field=repr(path),
                    head=repr(head),
                ),
                did_you_mean(head, known),
            )
    return None


def types_referred(strings: Iterable[str], types: Mapping[str, EventType]) -> set[str]:
    """The event types a routine may read through ``referred.data.<name>``: those declaring
    a field that one of the routine's ``strings`` (its field paths among them) reads.

    Examples:
        >>> t = {"a": EventType(label="A", fields={"x": FieldSpec(type="string")}),
        ...      "b": EventType(label="B")}
        >>> sorted(types_referred(["referred.data.x", "data.y"], t))
        ['a']
    """
    heads = {
        s.removeprefix("referred.data.").partition(".")[0]
        for s in strings
        if s.startswith("referred.data.")
    }
    if not heads:
        return set()
    return {name for name, spec in types.items() if heads & spec.fields.keys()}


def _fields(types: Mapping[str, EventType]) -> dict[str, FieldSpec]:
    out: dict[str, FieldSpec] = {}
    for spec in types.values():
        for name, field in spec.fields.items():
            out.setdefault(name, field)
    return out


def _type_literals(c: Comparison, types: Mapping[str, EventType]) -> Problem | None:
    op = c.operators()[0]
    if op in ("in", "not_in"):
        values = list((c.in_ if op == "in" else c.not_in) or [])
    elif op in ("equals", "not_equals"):
        values = [getattr(c, op)]
    else:
        return None
    for value in values:
        if isinstance(value, str) and value not in types:
            return Problem(
                "routine.unknown-event-type",
                N_("{field}: unknown event type {name}", field=repr(c.field), name=repr(value)),
                did_you_mean(value, types),
            )
    return None
