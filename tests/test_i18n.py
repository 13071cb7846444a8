"""The message catalogs and the language a reader gets (``samverkan_rules.i18n``)."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from samverkan_rules import phrases as explanations
from samverkan_rules.cli._common import add_lang_option, translator_from_args
from samverkan_rules.i18n import (
    LANGUAGES,
    LOCALE_DIR,
    language_from_environment,
    resolve_language,
    translator,
)
from tests.support import ROOT

PACKAGE = ROOT / "samverkan_rules"
PLACEHOLDER = re.compile(r"\{(\w+)\}")

Key = tuple[str | None, str]


def _read_po(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "samverkan.po").open("rb") as stream:
        return read_po(stream, locale=lang)


def _entries(catalog: Catalog) -> dict[Key, tuple[str, ...]]:
    """(context, msgid) -> the translated forms, for every message but the header."""
    out: dict[Key, tuple[str, ...]] = {}
    for m in catalog:
        if not m.id:
            continue
        msgid = m.id[0] if isinstance(m.id, (list, tuple)) else m.id
        forms = m.string if isinstance(m.string, (list, tuple)) else (m.string,)
        out[(m.context, msgid)] = tuple(forms)
    return out


def _source_messages() -> dict[Key, tuple[str, ...]]:
    """Every message the package's code asks for: (context, msgid) -> the English forms."""
    out: dict[Key, tuple[str, ...]] = {}
    for _file, _line, message, _comments, context in extract_from_dir(str(PACKAGE)):
        forms = tuple(message) if isinstance(message, tuple) else (message,)
        out[(context, forms[0])] = forms
    return out


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalog_is_current(lang: str) -> None:
    """The committed .mo holds exactly what its .po says (run pybabel compile if not)."""
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "samverkan.mo").open("rb") as stream:
        compiled = read_mo(stream)
    assert _entries(compiled) == _entries(_read_po(lang))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_holds_every_message_of_the_code_translated(lang: str) -> None:
    """No message the code asks for is missing or untranslated, and none is left over."""
    wanted = _source_messages()
    entries = _entries(_read_po(lang))
    assert sorted(set(wanted) - set(entries), key=str) == []
    assert sorted(set(entries) - set(wanted), key=str) == []
    untranslated = [key for key, forms in entries.items() if not all(forms)]
    assert untranslated == []


MACHINE_FORMS = {
    "Status as of {moment} ({as_of})": {"as_of"},
    "{label} ({status})": {"status"},
}
"""Placeholders a translation may leave out: the machine form beside the words (an ISO
instant, a status as the JSON names it), which English keeps for integrators and the Swedish
staff view does not show."""


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_placeholders(lang: str) -> None:
    """A translation with another placeholder than its msgid would raise in str.format."""
    wanted = _source_messages()
    for key, forms in _entries(_read_po(lang)).items():
        allowed = set().union(*(PLACEHOLDER.findall(f) for f in wanted[key]))
        optional = MACHINE_FORMS.get(key[1], set())
        for form in forms:
            used = set(PLACEHOLDER.findall(form))
            assert used <= allowed, (key, form)  # an unknown name would raise KeyError
            if len(wanted[key]) == 1:
                # nothing the reader needs is dropped
                assert used | optional == allowed, (key, form)


def test_swedish_staff_read_no_machine_forms() -> None:
    sv = translator("sv")
    assert sv.gettext("{label} ({status})").format(label="väntar", status="blocked") == "väntar"
    heading = sv.gettext("Status as of {moment} ({as_of})")
    assert heading.format(moment="tisdag", as_of="2026-12-15T12:00:00+01:00") == "Läget per tisdag"


def test_english_repeats_the_message_ids() -> None:
    for (_context, msgid), forms in _entries(_read_po("en")).items():
        assert forms[0] == msgid


def test_plural_forms() -> None:
    sv, en = translator("sv"), translator("en")
    one, many = "{n} working day", "{n} working days"
    assert [sv.ngettext(one, many, n).format(n=n) for n in (0, 1, 4)] == [
        "0 vardagar",
        "1 vardag",
        "4 vardagar",
    ]
    assert [en.ngettext(one, many, n).format(n=n) for n in (1, 4)] == [
        "1 working day",
        "4 working days",
    ]
    late = explanations.explain_fulfilled_late(
        sv, action="Skicka", late=1, event="f3", at="a", deadline="d", cause="c"
    )
    assert late == "Skicka: gjort 1 vardag för sent av f3 a (senast d); c."
    assert "vardag(ar)" not in late


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "sv"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "en"}, "en"),
        ({"LANG": "sv_SE.UTF-8"}, "sv"),
        ({"LANG": "C.UTF-8"}, "sv"),
        ({"LANG": "POSIX"}, "sv"),
        ({"LANG": "de_DE.UTF-8"}, "sv"),
        ({"LC_MESSAGES": "en_GB.UTF-8", "LANG": "sv_SE.UTF-8"}, "en"),
        ({"LC_ALL": "sv_SE.UTF-8", "LC_MESSAGES": "en_GB.UTF-8", "LANG": "en_US"}, "sv"),
        ({"LC_ALL": "", "LANG": "en_US.UTF-8"}, "en"),  # an empty variable does not count
    ],
)
def test_language_from_environment(environ: dict[str, str], expected: str) -> None:
    assert language_from_environment(environ) == expected


def test_explicit_language_wins_and_is_checked() -> None:
    assert resolve_language("sv", {"LC_ALL": "en_US.UTF-8"}) == "sv"
    assert resolve_language("en", {"LANG": "sv_SE.UTF-8"}) == "en"
    assert resolve_language(None, {"LANG": "en_US.UTF-8"}) == "en"
    with pytest.raises(ValueError, match="choose one of sv, en"):
        resolve_language("fi")


def test_translators_are_shared_and_immutable() -> None:
    sv = translator("sv")
    assert translator("sv") is sv
    assert sv.language == "sv" and translator("en_GB").language == "en"
    with pytest.raises(AttributeError):
        sv.language = "en"  # type: ignore[misc]


def test_catalogs_are_package_data() -> None:
    """A wheel carries the compiled catalogs: setuptools is told to include them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data = config["tool"]["setuptools"]["package-data"]["samverkan_rules"]
    assert "locale/*/LC_MESSAGES/*.mo" in data
    for lang in LANGUAGES:
        assert (LOCALE_DIR / lang / "LC_MESSAGES" / "samverkan.mo").is_file()


def test_lang_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = argparse.ArgumentParser()
    add_lang_option(parser)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert translator_from_args(parser.parse_args([])).language == "en"
    assert translator_from_args(parser.parse_args(["--lang", "sv"])).language == "sv"
    monkeypatch.setenv("LC_ALL", "sv_SE.UTF-8")
    assert translator_from_args(parser.parse_args([])).language == "sv"
    assert translator_from_args(parser.parse_args(["--lang", "en"])).language == "en"
    with pytest.raises(SystemExit):
        parser.parse_args(["--lang", "fi"])


def test_a_wheel_carries_the_compiled_catalogs(tmp_path: Path) -> None:
    """Built as pip builds it (setuptools' PEP 517 backend), the wheel holds both .mo files."""
    pytest.importorskip("setuptools", reason="building a wheel needs setuptools")
    # A copy of what the build reads, so no build/ directory is left in the checkout and no
    # stale one can add files the sources no longer have.
    source = tmp_path / "src"
    shutil.copytree(
        PACKAGE, source / "samverkan_rules", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    out = tmp_path / "dist"
    out.mkdir()
    script = (
        "import sys; from setuptools import build_meta; print(build_meta.build_wheel(sys.argv[1]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(out)],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = out / done.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for lang in LANGUAGES:
        assert f"samverkan_rules/locale/{lang}/LC_MESSAGES/samverkan.mo" in names
