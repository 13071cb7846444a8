"""``samverkan explain --case C --rule R``: why a rule raised nothing, what an open one needs."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from samverkan_rules import EvaluationError, load_routine
from samverkan_rules.cli import main
from samverkan_rules.engine.why_not import explain_rule
from samverkan_rules.events.model import event_from_mapping
from samverkan_rules.i18n import translator
from tests.support import ROUTINES, event

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
AS_OF = datetime.fromisoformat("2026-12-15T12:00:00+01:00")
EN = translator("en")


CONSENT = event(id="e1", type="consent.given", at="2026-12-01T09:00:00+01:00", form="written")
START = event(
    id="e2",
    type="dagverksamhet.start_planned",
    at="2026-12-01T10:00:00+01:00",
    start_date="2026-12-28",
)


def explain(records: list[dict[str, Any]], rule: str, case: str = "c1") -> Any:
    events = [event_from_mapping(r) for r in records]
    return explain_rule(load_routine(ROUTINE), events, AS_OF, case=case, rule=rule, t=EN)


def test_no_trigger_names_the_event_type_the_rule_waits_for() -> None:
    answer = explain([CONSENT], "end-message")
    assert answer.obligations == ()
    assert answer.why_not == (
        "no trigger: the case has no event of type Planerat avslut på dagverksamhet",
    )


def test_a_false_trigger_condition_names_the_comparison_and_the_value_seen() -> None:
    message = event(
        id="e3",
        type="message.sent",
        at="2026-12-02T09:00:00+01:00",
        kind="closure",
        to=["hemvard.driftsplanerare"],
        refers_to="e2",
    )
    (reason,) = explain([CONSENT, START, message], "planning-updated").why_not
    assert reason.startswith(
        "Meddelande skickat (e3), Wednesday 2 December 2026 at 09:00: the trigger's condition"
    )
    assert "data.kind is 'closure', the rule asks for data.kind in ['start', 'end']" in reason


def test_a_trigger_outside_every_version_says_so() -> None:
    old = event(
        id="e9",
        type="dagverksamhet.start_planned",
        at="2015-03-02T10:00:00+01:00",
        start_date="2015-03-16",
    )
    (reason,) = explain([old], "start-message").why_not
    assert "no version of the routine was in force on its date" in reason


def test_an_open_obligation_lists_what_would_fulfil_it_and_every_near_miss() -> None:
    wrong_plan = event(
        id="e3",
        type="message.sent",
        at="2026-12-02T09:00:00+01:00",
        kind="start",
        to=["hemvard.driftsplanerare"],
        refers_to="e7",
    )
    wrong_kind = event(
        id="e4",
        type="message.sent",
        at="2026-12-03T09:00:00+01:00",
        kind="end",
        to=["hemvard.driftsplanerare"],
        refers_to="e2",
    )
    (waiting,) = explain([CONSENT, START, wrong_plan, wrong_kind], "start-message").obligations
    assert waiting.obligation == "start-message:e2" and waiting.status == "due"
    assert waiting.would_fulfil[0].startswith("message.sent, data.refers_to = 'e2'")
    misses = {m.event: m.reasons for m in waiting.near_misses}
    assert misses["e3"] == ("data.refers_to is 'e7', it must be 'e2'",)
    assert misses["e4"] == ("data.kind is 'end', the rule asks for data.kind equals 'start'",)


def test_an_unknown_rule_is_an_error_with_a_suggestion() -> None:
    with pytest.raises(EvaluationError, match="did you mean 'start-message'"):
        explain([START], "start-mesage")


def test_the_command_line_answers_in_text_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text("\n".join(json.dumps(r) for r in (CONSENT, START)) + "\n")
    argv = ["explain", "--routine", str(ROUTINE), "--events", str(events)]
    argv += ["--as-of", AS_OF.isoformat(), "--case", "c1", "--rule", "end-message"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("Regel end-message för ärende c1 vid tisdag 15 december 2026 kl. 12.00\n")
    assert "ingen utlösande händelse" in out
    assert main([*argv[:-4], "--case", "c1", "--rule", "start-message", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["obligations"][0]["obligation"] == "start-message:e2"
    assert main([*argv[:-2]]) == 2  # --case without --rule
    assert "--case and --rule go together" in capsys.readouterr().err


def test_a_message_to_the_unit_is_not_blamed_for_its_address() -> None:
    # The evaluator reads `data.to contains hemvard.driftsplanerare` as reached by a message
    # to the unit `hemvard`; the explanation must judge the comparison the same way and name
    # only the part that is false (the kind).
    message = event(
        id="e3",
        type="message.sent",
        at="2026-12-02T09:00:00+01:00",
        kind="vc_reply",
        to=["hemvard"],
        refers_to="e2",
    )
    (reason,) = explain([CONSENT, START, message], "receipt-acknowledgement").why_not
    assert "data.kind is 'vc_reply'" in reason
    assert "data.to" not in reason
