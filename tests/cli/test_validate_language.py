"""``samverkan validate`` in the reader's language, and the diagnostics policy authors read.

Swedish by default, English with ``--lang en``; the machine ``code`` of every finding and the
shape of the JSON are the same in both. The routines under ``tests/invalid/`` are the
fixtures: each is a copy of ``tests/fixtures/minimal.yaml`` with one mistake.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract

from samverkan_rules.cli import main
from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.i18n import translator
from samverkan_rules.routine.load import check_routine_file
from tests.support import INVALID, ROOT
from tests.test_i18n import _entries, _read_po

PACKAGE = ROOT / "samverkan_rules"
TODAY = "2026-01-01"  # before the fixtures' review_by, so no review warning


def validate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["validate", "--today", TODAY, *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out


def validate_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    _code, out = validate(capsys, "--format", "json", *argv)
    data: dict[str, Any] = json.loads(out)
    return data


def errors(path: Path) -> list[Diagnostic]:
    return [d for d in check_routine_file(path).diagnostics if d.is_error]


@pytest.fixture(autouse=True)
def _no_language_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)


# Swedish by default, English on request --------------------------------------------------


def test_swedish_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = validate(capsys, str(INVALID / "unknown-role.yaml"))
    assert code == 1
    assert "okänd roll 'handlagare'. Tips: menade du 'handlaggare'?" in out
    assert "varning: source.file: källdokumentet 'test.txt' finns inte" in out
    assert out.rstrip().endswith("1 rutin(er) kontrollerade: 0 giltiga, 1 med fel, 1 varning(ar)")
    assert "unknown role" not in out and "Hint" not in out


def test_english_with_lang_en(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = validate(capsys, "--lang", "en", str(INVALID / "unknown-role.yaml"))
    assert code == 1
    assert "unknown role 'handlagare'. Hint: did you mean 'handlaggare'?" in out
    assert "warning: source.file: the source document 'test.txt' is not found" in out
    assert out.rstrip().endswith("1 routine(s) checked: 0 valid, 1 with errors, 1 warning(s)")


def test_the_environment_chooses_without_lang(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    assert "unknown role" in validate(capsys, str(INVALID / "unknown-role.yaml"))[1]
    assert "okänd roll" in validate(capsys, "--lang", "sv", str(INVALID / "unknown-role.yaml"))[1]


@pytest.mark.parametrize(
    ("name", "swedish", "english"),
    [
        ("unknown-channel.yaml", "okänd kanal 'brevlad'", "unknown channel 'brevlad'"),
        ("yaml-tab.yaml", "indentera med mellanslag", "indent with spaces"),
        (
            "duplicate-yaml-key.yaml",
            "nyckeln 'label' finns två gånger, först definierad på rad 20",
            "duplicate key 'label', first defined on line 20",
        ),
        (
            "wrong-type-working-days.yaml",
            "värdet ska vara ett heltal",
            "Input should be a valid integer",
        ),
        (
            "time-before-and-after.yaml",
            "ange exakt en av 'before', 'after' eller 'at'",
            "give exactly one of 'before', 'after' or 'at'",
        ),
        ("secret-pin-in-channel.yaml", "ser ut som ett lösenord", "looks like a password"),
    ],
)
def test_invalid_routines_in_both_languages(
    capsys: pytest.CaptureFixture[str], name: str, swedish: str, english: str
) -> None:
    code_sv, out_sv = validate(capsys, str(INVALID / name))
    code_en, out_en = validate(capsys, "--lang", "en", str(INVALID / name))
    assert code_sv == code_en == 1
    assert swedish in out_sv and english not in out_sv
    assert english in out_en and swedish not in out_en


@pytest.mark.parametrize("name", ["unknown-role.yaml", "three-errors.yaml", "yaml-tab.yaml"])
def test_json_has_the_same_shape_and_codes_in_both_languages(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    sv = validate_json(capsys, str(INVALID / name))
    en = validate_json(capsys, "--lang", "en", str(INVALID / name))

    def shape(data: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [
            (d["level"], d["code"], d.get("line"), d.get("column"), d.get("path"), sorted(d))
            for r in data["routines"]
            for d in r["diagnostics"]
        ]

    assert shape(sv) == shape(en) != []
    assert sv["summary"] == en["summary"]
    messages = [
        (a["message"], b["message"])
        for a, b in zip(
            sv["routines"][0]["diagnostics"], en["routines"][0]["diagnostics"], strict=True
        )
    ]
    assert all(s != e for s, e in messages)  # every message is translated


def test_json_is_swedish_without_lang_whatever_the_locale(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like the other commands' JSON: the same inputs give the same data on every machine."""
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    data = validate_json(capsys, str(INVALID / "unknown-role.yaml"))
    (error,) = [d for d in data["routines"][0]["diagnostics"] if d["level"] == "error"]
    assert error["message"] == "okänd roll 'handlagare'"
    assert error["code"] == "routine.unknown-role"
    assert error["path"] == "rules[0].action.responsible"  # the path itself is not reworded


# (a) a date that does not exist ---------------------------------------------------------


def test_a_date_that_does_not_exist_says_which_day(capsys: pytest.CaptureFixture[str]) -> None:
    (error,) = errors(INVALID / "february-30.yaml")
    assert error.message == "February 30 does not exist"
    assert error.hint == "the last day of February 2026 is 2026-02-28"
    assert "YYYY-MM-DD" not in error.format()
    _code, out = validate(capsys, str(INVALID / "february-30.yaml"))
    assert (
        "valid_from: 30 februari finns inte. Tips: sista dagen i februari 2026 är 2026-02-28"
        in (out)
    )


@pytest.mark.parametrize(
    ("written", "english", "swedish"),
    [
        ("2027-02-29", "February 29 does not exist in 2027, which is no leap year", "29 februari"),
        ("2026-04-31", "April 31 does not exist", "31 april finns inte"),
        ("2026-13-01", "there is no month 13", "det finns ingen månad 13"),
        ("2026-01-32", "there is no day 32 in any month", "ingen månad har någon dag 32"),
    ],
)
def test_impossible_dates(tmp_path: Path, written: str, english: str, swedish: str) -> None:
    text = (INVALID / "february-30.yaml").read_text(encoding="utf-8")
    path = tmp_path / "r.yaml"
    path.write_text(text.replace("2026-02-30", written), encoding="utf-8")
    (error,) = errors(path)
    assert error.message == english
    assert swedish in error.translated(translator("sv")).message


def test_a_leap_day_that_exists_is_no_error(tmp_path: Path) -> None:
    text = (INVALID / "february-30.yaml").read_text(encoding="utf-8")
    path = tmp_path / "r.yaml"
    path.write_text(text.replace("2026-02-30", "2028-02-29"), encoding="utf-8")
    assert errors(path) == []


# (b) one misspelt key, one error ----------------------------------------------------------


def test_a_misspelt_required_key_is_one_error_with_did_you_mean(
    capsys: pytest.CaptureFixture[str],
) -> None:
    (error,) = errors(INVALID / "misspelt-required-key.yaml")
    assert error.code == "schema.extra_forbidden"
    assert error.path == "titel"
    assert error.message == "unknown key 'titel'"
    assert error.hint == "did you mean 'title'? That key is required and missing"
    _code, out = validate(capsys, str(INVALID / "misspelt-required-key.yaml"))
    assert "okänd nyckel 'titel'. Tips: menade du 'title'? Den nyckeln är obligatorisk" in out
    assert "saknas. Tips: lägg till den" not in out


def test_a_missing_key_with_no_misspelling_beside_it_is_still_reported(tmp_path: Path) -> None:
    text = (INVALID / "misspelt-required-key.yaml").read_text(encoding="utf-8")
    path = tmp_path / "r.yaml"
    path.write_text(text.replace("titel: ", "organisation_unit: "), encoding="utf-8")
    found = {(d.code, d.path) for d in errors(path)}
    assert found == {
        ("schema.extra_forbidden", "organisation_unit"),
        ("schema.missing", "title"),
    }


# (c) rules named by id and place ----------------------------------------------------------


def test_rules_are_named_by_id_and_place(capsys: pytest.CaptureFixture[str]) -> None:
    _code, sv = validate(capsys, str(INVALID / "unknown-role.yaml"))
    _code, en = validate(capsys, "--lang", "en", str(INVALID / "unknown-role.yaml"))
    assert ':57:7: regel "reply" (rules[0].action.responsible): okänd roll' in sv
    assert ':57:7: rule "reply" (rules[0].action.responsible): unknown role' in en
    assert ": source.file:" in en  # paths outside the rules are as before


def test_a_rule_is_named_even_when_the_schema_stops_the_routine(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _code, out = validate(capsys, "--lang", "en", str(INVALID / "wrong-type-working-days.yaml"))
    assert 'rule "reply" (rules[0].deadline.working_days): Input should be a valid integer' in out


# (d) what waits for the errors to be fixed ------------------------------------------------


@pytest.mark.parametrize("name", ["yaml-tab.yaml", "misspelt-required-key.yaml"])
def test_a_closing_line_says_further_checks_wait(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    _code, sv = validate(capsys, str(INVALID / name))
    _code, en = validate(capsys, "--lang", "en", str(INVALID / name))
    assert f"{INVALID / name}: fler kontroller" in sv
    assert "görs när de här felen är rättade" in sv
    assert f"{INVALID / name}: further checks" in en
    assert "wait until these errors are fixed" in en


def test_no_closing_line_when_the_meaning_was_checked(capsys: pytest.CaptureFixture[str]) -> None:
    _code, out = validate(capsys, "--lang", "en", str(INVALID / "unknown-role.yaml"))
    assert "further checks" not in out


# every message translated -----------------------------------------------------------------


def _diagnostic_templates() -> set[str]:
    """Every message id the package marks with ``N_``: the diagnostics' templates."""
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        with path.open("rb") as stream:
            for _line, message, _comments, _context in extract(
                "python", stream, keywords={"N_": None}
            ):
                found.add(message if isinstance(message, str) else message[0])
    return found


# Templates whose Swedish is the same text: only placeholders, codes and shared words.
_SAME_IN_SWEDISH = {"info", "{field} {message}", "data.{fname} {problem}"}
_OK_LINE = "{file}: ok ({id} version {version})"


def test_every_diagnostic_template_has_a_swedish_translation() -> None:
    templates = _diagnostic_templates()
    assert len(templates) > 300
    swedish = {msgid: forms[0] for (_ctx, msgid), forms in _entries(_read_po("sv")).items()}
    missing = sorted(t for t in templates if not swedish.get(t))
    assert missing == []
    english_left = sorted(
        t for t in templates if swedish[t] == t and t not in _SAME_IN_SWEDISH | {_OK_LINE}
    )
    assert english_left == []


def test_english_words_are_not_left_in_the_swedish_diagnostics() -> None:
    """A cheap guard against a half-translated sentence: no common English word survives."""
    english = re.compile(r"\b(the|is|must|should|not|and|write|use|give)\b")
    swedish = {msgid: forms[0] for (_ctx, msgid), forms in _entries(_read_po("sv")).items()}
    leftovers = {}
    for template in _diagnostic_templates():
        # Keys, codes and examples in quotes are the routine language itself, not prose.
        prose = re.sub(r"'[^']*'|\"[^\"]*\"|\{[^}]*\}|\[[^\]]*\]", "", swedish[template])
        if english.search(prose):
            leftovers[template] = swedish[template]
    assert leftovers == {}


@pytest.mark.parametrize("path", sorted(INVALID.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_finding_on_the_invalid_routines_is_translatable(path: Path) -> None:
    sv = translator("sv")
    for d in check_routine_file(path).diagnostics:
        assert d.text is not None, d.format()
        assert d.hint is None or d.hint_text is not None, d.format()
        assert d.translated(translator("en")) == d  # English is the text it was made with
        assert d.translated(sv).code == d.code
