"""One language per reader: Swedish by default, English on request.

Everything a member of staff reads (``due``, ``explain``, ``render``) is looked up in a
gettext catalog of the ``samverkan`` domain under ``samverkan_rules/locale/``. Message ids
are English; the Swedish catalog translates them and the English one repeats them, so both
languages are plain data in ``.po`` files rather than branches in code. The compiled
``.mo`` files are committed next to their sources (a test checks they are current), so a
source checkout, an editable install and a wheel all find them without a build step and
without any dependency beyond the standard library's :mod:`gettext`.

There is no global state to set: each call that produces text takes a :class:`Translator`,
got from :func:`translator`. Catalogs are read once per language and shared, read-only.

Examples:
    >>> sv = translator("sv")
    >>> sv.ngettext("{n} working day", "{n} working days", 4).format(n=4)
    '4 vardagar'
    >>> translator("en").ngettext("{n} working day", "{n} working days", 1).format(n=1)
    '1 working day'
    >>> resolve_language(None, {"LANG": "en_GB.UTF-8"}), resolve_language("sv", {"LANG": "en"})
    ('en', 'sv')
"""

from __future__ import annotations

import functools
import gettext
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

Language = Literal["sv", "en"]
"""A language the catalogs cover."""

LANGUAGES: Final[tuple[Language, ...]] = ("sv", "en")
"""Every language the catalogs cover, the default first."""

DEFAULT_LANGUAGE: Final[Language] = "sv"
"""The language of the routines and of the staff who read the output."""

DOMAIN: Final = "samverkan"
"""The gettext domain: ``locale/<lang>/LC_MESSAGES/samverkan.mo``."""

LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
"""Where the catalogs live, inside the package (so a wheel carries them)."""

_ENVIRONMENT: Final = ("LC_ALL", "LC_MESSAGES", "LANG")
"""The variables that name the language of messages, in POSIX order of precedence."""


def _code(value: str) -> str:
    """``en_GB.UTF-8@euro`` -> ``en``."""
    return value.split(".", 1)[0].split("@", 1)[0].replace("-", "_").split("_", 1)[0].lower()


def language_from_environment(environ: Mapping[str, str] | None = None) -> Language:
    """The language the environment asks for, or the default.

    The first of ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` that is set and not empty decides,
    as POSIX has it. A language the catalogs do not cover, and the ``C``/``POSIX`` locale
    (which names no language), give the default: Swedish.

    Args:
        environ: The environment to read (default :data:`os.environ`).

    Examples:
        >>> language_from_environment({"LANG": "en_US.UTF-8"})
        'en'
        >>> language_from_environment({"LC_ALL": "sv_SE.UTF-8", "LANG": "en_US.UTF-8"})
        'sv'
        >>> language_from_environment({"LANG": "C.UTF-8"}), language_from_environment({})
        ('sv', 'sv')
    """
    env = os.environ if environ is None else environ
    for name in _ENVIRONMENT:
        value = env.get(name)
        if value:
            code = _code(value)
            return code if code in LANGUAGES else DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def resolve_language(
    explicit: str | None = None, environ: Mapping[str, str] | None = None
) -> Language:
    """The language to write in: ``explicit`` (e.g. ``--lang``) when given, else the
    environment's (:func:`language_from_environment`).

    Raises:
        ValueError: when ``explicit`` names a language the catalogs do not cover.

    Examples:
        >>> resolve_language("en_GB")
        'en'
        >>> resolve_language("de")
        Traceback (most recent call last):
        ...
        ValueError: no messages in language 'de'; choose one of sv, en
    """
    if explicit is None:
        return language_from_environment(environ)
    code = _code(explicit)
    if code not in LANGUAGES:
        raise ValueError(
            f"no messages in language {explicit!r}; choose one of {', '.join(LANGUAGES)}"
        )
    return code


@dataclass(frozen=True, slots=True)
class Translator:
    """The messages of one language. Immutable, so one may be shared between threads.

    Attributes:
        language: The language it translates into.

    Examples:
        >>> t = translator("sv")
        >>> t.pgettext("status", "to do")
        'att göra'
        >>> [t.ngettext("{n} case", "{n} cases", n).format(n=n) for n in (1, 2)]
        ['1 ärende', '2 ärenden']
    """

    language: Language
    _catalog: gettext.NullTranslations

    def gettext(self, message: str) -> str:
        """``message`` (an English message id) in this language."""
        return self._catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form of ``singular``/``plural`` that fits the number ``n``, in this language."""
        return self._catalog.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        """``message`` in this language, where ``context`` tells apart equal English words."""
        return self._catalog.pgettext(context, message)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        """:meth:`ngettext` with a ``context``, as :meth:`pgettext`."""
        return self._catalog.npgettext(context, singular, plural, n)


@functools.cache
def translator(language: str = DEFAULT_LANGUAGE) -> Translator:
    """The :class:`Translator` for ``language`` (``sv`` or ``en``; ``en_GB`` is ``en``).

    Catalogs are read once per language and kept: a translator never changes.

    Raises:
        ValueError: for a language the catalogs do not cover.
        FileNotFoundError: when the package was installed without its catalogs.
    """
    lang = resolve_language(language)
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with path.open("rb") as stream:
        catalog = gettext.GNUTranslations(stream)
    return Translator(lang, catalog)
