"""Limits on untrusted event input: line length, nesting depth, events per file.

Each limit has a default and an environment variable, and a record over it is refused with
its line number instead of exhausting memory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from samverkan_rules.diagnostics import N_
from samverkan_rules.errors import EventError
from samverkan_rules.events.model import _diag


@dataclass(frozen=True, slots=True)
class EventLimits:
    """How much one event line may hold, checked before the cost of parsing it.

    Each limit can be raised from the environment (``SAMVERKAN_MAX_EVENT_LINE_BYTES``,
    ``SAMVERKAN_MAX_EVENT_DEPTH``, ``SAMVERKAN_MAX_EVENTS_PER_CASE``); see
    :meth:`from_environment`.

    Attributes:
        line_bytes: The longest event line (or CSV record) in bytes.
        depth: The deepest nesting of objects and lists inside ``data``.
        events_per_case: The most events one case may have.
    """

    line_bytes: int = 1 << 20
    depth: int = 32
    events_per_case: int = 1_000_000

    ENV: ClassVar[dict[str, str]] = {
        "line_bytes": "SAMVERKAN_MAX_EVENT_LINE_BYTES",
        "depth": "SAMVERKAN_MAX_EVENT_DEPTH",
        "events_per_case": "SAMVERKAN_MAX_EVENTS_PER_CASE",
    }

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> EventLimits:
        """The defaults, each replaced by its environment variable when set.

        Raises:
            EventError: when a variable is not a whole number >= 1.
        """
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for name, variable in cls.ENV.items():
            raw = env.get(variable)
            if raw is None or not raw.strip():
                continue
            try:
                value = int(raw)
            except ValueError:
                value = 0
            if value < 1:
                raise EventError(
                    f"{variable}={raw!r} is not a whole number >= 1",
                    [
                        _diag(
                            "event.limit",
                            N_("{variable} must be a whole number >= 1", variable=variable),
                            file=None,
                            line=None,
                        )
                    ],
                )
            values[name] = value
        return cls(**values)

    def too_long(self, size: int) -> str:
        """The message for a line of ``size`` bytes over :attr:`line_bytes`."""
        return (
            f"the line is {size:,} bytes, over the limit of {self.line_bytes:,} bytes per "
            f"event; raise it with {self.ENV['line_bytes']} if such events are real"
        )


DEFAULT_LIMITS: Final = EventLimits()


def _brackets(raw: bytes | str) -> int:
    """How many objects and lists a line opens at most: a cheap bound on its depth."""
    if isinstance(raw, bytes):
        return raw.count(b"{") + raw.count(b"[")
    return raw.count("{") + raw.count("[")


def _depth_over(value: Any, limit: int) -> bool:
    """True when ``value`` nests objects and lists deeper than ``limit``."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False
