"""The seven statuses of an obligation, defined once, and their words for people."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from samverkan_rules.i18n import Translator


Status = Literal[
    "upcoming", "due", "fulfilled", "fulfilled_late", "overdue", "cancelled", "blocked"
]
"""Where an obligation stands at ``as_of``."""

STATUSES: tuple[Status, ...] = get_args(Status)
"""Every status, in the order above: the order of the evaluation's summary and schema."""

# Met, late or on time, or called off: nothing more is asked of anyone.
_SETTLED: frozenset[Status] = frozenset({"fulfilled", "fulfilled_late", "cancelled"})

ACTION_STATUSES: frozenset[Status] = frozenset(STATUSES) - _SETTLED
"""Statuses that still ask someone to act (upcoming, due, overdue, blocked): these
obligations are the actions."""


def status_label(status: str, t: Translator) -> str:
    """A status (``due``, ``fulfilled_late``, ...) as a reader knows it."""
    labels = {
        "upcoming": t.pgettext("status", "upcoming"),
        "due": t.pgettext("status", "due"),
        "overdue": t.pgettext("status", "overdue"),
        "blocked": t.pgettext("status", "blocked"),
        "fulfilled": t.pgettext("status", "fulfilled"),
        "fulfilled_late": t.pgettext("status", "fulfilled late"),
        "cancelled": t.pgettext("status", "cancelled"),
    }
    return labels.get(status, status)
