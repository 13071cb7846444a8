"""The durable_rules backend of a live session (the ``live`` extra, Python < 3.13).

From the compiled routine(s) this module builds one durable_rules ruleset per session, with
no hand-written rules: for every rule that durable_rules can express, a *trigger* rule (the
event type and the ``when`` condition, ``unless`` negated) and one *answer* rule per
``fulfilled_by`` and ``cancelled_by`` pattern, which joins an open obligation (a fact asserted
when the trigger fired) with the answering event on the pattern's condition, its ``match``
correlation and its time window (opened; not past the deadline, for a cancellation).
durable_rules then decides which obligations arise and what fulfils or cancels them; the
session renders statuses, deadlines and explanations with the reference evaluator and checks,
on every post, that both ledgers name the same obligations with the same answers.

Where durable_rules cannot express a rule (scheduled triggers, whose occurrences depend on
``as_of``; ``any_case`` patterns, which read other cases; deadlines anchored on a schedule
whose occurrences can be called off, which also read other cases; a ``before`` event on a
rule that can be cancelled, since the event moves the deadline that bounds a cancellation
while the obligation waits; ordering comparisons; a negated ``contains``), the rule is left
to the reference code and
:meth:`DurableMatcher.describe` says so, with the reason. Conditions are translated in
:mod:`samverkan_rules.live.durable_conditions`, with the reference's meaning (for
``contains`` on a ``roles`` field, an address list holding a unit reaches the unit's roles).
Facts (``set_by``), validity windows and deadline arithmetic always run as reference code:
the facts' values travel with each event into durable_rules.

durable_rules 2.0.28 has sharp edges; each one this module relies on is tested in
``tests/live/test_durable_edges.py``:

- ``durable.lang`` keeps one global host that starts wall-clock timer threads; here each
  session has its own :class:`_SyncHost`, whose timer loop never starts, and time enters only
  as values in the facts.
- Ruleset names are global to the process and cannot be reused: each session's is unique.
- Session ids and message ids are hashed to 32 bits: cases get dense small integer ids
  (freed ids are reused) and every fact gets the next integer of its session.
- A ruleset holds at most 1,024 live sessions (the next raises ``MemoryError`` and its slot
  stays used): the least recently used cases are evicted well before that and rebuilt from
  their events when they return.
- ``delete_state`` on a session where no consequence fired crashes the process: every new
  session first fires a sentinel rule.
- An event fires only one rule, and an unmatched event waits for later facts: everything is
  asserted as a fact (which fires every rule it completes) and retracted right after, so an
  answer never reaches an obligation that arose after it.
- Exceptions inside consequences are swallowed: each consequence records its exception, and
  the matcher raises :class:`ConsequenceError` after the call.
- ``post_batch`` with mixed session ids drops consequences: facts are asserted one at a time.
- There is no API to delete a ruleset: :meth:`DurableMatcher.close` deletes every case's
  state (memory that durable_rules reuses for later sessions of the ruleset), but the
  ruleset itself stays for the life of the process, so a process should open a few
  long-lived durable sessions rather than many short ones.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from durable import engine as _engine  # the `live` extra

from samverkan_rules.compile.conditions import CaseFacts
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.compile.rules import CompiledRule
from samverkan_rules.compile.versions import Window
from samverkan_rules.errors import CalendarError, SamverkanError
from samverkan_rules.events.model import Event
from samverkan_rules.language.models.rules import EventPattern
from samverkan_rules.live.durable_conditions import (
    MISSING,
    Unsupported,
    check_size,
    durable_tests,
    event_values,
    routine_tests,
    tag,
)
from samverkan_rules.records import CaseResult
from samverkan_rules.time.instants import local_date, micros

_SESSION_CEILING = 1024
"""durable_rules 2.0.28 holds at most this many live sessions per ruleset."""


class ConsequenceError(SamverkanError):
    """A durable_rules consequence raised; durable_rules itself would have swallowed it."""


class DurableMismatchError(SamverkanError):
    """durable_rules and the reference evaluator disagree about a case's ledger."""


class _SyncHost(_engine.Host):  # type: ignore[misc]
    """A durable_rules host run synchronously: no background dispatch or timer threads."""

    def _run(self) -> None:
        return None


# --------------------------------------------------------------------------- the plan


@dataclass(slots=True)
class _PatternPlan:
    lane: str
    same_lane: str | None
    pattern: EventPattern
    paths: tuple[str, ...]
    match: tuple[tuple[str, str], ...]  # (candidate path, trigger path), sorted


@dataclass(slots=True)
class _RulePlan:
    routine: CompiledRoutine
    rule: CompiledRule
    trigger_lane: str
    ob_lane: str
    trigger_paths: tuple[str, ...]
    fulfils: list[_PatternPlan] = field(default_factory=list)
    cancels: list[_PatternPlan] = field(default_factory=list)


@dataclass(slots=True)
class _Ob:
    """An obligation as durable_rules decided it."""

    routine: str
    rule: str
    trigger: str
    answer: str | None = None
    cancel: str | None = None


@dataclass(slots=True)
class _Live:
    """One case's durable_rules session and the Python side of it."""

    sid: int
    facts: dict[str, dict[str, Any]]
    events: dict[str, Event] = field(default_factory=dict)
    """The case's events fed so far, by id (what ``referred.*`` in a fact's update reads)."""
    obs: dict[str, _Ob] = field(default_factory=dict)
    last: tuple[datetime, str] | None = None
    instant: datetime | None = None
    same_instant: list[Event] = field(default_factory=list)
    next_id: int = 1


def _refuse_inexpressible(rule: CompiledRule) -> None:
    """Refuse a rule whose obligations durable_rules cannot decide by itself.

    Raises:
        Unsupported: naming why.
    """
    model = rule.rule
    if model.when.schedule is not None:
        raise Unsupported("scheduled trigger: its occurrences depend on as_of")
    for p in (*model.fulfilled_by, *model.cancelled_by):
        if p.any_case:
            raise Unsupported("any_case pattern: answers come from other cases")
    if model.before is not None and model.cancelled_by:
        # A cancellation counts up to the deadline, which the obligation's fact carries as a
        # value set when it arises; the `before` event moves it later on. (A fulfilment counts
        # whatever the deadline, so a rule that cannot be cancelled is still matched.)
        raise Unsupported("before: its event moves the deadline up to which a cancellation counts")
    times = (rule.deadline, *((rule.opens,) if rule.opens is not None else ()))
    if any(s.cancels for t in times for s in t.schedules):
        raise Unsupported(
            "anchored on a schedule whose occurrences other cases' events can call off"
        )


def _ref_value(event: Event, path: str) -> Any:
    if path in ("case", "trigger.case"):
        return event.case
    if path == "trigger.id":
        return event.id
    return event.data.get(path.rsplit(".", 1)[1], MISSING)


class DurableMatcher:
    """durable_rules sessions for the cases of one live session.

    Args:
        routines: The compiled routine versions.
        windows: Each version's validity window.
        max_live_cases: How many cases stay in durable_rules at once (at most 1,000: the
            ruleset's ceiling is 1,024 sessions).
    """

    def __init__(
        self,
        routines: Sequence[CompiledRoutine],
        windows: Mapping[tuple[str, str], Window],
        *,
        max_live_cases: int = 512,
    ) -> None:
        if not 1 <= max_live_cases <= _SESSION_CEILING - 24:
            raise ValueError(
                f"max_live_cases must be 1-{_SESSION_CEILING - 24}: durable_rules holds at most "
                f"{_SESSION_CEILING} sessions per ruleset"
            )
        self._routines = tuple(routines)
        self._windows = windows
        self._max = max_live_cases
        self._lock = threading.RLock()
        self._host = _SyncHost()
        self._name = f"samverkan-{uuid.uuid4().hex}"
        self._errors: list[BaseException] = []
        self._plans: list[_RulePlan] = []
        self._fallback: list[dict[str, str]] = []
        self._by_answer: dict[tuple[str, str], list[tuple[_RulePlan, _PatternPlan, bool]]] = {}
        self._by_trigger: dict[tuple[str, str], list[_RulePlan]] = {}
        self._live: OrderedDict[str, _Live] = OrderedDict()
        self._free_sids: list[int] = []
        self._next_sid = 1
        self.evictions = 0
        self.rebuilds = 0
        self._current: _Live | None = None
        self._fired: list[tuple[_RulePlan, str]] = []
        definition = self._compile()
        self._host.register_rulesets({self._name: definition})

    # ------------------------------------------------------------------ compiling

    def _compile(self) -> dict[str, Any]:
        rules: dict[str, Any] = {
            "sentinel": {"all": [{"m": {"lane": "sentinel"}}], "run": self._guard(_noop)}
        }
        for r_index, routine in enumerate(self._routines):
            for rule in routine.rules:
                try:
                    plan, definitions = self._compile_rule(r_index, routine, rule)
                except Unsupported as exc:
                    self._fallback.append(
                        {
                            "routine": routine.key,
                            "rule": rule.id,
                            "engine": "reference",
                            "reason": str(exc),
                        }
                    )
                    continue
                rules.update(definitions)
                self._plans.append(plan)
                self._by_trigger.setdefault(
                    (routine.key, rule.rule.when.event_type or ""), []
                ).append(plan)
                for p in plan.fulfils:
                    self._by_answer.setdefault((routine.key, p.pattern.event), []).append(
                        (plan, p, True)
                    )
                for p in plan.cancels:
                    self._by_answer.setdefault((routine.key, p.pattern.event), []).append(
                        (plan, p, False)
                    )
        return rules

    def _compile_rule(
        self, r_index: int, routine: CompiledRoutine, rule: CompiledRule
    ) -> tuple[_RulePlan, dict[str, Any]]:
        model = rule.rule
        _refuse_inexpressible(rule)
        base = f"r{r_index}_{rule.index}"
        paths: set[str] = set()
        tests = routine_tests(routine, model.when.event_type or "", model.when.if_, paths)
        # As in the reference, `unless` reads the trigger without its type's fields.
        tests += durable_tests(model.unless, paths, negate=True)
        check_size(tests)
        plan = _RulePlan(
            routine=routine,
            rule=rule,
            trigger_lane=f"t_{base}",
            ob_lane=f"o_{base}",
            trigger_paths=tuple(sorted(paths)),
        )
        definitions: dict[str, Any] = {
            plan.trigger_lane: {
                "all": [{"m": {"$and": [{"lane": plan.trigger_lane}, *tests]}}],
                "run": self._guard(self._on_trigger(plan)),
            }
        }
        for kind, patterns in (("f", model.fulfilled_by), ("c", model.cancelled_by)):
            for j, pattern in enumerate(patterns):
                definitions.update(self._pattern_lanes(plan, kind, f"{j}_{base}", pattern))
        return plan, definitions

    def _pattern_lanes(
        self, plan: _RulePlan, kind: str, name: str, pattern: EventPattern
    ) -> dict[str, Any]:
        """The lanes of one answer pattern, ``kind`` ``f`` to fulfil or ``c`` to cancel."""
        fulfils = kind == "f"
        lane = f"{kind}{name}"
        p_paths: set[str] = set()
        p_tests = routine_tests(plan.routine, pattern.event, pattern.if_, p_paths)
        match = tuple(sorted(pattern.match.items()))
        for candidate, trigger_path in match:
            if "referred." in candidate or "referred." in trigger_path:
                raise Unsupported(f"match {candidate}: it reads the event one refers to")
            if candidate.count(".") > 1 or trigger_path.count(".") > 2:
                raise Unsupported(f"nested field path in match {candidate}")
        joins = [{f"M{n}": {"ob": f"K{lane}_{n}"}} for n in range(len(match))]
        if fulfils:
            window = {"$gte": {"at": {"ob": "opens"}}}
        else:
            window = {"$lte": {"at": {"ob": "deadline"}}}
        pplan = _PatternPlan(
            lane=lane,
            same_lane=f"s{name}" if fulfils else None,
            pattern=pattern,
            paths=tuple(sorted(p_paths)),
            match=match,
        )
        (plan.fulfils if fulfils else plan.cancels).append(pplan)
        ob = {"ob": {"lane": plan.ob_lane}}
        lanes = {
            lane: {
                "all": [ob, {"ans": {"$and": [{"lane": lane}, *p_tests, *joins, window]}}],
                "run": self._guard(self._on_answer(pplan, fulfils=fulfils)),
            }
        }
        if pplan.same_lane is not None:
            # Answers logged earlier in the trigger's own second, aimed at one obligation.
            same = [{"lane": pplan.same_lane}, {"target": {"ob": "ob"}}, *p_tests, *joins, window]
            lanes[pplan.same_lane] = {
                "all": [ob, {"ans": {"$and": same}}],
                "run": self._guard(self._on_answer(pplan, fulfils=True)),
            }
        return lanes

    # ------------------------------------------------------------------ consequences

    def _guard(self, func: Callable[[Any], None]) -> Callable[[Any], None]:
        def run(c: Any) -> None:
            try:
                func(c)
            except BaseException as exc:  # durable_rules would swallow it: keep it
                self._errors.append(exc)
                raise

        return run

    def _on_trigger(self, plan: _RulePlan) -> Callable[[Any], None]:
        def run(c: Any) -> None:
            self._fired.append((plan, c.m["eid"]))

        return run

    def _on_answer(self, plan: _PatternPlan, *, fulfils: bool) -> Callable[[Any], None]:
        keys = [(f"M{n}", f"K{plan.lane}_{n}") for n in range(len(plan.match))]

        def run(c: Any) -> None:
            live = self._current
            assert live is not None
            # durable_rules has been seen to join an answer to an obligation whose
            # correlation value differs when both arrive in one second: the join is
            # checked again here, and such a match is not an answer.
            ans, ob_fact = c.ans._d, c.ob._d
            if any(ans.get(m) is None or ans.get(m) != ob_fact.get(k) for m, k in keys):
                return
            ob = live.obs[c.ob["ob"]]
            if fulfils:
                ob.answer = c.ans["eid"]
            else:
                ob.cancel = c.ans["eid"]
            c.retract_fact(c.ob._d)

        return run

    # ------------------------------------------------------------------ feeding events

    def _assert(self, live: _Live, fact: dict[str, Any], *, keep: bool = False) -> None:
        """Assert a fact into the case's session, check its consequences and retract it
        again unless ``keep`` (an obligation stays until answered)."""
        fact = {"sid": str(live.sid), "id": live.next_id, **fact}
        live.next_id += 1
        self._errors.clear()
        try:
            result = self._host.assert_fact(self._name, fact)
        except _engine.MessageNotHandledException:
            return
        finally:
            if self._errors:
                errors = list(self._errors)
                self._errors.clear()
                raise ConsequenceError(f"a durable_rules consequence failed: {errors[0]!r}")
        if isinstance(result, dict) and "exception" in result:
            raise ConsequenceError(f"a durable_rules consequence failed: {result['exception']}")
        if not keep:
            with contextlib.suppress(_engine.MessageNotHandledException):
                self._host.retract_fact(self._name, fact)

    def _open(self, case: str) -> _Live:
        live = self._live.get(case)
        if live is not None:
            self._live.move_to_end(case)
            return live
        while len(self._live) >= self._max:
            _old_case, old = self._live.popitem(last=False)
            # Safe: the sentinel fired in every session, so delete_state cannot crash.
            self._host.delete_state(self._name, str(old.sid))
            self._free_sids.append(old.sid)
            self.evictions += 1
        if self._free_sids:
            sid = self._free_sids.pop()
        else:
            sid = self._next_sid
            self._next_sid += 1
        events: dict[str, Event] = {}
        live = _Live(
            sid=sid,
            facts={
                r.key: CaseFacts(r.fact_defaults, events, r.reference_fields)
                for r in self._routines
            },
            events=events,
        )
        self._live[case] = live
        self._assert(live, {"lane": "sentinel"})
        return live

    def observe(self, new: Sequence[Event], case_events: Sequence[Event]) -> None:
        """Feed a case's newly stored events to its durable_rules session.

        ``case_events`` are all the case's events in (instant, id) order, the new ones
        among them. A case that is not live (new, evicted, or the session restarted), or one
        where a new event sorts before what was fed already, is rebuilt from them.
        """
        if not new:
            return
        ordered = sorted(new, key=lambda e: e.order_key)
        case = ordered[0].case
        with self._lock:
            live = self._live.get(case)
            if live is None or (live.last is not None and ordered[0].order_key < live.last):
                self._rebuild(case, case_events)
                return
            self._live.move_to_end(case)
            for event in ordered:
                self._feed(live, event)

    def forget(self, case: str) -> None:
        """Drop a case's durable_rules state (it is rebuilt from its events when it returns)."""
        with self._lock:
            live = self._live.pop(case, None)
            if live is not None:
                self._host.delete_state(self._name, str(live.sid))
                self._free_sids.append(live.sid)

    def _rebuild(self, case: str, case_events: Sequence[Event]) -> None:
        self.forget(case)
        self.rebuilds += 1
        fresh = self._open(case)
        for e in case_events:
            self._feed(fresh, e)

    def _feed(self, live: _Live, event: Event) -> None:
        self._current = live
        self._fired = []
        if event.at != live.instant:
            live.instant, live.same_instant = event.at, []
        at = micros(event.at)
        live.events.setdefault(event.id, event)
        # 1. Answers, with the facts as they stood before this event.
        for routine in self._routines:
            facts = live.facts[routine.key]
            # Per rule, fulfilling lanes come before cancelling ones: an event that does both
            # fulfils, as in the engine.
            for _plan, p, _fulfils in self._by_answer.get((routine.key, event.type), ()):
                self._assert(live, self._answer_fact(p.lane, event, facts, p, at))
        live.same_instant.append(event)
        # 2. Facts, then 3. triggers, judged by the version in force on the event's date.
        for routine in self._routines:
            facts = live.facts[routine.key]
            for setter in routine.fact_setters.get(event.type, ()):
                if setter.condition(event, facts):
                    facts[setter.fact] = setter.value_for(event, facts.get(setter.fact))
            plans = self._by_trigger.get((routine.key, event.type))
            if not plans:
                continue
            window = self._windows[(routine.id, routine.version)]
            if not window.contains(local_date(event.at, routine.tz)):
                continue
            for plan in plans:
                self._trigger(live, plan, event, facts, at)
        live.last = event.order_key
        self._current = None

    def _trigger(
        self, live: _Live, plan: _RulePlan, event: Event, facts: Mapping[str, Any], at: int
    ) -> None:
        before = len(self._fired)
        self._assert(
            live,
            {
                "lane": plan.trigger_lane,
                "eid": event.id,
                "at": at,
                **event_values(event, facts, plan.trigger_paths),
            },
        )
        if len(self._fired) == before:
            return
        rule = plan.rule
        try:
            deadline = rule.deadline.compute(event)
            opens = rule.opens.compute(event) if rule.opens else None
        except CalendarError:
            return  # the engine reports it and raises no obligation
        ob_id = f"{rule.id}:{event.id}"
        live.obs[ob_id] = _Ob(plan.routine.key, rule.id, event.id)
        fact = {
            "lane": plan.ob_lane,
            "ob": ob_id,
            "opens": micros(opens.at) if opens else -1,
            "deadline": micros(deadline.at),
        }
        fact.update(self._ob_keys(plan, event))
        self._assert(live, fact, keep=True)
        for earlier in live.same_instant[:-1]:
            if live.obs[ob_id].answer is not None:
                break
            for p in plan.fulfils:
                if p.pattern.event != earlier.type:
                    continue
                lane = p.same_lane or p.lane
                answer = self._answer_fact(lane, earlier, facts, p, micros(earlier.at))
                answer["target"] = ob_id
                self._assert(live, answer)
                if live.obs[ob_id].answer is not None:
                    break

    def _ob_keys(self, plan: _RulePlan, trigger: Event) -> dict[str, Any]:
        keys: dict[str, Any] = {}
        for pp in (*plan.fulfils, *plan.cancels):
            for n, (_cand, trig) in enumerate(pp.match):
                value = _ref_value(trigger, trig)
                if value is not MISSING:
                    keys[f"K{pp.lane}_{n}"] = tag(value)
        return keys

    def _answer_fact(
        self, lane: str, event: Event, facts: Mapping[str, Any], p: _PatternPlan, at: int
    ) -> dict[str, Any]:
        fact: dict[str, Any] = {"lane": lane, "eid": event.id, "at": at}
        fact.update(event_values(event, facts, p.paths))
        for n, (cand, _trig) in enumerate(p.match):
            value = _ref_value(event, cand)
            if value is not MISSING:
                fact[f"M{n}"] = tag(value)
        return fact

    # ------------------------------------------------------------------ checking

    def ledger(self, case: str) -> list[tuple[str, str, str, str | None, str | None]]:
        """The case's obligations as durable_rules decided them, for the rules it matches:
        ``(routine key, rule, trigger event, fulfilling event, cancelling event)``."""
        with self._lock:
            live = self._live.get(case)
            if live is None:
                return []
            return sorted(
                (o.routine, o.rule, o.trigger, o.answer, o.cancel)
                for k, o in live.obs.items()
                if k == f"{o.rule}:{o.trigger}"
            )

    def reconcile(self, case: str, result: CaseResult, case_events: Sequence[Event]) -> None:
        """Check durable_rules' ledger of ``case`` against the reference result.

        Raises:
            DurableMismatchError: naming what differs.
        """
        with self._lock:
            if case not in self._live:
                if not case_events:
                    return
                self._rebuild(case, case_events)
            mine = self.ledger(case)
            handled = {(p.routine.key, p.rule.id) for p in self._plans}
            keys = {(r.id, r.version): r.key for r in self._routines}
            theirs = sorted(
                (
                    keys[(o.routine.id, o.routine.version)],
                    o.rule,
                    o.trigger.event,
                    o.fulfilled_by.event if o.fulfilled_by else None,
                    o.cancelled_by.event if o.cancelled_by else None,
                )
                for o in result.obligations or ()
                if o.escalates is None
                and o.trigger is not None
                and o.obligation == f"{o.rule}:{o.trigger.event}"
                and (keys[(o.routine.id, o.routine.version)], o.rule) in handled
            )
            if mine != theirs:
                only_mine = sorted(set(mine) - set(theirs))
                only_theirs = sorted(set(theirs) - set(mine))
                raise DurableMismatchError(
                    f"case {case!r}: durable_rules and the reference evaluator disagree: "
                    f"durable_rules only {only_mine}, reference only {only_theirs}"
                )

    def describe(self) -> dict[str, Any]:
        """Which rules durable_rules matches and which fall back to the reference code."""
        with self._lock:
            rules = [
                {"routine": p.routine.key, "rule": p.rule.id, "engine": "durable_rules"}
                for p in self._plans
            ]
            return {
                "durable_rules": {
                    "ruleset": self._name,
                    "live_cases": len(self._live),
                    "max_live_cases": self._max,
                    "evictions": self.evictions,
                    "rebuilds": self.rebuilds,
                    "facts": "reference (values carried into durable_rules)",
                    "rendering": "reference (statuses, deadlines, explanations)",
                },
                "rules": rules + self._fallback,
            }

    def close(self) -> None:
        """Delete every case's state (durable_rules cannot delete the ruleset itself)."""
        with self._lock:
            for live in self._live.values():
                self._host.delete_state(self._name, str(live.sid))
            self._live.clear()


def _noop(_c: Any) -> None:
    return None
