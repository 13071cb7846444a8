"""The seven statuses of an obligation, defined once, and the words staff read for them.

:data:`GLOSSARY` is the one list of the words every view uses (``due``, ``explain``,
``render``, the audit's HTML, CSV and summary, trace lines): a status is always called the
same, in Swedish and in English, and an obligation is always an *åtgärd* (an *action*).
:data:`RETIRED` lists the words that used to stand for the same things, so a test can fail
when one comes back. ``docs/glossary.md`` is :func:`glossary_markdown`.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Term:
    """One word of the staff glossary.

    Attributes:
        key: The status (one of :data:`STATUSES`) or the concept (``obligation``, ...).
        en: The English word.
        sv: The Swedish word, as a label (singular).
        sv_plural: The Swedish plural, as in "3 försenade".
        meaning: What it means, in Swedish, for the glossary page.
    """

    key: str
    en: str
    sv: str
    sv_plural: str
    meaning: str


GLOSSARY: tuple[Term, ...] = (
    Term(
        "upcoming",
        "upcoming",
        "kommande",
        "kommande",
        "Åtgärden kan inte göras än: den öppnar vid en senare tidpunkt.",
    ),
    Term(
        "due", "to do", "att göra", "att göra", "Åtgärden ska göras, och fristen har inte gått ut."
    ),
    Term(
        "fulfilled",
        "done on time",
        "klar i tid",
        "klara i tid",
        "Åtgärden gjordes senast vid fristen.",
    ),
    Term(
        "fulfilled_late",
        "done late",
        "klar för sent",
        "klara för sent",
        "Åtgärden gjordes, men efter fristen.",
    ),
    Term(
        "overdue",
        "overdue",
        "försenad",
        "försenade",
        "Fristen har gått ut och åtgärden är inte gjord.",
    ),
    Term(
        "cancelled",
        "cancelled",
        "avbruten",
        "avbrutna",
        "Åtgärden behövs inte längre: en händelse avbröt den.",
    ),
    Term(
        "blocked",
        "waiting",
        "väntar",
        "väntar",
        "Åtgärden väntar på något annat (till exempel ett samtycke) innan den kan göras; "
        "fristen löper ändå.",
    ),
    Term(
        "obligation",
        "action",
        "åtgärd",
        "åtgärder",
        "Något som rutinen kräver att en roll gör i ett ärende, med en frist.",
    ),
    Term(
        "case",
        "case",
        "ärende",
        "ärenden",
        "Den enskilda personens ärende; bara det kallas ärende.",
    ),
    Term(
        "event",
        "event",
        "händelse",
        "händelser",
        "Något som har hänt i ett ärende och registrerats med tidpunkt.",
    ),
    Term(
        "deadline",
        "deadline",
        "frist",
        "frister",
        "Den tidpunkt då åtgärden senast ska vara gjord; en frist som gäller hela dagen "
        "visas som dagen.",
    ),
    Term(
        "working_day",
        "working day",
        "vardag",
        "vardagar",
        "Måndag till fredag utom helgdagar, midsommarafton, julafton och nyårsafton.",
    ),
)
"""The staff glossary: the statuses in :data:`STATUSES` order, then the nouns."""

RETIRED: tuple[str, ...] = (
    "skyldighet",
    "skyldigheter",
    "skyldigheten",
    "skyldigheterna",
    "missad",
    "missade",
    "missat",
    "pågår",
    "pågående",
    "uppfylld",
    "uppfyllda",
    "blockerad",
    "blockerade",
    "tidsfrist",
    "tidsfristen",
)
"""Swedish words that once named a status or an obligation and are no longer used for staff."""


def glossary_term(key: str) -> Term:
    """The glossary's term for a status or concept.

    Examples:
        >>> glossary_term("blocked").sv, glossary_term("obligation").en
        ('väntar', 'action')
    """
    for term in GLOSSARY:
        if term.key == key:
            return term
    raise KeyError(key)


def status_label(status: str, t: Translator) -> str:
    """A status (``due``, ``fulfilled_late``, ...) as a reader knows it (the glossary's word)."""
    labels = {
        "upcoming": t.pgettext("status", "upcoming"),
        "due": t.pgettext("status", "to do"),
        "overdue": t.pgettext("status", "overdue"),
        "blocked": t.pgettext("status", "waiting"),
        "fulfilled": t.pgettext("status", "done on time"),
        "fulfilled_late": t.pgettext("status", "done late"),
        "cancelled": t.pgettext("status", "cancelled"),
    }
    return labels.get(status, status)


def glossary_markdown() -> str:
    """``docs/glossary.md``: the glossary as a page for staff and translators."""
    lines = [
        "# Ordlista för personal",
        "",
        "Samma ord i alla vyer (`samverkan due`, `explain`, `render`, granskningens rapport,",
        "CSV och sammanfattning). Genererad från `samverkan_rules/status.py`",
        "(`glossary_markdown()`); ändra där, inte här.",
        "",
        "## Status för en åtgärd",
        "",
        "| status | svenska | plural | English | betydelse |",
        "|---|---|---|---|---|",
    ]
    nouns = [
        "",
        "## Begrepp",
        "",
        "| begrepp | svenska | plural | English | betydelse |",
        "|---|---|---|---|---|",
    ]
    for term in GLOSSARY:
        row = f"| `{term.key}` | {term.sv} | {term.sv_plural} | {term.en} | {term.meaning} |"
        (lines if term.key in STATUSES else nouns).append(row)
    lines.extend(nouns)
    lines += [
        "",
        "## Ord som inte används längre",
        "",
        "Dessa ord får inte förekomma i texter för personal:",
        "",
        ", ".join(f"*{w}*" for w in RETIRED) + ".",
        "",
    ]
    return "\n".join(lines)
