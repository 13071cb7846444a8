"""Tests for the routine loader: every broken routine is reported, located and explained.

Each file under ``tests/invalid/`` is ``tests/fixtures/minimal.yaml`` with one thing broken
(``three-errors.yaml`` has three), and starts with ``# expect: <words>``: the words the
formatted diagnostics must contain.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from samverkan_rules import RoutineError, check_routine_file, load_routine, load_routine_text
from samverkan_rules.routine.load import check_routine_text
from tests.support import FIXTURES, INVALID

BROKEN = sorted(INVALID.glob("*.yaml"))
MINIMAL = FIXTURES / "minimal.yaml"


def expected_words(path: Path) -> list[str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: <words>'"
    return first.removeprefix("# expect: ").split()


def test_there_is_an_invalid_routine_for_each_kind_of_problem() -> None:
    assert {p.stem for p in BROKEN} >= {
        "unknown-role",
        "unknown-channel",
        "unknown-event-type-when",
        "unknown-event-type-fulfilled-by",
        "unknown-event-type-before",
        "before-any-case",
        "unknown-data-field",
        "unknown-fact",
        "duplicate-rule-id",
        "unknown-key-dealine",
        "wrong-type-working-days",
        "impossible-date",
        "valid-to-before-valid-from",
        "comparison-two-operators",
        "time-before-and-after",
        "anchor-optional-field",
        "anchor-non-date-field",
        "secret-pin-in-channel",
        "duplicate-yaml-key",
        "yaml-tab",
        "alias-bomb",
        "reports-to-cycle",
        "levels-up-beyond-hierarchy",
        "redefined-vocabulary-type",
        "unknown-precondition",
        "three-errors",
        "literal-not-an-enum-value",
        "literal-boolean-as-text",
        "literal-unknown-role",
        "literal-not-a-date",
    }


def test_the_base_of_the_invalid_routines_is_valid() -> None:
    check = check_routine_file(MINIMAL)
    assert check.ok, [d.format() for d in check.diagnostics]
    assert check.diagnostics == ()


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_invalid_routine_is_reported_with_its_location(path: Path) -> None:
    check = check_routine_file(path)  # must not raise
    assert not check.ok
    assert check.routine is None
    errors = [d for d in check.diagnostics if d.is_error]
    assert errors, "an invalid routine has at least one error"
    text = "\n".join(d.format() for d in check.diagnostics)
    missing = [word for word in expected_words(path) if word not in text]
    assert not missing, f"{missing} not in:\n{text}"
    first = errors[0]
    assert first.file == str(path)
    assert first.line is not None and first.line >= 1
    assert first.column is not None and first.column >= 1


def test_all_problems_of_a_file_are_reported_together() -> None:
    check = check_routine_file(INVALID / "three-errors.yaml")
    assert [(d.code, d.path) for d in check.diagnostics] == [
        ("routine.unknown-role", "rules[0].action.responsible"),
        ("routine.unknown-channel", "rules[0].action.channel"),
        ("routine.unknown-event-type", "rules[0].fulfilled_by[0].event"),
    ]


def line_and_column(path: Path, needle: str) -> tuple[int, int]:
    """1-based line and column where ``needle`` first occurs in ``path`` (after line 1, the
    ``# expect:`` comment)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines[1:], start=2):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in {path}")


@pytest.mark.parametrize(
    ("name", "needle", "path"),
    [
        ("unknown-role", "responsible: handlagare", "rules[0].action.responsible"),
        ("unknown-event-type-when", "event: test.refferal", "rules[0].when.event"),
        ("wrong-type-working-days", "working_days: two", "rules[0].deadline.working_days"),
        ("impossible-date", "valid_from: 2024-02-98", "valid_from"),
        ("unknown-key-dealine", "dealine:", "rules[0].dealine"),
        ("duplicate-yaml-key", "label: Mottagaren", "roles.mottagare.label"),
        ("yaml-tab", "\tkind", None),
    ],
)
def test_errors_point_at_the_offending_text(name: str, needle: str, path: str | None) -> None:
    file = INVALID / f"{name}.yaml"
    check = check_routine_file(file)
    located = [(d.line, d.column, d.path) for d in check.diagnostics]
    assert (*line_and_column(file, needle), path) in located


def test_valid_to_before_valid_from_points_at_valid_to() -> None:
    file = INVALID / "valid-to-before-valid-from.yaml"
    (error,) = check_routine_file(file).diagnostics
    assert (error.line, error.column) == line_and_column(file, "valid_to: 2019-12-31")
    assert error.path == "valid_to"


def test_load_routine_raises_routine_error_naming_file_line_and_column() -> None:
    file = INVALID / "unknown-role.yaml"
    line, column = line_and_column(file, "responsible: handlagare")
    with pytest.raises(RoutineError) as info:
        load_routine(file)
    assert f"{file}:{line}:{column}: rules[0].action.responsible" in str(info.value)
    assert [d.code for d in info.value.diagnostics] == ["routine.unknown-role"]


def test_load_routine_raises_routine_error_for_broken_yaml_too() -> None:
    file = INVALID / "duplicate-yaml-key.yaml"
    line, column = line_and_column(file, "label: Mottagaren")
    with pytest.raises(RoutineError) as info:
        load_routine(file)
    assert f"{file}:{line}:{column}:" in str(info.value)


def test_an_impossible_document_record_date_is_only_a_warning() -> None:
    text = MINIMAL.read_text(encoding="utf-8").replace(
        "\nsource:\n",
        "\ndocument_record:\n  established: 2024-02-98\n  edition: '2'\nsource:\n",
        1,
    )
    check = check_routine_text(text, file="record.yaml")
    assert check.ok
    assert [(d.level, d.code, d.path) for d in check.diagnostics] == [
        ("warning", "routine.document-date", "document_record.established")
    ]
    assert "'2024-02-98'" in check.diagnostics[0].message
    line = text.splitlines().index("  established: 2024-02-98") + 1
    assert check.diagnostics[0].line == line
    routine = load_routine_text(text, file="record.yaml")
    assert routine.routine.document_record is not None
    assert routine.routine.document_record.established == "2024-02-98"
    assert [d.code for d in routine.diagnostics] == ["routine.document-date"]


def test_a_missing_file_is_a_diagnostic_not_an_exception(tmp_path: Path) -> None:
    check = check_routine_file(tmp_path / "nowhere.yaml")
    assert not check.ok
    assert [d.code for d in check.diagnostics] == ["yaml.unreadable"]


@pytest.mark.parametrize(
    "secret",
    [
        "PIN-kod: 4711",
        "lösenord: 123456",
        "Pinkod: 4711",
        "Portkod 1234",
        "rumskod 55 12",
        "Lösenord: Sommar2026",
        "nummer 10498141 till det virtuella mötesrummet",
    ],
)
def test_access_codes_are_refused_wherever_they_are_written(secret: str) -> None:
    text = MINIMAL.read_text(encoding="utf-8").replace(
        "    system: Treserva\n", f"    system: Treserva\n    where_to_find: '{secret}'\n"
    )
    check = check_routine_text(text, file="secret.yaml")
    assert [(d.code, d.path) for d in check.diagnostics] == [
        ("routine.secret", "channels.brevlada.where_to_find")
    ]


def test_where_to_find_without_a_code_is_fine() -> None:
    text = MINIMAL.read_text(encoding="utf-8").replace(
        "    system: Treserva\n",
        "    system: Treserva\n"
        "    where_to_find: Koden finns i pärmen på expeditionen, tel 019-21 10 00\n",
    )
    assert check_routine_text(text, file="ok.yaml").ok


MINIMAL_TEXT = MINIMAL.read_text(encoding="utf-8")
TRIGGER = "    when: {event: test.referral}"


@pytest.mark.parametrize(
    ("condition", "code"),
    [
        ("{field: data.priority, equals: 2}", None),
        ("{field: data.priority, in: [1, 2]}", None),
        ('{field: data.priority, equals: "hög"}', "routine.literal-type"),
        ('{field: data.priority, in: [1, "två"]}', "routine.literal-type"),
        ("{field: data.due_date, lt: 2026-12-28}", None),
        ("{field: data.due_date, equals: 2026-13-01}", "routine.literal-type"),
        ("{field: data.priority, contains: 2}", "routine.contains-not-list"),
    ],
)
def test_condition_literals_fit_the_field(condition: str, code: str | None) -> None:
    text = MINIMAL_TEXT.replace(TRIGGER, f"    when: {{event: test.referral, if: {condition}}}")
    check = check_routine_text(text, file="r.yaml")
    errors = [d for d in check.diagnostics if d.is_error]
    if code is None:
        assert errors == [], [d.format() for d in errors]
    else:
        [error] = errors
        assert error.code == code
        assert error.path is not None and error.path.startswith("rules[0].when.if.")
        assert error.line is not None and error.column is not None


@pytest.mark.parametrize(
    ("literal", "ok"),
    [("mottagare", True), ("hemvard", True), ("socialtjanst", True), ("hemvrd", False)],
)
def test_a_role_literal_names_a_role_or_a_unit(literal: str, ok: bool) -> None:
    pattern = "      - event: test.reply\n        match: {data.refers_to: trigger.id}"
    text = MINIMAL_TEXT.replace(
        pattern,
        pattern
        + f"\n      - event: contact.made\n        if: {{field: data.to, equals: {literal}}}",
    )
    check = check_routine_text(text, file="r.yaml")
    errors = [d for d in check.diagnostics if d.is_error]
    assert (errors == []) is ok, [d.format() for d in errors]
    if not ok:
        assert errors[0].hint == "did you mean 'hemvard'?"
