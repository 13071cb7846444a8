"""Periods (e.g. betalningsansvar: from a breach to its end, counted in days and amounts)
and parameters (numbers and dates a routine names once and uses in several rules).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from samverkan_rules.diagnostics import N_
from samverkan_rules.language.models.base import Identifier, Interpretation, Model, Scalar, Source
from samverkan_rules.language.models.conditions import Condition


class PeriodStart(Model):
    """What starts a period: an event, or the breach of another rule's obligation."""

    event: Identifier | None = None
    """An event type; each matching event starts a period unless one is already open."""
    if_: Condition | None = Field(default=None, alias="if")
    """A condition on the event's data."""
    breach: Identifier | list[Identifier] | None = None
    """A rule id, or several (e.g. the variants of one duty with different deadlines): each
    of their obligations that is breached (overdue, or fulfilled late) starts a period at
    its deadline."""

    @model_validator(mode="after")
    def _one(self) -> PeriodStart:
        if (self.event is None) == (self.breach is None):
            raise ValueError(N_("give exactly one of 'event' or 'breach' (a rule id)"))
        if self.breach is not None and self.if_ is not None:
            raise ValueError(N_("'if' applies to 'event', not to 'breach'"))
        if isinstance(self.breach, list) and not self.breach:
            raise ValueError(N_("'breach' names at least one rule"))
        return self

    @property
    def breach_rules(self) -> tuple[str, ...]:
        """The rule ids whose breach starts the period (none for an event-started one)."""
        if self.breach is None:
            return ()
        return (self.breach,) if isinstance(self.breach, str) else tuple(self.breach)


class PeriodEnd(Model):
    """An event that ends an open period of its case."""

    event: Identifier
    if_: Condition | None = Field(default=None, alias="if")
    """A condition on the event's data."""


class Period(Model):
    """A state with a length (e.g. betalningsansvar): from a start to an end event.

    The output lists each case's periods with their start, end (or open at as_of) and
    length in calendar days and working days (between the local dates of start and end)
    and whole hours, and the amount when ``amount_per_day`` is given (days x amount).
    """

    label: str
    """What the period is, in Swedish, e.g. 'Kommunens betalningsansvar'."""
    starts: PeriodStart
    ends: list[PeriodEnd] = Field(min_length=1)
    """The events that end it; the first one after the start does."""
    amount_per_day: float | None = Field(default=None, ge=0)
    """An amount owed per calendar day of the period (e.g. a payment per day)."""
    source: Source
    interpretation: Interpretation | None = None


def _is_iso_date_text(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


class Param(Model):
    """A typed value a routine names once and uses wherever a value is written.

    ``param.<name>`` in place of a number, a role or another value is replaced by the
    parameter's value before the routine is validated; a variant that ``extends`` the
    routine can override it.
    """

    type: Literal["integer", "number", "string", "boolean", "role", "date"]
    default: Scalar | dt.date
    """The value used unless a variant overrides it."""
    label: str | None = None
    """What the value means, in Swedish."""
    interpretation: Interpretation | None = None
    """Set when the value is a local choice the source leaves open (with its reason)."""

    @model_validator(mode="after")
    def _typed(self) -> Param:
        value = self.default
        ok = {
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "string": isinstance(value, str),
            "boolean": isinstance(value, bool),
            "role": isinstance(value, str),
            "date": isinstance(value, dt.date) or _is_iso_date_text(value),
        }[self.type]
        if not ok:
            raise ValueError(
                N_("default {value} is not of type {type}", value=repr(value), type=repr(self.type))
            )
        return self
