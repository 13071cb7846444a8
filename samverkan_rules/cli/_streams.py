"""Checked output: what a command writes is complete, or the command fails.

Every byte a command writes to standard output or standard error goes through this module.
The rules:

* **UTF-8, whatever the locale.** The text is encoded as UTF-8 and written as bytes, so
  ``PYTHONIOENCODING=ascii`` or ``LC_ALL=C`` change nothing: the JSON contract and the
  Swedish text come out the same everywhere. A character that UTF-8 cannot carry (a lone
  surrogate from a broken input) is written as a ``\\udXXX`` escape, which in a JSON string
  is the JSON escape for that code unit.
* **Checked.** Each write goes to the file descriptor in a loop that checks how many bytes
  the system took (a single ``write`` never takes more than about 2 GiB on Linux), and
  waits when the descriptor is non-blocking. A failure (a full disk, a closed stream, an
  I/O error) raises :class:`OutputError`; the command then ends with exit 2 and says on
  standard error that its output is incomplete.
* **A reader that stops reading is no error.** ``samverkan due ... | head`` ends quietly:
  :class:`BrokenPipeError` escapes to :func:`samverkan_rules.cli.main`, which exits 0.
* **Safe for a terminal.** Control characters (ESC, carriage return, bell, the C1 range,
  U+2028/U+2029 and the bidirectional overrides) are written as ``\\uXXXX``, whatever
  carries them: a case id, a file name, a routine's text, a diagnostic. Only line feeds and
  tabs pass. In JSON output such a character can only stand inside a string (the encoder
  never writes one elsewhere), where ``\\uXXXX`` is its own JSON escape: the document
  parses to the same value.
* **Standard error is best effort.** When it is closed or full, diagnostics are dropped
  (never written to standard output instead); the exit code still tells.

Files a command writes (``render --out``, ``schema --write``) go through
:mod:`samverkan_rules.cli._files`, which only those commands import.

A streaming command writes piece by piece::

    with stdout_writer() as out:
        for chunk in chunks:
            out.write(chunk)

and a short one calls :func:`write_stdout` once.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import select
import sys
from collections.abc import Iterator
from types import TracebackType
from typing import Final, TextIO

ENCODING: Final = "utf-8"
_ERRORS: Final = "backslashreplace"
_CHUNK_CHARS: Final = 1 << 20
"""Text is encoded and written a megabyte at a time, so a huge result is never copied whole."""
_BUFFER_BYTES: Final = 1 << 16

_UNSAFE: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]")
"""What a terminal could act on, or a reader be misled by: every control character but
line feed and tab, the Unicode line and paragraph separators and the bidirectional marks,
embeddings, overrides and isolates."""


def terminal_safe(text: str) -> str:
    r"""``text`` with every unsafe character written as ``\uXXXX``.

    Examples:
        >>> terminal_safe("case \x1b[2J\n")
        'case \\u001b[2J\n'
    """
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class OutputError(Exception):
    """A command's output could not be written in full.

    Attributes:
        message: What failed, for ``samverkan COMMAND: error: ...`` on standard error.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _describe(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno == errno.EBADF:
        return "the stream is closed"
    return exc.strerror or str(exc)


def _write_fd(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd``, checking each count; OSError on failure."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view[: 1 << 30])
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        except InterruptedError:  # pragma: no cover - retried by Python itself (PEP 475)
            continue
        if written <= 0:  # pragma: no cover - write(2) returns 0 only for a zero-length write
            raise OSError(errno.EIO, "the system accepted no bytes")
        view = view[written:]


def _fileno(stream: TextIO) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return None


class StreamWriter:
    """Writes text as UTF-8 to one of the standard streams, checking every write.

    Small writes are gathered into a buffer of 64 KiB; :meth:`flush` (and leaving the
    ``with`` block) writes out the rest.

    Args:
        name: ``stdout`` or ``stderr``.
        strict: Raise :class:`OutputError` when a write fails (stdout); when False, a
            failure silences the writer instead (stderr: nowhere left to report it).
        stream: The stream to write to; default the one :mod:`sys` holds now (a test's
            captured stream, say), or the one beneath a :class:`CheckedStream`.
    """

    def __init__(self, name: str, *, strict: bool = True, stream: TextIO | None = None) -> None:
        self.name = name
        self.strict = strict
        self._stream: TextIO | None = stream if stream is not None else _underlying(name)
        self._pending: list[bytes] = []
        self._size = 0
        self._dead = False
        self._broken = False
        self.bytes_written = 0

    @property
    def _label(self) -> str:
        return "standard output" if self.name == "stdout" else "standard error"

    def _fail(self, reason: str) -> None:
        self._dead = True
        self._pending.clear()
        self._size = 0
        if self.strict:
            raise OutputError(
                f"cannot write to {self._label}: {reason}; the output is incomplete "
                f"({self.bytes_written} bytes were written)"
            )

    def write(self, text: str) -> None:
        """Queue ``text``; written out once 64 KiB have gathered, or at :meth:`flush`.

        Raises:
            OutputError: The stream is closed or a write failed (strict writers only).
            BrokenPipeError: The reader went away.
        """
        if self._dead:
            if self._broken and self.strict:
                raise BrokenPipeError(errno.EPIPE, "broken pipe")
            if self.strict:
                self._fail("an earlier write failed")
            return
        if self._stream is None:
            self._fail("it is closed")
            return
        for start in range(0, len(text), _CHUNK_CHARS):
            piece = terminal_safe(text[start : start + _CHUNK_CHARS])
            data = piece.encode(ENCODING, _ERRORS)
            self._pending.append(data)
            self._size += len(data)
            if self._size >= _BUFFER_BYTES:
                self.flush()
                if self._dead:
                    return

    def flush(self) -> None:
        """Write out everything queued.

        Raises:
            OutputError: A write failed (strict writers only).
            BrokenPipeError: The reader went away.
        """
        if self._dead or not self._pending:
            return
        stream = self._stream
        if stream is None:
            self._fail("it is closed")
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        try:
            self._emit(stream, data)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                self._dead = self._broken = True
                if self.strict:  # standard error's reader leaving is no reason to stop
                    raise BrokenPipeError(errno.EPIPE, "broken pipe") from None
                return
            self._fail(_describe(exc))
            return
        except ValueError:  # a closed file object
            self._fail("it is closed")
            return
        self.bytes_written += len(data)

    @staticmethod
    def _emit(stream: TextIO, data: bytes) -> None:
        fd = _fileno(stream)
        if fd is not None:
            stream.flush()  # whatever was printed the ordinary way goes first
            _write_fd(fd, data)
            return
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:  # a captured stream with a byte buffer (pytest's capsys)
            stream.flush()
            buffer.write(data)
            buffer.flush()
            return
        # A text-only stream (io.StringIO in a test): it takes text, not bytes.
        stream.write(data.decode(ENCODING))
        stream.flush()

    def __enter__(self) -> StreamWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.flush()


class CheckedStream(io.TextIOBase):
    """A text stream for ``sys.stdout``/``sys.stderr`` that writes through a :class:`StreamWriter`.

    :func:`checked_standard_streams` installs one for each stream while a command runs, so
    a plain ``print()`` or ``sys.stdout.write()`` is checked too, and ``print(...,
    file=sys.stderr)`` with standard error closed is dropped instead of going to standard
    output (which is where ``print`` sends text when its ``file`` is None).
    """

    def __init__(self, writer: StreamWriter, original: TextIO | None) -> None:
        super().__init__()
        self.writer = writer
        self.original = original

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """What is written comes out as UTF-8."""
        return ENCODING

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.writer.write(text)
        return len(text)

    def flush(self) -> None:
        self.writer.flush()

    def isatty(self) -> bool:
        try:
            return self.original is not None and self.original.isatty()
        except (AttributeError, ValueError):
            return False


def _underlying(name: str) -> TextIO | None:
    stream: TextIO | None = getattr(sys, name)
    if isinstance(stream, CheckedStream):
        return stream.original
    return stream


def stdout_writer() -> StreamWriter:
    """A checked writer for standard output; use it in a ``with`` block.

    Inside a command, prefer the writer already installed: ``sys.stdout`` is a
    :class:`CheckedStream` then, and this returns its writer, so everything written keeps
    its order.
    """
    stream = sys.stdout
    if isinstance(stream, CheckedStream):
        return stream.writer
    return StreamWriter("stdout")


def stderr_writer() -> StreamWriter:
    """A best-effort writer for standard error (failures are swallowed)."""
    stream = sys.stderr
    if isinstance(stream, CheckedStream):
        return stream.writer
    return StreamWriter("stderr", strict=False)


@contextlib.contextmanager
def checked_standard_streams() -> Iterator[None]:
    """Route ``sys.stdout`` and ``sys.stderr`` through checked writers while a command runs.

    Standard output is flushed when the block ends normally; a failure raises
    :class:`OutputError` there. The original streams are put back afterwards.

    Raises:
        OutputError: The output could not be written in full.
    """
    original_out, original_err = sys.stdout, sys.stderr
    out = CheckedStream(StreamWriter("stdout", stream=original_out), original_out)
    err = CheckedStream(StreamWriter("stderr", strict=False, stream=original_err), original_err)
    sys.stdout, sys.stderr = out, err
    try:
        yield
        out.writer.flush()
    finally:
        with contextlib.suppress(Exception):
            err.writer.flush()
        sys.stdout, sys.stderr = original_out, original_err


def write_stdout(text: str) -> None:
    """Write ``text`` to standard output and flush it, checked.

    Raises:
        OutputError: When the text could not be written in full.
        BrokenPipeError: When the reader went away.
    """
    with stdout_writer() as out:
        out.write(text)


def write_stderr(text: str) -> None:
    """Write ``text`` to standard error, best effort; never to standard output."""
    try:
        with stderr_writer() as err:
            err.write(text)
    except BrokenPipeError:
        pass


def silence_stdout() -> None:
    """Point file descriptor 1 at the null device after a broken pipe.

    Python flushes ``sys.stdout`` when it exits; with the reader gone that flush would fail
    and print a warning. Nothing more is written once the reader has stopped reading.
    """
    stream = sys.stdout
    fd = _fileno(stream) if stream is not None else None
    if fd is None:
        return
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)


def guard_standard_streams() -> None:
    """Keep files opened later from taking the numbers of closed standard streams.

    When a process starts with descriptor 0, 1 or 2 closed, the next file it opens gets
    that number, and anything written "to standard error" would land in it. Each closed
    one is pointed at the null device; Python has already set ``sys.stdin``,
    ``sys.stdout`` or ``sys.stderr`` to None for it, which is how this module knows the
    stream is closed.
    """
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            with contextlib.suppress(OSError):
                null = os.open(os.devnull, os.O_RDWR)
                if null != fd:
                    os.dup2(null, fd)
                    os.close(null)
