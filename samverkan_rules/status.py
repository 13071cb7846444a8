"""The seven statuses of an obligation, defined once, and their words for people."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from samverkan_rules.i18n import Translator
from typing import TYPE_CHECKING

from samverkan_rules.i18n import Translator

if TYPE_CHECKING:
    pass

__all__ = ["ACTION_STATUSES", "Status", "status_label"]


Status = Literal[
    "upcoming", "due", "fulfilled", "fulfilled_late", "overdue", "cancelled", "blocked"
]


"""Where an obligation stands at ``as_of``."""


ACTION_STATUSES: frozenset[str] = frozenset({"upcoming", "due", "overdue", "blocked"})


"""Statuses that still ask someone to act: these obligations are the actions."""


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
