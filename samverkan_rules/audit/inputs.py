"""Which event files to read and how: the files found, their format, and how a CSV is read.

Exports from Swedish systems come in more than one form: Excel's "CSV (semikolonavgränsad)"
separates cells with ``;`` and saves in Windows-1252, other tools write tabs, and a byte
order mark or Windows line ends (CRLF) are common. :class:`ReadOptions` says how to read
them: the delimiter (sniffed from each CSV file's header unless given), the text encoding
(UTF-8 unless given), and which columns go where: a column map (``--columns FILE``) renames
columns to the event's keys or moves them into ``data`` (an export's ``Enhet`` column as
``data.enhet``), and unknown columns may be taken into ``data`` as they are instead of
rejecting the record.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import json
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal

import yaml

from samverkan_rules.events.model import REQUIRED_KEYS, Event

Format = Literal["jsonl", "csv", "parquet"]

_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")

DELIMITERS = (",", ";", "\t")
"""The CSV delimiters sniffed, in the order a tie is settled in."""


class InputError(Exception):
    """An input that cannot be read at all; the message says which and what to do."""


@dataclass(frozen=True)
class InputFile:
    """One event file to read."""

    path: Path
    name: str
    """How the report names it: the path as given, or as found in a directory given."""
    format: Format
    gzipped: bool


def _format_of(path: Path) -> tuple[Format, bool] | None:
    name = path.name.lower()
    gzipped = name.endswith(".gz")
    name = name.removesuffix(".gz")
    if name.endswith(".csv"):
        return "csv", gzipped
    if name.endswith(".parquet") and not gzipped:
        return "parquet", False
    if name.endswith(_JSONL_SUFFIXES):
        return "jsonl", gzipped
    return None


def find_inputs(paths: Sequence[str]) -> list[InputFile]:
    """The event files named: files, or directories searched for event files.

    A file given by name is read whatever its suffix (JSON Lines unless ``.csv``,
    ``.csv.gz`` or ``.parquet``); in a directory, files ending in ``.jsonl``, ``.ndjson``,
    ``.json``, ``.csv`` (each optionally ``.gz``) or ``.parquet`` are read. Sorted by name, so
    the order the paths are given in does not matter.

    Raises:
        InputError: for a path that does not exist or a directory without event files.
    """
    found: dict[str, InputFile] = {}
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _format_of(p))
            if not files:
                raise InputError(
                    f"--events {given}: no event files (*.jsonl, *.csv, *.parquet, optionally "
                    ".gz) in this directory"
                )
            for p in files:
                fmt, gz = _format_of(p) or ("jsonl", False)
                name = str(p)
                found[name] = InputFile(p, name, fmt, gz)
        elif path.is_file():
            fmt, gz = _format_of(path) or ("jsonl", path.name.lower().endswith(".gz"))
            found[str(path)] = InputFile(path, str(path), fmt, gz)
        else:
            raise InputError(f"--events {given}: no such file or directory; check the path")
    return [found[k] for k in sorted(found)]


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass
class FileTally:
    """What became of one input's records."""

    read: int = 0
    rejected: int = 0
    after_as_of: int = 0
    sha256: str = ""


def tally_total(tallies: Iterable[FileTally]) -> Counter[str]:
    """Sums over the inputs."""
    total: Counter[str] = Counter()
    for t in tallies:
        total["read"] += t.read
        total["used"] += t.read - t.rejected
        total["rejected"] += t.rejected
        total["after_as_of"] += t.after_as_of
    return total


def open_bytes(item: InputFile) -> IO[bytes]:
    if item.gzipped:
        return gzip.GzipFile(item.path, "rb")  # type: ignore[return-value]
    return item.path.open("rb")


@dataclass(frozen=True)
class Piece:
    """Bytes ``start`` up to ``end`` (None: to its end) of an input, read on their own: both
    where a line begins, so its lines are the file's lines (see :func:`cut_pieces`)."""

    start: int = 0
    end: int | None = None


WHOLE = Piece()
"""A whole input."""


def splittable(item: InputFile) -> bool:
    """Whether the input can be read in pieces: JSON Lines, not gzipped (a gzip stream is read
    from its start; a CSV cell may span lines, and its header is in the first)."""
    return item.format == "jsonl" and not item.gzipped


def cut_pieces(path: Path, count: int) -> list[Piece]:
    """A file cut into up to ``count`` pieces of about as many bytes, each cut where a line
    begins (fewer pieces when lines are longer than a piece).

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     f = Path(d) / "e.jsonl"
        ...     _ = f.write_bytes(b"aaaa\\nbb\\ncccccc\\nd\\n")
        ...     cut_pieces(f, 3)
        [Piece(start=0, end=5), Piece(start=5, end=15), Piece(start=15, end=None)]
    """
    size = path.stat().st_size
    cuts: list[int] = []
    with path.open("rb") as handle:
        for k in range(1, count):
            # The line that holds byte size*k/count - 1 ends the piece: a cut exactly where a
            # line begins stays there.
            handle.seek(max(0, size * k // count - 1))
            handle.readline()
            at = handle.tell()
            if (not cuts or at > cuts[-1]) and 0 < at < size:
                cuts.append(at)
    ends: list[int | None] = [*cuts, None]
    return [Piece(start, end) for start, end in zip([0, *cuts], ends, strict=True)]


def lines_before(handle: IO[bytes], offset: int) -> int:
    """The line breaks (``\\n``) in the first ``offset`` bytes of ``handle``, read from its
    start; leaves it at ``offset``."""
    handle.seek(0)
    count, left = 0, offset
    while left > 0:
        block = handle.read(min(left, 1 << 20))
        if not block:
            break
        count += block.count(b"\n")
        left -= len(block)
    return count


def lines_within(handle: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The lines of ``handle`` in its next ``size`` bytes (a piece ends where a line does)."""
    for raw in handle:
        yield raw
        size -= len(raw)
        if size <= 0:
            return


def check_encoding(name: str) -> str:
    """The codec's canonical name, if it can be read line by line.

    Encodings that keep ASCII as it is (UTF-8, Windows-1252, ISO 8859-1, ...) are accepted;
    UTF-16 and UTF-32 are not (a file of them is not split into lines at ``\\n`` bytes).

    Raises:
        InputError: for an unknown or unsupported encoding.

    Examples:
        >>> check_encoding("CP1252"), check_encoding("utf8"), check_encoding("latin-1")
        ('cp1252', 'utf-8', 'iso8859-1')
    """
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise InputError(
            f"--encoding {name}: no such text encoding; use e.g. utf-8 or cp1252 (Excel on Windows)"
        ) from None
    if "\n,;\t".encode(info.name) != b"\n,;\t" or info.name.startswith(("utf-16", "utf-32")):
        raise InputError(
            f"--encoding {name}: not supported (lines are split at newline bytes); save the "
            "file as UTF-8"
        )
    return info.name


def sniff_delimiter(header: str) -> str:
    """The delimiter of a CSV file, judged from its header line.

    The delimiter that splits the header into the most of the required columns wins (then
    the most columns; a tie goes to the first of :data:`DELIMITERS`). Only the header is
    looked at, so a data cell full of commas does not mislead.

    Examples:
        >>> sniff_delimiter("id;case;type;at;data"), sniff_delimiter("id,case,type,at")
        (';', ',')
        >>> sniff_delimiter("id\\tcase\\ttype\\tat\\tdata")
        '\\t'
    """
    best = DELIMITERS[0]
    score = (-1, -1)
    for delimiter in DELIMITERS:
        cells = next(csv.reader([header], delimiter=delimiter), [])
        names = {c.strip() for c in cells}
        found = (sum(1 for k in REQUIRED_KEYS if k in names), len(cells))
        if found > score:
            best, score = delimiter, found
    return best


@dataclass(frozen=True)
class ReadOptions:
    """How to read the inputs' text.

    Attributes:
        delimiter: The CSV delimiter; None sniffs each CSV file's header (``,``, ``;`` or
            tab).
        encoding: The text encoding of JSON Lines and CSV files (a byte order mark at the
            start of a UTF-8 file is dropped).
    """

    delimiter: str | None = None
    encoding: str = "utf-8"
    columns: Mapping[str, str] = field(default_factory=dict)
    """Source column -> ``id``, ``case``, ``type``, ``at``, ``data`` or ``data.NAME``."""
    extra_into_data: bool = False
    """Take columns that are neither event keys nor mapped into ``data`` under their name."""
    declared: frozenset[str] = frozenset()
    """Data fields the audit is told about (mapped, grouped by or listed in the column
    map): an event carrying one is not warned about it."""

    def rename(self, column: str) -> str:
        """The event key a column is mapped to (``id``, ``case``, ``type``, ``at``, ``data``),
        else the column's own name.

        Examples:
            >>> ReadOptions(columns={"Ärende": "case", "Enhet": "data.enhet"}).rename("Ärende")
            'case'
            >>> ReadOptions(columns={"Enhet": "data.enhet"}).rename("Enhet")
            'Enhet'
        """
        target = self.columns.get(column, column)
        return target if target in _EVENT_KEYS else column

    def map_record(self, record: dict[str, Any]) -> str | None:
        """Rename and move ``record``'s columns in place; a message when two disagree.

        Examples:
            >>> options = ReadOptions(columns={"Enhet": "data.enhet"}, extra_into_data=True)
            >>> record = {"id": "e1", "Enhet": "Hemvård Norr", "Team": 3, "Tom": "", "data": {}}
            >>> options.map_record(record), record["data"]
            (None, {'Team': 3, 'enhet': 'Hemvård Norr'})
            >>> options.map_record({"Enhet": "A", "data": {"enhet": "B"}})
            "column 'Enhet' says 'A' but data.enhet says 'B'"
        """
        if not self.columns and not self.extra_into_data:
            return None
        moved: dict[str, tuple[str, Any]] = {}
        for key in list(record):
            target = self.columns.get(key)
            if target is None:
                if key in _EVENT_KEYS or not self.extra_into_data:
                    continue
                target = f"data.{key}"
            value = record.pop(key)
            if target.startswith("data."):
                if value is not None and value != "":
                    moved[target[5:]] = (key, _plain(value))
            else:
                record[target] = value
        if not moved:
            return None
        data = record.setdefault("data", {})
        if data is None or data == "":
            data = record["data"] = {}
        if not isinstance(data, dict):
            return None  # rejected as it is, with the reader's own message
        for name, (column, value) in sorted(moved.items()):
            if name in data and data[name] != value:
                return f"column {column!r} says {value!r} but data.{name} says {data[name]!r}"
            data[name] = value
        return None


_EVENT_KEYS = frozenset({*REQUIRED_KEYS, "data"})
_TARGET = re.compile(r"^(id|case|type|at|data|data\.[A-Za-z_][A-Za-z0-9_]*)$")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _plain(value: Any) -> Any:
    """A column's value as JSON data (Parquet dates, times and decimals as text)."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return json.loads(json.dumps(value, default=str))


@dataclass(frozen=True)
class ColumnMap:
    """A column map file's content (``--columns FILE``, YAML or TOML).

    Example (YAML)::

        columns:          # source column: id, case, type, at, data or data.NAME
          Ärende: case
          Enhet: data.enhet
        unknown: data     # other columns into data under their names (default: reject)
        fields: [utforare] # data fields that may appear without a warning
    """

    columns: Mapping[str, str]
    extra_into_data: bool
    fields: frozenset[str]


def load_column_map(path: str) -> ColumnMap:
    """Read and check a column map file.

    Raises:
        InputError: naming the file and the entry that is wrong.
    """
    where = f"--columns {path}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{where}: cannot read it ({exc}); check the path") from None
    try:
        doc = tomllib.loads(text) if path.lower().endswith(".toml") else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0]
        raise InputError(
            f"{where}: not valid {'TOML' if path.endswith('.toml') else 'YAML'}: {first}"
        ) from None
    if not isinstance(doc, dict) or not doc.keys() <= {"columns", "unknown", "fields"}:
        raise InputError(
            f"{where}: expected a mapping with 'columns' (source column: id, case, type, at, "
            "data or data.NAME), optionally 'unknown' (data or reject) and 'fields' (a list)"
        )
    columns = doc.get("columns") or {}
    if not isinstance(columns, dict):
        raise InputError(f"{where}: columns: expected a mapping of source column to target")
    for source, target in columns.items():
        if not isinstance(target, str) or not _TARGET.match(target):
            raise InputError(
                f"{where}: columns.{source}: {target!r} is no target; use id, case, type, at, "
                "data or data.NAME (NAME: letters, digits, _)"
            )
    unknown = doc.get("unknown", "reject")
    if unknown not in ("data", "reject"):
        raise InputError(f"{where}: unknown: {unknown!r}; use data or reject")
    fields = doc.get("fields") or []
    if not isinstance(fields, list) or not all(
        isinstance(f, str) and _FIELD.match(f) for f in fields
    ):
        raise InputError(f"{where}: fields: expected a list of data field names")
    return ColumnMap(
        columns={str(k).strip(): v for k, v in columns.items()},
        extra_into_data=unknown == "data",
        fields=frozenset(fields),
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def control_character(event: Event) -> tuple[str, str, str] | None:
    """(code, message, hint) when the event's id or case holds a control character (a line
    break, a tab, ...), else None.

    Ids go into the audit's CSV files and pages as they are; a carriage return in one
    breaks the rows for every reader of them, DuckDB's included, so such a record is
    rejected and named rather than staged.
    """
    for name, value in (("id", event.id), ("case", event.case)):
        if value.isprintable():  # the common case, without the search
            continue
        found = _CONTROL.search(value)
        if found is not None:
            return (
                "event.control-character",
                f"the {name} holds a control character (U+{ord(found.group()):04X}, "
                f"character {found.start() + 1} of it)",
                f"give every {name} without line breaks, tabs or other control characters",
            )
    return None
