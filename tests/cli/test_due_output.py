"""``samverkan due`` writes an answer sized to the question: actions by default, each rule's
text once per routine version, the full ledger and the traces only when asked for."""

from __future__ import annotations

import json
from typing import Any

import pytest

from samverkan_rules import load_routine
from samverkan_rules.cli import main
from tests.support import EXAMPLES, ROUTINES

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
AS_OF = "2026-12-15T12:00:00+01:00"
RULE_TEXT = {"title", "source", "interpretation", "content"}


def due(capsys: pytest.CaptureFixture[str], *options: str) -> str:
    argv = ["due", "--routine", str(ROUTINE), "--events", str(EXAMPLES / "orebro-case.jsonl")]
    assert main([*argv, "--as-of", AS_OF, *options]) == 0
    return capsys.readouterr().out


def test_by_default_the_actions_name_their_rule_and_each_rule_is_written_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = json.loads(due(capsys, "--format", "json"))
    (stamp,) = doc["routines"]
    routine = load_routine(ROUTINE)
    assert set(stamp["rules"]) == {r.id for r in routine.rules}
    for compiled in routine.rules:
        text = stamp["rules"][compiled.id]
        assert text["title"] == compiled.rule.title
        assert text["source"]["quote"] == compiled.rule.source.quote
    assert set(stamp["preconditions"]) == set(routine.preconditions)
    assert any(case["actions"] for case in doc["cases"])
    for case in doc["cases"]:
        assert "obligations" not in case
        for action in case["actions"]:
            assert not set(action) & {*RULE_TEXT, "trace"}
            assert action["rule"] in stamp["rules"] or action["rule"] in stamp["preconditions"]


def test_ledger_and_trace_give_back_every_obligation_with_its_steps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lean = json.loads(due(capsys, "--format", "json"))
    full = json.loads(due(capsys, "--format", "json", "--ledger", "--trace"))
    assert full["routines"] == lean["routines"]
    statuses = {o["status"] for case in full["cases"] for o in case["obligations"]}
    assert statuses - {"upcoming", "due", "overdue", "blocked"}, "settled ones too"
    for small, big in zip(lean["cases"], full["cases"], strict=True):
        ledger: dict[str, dict[str, Any]] = {o["obligation"]: o for o in big["obligations"]}
        assert len(ledger) >= len(big["actions"])
        for action, traced in zip(small["actions"], big["actions"], strict=True):
            assert traced["trace"], "every obligation carries its steps"
            assert {k: v for k, v in traced.items() if k != "trace"} == action
            assert ledger[action["obligation"]] == traced


def test_the_ledger_in_text_is_the_same_as_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert due(capsys, "--ledger") == due(capsys, "--all")
    assert due(capsys, "--ledger") != due(capsys)


def test_jsonl_begins_with_the_routines_and_ends_with_the_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = [json.loads(line) for line in due(capsys, "--format", "jsonl").splitlines()]
    assert set(rows[0]) == {"as_of", "routines"}
    assert rows[0]["routines"][0]["rules"]
    assert all(set(row) >= {"case", "actions"} for row in rows[1:-1])
    assert set(rows[-1]) == {"diagnostics", "summary", "queues"}
