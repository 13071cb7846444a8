"""The error hierarchy.

Every error the library raises on purpose derives from :class:`SamverkanError`.
Errors about a routine or an event file carry :class:`~samverkan_rules.diagnostics.Diagnostic`
records that say where the problem is, so a caller can print all of them at once.

``CompileError`` and its subclasses are raised before evaluation starts (a routine that
cannot be read or makes no sense); ``EvaluationError`` is raised while evaluating.
"""

from __future__ import annotations

from collections.abc import Sequence

from samverkan_rules.diagnostics import Diagnostic, Text


class SamverkanError(Exception):
    """Root of every error raised by samverkan-rules.

    ``diagnostics`` holds every located problem behind the error; ``str()`` shows them all,
    one ``file:line:col: ...`` line each.
    """

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = ()) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        if self.diagnostics:
            detail = "\n".join(d.format() for d in self.diagnostics)
            message = f"{message}\n{detail}"
        super().__init__(message)


class CompileError(SamverkanError):
    """A routine, scenario or vocabulary could not be turned into a ruleset."""


class YamlError(CompileError):
    """The YAML text is unsafe or malformed (syntax, duplicate keys, aliases, size)."""


class RoutineError(CompileError):
    """The routine is well-formed YAML but breaks the schema or makes no sense."""


class EventError(SamverkanError):
    """Events could not be read or do not fit the routine's event types."""


class CaseErasedError(SamverkanError):
    """Events were posted for a case that was erased and has not been reopened."""


class CalendarError(SamverkanError):
    """A date or time cannot be placed in the routine's calendar (naive time, out of range).

    Attributes:
        text: The message as a translatable sentence, when it was given as one (the event
            reader reports it in the reader's language); ``str()`` is the English.
    """

    def __init__(self, message: str | Text, diagnostics: Sequence[Diagnostic] = ()) -> None:
        self.text: Text | None = message if isinstance(message, Text) else None
        super().__init__(str(message), diagnostics)


class EvaluationError(SamverkanError):
    """Evaluation could not proceed (for instance an ``as_of`` without a UTC offset)."""
