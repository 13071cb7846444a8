"""Located findings: what is wrong, where, and what to write instead.

A :class:`Diagnostic` is the unit every checker produces. Its text form follows the
compiler convention ``file:line:col: path: message. Hint: ...`` so editors and CI logs can
jump to it; its JSON form is part of the evaluation output contract.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["error", "warning", "info"]


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

    def format(self, *, caret: bool = False) -> str:
        """The one-line text form, optionally followed by the source line and a caret."""
        text = f"{self.location()}: "
        if self.level != "error":
            text += f"{self.level}: "
        if self.path:
            text += f"{self.path}: "
        text += self.message.rstrip(".")
        if self.hint:
            text += f". Hint: {self.hint}"
        if caret and self.source_line is not None:
            col = max((self.column or 1) - 1, 0)
            text += f"\n    {self.source_line}\n    {' ' * col}^"
        return text

    def to_json(self) -> dict[str, Any]:
        """The JSON form used in evaluation output and ``--format json``."""
        out: dict[str, Any] = {"level": self.level, "code": self.code, "message": self.message}
        for key in ("file", "line", "column", "path", "hint"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


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


def did_you_mean(word: str, choices: Sequence[str] | Iterable[str]) -> str | None:
    """A hint naming the closest known spelling, or listing the choices when few.

    Examples:
        >>> did_you_mean("treserv", ["treserva", "telefon"])
        "did you mean 'treserva'?"
        >>> did_you_mean("x", ["a", "b"])
        "use one of 'a', 'b'"
    """
    options = sorted(set(choices))
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if 0 < len(options) <= 8:
        return "use one of " + ", ".join(repr(o) for o in options)
    return None
