"""The audit report: a public JSON contract (``report.json``).

Like the evaluation output, field names keep their meaning once published; fields may be
added. ``schemas/audit.schema.json`` is generated from these models. Counts per status
always list every status, zeros included, in the order of :data:`STATUSES`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from samverkan_rules.status import Status

STATUSES: tuple[Status, ...] = (
    "fulfilled",
    "fulfilled_late",
    "overdue",
    "due",
    "upcoming",
    "cancelled",
    "blocked",
)
"""Every obligation status (:data:`samverkan_rules.status.STATUSES`), in the order the
report lists them: the judged ones (fulfilled, late, overdue) first."""


class _Out(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, populate_by_name=True
    )


class Period(_Out):
    """The days whose triggers the report covers, both ends included (local dates)."""

    from_: str = Field(alias="from")
    """First day, YYYY-MM-DD."""
    to: str
    """Last day, YYYY-MM-DD."""


class RoutineRecord(_Out):
    """A routine version the audit judged obligations by."""

    id: str
    version: str
    title: str = ""
    """The routine's title, as staff know it (the report's heading names the latest)."""
    sha256: str
    """SHA-256 of the routine file's exact text."""
    valid_from: str
    valid_to: str | None
    """The last day in force (an open end closed by the successor), or null."""


class Software(_Out):
    """The versions that produced the report: a second auditor reproduces it with these."""

    samverkan_rules: str = Field(alias="samverkan-rules")
    holidays: str
    duckdb: str
    python: str


class InputRecord(_Out):
    """One input file and what became of its events."""

    file: str
    """The path as given (or found in a directory given)."""
    format: Literal["jsonl", "csv", "parquet"]
    sha256: str
    """SHA-256 of the file's bytes as stored (compressed files: of the compressed bytes)."""
    events_read: int
    """Records in the file (blank lines not counted); always events_used + events_rejected."""
    events_used: int
    events_rejected: int
    """Records that could not be used: each has a diagnostic naming the file and line."""
    events_after_as_of: int
    """Of events_used: events after as_of, read and checked but not evaluated."""


class PolicyRecord(_Out):
    """The breach policy the rates follow (see :mod:`samverkan_rules.audit.policy`)."""

    blocked_is_breach: bool = False
    """A waiting (blocked) obligation whose deadline passed is a breach (in the rate)."""
    tolerance_working_days: int = 0
    """Done late by at most this many working days counts as on time; 0: no tolerance."""
    closed: bool = False
    """Closed-period view: obligations whose deadline falls after the period are left out."""
    left_out: int = 0
    """How many obligations the closed-period view left out (0 without it)."""
    statement: str = ""
    """The policy in words (English; the HTML report says it in Swedish)."""


class AuditHeader(_Out):
    """What was audited, when, with what: everything needed to reproduce the run."""

    as_of: str
    """The instant statuses are judged at (RFC 3339, local offset)."""
    period: Period
    routine_id: str
    routines: list[RoutineRecord]
    software: Software
    inputs: list[InputRecord]
    pseudonymised: bool
    """True when case ids are keyed pseudonyms (false only with --identify)."""
    key_fingerprint: str | None
    """Names the key (``hmac-sha256:...``) without revealing it; null without a key."""
    events_total: dict[str, int]
    """Sums over the inputs: read, used, rejected, after_as_of."""
    cases: int
    """Cases with at least one evaluated event (units' cases included)."""
    group_by: list[str] = Field(default_factory=list)
    """The data fields obligations are also counted by (``--group-by``), e.g.
    ``data.enhet``; empty without."""
    policy: PolicyRecord = PolicyRecord()
    """What counts as on time and as a breach, and what was left out."""
    target: float | None = None
    """The on-time rate each month is held against (``--target``), a share above 0 and at
    most 1 (0.9: 90 %); null without. report.html marks the months and rule-months below it."""


class SourceRef(_Out):
    """Where a rule comes from in its source document."""

    document: str
    section: str
    quote: str


class _Spread(_Out):
    """How many values, their median, 90th percentile and maximum."""

    count: int
    median: int | None
    p90: int | None
    max: int | None


MIN_VOLUME = 20
"""Below this many judged obligations (on time, late or overdue), a rate is flagged as
resting on too few to compare (``low_volume``) and listed after the others."""


class Lateness(_Spread):
    """How late the obligations done late were: from the deadline until they were done.

    Overdue obligations are not in it (see :class:`OverdueAge`). Percentiles are
    nearest-rank; null when nothing was done late.
    """


class OverdueAge(_Spread):
    """How long the obligations overdue at as_of had been so when the audited
    period ended, in working days after the deadline (0 when it fell after the period).

    Kept apart from :class:`Lateness`: an age depends on when the period ends, not on when
    the work was done. Percentiles are nearest-rank; null when nothing was overdue.
    """


class RuleSummary(_Out):
    """One rule of one routine version: how its obligations stood at as_of."""

    routine: str
    version: str
    rule: str
    title: str
    responsible: str
    """The role the rule names as responsible."""
    responsible_label: str | None = None
    """That role's label in the routine, as staff name it (null when the rule is unknown)."""
    unit: str | None
    """The unit that role belongs to."""
    total: int
    statuses: dict[str, int]
    on_time_rate: float | None
    """on_time / judged, 4 decimals; null when 0/0. By default fulfilled / (fulfilled +
    fulfilled_late + overdue); ``header.policy`` says what else it counts."""
    lateness_working_days: Lateness
    lateness_calendar_days: Lateness
    source: SourceRef | None
    interpretation: str | None
    """Why the rule reads the source as it does, when it is a local interpretation."""
    judged: int = 0
    """The obligations the on-time rate rests on: fulfilled + fulfilled_late + overdue, and
    with ``blocked_is_breach`` the waiting ones whose deadline passed."""
    low_volume: bool = False
    """Fewer than :data:`MIN_VOLUME` judged: the rate is shown, but not ranked with the
    others."""
    overdue_age_working_days: OverdueAge = OverdueAge(count=0, median=None, p90=None, max=None)
    on_time: int = 0
    """The obligations the rate counts as on time: fulfilled, plus those done late within
    the policy's tolerance."""
    waiting_past_deadline: int = 0
    """Of blocked: those whose deadline had passed at as_of (breaches with
    ``blocked_is_breach``)."""


class UnitSummary(_Out):
    """The obligations of one unit's roles (the responsible role at the time)."""

    unit: str
    label: str
    total: int
    statuses: dict[str, int]
    on_time_rate: float | None
    lateness_working_days: Lateness
    overdue_age_working_days: OverdueAge = OverdueAge(count=0, median=None, p90=None, max=None)


class GroupSummary(_Out):
    """The obligations whose case carried these values of the ``--group-by`` fields, as its
    events last gave them at or before the obligation's trigger."""

    values: list[str | None]
    """One per field of ``header.group_by``; null where the case had no value yet."""
    total: int
    statuses: dict[str, int]
    on_time_rate: float | None
    lateness_working_days: Lateness
    overdue_age_working_days: OverdueAge


class GroupMonthSummary(_Out):
    """:class:`GroupSummary` for the obligations triggered in one month."""

    values: list[str | None]
    month: str
    total: int
    statuses: dict[str, int]
    on_time_rate: float | None


class GroupRuleSummary(_Out):
    """:class:`GroupSummary` for one rule of one routine version."""

    values: list[str | None]
    routine: str
    version: str
    rule: str
    total: int
    statuses: dict[str, int]
    on_time_rate: float | None
    lateness_working_days: Lateness
    overdue_age_working_days: OverdueAge


class MonthSummary(_Out):
    """The obligations triggered in one month (local time)."""

    month: str
    """YYYY-MM."""
    total: int
    statuses: dict[str, int]
    on_time_rate: float | None
    """on_time / judged, as :attr:`RuleSummary.on_time_rate`; null when 0/0."""
    judged: int = 0
    """The obligations the rate rests on (see :attr:`RuleSummary.judged`)."""
    on_time: int = 0
    """The obligations the rate counts as on time (see :attr:`RuleSummary.on_time`)."""


class RuleMonthSummary(_Out):
    """One rule of one routine version, for the obligations triggered in one month (local
    time): a cell of the month x rule table. Over the months, the cells of a rule sum to its
    :class:`RuleSummary` counts; over the rules, the cells of a month to its
    :class:`MonthSummary`."""

    routine: str
    version: str
    rule: str
    month: str
    """YYYY-MM."""
    total: int
    statuses: dict[str, int]
    on_time_rate: float | None
    """on_time / judged, as :attr:`RuleSummary.on_time_rate`; null when 0/0."""
    judged: int
    on_time: int


class LatenessBin(_Out):
    """How many obligations done late were this many working days late."""

    working_days: int
    count: int


class LatenessBucket(_Out):
    """How many obligations fall in a span of working days (both ends included)."""

    label: str
    """The span as shown: 0, 1, 2-5, 6-10, 11-20, >20."""
    from_: int = Field(alias="from")
    to: int | None
    """The last day of the span; null for the open one (>20)."""
    count: int


class Lengths(_Spread):
    """The spread of period lengths in calendar days (nearest-rank percentiles); null when
    there is no period."""


class PeriodSummary(_Out):
    """Periods (states with a length, e.g. betalningsansvar) that started in the audited
    period, summed per period, the rule whose breach started them and that rule's unit.

    An open period counts up to as_of. Lengths are as in the evaluation output: calendar
    and working days between the local dates of start and end, and whole hours.
    """

    routine: str
    version: str
    period: str
    label: str
    started_by_rule: str | None
    """The rule whose breached obligations started these periods; null when an event did."""
    unit: str | None
    """The unit responsible for the breached obligations; null when an event started them."""
    unit_label: str | None
    count: int
    open: int
    """Of count: still open at as_of."""
    days: int
    """Calendar days, summed."""
    working_days: int
    hours: int
    amount: float | None
    """The amount owed (days x the period's amount per day), summed; null when the period
    has no amount per day."""
    length_days: Lengths
    source: SourceRef | None
    interpretation: str | None


class QueueSummary(_Out):
    """Offers from one queue in the period, and how many went to the first in line."""

    routine: str
    version: str
    queue: str
    label: str
    offers: int
    in_order: int
    out_of_order: int


class CompareRule(_Out):
    """One rule under the audited routines and under the compared ones.

    Rules are paired by meaning: a rule that names the rule it replaces (``replaces:``) is
    counted in one row with it, whatever their ids; otherwise by the same id.
    """

    routine: str
    rule: str
    """The row's rule: the newest of the paired rules."""
    title: str
    base: dict[str, int]
    """Counts per status under the audited routine versions (0 when the rule is absent)."""
    other: dict[str, int]
    """Counts per status under the compared routine versions."""
    difference: dict[str, int]
    """other - base, per status and for 'total'."""
    on_time_rate_base: float | None
    on_time_rate_other: float | None
    base_rules: list[str] = Field(default_factory=list)
    """The ids of the row's rules under the audited versions (empty: none there)."""
    other_rules: list[str] = Field(default_factory=list)
    """The ids of the row's rules under the compared versions."""
    vocabulary_base_only: list[str] = Field(default_factory=list)
    """Event types the row's audited rules use that no compared version uses."""
    vocabulary_other_only: list[str] = Field(default_factory=list)
    """Event types the row's compared rules use that no audited version uses."""
    difference_from: Literal["vocabulary", "unpaired", "rule"] | None = None
    """Where the difference comes from: ``vocabulary`` when one side's rules use an event
    type the other side does not use at all (so the same history cannot raise or answer
    them alike); else ``unpaired`` when the row has rules on one side only (a duty with no
    counterpart, no ``replaces``), ``rule`` when both sides have them (a deadline, a
    condition or a precondition differs); null when the counts are the same."""


class CompareTotal(_Out):
    """Every compared rule together."""

    base: dict[str, int]
    other: dict[str, int]
    difference: dict[str, int]
    on_time_rate_base: float | None
    on_time_rate_other: float | None


class CompareReport(_Out):
    """What the same history would look like under other routine versions."""

    routines: list[RoutineRecord]
    by_rule: list[CompareRule]
    """The rows with an obligation under either side, by routine and rule."""
    events_rejected: int
    """Events the compared routines could not use (their event types differ)."""
    total: CompareTotal | None = None
    hidden: list[str] = Field(default_factory=list)
    """The rows left out: no obligation under either side (their rules' ids)."""


class DiagnosticRecord(_Out):
    """A finding about the input or the routines, with no case id or personnummer in it."""

    level: Literal["error", "warning", "info"]
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    hint: str | None = None


class WorstCase(_Out):
    """A case with many overdue or late obligations (see :mod:`.drill`)."""

    case: str
    """The case's pseudonym (its id with ``--identify``)."""
    page: str
    """Its page, relative to report.html: ``cases/case-NN.html``."""
    obligations: int
    overdue: int
    late: int
    late_working_days: int
    """Summed over its obligations done late."""


class OverdueObligation(_Out):
    """An overdue obligation, with its age at the end of the period (see :mod:`.drill`)."""

    case: str
    page: str
    obligation: str
    """As ``samverkan explain`` takes it (masked as in ``obligations.csv``)."""
    rule: str
    deadline: str
    working_days: int
    """Working days from the deadline to the end of the period."""


class AuditReport(_Out):
    """``report.json``: the compliance report of an event history against routines."""

    header: AuditHeader
    by_rule: list[RuleSummary]
    """Every rule of every version in force during the period (and any other rule that
    raised obligations), by routine, version and the rules' order in the routine file;
    ``summary.csv`` is the same table. The HTML report lists the worst on-time rate first."""
    by_unit: list[UnitSummary]
    by_month: list[MonthSummary]
    lateness_histogram: list[LatenessBin]
    """Obligations done late by working days late, over every rule (overdue ones are in
    :attr:`overdue_age_buckets`)."""
    by_period: list[PeriodSummary]
    """Every period declared by a version in force during the audited period, and the
    periods that started in it, by routine, version, declaration order, rule and unit;
    ``periods.csv`` is the same table. Empty when the routines declare no periods."""
    queues: list[QueueSummary]
    compare: CompareReport | None
    diagnostics: list[DiagnosticRecord]
    by_group: list[GroupSummary] = Field(default_factory=list)
    """Per value (combination) of the ``--group-by`` fields, sorted by the values, no value
    last; empty without ``--group-by``. ``groups.csv`` is :attr:`by_group_rule`."""
    by_group_month: list[GroupMonthSummary] = Field(default_factory=list)
    """Per value and month of the trigger; ``group_months.csv`` is the same table."""
    by_group_rule: list[GroupRuleSummary] = Field(default_factory=list)
    """Per value and rule."""
    lateness_buckets: list[LatenessBucket] = Field(default_factory=list)
    """Obligations done late, by working days late in spans (0, 1, 2-5, 6-10, 11-20, >20),
    every span listed."""
    overdue_age_buckets: list[LatenessBucket] = Field(default_factory=list)
    """Overdue obligations, by their age at the end of the period in the same spans."""
    worst_cases: list[WorstCase] = Field(default_factory=list)
    """The cases with the most overdue, then late obligations (at most 10), each with its
    page; report.html lists them."""
    most_overdue: list[OverdueObligation] = Field(default_factory=list)
    """The overdue obligations longest past their deadline (at most 10), each with its
    case's page."""
    by_rule_month: list[RuleMonthSummary] = Field(default_factory=list)
    """Per rule and month of the trigger, the rules in the order of :attr:`by_rule`, then by
    month; only the months a rule had obligations in. ``rule_months.csv`` is the same
    table."""

    def to_json(self) -> str:
        """The JSON text: byte-identical for the same inputs, whatever their order."""
        return self.model_dump_json(indent=2, by_alias=True) + "\n"
