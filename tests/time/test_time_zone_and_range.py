"""Time zones, the calendar's supported range and unusable distances: located errors, exit 2.

A misspelt ``calendar.time_zone`` used to surface as an internal error after every other
problem was fixed; an ``--as-of`` outside the calendar as exit 3; ``working_days:
1000000000`` validated and then made every obligation vanish.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from samverkan_rules import RoutineError, check_routine_text, load_routine, load_routine_text
from samverkan_rules.cli import main
from samverkan_rules.errors import CalendarError
from samverkan_rules.language.models.time import MAX_DISTANCE
from samverkan_rules.time.calendar import WorkingCalendar, sweden_calendar
from samverkan_rules.time.instants import (
    SUPPORTED_FIRST_DAY,
    SUPPORTED_LAST_DAY,
    SUPPORTED_RANGE,
    check_supported,
    parse_rfc3339,
)
from tests.support import EXAMPLES, ROUTINES

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
EVENTS = EXAMPLES / "orebro-case.jsonl"
TEXT = ROUTINE.read_text(encoding="utf-8")
ZONE_LINE = "time_zone: Europe/Stockholm"
BUG = "This is a bug"


def with_zone(value: str, text: str = TEXT) -> str:
    assert ZONE_LINE in text
    return text.replace(ZONE_LINE, f"time_zone: {value}", 1)


# --------------------------------------------------------------------------- time zones


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("Europe/Stokholm", "did you mean 'Europe/Stockholm'?"),
        ('""', "the time zone is empty"),
        ('"/etc/localtime"', "not a file path"),
        ('"../../etc/passwd"', "not a file path"),
        ('"Europe/Stock\\0holm"', "control character"),
        ("Europe", "unknown time zone 'Europe'"),
        ("42", "unknown time zone '42'"),
    ],
)
def test_a_bad_time_zone_is_a_located_error(value: str, words: str) -> None:
    check = check_routine_text(with_zone(value), file="r.yaml")
    assert check.routine is None
    [diag] = [d for d in check.diagnostics if d.path == "calendar.time_zone"]
    line = TEXT[: TEXT.index(ZONE_LINE)].count("\n") + 1
    assert (diag.file, diag.line, diag.column) == ("r.yaml", line, 3)
    assert words in diag.format()


def test_a_bad_time_zone_is_reported_with_the_files_other_errors() -> None:
    text = with_zone("Europe/Stokholm").replace("valid_from: 2020-01-01", "valid_from: 2020-02-31")
    check = check_routine_text(text, file="r.yaml")
    paths = {d.path for d in check.diagnostics}
    assert {"calendar.time_zone", "valid_from"} <= paths


def test_load_routine_raises_routine_error_with_diagnostics(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(with_zone("Europe/Stokholm"), encoding="utf-8")
    with pytest.raises(RoutineError) as info:
        load_routine(path)
    assert [d.path for d in info.value.diagnostics] == ["calendar.time_zone"]
    with pytest.raises(RoutineError):
        load_routine_text(with_zone('""'))


@pytest.fixture
def zone_typo(tmp_path: Path) -> Path:
    path = tmp_path / "typo.yaml"
    path.write_text(with_zone("Europe/Stokholm"), encoding="utf-8")
    return path


def test_validate_reports_the_zone_and_the_other_valid_files(
    zone_typo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", "--lang", "en", str(zone_typo), str(ROUTINES)])
    out, err = capsys.readouterr()
    assert code == 1
    line = 1 + zone_typo.read_text(encoding="utf-8").split("\n").index(
        next(x for x in zone_typo.read_text(encoding="utf-8").split("\n") if "time_zone:" in x)
    )
    assert f"{zone_typo}:{line}:3: calendar.time_zone: unknown time zone 'Europe/Stokholm'" in out
    n = len(list(ROUTINES.glob("*.yaml")))
    assert f"{n} valid, 1 with errors" in out
    assert BUG not in err


@pytest.mark.parametrize("command", ["due", "render", "test"])
def test_other_commands_report_the_zone_error_not_a_bug(
    command: str, zone_typo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = {
        "due": [
            "due",
            "--routine",
            str(zone_typo),
            "--events",
            str(EVENTS),
            "--as-of",
            "2026-12-15T12:00:00+01:00",
        ],
        "render": ["render", str(zone_typo)],
        "test": ["test", str(zone_typo)],
    }[command]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code in (1, 2)
    assert "calendar.time_zone" in out + err
    assert BUG not in err


# --------------------------------------------------------------------------- supported range


def test_the_range_is_the_default_calendars() -> None:
    calendar = sweden_calendar()
    assert (calendar.first_day, calendar.last_day) == (SUPPORTED_FIRST_DAY, SUPPORTED_LAST_DAY)
    assert SUPPORTED_RANGE == "1990-01-01..2100-12-31"
    assert WorkingCalendar().last_day == SUPPORTED_LAST_DAY


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "2101-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-01:00",
        "2100-12-31T23:00:00+00:00",  # already 2101 in Stockholm
        "1989-12-31T22:59:59+00:00",
    ],
)
def test_instants_outside_the_range_are_refused_by_name(text: str) -> None:
    with pytest.raises(CalendarError, match=r"--as-of .* outside the supported range 1990"):
        check_supported(parse_rfc3339(text), ZoneInfo("Europe/Stockholm"), "--as-of")


@pytest.mark.parametrize("text", ["1989-12-31T23:00:00+00:00", "2100-12-31T22:59:59+00:00"])
def test_the_ends_of_the_range_are_inside(text: str) -> None:
    check_supported(parse_rfc3339(text), ZoneInfo("Europe/Stockholm"))


@pytest.mark.parametrize(
    "as_of",
    [
        "0001-01-01T00:00:00Z",
        "2101-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "2100-12-31T23:00:00+00:00",
    ],
)
@pytest.mark.parametrize("command", ["due", "explain"])
def test_an_as_of_outside_the_range_is_exit_2(
    as_of: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [command, "--routine", str(ROUTINE), "--events", str(EVENTS), "--as-of", as_of]
    if command == "explain":
        argv.append("start-message:e2")
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "--as-of" in err and "outside the supported range 1990-01-01..2100-12-31" in err
    assert BUG not in err


@pytest.mark.parametrize("routine", sorted(ROUTINES.glob("*.yaml")), ids=lambda p: p.stem)
@pytest.mark.parametrize("as_of", ["1990-01-01T00:00:00+01:00", "2100-12-31T23:59:59+01:00"])
def test_every_routine_evaluates_at_the_ends_of_the_range(
    routine: Path, as_of: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Schedules look weeks ahead of as_of; near 2100 they find no occurrence, not a crash.
    code = main(["due", "--routine", str(routine), "--events", str(EVENTS), "--as-of", as_of])
    assert code in (0, 1), capsys.readouterr().err
    assert BUG not in capsys.readouterr().err


# --------------------------------------------------------------------------- distances


@pytest.mark.parametrize(
    ("original", "replacement", "unit"),
    [
        ("working_days: 2", "working_days: 1000000000", "working_days"),
        ("working_days: 2", "working_days: 2501", "working_days"),
    ],
)
def test_an_unusable_distance_is_refused_at_load_time_with_its_limit(
    original: str, replacement: str, unit: str
) -> None:
    check = check_routine_text(TEXT.replace(original, replacement, 1), file="r.yaml")
    assert check.routine is None
    [diag] = check.diagnostics
    assert diag.path is not None and diag.path.endswith(f"deadline.{unit}")
    assert diag.line is not None
    assert f"less than or equal to {MAX_DISTANCE[unit]}" in diag.message
    assert diag.hint is not None and "ten years" in diag.hint


def test_the_largest_distance_still_loads_and_evaluates(tmp_path: Path) -> None:
    text = TEXT.replace("working_days: 2", f"working_days: {MAX_DISTANCE['working_days']}", 1)
    routine = load_routine_text(text)
    assert routine.id == "orebro-dagverksamhet-hemvard"


@pytest.mark.parametrize("unit", ["working_days", "days", "weeks", "months", "hours", "minutes"])
def test_every_unit_has_a_limit_in_the_schema(unit: str) -> None:
    from samverkan_rules.language.models.time import TimeSpec

    schema = TimeSpec.model_json_schema()
    limits = [
        option.get("maximum")
        for option in schema["properties"][unit]["anyOf"]
        if option.get("type") == "integer"
    ]
    assert limits == [MAX_DISTANCE[unit]]


@pytest.mark.parametrize("as_of", ["0001-01-01T00:00:00+01:00", "2101-01-01T00:00:00Z"])
def test_a_scenario_as_of_outside_the_range_fails_by_name(
    as_of: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenarios = ROUTINES / "tests" / "orebro-dagverksamhet-hemvard"
    source = sorted(scenarios.glob("*.yaml"))[0].read_text(encoding="utf-8")
    target = tmp_path / "tests" / "orebro-dagverksamhet-hemvard"
    target.mkdir(parents=True)
    (tmp_path / ROUTINE.name).write_bytes(ROUTINE.read_bytes())
    import re

    (target / "x.yaml").write_text(
        re.sub(r"as_of: .*", f'as_of: "{as_of}"', source), encoding="utf-8"
    )
    code = main(["test", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "outside the supported range 1990-01-01..2100-12-31" in out
    assert BUG not in err


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("valid_from", "0001-01-01"),
        ("valid_from", "9999-12-31"),
        ("valid_from", "1989-12-31"),
        ("valid_to", "2101-01-01"),
    ],
)
def test_validity_dates_outside_the_range_are_located_errors(key: str, value: str) -> None:
    # valid_from 0001-01-01 on a routine with schedules ended evaluation in OverflowError.
    import re

    text = (ROUTINES / "dagverksamhet-beslut.yaml").read_text(encoding="utf-8")
    if key == "valid_to":
        text = re.sub(r"^valid_from: .*$", r"\g<0>\nvalid_to: " + value, text, count=1, flags=re.M)
    else:
        text = re.sub(r"^valid_from: .*$", f"valid_from: {value}", text, count=1, flags=re.M)
    check = check_routine_text(text, file="r.yaml")
    [diag] = [d for d in check.diagnostics if d.is_error]
    assert (diag.path, diag.code) == (key, "schema.date_range")
    assert diag.line is not None
    assert f"{value} is outside the supported range 1990-01-01..2100-12-31" in diag.message


def test_a_schedule_start_outside_the_range_is_a_located_error() -> None:
    text = (ROUTINES / "katrineholm-hemtjanst-vardcentral.yaml").read_text(encoding="utf-8")
    marker = "    every: week\n"
    assert marker in text
    check = check_routine_text(text.replace(marker, marker + "    starts: 0001-01-01\n", 1))
    [diag] = [d for d in check.diagnostics if d.is_error]
    assert diag.path is not None and diag.path.endswith(".starts")
    assert "outside the supported range" in diag.message
