"""``GET /routines/{routine}/due``: filters, pages and the trailer line.

A page is a run of cases in case-id order. The cursor is opaque to clients: it carries the
last case sent and the instant the first page was judged at, so every page of one listing
answers at the same instant even when the clock moved between requests.

A listing filtered by the statuses of actions judges only the cases that may have one
(:meth:`~samverkan_rules.live.session.Session.due_candidates`, from what the session last
reported and the next instant time changes each case); otherwise every case is judged and
then filtered. Both give the same lines. Either way the cases are judged a few at a time as
the listing reaches them, so the first line comes at once and a listing of every case never
holds all of them in memory.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from samverkan_rules._json import dumps_bytes
from samverkan_rules.engine.result import Evaluation
from samverkan_rules.errors import CalendarError
from samverkan_rules.live.held import Batch
from samverkan_rules.live.session import Session
from samverkan_rules.status import STATUSES
from samverkan_rules.time.instants import parse_as_of

MAX_LIMIT = 10_000
"""The most cases one page may ask for."""

GIVE_WAY_SECONDS = 0.05
"""The longest a listing waits for posts after judging a few cases (see :func:`give_way`)."""

CHUNK_BYTES = 64 * 1024
"""About how many bytes of a listing are written to the connection at a time."""


class QueryError(ValueError):
    """A query parameter that cannot be used; the message names it."""


@dataclass(frozen=True, slots=True)
class DueQuery:
    """What a due listing asks for.

    Attributes:
        statuses: Only obligations with one of these statuses (empty: any).
        responsible: Only obligations of this role (None: any).
        deadline_before: Only obligations whose deadline is earlier than this.
        deadline_after: Only obligations whose deadline is at or after this.
        limit: At most this many cases (None: every case).
        after: Only cases whose id sorts after this one (from the cursor).
        as_of: The instant the cursor's first page was judged at, if any.
    """

    statuses: frozenset[str] = frozenset()
    responsible: str | None = None
    deadline_before: datetime | None = None
    deadline_after: datetime | None = None
    limit: int | None = None
    after: str | None = None
    as_of: str | None = None

    @property
    def filters(self) -> bool:
        """Whether any obligation filter is set."""
        return bool(
            self.statuses
            or self.responsible is not None
            or self.deadline_before is not None
            or self.deadline_after is not None
        )

    def keeps(self, obligation: dict[str, Any]) -> bool:
        """Whether an obligation (in its JSON form) passes the filters."""
        if self.statuses and obligation.get("status") not in self.statuses:
            return False
        if self.responsible is not None and obligation.get("responsible") != self.responsible:
            return False
        if self.deadline_before is None and self.deadline_after is None:
            return True
        text = obligation.get("deadline")
        if not text:
            return False
        deadline = datetime.fromisoformat(text)
        if self.deadline_before is not None and not deadline < self.deadline_before:
            return False
        return self.deadline_after is None or deadline >= self.deadline_after


def parse_due_query(params: Any) -> DueQuery:
    """The listing asked for by a request's query parameters (a multi-dict).

    Raises:
        QueryError: naming the parameter and what it may be.
    """
    statuses = frozenset(params.getlist("status"))
    wrong = sorted(statuses - set(STATUSES))
    if wrong:
        raise QueryError(f"status={wrong[0]!r}: give one of {', '.join(STATUSES)}")
    limit = None
    if (text := params.get("limit")) is not None:
        if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
            raise QueryError(f"limit={text!r}: give a whole number from 1 to {MAX_LIMIT}")
        limit = int(text)
    after, as_of = _cursor(params.get("cursor"))
    return DueQuery(
        statuses=statuses,
        responsible=params.get("responsible") or None,
        deadline_before=_instant(params, "deadline_before"),
        deadline_after=_instant(params, "deadline_after"),
        limit=limit,
        after=after,
        as_of=as_of,
    )


def _instant(params: Any, name: str) -> datetime | None:
    text = params.get(name)
    if not text:
        return None
    try:
        return parse_as_of(text)
    except (CalendarError, ValueError, OverflowError) as exc:
        raise QueryError(f"{name}: {exc}") from None


def make_cursor(after: str, as_of: str) -> str:
    """The opaque cursor of the page after case ``after``.

    Examples:
        >>> c = make_cursor("c1", "2026-12-15T12:00:00+01:00")
        >>> _cursor(c)
        ('c1', '2026-12-15T12:00:00+01:00')
    """
    raw = json.dumps({"after": after, "as_of": as_of}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _cursor(text: str | None) -> tuple[str | None, str | None]:
    if not text:
        return None, None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
        after, as_of = data["after"], data["as_of"]
        if isinstance(after, str) and isinstance(as_of, str):
            return after, as_of
    except (binascii.Error, ValueError, KeyError, TypeError):
        pass
    raise QueryError("cursor: not a cursor this service gave; start again without one")


def listed_cases(session: Session, query: DueQuery, as_of: datetime) -> Iterator[str]:
    """The cases a listing goes through, in order, after the cursor's: only those that may
    match its statuses (see :meth:`Session.due_candidates`) when the session can tell,
    otherwise every case. Decided when first asked for, under the session's lock."""
    candidates = session.due_candidates(
        as_of,
        query.statuses,
        deadline_before=query.deadline_before,
        deadline_after=query.deadline_after,
    )
    listed = session.listed_cases() if candidates is None else candidates
    after = query.after
    yield from (c for c in listed if after is None or c > after)


Line = tuple[str, bytes]
"""One case of a listing: its id and its NDJSON line."""


def case_lines(result: Evaluation, options: Mapping[str, bool], query: DueQuery) -> list[Line]:
    """The listing's lines of one judged batch: each case in JSON form as the evaluation of
    every case writes it (with ``options``), filtered by ``query``'s obligation filters."""
    lines = []
    for case in result.with_output(**options).case_dicts():
        if query.filters:
            kept = _filtered(case, query)
            if kept is None:
                continue
            case = kept
        lines.append((case["case"], dumps_bytes(case, indent=None) + b"\n"))
    return lines


def judged_lines(
    session: Session,
    cases: Iterable[str],
    as_of: datetime,
    judge: Callable[[Batch], list[Line]],
    *,
    between: Callable[[], None] | None = None,
    batch: int = 64,
) -> Iterator[Line]:
    """The lines of ``cases``, judged a few at a time and only when the listing reaches them
    (see :meth:`Session.batches`), ``batch`` cases at a time, each batch by ``judge``
    (:func:`judged_here`, or a judging process); ``between`` is called after each batch
    (where a long listing gives way to posts)."""
    for each in session.batches(as_of, cases, batch=batch):
        yield from judge(each)
        if between is not None:
            between()


def judged_here(
    session: Session, as_of: datetime, options: Mapping[str, bool], query: DueQuery
) -> Callable[[Batch], list[Line]]:
    """Judge a listing's batches in this process (see :func:`judged_lines`)."""
    return lambda batch: case_lines(session.judge(batch, as_of), options, query)


def give_way(session: Session, *, most: float = GIVE_WAY_SECONDS) -> None:
    """Wait while posts (or other writes) hold or wait for the session's lock, at most
    ``most`` seconds: a listing judging many cases lets them go first, so a post beside it
    shares the interpreter with it less, and the listing still moves on when posts never
    stop."""
    deadline = time.monotonic() + most
    while session.writing and time.monotonic() < deadline:
        time.sleep(0.0005)


def in_chunks(lines: Iterable[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The lines in chunks of about ``size`` bytes (each ends a line), the last one when
    the lines end: one write to the connection per chunk, not per line."""
    chunk: list[bytes] = []
    held = 0
    for line in lines:
        chunk.append(line)
        held += len(line)
        if held >= size:
            yield b"".join(chunk)
            chunk, held = [], 0
    if chunk:
        yield b"".join(chunk)


def page(lines: Iterable[Line], query: DueQuery, as_of: str) -> Iterator[bytes]:
    """The lines of one page (the cases after the cursor's, at most ``limit``), then the
    trailer: ``{"trailer": {"count", "as_of", "next_cursor"}}`` (``next_cursor`` null on
    the last page). A stream that ends without the trailer was cut."""
    count = 0
    last: str | None = None
    more = False
    for case, line in lines:
        if query.after is not None and case <= query.after:
            continue
        if query.limit is not None and count == query.limit:
            more = True
            break
        count += 1
        last = case
        yield line
    cursor = make_cursor(last, as_of) if more and last is not None else None
    trailer = {"trailer": {"count": count, "as_of": as_of, "next_cursor": cursor}}
    yield dumps_bytes(trailer, indent=None) + b"\n"


def _filtered(case: dict[str, Any], query: DueQuery) -> dict[str, Any] | None:
    out = {**case, "actions": [a for a in case["actions"] if query.keeps(a)]}
    kept = bool(out["actions"])
    if "obligations" in case:
        out["obligations"] = [o for o in case["obligations"] if query.keeps(o)]
        kept = kept or bool(out["obligations"])
    return out if kept else None
