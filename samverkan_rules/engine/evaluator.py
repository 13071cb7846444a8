"""One evaluation run: admit events, evaluate case by case, then sum up.

:class:`Evaluator` is what :func:`samverkan_rules.evaluate` and the streaming entry points
are built on. A run has three phases:

1. :meth:`Evaluator.judge` and :meth:`Evaluator.count` each event: it is checked against
   the routine version that judges its data and kept or rejected (with diagnostics); events
   after ``as_of`` and events of cases not asked for are counted, not evaluated.
2. :meth:`Evaluator.prepare` with the earliest admitted instant and the admitted events of
   the *shared* types (those that answer other cases' obligations, ``any_case``, or that a
   queue reads): the schedules' occurrences are placed in their units' cases.
3. :meth:`Evaluator.evaluate_case` for each case, in any order and as many at a time as
   memory allows, then :meth:`Evaluator.finish` for the diagnostics, summary and queues.

Memory is bounded by the largest case plus the shared events: nothing of a finished case
is kept by the evaluator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.compile.versions import Window, validity_windows
from samverkan_rules.diagnostics import Diagnostic, sort_key
from samverkan_rules.engine.ledger import Entry, RuleEntry
from samverkan_rules.engine.occurrences import CalledOff, cancelling_types, schedule_ticks
from samverkan_rules.engine.output import CaseLedger
from samverkan_rules.engine.periods import case_periods
from samverkan_rules.engine.queues import queue_results, queue_types
from samverkan_rules.engine.replay import (
    CasePlan,
    CaseReplay,
    Observer,
    replay_case,
    settle_case,
)
from samverkan_rules.errors import CalendarError, EvaluationError
from samverkan_rules.events.index import Verdict
from samverkan_rules.events.model import Event
from samverkan_rules.events.retraction import RETRACTED, retractions, without_retracted
from samverkan_rules.status import STATUSES
from samverkan_rules.time.instants import local_date, local_stamp, require_aware

Ruleset = CompiledRoutine | Sequence[CompiledRoutine]
"""One compiled routine, or several versions of one routine."""


def _standing(shared: list[Event]) -> list[Event]:
    """The shared events less those retracted (and less the retractions): a retracted event
    answers no other case's obligation, joins no queue and calls off no occurrence."""
    if not any(e.type == RETRACTED for e in shared):
        return shared
    by_case: dict[str, list[Event]] = {}
    for event in shared:
        by_case.setdefault(event.case, []).append(event)
    gone = {(case, ident) for case, events in by_case.items() for ident in retractions(events)}
    return [e for e in shared if e.type != RETRACTED and (e.case, e.id) not in gone]


@dataclass(frozen=True, slots=True)
class _Shape:
    """What an :class:`Evaluator` derives from its routine versions alone."""

    windows: dict[tuple[str, str], Window]
    overlaps: list[Diagnostic]
    borrow: frozenset[str]
    queue_types: frozenset[str]
    cancelling: frozenset[str]
    units: frozenset[str]
    with_periods: bool


def _shape_of(routines: tuple[CompiledRoutine, ...], plan: CasePlan | None) -> _Shape:
    """The shape of ``routines``; kept on ``plan`` when it was built for the same versions,
    so a caller evaluating case after case with one plan derives it once."""
    if plan is not None and not (
        len(plan.routines) == len(routines)
        and all(a is b for a, b in zip(plan.routines, routines, strict=True))
    ):
        plan = None  # built for other versions: not the place to keep it
    if plan is not None and isinstance(plan.shape, _Shape):
        return plan.shape
    windows, overlaps = validity_windows(routines)
    shape = _Shape(
        windows,
        overlaps,
        frozenset().union(*(r.borrow_types for r in routines)),
        queue_types(routines),
        cancelling_types(routines),
        frozenset(u for r in routines for u in r.routine.units),
        any(r.periods for r in routines),
    )
    if plan is not None:
        plan.shape = shape
    return shape


def routines_of(ruleset: Ruleset) -> tuple[CompiledRoutine, ...]:
    """The routine versions of a ruleset, each once.

    Different routines (different municipalities' documents) share the event vocabulary,
    so applying them together would raise every routine's obligations for every case: a
    ruleset is the versions of one routine, and a case that follows another routine is
    evaluated (or posted to a live session) with that routine.

    Raises:
        EvaluationError: for an empty ruleset, a version given twice or several routine ids.
    """
    if isinstance(ruleset, CompiledRoutine):
        return (ruleset,)
    out = tuple(ruleset)
    if not out:
        raise EvaluationError("evaluate needs at least one routine")
    seen: set[tuple[str, str]] = set()
    for r in out:
        key = (r.id, r.version)
        if key in seen:
            raise EvaluationError(f"routine {r.id} version {r.version} is given twice")
        seen.add(key)
    ids = sorted({r.id for r in out})
    if len(ids) > 1:
        raise EvaluationError(
            f"routines {', '.join(ids)} would all apply to every case: each case follows one "
            "routine; evaluate each routine's cases with that routine's versions (or use "
            "samverkan_rules.RoutineSessions, which is told the routine with each post)"
        )
    return out


class Evaluator:
    """An evaluation of events against routine versions at one instant, case by case.

    Args:
        ruleset: A compiled routine, or several (every version of a routine: each
            obligation is judged by the version in force when its trigger happened).
        as_of: The instant to evaluate at; must carry a UTC offset.
        cases: When given, only these cases are evaluated; events of other cases are
            reported as ``event.unknown-case`` warnings.
        plan: The routines' :class:`~samverkan_rules.engine.replay.CasePlan`, when the caller
            keeps one (it depends only on the routines).
        checked: The events were checked against the routines' event types already (the
            audit's reader checks each, reporting it with its file and line, and keeps only
            usable ones): they are not checked again.

    Raises:
        EvaluationError: for a naive ``as_of``, an empty ruleset or overlapping versions.
    """

    def __init__(
        self,
        ruleset: Ruleset,
        as_of: datetime,
        *,
        cases: Iterable[str] | None = None,
        plan: CasePlan | None = None,
        checked: bool = False,
    ) -> None:
        try:
            as_of = require_aware(as_of, "as_of")
        except CalendarError as exc:
            raise EvaluationError(str(exc)) from None
        self.routines = routines_of(ruleset)
        shape = _shape_of(self.routines, plan)
        if shape.overlaps:
            raise EvaluationError("routine versions overlap", shape.overlaps)
        windows = self.windows = shape.windows
        self.as_of = as_of.astimezone(UTC)
        self.tz = self.routines[0].tz
        # A plan depends only on the routines: a caller evaluating often (a live session)
        # builds it once and passes it in.
        self.plan = plan if plan is not None else CasePlan(self.routines, windows)
        self._checked = checked
        self.diagnostics: list[Diagnostic] = []
        self.summary: dict[str, int] = dict.fromkeys(STATUSES, 0)
        self._wanted = frozenset(cases) if cases is not None else None
        self._checkers = self.plan.checkers
        # One version judges every event's data: no lookup per event.
        self._only = self.routines[0] if len(self.routines) == 1 else None
        self._borrow = shape.borrow
        self._queue_types = shape.queue_types
        self._cancelling = shape.cancelling
        self.called_off = CalledOff()
        """The schedule occurrences called off, known once :meth:`prepare` has run."""
        self._units = shape.units
        self._admitted = 0
        self._later = 0
        self._unknown_cases: dict[str, int] = {}
        self._counters: dict[str, int] = {}
        self._ticks: dict[str, list[Event]] = {}
        self._lent: list[Event] = []
        self._queued: list[Event] = []
        self._cases = 0
        self._prepared = False
        self._with_periods = shape.with_periods

    # -- phase 1 --------------------------------------------------------------------------

    @property
    def shared_types(self) -> frozenset[str]:
        """Event types that :meth:`prepare` needs from every case (lent, queued, or calling
        off a schedule's occurrence)."""
        shared = self._borrow | self._queue_types | self._cancelling
        # Retractions travel with the shared events they may retract.
        return shared | {RETRACTED} if shared else shared

    def _checker(self, event: Event) -> CompiledRoutine:
        """The routine that judges an event's data: the version in force on its date, when
        several versions know its type (their roles may differ), else the first."""
        if self._only is not None:
            return self._only
        owners = self._checkers.get(event.type)
        if not owners:
            return self.routines[0]
        if len(owners) > 1:
            for routine in owners:
                if self.plan.in_force(routine, event.at):
                    return routine
        return owners[0]

    def judge(self, event: Event) -> tuple[Verdict, list[Diagnostic]]:
        """Whether an event is to be evaluated, without counting it (pure); :meth:`count`
        counts it.

        Returns:
            The verdict and the problems found with the event's data.
        """
        problems = [] if self._checked else self._checker(event).check_event(event)
        if problems and any(p.is_error for p in problems):
            return "rejected", problems
        if self._wanted is not None and event.case not in self._wanted:
            if event.type in self.shared_types and event.utc <= self.as_of:
                return "context", problems
            return "other-case", problems
        # Both in UTC: the fast comparison (the same instants as event.at's).
        if event.utc > self.as_of:
            return "later", problems
        return "admitted", problems

    def count(self, case: str, verdict: Verdict, problems: Sequence[Diagnostic] = ()) -> bool:
        """Count an event of ``case`` judged by :meth:`judge`; True when it is admitted."""
        self.diagnostics.extend(problems)
        if verdict == "admitted":
            self._admitted += 1
            return True
        if verdict == "other-case":
            self._unknown_cases[case] = self._unknown_cases.get(case, 0) + 1
        elif verdict == "later":
            self._later += 1
        return False

    # -- phase 2 --------------------------------------------------------------------------

    def prepare(self, *, earliest: datetime | None, shared: Iterable[Event]) -> None:
        """Place the schedules' occurrences and keep the shared events.

        Args:
            earliest: The earliest instant among the admitted events (None: there were none).
            shared: The admitted events whose type is in :attr:`shared_types`.
        """
        shared = _standing(list(shared))
        if self._cancelling:
            self.called_off = CalledOff.collect(
                self.routines, (e for e in shared if e.type in self._cancelling)
            )
        self._ticks = schedule_ticks(
            self.routines, self.windows, earliest, self.as_of, self.called_off
        )
        for event in shared:
            if event.type in self._borrow:
                self._lent.append(event)
            if event.type in self._queue_types:
                self._queued.append(event)
        self._prepared = True

    def admit_all(self, events: Iterable[Event]) -> dict[str, list[Event]]:
        """Phases 1 and 2 for events held in memory: admit each, group the admitted ones by
        case and :meth:`prepare` with their earliest instant and the shared ones.

        Returns:
            The admitted events by case (units' cases with schedule occurrences included,
            possibly with no events of their own).
        """
        by_case: dict[str, list[Event]] = {}
        shared_types = self.shared_types
        shared: list[Event] = []
        earliest: datetime | None = None
        for event in events:
            verdict, problems = self.judge(event)
            if verdict == "context":
                shared.append(event)
            if not self.count(event.case, verdict, problems):
                continue
            by_case.setdefault(event.case, []).append(event)
            if event.type in shared_types:
                shared.append(event)
            if earliest is None or event.utc < earliest:
                earliest = event.utc
        self.prepare(earliest=earliest, shared=shared)
        for unit in self.unit_cases():
            by_case.setdefault(unit, [])
        return by_case

    def unit_cases(self) -> list[str]:
        """The cases that exist because a schedule raises obligations in them (units), of
        those asked for."""
        wanted = self._wanted
        return sorted(u for u in self._ticks if wanted is None or u in wanted)

    # -- phase 3 --------------------------------------------------------------------------

    def evaluate_case(
        self, case_id: str, events: Iterable[Event], *, observer: Observer | None = None
    ) -> CaseLedger:
        """Evaluate one case from its admitted events (any order).

        A unit's case also gets its schedule occurrences and the other cases' events that
        may answer its obligations. ``observer`` is told of every decision about a trigger
        (see :func:`samverkan_rules.engine.replay.replay_case`).
        """
        if not self._prepared:
            raise EvaluationError("Evaluator.prepare must be called before evaluate_case")
        # Retracted events count for nothing: dropped before the replay (their case's own).
        stream = list(without_retracted(list(events), self.diagnostics))
        if case_id in self._units:
            stream.extend(self._ticks.get(case_id, ()))
            stream.extend(e for e in self._lent if e.case != case_id)
        stream.sort(key=_order)
        entries, facts = replay_case(
            self.plan,
            case_id,
            stream,
            self.diagnostics,
            self._counters,
            observer,
            self.called_off,
        )
        return self.settle(case_id, entries, facts, stream)

    def resume_case(self, replay: CaseReplay, new: Iterable[Event]) -> None:
        """Feed a kept replay of a case (not a unit's) the events it has not seen, all
        sorting after those it has; :mod:`samverkan_rules.engine.settling` settles it.

        The caller drops retracted events first (a kept replay has seen events in order:
        a retraction means a fresh replay, see :mod:`samverkan_rules.events.retraction`)."""
        for event in sorted(new, key=_order):
            replay.feed(event)

    def settle(
        self,
        case_id: str,
        entries: list[RuleEntry],
        facts: Mapping[str, Mapping[str, Any]],
        stream: Sequence[Event],
    ) -> CaseLedger:
        """Statuses at ``as_of``, escalations, remedies and periods of a replayed case (its
        events in ``stream``); counts it."""
        return self.ledger(case_id, *settle_case(case_id, entries, facts, self.as_of), stream)

    def ledger(
        self,
        case_id: str,
        obligations: list[Entry],
        actions: list[Entry],
        stream: Sequence[Event],
    ) -> CaseLedger:
        """The ledger of a settled case (its obligations and actions as
        :func:`~samverkan_rules.engine.replay.ledger_lists` gives them); counts it."""
        summary = self.summary
        for entry in obligations:
            summary[entry.status] += 1
        self._cases += 1
        periods = (
            case_periods(
                self.plan.routines,
                case_id,
                stream,
                obligations,
                self.as_of,
                self.plan.in_force,
            )
            if self._with_periods
            else None
        )
        return CaseLedger(case_id, obligations, actions, self.as_of, periods)

    def finish(self) -> tuple[list[Any], list[Diagnostic]]:
        """The queues and every diagnostic of the run, sorted; completes :attr:`summary`."""
        diagnostics = self.diagnostics
        queues = queue_results(self.routines, self.windows, self._queued, diagnostics)
        for case_id, count in sorted(self._unknown_cases.items()):
            diagnostics.append(
                Diagnostic(
                    "warning",
                    "event.unknown-case",
                    f"{count} event(s) for case {case_id!r}, which is not among the cases "
                    "asked for; not evaluated",
                )
            )
        if self._later:
            diagnostics.append(
                Diagnostic(
                    "info",
                    "event.after-as-of",
                    f"{self._later} event(s) after as_of {local_stamp(self.as_of, self.tz)} "
                    "are not evaluated",
                    hint="evaluate at a later as_of to include them",
                )
            )
        idle = sorted(
            (name.removeprefix("idle:"), n)
            for name, n in self._counters.items()
            if name.startswith("idle:")
        )
        for event_type, n in idle:
            diagnostics.append(
                Diagnostic(
                    "info",
                    "event.no-effect",
                    f"{n} event(s) of type {event_type} changed nothing: they raised, fulfilled "
                    "or cancelled no obligation and set no fact",
                    hint="a gap in the log or in the routine? 'samverkan explain --case C "
                    "--rule R' shows why a rule raised nothing or what an open obligation waits "
                    "for",
                )
            )
        outside = self._counters.get("outside_validity")
        if outside:
            diagnostics.append(
                Diagnostic(
                    "warning",
                    "routine.not-in-force",
                    f"{outside} trigger event(s) fell outside the validity of every given "
                    "routine version and raised no obligation",
                    hint="load the routine version that was in force then",
                )
            )
        for r in self.routines:
            review = r.routine.review_by
            if review is not None and review < local_date(self.as_of, r.tz):
                diagnostics.append(
                    Diagnostic(
                        "warning",
                        "routine.review-passed",
                        f"routine {r.id} {r.version} was due for review on {review.isoformat()}",
                        file=r.file,
                        hint="ask the routine's owner whether it still applies",
                    )
                )
            diagnostics.extend(r.diagnostics)
        diagnostics.sort(key=sort_key)
        self.summary["events"] = self._admitted
        self.summary["cases"] = self._cases
        return queues, diagnostics

    def header(self) -> dict[str, Any]:
        """``as_of`` and the routine versions, as the evaluation JSON begins."""
        return {"as_of": local_stamp(self.as_of, self.tz), "routines": self.stamps()}

    def stamps(self) -> list[dict[str, Any]]:
        """Each routine version evaluated, with the hash of its exact text."""
        out = []
        for r in sorted(self.routines, key=lambda r: (r.id, r.version)):
            last = self.windows[(r.id, r.version)].last
            out.append(
                {
                    "id": r.id,
                    "version": r.version,
                    "sha256": r.sha256,
                    "valid_from": r.routine.valid_from.isoformat(),
                    "valid_to": last.isoformat() if last else None,
                    **r.texts,
                }
            )
        return out


_order = attrgetter("utc", "id")
"""An event's (instant, id), as :attr:`Event.order_key` gives it, without a call in Python."""
