"""Retractions: an ``event.retracted`` event makes another event of its case count for nothing.

Events are never edited or deleted: a wrong event is retracted by a later event of the
shared type ``event.retracted`` whose ``data.event`` names it (and ``data.reason`` may say
why). A correction is a retraction plus the right event. Before a case is replayed its
events pass through :func:`without_retracted`: the retracted events and the retractions
themselves are dropped, so every obligation the retracted event raised, fulfilled or
cancelled is judged again as if it had never been recorded.

A retraction applies only within its case. One that names no event of its case, or names
another retraction (a retraction cannot be undone: post the event again with a new id), is
an error diagnostic and changes nothing. A unit's scheduled obligations still start at the
earliest event recorded, retracted or not: the history started there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import attrgetter

from samverkan_rules.diagnostics import N_, Diagnostic, Message
from samverkan_rules.events.model import Event

RETRACTED = "event.retracted"
"""The shared event type of a retraction."""

_TYPE = attrgetter("type")


def retractions(events: Sequence[Event]) -> dict[str, Event]:
    """The retracting event of each retracted event id of one case (the valid retractions).

    Examples:
        >>> from datetime import datetime, UTC
        >>> at = datetime(2026, 1, 5, tzinfo=UTC)
        >>> a = Event("e1", "c", "contact.made", at)
        >>> r = Event("r1", "c", RETRACTED, at, {"event": "e1"})
        >>> sorted(retractions([a, r]))
        ['e1']
    """
    found, _problems = _judged(events)
    return found


def without_retracted(events: Sequence[Event], problems: list[Diagnostic]) -> Sequence[Event]:
    """One case's events with the retracted events and the retractions left out.

    A case with no retraction costs one pass over its event types and is returned as is.
    Retractions that name no event of the case, or name a retraction, are added to
    ``problems`` as errors (with the retraction's file and line when it was read from one).

    Examples:
        >>> from datetime import datetime, UTC
        >>> at = datetime(2026, 1, 5, tzinfo=UTC)
        >>> a, b = Event("e1", "c", "contact.made", at), Event("e2", "c", "contact.made", at)
        >>> r = Event("r1", "c", RETRACTED, at, {"event": "e1"})
        >>> [e.id for e in without_retracted([a, b, r], [])]
        ['e2']
    """
    if RETRACTED not in map(_TYPE, events):  # the common case: one scan at C speed
        return events
    found, found_problems = _judged(events)
    problems.extend(found_problems)
    return [e for e in events if e.type != RETRACTED and e.id not in found]


def reason_of(retraction: Event) -> str | None:
    """The reason a retraction gives, when it gives one."""
    reason = retraction.data.get("reason")
    return reason if isinstance(reason, str) and reason else None


def _judged(events: Sequence[Event]) -> tuple[dict[str, Event], list[Diagnostic]]:
    by_id: Mapping[str, Event] = {e.id: e for e in events}
    found: dict[str, Event] = {}
    problems: list[Diagnostic] = []
    for event in events:
        if event.type != RETRACTED:
            continue
        problem = retraction_problem(event, by_id)
        if problem is not None:
            problems.append(problem)
        else:
            found.setdefault(event.data["event"], event)
    return found, problems


def retraction_problem(retraction: Event, by_id: Mapping[str, Event]) -> Diagnostic | None:
    """Why a retraction retracts nothing (``by_id``: its case's events), or None.

    Examples:
        >>> from datetime import datetime, UTC
        >>> at = datetime(2026, 1, 5, tzinfo=UTC)
        >>> r = Event("r1", "c", RETRACTED, at, {"event": "e9"})
        >>> retraction_problem(r, {}).code
        'event.retraction-unknown'
    """
    target = retraction.data.get("event")
    named = by_id.get(target) if isinstance(target, str) else None
    if named is None:
        return _problem(
            "event.retraction-unknown",
            N_(
                "retraction {id} names event {target}, which is not an event of case "
                "{case}; it retracts nothing",
                id=repr(retraction.id),
                target=repr(target),
                case=repr(retraction.case),
            ),
            retraction,
            N_("a retraction names the id of an earlier event of the same case"),
        )
    if named.type == RETRACTED:
        return _problem(
            "event.retraction-of-retraction",
            N_(
                "retraction {id} names the retraction {id2}; a retraction cannot be retracted",
                id=repr(retraction.id),
                id2=repr(named.id),
            ),
            retraction,
            N_("post the retracted event again, with a new id"),
        )
    return None


def _problem(code: str, message: Message, event: Event, hint: Message) -> Diagnostic:
    return Diagnostic.of(
        "error", code, message, file=event.file, line=event.line, path="data.event", hint=hint
    )
