"""What a live session reports (:class:`Change`, :class:`Changes`) and its change log:
every change it reported, numbered, and the answers kept for idempotent retries.

Each change a post or a tick reports is written here with a sequence number that only
grows (per routine, so the changes of one case keep their order), so a client that lost an
answer asks for everything after the last number it saw. The log also tells a restarted
session what it last reported on each case: the latest row of each obligation is its
snapshot, so nothing is reported twice after a restart and nothing is lost.

:class:`MemoryChangeLog` keeps the log in memory for a session without a store;
:class:`~samverkan_rules.live.store.EventStore` keeps it in its SQLite file with the same
methods (:class:`ChangeLog`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import orjson

from samverkan_rules.records import Obligation
from samverkan_rules.time.instants import format_rfc3339

ANSWER_TTL = timedelta(hours=24)
"""How long the answer to a request with an ``Idempotency-Key`` is kept."""


def change_kind(before: str | None, after: str | None) -> Literal["arose", "changed", "ended"]:
    """What a change did to an obligation, from its status before and after."""
    if before is None:
        return "arose"
    return "ended" if after is None else "changed"


@dataclass(frozen=True, slots=True)
class Change:
    """One obligation the session reports as new, changed (its status, or its deadline) or
    ended.

    Attributes:
        case: The case the obligation belongs to.
        obligation: The obligation id (as in the evaluation's ledger).
        rule: The rule (or precondition, for a remedy) it comes from.
        before: Its status when the session last reported on the case (None: it is new).
        after: Its status now (None: it is no longer in the ledger).
        record: The obligation as it stands now (None when it ended).
        cause: The posted event's id when the obligation names that event as its trigger,
            fulfilment, cancellation or ``before``; None when time (or another event) moved it.
        seq: Its number in the session's change log (see :meth:`Session.changes`): the
            numbers only grow, so a client resumes after the last one it saw.
    """

    case: str
    obligation: str
    rule: str
    before: str | None
    after: str | None
    record: Obligation | None
    cause: str | None = None
    seq: int = 0

    @property
    def kind(self) -> Literal["arose", "changed", "ended"]:
        """``arose``, ``changed`` or ``ended``."""
        return change_kind(self.before, self.after)

    def to_json(self) -> dict[str, Any]:
        """The change as a JSON-ready mapping (the obligation in the evaluation's form)."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "case": self.case,
            "obligation": self.obligation,
            "rule": self.rule,
            "before": self.before,
            "after": self.after,
            "cause": self.cause,
            "record": self.record.to_json() if self.record is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Changes:
    """What a post or a tick changed, at the instant it was judged.

    Attributes:
        as_of: The instant the cases were evaluated at, in the routine's time zone.
        changes: Each obligation that arose, changed status or ended, by case and id.
        accepted: How many posted events were new (repeats of stored events are no-ops).
    """

    as_of: datetime
    changes: tuple[Change, ...] = ()
    accepted: int = 0

    def __len__(self) -> int:
        return len(self.changes)

    def __getitem__(self, index: int) -> Change:
        return self.changes[index]

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def to_json(self) -> dict[str, Any]:
        """``{"accepted": n, "as_of": ..., "changes": [...]}``."""

        return {
            "accepted": self.accepted,
            "as_of": format_rfc3339(self.as_of),
            "changes": [c.to_json() for c in self.changes],
        }


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """One logged change, as stored.

    Attributes:
        seq: Its sequence number (0 until it is logged).
        case: The obligation's case.
        at: When it was judged (RFC 3339): the instant of the post or tick.
        obligation: The obligation id.
        rule: The rule it comes from.
        before: Its status before (None: it arose).
        after: Its status now (None: it ended).
        cause: The posted event it names, if any.
        named: The events the obligation names (trigger, fulfilment, cancellation).
        deadline: Its deadline (RFC 3339), None when it has none or ended.
        record: The obligation as it stands, as JSON text (None when it ended).
    """

    seq: int
    case: str
    at: str
    obligation: str
    rule: str
    before: str | None
    after: str | None
    cause: str | None
    named: tuple[str, ...]
    deadline: str | None
    record: str | None

    @property
    def kind(self) -> str:
        """``arose``, ``changed`` or ``ended``."""
        return change_kind(self.before, self.after)

    def to_json(self) -> dict[str, Any]:
        """The change as the service writes it: a post's change (see
        :meth:`~samverkan_rules.live.session.Change.to_json`) with ``at``, when it was
        judged. The record is passed through as stored (for :mod:`orjson`)."""
        return {
            "seq": self.seq,
            "at": self.at,
            "kind": self.kind,
            "case": self.case,
            "obligation": self.obligation,
            "rule": self.rule,
            "before": self.before,
            "after": self.after,
            "cause": self.cause,
            "record": orjson.Fragment(self.record) if self.record is not None else None,
        }


class ChangeLog(Protocol):
    """Where a session logs its changes and keeps idempotent answers."""

    def log_changes(self, rows: Iterable[ChangeRow]) -> list[ChangeRow]:
        """Log ``rows`` in one step; the rows with their sequence numbers."""
        ...

    def changes_after(self, after: int, limit: int, case: str | None = None) -> list[ChangeRow]:
        """Up to ``limit`` changes with a sequence number above ``after`` (of one case, or
        all), in order."""
        ...

    def last_reported(self) -> Iterator[ChangeRow]:
        """The latest row of each obligation that had not ended: what the session last said
        of it."""
        ...

    def forget_case(self, case: str) -> None:
        """Remove a case's changes (its erasure)."""
        ...

    def last_at(self) -> str | None:
        """When the latest logged change was judged (RFC 3339), or None."""
        ...

    def last_seq(self) -> int:
        """The highest sequence number logged (0 when none)."""
        ...

    def answer(self, key: str) -> tuple[str, bytes] | None:
        """The fingerprint and body kept for an idempotency key, or None."""
        ...

    def keep_answer(self, key: str, fingerprint: str, body: bytes, at: datetime) -> None:
        """Keep an answer under ``key`` (the first one kept stays); answers older than
        :data:`ANSWER_TTL` before ``at`` are dropped."""
        ...


class MemoryChangeLog:
    """The change log of a session without a store: lost when the process ends."""

    def __init__(self) -> None:
        self._rows: list[ChangeRow] = []
        self._answers: dict[str, tuple[str, bytes, datetime]] = {}
        self._seq = 0

    def log_changes(self, rows: Iterable[ChangeRow]) -> list[ChangeRow]:
        out = []
        for row in rows:
            self._seq += 1
            out.append(replace(row, seq=self._seq))
        self._rows.extend(out)
        return out

    def changes_after(self, after: int, limit: int, case: str | None = None) -> list[ChangeRow]:
        # Sequence numbers rise with the list's order: start at the first one above `after`.
        low, high = 0, len(self._rows)
        while low < high:
            mid = (low + high) // 2
            if self._rows[mid].seq <= after:
                low = mid + 1
            else:
                high = mid
        out: list[ChangeRow] = []
        for row in self._rows[low:]:
            if len(out) >= limit:
                break
            if case is None or row.case == case:
                out.append(row)
        return out

    def last_reported(self) -> Iterator[ChangeRow]:
        latest: dict[tuple[str, str], ChangeRow] = {}
        for row in self._rows:
            latest[(row.case, row.obligation)] = row
        return (row for row in latest.values() if row.after is not None)

    def forget_case(self, case: str) -> None:
        self._rows = [r for r in self._rows if r.case != case]

    def last_at(self) -> str | None:
        return self._rows[-1].at if self._rows else None

    def last_seq(self) -> int:
        return self._seq

    def answer(self, key: str) -> tuple[str, bytes] | None:
        found = self._answers.get(key)
        return (found[0], found[1]) if found is not None else None

    def keep_answer(self, key: str, fingerprint: str, body: bytes, at: datetime) -> None:
        oldest = at - ANSWER_TTL
        self._answers = {k: v for k, v in self._answers.items() if v[2] >= oldest}
        self._answers.setdefault(key, (fingerprint, body, at))
