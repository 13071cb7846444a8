"""What ``evaluate`` builds by default (the actions) and on request (ledger, traces)."""

from __future__ import annotations

from datetime import datetime

from samverkan_rules import evaluate, load_routine, read_events
from tests.support import EXAMPLES, ROUTINES

ROUTINE = load_routine(ROUTINES / "orebro-dagverksamhet-hemvard.yaml")
EVENTS = read_events(EXAMPLES / "orebro-case.jsonl")
AS_OF = datetime.fromisoformat("2026-12-15T12:00:00+01:00")


def test_by_default_only_the_actions_without_traces() -> None:
    result = evaluate(ROUTINE, EVENTS, AS_OF)
    assert result.actions
    assert all(case.obligations is None for case in result.cases)
    assert all(action.trace is None for action in result.actions)


def test_the_ledger_and_the_traces_on_request() -> None:
    lean = evaluate(ROUTINE, EVENTS, AS_OF)
    for full in (
        evaluate(ROUTINE, EVENTS, AS_OF, ledger=True, trace=True),
        lean.with_output(ledger=True, trace=True),
    ):
        for small, big in zip(lean.cases, full.cases, strict=True):
            assert big.obligations is not None
            ids = {o.obligation for o in big.obligations}
            assert {a.obligation for a in small.actions} <= ids
            assert all(o.trace for o in big.obligations)
        assert sorted(o.obligation for c in full.cases for o in c.obligations or ()) == sorted(
            lean.obligation_ids()
        )


def test_an_action_finds_its_rules_text() -> None:
    result = evaluate(ROUTINE, EVENTS, AS_OF)
    for action in result.actions:
        text = result.rule_text(action)
        if action.rule in {r.id for r in ROUTINE.rules}:
            rule = ROUTINE.rule(action.rule).rule
            assert text.source is not None and text.source.quote == rule.source.quote
            expected = rule.title if action.escalates is None else text.title
            assert text.title == expected and rule.title in text.title
        else:  # a remedy: its precondition's text
            assert text.title == ROUTINE.preconditions[action.rule].label
