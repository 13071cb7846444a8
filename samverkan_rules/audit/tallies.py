"""Tallies of obligation rows and their associative merge: what auditing some cases yields.

A :class:`Partial` counts per rule, unit and month, with lateness histograms and
diagnostics. Partials merge associatively and commutatively (:meth:`Partial.merge`), so
cases can be audited in any grouping, on one machine or on a cluster;
:func:`samverkan_rules.audit.report.finish` turns the merged partial into the report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, TypeVar

from samverkan_rules.audit.models import STATUSES
from samverkan_rules.audit.policy import BreachPolicy
from samverkan_rules.audit.pseudonym import mask
from samverkan_rules.audit.rows import ObligationRow, PeriodRow

LISTED = 10
"""How many cases and obligations each of report.html's lists shows (see :mod:`.drill`)."""

WorstRow = tuple[str, int, int, int, int]
"""(case, obligations, overdue, done late, working days late of those done late)."""

OverdueRow = tuple[str, str, str, str, int]
"""(case, obligation, rule, deadline, working days overdue at the end of the period)."""


def _worst_order(c: WorstRow) -> tuple[int, int, int, str]:
    """Most overdue obligations first, then most done late, most days late, the case."""
    return (-c[2], -c[3], -c[4], c[0])


def _overdue_order(o: OverdueRow) -> tuple[int, str, str]:
    """Most working days overdue first, then the case and the obligation."""
    return (-o[4], o[0], o[1])


def _days(text: str) -> int:
    return int(text) if text else 0


RuleKey = tuple[str, str, str]
"""(routine id, version, rule id)."""

PeriodKey = tuple[str, str, str, str, str]
"""(routine id, version, period, breached rule or "", unit or "")."""

RuleMonthKey = tuple[str, str, str, str]
"""(routine id, version, rule id, month of the trigger)."""

CubeKey = tuple[tuple[str, ...], str, str, str, str]
"""(the ``--group-by`` values, month, routine id, version, rule id)."""

_PendingKey = tuple[str, str, str, str, str, tuple[str, ...], str, int | None, int | None, bool]
"""(routine id, version, rule id, unit, month, ``--group-by`` values, status, working and
calendar days late, blocked past its deadline): what :meth:`Partial.add` counts by."""


@dataclass
class Tally:
    """Counts per status, lateness histograms (working and calendar days) of the obligations
    done late, and the overdue ones' ages at the end of the period (working days)."""

    statuses: Counter[str] = field(default_factory=Counter)
    late_working: Counter[int] = field(default_factory=Counter)
    late_calendar: Counter[int] = field(default_factory=Counter)
    overdue_working: Counter[int] = field(default_factory=Counter)
    blocked_past: int = 0
    """Waiting (blocked) obligations whose deadline had passed at as_of."""

    def add(self, row: ObligationRow, blocked_past: bool = False) -> None:
        """Count one obligation (``blocked_past``: a waiting one whose deadline passed)."""
        self.count(row.status, row.late_working_days, row.late_calendar_days, blocked_past)

    def count(
        self,
        status: str,
        late_working: int | None,
        late_calendar: int | None,
        blocked_past: bool,
        times: int = 1,
    ) -> None:
        """Count ``times`` obligations alike in status, lateness and ``blocked_past``."""
        self.statuses[status] += times
        self.blocked_past += blocked_past * times
        if late_working is None:
            return
        if status == "overdue":  # not done: an age, never a lateness
            self.overdue_working[late_working] += times
            return
        self.late_working[late_working] += times
        if late_calendar is not None:
            self.late_calendar[late_calendar] += times

    def counted(self, policy: BreachPolicy) -> dict[str, Any]:
        """What every table's row says of its obligations: the total, the count per status
        and the on-time rate under ``policy``."""
        return {
            "total": sum(self.statuses.values()),
            "statuses": status_counts(self.statuses),
            "on_time_rate": policy.rate(self.statuses, self.late_working, self.blocked_past),
        }

    def judged_counts(self, policy: BreachPolicy) -> dict[str, int]:
        """What the monthly tables add: how many the rate rests on, and how many of those
        were on time."""
        return {
            "judged": policy.judged(self.statuses, self.blocked_past),
            "on_time": policy.on_time(self.statuses, self.late_working),
        }

    def merged(self, other: Tally) -> Tally:
        """A new tally with both counts."""
        return Tally(
            self.statuses + other.statuses,
            self.late_working + other.late_working,
            self.late_calendar + other.late_calendar,
            self.overdue_working + other.overdue_working,
            self.blocked_past + other.blocked_past,
        )


@dataclass
class PeriodTally:
    """Sums over periods: how many, how many still open, their lengths and amounts.

    Every figure is an integer (amounts in hundredths), so merging is exact in any order.
    """

    count: int = 0
    open: int = 0
    days: int = 0
    working_days: int = 0
    hours: int = 0
    amount_cents: int | None = None
    lengths: Counter[int] = field(default_factory=Counter)
    """Periods by length in calendar days."""

    def add(self, row: PeriodRow) -> None:
        """Count one period."""
        self.count += 1
        self.open += row.open
        self.days += row.days
        self.working_days += row.working_days
        self.hours += row.hours
        if row.amount_cents is not None:
            self.amount_cents = (self.amount_cents or 0) + row.amount_cents
        self.lengths[row.days] += 1

    def merged(self, other: PeriodTally) -> PeriodTally:
        """A new tally with both sums."""
        amount = None
        if self.amount_cents is not None or other.amount_cents is not None:
            amount = (self.amount_cents or 0) + (other.amount_cents or 0)
        return PeriodTally(
            self.count + other.count,
            self.open + other.open,
            self.days + other.days,
            self.working_days + other.working_days,
            self.hours + other.hours,
            amount,
            self.lengths + other.lengths,
        )


class _Mergeable(Protocol):
    def merged(self, other: Self) -> Self: ...


_K = TypeVar("_K")
_T = TypeVar("_T", bound=_Mergeable)


def _merge_maps(a: Mapping[_K, _T], b: Mapping[_K, _T]) -> dict[_K, _T]:
    """Both maps' tallies, merged where a key is in both."""
    out = dict(a)
    for key, tally in b.items():
        out[key] = out[key].merged(tally) if key in out else tally
    return out


def _tally(tallies: dict[_K, Tally], key: _K) -> Tally:
    """The tally of ``key``, created when first counted (``setdefault`` would build a new
    Tally, four Counters, for every obligation counted)."""
    found = tallies.get(key)
    if found is None:
        found = tallies[key] = Tally()
    return found


@dataclass
class Partial:
    """What auditing some cases found. Merge partials with :meth:`merge`.

    Attributes:
        rules: Per (routine, version, rule): obligations triggered in the period.
        units: Per unit of the responsible role.
        rule_months: Per (routine, version, rule, month of the trigger in local time); the
            tallies per month (:attr:`months`) are their sums.
        compare: Per (routine, version, rule) under the compared routine versions.
        periods: Per (routine, version, period, breached rule, unit): periods started in
            the period audited.
        diagnostics: Findings, each a tuple of the :class:`DiagnosticRecord` fields.
        not_in_force: Trigger events outside every version's validity.
        compare_rejected: Events the compared routines rejected.
        groups: Per (``--group-by`` values, month, rule), when the audit groups by fields.
        streams: Streams (cases and units) audited.
        rows: Obligation rows written.
        left_out: Obligations a closed-period view left out.
    """

    rules: dict[RuleKey, Tally] = field(default_factory=dict)
    units: dict[str, Tally] = field(default_factory=dict)
    rule_months: dict[RuleMonthKey, Tally] = field(default_factory=dict)
    compare: dict[RuleKey, Tally] = field(default_factory=dict)
    periods: dict[PeriodKey, PeriodTally] = field(default_factory=dict)
    groups: dict[CubeKey, Tally] = field(default_factory=dict)
    diagnostics: list[tuple[str, str, str, str | None, int | None, str | None]] = field(
        default_factory=list
    )
    not_in_force: int = 0
    compare_rejected: int = 0
    streams: int = 0
    rows: int = 0
    left_out: int = 0
    """Obligations of the period left out by a closed-period view (deadline after it)."""
    worst: list[WorstRow] = field(default_factory=list)
    """The worst cases, at most :data:`LISTED` once folded, in their order."""
    most_overdue: list[OverdueRow] = field(default_factory=list)
    """The most overdue obligations, the same way."""
    _pending: dict[_PendingKey, int] = field(default_factory=dict, repr=False, compare=False)

    def add(self, row: ObligationRow, blocked_past: bool = False) -> None:
        """Count one obligation of the audited routines (``blocked_past``: a waiting one
        whose deadline had passed at as_of).

        Obligations alike in every counted respect are counted once with their number
        (most are: a rule's obligations of a month share status and lateness); the tallies
        get them in :meth:`fold`, which :func:`.partition.audit_partition` calls on the
        partial it returns, and :meth:`merge`, :attr:`months` and
        :func:`.report.finish` call before they read the tallies.
        """
        key = (
            row.routine,
            row.version,
            row.rule,
            row.unit,
            row.trigger[:7],
            row.groups,
            row.status,
            row.late_working_days,
            row.late_calendar_days,
            blocked_past,
        )
        pending = self._pending
        pending[key] = pending.get(key, 0) + 1
        self.rows += 1

    def add_case(self, case: str, rows: Sequence[Sequence[str]]) -> None:
        """Weigh one case for the lists of worst cases and most overdue obligations, by its
        rows as ``obligations.csv`` holds them (each case once)."""
        overdue = late = days = 0
        for row in rows:
            status = row[9]
            if status == "overdue":
                overdue += 1
                self.most_overdue.append((case, row[12], row[3], row[7], _days(row[10])))
            elif status == "fulfilled_late":
                late += 1
                days += _days(row[10])
        if overdue or late:
            self.worst.append((case, len(rows), overdue, late, days))
        if len(self.worst) > 8 * LISTED or len(self.most_overdue) > 8 * LISTED:
            self._keep_listed()

    def _keep_listed(self) -> None:
        self.worst = sorted(self.worst, key=_worst_order)[:LISTED]
        self.most_overdue = sorted(self.most_overdue, key=_overdue_order)[:LISTED]

    def fold(self) -> Partial:
        """Move the obligations counted by :meth:`add` into the tallies; returns itself."""
        self._keep_listed()
        for key, times in self._pending.items():
            routine, version, rule, unit, month, groups, *counted = key
            for tally in (
                _tally(self.rules, (routine, version, rule)),
                _tally(self.units, unit),
                _tally(self.rule_months, (routine, version, rule, month)),
                *(
                    (_tally(self.groups, (groups, month, routine, version, rule)),)
                    if groups
                    else ()
                ),
            ):
                tally.count(*counted, times=times)
        self._pending.clear()
        return self

    def add_period(self, row: PeriodRow) -> None:
        """Count one period of the audited routines."""
        key = (row.routine, row.version, row.period, row.rule, row.unit)
        found = self.periods.get(key)
        if found is None:
            found = self.periods[key] = PeriodTally()
        found.add(row)

    def add_compared(self, row: ObligationRow, blocked_past: bool = False) -> None:
        """Count one obligation of the compared routines."""
        _tally(self.compare, (row.routine, row.version, row.rule)).add(row, blocked_past)

    def add_diagnostic(self, record: Mapping[str, object]) -> None:
        """Keep one finding (its text and file name masked of anything shaped like a
        personnummer)."""
        hint = record.get("hint")
        line = record.get("line")
        file = record.get("file")
        self.diagnostics.append(
            (
                str(record["level"]),
                str(record["code"]),
                mask(str(record["message"])),
                mask(str(file)) if file is not None else None,
                int(line) if isinstance(line, int) else None,
                mask(str(hint)) if hint is not None else None,
            )
        )

    def merge(self, other: Partial) -> Partial:
        """A new partial with both: associative and commutative, so any grouping gives the
        same report."""
        self.fold()
        other.fold()
        return Partial(
            rules=_merge_maps(self.rules, other.rules),
            units=_merge_maps(self.units, other.units),
            rule_months=_merge_maps(self.rule_months, other.rule_months),
            compare=_merge_maps(self.compare, other.compare),
            periods=_merge_maps(self.periods, other.periods),
            groups=_merge_maps(self.groups, other.groups),
            diagnostics=self.diagnostics + other.diagnostics,
            not_in_force=self.not_in_force + other.not_in_force,
            compare_rejected=self.compare_rejected + other.compare_rejected,
            streams=self.streams + other.streams,
            rows=self.rows + other.rows,
            left_out=self.left_out + other.left_out,
            worst=sorted(self.worst + other.worst, key=_worst_order)[:LISTED],
            most_overdue=sorted(self.most_overdue + other.most_overdue, key=_overdue_order)[
                :LISTED
            ],
        )

    @property
    def months(self) -> dict[str, Tally]:
        """Per month of the trigger: the sums of :attr:`rule_months`."""
        out: dict[str, Tally] = {}
        for (_routine, _version, _rule, month), tally in self.fold().rule_months.items():
            out[month] = out[month].merged(tally) if month in out else tally
        return out

    @staticmethod
    def merge_all(partials: Iterable[Partial]) -> Partial:
        """Every partial merged (an empty partial when there are none)."""
        out = Partial()
        for p in partials:
            out = out.merge(p)
        return out


def status_counts(counts: Mapping[str, int]) -> dict[str, int]:
    return {s: int(counts.get(s, 0)) for s in STATUSES}
