"""Every duty sentence of a routine's source document is a rule, an omission or set aside.

A routine is faithful to its document only if no obligation of the document is silently
lost. For each bundled routine with a coverage file ``routines/coverage/<routine file>``
(a YAML list of the document's duty sentences), these tests check that:

* every sentence of the source document that states a duty (it contains one of
  :data:`DUTY_WORDS`) is listed, and every listed sentence is one the splitter finds (a
  file may list other sentences too, e.g. an imperative without a duty word that the
  routine lists as an omission);
* a sentence listed with ``rules`` (and/or ``preconditions``, ``queues``) names rules,
  preconditions and queues the routine has;
* a sentence listed with ``omission: true`` is covered by an entry of the routine's
  ``omissions`` (the sentence contains a part of its quote, or a part contains the
  sentence), so deleting the omission fails the test;
* a sentence listed with ``ignored`` gives the reason it states no duty;
* every listed sentence is the document's words, checked with the routines' own quote
  checker (:mod:`samverkan_rules.language.sources`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from samverkan_rules.language.models.routine import Routine
from samverkan_rules.language.sources import SourceText, normalise, read_source
from samverkan_rules.routine.load import load_routine, routine_files
from tests.support import ROUTINES

COVERAGE = ROUTINES / "coverage"

DUTY_WORDS = ("ska", "skall", "ansvarar", "senast", "inom", "bör")
"""The words that mark a sentence as stating a duty (whole words, any case)."""

_DUTY = re.compile(r"\b(?:" + "|".join(DUTY_WORDS) + r")\b", re.IGNORECASE)

_BULLET = re.compile(r"^(?:[-•*]|\d+\.)\s+")
"""A list item's marker: a dash, a bullet, an asterisk or a number with a full stop."""

_ENDS_SENTENCE = re.compile(r"[.!?:][*)\"”]*$")
"""A line that ends a sentence, a heading's question or an introduction to a list."""

_ABBREVIATION_AT_END = re.compile(r"(?:\bt\.ex|\bbl\.a|\bdvs|\bm\.m|\bfr\.o\.m|\bs\.k)\.$")
"""Abbreviations that end with a full stop but not a sentence (``t.ex.`` at a line break)."""

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-ZÅÄÖ\"”*<(\[])")
"""Between two sentences of one paragraph: a full stop, then a capital (not a digit, so
``4 kap. 1§`` and ``fr.o.m. 2014`` hold together; not a small letter, so ``t.ex. då``)."""

WRAPPED_LINE = 70
"""A PDF's text ends each line with a space; a line at least this long that ends so, and
without a full stop, is a line of a paragraph that was wrapped: the next line continues it
even when it starts with a name (``via`` / ``Lifecare``). A shorter one is a heading. A
line without the trailing space (Markdown-like text, one paragraph a line) is continued
only by a line that starts with a small letter."""


@dataclass(frozen=True)
class _Line:
    """One line of the document, or one cell of a table row."""

    text: str
    cell: bool
    wrapped: bool


def _lines(text: str) -> list[_Line]:
    """The document's lines, table cells split apart and blank lines dropped.

    Blank lines do not end a paragraph: a PDF's text puts them between the wrapped lines of
    one sentence. A tab separates the cells of a table row; each cell is a paragraph of its
    own (a form's "Ska publiceras på ..." is one cell). A rule of dashes is no text.
    """
    out: list[_Line] = []
    for line in text.splitlines():
        cells = line.split("\t")
        wrapped = line.endswith(" ") and len(line.strip()) >= WRAPPED_LINE
        for cell in cells:
            cell = normalise(cell)
            if cell and not set(cell) <= set("-_ "):
                out.append(_Line(cell, len(cells) > 1, wrapped))
    return out


def _continues(previous: _Line, line: _Line) -> bool:
    """True when ``line`` goes on with the paragraph whose last line is ``previous``."""
    if previous.cell or line.cell or _BULLET.match(line.text):
        return False
    ended = _ENDS_SENTENCE.search(previous.text) and not _ABBREVIATION_AT_END.search(previous.text)
    if ended:
        return False
    return line.text[0].islower() or previous.wrapped


def paragraphs(text: str) -> list[str]:
    """The document's paragraphs: headings, list items, table cells and running text.

    Examples:
        >>> paragraphs("Syfte\\n\\nRutinen ska gälla för alla som\\n\\narbetar här.\\n- En punkt")
        ['Syfte', 'Rutinen ska gälla för alla som arbetar här.', 'En punkt']
    """
    out: list[str] = []
    previous: _Line | None = None
    for line in _lines(text):
        if previous is not None and _continues(previous, line):
            out[-1] = f"{out[-1]} {line.text}"
        else:
            out.append(_BULLET.sub("", line.text))
        previous = line
    return out


def sentences(text: str) -> list[str]:
    """The sentences of a document, in order; a heading or a list item is one too.

    A list item's marker is left out (the sentence is still the document's words).

    Examples:
        >>> sentences("1. Beslut fattas. Den skickas t.ex. via\\nmejl senast 4 kap. 1§.\\nSyfte")
        ['Beslut fattas.', 'Den skickas t.ex. via mejl senast 4 kap. 1§.', 'Syfte']
    """
    return [s for p in paragraphs(text) for s in _SENTENCE_BREAK.split(p) if s]


def duty_sentences(text: str) -> list[str]:
    """The sentences that contain one of :data:`DUTY_WORDS`, each once, in order."""
    found = [s for s in sentences(text) if _DUTY.search(s)]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Entry:
    """One listed sentence of a coverage file and what accounts for it."""

    sentence: str
    rules: tuple[str, ...]
    preconditions: tuple[str, ...]
    queues: tuple[str, ...]
    omission: bool
    ignored: str | None


def _entries(path: Path) -> list[Entry]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data.get("routine") == f"../{path.name}", f"{path}: 'routine' names another file"
    out = []
    for raw in data["sentences"]:
        out.append(
            Entry(
                sentence=normalise(raw["sentence"]),
                rules=tuple(raw.get("rules", ())),
                preconditions=tuple(raw.get("preconditions", ())),
                queues=tuple(raw.get("queues", ())),
                omission=bool(raw.get("omission", False)),
                ignored=raw.get("ignored"),
            )
        )
    return out


def _source_of(routine_path: Path) -> SourceText:
    declared = load_routine(routine_path).routine.source
    assert declared is not None and declared.file, f"{routine_path.name}: no source.file"
    return read_source(routine_path.parent / declared.file)


COVERED = sorted(p for p in routine_files([ROUTINES]) if (COVERAGE / p.name).is_file())


def test_every_routine_quoting_a_seed_document_has_a_coverage_file() -> None:
    names = {p.name for p in COVERED}
    seeds = {
        "orebro-dagverksamhet-hemvard.yaml",
        "orebro-dagverksamhet-hemvard-2014.yaml",
        "dagverksamhet-beslut.yaml",
        "lss-bostad-daglig-verksamhet.yaml",
        "katrineholm-hemtjanst-vardcentral.yaml",
    }
    assert seeds <= names, sorted(seeds - names)
    stray = {p.name for p in COVERAGE.glob("*.yaml")} - names
    assert not stray, f"coverage files without a routine: {sorted(stray)}"


@pytest.mark.parametrize("path", COVERED, ids=lambda p: p.stem)
def test_every_duty_sentence_is_accounted_for(path: Path) -> None:
    source_file = path.parent / load_routine(path).routine.source.file  # type: ignore[union-attr]
    text = source_file.read_text(encoding="utf-8-sig")
    listed = {e.sentence for e in _entries(COVERAGE / path.name)}
    missing = [s for s in duty_sentences(text) if s not in listed]
    assert not missing, "duty sentences neither a rule, an omission nor ignored:\n" + "\n".join(
        missing
    )
    stale = sorted(listed - set(sentences(text)))
    assert not stale, "listed sentences that are not sentences of the document:\n" + (
        "\n".join(stale)
    )


@pytest.mark.parametrize("path", COVERED, ids=lambda p: p.stem)
def test_each_sentence_has_exactly_one_account(path: Path) -> None:
    for entry in _entries(COVERAGE / path.name):
        encoded = bool(entry.rules or entry.preconditions or entry.queues)
        accounts = [encoded, entry.omission, entry.ignored is not None]
        assert accounts.count(True) == 1, entry.sentence
        if entry.ignored is not None:
            assert len(entry.ignored.split()) >= 4, f"{entry.sentence}: say why it is ignored"


def _covers(omission_quote: str, sentence: str) -> bool:
    """True when the sentence holds a piece of the quote or a piece holds the sentence.

    The pieces are the quote's sentences between ``…``: an omission may quote a sentence
    in part ("… Ange på uppmaning PIN-kod") or several sentences at once. A piece of one or
    two words says too little to count.
    """
    pieces = [
        piece
        for part in re.split(r"…|\.\.\.", normalise(omission_quote))
        for piece in _SENTENCE_BREAK.split(part.strip())
        if piece
    ]
    return any((len(p.split()) > 2 and p in sentence) or sentence in p for p in pieces)


def mapping_problems(routine: Routine, entries: list[Entry]) -> list[str]:
    """What a coverage file names that the routine lacks: rules, preconditions, queues and
    omissions covering the sentences listed with ``omission: true``."""
    ids = {r.id for r in routine.rules}
    quotes = [o.quote for o in routine.omissions]
    out: list[str] = []
    for entry in entries:
        unknown = [r for r in entry.rules if r not in ids]
        unknown += [p for p in entry.preconditions if p not in routine.preconditions]
        unknown += [q for q in entry.queues if q not in routine.queues]
        if unknown:
            out.append(f"{entry.sentence}: the routine has no {', '.join(unknown)}")
        if entry.omission and not any(_covers(q, entry.sentence) for q in quotes):
            out.append(f"{entry.sentence}: no omission of the routine quotes it")
    return out


@pytest.mark.parametrize("path", COVERED, ids=lambda p: p.stem)
def test_mapped_rules_and_omissions_are_in_the_routine(path: Path) -> None:
    problems = mapping_problems(load_routine(path).routine, _entries(COVERAGE / path.name))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", COVERED, ids=lambda p: p.stem)
def test_deleting_a_mapped_rule_or_any_omission_is_noticed(path: Path) -> None:
    # Every omission of the routine accounts for a listed sentence, and every mapped rule is
    # needed by one: deleting any of them from the routine makes the mapping wrong.
    routine = load_routine(path).routine
    entries = _entries(COVERAGE / path.name)
    for i, omission in enumerate(routine.omissions):
        fewer = routine.model_copy(
            update={"omissions": routine.omissions[:i] + routine.omissions[i + 1 :]}
        )
        assert mapping_problems(fewer, entries), f"no listed sentence needs {omission.quote!r}"
    for rule_id in sorted({r for e in entries for r in e.rules}):
        fewer = routine.model_copy(update={"rules": [r for r in routine.rules if r.id != rule_id]})
        assert mapping_problems(fewer, entries), rule_id


@pytest.mark.parametrize("path", COVERED, ids=lambda p: p.stem)
def test_listed_sentences_are_the_documents_words(path: Path) -> None:
    source = _source_of(path)
    for entry in _entries(COVERAGE / path.name):
        assert source.contains(entry.sentence), f"not in {source.name}: {entry.sentence}"
