"""Quotes checked against their source documents (``samverkan validate`` and ``--source``)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from samverkan_rules.cli import main
from samverkan_rules.language.models.routine import Routine
from samverkan_rules.language.sources import SourceText, check_quotes, locate_source, quotes_of
from samverkan_rules.language.yaml import load_yaml_file
from samverkan_rules.routine.load import check_routine_file, routine_files
from tests.support import FIXTURES, ROOT, ROUTINES

MINIMAL = FIXTURES / "minimal.yaml"
BUNDLED = sorted(routine_files([ROUTINES]))

DOCUMENT = """\
Remisser

Remissen besvaras inom två
vardagar.   Svaret skickas till
mottagaren i Treserva.
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def routine_beside_document(tmp_path: Path, quote: str | None = None) -> Path:
    """The minimal routine, with ``quote`` as its rule's quote, next to its document."""
    text = MINIMAL.read_text(encoding="utf-8")
    if quote is not None:
        text = text.replace("quote: Remissen besvaras inom två vardagar.", f"quote: {quote}")
    (tmp_path / "test.txt").write_text(DOCUMENT, encoding="utf-8")
    path = tmp_path / "routine.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    "quote",
    [
        "Remissen besvaras inom två vardagar.",
        "Remissen  besvaras\ninom två vardagar. Svaret skickas",  # whitespace normalised
        "Remissen besvaras … till mottagaren i Treserva.",
        "Remissen besvaras ... i Treserva.",
        "… inom två vardagar.",
    ],
)
def test_found(quote: str) -> None:
    assert SourceText.from_text(DOCUMENT, "d.txt").contains(quote)


@pytest.mark.parametrize(
    "quote",
    [
        "Remissen besvaras inom tre vardagar.",  # one word changed
        "remissen besvaras inom två vardagar.",  # case matters
        "Svaret skickas … Remissen besvaras",  # parts out of order
        "Remissen besvaras inom två vardagar. Svaret skickas till hemvården",
    ],
)
def test_not_found(quote: str) -> None:
    assert not SourceText.from_text(DOCUMENT, "d.txt").contains(quote)


def test_closest_passage_names_the_differing_word() -> None:
    doc = SourceText.from_text(DOCUMENT, "d.txt")
    passage, ours, theirs = doc.closest("Remissen besvaras … Svaret skickas till brukaren i")
    assert passage == "Svaret skickas till mottagaren i"
    assert (ours, theirs) == ("brukaren", "mottagaren")


def test_a_long_document_is_searched_quickly() -> None:
    words = [f"ord{i}" for i in range(20_000)]
    doc = SourceText.from_text(" ".join(words), "long.txt")
    quote = " ".join(words[15_000:15_040]).replace("ord15020", "fel")
    started = time.process_time()  # CPU time: other work on the machine must not count
    for _ in range(20):
        assert not doc.contains(quote)
        passage, ours, theirs = doc.closest(quote)
    assert time.process_time() - started < 5.0  # a quadratic search takes minutes
    assert (ours, theirs) == ("fel", "ord15020")
    assert passage.startswith("ord15000 ")


def test_every_kind_of_quote_is_checked() -> None:
    doc = load_yaml_file(ROUTINES / "katrineholm-hemtjanst-vardcentral.yaml")
    routine = Routine.model_validate(doc.data)
    paths = {ref.path[0] for ref in quotes_of(routine)}
    assert paths == {"interpretations", "preconditions", "rules", "omissions"}


def test_an_omission_is_quote_checked_like_a_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = routine_beside_document(tmp_path)
    text = path.read_text(encoding="utf-8")
    listed = "omissions:\n  - quote: Svaret skickas till mottagaren i Treserva.\n"
    listed += "    reason: Ingen händelse registrerar vart svaret skickas.\n"
    path.write_text(text + listed, encoding="utf-8")
    code, out, _ = run(capsys, "validate", "--lang", "en", str(path))
    assert code == 0, out
    path.write_text(text + listed.replace("Treserva", "Lifecare"), encoding="utf-8")
    code, out, _ = run(capsys, "validate", "--lang", "en", str(path))
    assert code == 1
    assert "omissions[0].quote: omissions[0]: the quote is not in the source document" in out


# --------------------------------------------------------------------------- locating


def test_source_is_found_beside_the_routine_or_in_a_search_directory(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("x", encoding="utf-8")
    routine = tmp_path / "r" / "routine.yaml"
    assert locate_source(routine, "../docs/a.txt") == tmp_path / "docs" / "a.txt"
    assert locate_source(routine, "seeds/a.txt", [tmp_path / "docs"]) == tmp_path / "docs" / "a.txt"
    assert locate_source(routine, "a.txt") is None


# --------------------------------------------------------------------------- the command


def test_validate_checks_quotes_against_the_document_beside_the_routine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = routine_beside_document(
        tmp_path, ">-\n        Remissen besvaras inom\n        två vardagar."
    )
    code, out, _ = run(capsys, "validate", "--lang", "en", str(path))
    assert code == 0, out
    assert "routine.yaml: ok (test-minimal version 1)" in out
    assert "not in the source document" not in out


def test_one_changed_word_is_an_error_naming_the_rule_and_the_closest_passage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = routine_beside_document(tmp_path, "Remissen besvaras inom tre vardagar.")
    line = next(
        n
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "quote:" in text
    )
    code, out, _ = run(capsys, "validate", "--lang", "en", str(path))
    assert code == 1
    assert (
        f"{path}:{line}:7: rule \"reply\" (rules[0].source.quote): rule 'reply': the quote is "
        "not in"
    ) in out
    assert 'closest passage is "Remissen besvaras inom två vardagar."' in out
    assert "the document has 'två' where the quote has 'tre'" in out
    assert "0 valid, 1 with errors" in out


def test_source_option_names_the_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = routine_beside_document(tmp_path)
    other = tmp_path / "other.txt"
    other.write_text("Remissen besvaras inom fem vardagar.", encoding="utf-8")
    code, out, _ = run(capsys, "validate", "--lang", "en", str(path), "--source", str(other))
    assert code == 1
    assert "not in the source document other.txt" in out
    code, _, err = run(
        capsys, "validate", "--lang", "en", str(path), "--source", str(tmp_path / "nope.txt")
    )
    assert code == 2
    assert "--source" in err and "nope.txt" in err


def test_a_missing_document_is_a_warning_naming_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = routine_beside_document(tmp_path)
    (tmp_path / "test.txt").unlink()
    code, out, _ = run(capsys, "validate", "--lang", "en", str(path))
    assert code == 0
    assert (
        f"warning: source.file: the source document 'test.txt' is not found at "
        f"{tmp_path / 'test.txt'}; the quotes were not checked" in out
    )
    assert "1 valid, 0 with errors" in out
    code, out, _ = run(capsys, "validate", "--lang", "en", str(path), "--sources", str(tmp_path))
    assert code == 0
    assert f"nor in {tmp_path}" in out


def _document_in_sources(tmp_path: Path, other: str, declared: str) -> tuple[Path, str]:
    """A routine whose document is ``sources/rutin-2014.txt``, with the file ``other`` beside
    it, naming ``declared`` as its ``source.file``; the routine's path and original text."""
    path = routine_beside_document(tmp_path)
    (tmp_path / "sources").mkdir()
    (tmp_path / "test.txt").rename(tmp_path / "sources" / "rutin-2014.txt")
    (tmp_path / "sources" / other).write_text("Annat.", encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("file: test.txt", f"file: {declared}"), "utf-8")
    return path, text


def test_a_misspelt_source_file_suggests_the_files_beside_it_and_fails_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, text = _document_in_sources(tmp_path, "annat.txt", "sources/rutin-2041.txt")
    code, out, _ = run(capsys, "validate", "--lang", "en", str(path))
    assert code == 0
    assert "warning: source.file: the source document 'sources/rutin-2041.txt'" in out
    assert "Hint: did you mean 'sources/rutin-2014.txt'?" in out
    code, out, _ = run(capsys, "validate", "--lang", "en", "--strict", str(path))
    assert code == 1
    assert f"{path}:9:3: source.file: the source document 'sources/rutin-2041.txt'" in out
    assert "0 valid, 1 with errors" in out
    # Spelt right, the quotes are checked and --strict passes.
    path.write_text(text.replace("file: test.txt", "file: sources/rutin-2014.txt"), "utf-8")
    code, out, _ = run(capsys, "validate", "--lang", "en", "--strict", str(path))
    assert code == 0, out
    assert "source.file" not in out and "1 valid, 0 with errors" in out


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_routines_quote_their_documents(path: Path) -> None:
    check = check_routine_file(path)  # params and variants resolved, as validate reads them
    doc, routine = check.document, check.model
    assert doc is not None and routine is not None, [d.format() for d in check.diagnostics]
    source = locate_source(path, routine.source.file, [ROOT.parent / "shared" / "seeds"])
    if source is None:
        pytest.skip(f"the source document {routine.source.file} is not in this checkout")
    text = SourceText.from_text(source.read_text(encoding="utf-8"), source.name)
    assert [d.format() for d in check_quotes(routine, doc, text)] == []


def test_several_similar_source_files_are_listed_in_the_language_of_the_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = _document_in_sources(tmp_path, "rutin-2015.txt", "sources/rutin-201.txt")
    _, sv, _ = run(capsys, "validate", "--lang", "sv", str(path))
    _, en, _ = run(capsys, "validate", "--lang", "en", str(path))
    for out, words in ((sv, "Tips: menade du någon av "), (en, "Hint: did you mean one of ")):
        listed = out.split(words, 1)[1].split("?", 1)[0]
        assert sorted(listed.split(", ")) == [
            "'sources/rutin-2014.txt'",
            "'sources/rutin-2015.txt'",
        ]
    assert " or " not in sv
