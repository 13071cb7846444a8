"""Located findings: what is wrong, where, and what to write instead.

A :class:`Diagnostic` is the unit every checker produces. Its text form follows the
compiler convention ``file:line:col: path: message. Hint: ...`` so editors and CI logs can
jump to it; its JSON form is part of the evaluation output contract.

A checker words its message and hint as a :class:`Text`: an English message id of the
``samverkan`` catalog with named values, made with :func:`N_`. The diagnostic keeps it
next to the English sentence, so the reader's language is chosen where the diagnostic is
printed (:meth:`Diagnostic.translated`), never where it is found, and no checker needs a
translator. The ``code`` never changes with the language.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal, Protocol

Level = Literal["error", "warning", "info"]


class Catalog(Protocol):
    """What :class:`Text` needs of a translator (:class:`samverkan_rules.i18n.Translator`)."""

    def gettext(self, message: str) -> str:
        """``message`` in the reader's language."""
        ...


@dataclass(frozen=True, slots=True)
class Text:
    """A translatable sentence: an English message id and the values of its placeholders.

    Values are text already (a quoted name, a number) or a :class:`Text` of their own,
    translated along with the sentence.

    Attributes:
        msgid: The English message, a :meth:`str.format` template with ``{name}``
            placeholders (a brace itself is written ``{{``); the catalog's key.
        params: The placeholders' values, by name.

    Examples:
        >>> text = N_("unknown role {name}", name=repr("hemvrd"))
        >>> str(text)
        "unknown role 'hemvrd'"
    """

    msgid: str
    params: tuple[tuple[str, str | Text], ...] = ()

    def render(self, t: Catalog | None = None) -> str:
        """The sentence in ``t``'s language (English, the message id, when ``t`` is None)."""
        template = self.msgid if t is None else t.gettext(self.msgid)
        values = {k: v.render(t) if isinstance(v, Text) else v for k, v in self.params}
        return template.format(**values)

    def __str__(self) -> str:
        return self.render()


def N_(msgid: str, /, **params: object) -> Text:
    """Mark ``msgid`` for the catalog and bind its placeholders (text, numbers, :class:`Text`).

    Named like gettext's marker for deferred messages, so ``pybabel extract`` finds the id.
    """
    return Text(msgid, tuple((k, v if isinstance(v, Text) else str(v)) for k, v in params.items()))


Message = str | Text
"""A message or hint as a checker gives it: plain text, or translatable."""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about a routine, an event file or an evaluation.

    Attributes:
        level: ``error`` stops the input from being used; ``warning`` and ``info`` do not.
        code: A stable, dotted identifier such as ``routine.unknown-role``.
        message: One sentence saying what is wrong.
        file: The file it concerns, as given by the caller.
        line: 1-based line, when known.
        column: 1-based column, when known.
        path: Where in the document, e.g. ``rules[3].deadline.working_days``.
        hint: What to write instead.
        source_line: The offending source line, for the caret display.
        text: ``message`` as a translatable :class:`Text`, when the checker gave one.
        hint_text: ``hint`` as a translatable :class:`Text`, when the checker gave one.

    Examples:
        >>> d = Diagnostic("error", "routine.unknown-role", "unknown role 'hemvrd'",
        ...                file="r.yaml", line=4, column=7, path="rules[0].action.responsible",
        ...                hint="did you mean 'hemvard'?")
        >>> print(d.format())
        r.yaml:4:7: rules[0].action.responsible: unknown role 'hemvrd'. Hint: did you mean...
    """

    level: Level
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None
    hint: str | None = None
    source_line: str | None = field(default=None, compare=False)
    text: Text | None = field(default=None, compare=False, repr=False)
    hint_text: Text | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(
        cls,
        level: Level,
        code: str,
        message: Message,
        *,
        hint: Message | None = None,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
        source_line: str | None = None,
    ) -> Diagnostic:
        """A diagnostic whose message and hint may be translatable :class:`Text`.

        Examples:
            >>> d = Diagnostic.of("error", "routine.x", N_("unknown key {name}", name="'a'"))
            >>> d.message, d.text is not None
            ("unknown key 'a'", True)
        """
        return cls(
            level,
            code,
            str(message),
            file=file,
            line=line,
            column=column,
            path=path,
            hint=None if hint is None else str(hint),
            source_line=source_line,
            text=message if isinstance(message, Text) else None,
            hint_text=hint if isinstance(hint, Text) else None,
        )

    def reworded(self, message: Message, **changes: Any) -> Diagnostic:
        """This diagnostic with another message (translatable when a :class:`Text`).

        Use it, not :func:`dataclasses.replace`, to change the message: it keeps the
        translatable text in step with the English.
        """
        text = message if isinstance(message, Text) else None
        return replace(self, message=str(message), text=text, **changes)

    def translated(self, t: Catalog) -> Diagnostic:
        """This diagnostic with its message and hint in ``t``'s language (code unchanged).

        Plain-text messages (a checker that gave no :class:`Text`) stay as they are.
        """
        message = self.text.render(t) if self.text is not None else self.message
        hint = self.hint_text.render(t) if self.hint_text is not None else self.hint
        if message == self.message and hint == self.hint:
            return self
        return replace(self, message=message, hint=hint)

    @property
    def is_error(self) -> bool:
        """True when the finding stops the input from being used."""
        return self.level == "error"

    def location(self) -> str:
        """``file:line:col`` with whatever parts are known."""
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def format(
        self, *, caret: bool = False, t: Catalog | None = None, path: str | None = None
    ) -> str:
        """The one-line text form, optionally followed by the source line and a caret.

        Args:
            caret: Follow with the source line and a caret under the column.
            t: The reader's language (default English, as the diagnostic was made).
            path: How to show the path, when not as :attr:`path` (e.g. naming the rule).
        """
        d = self if t is None else self.translated(t)
        text = f"{self.location()}: "
        if self.level != "error":
            level = _LEVELS[self.level].render(t)
            text += f"{level}: "
        shown = path or self.path
        if shown:
            text += f"{shown}: "
        text += d.message.rstrip(".")
        if d.hint:
            label = _HINT.render(t)
            text += f". {label}: {d.hint}"
        if caret and self.source_line is not None:
            col = max((self.column or 1) - 1, 0)
            text += f"\n    {self.source_line}\n    {' ' * col}^"
        return text

    def to_json(self, t: Catalog | None = None) -> dict[str, Any]:
        """The JSON form used in evaluation output and ``--format json``.

        Args:
            t: The language of ``message`` and ``hint`` (default English, as made).
        """
        d = self if t is None else self.translated(t)
        out: dict[str, Any] = {"level": d.level, "code": d.code, "message": d.message}
        for key in ("file", "line", "column", "path", "hint"):
            value = getattr(d, key)
            if value is not None:
                out[key] = value
        return out


_LEVELS: Final[dict[str, Text]] = {"warning": N_("warning"), "info": N_("info")}
"""The level words shown before a message (``error`` is not shown)."""

_HINT: Final = N_("Hint")
"""The word before the hint."""


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    """True when any diagnostic is an error."""
    return any(d.is_error for d in diagnostics)


def sort_key(d: Diagnostic) -> tuple[str, int, int, str, str]:
    """Order diagnostics by file, position, then code, so output is reproducible."""
    return (d.file or "", d.line or 0, d.column or 0, d.code, d.message)


_PERSONAL_NUMBER = re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+ ]?\d{4}(?!\d)")


def mask_personal_numbers(text: str) -> str:
    """``text`` with anything shaped like a personal identity number replaced.

    Diagnostics may quote values from events or documents; a personnummer or
    samordningsnummer must never reach a log.

    Examples:
        >>> mask_personal_numbers("to 19121212-1212 and 121212+1212, tel 0150-722 09")
        'to [personnummer] and [personnummer], tel 0150-722 09'
    """
    return _PERSONAL_NUMBER.sub("[personnummer]", text)


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The known spelling nearest ``word``, when one is near enough.

    Examples:
        >>> closest("treserv", ["treserva", "telefon"]), closest("x", ["a"])
        ('treserva', None)
    """
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, choices: Sequence[str] | Iterable[str]) -> Text | None:
    """A hint naming the closest known spelling, or listing the choices when few.

    Examples:
        >>> str(did_you_mean("treserv", ["treserva", "telefon"]))
        "did you mean 'treserva'?"
        >>> str(did_you_mean("x", ["a", "b"]))
        "use one of 'a', 'b'"
    """
    options = sorted(set(choices))
    close = closest(word, options)
    if close:
        return N_("did you mean {name}?", name=repr(close))
    if 0 < len(options) <= 8:
        return N_("use one of {names}", names=", ".join(repr(o) for o in options))
    return None
