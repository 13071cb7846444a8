"""The ``samverkan`` command line, called in-process through ``samverkan_rules.cli.main``."""

from __future__ import annotations

import io
import json
import random
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from samverkan_rules import __version__, engine
from samverkan_rules.cli import main
from samverkan_rules.engine import Evaluator
from samverkan_rules.schemas import SCHEMAS
from tests.support import ROOT, ROUTINES, event

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
AS_OF = "2026-12-15T12:00:00+01:00"

Record = dict[str, Any]

CONSENT: Record = event(
    id="e1", type="consent.given", at="2026-12-01T09:00:00+01:00", form="written"
)
START: Record = event(
    id="e2",
    type="dagverksamhet.start_planned",
    at="2026-12-01T10:00:00+01:00",
    start_date="2026-12-28",
    form="dagrehab",
)
# A second case whose message was sent and acknowledged: fulfilled obligations in the ledger.
CASE_2: list[Record] = [
    event(id="f1", case="c2", type="consent.given", at="2026-12-02T08:00:00+01:00", form="oral"),
    event(
        id="f2",
        case="c2",
        type="dagverksamhet.start_planned",
        at="2026-12-02T09:00:00+01:00",
        start_date="2027-01-11",
    ),
    event(
        id="f3",
        case="c2",
        type="message.sent",
        at="2026-12-03T14:00:00+01:00",
        kind="start",
        to=["hemvard.driftsplanerare"],
        refers_to="f2",
    ),
    event(
        id="f4",
        case="c2",
        type="message.acknowledged",
        at="2026-12-04T08:15:00+01:00",
        message="f3",
    ),
]


def jsonl(records: Sequence[Mapping[str, Any] | str]) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def due(
    capsys: pytest.CaptureFixture[str], events: Path | str, *extra: str
) -> tuple[int, str, str]:
    return run(
        capsys, "due", "--routine", str(ROUTINE), "--events", str(events), "--as-of", AS_OF, *extra
    )


def action(result: dict[str, object], case: str, rule: str) -> dict[str, object]:
    cases = result["cases"]
    assert isinstance(cases, list)
    for c in cases:
        if c["case"] == case:
            for a in c["actions"]:
                if a["rule"] == rule:
                    assert isinstance(a, dict)
                    return a
    raise AssertionError(f"no action for rule {rule} in case {case}")


@pytest.fixture()
def events_file(tmp_path: Path) -> Path:
    return write(tmp_path / "events.jsonl", jsonl([CONSENT, START]))


# --------------------------------------------------------------------------- validate


def test_validate_bundled_routine_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "validate", "--lang", "en", str(ROUTINE))
    assert code == 0
    assert "1 routine(s) checked: 1 valid, 0 with errors" in out


def test_validate_directory(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "validate", "--lang", "en", str(ROUTINES))
    assert code == 0
    assert "0 with errors" in out


def _broken_routine(tmp_path: Path) -> tuple[Path, int, int]:
    """The bundled routine with one responsible role misspelt; returns file, line, column."""
    text = ROUTINE.read_text(encoding="utf-8")
    good = "responsible: hemvard.driftsplanerare"
    assert good in text, "the bundled routine changed; pick another role to misspell"
    broken = text.replace(good, "responsible: hemvard.driftsplanrare", 1)
    path = write(tmp_path / "broken.yaml", broken)
    for number, line in enumerate(broken.splitlines(), start=1):
        if "hemvard.driftsplanrare" in line:
            return path, number, line.index("responsible") + 1
    raise AssertionError("unreachable")


def test_validate_unknown_role_names_file_line_column_and_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, line, column = _broken_routine(tmp_path)
    code, out, _err = run(capsys, "validate", "--lang", "en", str(path), "--today", "2026-01-01")
    assert code == 1
    assert f"{path}:{line}:{column}: rule " in out  # named by its id and its place
    assert ".action.responsible): unknown role 'hemvard.driftsplanrare'" in out
    assert "Hint: did you mean 'hemvard.driftsplanerare'?" in out
    assert "    responsible: hemvard.driftsplanrare" in out  # the source line ...
    assert "\n    " + " " * (column - 1) + "^" in out  # ... and a caret under the value
    assert "1 routine(s) checked: 0 valid, 1 with errors" in out


def test_validate_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, line, _column = _broken_routine(tmp_path)
    code, out, _err = run(
        capsys, "validate", "--lang", "en", str(path), str(ROUTINE), "--format", "json"
    )
    assert code == 1
    report = json.loads(out)
    broken, good = report["routines"]
    assert broken["file"] == str(path)
    assert (broken["id"], broken["version"], broken["valid"]) == (
        "orebro-dagverksamhet-hemvard",
        "2",
        False,
    )
    [diag] = [d for d in broken["diagnostics"] if d["level"] == "error"]
    assert diag["code"] == "routine.unknown-role"
    assert diag["line"] == line
    assert good["valid"] is True


def test_validate_reports_passed_review_as_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = ROUTINE.read_text(encoding="utf-8")
    text = text.replace("\nowner:", "\nreview_by: 2025-06-30\nowner:", 1)
    path = write(tmp_path / "old.yaml", text)
    sources = str(ROUTINES / "sources")
    code, out, _err = run(
        capsys, "validate", "--lang", "en", str(path), "--today", "2026-01-01", "--sources", sources
    )
    assert code == 0
    assert "warning: review_by: the routine was due for review on 2025-06-30" in out
    assert "1 valid, 0 with errors, 1 warning(s)" in out


def test_validate_nonexistent_path_is_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yaml"
    code, _out, err = run(capsys, "validate", "--lang", "en", str(missing))
    assert code == 2
    assert f"{missing}: no such file or directory" in err


def test_validate_directory_without_routines_is_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, "validate", "--lang", "en", str(tmp_path))
    assert code == 2
    assert "no routine files" in err


def test_validate_bad_today_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, "validate", "--lang", "en", str(ROUTINE), "--today", "2024-02-98")
    assert code == 2
    assert "YYYY-MM-DD" in err


# --------------------------------------------------------------------------- due


def test_due_json_deadline(events_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = due(capsys, events_file, "--format", "json")
    assert code == 0
    result = json.loads(out)
    start = action(result, "c1", "start-message")
    assert start["deadline"] == "2026-12-22T23:59:59+01:00"
    assert start["status"] == "due"
    assert result["as_of"] == AS_OF


def test_due_json_is_the_evaluation_contract(
    events_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import datetime

    from samverkan_rules import load_routine, read_events

    _code, out, _err = due(capsys, events_file, "--format", "json")
    expected = engine.evaluate(
        [load_routine(ROUTINE)], read_events(events_file), datetime.fromisoformat(AS_OF)
    ).to_json()
    assert out == expected + "\n"


def test_due_text_for_a_person(events_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = due(capsys, events_file)
    assert code == 0
    assert "Ärende c1" in out
    assert "[att göra] Meddelande om start till hemvården" in out
    assert "tisdag 22 december 2026" in out
    assert "Dagverksamheten" in out  # the responsible role's label
    assert "Driftsplanerare/Verksamhetsstödjare/extern utförare" in out  # a recipient's label
    assert "Hemvårdens Treservabrevlåda" in out  # the channel's label
    assert "orebro-dagverksamhet-hemvard version 2" in out
    assert "Tolkning:" in out


def test_due_text_shows_the_id_and_says_only_what_to_do(
    events_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _code, out, _err = due(capsys, events_file)
    block = out.split("[att göra] Meddelande om start till hemvården", 1)[1].split("\n\n", 1)[0]
    assert block.startswith(" (start-message:e2)\n")  # the id to give samverkan explain
    do = next(line for line in block.splitlines() if line.strip().startswith("Gör:"))
    assert do.split("Gör:", 1)[1].strip() == (
        "Skicka meddelande om start till hemvårdens Treservabrevlåda"
    )
    assert "      Ansvarig:    Dagverksamheten\n" in block
    assert "      Senast:      tisdag 22 december 2026\n" in block
    # the day the deadline counts from, apart from when the plan was recorded
    assert "      Räknas från: planerat startdatum, måndag 28 december 2026\n" in block
    assert "      Utlöst av:   Planerad start på dagverksamhet (e2), registrerad " in block


@pytest.mark.parametrize("how", ["option", "environment"])
def test_due_text_in_english(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    events = write(tmp_path / "e.jsonl", jsonl([CONSENT, START, *CASE_2]))
    argv = ["due", "--routine", str(ROUTINE), "--events", str(events)]
    argv += ["--as-of", "2026-12-30T10:00:00+01:00", "--all"]
    if how == "option":
        monkeypatch.setenv("LC_ALL", "sv_SE.UTF-8")  # --lang wins over the environment
        argv += ["--lang", "en"]
    else:
        monkeypatch.setenv("LC_MESSAGES", "en_US.UTF-8")
    code, out, _err = run(capsys, *argv)
    assert code == 0
    assert out.startswith(
        "Status as of Wednesday 30 December 2026 at 10:00 (2026-12-30T10:00:00+01:00)\n"
    )
    assert "[overdue] Meddelande om start till hemvården (start-message:e2)" in out
    assert "      Responsible:    Dagverksamheten\n" in out
    assert "      By:             Tuesday 22 December 2026\n" in out
    assert "      Overdue:        4 working days past the deadline\n" in out
    assert "All actions of the case" in out
    # the routine's own words (titles, descriptions, content) stay as written, in Swedish
    # (an interpretation's reason may say "vardagar"; the tool's own phrases must not)
    swedish_phrases = ("Ärende c", "Ansvarig:", "Senast:", "vardagar efter", "tisdag 2026")
    for swedish in (*swedish_phrases, "[försenad]"):
        assert swedish not in out


def test_due_text_singular_and_plural_working_days(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = write(tmp_path / "e.jsonl", jsonl([CONSENT, START]))
    argv = ["due", "--routine", str(ROUTINE), "--events", str(events), "--as-of"]
    _code, one, _err = run(capsys, *argv, "2026-12-23T10:00:00+01:00")
    assert re.search(r"Försenad: +1 vardag efter fristen\n", one)
    _code, four, _err = run(capsys, *argv, "2026-12-30T10:00:00+01:00")
    assert re.search(r"Försenad: +4 vardagar efter fristen\n", four)
    assert "vardag(ar)" not in one + four


def test_due_text_overdue_and_all(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = write(tmp_path / "e.jsonl", jsonl([CONSENT, START, *CASE_2]))
    code, out, _err = run(
        capsys,
        "due",
        "--routine",
        str(ROUTINE),
        "--events",
        str(events),
        "--as-of",
        "2026-12-30T10:00:00+01:00",
        "--all",
    )
    assert code == 0
    assert "[försenad] Meddelande om start till hemvården" in out
    assert "Försenad:" in out and "vardagar efter fristen" in out
    assert "Alla åtgärder i ärendet" in out
    assert "gjord av f3" in out


def test_due_bad_lines_are_reported_and_good_lines_evaluated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    naive = {**START, "id": "e3", "at": "2026-12-01T10:00:00"}
    unknown = {**CONSENT, "id": "e4", "type": "consent.givn"}
    duplicate = {**CONSENT, "at": "2026-12-02T09:00:00+01:00"}  # e1 again, different event
    events = write(
        tmp_path / "bad.jsonl",
        jsonl([CONSENT, '{"id": "e9", "case": ', naive, unknown, duplicate, START]),
    )
    code, out, err = due(capsys, events, "--format", "json")
    assert code == 1
    # Staff read the problems in Swedish, as the rest of the command.
    assert f"{events}:2: inte giltig JSON: " in err
    assert "Tips: skriv ett JSON-objekt per rad" in err
    assert (
        f"{events}:3: at: händelse 'e3': tidpunkten '2026-12-01T10:00:00' saknar "
        "tidsskillnad mot UTC" in err
    )
    assert f"{events}:4: type: händelse 'e4': okänd händelsetyp 'consent.givn'" in err
    assert "menade du 'consent.given'?" in err
    assert f"{events}:5: händelse-id 'e1' används av 2 olika händelser (rad 1, 5)" in err
    assert "samverkan due: 4 problem med händelser i" in err  # the summary for staff
    assert "event" not in err.replace(str(events), "")
    _code, _out, english = due(capsys, events, "--format", "json", "--lang", "en")
    assert f"{events}:2: not valid JSON" in english
    assert f"{events}:3: at: event 'e3': timestamp '2026-12-01T10:00:00' is naive" in english
    assert f"{events}:4: type: event 'e4': unknown event type 'consent.givn'" in english
    assert "did you mean 'consent.given'?" in english
    assert f"{events}:5: event id 'e1' is used by 2 different events (lines 1, 5)" in english
    assert "samverkan due: 4 problems with events in" in english
    result = json.loads(out)  # the full result is printed all the same
    assert action(result, "c1", "start-message")["deadline"] == "2026-12-22T23:59:59+01:00"
    lines = sorted(d["line"] for d in result["diagnostics"] if d["level"] == "error")
    assert lines == [2, 3, 4, 5]


def test_due_bad_lines_in_text_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = write(tmp_path / "bad.jsonl", jsonl([CONSENT, "not json", START]))
    code, out, err = due(capsys, events)
    assert code == 1
    assert "tisdag 22 december 2026" in out
    assert f"{events}:2: inte giltig JSON: " in err


def test_due_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = ["id,case,type,at,data"]
    for e in (CONSENT, START):
        data = json.dumps(e["data"]).replace('"', '""')
        rows.append(f'{e["id"]},{e["case"]},{e["type"]},{e["at"]},"{data}"')
    events = write(tmp_path / "events.csv", "\n".join(rows) + "\n")
    code, out, _err = due(capsys, events, "--format", "json")
    assert code == 0
    assert action(json.loads(out), "c1", "start-message")["deadline"] == (
        "2026-12-22T23:59:59+01:00"
    )


def test_due_reads_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(jsonl([CONSENT, START])))
    code, out, _err = due(capsys, "-", "--format", "json")
    assert code == 0
    assert action(json.loads(out), "c1", "start-message")["status"] == "due"


def test_due_case_filter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = write(tmp_path / "e.jsonl", jsonl([CONSENT, START, *CASE_2]))
    code, out, _err = due(capsys, events, "--case", "c2", "--format", "json")
    assert code == 0
    assert [c["case"] for c in json.loads(out)["cases"]] == ["c2"]


def test_due_naive_as_of_is_usage_error(
    events_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(
        capsys,
        "due",
        "--routine",
        str(ROUTINE),
        "--events",
        str(events_file),
        "--as-of",
        "2026-12-15T12:00:00",
    )
    assert code == 2
    assert "no UTC offset" in err
    assert "2026-12-15T12:00:00+01:00" in err  # what to write instead


def test_due_missing_events_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.jsonl"
    code, _out, err = due(capsys, missing)
    assert code == 2
    assert f"cannot read events from {missing}" in err


def test_due_invalid_routine_prints_its_errors(
    tmp_path: Path, events_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, line, column = _broken_routine(tmp_path)
    code, out, err = run(
        capsys, "due", "--routine", str(path), "--events", str(events_file), "--as-of", AS_OF
    )
    assert code == 2
    assert out == ""
    assert f"{path}:{line}:{column}:" in err
    assert "the routine has errors" in err


def test_due_internal_error_exits_3_without_traceback(
    events_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.delenv("SAMVERKAN_DEBUG", raising=False)
    monkeypatch.setattr(Evaluator, "evaluate_case", explode)
    code, _out, err = due(capsys, events_file)
    assert code == 3
    assert "internal error: RuntimeError: boom" in err


@pytest.mark.parametrize("debug", [False, True])
def test_an_environment_error_is_one_line_and_a_traceback_only_when_debugging(
    debug: bool,
    events_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def refused(*_args: object, **_kwargs: object) -> None:
        raise OSError(9, "Bad file descriptor")

    if debug:
        monkeypatch.setenv("SAMVERKAN_DEBUG", "1")
    else:
        monkeypatch.delenv("SAMVERKAN_DEBUG", raising=False)
    monkeypatch.setattr(Evaluator, "evaluate_case", refused)
    argv = ["due", "--routine", str(ROUTINE), "--events", str(events_file), "--as-of", AS_OF]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.endswith(
        "samverkan: error: Bad file descriptor; check the path and its permissions\n"
    )
    assert ("Traceback" in err) is debug


def test_due_json_is_byte_identical_for_shuffled_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records: list[Record] = [CONSENT, START, *CASE_2]
    outputs = set()
    for seed in range(5):
        shuffled = list(records)
        random.Random(seed).shuffle(shuffled)
        events = write(tmp_path / "events.jsonl", jsonl(shuffled))
        code, out, _err = due(capsys, events, "--format", "json")
        assert code == 0
        outputs.add(out)
    assert len(outputs) == 1


# --------------------------------------------------------------------------- schema


def test_schema_prints_routine_schema_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "schema")
    assert code == 0
    assert json.loads(out)["$id"].endswith("routine.schema.json")


def test_schema_write_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "schema", "--check", str(tmp_path))
    assert code == 1
    assert "missing" in out and "samverkan schema --write" in err
    assert run(capsys, "schema", "--write", str(tmp_path))[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(SCHEMAS)
    assert run(capsys, "schema", "--check", str(tmp_path))[0] == 0
    (tmp_path / "event.schema.json").write_text("{}\n", encoding="utf-8")
    code, out, _err = run(capsys, "schema", "--check", str(tmp_path))
    assert code == 1
    assert "event.schema.json: stale" in out


def test_schema_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, "schema", "routines")
    assert code == 2
    assert "use one of routine, event, evaluation" in err


# --------------------------------------------------------------------------- the program


def test_no_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys)[0] == 2


def test_python_dash_m_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "samverkan_rules", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"samverkan {__version__}"


def test_due_on_a_directory_of_several_routines_needs_an_id(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    events = write(tmp_path / "e.jsonl", jsonl([CONSENT, START]))
    routines = tmp_path / "routines"
    routines.mkdir()
    for name in ("dagverksamhet-beslut.yaml", ROUTINE.name):
        write(routines / name, (ROUTINES / name).read_text(encoding="utf-8"))
    code, _, err = run(
        capsys, "due", "--routine", str(routines), "--events", str(events), "--as-of", AS_OF
    )
    assert code == 2
    assert "holds 2 different routines" in err
    assert "--id dagverksamhet-beslut" in err


def test_due_with_an_id_judges_each_event_by_the_version_in_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Both Örebro versions: a 2026 message to a role only the newer version has is valid.
    events = write(tmp_path / "e.jsonl", jsonl([CONSENT, START, *CASE_2]))
    code, out, err = run(
        capsys,
        "due",
        "--routine",
        str(ROUTINES),
        "--id",
        "orebro-dagverksamhet-hemvard",
        "--events",
        str(events),
        "--as-of",
        AS_OF,
        "--format",
        "json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert [(r["id"], r["version"], r["valid_to"]) for r in result["routines"]] == [
        ("orebro-dagverksamhet-hemvard", "2", None),
        ("orebro-dagverksamhet-hemvard", "2014", "2019-12-31"),
    ]
    start = action(result, "c1", "start-message")
    assert start["routine"] == {"id": "orebro-dagverksamhet-hemvard", "version": "2"}
    assert start["deadline"] == "2026-12-22T23:59:59+01:00"
    assert not [d for d in result["diagnostics"] if d["level"] == "error"]


def test_due_with_an_unknown_id_is_bad_usage(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    events = write(tmp_path / "e.jsonl", jsonl([CONSENT]))
    code, _, err = run(
        capsys,
        "due",
        "--routine",
        str(ROUTINES),
        "--id",
        "nope",
        "--events",
        str(events),
        "--as-of",
        AS_OF,
    )
    assert code == 2
    assert "--id nope: no such routine" in err


def test_help_lists_every_command_without_loading_them() -> None:
    code = (
        "import sys\n"
        "from samverkan_rules.cli import COMMANDS, main\n"
        "main(['--help'])\n"
        "loaded = [m for m in sys.modules\n"
        "          if m.endswith('_cmd') or m == 'samverkan_rules.language.models']\n"
        "print('LOADED', loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    for name in ("validate", "due", "explain", "test", "render", "schema"):
        assert name in done.stdout
    assert "LOADED []" in done.stdout


def test_every_command_registers_in_full() -> None:
    from samverkan_rules.cli import COMMANDS, build_parser

    parser = build_parser(every=True)
    for name in COMMANDS:
        args = parser.parse_args([name, *_minimal_args(name)])
        assert callable(args.run)


def _minimal_args(name: str) -> list[str]:
    needs = {
        "validate": ["x.yaml"],
        "due": ["--routine", "r", "--events", "e", "--as-of", AS_OF],
        "explain": ["--routine", "r", "--events", "e", "--as-of", AS_OF, "o"],
        "test": ["routines"],
        "render": ["r.yaml"],
        "schema": [],
        "serve": ["--routines", "r", "--store", "s.db"],
        "audit": ["--routines", "r", "--events", "e", "--out", "o"],
    }
    return needs.get(name, [])


def test_due_names_what_a_remedy_unblocks_by_title_with_the_id_after_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = write(tmp_path / "e.jsonl", jsonl([START]))  # no consent: the start message waits
    code, out, _err = due(capsys, events)
    assert code == 0
    row = next(line for line in out.splitlines() if "Låser upp:" in line)
    assert row.endswith("Låser upp:  Meddelande om start till hemvården (start-message:e2)"), row
