"""Tests for reading events: every good record kept, every bad one reported with its line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from samverkan_rules import EventError
from samverkan_rules.events.model import Event, event_from_mapping, events_from_records
from samverkan_rules.events.read import format_for, read_events, read_events_text


def line(ident: str, at: str = "2026-12-01T09:00:00+01:00", **extra: object) -> str:
    record = {"id": ident, "case": "c1", "type": "hemvard.enrolled", "at": at, **extra}
    return json.dumps(record)


def found(batch) -> list[tuple[str, int | None]]:
    """(code, line) of every diagnostic, sorted."""
    return sorted((d.code, d.line) for d in batch.diagnostics)


# --- JSON Lines ---------------------------------------------------------------------------

JSONL = "\n".join(
    [
        line("e1"),  # 1
        "",  # 2: blank, skipped
        '{"id": "e3", "case": "c1",',  # 3: not JSON
        '{"id": "e4"}',  # 4: case, type and at missing
        line("e5", at="2026-12-01T09:00:00"),  # 5: naive
        line("e6", data=[1, 2]),  # 6: data not an object
        "[1, 2]",  # 7: not an object
        line("e8", at="2026-06-01T09:00:00+02:00", data={"x": 1}),  # 8
        "   ",  # 9: whitespace only, skipped
        line("e10", at="2026-12-01T08:00:00Z"),  # 10
        line("e11", at="2026-02-30T09:00:00+01:00"),  # 11: no such day
        line("e12", place="x"),  # 12: unknown key
    ]
)


def test_jsonl_keeps_good_lines_and_reports_bad_ones_by_line() -> None:
    batch = read_events_text(JSONL, format="jsonl", file="events.jsonl")
    assert [(e.id, e.line) for e in batch.events] == [("e1", 1), ("e8", 8), ("e10", 10)]
    assert found(batch) == [
        ("event.bad-json", 3),
        ("event.bad-timestamp", 5),
        ("event.bad-timestamp", 11),
        ("event.data-not-object", 6),
        ("event.missing-key", 4),
        ("event.missing-key", 4),
        ("event.missing-key", 4),
        ("event.not-object", 7),
        ("event.unknown-key", 12),
    ]
    assert not batch.ok
    assert all(d.file == "events.jsonl" and d.level == "error" for d in batch.diagnostics)
    missing = sorted(d.path or "" for d in batch.diagnostics if d.code == "event.missing-key")
    assert missing == ["at", "case", "type"]
    naive = next(d for d in batch.diagnostics if d.line == 5)
    assert "naive" in naive.message


def test_jsonl_events_keep_their_data_and_offsets() -> None:
    batch = read_events_text(JSONL, format="jsonl")
    e8 = batch.events[1]
    assert e8.data == {"x": 1}
    assert e8.at.isoformat() == "2026-06-01T09:00:00+02:00"
    assert batch.events[0].data == {}
    assert batch.events[2].at == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_jsonl_line_numbers_count_crlf_lines() -> None:
    text = line("e1") + "\r\n\r\n" + '{"id": "e3"' + "\r\n" + line("e4") + "\r\n"
    batch = read_events_text(text, format="jsonl")
    assert [(e.id, e.line) for e in batch.events] == [("e1", 1), ("e4", 4)]
    assert found(batch) == [("event.bad-json", 3)]


def test_a_good_file_is_ok() -> None:
    batch = read_events_text(line("e1") + "\n" + line("e2") + "\n", format="jsonl")
    assert batch.ok
    assert batch.diagnostics == ()
    assert [e.id for e in batch.events] == ["e1", "e2"]


def test_non_string_keys_are_type_errors() -> None:
    batch = read_events_text(
        '{"id": 7, "case": "c1", "type": "t", "at": "2026-12-01T09:00:00Z"}', format="jsonl"
    )
    assert batch.events == ()
    assert [(d.code, d.path, d.line) for d in batch.diagnostics] == [("event.type-error", "id", 1)]


def test_duplicates_in_a_file() -> None:
    text = "\n".join([line("e1"), line("e1"), line("e1", at="2026-12-02T09:00:00+01:00")])
    batch = read_events_text(text, format="jsonl")
    # Three uses of one id by two different events: none is evaluated, whatever the order.
    assert batch.events == ()
    assert [(d.level, d.code, d.line) for d in batch.diagnostics] == [
        ("error", "event.duplicate-id", 2)
    ]
    assert "lines 1, 2, 3" in batch.diagnostics[0].message


def test_an_exact_repeat_is_counted_once() -> None:
    batch = read_events_text(line("e1") + "\n" + line("e1"), format="jsonl")
    assert [(e.id, e.line) for e in batch.events] == [("e1", 1)]
    assert [(d.level, d.code, d.line) for d in batch.diagnostics] == [
        ("warning", "event.duplicate", 2)
    ]


def test_only_warnings_leave_a_batch_ok() -> None:
    batch = read_events_text(line("e1") + "\n" + line("e1"), format="jsonl")
    assert batch.ok
    assert [d.code for d in batch.diagnostics] == ["event.duplicate"]


# --- CSV ----------------------------------------------------------------------------------

CSV = "\r\n".join(
    [
        "id,case,type,at,data",  # 1
        'e2,c1,message.sent,2026-12-01T09:00:00+01:00,"{""kind"": ""start"", ""to"": [""x""]}"',
        "",  # 3: blank
        "e4,c1,message.sent,2026-12-01T09:00:00+01:00",  # 4: four columns
        "e5,c1,message.sent,2026-12-01T09:00:00+01:00,{not json}",  # 5
        "e6,c2,hemvard.enrolled,2026-12-01T10:00:00Z,",  # 6: empty data
        "e7,c2,hemvard.enrolled,2026-12-01 10:00:00,",  # 7: naive
        'e8,c2,hemvard.enrolled,2026-12-01T10:00:00Z,"[1]"',  # 8: data not an object
        "e9,c2,hemvard.enrolled,2026-12-01T10:00:00Z,,extra",  # 9: six columns
        "",
    ]
)


def test_csv_keeps_good_rows_and_reports_bad_ones_by_line() -> None:
    batch = read_events_text(CSV, format="csv", file="events.csv")
    assert [(e.id, e.line) for e in batch.events] == [("e2", 2), ("e6", 6)]
    assert batch.events[0].data == {"kind": "start", "to": ["x"]}
    assert batch.events[1].data == {}
    assert found(batch) == [
        ("event.bad-json", 5),
        ("event.bad-timestamp", 7),
        ("event.csv-columns", 4),
        ("event.csv-columns", 9),
        ("event.data-not-object", 8),
    ]
    columns = next(d for d in batch.diagnostics if d.line == 4)
    assert columns.message == "expected 5 columns, got 4"
    bad_json = next(d for d in batch.diagnostics if d.line == 5)
    assert bad_json.path == "data"


def test_csv_columns_may_come_in_any_order() -> None:
    text = "type,at,id,data,case\nhemvard.enrolled,2026-12-01T09:00:00+01:00,e1,,c9\n"
    (event,) = read_events_text(text, format="csv").events
    assert (event.id, event.case, event.type, event.line) == ("e1", "c9", "hemvard.enrolled", 2)


def test_csv_header_missing_a_column_is_reported_on_line_one() -> None:
    text = "id,case,type,data\ne1,c1,hemvard.enrolled,\n"
    batch = read_events_text(text, format="csv", file="events.csv")
    assert batch.events == ()
    assert [(d.code, d.line, d.message) for d in batch.diagnostics] == [
        ("event.csv-header", 1, "the header lacks at")
    ]


def test_a_quoted_data_cell_may_span_lines() -> None:
    text = (
        "id,case,type,at,data\n"
        'e1,c1,t,2026-12-01T09:00:00Z,"{""a"":\n 1}"\n'
        "e2,c1,t,2026-12-01T09:00:00Z,\n"
    )
    batch = read_events_text(text, format="csv")
    assert [(e.id, dict(e.data)) for e in batch.events] == [("e1", {"a": 1}), ("e2", {})]
    assert batch.events[1].line == 4


# --- files ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("events.jsonl", line("e1") + "\n" + line("e2") + "\n"),
        (
            "events.csv",
            "id,case,type,at,data\ne1,c1,t,2026-12-01T09:00:00Z,\ne2,c1,t,2026-12-01T09:00:00Z,\n",
        ),
    ],
)
def test_a_byte_order_mark_is_tolerated_in_files(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    batch = read_events(path)
    assert batch.diagnostics == ()
    assert [e.id for e in batch.events] == ["e1", "e2"]
    assert batch.events[0].file == str(path)


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("jsonl", line("e1") + "\n"),
        ("csv", "id,case,type,at,data\ne1,c1,t,2026-12-01T09:00:00Z,\n"),
    ],
)
def test_a_byte_order_mark_is_tolerated_in_text(fmt: str, text: str) -> None:
    batch = read_events_text("\ufeff" + text, format=fmt)
    assert [e.id for e in batch.events] == ["e1"]
    assert batch.diagnostics == ()


def test_a_missing_file_is_an_event_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.jsonl"
    with pytest.raises(EventError) as info:
        read_events(path)
    assert [(d.code, d.file) for d in info.value.diagnostics] == [("event.unreadable", str(path))]
    assert str(path) in str(info.value)


def test_a_directory_is_an_event_error(tmp_path: Path) -> None:
    with pytest.raises(EventError) as info:
        read_events(tmp_path)
    assert [d.code for d in info.value.diagnostics] == ["event.unreadable"]


def test_a_json_line_that_is_not_utf8_is_reported_and_the_others_are_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(
        line("e1").encode() + b"\n" + '{"id": "å"}'.encode("latin-1") + b"\n" + line("e3").encode()
    )
    batch = read_events(path)
    assert [e.id for e in batch.events] == ["e1", "e3"]
    assert [(d.code, d.line) for d in batch.diagnostics] == [("event.bad-json", 2)]
    assert "UTF-8" in batch.diagnostics[0].message


def test_a_csv_file_that_is_not_utf8_is_an_event_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"id,case,type,at,data\n" + "e1,å,t,x,".encode("latin-1") + b"\n")
    with pytest.raises(EventError) as info:
        read_events(path)
    assert [(d.code, d.line) for d in info.value.diagnostics] == [("event.encoding", 2)]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.csv", "csv"), ("A.CSV", "csv"), ("a.jsonl", "jsonl"), ("a.json", "jsonl"), ("a", "jsonl")],
)
def test_format_follows_the_file_name(name: str, fmt: str) -> None:
    assert format_for(name) == fmt


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event format 'xml'"):
        read_events_text("", format="xml")


# --- mappings and ordering ----------------------------------------------------------------------


def test_event_from_mapping_raises_with_every_problem() -> None:
    with pytest.raises(EventError) as info:
        event_from_mapping({"id": "e1", "at": "2026-12-01T09:00:00", "data": "x"})
    assert sorted(d.code for d in info.value.diagnostics) == [
        "event.bad-timestamp",
        "event.data-not-object",
        "event.missing-key",
        "event.missing-key",
    ]
    assert "'e1'" in str(info.value)


def test_records_without_lines_are_named_by_id() -> None:
    # A position in a Python list would change with the order; the id does not.
    batch = events_from_records(
        [
            {"id": "e1", "case": "c", "type": "t", "at": "2026-12-01T09:00:00Z"},
            {"id": "e2", "case": "c", "type": "t"},
        ]
    )
    assert [e.id for e in batch.events] == ["e1"]
    assert [(d.code, d.line) for d in batch.diagnostics] == [("event.missing-key", None)]
    assert batch.diagnostics[0].message.startswith("event 'e2': ")


def test_order_key_sorts_by_instant_across_offsets_then_id() -> None:
    def make(ident: str, at: str) -> Event:
        return event_from_mapping({"id": ident, "case": "c", "type": "t", "at": at})

    events = [
        make("late", "2026-06-01T09:00:00+00:00"),  # 09:00Z
        make("b", "2026-06-01T10:00:00+02:00"),  # 08:00Z
        make("first", "2026-06-01T09:30:00+05:30"),  # 04:00Z
        make("a", "2026-06-01T08:00:00Z"),  # 08:00Z, same instant as b
        make("mid", "2026-06-01T05:30:00-03:00"),  # 08:30Z
        # the autumn fold: 02:30+02:00 (00:30Z) comes before 02:30+01:00 (01:30Z)
        make("fold2", "2026-10-25T02:30:00+01:00"),
        make("fold1", "2026-10-25T02:30:00+02:00"),
    ]
    assert [e.id for e in sorted(events, key=lambda e: e.order_key)] == [
        "first",
        "a",
        "b",
        "mid",
        "late",
        "fold1",
        "fold2",
    ]
    assert events[1].order_key == (datetime(2026, 6, 1, 8, 0, tzinfo=UTC), "b")


def test_to_json_round_trips() -> None:
    record = {
        "id": "e1",
        "case": "c1",
        "type": "message.sent",
        "at": "2026-10-25T02:30:00+01:00",
        "data": {"kind": "start", "to": ["a", "b"]},
    }
    event = event_from_mapping(record)
    assert event.to_json() == record
    assert event_from_mapping(event.to_json()) == event
