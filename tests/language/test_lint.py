"""Warnings about declarations nothing uses and patterns that can never match."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from samverkan_rules.cli import main
from samverkan_rules.language.lint import interpretations, lint_routine
from samverkan_rules.language.sources import SourceText, check_quotes
from samverkan_rules.routine.load import check_routine_file, check_routine_text, routine_files
from tests.support import FIXTURES, ROUTINES

MINIMAL = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")
BUNDLED = sorted(routine_files([ROUTINES]))

PATTERN = """      - event: test.reply
        match: {data.refers_to: trigger.id}"""


def lint(text: str) -> list[tuple[str, str | None]]:
    check = check_routine_text(text, file="r.yaml")
    assert check.ok and check.routine is not None and check.document is not None, [
        d.format() for d in check.diagnostics
    ]
    found = lint_routine(check.routine.routine, check.document, check.routine.event_types)
    assert all(d.level == "warning" and d.line for d in found)
    return [(d.code, d.path) for d in found]


def used(text: str) -> str:
    """The minimal routine with its precondition required, so that only the change warns."""
    return text.replace(
        "    when: {event: test.referral}",
        "    when: {event: test.referral}\n    requires: [samtycke]",
    )


def test_the_minimal_routine_uses_everything_it_declares() -> None:
    assert lint(used(MINIMAL)) == []
    assert lint(MINIMAL) == [("routine.unused-precondition", "preconditions.samtycke")]


def test_unused_declarations_are_named() -> None:
    text = used(MINIMAL)
    text = text.replace(
        "  mottagare:\n",
        "  ingen:\n    label: Ingen\n    unit: x\n  mottagare:\n",
    )
    text = text.replace(
        "channels:\n  brevlada:\n",
        "channels:\n  fax:\n    label: Fax\n    kind: phone\n  brevlada:\n",
    )
    text = text.replace(
        "  test.reply:\n",
        "  test.unused:\n    label: Oanvänd\n  test.reply:\n",
    )
    text = text.replace(
        "preconditions:\n",
        "  olast:\n    label: Oläst\n    set_by: [{event: test.reply}]\npreconditions:\n",
    )
    assert sorted(lint(text)) == [
        ("routine.unused-channel", "channels.fax"),
        ("routine.unused-event-type", "event_types.test.unused"),
        ("routine.unused-fact", "facts.olast"),
        ("routine.unused-role", "roles.ingen"),
    ]


def test_a_pattern_asking_one_field_for_two_values_never_matches() -> None:
    text = used(MINIMAL).replace(
        PATTERN,
        PATTERN
        + "\n        if: {all: [{field: data.refers_to, equals: a},"
        + " {field: data.refers_to, in: [b, c]}]}",
    )
    assert lint(text) == [
        ("routine.pattern-never-matches", "rules[0].fulfilled_by[0]"),
        ("routine.unfulfillable-rule", "rules[0].fulfilled_by"),
    ]


def test_a_match_between_a_date_and_an_event_id_never_matches() -> None:
    text = used(MINIMAL).replace(
        PATTERN,
        PATTERN.replace("trigger.id", "trigger.data.due_date")
        + "\n    cancelled_by:\n      - event: test.reply",
    )
    # The cancellation can still happen, so the rule is not unfulfillable.
    assert lint(text) == [("routine.pattern-never-matches", "rules[0].fulfilled_by[0]")]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_routines_have_no_lint_warnings(path: Path) -> None:
    check = check_routine_file(path)
    assert check.routine is not None and check.document is not None
    found = lint_routine(check.routine.routine, check.document, check.routine.event_types)
    assert [d.format() for d in found] == []


def test_validate_lists_interpretations(capsys: pytest.CaptureFixture[str]) -> None:
    path = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
    assert main(["validate", "--lang", "en", str(path), "--interpretations"]) == 0
    out = capsys.readouterr().out
    check = check_routine_file(path)
    assert check.model is not None
    count = len(interpretations(check.model))
    assert count > 0
    assert f"{path}: {count} interpretation(s)" in out
    assert "rule 'consent-at-enrolment' «Vid inskrivning»" in out
    assert (
        main(["validate", "--lang", "en", str(path), "--interpretations", "--format", "json"]) == 0
    )
    [routine] = json.loads(capsys.readouterr().out)["routines"]
    assert len(routine["interpretations"]) == count
    assert routine["interpretations"][1]["path"] == "rules[0].interpretation"


def test_validate_prints_lint_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert main(["validate", "--lang", "en", str(path)]) == 0
    out = capsys.readouterr().out
    assert "warning: preconditions.samtycke: precondition 'samtycke' is declared but no rule" in out


def test_a_kind_written_once_and_nearly_like_another_is_flagged() -> None:
    kinds = "\n".join(
        f"      - event: message.sent\n        if: {{field: data.kind, equals: {k}}}"
        for k in ("closure", "closure", "closre", "start")
    )
    text = used(MINIMAL).replace(PATTERN, PATTERN + "\n" + kinds)
    check = check_routine_text(text, file="r.yaml")
    assert check.routine is not None and check.document is not None
    found = lint_routine(check.routine.routine, check.document, check.routine.event_types)
    assert [(d.code, d.path, d.hint) for d in found] == [
        ("routine.similar-literal", "rules[0].fulfilled_by[3].if.equals", "did you mean 'closure'?")
    ]


CANCEL = "    cancelled_by:\n      - event: test.referral\n"


def with_cancel(extra: str = "") -> str:
    """The minimal routine whose rule is cancelled by a later referral, plus ``extra``."""
    return used(MINIMAL).replace("    source:\n", CANCEL + extra + "    source:\n", 1)


def test_a_cancel_by_the_triggers_own_type_without_match_is_flagged() -> None:
    assert lint(with_cancel()) == [("routine.uncorrelated-cancel", "rules[0].cancelled_by[0]")]


@pytest.mark.parametrize(
    "extra",
    [
        "        match: {data.due_date: trigger.data.due_date}\n",
        "        interpretation:\n          reason: En ny remiss ersätter alltid den förra.\n",
    ],
    ids=["match", "interpretation"],
)
def test_a_correlated_or_justified_cancel_is_not_flagged(extra: str) -> None:
    assert lint(with_cancel(extra)) == []


def test_a_cancel_by_another_type_without_match_is_not_flagged() -> None:
    text = used(MINIMAL).replace(
        "    source:\n", "    cancelled_by:\n      - event: consent.withdrawn\n    source:\n", 1
    )
    assert lint(text) == []


def test_a_cancels_interpretation_is_listed_and_its_text_quote_checked() -> None:
    reason = "En ny remiss ersätter alltid den förra."
    text = with_cancel(
        f"        interpretation:\n          text: ersätter allt\n          reason: {reason}\n"
    )
    check = check_routine_text(text, file="r.yaml")
    assert check.model is not None
    [entry] = interpretations(check.model)
    assert entry.path == ("rules", 0, "cancelled_by", 0, "interpretation")
    assert (entry.text, entry.reason) == ("ersätter allt", reason)
    assert check.document is not None
    source = SourceText.from_text("Remissen besvaras inom två vardagar.", "t.txt")
    [problem] = check_quotes(check.model, check.document, source)
    assert problem.path == "rules[0].cancelled_by[0].interpretation.text"
    assert problem.code == "routine.quote-not-in-source"


def code_warnings(text: str) -> list[tuple[str | None, str]]:
    """The ``routine.code-in-prose`` warnings of a routine: path and the English message."""
    check = check_routine_text(text, file="r.yaml")
    assert check.routine is not None and check.document is not None
    found = lint_routine(check.routine.routine, check.document, check.routine.event_types)
    return [(d.path, d.message) for d in found if d.code == "routine.code-in-prose"]


INTERPRETED = (
    "    interpretation:\n      text: inom två vardagar\n      reason: {reason}\n    source:\n"
)


@pytest.mark.parametrize(
    ("reason", "tokens"),
    [
        ("Svaret registreras som test.reply med refers_to remissen.", "'test.reply', 'refers_to'"),
        ("Fristen räknas från data.due_date.", "'data.due_date'"),
        ("Som regeln `reply` säger.", "'`reply`'"),
        ("Samma som i regeln reply-later.", "'reply-later'"),
    ],
)
def test_code_in_an_interpretation_is_flagged(reason: str, tokens: str) -> None:
    text = used(MINIMAL).replace("    source:\n", INTERPRETED.format(reason=reason), 1)
    text = text.replace("  - id: reply\n", "  - id: reply-later\n") if "later" in reason else text
    assert code_warnings(text) == [
        ("rules[0].interpretation.reason", f"staff read this text, but it holds code: {tokens}")
    ]


def test_code_in_a_title_and_a_content_line_is_flagged_and_named_in_words() -> None:
    text = used(MINIMAL).replace(
        "    title: Svara på remissen", "    title: Svara på test.referral"
    )
    text = text.replace(
        "      channel: brevlada\n", "      channel: brevlada\n      content: [svar på due_date]\n"
    )
    check = check_routine_text(text, file="r.yaml")
    assert check.routine is not None and check.document is not None
    found = lint_routine(check.routine.routine, check.document, check.routine.event_types)
    hints = {d.path: d.hint for d in found if d.code == "routine.code-in-prose"}
    assert hints == {
        "rules[0].title": "say it in words, e.g. with the names the routine gives: "
        "test.referral → Remiss",
        "rules[0].action.content[0]": "say in words what it means, as staff name it",
    }


def test_quotes_and_plain_swedish_are_not_flagged() -> None:
    reason = "Fristen gäller fr.o.m. 2014-03-03, t.ex. kl. 13.30 per e-post (se www.orebro.se)."
    text = used(MINIMAL).replace("    source:\n", INTERPRETED.format(reason=reason), 1)
    text = text.replace(
        "quote: Remissen besvaras", "quote: data.x och refers_to, Remissen besvaras"
    )
    assert code_warnings(text) == []


def test_code_in_prose_is_reported_in_swedish(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.yaml"
    reason = "Svaret registreras som test.reply."
    text = used(MINIMAL).replace("    source:\n", INTERPRETED.format(reason=reason), 1)
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "routine.code-in-prose" not in out
    assert "personalen läser den här texten, men den innehåller kod: 'test.reply'" in out
    assert "säg det med ord, t.ex. med namnen som rutinen ger: test.reply → Svar" in out
