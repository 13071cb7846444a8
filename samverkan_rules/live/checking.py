"""The check of a post's events, all of them at once: every problem, each located by the
event's place in the post."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.errors import EventError
from samverkan_rules.events.model import Event
from samverkan_rules.live.store import content_key


def check_all(
    check: Callable[[Event | Mapping[str, Any]], Event],
    items: Sequence[Event | Mapping[str, Any]],
) -> list[Event]:
    """The posted ``items`` as events, each checked with ``check``; an id given twice with
    different content is a problem too.

    Raises:
        EventError: with every problem found, each with the event's 1-based place in
            ``line``.
    """
    out: list[Event] = []
    problems: list[Diagnostic] = []
    ids: dict[str, str] = {}
    for index, item in enumerate(items):
        try:
            event = check(item)
        except EventError as exc:
            problems.extend(_at_index(d, index) for d in exc.diagnostics)
            continue
        key = content_key(event)
        if ids.setdefault(event.id, key) != key:
            problems.append(
                _at_index(
                    Diagnostic(
                        "error",
                        "event.duplicate-id",
                        f"event id {event.id!r} is given twice with different content",
                        path="id",
                        hint="give every event its own id",
                    ),
                    index,
                )
            )
            continue
        out.append(event)
    if problems:
        raise EventError(f"{len(problems)} problem(s) with the posted events", problems)
    return out


def _at_index(d: Diagnostic, index: int) -> Diagnostic:
    """A posted event's diagnostic, located by its place among the posted events.

    ``line`` is the 1-based position, as if the posted list were JSON Lines, so a client
    finds the event the way a CLI user finds a line of an event file.
    """
    return replace(d, line=index + 1)
