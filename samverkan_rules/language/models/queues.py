"""Queues: cases waiting for an offer, in the order the routine states."""

from __future__ import annotations

from pydantic import (
    Field,
)

from samverkan_rules.language.models.base import Identifier, Interpretation, Model, Source
from samverkan_rules.language.models.conditions import Condition


class QueueJoin(Model):
    """An event that puts its case in the queue, with the priority it queues at.

    A case already in the queue keeps its place (its join time) when it joins again; only
    a better (lower) priority replaces its priority and label, never its join time.
    """

    event: Identifier
    """The event type that joins its case to the queue, e.g. 'decision.made'."""
    if_: Condition | None = Field(default=None, alias="if")
    """A condition on the event's data; the event joins only when it holds."""
    priority: int = Field(ge=1)
    """The case's priority in the queue: 1 goes first, then 2, and so on."""
    label: str
    """What the priority means, in the document's words, e.g. 'Ny brukare'."""


class QueueLeave(Model):
    """An event of a case's own that matters to the queue (leaves it, or offers it a place)."""

    event: Identifier
    """The event type, e.g. 'decision.executed'."""
    if_: Condition | None = Field(default=None, alias="if")
    """A condition on the event's data; the event counts only when it holds."""


class Queue(Model):
    """A queue over a set of cases, and the order in which it must be served.

    This is a check over cases, not an obligation with a deadline. Every usable event is
    replayed in (instant, id) order:

    * a ``joins`` event puts its case in the queue at that event's instant with the join's
      priority; a case already queued keeps its join time, and its priority only improves
      (a lower number replaces a higher one, never the reverse);
    * a ``leaves`` event removes its case from the queue;
    * an ``offers`` event offers a place to its case. The offer is in order when that case
      is the first queued case by (priority, join instant, id of the join event) at the
      offer's instant, among the cases queued at that instant. An offer to a case that is
      not queued is out of order too. An offer does not remove the case: accepting or
      declining does, through ``leaves``.

    Joins and offers count only when their local date falls within the routine version's
    validity; leaves always count. Each out-of-order offer is reported as a
    ``queue.out-of-order`` warning, and the evaluation lists the queue's order at as_of.
    """

    label: str
    """What the queue is, in Swedish, e.g. 'Kölistan för ledig plats på dagverksamhet'."""
    joins: list[QueueJoin] = Field(min_length=1)
    """The events that put a case in the queue, each with its priority."""
    leaves: list[QueueLeave] = Field(default_factory=list)
    """The events that take a case out of the queue (accepted, declined, removed)."""
    offers: list[QueueLeave] = Field(min_length=1)
    """The events that offer a place to their case, e.g. 'plats.erbjuden'."""
    source: Source
    """The words of the source document the queue encodes."""
    interpretation: Interpretation | None = None
    """Set when the queue decides something the source leaves open (e.g. who is 'first'
    within a priority)."""
