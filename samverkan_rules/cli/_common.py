"""Helpers every command shares: options, diagnostics, ``--as-of``, event files, progress.

A command reports a problem the user can fix by raising :class:`CommandError`; the
:func:`guarded` decorator prints it (with any located diagnostics) and turns it into the
exit code, so a command's body reads straight through. Anything else escapes to
:func:`samverkan_rules.cli.main`, which reports it as an internal error (exit 3).
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import shutil
import stat
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Any, TextIO

from samverkan_rules.cli import EXIT_USAGE
from samverkan_rules.cli._streams import (
    CheckedStream,
    OutputError,
    terminal_safe,
    write_stderr,
    write_stdout,
)
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.diagnostics import Diagnostic, sort_key
from samverkan_rules.errors import CalendarError, EventError
from samverkan_rules.events.model import EventBatch
from samverkan_rules.events.read import read_events, read_events_text
from samverkan_rules.i18n import LANGUAGES, Translator, resolve_language, translator
from samverkan_rules.time.instants import check_supported
from samverkan_rules.time.instants import parse_as_of as parse_instant

FORMATS = ("text", "json")
"""The values of ``--format``."""

STDIN = "-"
"""The file name that means standard input."""


RunFunction = Callable[[argparse.Namespace], int]


class CommandError(Exception):
    """A problem the user can fix: bad usage, an unreadable or unusable input.

    Attributes:
        message: One sentence saying what is wrong and what to do.
        exit_code: The exit code the command ends with (default 2, bad usage or input).
        diagnostics: Located findings to print before the message.
    """

    def __init__(
        self,
        message: str,
        *,
        exit_code: int = EXIT_USAGE,
        diagnostics: Sequence[Diagnostic] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.diagnostics = tuple(diagnostics)


def print_error(command: str, message: str, *, stream: TextIO | None = None) -> None:
    """Print ``samverkan COMMAND: error: MESSAGE`` (to stderr unless told otherwise)."""
    line = f"samverkan {command}: error: {message}\n"
    if stream is None:
        write_stderr(line)
    else:
        stream.write(line)


def guarded(command: str) -> Callable[[RunFunction], RunFunction]:
    """Decorate a command's ``run`` so that a :class:`CommandError` becomes its exit code.

    The error's diagnostics are printed first (sorted, with source lines), then the message.

    Args:
        command: The command's name, for the ``samverkan NAME: error:`` prefix.
    """

    def decorate(run: RunFunction) -> RunFunction:
        @functools.wraps(run)
        def wrapper(args: argparse.Namespace) -> int:
            try:
                return run(args)
            except CommandError as exc:
                print_diagnostics(exc.diagnostics)
                print_error(command, exc.message)
                return exc.exit_code
            except OutputError as exc:
                print_error(command, exc.message)
                return EXIT_USAGE

        return wrapper

    return decorate


def settle_memory() -> None:
    """Tune the garbage collector for a batch command, once its routines are loaded.

    What is loaded so far (modules, compiled routines) lives as long as the process, so it
    is frozen out of the collector's view; and young objects are collected less often,
    since reference counting frees almost everything an evaluation allocates, while each
    collection at the default threshold (700 allocations) walks every object still held
    (kept events, a case's ledger). On 10,000 open cases this cuts ``due``'s time to build
    its output by half and evaluation's by a fifth. The process is the command's own, so
    this setting is its to make; the library never touches the collector.
    """
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


# --------------------------------------------------------------------------- options


def add_format_option(
    parser: argparse.ArgumentParser,
    *,
    default: str = "text",
    choices: Sequence[str] = FORMATS,
    help: str | None = None,
) -> None:
    """Add ``--format text|json`` (text for people, json for programs)."""
    parser.add_argument(
        "--format",
        choices=choices,
        default=default,
        help=help or f"output for people (text) or programs (json); default {default}",
    )


def add_lang_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--lang sv|en``: the language of what people read (see :func:`translator_from_args`)."""
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=None,
        help=(
            "language of the text people read: sv (the default) or en; without it, the first "
            "of LC_ALL, LC_MESSAGES and LANG that is set decides (English for an English locale)"
        ),
    )


def translator_from_args(args: argparse.Namespace) -> Translator:
    """The reader's language: ``--lang`` when given, else the environment's, else Swedish."""
    return translator(resolve_language(getattr(args, "lang", None)))


def data_translator_from_args(args: argparse.Namespace) -> Translator:
    """The language of explanations inside JSON output: ``--lang`` when given, else Swedish.

    Unlike text for a person, data does not follow the locale: the same inputs give the
    same JSON on every machine.
    """
    lang = getattr(args, "lang", None)
    return translator(lang) if lang else translator()


def parse_as_of(text: str) -> datetime:
    """Parse an ``--as-of`` value (see :func:`samverkan_rules.time.instants.parse_as_of`).

    Raises:
        CommandError: for a naive or malformed timestamp, with an example of what to write.

    Examples:
        >>> parse_as_of("2026-12-15T12:00:00+01:00").isoformat()
        '2026-12-15T12:00:00+01:00'
        >>> parse_as_of("2026-12-15T12:00:00")
        Traceback (most recent call last):
        ...
        samverkan_rules.cli._common.CommandError: 2026-12-15T12:00:00 has no UTC offset, ...
    """
    try:
        return parse_instant(text)
    except CalendarError as exc:
        raise CommandError(str(exc)) from None


def check_as_of(as_of: datetime, routines: Iterable[CompiledRoutine]) -> None:
    """Refuse an ``--as-of`` outside the supported range in any routine's time zone.

    Raises:
        CommandError: Naming ``--as-of``, the instant and the supported range (exit 2).
    """
    for routine in routines:
        try:
            check_supported(as_of, routine.tz, "--as-of")
        except CalendarError as exc:
            raise CommandError(
                f"{exc}; give an instant inside it, e.g. 2026-12-15T12:00:00+01:00"
            ) from None


def as_of_argument(text: str) -> datetime:
    """``type=`` for an argparse ``--as-of`` option: bad values are usage errors (exit 2)."""
    try:
        return parse_as_of(text)
    except CommandError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def parse_date(text: str, *, option: str = "date") -> date:
    """Parse a calendar date written ``YYYY-MM-DD``.

    Raises:
        CommandError: when the text is no real date.

    Examples:
        >>> parse_date("2026-12-28")
        datetime.date(2026, 12, 28)
    """
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            f"{option} {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-12-28"
        ) from None


def date_argument(option: str) -> Callable[[str], date]:
    """``type=`` for an argparse date option such as ``--today``."""

    def convert(text: str) -> date:
        try:
            return parse_date(text, option=option)
        except CommandError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    return convert


def positive_argument(option: str) -> Callable[[str], int]:
    """``type=`` for an argparse option that takes a whole number >= 1 (``--jobs``)."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(f"{text!r}: give a whole number >= 1 ({option})")
        return value

    return convert


# --------------------------------------------------------------------------- diagnostics


def print_diagnostics(
    diagnostics: Iterable[Diagnostic],
    *,
    stream: TextIO | None = None,
    caret: bool = True,
    unlocated: str | None = None,
    t: Translator | None = None,
) -> None:
    """Print diagnostics as ``file:line:col: path: message. Hint: ...``, in a stable order.

    Args:
        diagnostics: What to print; sorted by file, position and code.
        stream: Where to (default stderr: diagnostics are not a command's data output).
        caret: Follow each with its source line and a caret, when the line is known.
        unlocated: What to write in place of the location of a diagnostic that has none
            (e.g. ``samverkan due``); default ``<input>``.
        t: The reader's language for messages and hints (default English, as made).
    """
    lines = []
    for d in sorted(diagnostics, key=sort_key):
        text = d.format(caret=caret, t=t)
        if unlocated and d.file is None and d.line is None:
            text = unlocated + text.removeprefix(d.location())
        lines.append(text + "\n")
    if stream is None:
        write_stderr("".join(lines))
    else:
        stream.write("".join(lines))


def diagnostics_json(
    diagnostics: Iterable[Diagnostic], t: Translator | None = None
) -> list[dict[str, Any]]:
    """The JSON form of diagnostics, in the same stable order as the text form.

    Args:
        diagnostics: What to write.
        t: The language of messages and hints (default English, as made).
    """
    return [d.to_json(t) for d in sorted(diagnostics, key=sort_key)]


def dump_json(data: Any, stream: TextIO | None = None) -> None:
    """Write ``data`` as indented JSON with a final newline (UTF-8 kept as is)."""
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if stream is None:
        write_stdout(text)
    else:
        stream.write(text)


# --------------------------------------------------------------------------- events


def read_event_file(path: str) -> EventBatch:
    """Read events from a file (JSON Lines, or CSV by its ``.csv`` suffix) or ``-`` (stdin).

    Lines that cannot be used are reported in the batch's diagnostics; every good line is
    kept.

    Raises:
        CommandError: when the input cannot be read at all (exit 2), with its diagnostics.
    """
    try:
        if path == STDIN:
            try:
                text = _read_stdin()
            except UnicodeDecodeError as exc:
                raise CommandError(
                    f"standard input is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                    "convert it to UTF-8 and try again"
                ) from None
            return read_events_text(text.removeprefix("\ufeff"), format="jsonl", file="<stdin>")
        _check_event_source(path)
        return read_events(path)
    except EventError as exc:
        raise unreadable_events(exc) from None


def unreadable_events(exc: EventError) -> CommandError:
    """The usage error (exit 2) for an event input that cannot be read at all."""
    first = str(exc).splitlines()[0]
    return CommandError(
        f"{first}; check the path and that the file is UTF-8 text", diagnostics=exc.diagnostics
    )


def _check_event_source(path: str) -> None:
    """Refuse a directory or a device (``/dev/zero`` would be read for ever) at once.

    Regular files, pipes (``--events <(zcat log.gz)``) and the null device (no events) are
    read; a missing or unreadable path is left to the reader, which names it.

    Raises:
        CommandError: For a directory or a device (exit 2).
    """
    try:
        mode = os.stat(path).st_mode
        if os.path.samefile(path, os.devnull):
            return  # no events at all: schedules alone can still raise obligations
    except OSError:
        return
    kind = (
        "a directory"
        if stat.S_ISDIR(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else None
    )
    if kind is not None:
        raise CommandError(
            f"--events {path}: this is {kind}, not an event file; name a JSON Lines or CSV "
            "file, or - for standard input"
        )


def _read_stdin() -> str:
    """Standard input as UTF-8 text, whatever the locale says.

    Raises:
        CommandError: When standard input is closed or cannot be read.
        UnicodeDecodeError: When it is not UTF-8.
    """
    stream = sys.stdin
    if stream is None:
        raise CommandError(
            "standard input is closed, so '--events -' has nothing to read; give a file, "
            "or pipe the events in"
        )
    try:
        buffer = getattr(stream, "buffer", None)
        if buffer is None:  # a text stream put in place by a caller (a test's StringIO)
            return stream.read()
        return bytes(buffer.read()).decode("utf-8")
    except OSError as exc:
        raise CommandError(
            f"cannot read standard input: {exc.strerror or exc}; give the events as a file"
        ) from None


# --------------------------------------------------------------------------- progress


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


class Progress:
    """A one-line progress indicator on stderr, shown only when stderr is a terminal.

    Nothing is written for pipes, files or captured output, so logs and tests stay clean;
    on a terminal the line appears after ``delay`` seconds and is erased at the end.

    Examples:
        >>> import io
        >>> with Progress(3, "checking", stream=io.StringIO()) as progress:
        ...     for name in ("a", "b", "c"):
        ...         progress.advance(name)
        >>> progress.done
        3
    """

    def __init__(
        self,
        total: int | None,
        label: str,
        *,
        stream: TextIO | None = None,
        delay: float = 0.5,
        interval: float = 0.1,
    ) -> None:
        self.total = total
        self.label = label
        chosen = stream or sys.stderr
        # The progress line redraws itself with a carriage return, which the checked
        # standard error would escape: it writes beneath it, and escapes its notes itself.
        self.stream = chosen.original if isinstance(chosen, CheckedStream) else chosen
        self.enabled = self.stream is not None and _is_terminal(self.stream)
        self.done = 0
        self._delay = delay
        self._interval = interval
        self._start = time.monotonic()
        self._last = 0.0
        self._shown = False

    def __enter__(self) -> Progress:
        self._start = time.monotonic()
        return self

    def advance(self, note: str = "", step: int = 1) -> None:
        """Count ``step`` more units of work done; ``note`` names the current one."""
        self.done += step
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._start < self._delay or now - self._last < self._interval:
            return
        self._last = now
        count = f"{self.done}/{self.total}" if self.total else str(self.done)
        text = terminal_safe(f"{self.label} {count} {note}".rstrip())
        width = shutil.get_terminal_size((80, 24)).columns - 1
        self._write("\r" + text[:width].ljust(width))
        self._shown = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._shown:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            self._write("\r" + " " * width + "\r")

    def _write(self, text: str) -> None:
        try:
            if self.stream is not None:
                self.stream.write(text)
                self.stream.flush()
        except (OSError, ValueError):  # the terminal went away; progress is not worth a crash
            self.enabled = False
