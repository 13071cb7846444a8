"""What a live session last reported on each case: the snapshot a post or tick is compared
with, the next instant time alone changes each case, and the change log it writes to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from samverkan_rules._json import dumps
from samverkan_rules.engine.ledger import Entry, EscalationEntry, RemedyEntry, next_change
from samverkan_rules.engine.output import CaseLedger, OutputCache, entry_models
from samverkan_rules.engine.settling import Mark, Moved
from samverkan_rules.live.changelog import Change, ChangeLog, ChangeRow
from samverkan_rules.time.instants import format_rfc3339, parse_rfc3339

_Snapshot = dict[str, tuple[str, str, tuple[str, ...], datetime | None]]
"""A case's obligations as last reported, by id: status, rule, the events it names and the
deadline (values, not records: a kept replay settles the same records again)."""


class Reports:
    """What a session has reported, case by case, and where it logs it.

    Args:
        log: The change log (the store, or memory); what it holds is what was reported
            before, so a restarted session reports nothing twice.
        tz: The routine's time zone, for the instants logged.
    """

    def __init__(self, log: ChangeLog, tz: Any) -> None:
        self.log = log
        self.tz = tz
        self.cache = OutputCache()
        self.snapshots: dict[str, _Snapshot] = {}
        # Case -> the next instant time alone changes it (see next_change), as last judged.
        self.wake: dict[str, datetime] = {}
        # Obligation id -> case, as posts report obligations: explain reads one case.
        self.obligation_case: dict[str, str] = {}
        # Status -> the cases with an obligation in it, as last reported, and how many each
        # case has in each status: a listing by status reads these, not every snapshot.
        self.by_status: dict[str, set[str]] = {}
        self._counts: dict[str, dict[str, int]] = {}
        # Case -> the kept replay's settle its snapshot was last brought up to date with.
        self._diffed: dict[str, Mark] = {}
        for row in log.last_reported():
            deadline = parse_rfc3339(row.deadline) if row.deadline is not None else None
            assert row.after is not None  # last_reported leaves out what ended
            snapshot = self.snapshots.setdefault(row.case, {})
            snapshot[row.obligation] = (row.after, row.rule, row.named, deadline)
            self.obligation_case[row.obligation] = row.case
        for case, snapshot in self.snapshots.items():
            self._count(case, (), [status for status, *_ in snapshot.values()])

    def clear(self) -> None:
        """Forget every case's report (the log is read again)."""
        self.snapshots.clear()
        self.wake.clear()
        self.obligation_case.clear()
        self.by_status.clear()
        self._counts.clear()
        self._diffed.clear()

    def heard(self, row: ChangeRow) -> None:
        """Take in a change another process logged: the obligation's snapshot is what that
        row says, and the case is judged again at the next wake-up (this process does not
        know when time next changes it)."""
        self._diffed.pop(row.case, None)
        snapshot = self.snapshots.setdefault(row.case, {})
        old = snapshot.get(row.obligation)
        self._count(row.case, old[:1] if old is not None else (), (row.after,) if row.after else ())
        if row.after is None:
            snapshot.pop(row.obligation, None)
        else:
            deadline = parse_rfc3339(row.deadline) if row.deadline is not None else None
            snapshot[row.obligation] = (row.after, row.rule, row.named, deadline)
            self.obligation_case[row.obligation] = row.case
        if not snapshot:
            del self.snapshots[row.case]
        self.wake[row.case] = min(self.wake.get(row.case, row_at := parse_rfc3339(row.at)), row_at)

    def cases(self) -> set[str]:
        """The cases with obligations reported and not ended."""
        return set(self.snapshots)

    def case_of(self, obligation: str) -> str | None:
        """The case of a reported obligation, or None."""
        return self.obligation_case.get(obligation)

    def next_change(self) -> datetime | None:
        """The earliest instant time alone changes a case judged so far, or None."""
        return min(self.wake.values(), default=None)

    def changing_by(self, moment: datetime) -> set[str]:
        """The cases time alone changes at or before ``moment``."""
        return {case for case, at in self.wake.items() if at <= moment}

    def candidates(
        self,
        moment: datetime,
        statuses: frozenset[str],
        deadline_before: datetime | None,
        deadline_after: datetime | None,
    ) -> set[str]:
        """The judged cases that may hold an obligation in one of ``statuses`` whose
        deadline is before ``deadline_before`` and at or after ``deadline_after`` (each when
        given) at ``moment``, a superset: a case's statuses change only when it is judged
        again or when time reaches its next change, so these are the cases last reported
        with such an obligation (one without a deadline counts as matching) and the cases
        time changes by ``moment``."""
        found = self.changing_by(moment)
        having = set().union(*(self.by_status.get(status, ()) for status in statuses))
        if deadline_before is None and deadline_after is None:
            return found | having
        for case in having:
            for status, _rule, _named, deadline in self.snapshots[case].values():
                if status not in statuses:
                    continue
                if deadline is not None and (
                    (deadline_before is not None and not deadline < deadline_before)
                    or (deadline_after is not None and deadline < deadline_after)
                ):
                    continue
                found.add(case)
                break
        return found

    def status_counts(self) -> dict[str, int]:
        """How many obligations stand in each status, as last reported."""
        counts: dict[str, int] = {}
        for snapshot in self.snapshots.values():
            for status, _rule, _named, _deadline in snapshot.values():
                counts[status] = counts.get(status, 0) + 1
        return counts

    def forget(self, case: str) -> None:
        """Forget an erased case (the store removes its logged changes itself)."""
        self.snapshots.pop(case, None)
        self._diffed.pop(case, None)
        for status in self._counts.pop(case, {}):
            self._unlist(status, case)
        self.wake.pop(case, None)
        self.obligation_case = {o: c for o, c in self.obligation_case.items() if c != case}

    def logged(self, changes: list[Change], moment: datetime) -> tuple[Change, ...]:
        """``changes`` written to the change log, each with its sequence number."""
        if not changes:
            return ()
        at = format_rfc3339(moment.astimezone(self.tz))
        rows: list[ChangeRow] = []
        for c in changes:
            # The snapshot _diff just took: what a restarted session must know of it.
            now = self.snapshots.get(c.case, {}).get(c.obligation) if c.after else None
            rows.append(
                ChangeRow(
                    seq=0,
                    case=c.case,
                    at=at,
                    obligation=c.obligation,
                    rule=c.rule,
                    before=c.before,
                    after=c.after,
                    cause=c.cause,
                    named=now[2] if now is not None else (),
                    deadline=_local(now[3], self.tz) if now is not None else None,
                    record=dumps(c.record.to_json(), indent=None) if c.record else None,
                )
            )
        rows = self.log.log_changes(rows)
        return tuple(replace(c, seq=row.seq) for c, row in zip(changes, rows, strict=True))

    def diff(
        self,
        case: str,
        ledger: CaseLedger | Moved | None,
        causes: set[str],
        moment: datetime,
    ) -> list[Change]:
        """What changed in ``case`` since it was last reported, judged at ``moment``: the
        ``ledger`` (None: the case has no obligation), or what may have moved since the
        settle this report last took in (see :mod:`samverkan_rules.engine.settling`); a
        :class:`Moved` that follows another settle is judged by its whole ledger."""
        before = self.snapshots.get(case, {})
        if isinstance(ledger, Moved) and self._diffed.get(case) != ledger.follows:
            ledger = ledger.whole()
        moved, ended, empty, wake, mark, written = _compared(case, ledger, before, moment)
        if mark is None:
            self._diffed.pop(case, None)
        else:
            self._diffed[case] = mark
        records = entry_models(written, self.cache, moved) if written is not None and moved else {}
        changes: list[Change] = []
        for entry in moved:
            old = before.get(entry.id)
            changes.append(
                Change(
                    case=case,
                    obligation=entry.id,
                    rule=_rule_of(entry),
                    before=old[0] if old is not None else None,
                    after=entry.status,
                    record=records[id(entry)],
                    cause=_cause(_named(entry), causes),
                )
            )
        for ident in ended:
            status, rule, named, _deadline = before[ident]
            changes.append(
                Change(
                    case=case,
                    obligation=ident,
                    rule=rule,
                    before=status,
                    after=None,
                    record=None,
                    cause=_cause(named, causes),
                )
            )
        if wake is None:
            self.wake.pop(case, None)
        else:
            self.wake[case] = wake
        self._count(
            case,
            [c.before for c in changes if c.before is not None],
            [c.after for c in changes if c.after is not None],
        )
        if empty:
            self.snapshots.pop(case, None)
            return changes
        # Only what moved is written again, not the whole case. An obligation's named events
        # (which only say a change's cause) move with its status or deadline.
        snapshot = self.snapshots.setdefault(case, {})
        for ident in ended:
            del snapshot[ident]
        for entry in moved:
            snapshot[entry.id] = (entry.status, _rule_of(entry), _named(entry), entry.deadline)
            self.obligation_case[entry.id] = case
        return changes

    def _count(self, case: str, left: Iterable[str], entered: Iterable[str]) -> None:
        """Keep :attr:`by_status` up to date as obligations of ``case`` leave the statuses
        ``left`` and enter the statuses ``entered`` (one status per obligation)."""
        counts = self._counts.setdefault(case, {})
        for status in left:
            if counts[status] > 1:
                counts[status] -= 1
            else:
                del counts[status]
                self._unlist(status, case)
        for status in entered:
            if status in counts:
                counts[status] += 1
            else:
                counts[status] = 1
                self.by_status.setdefault(status, set()).add(case)
        if not counts:
            del self._counts[case]

    def _unlist(self, status: str, case: str) -> None:
        cases = self.by_status[status]
        cases.discard(case)
        if not cases:
            del self.by_status[status]


def _compared(
    case: str, ledger: CaseLedger | Moved | None, before: _Snapshot, moment: datetime
) -> tuple[list[Entry], list[str], bool, datetime | None, Mark | None, CaseLedger | None]:
    """A case's obligations set against its last report: those that moved, the ids of those
    that ended, whether it has none, when time alone next changes it, the settle compared
    (None: not a kept replay's) and the ledger to write the moved ones' records from."""
    if isinstance(ledger, Moved):
        moved = [e for e in ledger.entries if _moved(e, before)]
        ended = [ident for ident in ledger.gone if ident in before]
        # The records of what moved read only the instant from their ledger.
        written = CaseLedger(case, [], [], ledger.as_of)
        return moved, ended, ledger.empty, ledger.wake, ledger.mark, written
    current = {e.id: e for e in ledger.obligations} if ledger is not None else {}
    moved = [entry for entry in current.values() if _moved(entry, before)]
    ended = [ident for ident in before if ident not in current]
    wake = next_change(current.values(), moment) if current else None
    return moved, ended, not current, wake, ledger.mark if ledger else None, ledger


def _moved(entry: Entry, before: _Snapshot) -> bool:
    """Whether an obligation's status or deadline differs from its last report (or it has
    none): a called-off meeting moves a deadline."""
    old = before.get(entry.id)
    return old is None or old[0] != entry.status or old[3] != entry.deadline


def _rule_of(entry: Entry) -> str:
    """The rule an obligation comes from (its precondition, for a remedy)."""
    if isinstance(entry, RemedyEntry):
        return entry.name
    if isinstance(entry, EscalationEntry):
        return entry.parent.rule.id
    return entry.rule.id


def _named(entry: Entry) -> tuple[str, ...]:
    """The events an obligation names: trigger, fulfilment, cancellation, ``before``."""
    if isinstance(entry, RemedyEntry):
        return (entry.members[0].trigger.id,)
    if isinstance(entry, EscalationEntry):
        return (entry.parent.trigger.id,)
    return tuple(e.id for e in (entry.trigger, entry.answer, entry.cancel, entry.before) if e)


def _cause(named: tuple[str, ...], causes: set[str]) -> str | None:
    """The posted event an obligation names, if any."""
    for ident in named:
        if ident in causes:
            return ident
    return None


def _local(moment: datetime | None, tz: Any) -> str | None:
    """An instant as RFC 3339 in the routine's time zone, as the records write it."""
    return format_rfc3339(moment.astimezone(tz)) if moment is not None else None
