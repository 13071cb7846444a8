"""Tests for the YAML scenario runner, its pytest plugin and ``samverkan test``."""

from __future__ import annotations

import argparse
import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from samverkan_rules import load_routine
from samverkan_rules.cli import test_cmd
from samverkan_rules.errors import CompileError
from samverkan_rules.records import Obligation, RuleText
from samverkan_rules.scenarios.check import run_scenario, uncovered_rules
from samverkan_rules.scenarios.load import ScenarioFile, load_scenario_file
from samverkan_rules.scenarios.runner import run_directory
from samverkan_rules.scenarios.spec import ExpectedObligation
from tests.support import ROOT, ROUTINES

pytest_plugins = ["pytester"]

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
SCENARIOS = ROUTINES / "tests" / "orebro-dagverksamhet-hemvard"

# Start Monday 28 December 2026: 2 working days before is Tuesday 22 December.
JUL = """\
routine: ../../orebro-dagverksamhet-hemvard.yaml
scenarios:
  - name: Start efter jul
    as_of: 2026-12-15T12:00:00+01:00
    events:
      - {id: e1, case: c1, type: consent.given, at: "2026-12-01T09:00:00+01:00"}
      - {id: e2, case: c1, type: document.recorded, at: "2026-12-01T09:30:00+01:00",
         data: {record: samtyckesmodul}}
      - {id: e3, case: c1, type: dagverksamhet.start_planned,
         at: "2026-12-01T10:00:00+01:00", data: {start_date: 2026-12-28}}
    expect:
      actions:
        - {rule: start-message, status: due, deadline: "DEADLINE"}
        - {rule: start-journal, status: due, deadline: "2026-12-22T23:59:59+01:00"}
"""


@pytest.fixture
def routines_dir(tmp_path: Path) -> Path:
    """A routines directory holding a copy of the Örebro routine and an empty tests dir."""
    root = tmp_path / "routines"
    (root / "tests" / "orebro-dagverksamhet-hemvard").mkdir(parents=True)
    shutil.copy(ROUTINE, root / ROUTINE.name)
    return root


def write(routines_dir: Path, text: str, name: str = "s.yaml") -> Path:
    path = routines_dir / "tests" / "orebro-dagverksamhet-hemvard" / name
    path.write_text(text, encoding="utf-8")
    return path


def cli(argv: Sequence[str]) -> int:
    """Run the command line; test this command alone if another command cannot be imported."""
    try:
        from samverkan_rules.cli import main
    except ImportError:  # pragma: no cover - another command module is not written yet
        parser = argparse.ArgumentParser(prog="samverkan")
        test_cmd.add_parser(parser.add_subparsers())
        args = parser.parse_args(argv)
        return test_cmd.run(args)
    return main(list(argv))


# --------------------------------------------------------------------------- the runner


def test_a_right_expectation_passes(routines_dir: Path) -> None:
    sf = load_scenario_file(
        write(routines_dir, JUL.replace("DEADLINE", "2026-12-22T23:59:59+01:00"))
    )
    result = run_scenario(sf.scenarios[0], load_routine(sf.routine_path))
    assert result.verdict == "passed", result.message


def test_a_wrong_deadline_fails_naming_the_rule_both_deadlines_and_the_place(
    routines_dir: Path,
) -> None:
    path = write(routines_dir, JUL.replace("DEADLINE", "2026-12-21T23:59:59+01:00"))
    sf = load_scenario_file(path)
    result = run_scenario(sf.scenarios[0], load_routine(sf.routine_path))

    assert result.verdict == "failed"
    message = result.message
    assert "start-message" in message
    assert "expected 2026-12-21T23:59:59+01:00, got 2026-12-22T23:59:59+01:00" in message
    assert "status due" in message and "start-message:e3" in message  # the closest action
    assert f"{path.name}:3: scenario 'Start efter jul'" in message  # where the scenario starts
    assert f"{path.name}:13)" in message  # where the failing expectation is
    assert "orebro-dagverksamhet-hemvard.yaml" in message  # the routine
    assert "start-journal" not in message.split("expect.actions[0]")[1]  # only the failure


def test_actions_must_be_exactly_the_expected_ones(routines_dir: Path) -> None:
    text = JUL.replace("DEADLINE", "2026-12-22T23:59:59+01:00")
    text = text.replace(
        '        - {rule: start-journal, status: due, deadline: "2026-12-22T23:59:59+01:00"}\n', ""
    )
    sf = load_scenario_file(write(routines_dir, text))
    result = run_scenario(sf.scenarios[0], load_routine(sf.routine_path))
    assert result.verdict == "failed"
    assert "expected 1 action, got 2; not expected:" in result.message
    assert "start-journal:e3 (rule start-journal, status due" in result.message


def test_each_expected_action_matches_its_own_action(routines_dir: Path) -> None:
    text = JUL.replace("DEADLINE", "2026-12-22T23:59:59+01:00").replace(
        "rule: start-journal, status: due", "status: due"
    )
    text = text.replace("rule: start-message, status: due", "status: due")
    sf = load_scenario_file(write(routines_dir, text))
    routine = load_routine(sf.routine_path)
    assert run_scenario(sf.scenarios[0], routine).passed  # two entries, two distinct actions

    one = text.replace(
        '        - {status: due, deadline: "2026-12-22T23:59:59+01:00"}\n', "", 1
    ).replace(
        "actions:\n",
        "actions:\n        - {status: due}\n        - {status: due}\n        - {status: due}\n",
    )
    sf = load_scenario_file(write(routines_dir, one, "three.yaml"))
    result = run_scenario(sf.scenarios[0], routine)
    assert not result.passed
    assert "expected 4 actions, got 2" in result.message


def test_obligations_absent_and_diagnostics(routines_dir: Path) -> None:
    text = """\
routine: ../../orebro-dagverksamhet-hemvard.yaml
scenarios:
  - name: ledger
    as_of: 2026-12-15T12:00:00+01:00
    events:
      - {id: e1, case: c1, type: consent.given, at: "2026-12-01T09:00:00+01:00"}
      - {id: e2, case: c1, type: dagverksamhet.start_planned,
         at: "2026-12-01T10:00:00+01:00", data: {start_date: 2026-12-28}}
      - {id: e3, case: c1, type: no.such.type, at: "2026-12-01T11:00:00+01:00"}
    expect:
      obligations:
        - {obligation: "consent-recorded:e1", status: fulfilled}
        - {obligation: "start-message:e2", routine: {id: orebro-dagverksamhet-hemvard},
           trigger: {event: e2}}
      absent: [start-message, closure-message]
      diagnostics: [event.unknown-type, event.duplicate-id]
"""
    sf = load_scenario_file(write(routines_dir, text))
    result = run_scenario(sf.scenarios[0], load_routine(sf.routine_path))
    message = result.message
    assert result.verdict == "failed"
    assert "3 expectations not met" in message
    assert "expect.obligations[0]" in message
    assert "closest obligation: consent-recorded:e1" in message
    assert "status: expected fulfilled, got overdue" in message
    assert "expect.obligations[1]" not in message  # nested mappings match partially
    assert "rule start-message should raise no obligation, but raised:" in message
    assert "closure-message" not in message
    assert "no diagnostic 'event.duplicate-id'" in message


def test_an_event_the_evaluation_rejects_fails_the_scenario_unless_expected(
    routines_dir: Path,
) -> None:
    text = """\
routine: ../../orebro-dagverksamhet-hemvard.yaml
scenarios:
  - name: misspelt type
    as_of: 2026-12-15T12:00:00+01:00
    events:
      - {id: e1, case: c1, type: consent.givn, at: "2026-12-01T09:00:00+01:00"}
    expect:
      actions: []
"""
    path = write(routines_dir, text)
    routine = load_routine(routines_dir / ROUTINE.name)
    result = run_scenario(load_scenario_file(path).scenarios[0], routine)
    assert result.verdict == "failed"
    assert f"{path.name}:6: event 'e1': unknown event type 'consent.givn'" in result.message
    assert "did you mean 'consent.given'?" in result.message

    write(routines_dir, text.replace("actions: []", "diagnostics: [event.unknown-type]"))
    assert run_scenario(load_scenario_file(path).scenarios[0], routine).passed


def test_a_rule_id_the_routine_lacks_is_a_located_error(routines_dir: Path) -> None:
    text = JUL.replace("DEADLINE", "2026-12-22T23:59:59+01:00").replace(
        "rule: start-journal", "rule: start-jornal"
    )
    sf = load_scenario_file(write(routines_dir, text))
    result = run_scenario(sf.scenarios[0], load_routine(sf.routine_path))
    assert result.verdict == "error"
    (error,) = result.errors
    assert (error.line, error.path) == (14, "scenarios[0].expect.actions[1].rule")
    assert error.hint == "did you mean 'start-journal'?"


def test_known_issue_fails_quietly_and_must_be_removed_once_fixed(routines_dir: Path) -> None:
    text = JUL.replace(
        "  - name: Start efter jul\n", "  - name: Start efter jul\n    known_issue: bug\n"
    )
    routine = load_routine(routines_dir / ROUTINE.name)
    wrong = load_scenario_file(
        write(routines_dir, text.replace("DEADLINE", "2026-12-21T23:59:59+01:00"))
    )
    assert run_scenario(wrong.scenarios[0], routine).verdict == "known_issue"
    right = load_scenario_file(
        write(routines_dir, text.replace("DEADLINE", "2026-12-22T23:59:59+01:00"))
    )
    fixed = run_scenario(right.scenarios[0], routine)
    assert fixed.verdict == "fixed_issue" and not fixed.ok
    assert "remove 'known_issue'" in fixed.message


# --------------------------------------------------------------------------- the file format


def located(path: Path) -> list[str]:
    with pytest.raises(CompileError) as info:
        load_scenario_file(path)
    return [d.format() for d in info.value.diagnostics]


def test_a_typo_in_a_key_is_a_located_error_with_a_suggestion(routines_dir: Path) -> None:
    text = JUL.replace("DEADLINE", "2026-12-22T23:59:59+01:00").replace(
        "{rule: start-journal, status:", "{rule: start-journal, stauts:"
    )
    path = write(routines_dir, text)
    (message,) = located(path)
    assert message.endswith(
        f"{path.name}:14:33: scenarios[0].expect.actions[1].stauts: unknown key 'stauts'. "
        "Hint: did you mean 'status'?"
    )


def test_typos_everywhere_are_all_reported(routines_dir: Path) -> None:
    text = (
        JUL.replace("DEADLINE", "2026-12-22T23:59:59+01:00")
        .replace("    expect:", "    expcet:")
        .replace("    as_of:", "    as_off:")
        .replace("{id: e1,", "{id: e1, dat: {}, ")
    )
    messages = "\n".join(located(write(routines_dir, text)))
    assert ":4:5: scenarios[0].as_off: unknown key 'as_off'. Hint: did you mean" in messages
    assert ":11:5: scenarios[0].expcet: unknown key 'expcet'. Hint: did you mean" in messages
    assert "did you mean 'as_of'?" in messages and "did you mean 'expect'?" in messages
    assert "scenarios[0].events[0].dat: unknown key 'dat'. Hint: did you mean 'data'?" in messages
    # A misspelt required key is one mistake, so one error: no "missing required key" too.
    assert "That key is required and missing" in messages
    assert "missing required key" not in messages


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('status: due, deadline: "DEADLINE"', "status: overdu", "did you mean 'overdue'?"),
        ("DEADLINE", "2026-12-22", "not an RFC 3339 date and time"),
        ("DEADLINE", "2026-12-22T22:59:59Z", "write the timestamp as the evaluation does"),
        ("DEADLINE", "2026-12-22T23:59:59", "is naive"),
        ("as_of: 2026-12-15T12:00:00+01:00", "as_of: 2026-12-15", "not an RFC 3339"),
        ("- name: Start efter jul", "- name: ''", "scenarios[0].name"),
        ("routine: ../../orebro", "routine: ../orebro", "there is no routine file at"),
        ("{id: e2,", "{id: e1,", "event id 'e1' is already used by events[0]"),
        ("    expect:\n      actions:", "    case: c2\n    expect:\n      actions:", "no event"),
        ("      actions:\n", "      nothing: []\n      actions:\n", "unknown key 'nothing'"),
    ],
)
def test_format_errors_say_what_is_wrong(
    routines_dir: Path, old: str, new: str, words: str
) -> None:
    text = JUL.replace(old, new).replace("DEADLINE", "2026-12-22T23:59:59+01:00")
    assert old in JUL
    messages = "\n".join(located(write(routines_dir, text)))
    assert words in messages
    assert re.search(r"s\.yaml:\d+:\d+: ", messages)


def test_an_empty_expectation_is_refused(routines_dir: Path) -> None:
    text = JUL.split("    expect:")[0] + "    expect: {}\n"
    (message,) = located(write(routines_dir, text))
    assert "say what to expect" in message


def test_the_expectation_keys_are_the_obligation_fields_and_its_rule_text() -> None:
    # A scenario reads an obligation with its rule's text, which the evaluation writes once.
    fields = set(Obligation.__struct_fields__) | set(RuleText.__struct_fields__)
    assert set(ExpectedObligation.model_fields) == fields


# --------------------------------------------------------------------------- coverage


def test_coverage_lists_the_rules_no_scenario_names(routines_dir: Path) -> None:
    sf = load_scenario_file(
        write(routines_dir, JUL.replace("DEADLINE", "2026-12-22T23:59:59+01:00"))
    )
    routine = load_routine(routines_dir / ROUTINE.name)
    uncovered = uncovered_rules(routine, [sf])
    assert "start-message" not in uncovered and "start-journal" not in uncovered
    assert "closure-message" in uncovered
    assert len(uncovered) == len(routine.rules) - 2
    assert uncovered == [r.id for r in routine.rules if r.id in uncovered]  # routine order


@pytest.mark.parametrize("routine_file", sorted(ROUTINES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_rule_of_every_bundled_routine_has_a_scenario(routine_file: Path) -> None:
    folder = ROUTINES / "tests" / routine_file.stem
    files: list[ScenarioFile] = [load_scenario_file(p) for p in sorted(folder.glob("*.yaml"))]
    assert files, f"no scenarios under {folder}"
    assert uncovered_rules(load_routine(routine_file), files) == []


def test_obligation_prefixes_and_absent_count_as_coverage(routines_dir: Path) -> None:
    text = """\
routine: ../../orebro-dagverksamhet-hemvard.yaml
scenarios:
  - name: coverage
    as_of: 2026-12-15T12:00:00+01:00
    expect:
      obligations: [{obligation: "closure-journal:e1"}]
      absent: [quick-contact-homecoming]
"""
    sf = load_scenario_file(write(routines_dir, text))
    uncovered = uncovered_rules(load_routine(routines_dir / ROUTINE.name), [sf])
    assert "closure-journal" not in uncovered
    assert "quick-contact-homecoming" not in uncovered


# --------------------------------------------------------------------------- samverkan test


def test_cli_passes_on_the_repository_routines(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert cli(["test", "routines/"]) == 0
    out = capsys.readouterr().out
    assert "routines/orebro-dagverksamhet-hemvard.yaml (orebro-dagverksamhet-hemvard" in out
    rules = len(load_routine(ROUTINE).rules)
    assert f"Rule coverage: {rules}/{rules}" in out
    assert "PASS  helgdagar.yaml:" in out
    assert re.fullmatch(r"\d+ passed, 0 failed", out.rstrip("\n").splitlines()[-1])


def test_every_repository_routine_has_full_rule_coverage(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each rule of each routine under routines/ is named by at least one scenario."""
    monkeypatch.chdir(ROOT)
    assert cli(["test", "routines/", "--format", "json"]) == 0
    routines = json.loads(capsys.readouterr().out)["routines"]
    on_disk = {f"routines/{p.name}" for p in (ROOT / "routines").glob("*.yaml")}
    assert {r["file"] for r in routines} == on_disk
    gaps = {r["file"]: r["coverage"]["uncovered"] for r in routines if r["coverage"]["uncovered"]}
    assert not gaps, f"rules without a scenario: {gaps}"
    assert all(r["coverage"]["covered"] == r["coverage"]["rules"] > 0 for r in routines)


def test_cli_reports_a_failure_with_its_message_and_exit_1(
    routines_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(routines_dir, JUL.replace("DEADLINE", "2026-12-21T23:59:59+01:00"))
    assert cli(["test", str(routines_dir)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  s.yaml:3  Start efter jul" in out
    assert "expected 2026-12-21T23:59:59+01:00, got 2026-12-22T23:59:59+01:00" in out
    assert f"Rule coverage: 2/{len(load_routine(ROUTINE).rules)}" in out
    uncovered = len(load_routine(ROUTINE).rules) - 2
    assert (
        f"warning: {uncovered} rule(s) without a scenario: consent-at-enrolment, consent-recorded"
        in out
    )
    assert out.rstrip("\n").splitlines()[-1] == "0 passed, 1 failed"


def test_cli_counts_an_invalid_scenario_file_as_a_failure(
    routines_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(routines_dir, "routine: ../../orebro-dagverksamhet-hemvard.yaml\nscenarios: []\n")
    assert cli(["test", str(routines_dir / ROUTINE.name)]) == 1
    out = capsys.readouterr().out
    assert "Invalid scenario files:" in out and "s.yaml:2:1: scenarios" in out
    assert out.rstrip("\n").splitlines()[-1] == "0 passed, 1 failed"


def test_cli_json(routines_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(routines_dir, JUL.replace("DEADLINE", "2026-12-22T23:59:59+01:00"))
    assert cli(["test", str(routines_dir), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["passed"], data["failed"]) == (1, 0)
    (routine,) = data["routines"]
    assert routine["coverage"]["covered"] == 2
    assert routine["scenarios"][0]["verdict"] == "passed"


def test_cli_bad_path_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["test", str(tmp_path / "missing")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    assert cli(["test", str(tmp_path)]) == 2  # exists, but nothing to test


def test_run_directory_on_a_scenario_file(routines_dir: Path) -> None:
    path = write(routines_dir, JUL.replace("DEADLINE", "2026-12-22T23:59:59+01:00"))
    report = run_directory(path)
    assert (report.passed, report.failed) == (1, 0)
    assert report.routines[0].path.name == ROUTINE.name


# --------------------------------------------------------------------------- pytest plugin


def test_pytest_collects_one_item_per_scenario_and_reports_without_traceback(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest('pytest_plugins = ["samverkan_rules.scenarios.plugin"]\n')
    routines = pytester.path / "routines"
    (routines / "tests" / "orebro").mkdir(parents=True)
    shutil.copy(ROUTINE, routines / ROUTINE.name)
    good = JUL.replace("DEADLINE", "2026-12-22T23:59:59+01:00")
    bad = JUL.replace("DEADLINE", "2026-12-21T23:59:59+01:00").replace(
        "Start efter jul", "Fel frist"
    )
    both = good + bad.split("scenarios:\n", 1)[1]
    (routines / "tests" / "orebro" / "jul.yaml").write_text(both, encoding="utf-8")
    (routines / "tests" / "orebro" / "trasig.yaml").write_text("routine: x\n", encoding="utf-8")

    result = pytester.runpytest("-p", "no:cacheprovider", "routines")
    result.assert_outcomes(passed=1, failed=2)
    text = result.stdout.str()
    assert "jul.yaml::Start efter jul PASSED" in text or "2 failed, 1 passed" in text
    assert "expected 2026-12-21T23:59:59+01:00, got 2026-12-22T23:59:59+01:00" in text
    assert "missing required key 'scenarios'" in text
    assert "Traceback" not in text and "def runtest" not in text
    assert f"Rule coverage: 2/{len(load_routine(ROUTINE).rules)}" in text


def test_the_documented_scenario_example_passes(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "reference" / "scenarios.md").read_text(encoding="utf-8")
    head = "```yaml\n# yaml-language-server: $schema=../../../schemas/scenario.schema.json\n"
    example = head.removeprefix("```yaml\n") + page.split(head, 1)[1].split("```", 1)[0]
    root = tmp_path / "routines"
    (root / "tests" / "orebro").mkdir(parents=True)
    shutil.copy(ROUTINE, root / ROUTINE.name)
    (root / "tests" / "orebro" / "documented.yaml").write_text(example, encoding="utf-8")
    report = run_directory(root)
    assert [r.verdict for r in report.results] == ["passed"], [r.message for r in report.results]
