"""Settling a kept replay again after a post: only the obligations whose status may have moved.

A live session keeps each case's replay between posts (:class:`~samverkan_rules.live.
replays.KeptReplays`) and settles it again at every post. Settling every obligation makes a
post's cost grow with its case's history: a case of 12,000 events holds some 18,000
obligations. Most of them cannot have moved since the last settle:

* one that is fulfilled or cancelled keeps its status for good (only a retraction reopens
  it, and a retraction replays the case afresh), unless its responsible party follows a
  fact;
* one that is ``upcoming`` stays so until its window opens, and one that is ``due`` until
  its deadline passes, unless an event answers, cancels or cuts it;
* one that is ``overdue`` stays overdue until an event answers it (its lateness grows, its
  status does not).

:class:`Settling` keeps, for one replay, which obligations are *awake* (settled on every
post: those with preconditions, a responsible party that follows a fact, or escalations),
which *sleep* until an instant (upcoming, due), and the replay lists those its events
touched since the last settle; :meth:`Settling.woken` names the ones to settle. The rest
keep what they were last settled to, except two things nobody is told about until they
are settled again: the lateness of an obligation that stays overdue (as of its last
settle), and the list of what an obligation standing in for a remedy unblocks. A
:class:`Moved` is for saying what changed (only what was settled is written out), and
:meth:`Moved.whole` settles every obligation for anything else.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from heapq import heappop, heappush

from samverkan_rules.engine.evaluator import Evaluator
from samverkan_rules.engine.ledger import Entry, RuleEntry, next_change
from samverkan_rules.engine.output import CaseLedger
from samverkan_rules.engine.replay import CaseReplay, ledger_lists, settle_entries
from samverkan_rules.events.model import Event

Mark = tuple[object, int]
"""One settle of one replay: the replay's token and the settle's number."""

_JUST_AFTER = timedelta(microseconds=1)


def _sleeps_until(entry: RuleEntry) -> datetime | None:
    """The instant time alone next changes a settled obligation that needs no other reason
    to be settled again, or None when time alone never changes it."""
    if entry.status == "upcoming":
        return entry.opens_at
    if entry.status == "due":
        return entry.deadline + _JUST_AFTER  # overdue from the microsecond after
    return None


class Settling:
    """Which obligations of one kept replay the next settle must look at (see the module).
    The replay itself lists the obligations its events touched (:attr:`CaseReplay.touched`).
    """

    __slots__ = ("_as_of", "_awake", "_count", "_derived", "_settled", "_sleeping", "_token")

    def __init__(self) -> None:
        self._token = object()
        self._count = 0
        self._settled = 0  # entries[:_settled] were settled at least once
        self._as_of: datetime | None = None
        self._awake: list[RuleEntry] = []
        self._sleeping: list[tuple[datetime, int, RuleEntry]] = []  # a heap
        self._derived: frozenset[str] = frozenset()

    @property
    def mark(self) -> Mark | None:
        """The last settle, or None before the first."""
        return (self._token, self._count) if self._count else None

    def woken(
        self, entries: list[RuleEntry], touched: list[RuleEntry], as_of: datetime
    ) -> list[RuleEntry] | None:
        """The obligations to settle at ``as_of``, in ``entries``' order: the awake, the
        sleeping whose instant has come, the ``touched`` and the new. None when every
        obligation must be settled (the first settle, or ``as_of`` before the last)."""
        if self._as_of is None or as_of < self._as_of:
            return None
        woken = {e.seq: e for e in self._awake}
        sleeping = self._sleeping
        while sleeping and sleeping[0][0] <= as_of:
            entry = heappop(sleeping)[2]
            woken[entry.seq] = entry
        for entry in touched:
            woken[entry.seq] = entry
        for entry in entries[self._settled :]:
            woken[entry.seq] = entry
        return [woken[seq] for seq in sorted(woken)]

    def settled(
        self,
        entries: list[RuleEntry],
        settled: list[RuleEntry],
        derived: list[Entry],
        as_of: datetime,
    ) -> tuple[Mark, tuple[str, ...]]:
        """Take in a settle of ``settled`` (of ``entries``) at ``as_of`` that gave the
        escalations and remedies ``derived``.

        Returns:
            The settle's mark and the ids of the last settle's escalations and remedies
            that this one no longer has.
        """
        if settled is entries:  # every obligation: what sleeps is found again
            self._sleeping = []
        awake: list[RuleEntry] = []
        for entry in settled:
            rule = entry.rule
            if rule.party is None and (entry.answer is not None or entry.cancel is not None):
                continue  # settled for good
            if rule.requires or rule.party is not None or rule.escalations:
                awake.append(entry)
                continue
            until = _sleeps_until(entry)
            if until is not None:
                heappush(self._sleeping, (until, entry.seq, entry))
        self._awake = awake
        ids = frozenset(d.id for d in derived)
        gone = tuple(sorted(self._derived - ids))
        self._derived = ids
        self._settled = len(entries)
        self._as_of = as_of
        self._count += 1
        return (self._token, self._count), gone

    def next_sleeping(self, as_of: datetime) -> datetime | None:
        """The earliest instant after ``as_of`` a sleeping obligation changes, or None."""
        sleeping = self._sleeping
        # Drop what no longer sleeps there (settled since, to another instant or for good).
        while sleeping and _sleeps_until(sleeping[0][2]) != sleeping[0][0]:
            heappop(sleeping)
        if not sleeping:
            return None
        return next_change([sleeping[0][2]], as_of)


@dataclass(frozen=True, slots=True)
class Moved:
    """A settle of a kept replay, for saying what changed since the settle it follows.

    Attributes:
        case: The case.
        entries: The obligations whose status or deadline may differ from the last settle:
            the rule obligations settled again, then every escalation and remedy.
        gone: The ids of the last settle's escalations and remedies that are gone.
        follows: The settle this one follows.
        mark: This settle.
        empty: Whether the case has no obligation at all.
        wake: The first instant time alone changes the case, or None.
        as_of: The instant settled at (UTC).
        whole: Settles every obligation again at the same instant: the whole ledger, for
            a report that did not follow ``follows``.
    """

    case: str
    entries: list[Entry]
    gone: tuple[str, ...]
    follows: Mark
    mark: Mark
    empty: bool
    wake: datetime | None
    as_of: datetime
    whole: Callable[[], CaseLedger]


def resume(
    run: Evaluator, replay: CaseReplay, settling: Settling, new: Iterable[Event]
) -> CaseLedger | Moved:
    """Feed a kept replay the events it has not seen (see :meth:`Evaluator.resume_case`)
    and settle it at ``run``'s instant: only the obligations whose status may have moved
    since its last settle, said as a :class:`Moved` (not counted in ``run``'s summary);
    the first settle, and one at an earlier instant, settle every obligation and give the
    whole ledger."""
    run.resume_case(replay, new)
    touched, replay.touched = replay.touched, []
    as_of = run.as_of
    woken = settling.woken(replay.entries, touched, as_of)
    follows = settling.mark
    if woken is None or follows is None:
        return _whole(run, replay, settling)
    case_id, entries = replay.case_id, replay.entries
    derived = settle_entries(case_id, entries, woken, replay.facts_of, as_of)
    mark, gone = settling.settled(entries, woken, derived, as_of)
    moved: list[Entry] = [*woken, *derived]
    soonest = [next_change(moved, as_of), settling.next_sleeping(as_of)]
    return Moved(
        case=case_id,
        entries=moved,
        gone=gone,
        follows=follows,
        mark=mark,
        empty=not entries and not derived,
        wake=min((m for m in soonest if m is not None), default=None),
        as_of=as_of,
        whole=functools.partial(_whole, run, replay, settling),
    )


def _whole(run: Evaluator, replay: CaseReplay, settling: Settling) -> CaseLedger:
    """Settle every obligation of a kept replay; the ledger, with its settle's mark."""
    case_id, entries, as_of = replay.case_id, replay.entries, run.as_of
    derived = settle_entries(case_id, entries, entries, replay.facts_of, as_of)
    mark, _gone = settling.settled(entries, entries, derived, as_of)
    ledger = run.ledger(case_id, *ledger_lists(entries, derived), replay.fed)
    ledger.mark = mark
    return ledger
