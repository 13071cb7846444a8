"""A generator of hostile event files, built from the bundled example case log.

Each generated file is the example log's 25 good events, some of them left as they are and
some replaced by mutated lines (every field missing or mistyped, odd offsets, years 0001
and 9999, huge numbers, deep nesting, invalid UTF-8, lone surrogates, line separators and
form feeds inside strings, ...), written as JSON Lines or CSV, with or without a byte order
mark and CRLF line ends. Mutated lines get ids of their own, so every untouched event must
still be evaluated whatever happens to its neighbours.

Each mutation has a *kind*; :data:`KNOWN_FINDINGS` names the kinds that still break a
promise, so the committed fuzzer can leave them out (none is open: the event-reading
findings are fixed and each has its own test in ``test_event_fuzz.py``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from tests.support import EXAMPLES, ROUTINES

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
EXAMPLE = EXAMPLES / "orebro-case.jsonl"
AS_OF = "2026-12-15T12:00:00+01:00"
BASE: list[dict[str, Any]] = [
    json.loads(line) for line in EXAMPLE.read_text(encoding="utf-8").splitlines() if line
]
FIELDS = ("id", "case", "type", "at", "data")

KNOWN_FINDINGS: dict[str, str] = {}
"""Mutation kinds that break a promise today, each with the finding it shows."""


@dataclass
class EventFile:
    """A generated event file and what the fuzzer expects of it."""

    content: bytes
    suffix: str
    kinds: list[str] = field(default_factory=list)
    untouched: list[dict[str, Any]] = field(default_factory=list)
    """Good events left as they were: each must still be evaluated."""
    valid_mutants: list[dict[str, Any]] = field(default_factory=list)
    """Mutated lines that are still valid events (an odd but legal string, say): each must
    be evaluated too."""
    description: list[str] = field(default_factory=list)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # hypothesis prints failing examples with this

    def __repr__(self) -> str:
        # What a failing example prints: the mutations, not 100 kB of content.
        return (
            f"EventFile({self.suffix}, {len(self.content)} bytes, kinds={self.kinds}, "
            f"description={self.description})"
        )

    @property
    def unreadable(self) -> bool:
        """True when the whole file may be refused (exit 2): it is not UTF-8."""
        return "invalid-utf8" in self.kinds


# --------------------------------------------------------------------------- mutations

Line = dict[str, Any] | str | bytes
"""A record to encode, raw text to write as one line, or raw bytes."""
Mutation = tuple[str, Line | list[dict[str, Any]], str]
"""(kind, the line or lines that replace a record, a description)."""

WRONG_VALUES: list[Any] = [1, 1.5, True, False, None, [], {}, "", "x" * 300, [1, 2], {"a": 1}]
ODD_OFFSETS = ["+00:60", "+0100", "+24:00", "+01:00:30", "+1:00", "+01:0", " +01:00", "z", ""]
GOOD_OFFSETS = ["Z", "+00:00", "+01:00", "+14:00", "-12:00"]
SEPARATORS = ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1c", "\x1d", "\x1e"]


def _fresh(record: dict[str, Any], n: int) -> dict[str, Any]:
    out = json.loads(json.dumps(record))
    out["id"] = f"m{n}-{record['id']}"
    return out


@st.composite
def mutated_line(draw: st.DrawFn, record: dict[str, Any], n: int) -> Mutation:
    """(kind, line, description) for one mutated copy of ``record``."""
    kind = draw(
        st.sampled_from(
            [
                "missing-field",
                "mistyped-field",
                "odd-offset",
                "good-offset",
                "year-0001",
                "year-9999",
                "year-edge",
                "data-date",
                "huge-number",
                "deep-nesting",
                "invalid-utf8",
                "lone-surrogate",
                "separator-in-string",
                "not-an-object",
                "string-line",
                "bad-json",
                "unknown-type",
                "blank",
                "long-string",
                "csv-cell-too-long",
                "false-vs-0",
            ]
        )
    )
    rec = _fresh(record, n)
    if kind == "missing-field":
        name = draw(st.sampled_from(FIELDS))
        rec.pop(name, None)
        return kind, rec, f"without {name}"
    if kind == "mistyped-field":
        name = draw(st.sampled_from(FIELDS))
        value = draw(st.sampled_from(WRONG_VALUES))
        rec[name] = value
        if name == "id" and isinstance(value, str):
            rec[name] = f"m{n}{value[:10]}"
        return kind, rec, f"{name} = {value!r:.40}"
    if kind in ("odd-offset", "good-offset"):
        offset = draw(st.sampled_from(ODD_OFFSETS if kind == "odd-offset" else GOOD_OFFSETS))
        rec["at"] = rec["at"][:19] + offset
        return kind, rec, f"at {rec['at']!r}"
    if kind == "year-0001":
        rec["at"] = draw(
            st.sampled_from(["0001-01-01T00:00:00+01:00", "0001-01-01T00:30:00+14:00"])
        )
        return kind, rec, f"at {rec['at']}"
    if kind == "year-9999":
        rec["at"] = draw(
            st.sampled_from(["9999-12-31T23:59:59-01:00", "9999-12-31T23:00:00-12:00"])
        )
        return kind, rec, f"at {rec['at']}"
    if kind == "year-edge":
        rec["at"] = draw(
            st.sampled_from(
                [
                    "0001-01-01T00:00:00Z",
                    "0001-01-01T00:00:00-01:00",
                    "9999-12-31T23:59:59Z",
                    "9999-12-31T23:59:59+01:00",
                    "1989-12-31T23:00:00Z",
                    "2101-01-01T00:00:00Z",
                    "2100-12-31T23:00:00+00:00",
                ]
            )
        )
        return kind, rec, f"at {rec['at']}"
    if kind == "data-date":
        rec["type"] = "dagverksamhet.start_planned"
        rec["data"] = {
            "start_date": draw(
                st.sampled_from(
                    ["0001-01-01", "9999-12-31", "2024-02-30", "2100-12-31", "1990-01-01", "x"]
                )
            )
        }
        return kind, rec, f"start_date {rec['data']['start_date']}"
    if kind == "huge-number":
        digits = draw(st.sampled_from([4301, 5000, 20_000]))
        body = json.dumps({k: v for k, v in rec.items() if k != "data"})[:-1]
        return kind, body + ', "data": {"form": ' + "1" * digits + "}}", f"{digits}-digit number"
    if kind == "deep-nesting":
        depth = draw(st.sampled_from([1_000, 2_000, 10_000]))
        body = json.dumps({k: v for k, v in rec.items() if k != "data"})[:-1]
        return kind, body + ', "data": {"x": ' + "[" * depth + "]" * depth + "}}", f"depth {depth}"
    if kind == "invalid-utf8":
        raw = json.dumps(rec, ensure_ascii=False).encode()
        bad = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80abc"]))
        cut = raw.index(b'"id": "') + 7
        return kind, raw[:cut] + bad + raw[cut:], f"bytes {bad!r} in the id"
    if kind == "lone-surrogate":
        text = json.dumps(rec)
        return kind, text.replace(f'"{rec["id"]}"', f'"{rec["id"]}\\ud800"', 1), "id with \\ud800"
    if kind == "separator-in-string":
        sep = draw(st.sampled_from(SEPARATORS))
        rec["case"] = f"{rec['case']}"
        rec["data"] = {**rec.get("data", {}), "note": f"a{sep}b"}
        return kind, rec, f"U+{ord(sep):04X} inside a string"
    if kind == "not-an-object":
        value = draw(st.sampled_from(["[1, 2]", "42", "null", "true", "[]", "1e400"]))
        return kind, value, f"the line is {value}"
    if kind == "string-line":
        value = draw(st.sampled_from(['"text"', '""', '"{}"']))
        return kind, value, f"the line is the JSON string {value}"
    if kind == "bad-json":
        text = json.dumps(rec)
        cut = draw(st.integers(1, len(text) - 1))
        return kind, text[:cut], f"cut at {cut}"
    if kind == "unknown-type":
        rec["type"] = draw(st.sampled_from(["no.such", "", "CONSENT.GIVEN", "consent.given "]))
        return kind, rec, f"type {rec['type']!r}"
    if kind == "blank":
        return kind, draw(st.sampled_from(["", "   ", "\t"])), "blank line"
    if kind == "long-string":
        rec["data"] = {"note": "x" * 10_000}
        return kind, rec, "a string of 10,000 characters"
    if kind == "csv-cell-too-long":  # a long line in JSON Lines, a long cell in CSV
        rec["data"] = {"note": "x" * 200_000}
        return kind, rec, "a string of 200,000 characters"
    # false-vs-0: two lines under one id whose data differ only as false vs 0
    twin = json.loads(json.dumps(rec))
    rec["data"] = {"flag": False}
    twin["data"] = {"flag": 0}
    return kind, [rec, twin], "false vs 0 under one id"


def _csv_row(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue().rstrip("\n")


def _as_csv(line: Line) -> str | bytes:
    if isinstance(line, bytes):
        try:
            line = line.decode()
        except UnicodeDecodeError:
            return line  # invalid UTF-8 stays invalid in either format
    if isinstance(line, str):
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            return line.replace("\n", " ")
        if not isinstance(record, dict):
            return line
        line = record
    cells = []
    for name in FIELDS:
        value = line.get(name, "")
        if name == "data":
            cells.append(json.dumps(value, ensure_ascii=False) if name in line else "")
        else:
            cells.append(value if isinstance(value, str) else json.dumps(value))
    return _csv_row(cells)


@st.composite
def event_files(draw: st.DrawFn, *, exclude: frozenset[str] = frozenset()) -> EventFile:
    """A hostile event file; mutation kinds in ``exclude`` are never used."""
    fmt = draw(st.sampled_from(["jsonl", "csv"]))
    lines: list[Line] = []
    result = EventFile(b"", ".csv" if fmt == "csv" else ".jsonl")
    for n, record in enumerate(BASE):
        if draw(st.integers(0, 4)) == 0:  # about one line in five is mutated
            kind, line, what = draw(mutated_line(record, n).filter(lambda m: m[0] not in exclude))
            result.kinds.append(kind)
            result.description.append(f"line {len(lines) + 1}: {kind}: {what}")
            if draw(st.booleans()):
                lines.append(record)  # keep the original too
                result.untouched.append(record)
            if isinstance(line, list):
                lines.extend(line)
            else:
                lines.append(line)
            if kind == "separator-in-string" and isinstance(line, dict):
                result.valid_mutants.append(line)
        else:
            lines.append(record)
            result.untouched.append(record)
    if fmt == "csv" and "csv-cell-too-long" not in exclude and draw(st.integers(0, 9)) == 0:
        result.kinds.append("csv-cell-too-long")
        result.description.append("a data cell of 140,000 characters")
        lines.append(_fresh(BASE[0], 999) | {"data": {"note": "x" * 140_000}})
    if fmt == "csv" and "csv-multiline-record" not in exclude and draw(st.integers(0, 9)) == 0:
        result.kinds.append("csv-multiline-record")
        result.description.append("a record whose data cell spans three lines")
        lines.append(_fresh(BASE[1], 998) | {"data": {"note": "a\nb\nc"}, "type": "no.such"})
    newline = "\r\n" if draw(st.booleans()) else "\n"
    parts: list[bytes] = []
    if fmt == "csv":
        parts.append(b"id,case,type,at,data")
    for line in lines:
        encoded: str | bytes
        if fmt == "csv":
            encoded = _as_csv(line)
        elif isinstance(line, dict):
            encoded = json.dumps(line, ensure_ascii=False)
        else:
            encoded = line
        if isinstance(encoded, str):
            encoded = encoded.encode("utf-8", "surrogatepass")
        parts.append(encoded)
    content = newline.encode().join(parts)
    if draw(st.booleans()):
        content += newline.encode()
    if draw(st.integers(0, 4)) == 0:
        content = b"\xef\xbb\xbf" + content
        result.description.append("byte order mark")
    if newline == "\r\n":
        result.description.append("CRLF")
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:  # e.g. a lone surrogate written raw into a CSV cell
        if "invalid-utf8" not in result.kinds:
            result.kinds.append("invalid-utf8")
            result.description.append("not UTF-8")
    result.content = content
    return result


def known_finding(kinds: list[str]) -> Callable[[str], bool]:
    """Whether a file with these mutation kinds shows a known finding."""
    return lambda name: name in kinds and name in KNOWN_FINDINGS
