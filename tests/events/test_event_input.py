"""Event input as people count lines: hostile lines are reported where they are, nothing else
is lost, and limits are stated before their cost is paid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from samverkan_rules import EventError
from samverkan_rules.events.limits import EventLimits
from samverkan_rules.events.read import read_events, read_events_bytes, read_events_text


def line(ident: str, at: str = "2026-12-01T09:00:00+01:00", **data: object) -> str:
    record = {"id": ident, "case": "c1", "type": "hemvard.enrolled", "at": at, "data": data}
    return json.dumps(record, ensure_ascii=False)


def ids_and_problems(text: str, fmt: str = "jsonl") -> tuple[list[str], list[tuple[str, int]]]:
    batch = read_events_text(text, format=fmt, file="events")
    return [e.id for e in batch.events], sorted((d.code, d.line or 0) for d in batch.diagnostics)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\u000b"])
def test_unicode_separators_inside_a_string_do_not_split_the_line(separator: str) -> None:
    text = "\n".join([line("e1", note=f"a{separator}b"), line("e2"), "{bad"]) + "\n"
    ids, problems = ids_and_problems(text)
    assert ids == ["e1", "e2"]
    assert problems == [("event.bad-json", 3)]  # still line 3: nothing was split


def test_a_raw_form_feed_in_a_string_is_invalid_json_on_its_own_line() -> None:
    text = "\n".join([line("e1", note="a_b").replace("_", "\f"), line("e2")])
    assert ids_and_problems(text) == (["e2"], [("event.bad-json", 1)])


def test_crlf_lines_are_read_as_lines() -> None:
    data = (line("e1") + "\r\n" + line("e2") + "\r\n").encode()
    assert [e.id for e in read_events_bytes(data, format="jsonl").events] == ["e1", "e2"]


def test_a_line_that_is_a_json_string_is_reported_at_its_line() -> None:
    ids, problems = ids_and_problems(line("e1") + '\n"just text"\n')
    assert ids == ["e1"]
    assert problems == [("event.not-object", 2)]


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        ('{"id": "x", "data": {"n": 1' + "0" * 5000 + "}}", "event.bad-json"),
        ('{"id": "x", "data": ' + "[" * 2000 + "]" * 2000 + "}", "event.bad-json"),
        ('{"id": "e\\ud800", "case": "c1"}', "event.bad-json"),
    ],
    ids=["5000-digit number", "nesting 2000 deep", "lone surrogate"],
)
def test_one_hostile_line_is_reported_and_the_rest_evaluated(bad: str, code: str) -> None:
    ids, problems = ids_and_problems("\n".join([line("e1"), bad, line("e3")]))
    assert ids == ["e1", "e3"]
    assert problems == [(code, 2)]


def test_data_nested_past_the_limit_is_refused_by_name() -> None:
    deep: object = 1
    for _ in range(40):
        deep = [deep]
    batch = read_events_text(line("e1", x=deep), format="jsonl")
    (problem,) = batch.diagnostics
    assert problem.code == "event.too-deep"
    assert "32 levels" in problem.message and "SAMVERKAN_MAX_EVENT_DEPTH" in (problem.hint or "")


def test_a_line_over_the_size_limit_is_refused_before_it_is_parsed() -> None:
    limits = EventLimits(line_bytes=120)
    batch = read_events_text(
        line("e1", note="x" * 200) + "\n" + line("e2"[:2]), format="jsonl", limits=limits
    )
    assert [e.id for e in batch.events] == ["e2"]
    (problem,) = batch.diagnostics
    assert problem.code == "event.too-long" and problem.line == 1
    assert "SAMVERKAN_MAX_EVENT_LINE_BYTES" in problem.message


def test_limits_come_from_the_environment_and_bad_values_are_refused() -> None:
    limits = EventLimits.from_environment({"SAMVERKAN_MAX_EVENT_DEPTH": "5"})
    assert limits.depth == 5 and limits.line_bytes == EventLimits().line_bytes
    with pytest.raises(EventError, match="SAMVERKAN_MAX_EVENT_LINE_BYTES='-1'"):
        EventLimits.from_environment({"SAMVERKAN_MAX_EVENT_LINE_BYTES": "-1"})


@pytest.mark.parametrize(
    "at",
    ["2026-12-01T09:00:00+00:60", "2026-12-01T09:00:00+0100", "2026-12-01T09:00:00+24:00"],
)
def test_offsets_are_read_strictly(at: str) -> None:
    ids, problems = ids_and_problems(line("e1", at=at))
    assert ids == [] and problems == [("event.bad-timestamp", 1)]


@pytest.mark.parametrize(
    "at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2101-01-01T00:00:00Z"]
)
def test_timestamps_outside_the_supported_range_are_refused_by_name(at: str) -> None:
    batch = read_events_text(line("e1", at=at) + "\n" + line("e2"), format="jsonl")
    assert [e.id for e in batch.events] == ["e2"]
    (problem,) = batch.diagnostics
    assert problem.code == "event.bad-timestamp"
    assert "outside the supported range 1990-01-01..2100-12-31" in problem.message


@pytest.mark.parametrize("first", [False, True])
def test_false_and_zero_under_one_id_conflict_in_either_order(first: bool) -> None:
    a, b = line("e1", flag=False), line("e1", flag=0)
    text = "\n".join([a, b] if first else [b, a])
    ids, problems = ids_and_problems(text)
    assert ids == [] and problems == [("event.duplicate-id", 2)]


def test_an_exact_repeat_is_counted_once_whatever_the_key_order() -> None:
    at = "2026-12-01T09:00:00+01:00"
    a = f'{{"id": "e1", "case": "c1", "type": "t", "at": "{at}", "data": {{"a": 1, "b": 2}}}}'
    b = f'{{"data": {{"b": 2, "a": 1}}, "at": "{at}", "type": "t", "case": "c1", "id": "e1"}}'
    ids, problems = ids_and_problems(a + "\n" + b)
    assert ids == ["e1"] and problems == [("event.duplicate", 2)]


def test_a_multi_line_csv_record_is_reported_at_its_first_line() -> None:
    text = (
        "id,case,type,at,data\n"
        'e1,c1,hemvard.enrolled,2026-12-01T09:00:00+01:00,"{""a"":\n1}"\n'
        'e2,c1,hemvard.enrolled,2026-12-01T09:00:00+01:00,"{\n""bad"\n'
        "e3,c1,hemvard.enrolled,2026-12-01T09:00:00+01:00,\n"
    )
    ids, problems = ids_and_problems(text, "csv")
    assert ids == ["e1", "e3"]
    assert problems == [("event.bad-json", 4)]


def test_a_csv_cell_over_the_csv_modules_limit_loses_only_its_record() -> None:
    text = (
        "id,case,type,at,data\n"
        f'e1,c1,hemvard.enrolled,2026-12-01T09:00:00+01:00,"{"x" * 140_000}"\n'
        "e2,c1,hemvard.enrolled,2026-12-01T09:00:00+01:00,\n"
    )
    ids, problems = ids_and_problems(text, "csv")
    assert ids == ["e2"] and problems == [("event.csv-record", 2)]


def test_a_directory_or_device_named_as_an_event_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EventError, match="cannot read events"):
        read_events(tmp_path)
    with pytest.raises(EventError, match="cannot read events"):
        read_events("/dev/zero")
