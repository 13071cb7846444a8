"""A committee's adopted plan in a file of its own (``plan:`` in an ``every: dates`` schedule).

- the committee scenarios hold for the routine whose plan is a file, as for the one that
  writes the dates itself (the same meetings);
- the plan's text is part of the routine version: another plan, another digest;
- a wrong plan is refused where it is written: a day twice, a day that does not exist, a
  day outside the version's validity, an unknown key, no dates, not a mapping, no such
  file, and ``plan`` beside ``dates``; each names the plan file (or the routine's line
  that names it) and its line.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from samverkan_rules import load_routine
from samverkan_rules.routine.load import check_routine_file
from samverkan_rules.scenarios.check import run_scenario
from samverkan_rules.scenarios.load import load_scenario_file

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "committee"
PLAN_FILE = "plans/socialnamnden-vt-2027.yaml"


@pytest.mark.parametrize("index", range(4))
def test_the_committee_scenarios_hold_with_the_plan_in_a_file(index: int) -> None:
    sf = load_scenario_file(FIXTURE / "scenarios.yaml")
    routine = load_routine(FIXTURE / "committee-plan.yaml")
    result = run_scenario(sf.scenarios[index], routine)
    assert result.verdict == "passed", result.message


def test_the_plan_in_a_file_is_the_plan_written_out() -> None:
    written = load_routine(FIXTURE / "committee.yaml").routine.schedules["sammantraden"]
    filed = load_routine(FIXTURE / "committee-plan.yaml").routine.schedules["sammantraden"]
    assert filed.dates == written.dates
    assert filed.plan == PLAN_FILE and written.plan is None


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The committee fixture copied, so a test may change its plan."""
    shutil.copytree(FIXTURE, tmp_path / "committee")
    return tmp_path / "committee"


def test_another_plan_is_another_routine_version(copy: Path) -> None:
    before = load_routine(copy / "committee-plan.yaml").sha256
    plan = copy / PLAN_FILE
    plan.write_text(plan.read_text(encoding="utf-8").replace("2027-05-20", "2027-05-27"))
    after = load_routine(copy / "committee-plan.yaml")
    assert after.sha256 != before
    assert "2027-05-27" in after.routine.schedules["sammantraden"].dates


def _errors(copy: Path) -> list[tuple[str | None, int | None, str]]:
    check = check_routine_file(copy / "committee-plan.yaml")
    assert not check.ok
    return [
        (Path(d.file).name if d.file else None, d.line, d.format())
        for d in check.diagnostics
        if d.is_error
    ]


def _line_of(path: Path, words: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if words in line)


@pytest.mark.parametrize(
    ("old", "new", "at", "words"),
    [
        ("2027-04-15", "2027-03-11", "  - 2027-03-11", "on the same day already"),
        ("2027-04-15", "2027-02-30", "dates:", "is not a day and time that exist"),
        ("2027-04-15", "15 april", "15 april", "should match pattern"),
        ("2027-04-15", "2027-08-19", "2027-08-19", "outside this version's validity"),
        ("adopted:", "antagen:", "antagen:", "unknown key 'antagen' in a plan file"),
        ("dates:", "datum:", "datum:", "did you mean 'dates'"),
    ],
)
def test_a_wrong_plan_is_refused_in_the_plan_file(
    copy: Path, old: str, new: str, at: str, words: str
) -> None:
    plan = copy / PLAN_FILE
    text = plan.read_text(encoding="utf-8")
    assert old in text
    plan.write_text(text.replace(old, new, 1), encoding="utf-8")
    errors = _errors(copy)
    expected_line = _line_of(plan, at)
    if at == "  - 2027-03-11":  # the same day twice: the dates, where the list starts
        expected_line = _line_of(plan, "dates:")
    assert any(f == plan.name and line == expected_line and words in m for f, line, m in errors), (
        errors
    )


def test_a_plan_that_is_no_mapping_is_refused(copy: Path) -> None:
    (copy / PLAN_FILE).write_text("- 2027-01-14\n", encoding="utf-8")
    errors = _errors(copy)
    assert any(f == "socialnamnden-vt-2027.yaml" and "YAML mapping" in m for f, _, m in errors)


def test_a_missing_plan_file_is_named(copy: Path) -> None:
    routine = copy / "committee-plan.yaml"
    text = routine.read_text(encoding="utf-8")
    routine.write_text(text.replace("vt-2027", "ht-2027"), encoding="utf-8")
    errors = _errors(copy)
    assert any("socialnamnden-ht-2027.yaml" in m for _, _, m in errors), errors
    # Also at the routine's line that names it, as a missing base of 'extends' is.
    line = _line_of(routine, "plan: plans/socialnamnden-ht-2027.yaml")
    assert any(
        f == routine.name and n == line and "cannot read the plan file" in m for f, n, m in errors
    ), errors


def test_a_plan_and_dates_together_are_refused(copy: Path) -> None:
    routine = copy / "committee-plan.yaml"
    text = routine.read_text(encoding="utf-8")
    routine.write_text(text + "    dates: [2027-01-14]\n", encoding="utf-8")
    errors = _errors(copy)
    line = _line_of(routine, "dates: [2027-01-14]")
    assert any(
        f == routine.name and n == line and "plan file and writes dates too" in m
        for f, n, m in errors
    ), errors


def test_a_plan_belongs_to_a_planned_schedule_only(copy: Path) -> None:
    routine = copy / "committee-plan.yaml"
    text = routine.read_text(encoding="utf-8")
    routine.write_text(
        text.replace("every: dates", "every: week\n    weekday: thursday"), encoding="utf-8"
    )
    errors = _errors(copy)
    assert any("'dates' and 'plan' apply to 'every: dates' only" in m for _, _, m in errors)
