"""Deadlines as arithmetic: a time rule turns an anchor instant into a deadline, counting
working days, days, weeks or months in the routine's calendar, and records each step for
the trace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from samverkan_rules import phrases as x
from samverkan_rules.compile.schedules import CalledOffOccurrences, CompiledSchedule
from samverkan_rules.events.model import Event
from samverkan_rules.i18n import Translator, translator
from samverkan_rules.language.models.base import FieldSpec
from samverkan_rules.language.models.time import CompositeTime, Offset, TimeForm, TimeSpec
from samverkan_rules.time.calendar import (
    WorkingCalendar,
    add_days,
    add_months,
)
from samverkan_rules.time.instants import (
    end_of_day,
    local_date,
    local_datetime,
    parse_rfc3339,
    start_of_day,
)


@dataclass(frozen=True, slots=True)
class TimePoint:
    """A computed instant (in UTC) and the calendar steps that led to it (for ``explain``).

    Instants are kept in UTC because Python compares two datetimes that share a tzinfo
    object by wall-clock time, which is wrong inside the autumn daylight-saving fold.
    """

    at: datetime
    steps: tuple[str, ...]
    occurrence: str | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is not UTC:
            object.__setattr__(self, "at", self.at.astimezone(UTC))


class TimeRule:
    """A compiled :class:`TimeSpec`: the instant it names for a given trigger event.

    ``called_off``, where a method takes it, says which schedule occurrences were called off:
    an anchor on a schedule skips the occurrences cancelled by the trigger's time.
    """

    __slots__ = (
        "_amount",
        "_by_day",
        "_calendar",
        "_elapsed",
        "_end",
        "_explained",
        "_field",
        "_field_label",
        "_memo",
        "_policy",
        "_schedule",
        "_spec",
        "_tz",
        "_unit",
    )

    def __init__(
        self,
        spec: TimeSpec,
        *,
        tz: ZoneInfo,
        calendar: WorkingCalendar,
        policy: str,
        end_of_day_default: bool,
        schedules: Mapping[str, CompiledSchedule] | None = None,
        fields: Mapping[str, FieldSpec] | None = None,
    ) -> None:
        self._spec = spec
        self._tz = tz
        self._calendar = calendar
        self._policy = spec.on_non_working_day or policy
        self._end = end_of_day_default
        self._unit = spec.unit
        self._amount = spec.amount
        anchor = spec.anchor
        self._field = anchor.partition(".")[2] if anchor.startswith("data.") else None
        # The words for the anchor field in the steps staff read (its description).
        described = (fields or {}).get(self._field) if self._field is not None else None
        self._field_label = (described.description if described else None) or self._field
        self._schedule = (
            (schedules or {})[anchor.partition(".")[2]] if anchor.startswith("schedule.") else None
        )
        # A deadline counted in days depends only on the anchor's day: audits raise many
        # obligations from the same day, so each day is computed once (see instant()).
        self._by_day = self._schedule is None and self._unit not in (None, "hours", "minutes")
        self._memo: dict[object, tuple[datetime, str | None]] = {}
        # Hours or minutes after the trigger: elapsed time added to its instant in UTC,
        # which is what _offset computes through the local zone and back.
        self._elapsed: timedelta | None = None
        if self._schedule is None and self._field is None and self._unit in ("hours", "minutes"):
            hours = self._unit == "hours"
            self._elapsed = (
                timedelta(hours=self._amount) if hours else timedelta(minutes=self._amount)
            )
        self._explained: dict[tuple[object, str], TimePoint] = {}

    @property
    def schedules(self) -> tuple[CompiledSchedule, ...]:
        """The schedule it is anchored on (none, or one)."""
        return (self._schedule,) if self._schedule is not None else ()

    def _anchor(
        self, event: Event, called_off: CalledOffOccurrences | None = None
    ) -> datetime | date:
        if self._schedule is not None:
            schedule = self._schedule
            if called_off is None or not schedule.cancels:
                return schedule.next_after(event.at)
            known = event.at
            return schedule.next_after(known, lambda o: called_off.includes(schedule, o, known))
        if self._field is None:
            return event.at
        raw = event.data[self._field]
        if isinstance(raw, str) and len(raw) == 10:
            return date.fromisoformat(raw)
        return parse_rfc3339(raw)

    def anchor(
        self, event: Event, called_off: CalledOffOccurrences | None = None
    ) -> tuple[str, datetime | date] | None:
        """What the time counts from when that is not the trigger event itself: the anchor's
        path (``data.<field>`` or ``schedule.<name>``) and its value for this trigger; None
        when it counts from the trigger (its time is the trigger's, shown already)."""
        if self._field is None and self._schedule is None:
            return None
        return self._spec.anchor, self._anchor(event, called_off)

    def _at_time_of_day(self, d: date) -> datetime:
        if self._spec.time is not None:
            return local_datetime(d, self._spec.time, self._tz)
        return end_of_day(d, self._tz) if self._end else start_of_day(d, self._tz)

    def compute(
        self,
        event: Event,
        t: Translator | None = None,
        called_off: CalledOffOccurrences | None = None,
    ) -> TimePoint:
        """The instant for this trigger event, with the steps taken (for ``explain``), in
        the language of ``t`` (Swedish by default)."""

        t = t or translator()
        key = self._memo_key(event)
        if key is None:
            steps = _Steps(t)
            at, occurrence = self._compute(event, steps, called_off)
            return TimePoint(at, tuple(steps.lines), occurrence)
        # The first step names the anchor (for the trigger, to the minute); the calendar
        # steps after it depend only on the anchor's day.
        hit = self._explained.get((key, t.language))
        if hit is None:
            steps = _Steps(t)
            at, occurrence = self._compute(event, steps)
            hit = TimePoint(at, tuple(steps.lines[1:]), occurrence)
            if len(self._explained) >= _MEMO_SIZE:
                self._explained.clear()
            self._explained[(key, t.language)] = hit
        first = _Steps(t)
        self._anchor_step(self._anchor(event), first)
        return TimePoint(hit.at, (*first.lines, *hit.steps), hit.occurrence)

    def instant(
        self, event: Event, called_off: CalledOffOccurrences | None = None
    ) -> tuple[datetime, str | None]:
        """The instant (UTC) for this trigger event and the occurrence it belongs to.

        The same computation as :meth:`compute` without writing the steps down: the
        evaluator calls this for every trigger and builds the steps only when asked for.
        """
        if self._elapsed is not None:
            return event.utc + self._elapsed, None
        # _memo_key, inlined: this runs for every obligation raised.
        if not self._by_day:
            return self._compute(event, None, called_off)
        key: object
        if self._field is None:
            key = event.utc.astimezone(self._tz).date()
        else:
            key = event.data.get(self._field)
            if not isinstance(key, str):
                return self._compute(event, None, called_off)
        memo = self._memo
        hit = memo.get(key)
        if hit is None:
            hit = self._compute(event, None)
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[key] = hit
        return hit

    def _memo_key(self, event: Event) -> object | None:
        """What the result depends on, for a deadline counted in days: the anchor's day
        (or the anchor field's text); None when it must be computed every time."""
        if not self._by_day:
            return None
        if self._field is None:
            return event.at.astimezone(self._tz).date()
        key = event.data.get(self._field)
        return key if isinstance(key, str) else None

    def _compute(
        self, event: Event, steps: _Steps | None, called_off: CalledOffOccurrences | None = None
    ) -> tuple[datetime, str | None]:
        anchor = self._anchor(event, called_off)
        occurrence = None
        if self._schedule is not None:
            assert isinstance(anchor, datetime)
            occurrence = self._schedule.occurrence_name(anchor)
        if steps is not None:
            self._anchor_step(anchor, steps)
            if (
                self._schedule is not None
                and isinstance(anchor, datetime)
                and anchor != self._schedule.next_after(event.at)
            ):
                self._skipped_step(event.at, anchor, steps)
        return self._offset(anchor, steps).astimezone(UTC), occurrence

    def _skipped_step(self, after: datetime, held_at: datetime, steps: _Steps) -> None:
        """Name the called-off occurrences between the trigger and the one held."""
        assert self._schedule is not None
        first = local_date(after, self._tz)
        last = local_date(held_at, self._tz)
        skipped = [
            x.format_instant(o, self._tz, steps.t)
            for o in self._schedule.occurrences(first, last)
            if after < o < held_at
        ]
        steps.append(x.step_called_off_occurrences(steps.t, occurrences=", ".join(skipped)))

    def _anchor_step(self, anchor: datetime | date, steps: _Steps) -> None:
        shown = (
            x.format_day(anchor, steps.t)
            if isinstance(anchor, date) and not isinstance(anchor, datetime)
            else x.format_instant(anchor, self._tz, steps.t)
        )
        if self._schedule is not None:
            label = self._schedule.label
            steps.append(x.step_next_occurrence(steps.t, schedule=label, at=shown))
        elif self._field_label is not None:
            steps.append(x.step_anchor_field(steps.t, field=self._field_label, at=shown))
        else:
            steps.append(x.step_anchor_trigger(steps.t, at=shown))

    def _offset(self, anchor: datetime | date, steps: _Steps | None) -> datetime:
        unit, amount = self._unit, self._amount
        if unit is None:
            if isinstance(anchor, datetime):
                return anchor
            return self._at_time_of_day(anchor)
        if unit in ("hours", "minutes"):
            base = anchor if isinstance(anchor, datetime) else start_of_day(anchor, self._tz)
            delta = timedelta(hours=amount) if unit == "hours" else timedelta(minutes=amount)
            # Elapsed time, not wall-clock time: one hour is one hour across the DST fold.
            result = (base.astimezone(UTC) + delta).astimezone(self._tz)
            if steps is not None:
                steps.append(
                    x.step_amount(
                        steps.t,
                        unit=unit,
                        amount=amount,
                        base="",
                        result=x.format_instant(result, self._tz, steps.t),
                    )
                )
            return result
        base_day = local_date(anchor, self._tz) if isinstance(anchor, datetime) else anchor
        cal = self._calendar
        if unit == "working_days":
            day = _add_working_days(anchor, amount, tz=self._tz, calendar=cal)
            if steps is not None:
                text = x.step_working_days(
                    steps.t,
                    n=abs(amount),
                    before=amount < 0,
                    base=x.format_day(base_day, steps.t),
                    day=x.format_day(day, steps.t),
                )
                skipped = _skipped(cal, base_day, day, steps.t)
                if skipped:
                    text = x.step_not_working_days(steps.t, step=text, days=skipped)
                steps.append(text)
        else:
            if unit == "months":
                day = add_months(base_day, amount)
            else:
                day = add_days(base_day, amount * (7 if unit == "weeks" else 1))
            if steps is not None:
                steps.append(
                    x.step_amount(
                        steps.t,
                        unit=unit,
                        amount=amount,
                        base=x.format_day(base_day, steps.t),
                        result=x.format_day(day, steps.t),
                    )
                )
            if self._policy != "keep" and not cal.is_working_day(day):
                moved = (
                    cal.next_working_day(day)
                    if self._policy == "next_working_day"
                    else cal.previous_working_day(day)
                )
                if steps is not None:
                    reason = x.non_working_reason(steps.t, cal.non_working_reason(day) or "")
                    steps.append(
                        x.step_moved(
                            steps.t,
                            day=x.format_day(day, steps.t),
                            reason=reason,
                            moved=x.format_day(moved, steps.t),
                        )
                    )
                day = moved
        result = self._at_time_of_day(day)
        if steps is not None:
            # Each step above ends on ``day``; the instant is a step of its own only when it
            # says more than the day (a time of day).
            shown = x.format_instant(result, self._tz, steps.t)
            if shown != x.format_day(day, steps.t):
                steps.append(f"-> {shown}")
        return result


class CompositeTimeRule:
    """A compiled :class:`CompositeTime`: the later or earlier of its parts' instants.

    Ties go to the first part written, so the occurrence (and the explanation) is stable.
    """

    __slots__ = ("_later", "_parts", "_tz")

    def __init__(
        self, parts: Sequence[TimeRule | CompositeTimeRule], *, later: bool, tz: ZoneInfo
    ) -> None:
        self._parts = tuple(parts)
        self._later = later
        self._tz = tz

    @property
    def schedules(self) -> tuple[CompiledSchedule, ...]:
        """The schedules its parts are anchored on."""
        return tuple(s for part in self._parts for s in part.schedules)

    def _pick(self, results: Sequence[tuple[datetime, str | None]]) -> int:
        best = 0
        for i in range(1, len(results)):
            if (
                (results[i][0] > results[best][0])
                if self._later
                else (results[i][0] < results[best][0])
            ):
                best = i
        return best

    def instant(
        self, event: Event, called_off: CalledOffOccurrences | None = None
    ) -> tuple[datetime, str | None]:
        """The instant (UTC) for this trigger event and the occurrence it belongs to."""
        results = [part.instant(event, called_off) for part in self._parts]
        return results[self._pick(results)]

    def anchor(
        self, event: Event, called_off: CalledOffOccurrences | None = None
    ) -> tuple[str, datetime | date] | None:
        """What the chosen part counts from (see :meth:`TimeRule.anchor`)."""
        results = [part.instant(event, called_off) for part in self._parts]
        return self._parts[self._pick(results)].anchor(event, called_off)

    def compute(
        self,
        event: Event,
        t: Translator | None = None,
        called_off: CalledOffOccurrences | None = None,
    ) -> TimePoint:
        """The instant with its steps: each part's, then which one was chosen."""

        t = t or translator()
        points = [part.compute(event, t, called_off) for part in self._parts]
        best = self._pick([(p.at, p.occurrence) for p in points])
        steps = [
            x.composite_part(t, n=i, steps="; ".join(p.steps)) for i, p in enumerate(points, 1)
        ]
        chosen = x.format_instant(points[best].at, self._tz, t)
        steps.append(x.composite_choice(t, later=self._later, n=best + 1, at=chosen))
        return TimePoint(points[best].at, tuple(steps), points[best].occurrence)


def compile_time(
    spec: TimeForm,
    *,
    tz: ZoneInfo,
    calendar: WorkingCalendar,
    policy: str,
    end_of_day_default: bool,
    schedules: Mapping[str, CompiledSchedule] | None = None,
    fields: Mapping[str, FieldSpec] | None = None,
) -> TimeRule | CompositeTimeRule:
    """Compile a time form: a plain :class:`TimeSpec` or a ``later_of``/``earlier_of``."""
    if isinstance(spec, CompositeTime):
        return CompositeTimeRule(
            [
                compile_time(
                    part,
                    tz=tz,
                    calendar=calendar,
                    policy=policy,
                    end_of_day_default=end_of_day_default,
                    schedules=schedules,
                    fields=fields,
                )
                for part in spec.parts
            ],
            later=spec.later,
            tz=tz,
        )
    return TimeRule(
        spec,
        tz=tz,
        calendar=calendar,
        policy=policy,
        end_of_day_default=end_of_day_default,
        schedules=schedules,
        fields=fields,
    )


_MEMO_SIZE: Final = 65536


"""Days remembered per deadline rule (a dict of this size is a few MB at most)."""


class _Steps:
    """The calendar steps of a deadline, written in the language of ``t``."""

    __slots__ = ("lines", "t")

    def __init__(self, t: Translator) -> None:
        self.t = t
        self.lines: list[str] = []

    def append(self, line: str) -> None:
        """Write down the next step."""
        self.lines.append(line)


def _skipped(cal: WorkingCalendar, a: date, b: date, t: Translator) -> str:
    lo, hi = (a, b) if a <= b else (b, a)
    span = (hi - lo).days
    if span > 31:
        return ""
    names = []
    for offset in range(1, span):
        d = lo + timedelta(days=offset)
        reason = cal.non_working_reason(d)
        if reason is not None and d.weekday() < 5:
            names.append(f"{x.non_working_reason(t, reason)} {x.format_date(d, t)}")
    return ", ".join(names)


def _add_working_days(
    anchor: datetime | date, n: int, *, tz: ZoneInfo, calendar: WorkingCalendar
) -> date:
    """The local day of ``anchor`` in ``tz`` (a date is its own day) moved ``n`` working days
    in ``calendar``, back when ``n`` is negative: how deadlines and escalations count
    working days after an instant."""
    day = local_date(anchor, tz) if isinstance(anchor, datetime) else anchor
    return calendar.add_working_days(day, n)


def offset_after(
    moment: datetime, offset: Offset, *, tz: ZoneInfo, calendar: WorkingCalendar
) -> datetime:
    """``moment`` plus an escalation :class:`Offset` (working days keep the time of day)."""
    if offset.hours is not None:
        return (moment + timedelta(hours=offset.hours)).astimezone(tz)
    local = moment.astimezone(tz)
    if offset.working_days is not None:
        day = _add_working_days(local, offset.working_days, tz=tz, calendar=calendar)
    else:
        day = add_days(local.date(), offset.days or 0)
    return local_datetime(day, local.time().replace(tzinfo=None), tz).astimezone(UTC)
