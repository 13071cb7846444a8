"""``event.retracted``: a retracted event counts for nothing, in every way a case is evaluated."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samverkan_rules import evaluate, load_routine
from samverkan_rules.cli import main
from samverkan_rules.engine.why_not import explain_rule
from samverkan_rules.events.model import event_from_mapping
from samverkan_rules.i18n import translator
from tests.engine.test_properties import PROPERTY_SETTINGS, ROUTINE, instant, scenarios
from tests.support import FIXTURES, event

MINIMAL = load_routine(FIXTURES / "minimal.yaml")
AS_OF = datetime.fromisoformat("2026-03-10T12:00:00+01:00")
REFERRAL = event(
    id="e1", type="test.referral", at="2026-03-02T09:00:00+01:00", due_date="2026-03-20"
)
REPLY = event(id="e2", type="test.reply", at="2026-03-03T09:00:00+01:00", refers_to="e1")


def retraction(ident: str, target: str, at: str = "2026-03-04T09:00:00+01:00", **data: Any) -> Any:
    return event(id=ident, type="event.retracted", at=at, event=target, **data)


def statuses(records: list[dict[str, Any]]) -> dict[str, str]:
    result = evaluate(MINIMAL, records, AS_OF, ledger=True)
    return {o.obligation: o.status for c in result.cases for o in c.obligations}


def test_a_retracted_answer_leaves_the_obligation_open_again() -> None:
    assert set(statuses([REFERRAL, REPLY]).values()) == {"fulfilled"}
    assert set(statuses([REFERRAL, REPLY, retraction("r1", "e2")]).values()) == {"overdue"}


def test_a_retracted_trigger_raises_nothing_and_a_correction_raises_anew() -> None:
    assert statuses([REFERRAL, retraction("r1", "e1")]) == {}
    corrected = event(
        id="e3", type="test.referral", at="2026-03-05T09:00:00+01:00", due_date="2026-03-21"
    )
    after = statuses([REFERRAL, retraction("r1", "e1"), corrected])
    assert len(after) == 1 and next(iter(after)).endswith("e3")


def test_a_retraction_counts_only_within_its_case() -> None:
    other = retraction("r1", "e1") | {"case": "c2"}
    result = evaluate(MINIMAL, [REFERRAL, other], AS_OF, ledger=True)
    assert [o.status for c in result.cases for o in c.obligations] == ["overdue"]
    problems = [d for d in result.diagnostics if d.code == "event.retraction-unknown"]
    assert len(problems) == 1 and "'r1'" in problems[0].message and problems[0].level == "error"


def test_a_retraction_of_a_retraction_is_refused_and_the_first_stands() -> None:
    records = [
        REFERRAL,
        retraction("r1", "e1"),
        retraction("r2", "r1", at="2026-03-05T09:00:00+01:00"),
    ]
    result = evaluate(MINIMAL, records, AS_OF, ledger=True)
    assert [o for c in result.cases for o in c.obligations] == []
    codes = [d.code for d in result.diagnostics if d.level == "error"]
    assert codes == ["event.retraction-of-retraction"]


def test_a_retraction_after_as_of_is_not_yet_known() -> None:
    late = retraction("r1", "e2", at="2026-03-11T09:00:00+01:00")
    assert set(statuses([REFERRAL, REPLY, late]).values()) == {"fulfilled"}


def test_a_routine_need_not_name_the_retraction_type() -> None:
    assert "event.retracted" in MINIMAL.used_event_types


def test_due_reports_an_unknown_retraction_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.jsonl"
    lines = [REFERRAL, retraction("r9", "nope")]
    events.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    argv = ["due", "--routine", str(FIXTURES / "minimal.yaml"), "--events", str(events)]
    main([*argv, "--as-of", AS_OF.isoformat(), "--format", "json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert f"{events}:2" in err or f"{events}:2" in out
    assert "retraction 'r9' names event 'nope'" in out + err


@pytest.mark.parametrize(
    ("language", "words"),
    [("sv", "händelsen e2 är återkallad (skäl: fel ärende)"), ("en", "the event e2 is retracted")],
)
def test_explain_says_the_event_was_retracted(language: str, words: str) -> None:
    start = event(
        id="e2",
        type="dagverksamhet.start_planned",
        at="2026-12-01T10:00:00+01:00",
        start_date="2026-12-28",
    )
    gone = retraction("r1", "e2", at="2026-12-02T10:00:00+01:00", reason="fel ärende")
    events = [event_from_mapping(r) for r in (start, gone)]
    as_of = datetime.fromisoformat("2026-12-15T12:00:00+01:00")
    answer = explain_rule(
        ROUTINE, events, as_of, case="c1", rule="start-message", t=translator(language)
    )
    assert answer.obligations == ()
    assert any(words in reason for reason in answer.why_not)


@PROPERTY_SETTINGS
@given(scenario=scenarios(), pick=st.integers(0, 10**6))
def test_retracting_an_event_is_the_history_without_it(scenario: Any, pick: int) -> None:
    events, as_of = scenario
    gone = events[pick % len(events)]
    at = max(instant(gone["at"]), as_of - timedelta(hours=1))
    retracted = [
        *events,
        event(id="zz", type="event.retracted", at=at, case=gone["case"], event=gone["id"]),
    ]
    without = [e for e in events if e is not gone]

    def obligations(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        result = evaluate(ROUTINE, records, as_of, ledger=True)
        return [(o.obligation, o.status, o.deadline) for c in result.cases for o in c.obligations]

    assert obligations(retracted) == obligations(without)
