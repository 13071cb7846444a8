"""Routine files -> validated models -> compiled rulesets, in three layers.

1. **YAML**: safe loading (no objects, no duplicate keys, alias and size limits), with a
   map from every document path to its line and column (:mod:`samverkan_rules.language.yaml`).
2. **Schema**: the pydantic models of :mod:`samverkan_rules.language.models`; each error's ``loc``
   is mapped back to the YAML node it concerns.
3. **Meaning**: every role, channel, event type, field, fact and precondition a rule names
   is declared; rule ids are unique; deadlines are anchored on dates that exist; no
   password or PIN is written into the routine.

Every problem of every file is collected before anything is raised.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from samverkan_rules.compile.routine import CompiledRoutine, compile_routine
from samverkan_rules.diagnostics import N_, Diagnostic, has_errors, sort_key
from samverkan_rules.errors import RoutineError, YamlError
from samverkan_rules.language.checks import _Checker
from samverkan_rules.language.models.base import (
    Vocabulary,
)
from samverkan_rules.language.models.routine import Routine
from samverkan_rules.language.plans import resolve_plans
from samverkan_rules.language.validation import located_errors
from samverkan_rules.language.variants import MergedDocument, resolve_variant
from samverkan_rules.language.vocabulary import bundled_vocabulary
from samverkan_rules.language.yaml import YamlDocument, load_yaml, load_yaml_file, read_yaml_text


@dataclass(frozen=True)
class RoutineCheck:
    """The outcome of checking one routine file: the compiled routine when it is usable."""

    file: str | None
    diagnostics: tuple[Diagnostic, ...]
    routine: CompiledRoutine | None
    model: Routine | None = None
    """The schema-valid routine, even when a meaning check failed (None when not)."""
    document: YamlDocument | None = field(default=None, repr=False)
    """The loaded YAML, for locating findings of later checks (quotes, lint)."""

    @property
    def ok(self) -> bool:
        """True when the routine has no errors (warnings allowed)."""
        return self.routine is not None and not has_errors(self.diagnostics)


def _check_document(
    doc: YamlDocument, text: str, *, today: date | None, vocabulary: Vocabulary | None
) -> RoutineCheck:
    if not isinstance(doc.data, dict):
        diag = doc.diagnostic(
            (),
            "routine.not-mapping",
            N_("a routine must be a YAML mapping"),
            hint=N_("start with 'id: <routine-id>'"),
        )
        return RoutineCheck(doc.file, (diag,), None)
    doc, problems = resolve_variant(doc, load_yaml_file)
    if not problems:
        doc, problems = resolve_plans(doc, load_yaml_file)
    if problems:
        return RoutineCheck(doc.file, tuple(sorted(problems, key=sort_key)), None)
    if isinstance(doc, MergedDocument) and len(doc.sources) > 1:
        text = "\n".join(doc.sources)  # the hash names every file the routine is made of
    try:
        model = Routine.model_validate(doc.data)
    except ValidationError as exc:
        return RoutineCheck(
            doc.file,
            tuple(sorted(located_errors(exc, doc, Routine, prefix="schema"), key=sort_key)),
            None,
        )
    vocab = (
        vocabulary
        if vocabulary is not None
        else (bundled_vocabulary() if model.vocabulary else None)
    )
    if model.vocabulary is not None and vocab is not None and model.vocabulary != vocab.id:
        diag = doc.diagnostic(
            ("vocabulary",),
            "routine.unknown-vocabulary",
            N_("unknown vocabulary {vocabulary}", vocabulary=repr(model.vocabulary)),
            hint=N_("use {id}, or leave the key out", id=repr(vocab.id)),
        )
        return RoutineCheck(doc.file, (diag,), None, model, doc)
    found = sorted(_Checker(model, doc, vocab, today).run(), key=sort_key)
    if has_errors(found):
        return RoutineCheck(doc.file, tuple(found), None, model, doc)
    merged = doc if isinstance(doc, MergedDocument) else None
    compiled = compile_routine(
        model,
        vocabulary=vocab.event_types if vocab else {},
        source_text=text,
        file=doc.file,
        diagnostics=[d for d in found if not d.is_error],
        param_uses=merged.from_params if merged is not None else None,
        rule_files=merged.rule_files(model.rules) if merged is not None else None,
    )
    return RoutineCheck(doc.file, tuple(found), compiled, model, doc)


def check_routine_text(
    text: str,
    *,
    file: str | None = None,
    today: date | None = None,
    vocabulary: Vocabulary | None = None,
) -> RoutineCheck:
    """Check a routine given as YAML text; never raises for problems in the text.

    Args:
        text: The YAML.
        file: A name for messages.
        today: When given, a ``review_by`` before it is a warning.
        vocabulary: The shared event vocabulary (default: the bundled one).
    """
    try:
        doc = load_yaml(text, file=file)
    except YamlError as exc:
        return RoutineCheck(file, exc.diagnostics, None)
    return _check_document(doc, text, today=today, vocabulary=vocabulary)


def check_routine_file(
    path: str | os.PathLike[str], *, today: date | None = None, vocabulary: Vocabulary | None = None
) -> RoutineCheck:
    """Check a routine file; never raises for problems in the file.

    The file must be a regular file within the size limit (``SAMVERKAN_YAML_MAX_BYTES``);
    anything else is a located diagnostic, found before the file is read.
    """
    name = str(path)
    try:
        # Only a regular file, measured before it is read (never /dev/zero or a FIFO).
        text = read_yaml_text(path)
    except YamlError as exc:
        return RoutineCheck(name, exc.diagnostics, None)
    return check_routine_text(text, file=name, today=today, vocabulary=vocabulary)


def _raise_or_return(check: RoutineCheck) -> CompiledRoutine:
    if check.routine is None or not check.ok:
        errors = [d for d in check.diagnostics if d.is_error]
        raise RoutineError(f"{check.file or 'routine'}: {len(errors)} error(s)", errors)
    return check.routine


def load_routine(path: str | os.PathLike[str]) -> CompiledRoutine:
    """Load, check and compile a routine file.

    Raises:
        RoutineError: listing every problem, each with file, line and column.

    Examples:
        >>> routine = load_routine("routines/orebro-dagverksamhet-hemvard.yaml")
        >>> routine.id
        'orebro-dagverksamhet-hemvard'
    """
    return _raise_or_return(check_routine_file(path))


def load_routine_text(text: str, *, file: str | None = None) -> CompiledRoutine:
    """Load, check and compile a routine given as YAML text.

    Raises:
        RoutineError: listing every problem.
    """
    return _raise_or_return(check_routine_text(text, file=file))


def routine_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """The routine files named by ``paths``: files as given, directories' ``*.yaml`` files
    (not their subdirectories, where scenario tests live), in sorted order."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            yield from sorted(
                f for f in path.iterdir() if f.suffix in (".yaml", ".yml") and f.is_file()
            )
        else:
            yield path
