"""``samverkan explain``, called in-process through ``samverkan_rules.cli.main``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from samverkan_rules.cli import main
from tests.support import ROUTINES, event

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
AS_OF = "2026-12-15T12:00:00+01:00"

CONSENT: dict[str, Any] = event(
    id="e1", type="consent.given", at="2026-12-01T09:00:00+01:00", form="written"
)
# The DESIGN example: start on Monday 2026-12-28, deadline 2 working days before.
START: dict[str, Any] = event(
    id="e2",
    type="dagverksamhet.start_planned",
    at="2026-12-01T10:00:00+01:00",
    start_date="2026-12-28",
    form="dagrehab",
)


def jsonl(records: Sequence[Mapping[str, Any] | str]) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def explain(
    capsys: pytest.CaptureFixture[str], events: Path | str, *extra: str
) -> tuple[int, str, str]:
    return run(
        capsys,
        "explain",
        "--routine",
        str(ROUTINE),
        "--events",
        str(events),
        "--as-of",
        AS_OF,
        *extra,
    )


@pytest.fixture()
def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text(jsonl([CONSENT, START]), encoding="utf-8")
    return path


def test_explain_shows_the_working_day_steps(
    capsys: pytest.CaptureFixture[str], events_file: Path
) -> None:
    code, out, err = explain(capsys, events_file, "start-message:e2")
    assert code == 0, err
    assert err == ""
    assert out.startswith("Åtgärd start-message:e2\n")
    assert "Regel:       start-message" in out
    assert "orebro-dagverksamhet-hemvard version " in out
    assert "Ärende:      c1" in out
    assert "Status:      att göra\n" in out
    assert "Räknas från: planerat startdatum, måndag 28 december 2026\n" in out
    assert "senast tisdag 22 december 2026" in out  # the explanation line
    # Staff read the event type's label wherever an event is named, never its id.
    assert "; utlöst av Planerad start på dagverksamhet (e2).\n" in out
    assert "Utlöst av:   Planerad start på dagverksamhet (e2), registrerad " in out
    assert "dagverksamhet.start_planned" not in out
    assert "1. Meddelande om start till hemvården: Planerad start på dagverksamhet (e2), " in out
    assert "2. frist: planerat startdatum, måndag 28 december 2026; " in out
    assert (
        "2 vardagar före måndag 28 december 2026 -> tisdag 22 december 2026 "
        "(ej vardagar: julafton 24 december 2026, juldagen 25 december 2026)"
    ) in out
    assert "3. status vid tisdag 15 december 2026 kl. 12.00: att göra" in out
    assert "Meddelandet skickas senast 2 vardagar innan planerad start eller avslut." in out
    assert "Tolkning:    Dokumentet säger inget om ändrade planer. En ny planerad start" in out


def test_explain_shows_an_interpretation_and_several_ids_in_order(
    capsys: pytest.CaptureFixture[str], events_file: Path
) -> None:
    code, out, _err = explain(capsys, events_file, "consent-recorded:e1", "start-journal:e2")
    assert code == 0
    assert out.index("Åtgärd consent-recorded:e1") < out.index("Åtgärd start-journal:e2")
    assert "Status:     försenad\n" in out
    assert "Ingen frist anges" in out  # the interpretation's reason
    assert "1 vardag efter tisdag 1 december 2026 -> onsdag 2 december 2026" in out


def test_explain_a_remedy_of_a_blocked_obligation(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    events = tmp_path / "no-consent.jsonl"
    events.write_text(jsonl([START]), encoding="utf-8")
    code, out, err = explain(capsys, events, "consent:c1:dagverksamhet", "start-message:e2")
    assert code == 0, err
    assert "Åtgärd consent:c1:dagverksamhet" in out
    assert "Status:      väntar\n" in out
    assert "Väntar på:   Samtycke till informationsöverföring\n" in out  # not yet past


def test_unknown_id_is_exit_1_with_a_hint_and_the_rest_explained(
    capsys: pytest.CaptureFixture[str], events_file: Path
) -> None:
    code, out, err = explain(capsys, events_file, "start-mesage:e2", "start-message:e2")
    assert code == 1
    assert "Åtgärd start-message:e2" in out
    assert "samverkan explain: error: no obligation 'start-mesage:e2'" in err
    assert "did you mean 'start-message:e2'?" in err


def test_json_output_holds_the_obligation_and_the_unknown_ids(
    capsys: pytest.CaptureFixture[str], events_file: Path
) -> None:
    code, out, err = explain(capsys, events_file, "start-message:e2", "nope", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["as_of"] == AS_OF
    assert data["unknown"] == ["nope"]
    [ob] = data["obligations"]
    assert ob["obligation"] == "start-message:e2"
    assert ob["status"] == "due"
    assert ob["deadline"] == "2026-12-22T23:59:59+01:00"
    assert any(
        "-> tisdag 22 december 2026 (ej vardagar: julafton 24 december 2026" in s
        for s in ob["trace"]
    )
    assert "'nope'" in err


def test_json_with_every_id_known_is_exit_0(
    capsys: pytest.CaptureFixture[str], events_file: Path
) -> None:
    code, out, _err = explain(capsys, events_file, "start-journal:e2", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["unknown"] == []
    assert [o["obligation"] for o in data["obligations"]] == ["start-journal:e2"]


def test_bad_input_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, err = explain(capsys, tmp_path / "missing.jsonl", "start-message:e2")
    assert code == 2
    assert "samverkan explain: error:" in err
    code, _out, err = run(
        capsys,
        "explain",
        "--routine",
        str(ROUTINE),
        "--events",
        str(tmp_path / "x.jsonl"),
        "--as-of",
        "2026-12-15T12:00:00",
        "start-message:e2",
    )
    assert code == 2
    assert "no UTC offset" in err


def test_no_obligation_id_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], events_file: Path
) -> None:
    code, _out, err = explain(capsys, events_file)
    assert code == 2
    assert "name an obligation id" in err and "--case and --rule" in err


def test_explain_shows_what_to_do_who_and_when(
    capsys: pytest.CaptureFixture[str], events_file: Path
) -> None:
    code, out, _err = explain(capsys, events_file, "start-message:e2")
    assert code == 0
    assert "Gör:         Skicka meddelande om start till hemvårdens Treservabrevlåda\n" in out
    assert "Ansvarig:    Dagverksamheten\n" in out
    assert "Senast:      tisdag 22 december 2026\n" in out
    assert "Räknas från: planerat startdatum, måndag 28 december 2026\n" in out
    assert (
        "Utlöst av:   Planerad start på dagverksamhet (e2), "
        "registrerad tisdag 1 december 2026 kl. 10.00\n" in out
    )


@pytest.mark.parametrize("how", ["option", "environment"])
def test_explain_in_english(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    events_file: Path,
    how: str,
) -> None:
    if how == "option":
        monkeypatch.setenv("LANG", "sv_SE.UTF-8")  # --lang wins over the environment
        code, out, _err = explain(capsys, events_file, "start-message:e2", "--lang", "en")
    else:
        monkeypatch.setenv("LANG", "en_GB.UTF-8")
        code, out, _err = explain(capsys, events_file, "start-message:e2")
    assert code == 0
    assert out.startswith("Action start-message:e2\n")
    assert "  Rule:           start-message\n" in out
    assert "  Status:         to do (due)\n" in out
    assert "  By:             Tuesday 22 December 2026\n" in out
    assert "  Steps:\n" in out
    # the rule's interpretation is the routine's own words: its label is translated
    assert "  Interpretation: Dokumentet säger inget om ändrade planer." in out
    for swedish in ("Skyldighet", "Regel:", "Senast:", "Steg:", "Tolkning:", "tisdag"):
        assert swedish not in out


def test_explain_in_english_writes_the_steps_in_english_too(
    capsys: pytest.CaptureFixture[str], events_file: Path
) -> None:
    code, out, _err = explain(capsys, events_file, "start-message:e2", "--lang", "en")
    assert code == 0
    assert "triggered by Planerad start på dagverksamhet (e2)" in out
    assert "2 working days before Monday 28 December 2026 -> Tuesday 22 December 2026" in out
    for swedish in ("utlöst av", "vardagar före", "status vid", "frist:"):
        assert swedish not in out


def test_json_explanations_follow_lang_not_the_locale(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, events_file: Path
) -> None:
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    code, out, _err = explain(capsys, events_file, "start-message:e2", "--format", "json")
    assert code == 0
    assert "utlöst av" in json.loads(out)["obligations"][0]["explanation"]
    code, out, _err = explain(
        capsys, events_file, "start-message:e2", "--format", "json", "--lang", "en"
    )
    assert "triggered by" in json.loads(out)["obligations"][0]["explanation"]


BAD_DATE: dict[str, Any] = event(
    id="e3",
    type="dagverksamhet.start_planned",
    at="2026-12-02T10:00:00+01:00",
    start_date="2027-02-30",
)
UNKNOWN: dict[str, Any] = event(id="e4", type="consent.givn", at="2026-12-02T10:00:00+01:00")


@pytest.mark.parametrize("asked", [["start-message:e2"], ["--case", "c1", "--rule", "end-message"]])
def test_bad_events_are_reported_in_swedish_and_the_rest_explained(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, asked: list[str]
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(jsonl([CONSENT, START, "{not json", BAD_DATE, UNKNOWN]), encoding="utf-8")
    code, out, err = explain(capsys, path, *asked)
    assert code == 1
    assert out  # the good events are explained all the same
    assert f"{path}:3: inte giltig JSON: " in err
    if asked[0] == "--case":  # why a rule raised nothing: the lines that could not be read
        assert "samverkan explain: 1 problem med händelser i" in err
        assert "ingen händelse av typen Planerat avslut på dagverksamhet" in out
        return
    assert f"{path}:4: data.start_date: händelse 'e3': data.start_date måste vara " in err
    assert "30 februari finns inte" in err
    assert f"{path}:5: type: händelse 'e4': okänd händelsetyp 'consent.givn'" in err
    assert "samverkan explain: 3 problem med händelser i" in err
    _code, _out, english = explain(capsys, path, *asked, "--lang", "en")
    assert f"{path}:3: not valid JSON: " in english
    assert "February 30 does not exist" in english
    assert f"{path}:5: type: event 'e4': unknown event type 'consent.givn'" in english


def test_event_problems_keep_their_codes_in_every_language(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(jsonl([CONSENT, START, "{not json", BAD_DATE, UNKNOWN]), encoding="utf-8")
    codes = {}
    for lang in ("sv", "en"):
        _code, out, _err = run(
            capsys,
            "due",
            "--routine",
            str(ROUTINE),
            "--events",
            str(path),
            "--as-of",
            AS_OF,
            "--format",
            "json",
            "--lang",
            lang,
        )
        codes[lang] = [(d["line"], d["code"]) for d in json.loads(out)["diagnostics"]]
    assert (
        codes["sv"]
        == codes["en"]
        == [(3, "event.bad-json"), (4, "event.bad-field"), (5, "event.unknown-type")]
    )
