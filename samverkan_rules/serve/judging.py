"""Judging a listing's cases in a process of its own.

A listing of every case (``GET /routines/{routine}/due``) is seconds of pure-Python work.
Judged in the service's own process it shares the interpreter with every post and probe
that comes meanwhile: each of them waits for its turn at the interpreter again and again,
and a post's latency grows many times over. So the service starts one *judging process*:
it compiles the same routine files (and refuses to serve when their hashes differ from the
service's), lowers its own scheduling priority (``nice`` +10, so on a busy machine the
operating system runs the posts first), and judges each batch of a listing that is sent to
it: the batch's cases, the events that decide them and the instant, back as the listing's
lines. The service's process only gathers the events and writes the lines. A listing's
first batches (:data:`HERE_FIRST`) are judged in the service's process all the same: a
short page costs less that way than the round trips would.

Whenever the judging process cannot be used (it has not started, its routines differ, it
died or failed on a batch), the batch is judged in the service's process instead, as an
application embedding the service does by default; the lines are the same either way. A
process that died is started again for a later batch, at most once every
:data:`RESTART_SECONDS`. It ends when the service closes it or its input ends (the service
process is gone).

Messages are pickles with an 8-byte length, over the process's standard input and output;
nothing it judges is logged or written anywhere else.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import IO, Any

from samverkan_rules import children
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.engine import evaluate
from samverkan_rules.events.model import Event
from samverkan_rules.live.held import Batch
from samverkan_rules.live.session import Session
from samverkan_rules.routine.load import load_routine
from samverkan_rules.serve.queries import DueQuery, Line, case_lines, judged_here

log = logging.getLogger("samverkan.serve")

NICE = 10
"""How much lower the judging process's scheduling priority is than the service's."""

HERE_FIRST = 2
"""How many of a listing's first batches are judged in the service's process: a page of a
hundred cases takes about that many, and sending a batch to the judging process costs more
than it saves for so few (the events and lines cross a pipe, about 9 ms more than the
17 ms of judging a batch of 64 here)."""

RESTART_SECONDS = 60.0
"""The least time between two starts of the judging process."""

_LENGTH = struct.Struct("!Q")

Key = tuple[str, str, str]
"""A routine version as the two processes compare it: id, version, sha256."""


def _key(routine: CompiledRoutine) -> Key:
    return (routine.id, routine.version, routine.sha256)


def _send(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError("the other process ended")
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the other process ended")
    return pickle.loads(data)


class JudgingProcess:
    """The service's judging process (see the module's description).

    Args:
        routines: Every routine version the service serves, compiled from files.
        nice: How much lower the process's scheduling priority is.

    Attributes:
        judged_there: How many batches the process judged.
        judged_here: How many batches were judged in this process instead.
    """

    def __init__(self, routines: Sequence[CompiledRoutine], *, nice: int = NICE) -> None:
        self._files = [r.file for r in routines]
        self._keys = {_key(r) for r in routines}
        self._nice = nice
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._started = float("-inf")
        self._refused = False
        self.judged_there = 0
        self.judged_here = 0

    @property
    def pid(self) -> int | None:
        """The process's id while it runs."""
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the process (it compiles the routines meanwhile; the first batch waits for
        it). A routine not read from a file means it cannot judge them: nothing starts."""
        with self._lock:
            self._start()

    def lines(
        self,
        session: Session,
        batch: Batch,
        as_of: datetime,
        options: Mapping[str, bool],
        query: DueQuery,
    ) -> list[Line]:
        """The listing's lines of ``batch`` (as :func:`~samverkan_rules.serve.queries.
        case_lines` of ``session.judge(batch, as_of)``), judged by the process when it can,
        here otherwise."""
        with self._lock:
            judged = self._judged(session, batch, as_of, options, query)
            if judged is not None:
                self.judged_there += 1
                return judged
            self.judged_here += 1
        return judged_here(session, as_of, options, query)(batch)

    def judge(
        self, session: Session, as_of: datetime, options: Mapping[str, bool], query: DueQuery
    ) -> Callable[[Batch], list[Line]]:
        """How one listing's batches are judged (see :func:`~samverkan_rules.serve.queries.
        judged_lines`): the first :data:`HERE_FIRST` in this process, the rest by
        :meth:`lines`."""
        here = judged_here(session, as_of, options, query)
        seen = itertools.count()

        def judge(batch: Batch) -> list[Line]:
            if next(seen) >= HERE_FIRST:
                return self.lines(session, batch, as_of, options, query)
            with self._lock:
                self.judged_here += 1
            return here(batch)

        return judge

    def close(self) -> None:
        """End the process."""
        with self._lock:
            self._stop()

    def _judged(
        self,
        session: Session,
        batch: Batch,
        as_of: datetime,
        options: Mapping[str, bool],
        query: DueQuery,
    ) -> list[Line] | None:
        if self._refused:
            return None
        if self._process is None or self._process.poll() is not None:
            if time.monotonic() - self._started < RESTART_SECONDS:
                return None
            self._stop()
            self._start()
        process = self._process
        if process is None or process.stdin is None or process.stdout is None:
            return None
        try:
            if not self._ready:
                keys = set(_receive(process.stdout))
                if keys != self._keys:
                    log.error("the judging process's routines differ from the service's")
                    self._refused = True
                    self._stop()
                    return None
                self._ready = True
            routines = [_key(r)[:2] for r in session.routines]
            # Instants as text: a datetime's time zone is pickled anew for every event.
            events = [(e.id, e.case, e.type, e.at.isoformat(), e.data) for e in batch.inputs]
            job = (routines, events, batch.cases, batch.events, as_of, options, query)
            _send(process.stdin, job)
            answer = _receive(process.stdout)
        except (OSError, EOFError, pickle.PickleError, TypeError, ValueError) as exc:
            log.error("the judging process failed: %s; judging here", type(exc).__name__)
            self._stop()
            return None
        if isinstance(answer, str):  # the name of what went wrong there
            log.error("the judging process failed on a batch: %s; judging here", answer)
            return None
        return list(answer)

    def _start(self) -> None:
        if self._process is not None or self._refused:
            return
        if any(f is None for f in self._files):
            self._refused = True
            return
        self._started = time.monotonic()
        self._ready = False
        try:
            self._process = subprocess.Popen(
                children.command(__name__, str(self._nice)),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=children.environment(),
            )
            assert self._process.stdin is not None
            _send(self._process.stdin, self._files)
        except OSError as exc:
            log.error("the judging process did not start: %s", type(exc).__name__)
            self._stop()

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """The judging process: compile the routine files it is sent, answer with their keys,
    then answer each batch with its lines (or the name of the error it raised)."""
    try:
        compiled = [load_routine(path) for path in _receive(source)]
    except Exception:  # a file changed since the service read it: no routine
        compiled = []
    by_version = {(r.id, r.version): r for r in compiled}
    _send(sink, [_key(r) for r in compiled])
    while True:
        try:
            message = _receive(source)
        except EOFError:
            return
        routines, events, cases, count, as_of, options, query = message
        try:
            inputs = [
                Event(i, c, t, datetime.fromisoformat(at), data) for i, c, t, at, data in events
            ]
            result = evaluate(tuple(by_version[k] for k in routines), inputs, as_of)
            answer: Any = case_lines(result.only_cases(cases, events=count), options, query)
        except Exception as exc:  # the service judges the batch itself
            answer = type(exc).__name__
        _send(sink, answer)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m samverkan_rules.serve.judging NICE``: run as the judging process."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and hasattr(os, "nice"):
        os.nice(int(args[0]))
    # The answers go to the service over the standard output's own descriptor; anything
    # else printed goes to the standard error instead of into them.
    sink = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        _serve(sys.stdin.buffer, sink)
    except BrokenPipeError:
        # The service ended while an answer was on its way: the same end as the EOFError a
        # read meets, met by a write. What is left in the buffer goes nowhere, not into a
        # traceback in the service's log (which may be JSON, a line a record); as the
        # commands' silence_stdout does, which the service may not import.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sink.fileno())
        os.close(devnull)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
