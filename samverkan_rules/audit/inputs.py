"""Which event files to read and how: the files found, their format, and how a CSV is read.

Exports from Swedish systems come in more than one form: Excel's "CSV (semikolonavgränsad)"
separates cells with ``;`` and saves in Windows-1252, other tools write tabs, and a byte
order mark or Windows line ends (CRLF) are common. :class:`ReadOptions` says how to read
them: the delimiter (sniffed from each CSV file's header unless given) and the text
encoding (UTF-8 unless given).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from samverkan_rules.events.model import REQUIRED_KEYS

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


def open_bytes(item: InputFile) -> IO[bytes]:
    if item.gzipped:
        return gzip.GzipFile(item.path, "rb")  # type: ignore[return-value]
    return item.path.open("rb")


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
