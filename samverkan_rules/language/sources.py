"""Quotes checked against the source document they claim to quote.

Every rule cites the words of its source document (``source.quote``), and an interpretation
may name the open words it reads (``interpretation.text``). An auditor must be able to trust
that these are the document's words, so :func:`check_quotes` looks each one up in the
document's text:

* whitespace and line breaks are normalised on both sides (a PDF's text breaks lines and
  pads them with spaces where the author never did);
* ``…`` or ``...`` in a quote marks an omission: the parts around it must occur in the
  document in that order, with anything in between;
* everything else must be exactly as written: case, punctuation, bullets (a dropped
  bullet is an omission and needs its ``…``).

A quote that is not found is an error naming the rule (its file, line and column) and the
closest passage of the document, with the first word that differs.

The document a routine quotes is named by its ``source.file``, a path relative to the
routine file; :func:`locate_source` also looks it up in search directories (``samverkan
validate --sources DIR``).

Examples:
    >>> doc = SourceText.from_text("Meddelandet skickas senast 2 vardagar\\n innan start.", "d.txt")
    >>> doc.contains("Meddelandet skickas senast 2 vardagar innan start.")
    True
    >>> doc.contains("Meddelandet skickas … innan start.")
    True
    >>> doc.contains("Meddelandet skickas senast 3 vardagar innan start.")
    False
    >>> doc.closest("Meddelandet skickas senast 3 vardagar innan start.")
    ('Meddelandet skickas senast 2 vardagar innan start.', '3', '2')
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from samverkan_rules.diagnostics import N_, Diagnostic, Message, mask_personal_numbers
from samverkan_rules.language.models.base import Interpretation, Source
from samverkan_rules.language.models.routine import Routine
from samverkan_rules.language.yaml import YamlDocument
from samverkan_rules.language.yaml_core import PathPart

_SPACE = re.compile(r"\s+")


_OMISSION = re.compile(r"\s*(?:…|\.\.\.)\s*")


def normalise(text: str) -> str:
    """Collapse every run of whitespace (line breaks, tabs, no-break spaces) to one space.

    Examples:
        >>> normalise("  senast 2\\n\\nvardagar \\t innan ")
        'senast 2 vardagar innan'
    """
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class SourceText:
    """A source document's text, normalised once for many look-ups.

    Attributes:
        name: How messages name the document (its file name).
        text: The normalised text.
    """

    name: str
    text: str

    @classmethod
    def from_text(cls, text: str, name: str) -> SourceText:
        """Normalise a document's raw text."""
        return cls(name, normalise(text))

    def contains(self, quote: str) -> bool:
        """True when ``quote`` occurs in the document, ``…``/``...`` matching an omission."""
        wanted = normalise(quote)
        if not wanted:
            return True
        if wanted in self.text:
            return True
        return self._missing_part(wanted) is None

    def _missing_part(self, wanted: str) -> str | None:
        """The first part (between omissions) not found after the previous one, or None."""
        start = 0
        for part in _parts(wanted):
            found = self.text.find(part, start)
            if found < 0:
                return part
            start = found + len(part)
        return None

    def closest(self, quote: str) -> tuple[str, str | None, str | None]:
        """The passage most like the part of ``quote`` that is not found.

        Returns:
            The passage, the first word of the quote that differs from it and the
            document's word in its place (None when the difference is not one word).
        """
        wanted = normalise(quote)
        part = self._missing_part(wanted) or wanted
        words = self.text.split(" ")
        mine = part.split(" ")
        matcher = difflib.SequenceMatcher(None, words, mine, autojunk=False)
        a, b, size = matcher.find_longest_match(0, len(words), 0, len(mine))
        if size == 0:
            return "", None, None
        begin = max(a - b, 0)
        passage = words[begin : begin + len(mine)]
        for theirs, ours in zip(passage, mine, strict=False):
            if theirs != ours:
                return " ".join(passage), ours, theirs
        return " ".join(passage), None, None


def _parts(quote: str) -> Iterator[str]:
    for part in _OMISSION.split(quote):
        if part.strip():
            yield part.strip()


@dataclass(frozen=True)
class QuoteRef:
    """One quoted text of a routine and where it is written.

    Attributes:
        path: Where in the routine, e.g. ``("rules", 3, "source", "quote")``.
        owner: What it belongs to, for messages, e.g. ``rule 'start-message'``.
        text: The quoted words.
    """

    path: tuple[PathPart, ...]
    owner: Message
    text: str


def quotes_of(routine: Routine) -> list[QuoteRef]:
    """Every quote of the source document in a routine, in document order.

    Rule, precondition and queue sources, every interpretation's ``text`` and every
    omission's quote.
    """
    out: list[QuoteRef] = []

    def add(base: tuple[PathPart, ...], owner: Message, source: Source | None) -> None:
        if source is not None:
            out.append(QuoteRef((*base, "source", "quote"), owner, source.quote))

    def interp(base: tuple[PathPart, ...], owner: Message, value: Interpretation | None) -> None:
        if value is not None and value.text:
            out.append(QuoteRef((*base, "text"), owner, value.text))

    for key, value in routine.interpretations.items():
        interp(("interpretations", key), N_("interpretation {name}", name=repr(key)), value)
    for name, pre in routine.preconditions.items():
        add(("preconditions", name), N_("precondition {name}", name=repr(name)), pre.source)
    for i, rule in enumerate(routine.rules):
        owner: Message = N_("rule {name}", name=repr(rule.id))
        add(("rules", i), owner, rule.source)
        interp(("rules", i, "interpretation"), owner, rule.interpretation)
        for j, pattern in enumerate(rule.cancelled_by):
            interp(("rules", i, "cancelled_by", j, "interpretation"), owner, pattern.interpretation)
        if rule.before is not None:
            interp(("rules", i, "before", "interpretation"), owner, rule.before.interpretation)
    for name, queue in routine.queues.items():
        owner = N_("queue {name}", name=repr(name))
        add(("queues", name), owner, queue.source)
        interp(("queues", name, "interpretation"), owner, queue.interpretation)
    for i, omission in enumerate(routine.omissions):
        out.append(QuoteRef(("omissions", i, "quote"), f"omissions[{i}]", omission.quote))
    return out


def check_quotes(routine: Routine, doc: YamlDocument, source: SourceText) -> list[Diagnostic]:
    """An error for every quote of ``routine`` that does not occur in ``source``.

    Args:
        routine: The routine (schema-valid).
        doc: Its YAML document, for the quotes' positions.
        source: The document it quotes.
    """
    out: list[Diagnostic] = []
    for ref in quotes_of(routine):
        if source.contains(ref.text):
            continue
        passage, ours, theirs = source.closest(ref.text)
        what = N_("interpretation text") if ref.path[-1] == "text" else N_("quote")
        if not passage:
            hint = N_("copy the words from the document; mark a left-out part with '…'")
        elif ours is not None and theirs is not None:
            hint = N_(
                'the closest passage is "{passage}" (the document has {theirs} where the quote '
                "has {ours}); copy the words exactly and mark a left-out part with '…'",
                passage=_shorten(passage),
                theirs=mask_personal_numbers(repr(theirs)),
                ours=mask_personal_numbers(repr(ours)),
            )
        else:
            hint = N_(
                'the closest passage is "{passage}"; copy the words exactly and mark a left-out '
                "part with '…'",
                passage=_shorten(passage),
            )
        out.append(
            doc.diagnostic(
                ref.path,
                "routine.quote-not-in-source",
                N_(
                    "{owner}: the {what} is not in the source document {name}",
                    owner=ref.owner,
                    what=what,
                    name=source.name,
                ),
                hint=hint,
            )
        )
    return out


def _shorten(text: str, limit: int = 160) -> str:
    text = mask_personal_numbers(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def locate_source(
    routine_file: str | os.PathLike[str] | None,
    declared: str,
    search: Sequence[str | os.PathLike[str]] = (),
) -> Path | None:
    """Find the source document a routine names in ``source.file``.

    Tried in order: the path relative to the routine file's directory, then in each search
    directory the path as written and its bare file name.

    Args:
        routine_file: The routine file (None for a routine given as text).
        declared: Its ``source.file``.
        search: Directories to look in as well.

    Returns:
        The first existing file, or None.
    """
    candidates: list[Path] = []
    if routine_file is not None:
        candidates.append(Path(routine_file).parent / declared)
    for directory in search:
        candidates += [Path(directory) / declared, Path(directory) / Path(declared).name]
    found = (Path(os.path.normpath(c)) for c in candidates)
    return next((c for c in found if c.is_file()), None)


def similar_sources(routine_file: str | os.PathLike[str], declared: str) -> list[str]:
    """Files beside where ``declared`` points that are named nearly like it (did you mean).

    Each is written as ``source.file`` would name it (relative to the routine), best first.

    Examples:
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     sources = pathlib.Path(d, "sources")
        ...     sources.mkdir()
        ...     _ = (sources / "rutin-2014.txt").write_text("", encoding="utf-8")
        ...     similar_sources(pathlib.Path(d, "r.yaml"), "sources/rutin-2041.txt")
        ['sources/rutin-2014.txt']
    """
    wanted = PurePosixPath(declared.replace("\\", "/"))
    directory = Path(routine_file).parent / wanted.parent
    try:
        names = sorted(p.name for p in directory.iterdir() if p.is_file())
    except OSError:
        return []
    close = difflib.get_close_matches(wanted.name, names, n=3, cutoff=0.6)
    return [str(wanted.parent / name) if str(wanted.parent) != "." else name for name in close]


def read_source(path: str | os.PathLike[str]) -> SourceText:
    """Read a source document (UTF-8) for quote look-ups.

    Raises:
        OSError: when it cannot be read.
        UnicodeDecodeError: when it is not UTF-8 text.
    """
    p = Path(path)
    return SourceText.from_text(p.read_text(encoding="utf-8-sig"), p.name)
