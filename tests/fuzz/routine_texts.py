"""A generator of broken routines, built by mutating the real routines in ``routines/``.

Each example takes one of the five routines and applies one to four mutations a policy
author (or a careless editor) could make: delete, duplicate or reindent a line, swap two
values, change a value's type, insert random characters or bytes, misspell a name or the
time zone, write an impossible date, add anchors and aliases, put a line separator or a
tab somewhere, write an enormous number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from tests.support import ROUTINES

ROUTINE_FILES = sorted((ROUTINES).glob("*.yaml"))
TEXTS = {path.name: path.read_text(encoding="utf-8") for path in ROUTINE_FILES}

_KEY_VALUE = re.compile(r"^(?P<indent>\s*(?:- )?)(?P<key>[\w.\-]+):(?P<space> +)(?P<value>\S.*)$")
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_NUMBER = re.compile(r"(?<=: )\d+\b")
_WORD = re.compile(r"[a-z][a-z0-9_.\-]{2,}")

NEW_VALUES = [
    "[]",
    "{}",
    "null",
    "~",
    "true",
    "no",
    "0",
    "-1",
    "1.5",
    "1000000000",
    '""',
    "'x'",
    "2024-02-98",
    "13:30",
    "!!binary aGVq",
    "!!python/object:os.system x",
    "[a, [b, {c: d}]]",
    "|\n  text",
    ">-",
    "*undefined",
    "&anchor value",
]
TIME_ZONES = [
    "Europe/Stokholm",
    '""',
    "/etc/localtime",
    '"Europe/Stock\\0holm"',
    "../../../etc/passwd",
    "Mars/Olympus_Mons",
    "UTC",
    "Europe",
    "'Europe/Stockholm '",
    "europe/stockholm",
    "[Europe/Stockholm]",
    "'{hint}'",
]
DATES = [
    "2024-02-30",
    "2024-02-98",
    "0001-01-01",
    "9999-12-31",
    "2024-13-01",
    "1989-12-31",
    "2101-01-01",
    "2100-12-31",
    "1990-01-01",
    "20240101",
]
NOISE = st.text(
    alphabet=st.sampled_from(
        [
            *"\t\x00\x07\x1b\x85\u2028\u2029\ufeff\ud7ff\ue000\U0001f600'\"&*!%@`|>-:#{}[],?",
            *"åäö\r\n ",
        ]
    ),
    min_size=1,
    max_size=6,
)


@dataclass
class MutatedRoutine:
    """A mutated routine: its text (or bytes, when a mutation wrote invalid UTF-8)."""

    source: str
    text: str
    raw: bytes | None = None
    description: list[str] = field(default_factory=list)

    def content(self) -> bytes:
        """The file's bytes."""
        return self.raw if self.raw is not None else self.text.encode("utf-8", "surrogatepass")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # hypothesis prints failing examples with this

    def __repr__(self) -> str:
        return f"MutatedRoutine({self.source}, {self.description})"


def _pick_line(draw: st.DrawFn, lines: list[str], pattern: re.Pattern[str] | None = None) -> int:
    candidates = [i for i, line in enumerate(lines) if pattern is None or pattern.search(line)]
    if not candidates:
        return -1
    return draw(st.sampled_from(candidates))


@st.composite
def mutated_routines(draw: st.DrawFn) -> MutatedRoutine:
    """One routine with one to four mutations."""
    source = draw(st.sampled_from(sorted(TEXTS)))
    lines = TEXTS[source].split("\n")
    result = MutatedRoutine(source, "")
    raw_insert: tuple[int, bytes] | None = None
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(
                [
                    "delete",
                    "duplicate",
                    "reindent",
                    "swap-values",
                    "change-type",
                    "noise",
                    "bytes",
                    "misspell",
                    "time-zone",
                    "date",
                    "alias",
                    "alias-bomb",
                    "separator",
                    "tab",
                    "big-number",
                ]
            )
        )
        if kind == "delete":
            i = _pick_line(draw, lines)
            result.description.append(f"delete line {i + 1}")
            del lines[i]
        elif kind == "duplicate":
            i = _pick_line(draw, lines)
            result.description.append(f"duplicate line {i + 1}")
            lines.insert(i, lines[i])
        elif kind == "reindent":
            i = _pick_line(draw, lines)
            shift = draw(st.sampled_from([-4, -2, -1, 1, 2, 4]))
            line = lines[i]
            lines[i] = (
                line[-shift:]
                if shift < 0 and line[:-shift].isspace()
                else " " * max(shift, 0) + line
            )
            result.description.append(f"reindent line {i + 1} by {shift}")
        elif kind == "swap-values":
            i, j = _pick_line(draw, lines, _KEY_VALUE), _pick_line(draw, lines, _KEY_VALUE)
            a, b = _KEY_VALUE.match(lines[i]), _KEY_VALUE.match(lines[j])
            if a and b:
                lines[i] = f"{a['indent']}{a['key']}:{a['space']}{b['value']}"
                lines[j] = f"{b['indent']}{b['key']}:{b['space']}{a['value']}"
                result.description.append(f"swap the values of lines {i + 1} and {j + 1}")
        elif kind == "change-type":
            i = _pick_line(draw, lines, _KEY_VALUE)
            match = _KEY_VALUE.match(lines[i])
            if match:
                value = draw(st.sampled_from(NEW_VALUES))
                indent = " " * (len(match["indent"]) + 2)
                value = value.replace("\n", "\n" + indent)
                lines[i] = f"{match['indent']}{match['key']}: {value}"
                result.description.append(f"line {i + 1}: {match['key']} = {value!r}")
        elif kind == "noise":
            i = _pick_line(draw, lines)
            position = draw(st.integers(0, len(lines[i])))
            noise = draw(NOISE)
            lines[i] = lines[i][:position] + noise + lines[i][position:]
            result.description.append(f"line {i + 1}: insert {noise!r} at {position + 1}")
        elif kind == "bytes":
            raw = draw(st.binary(min_size=1, max_size=4))
            position = draw(st.integers(0, 1_000))
            raw_insert = (position, raw)
            result.description.append(f"insert bytes {raw!r} at byte {position}")
        elif kind == "misspell":
            i = _pick_line(draw, lines, _WORD)
            words = list(_WORD.finditer(lines[i]))
            word = draw(st.sampled_from(words))
            cut = draw(st.integers(0, len(word.group()) - 1))
            typo = draw(st.sampled_from(["drop", "double", "swap"]))
            text = word.group()
            if typo == "drop":
                new = text[:cut] + text[cut + 1 :]
            elif typo == "double":
                new = text[:cut] + text[cut] + text[cut:]
            else:
                new = text[:cut] + text[cut + 1 : cut + 2] + text[cut] + text[cut + 2 :]
            lines[i] = lines[i][: word.start()] + new + lines[i][word.end() :]
            result.description.append(f"line {i + 1}: {text!r} -> {new!r}")
        elif kind == "time-zone":
            zone = draw(st.sampled_from(TIME_ZONES))
            lines = "\n".join(lines).replace("Europe/Stockholm", zone, 1).split("\n")
            result.description.append(f"time_zone {zone}")
        elif kind == "date":
            i = _pick_line(draw, lines, _DATE)
            if i >= 0:
                new = draw(st.sampled_from(DATES))
                lines[i] = _DATE.sub(new, lines[i], count=1)
                result.description.append(f"line {i + 1}: date {new}")
        elif kind == "alias":
            i, j = _pick_line(draw, lines, _KEY_VALUE), _pick_line(draw, lines, _KEY_VALUE)
            a, b = _KEY_VALUE.match(lines[i]), _KEY_VALUE.match(lines[j])
            if a and b and i < j:
                lines[i] = f"{a['indent']}{a['key']}: &fuzz {a['value']}"
                lines[j] = f"{b['indent']}{b['key']}: *fuzz"
                result.description.append(f"anchor line {i + 1}, alias on line {j + 1}")
        elif kind == "alias-bomb":
            width = draw(st.integers(2, 12))
            levels = draw(st.integers(2, 8))
            bomb = [f"fuzz0: &f0 [{', '.join(['x'] * width)}]"]
            bomb += [
                f"fuzz{n}: &f{n} [{', '.join([f'*f{n - 1}'] * width)}]" for n in range(1, levels)
            ]
            lines[1:1] = bomb
            result.description.append(f"an alias bomb {width}^{levels}")
        elif kind == "separator":
            i = _pick_line(draw, lines)
            sep = draw(st.sampled_from(["\u2028", "\u2029", "\x85", "\x0c", "\r"]))
            position = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:position] + sep + lines[i][position:]
            result.description.append(f"line {i + 1}: U+{ord(sep):04X} at {position + 1}")
        elif kind == "tab":
            i = _pick_line(draw, lines)
            lines[i] = "\t" + lines[i]
            result.description.append(f"line {i + 1}: a leading tab")
        elif kind == "big-number":
            i = _pick_line(draw, lines, _NUMBER)
            if i >= 0:
                digits = draw(st.sampled_from([12, 400, 5_000]))
                lines[i] = _NUMBER.sub("9" * digits, lines[i], count=1)
                result.description.append(f"line {i + 1}: a {digits}-digit number")
    result.text = "\n".join(lines)
    if raw_insert is not None:
        position, raw = raw_insert
        data = result.text.encode("utf-8", "surrogatepass")
        position = min(position, len(data))
        result.raw = data[:position] + raw + data[position:]
        try:
            result.text = result.raw.decode("utf-8")
            result.raw = None
        except UnicodeDecodeError:
            pass
    return result
