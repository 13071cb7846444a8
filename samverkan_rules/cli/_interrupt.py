"""Ctrl-C that arrives only where it is safe to stop.

Python turns SIGINT into a ``KeyboardInterrupt`` raised in whatever Python code runs next,
and that code may have been called from a compiled extension that does not expect it: an
extension initialising (orjson imports modules from its ``PyInit`` and crashes with a
segmentation fault when one of those imports fails), or pydantic-core building a validator
(which reports the interrupt as a schema error, or prints it as "Exception ignored" and goes
on). Both happen while a command starts, and again whenever a model is first validated.

:func:`interrupts_at_safe_points` installs a handler that raises the interrupt at once when
the main thread runs the project's own code, and otherwise asks again a moment later, until
no import and no pydantic code is on the stack. An interrupt is never lost: it is only late
by the time the import or the validator build takes to finish, and never by more than
:data:`PATIENCE_SECONDS` (a program that calls the command line while it is itself being
imported is always "importing").
"""

from __future__ import annotations

import _thread
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

RETRY_SECONDS = 0.02
"""How soon an interrupt that arrived at an unsafe moment is delivered again."""

PATIENCE_SECONDS = 5.0
"""How long an interrupt waits for a safe point before it is raised wherever it is."""

_IMPORTING = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")
_EXTENSION_PACKAGES = tuple(f"{os.sep}{name}{os.sep}" for name in ("pydantic", "pydantic_core"))


def _inside_extension_package(filename: str) -> bool:
    return any(package in filename for package in _EXTENSION_PACKAGES)


def unsafe_to_interrupt(frame: FrameType | None) -> bool:
    """Whether raising in ``frame`` could reach code that cannot take an exception there.

    That is while a module is imported (an extension's initialisation may run the frame)
    and while pydantic's own code runs (it may be called back from its compiled core).
    """
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename in _IMPORTING or _inside_extension_package(filename):
            return True
        frame = frame.f_back
    return False


class _Handler:
    """The SIGINT handler; remembers when the interrupt it is holding back first arrived."""

    def __init__(self) -> None:
        self.held_since: float | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if self.held_since is None:
            self.held_since = now
        if now - self.held_since < PATIENCE_SECONDS and unsafe_to_interrupt(frame):
            timer = threading.Timer(RETRY_SECONDS, _thread.interrupt_main, args=(signum,))
            timer.daemon = True
            timer.start()
            return
        self.held_since = None
        raise KeyboardInterrupt


@contextmanager
def interrupts_at_safe_points() -> Iterator[None]:
    """While inside, Ctrl-C raises ``KeyboardInterrupt`` only at a safe point.

    Does nothing outside the main thread, or when SIGINT is not Python's default handler
    (ignored in a background job, or handled by an embedding program).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        yield
        return
    signal.signal(signal.SIGINT, _Handler())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
