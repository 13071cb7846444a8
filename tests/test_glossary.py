"""One word for each status and for an obligation, in every view staff read.

The staff glossary (``samverkan_rules.status.GLOSSARY``) is the only source: the catalogs'
status labels must be its words, and no Swedish text for staff (the catalog's translations
and the audit report's HTML template) may use a retired word or a status word the glossary
does not have.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from samverkan_rules.i18n import translator
from samverkan_rules.status import GLOSSARY, RETIRED, STATUSES, glossary_markdown, status_label

ROOT = Path(__file__).resolve().parents[1]
SV_PO = ROOT / "samverkan_rules" / "locale" / "sv" / "LC_MESSAGES" / "samverkan.po"
TEMPLATES = sorted((ROOT / "samverkan_rules" / "audit" / "templates").glob("*.j2"))


def _sv_texts() -> list[tuple[str, str]]:
    """Every Swedish translation, with where it comes from."""
    with SV_PO.open("rb") as f:
        catalog = read_po(f)
    out = []
    for message in catalog:
        if not message.id:
            continue
        strings = [message.string] if isinstance(message.string, str) else message.string
        out.extend((f"msgid {message.id!r}", s) for s in strings)
    out.extend((path.name, path.read_text("utf-8")) for path in TEMPLATES)
    return out


def _words(text: str) -> set[str]:
    return {w.casefold() for w in re.findall(r"\w+", text)}


def test_every_status_has_one_term_and_the_catalogs_use_it() -> None:
    keys = [t.key for t in GLOSSARY]
    assert keys[: len(STATUSES)] == list(STATUSES)
    assert len(keys) == len(set(keys))
    sv, en = translator("sv"), translator("en")
    for term in GLOSSARY[: len(STATUSES)]:
        assert status_label(term.key, sv) == term.sv
        assert status_label(term.key, en) == term.en


def test_no_staff_text_uses_a_retired_word() -> None:
    retired = {w.casefold() for w in RETIRED}
    found = [
        (where, sorted(_words(text) & retired))
        for where, text in _sv_texts()
        if _words(text) & retired
    ]
    assert not found, f"retired words in staff text: {found}"


def test_status_words_are_the_glossarys() -> None:
    # Forms a status has been written in; only the glossary's may appear.
    candidates = {
        "uppfyllt", "missade", "blockerat", "pågått", "genomförd", "genomförda",
        "utförd", "utförda", "fullgjord", "fullgjorda", "slutförd", "försenat",
    }  # fmt: skip
    allowed = {w.casefold() for t in GLOSSARY for w in _words(f"{t.sv} {t.sv_plural}")}
    outside = candidates - allowed
    found = [
        (where, sorted(_words(text) & outside))
        for where, text in _sv_texts()
        if _words(text) & outside
    ]
    assert not found, f"status words outside the glossary: {found}"


@pytest.mark.parametrize("word", RETIRED)
def test_the_check_would_catch_each_retired_word(word: str) -> None:
    assert word.casefold() in _words(f"Alla {word} i ärendet")


def test_swedish_text_has_swedish_quotes_and_times() -> None:
    for where, text in _sv_texts():
        if where.endswith(".j2"):
            continue
        assert "«" not in text and "»" not in text, where
        assert "“" not in text, where
        # A time for people is "kl. 13.30"; an ISO stamp (2026-12-28T13:30:00+01:00) or an
        # "HH:MM" field a policy author writes in YAML is input syntax, shown as written.
        plain = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)?", "", text)
        assert not re.search(r"\d\d:\d\d", plain) or _input_syntax(plain), (where, text)


def _input_syntax(text: str) -> bool:
    """Whether a message shows how a routine or event file writes a time (HH:MM)."""
    return "HH:MM" in text or "TT:MM" in text or any(mark in text for mark in "'\"”")


def test_docs_glossary_is_current() -> None:
    path = ROOT / "docs" / "glossary.md"
    assert path.read_text("utf-8") == glossary_markdown(), (
        "docs/glossary.md is out of date: write glossary_markdown() to it"
    )
