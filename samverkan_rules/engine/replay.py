"""Replaying a case's events through the routines: triggers, facts and answers by index.

An open obligation waits for the events that may fulfil or cancel it. Instead of testing
every open obligation against every later event of its answer type (quadratic in the size
of a case), each (pattern, correlation value) pair is a bucket: an obligation raised by
trigger ``e3`` whose pattern says ``match: {data.refers_to: trigger.id}`` waits in the
bucket ``(pattern, "e3")``, and a ``message.sent`` with ``refers_to: e3`` looks exactly that
bucket up. A pattern's own condition reads only the answering event and the case's facts,
so it is tested once per event and pattern, not once per waiting obligation. The cost of an
event is therefore flat in the size of its case.

The semantics are those of the reference evaluator: an event first fulfils what it answers
(once the obligation's window has opened), then cancels what it cancels (before the
deadline; a later cancellation does not undo a breach), then cuts the deadline of what it
had to precede (a rule's ``before``: the first such event after the trigger, while the
obligation is open and the event is earlier than its deadline); an answer or a ``before``
event logged in the same second as its trigger counts whatever the ids' order; each
trigger is judged by the routine version in force on its local date.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from samverkan_rules.compile.conditions import CaseFacts, Facts, facts_snapshot
from samverkan_rules.compile.routine import CompiledRoutine, _never
from samverkan_rules.compile.rules import CompiledPattern, CompiledRule, FactSetter, Getter
from samverkan_rules.compile.schedules import CalledOffOccurrences
from samverkan_rules.compile.time import offset_after
from samverkan_rules.compile.versions import Window
from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.engine.ledger import (
    Entry,
    EscalationEntry,
    RemedyEntry,
    RuleEntry,
)
from samverkan_rules.errors import CalendarError
from samverkan_rules.events.model import Event
from samverkan_rules.status import ACTION_STATUSES
from samverkan_rules.time.instants import parse_rfc3339, start_of_day

TICK_PREFIX: Final = "schedule."
"""Event types ``schedule.<name>`` stand for a schedule's occurrences in a unit's case."""

_MISSING: Final = object()
_SCAN: Final = object()
_BOOL: Final = object()


def _index_key(value: Any) -> Any:
    """A hashable key that is equal exactly when the engine's ``_same`` says so.

    ``True == 1`` in Python but not in a routine, so booleans get a key of their own.
    Values that are not plain scalars (lists, objects) are not indexed: they go to a scan
    bucket where the full comparison decides.
    """
    kind = type(value)
    if kind is str or kind is int or kind is float or value is None:
        return value
    if kind is bool:
        return (_BOOL, value)
    return _SCAN


class _Slot:
    """One answer pattern of one rule: the bucket family its obligations wait in."""

    __slots__ = (
        "any_case",
        "before",
        "cancel",
        "candidate",
        "number",
        "pattern",
        "routine_key",
        "single",
        "single_trigger",
        "trigger_side",
    )

    def __init__(
        self,
        number: int,
        routine: CompiledRoutine,
        pattern: CompiledPattern,
        *,
        cancel: bool,
        before: bool = False,
    ) -> None:
        self.number = number
        self.routine_key = routine.key
        self.pattern = pattern
        self.cancel = cancel
        self.before = before
        """The rule's ``before`` pattern: a match cuts the deadline instead of closing."""
        self.any_case = pattern.any_case
        self.candidate: tuple[Getter, ...] = tuple(c for c, _ in pattern.match)
        self.trigger_side: tuple[Getter, ...] = tuple(t for _, t in pattern.match)
        self.single = self.candidate[0] if len(self.candidate) == 1 else None
        self.single_trigger = self.trigger_side[0] if len(self.trigger_side) == 1 else None

    @staticmethod
    def _key(getters: tuple[Getter, ...], event: Event, facts: Facts) -> Any:
        if not getters:
            return ()
        if len(getters) == 1:
            value = getters[0](event, facts)
            return _MISSING if value is _MISSING else _index_key(value)
        keys = []
        for get in getters:
            value = get(event, facts)
            if value is _MISSING:
                return _MISSING
            key = _index_key(value)
            if key is _SCAN:
                return _SCAN
            keys.append(key)
        return tuple(keys)

    def candidate_key(self, event: Event, facts: Facts) -> Any:
        """The bucket an answering event looks up (``_MISSING``: it cannot match)."""
        return self._key(self.candidate, event, facts)

    def trigger_key(self, trigger: Event, facts: Facts) -> Any:
        """The bucket an obligation raised by ``trigger`` waits in."""
        single = self.single_trigger
        if single is not None:  # one correlation field: the common case, inlined
            value = single(trigger, facts)
            return value if value is _MISSING or type(value) is str else _index_key(value)
        return self._key(self.trigger_side, trigger, facts)


class _Trigger:
    """One rule as a trigger raises it, its parts looked up once per plan.

    ``unless`` is None for a rule without one; ``roles`` are the responsible role and the
    recipients when they do not depend on the case's facts (no ``levels_up``), else None.
    """

    __slots__ = ("condition", "roles", "rule", "slots", "unless")

    def __init__(self, rule: CompiledRule, slots: tuple[_Slot, ...]) -> None:
        self.rule = rule
        self.condition = rule.condition
        self.unless = None if rule.unless is _never else rule.unless
        action = rule.rule.action
        self.roles: tuple[str, tuple[str, ...], None] | None = (
            (action.role, tuple(action.recipients), None) if action.levels_up is None else None
        )
        self.slots = slots


_Acts = tuple[tuple[CompiledRoutine, tuple[FactSetter, ...], tuple[_Trigger, ...]], ...]
"""For one event type: each routine version whose facts or rules it touches, with the fact
setters and the rules it triggers there."""


class CasePlan:
    """What the replay needs of a set of routine versions, built once per evaluation.

    Attributes:
        routines: The versions evaluated together.
        windows: Each version's validity, by ``(id, version)``.
        slots_by_type: For each event type, the answer patterns it may match: every
            fulfilment pattern, then every cancellation pattern, then every ``before``.
        slots_by_rule: For each rule (by identity), its patterns' slots.
        slot_count: How many slots there are (numbered from 0).
        acts_by_type: For each event type, what it does in its own case (see ``_Acts``).
        checkers: For each event type, the versions that declare it (they judge its data).
    """

    def __init__(
        self, routines: tuple[CompiledRoutine, ...], windows: Mapping[tuple[str, str], Window]
    ) -> None:
        self.routines = routines
        self.windows = windows
        self.shape: object | None = None
        """What the evaluator derives from the same versions, kept by it on first use."""
        fulfil: dict[str, list[_Slot]] = {}
        cancel: dict[str, list[_Slot]] = {}
        before: dict[str, list[_Slot]] = {}
        self.slots_by_rule: dict[int, tuple[_Slot, ...]] = {}
        number = 0
        for routine in routines:
            for rule in routine.rules:
                slots = []
                for patterns, by_type, is_cancel in (
                    (rule.fulfilled_by, fulfil, False),
                    (rule.cancelled_by, cancel, True),
                    ((rule.before,) if rule.before is not None else (), before, False),
                ):
                    for pattern in patterns:
                        slot = _Slot(
                            number, routine, pattern, cancel=is_cancel, before=by_type is before
                        )
                        number += 1
                        slots.append(slot)
                        by_type.setdefault(pattern.event_type, []).append(slot)
                self.slots_by_rule[id(rule)] = tuple(slots)
        self.slot_count = number
        checkers: dict[str, list[CompiledRoutine]] = {}
        for routine in routines:
            for name in routine.event_types:
                checkers.setdefault(name, []).append(routine)
        self.checkers = {name: tuple(owners) for name, owners in checkers.items()}
        self.slots_by_type: dict[str, tuple[_Slot, ...]] = {
            t: (*fulfil.get(t, ()), *cancel.get(t, ()), *before.get(t, ()))
            for t in {*fulfil, *cancel, *before}
        }
        self.acts_by_type = self._acts(routines)
        # Events of these types that change nothing are counted (not ticks, nor types that
        # answer other cases or feed a queue: those may act outside their own case).
        shared: set[str] = set()
        for routine in routines:
            shared |= routine.borrow_types
            for queue in routine.queues.values():
                shared.update(queue.joins, queue.leaves, queue.offers)
        self.idle_types = frozenset(t for r in routines for t in r.event_types if t not in shared)
        # Per routine: its window as UTC instants, so a trigger is placed without a date.
        self._bounds: dict[str, tuple[datetime, datetime | None]] = {}
        for routine in routines:
            window = windows[(routine.id, routine.version)]
            lo = start_of_day(window.first, routine.tz).astimezone(UTC)
            hi = (
                start_of_day(window.last + timedelta(days=1), routine.tz).astimezone(UTC)
                if window.last is not None
                else None
            )
            self._bounds[routine.key] = (lo, hi)

    def _acts(self, routines: tuple[CompiledRoutine, ...]) -> dict[str, _Acts]:
        """Each event type's fact setters and triggered rules, version by version (only the
        versions where it has some, in the order of ``routines``)."""
        types = {t for r in routines for t in (*r.fact_setters, *r.rules_by_trigger)}
        out: dict[str, _Acts] = {}
        for etype in sorted(types):
            acts = []
            for routine in routines:
                setters = routine.fact_setters.get(etype, ())
                rules = routine.rules_by_trigger.get(etype, ())
                if setters or rules:
                    triggers = tuple(_Trigger(r, self.slots_by_rule[id(r)]) for r in rules)
                    acts.append((routine, setters, triggers))
            out[etype] = tuple(acts)
        return out

    def in_force(self, routine: CompiledRoutine, at: datetime) -> bool:
        """True when ``routine`` is in force on the local date of the instant ``at``."""
        lo, hi = self._bounds[routine.key]
        return lo <= at and (hi is None or at < hi)


def _utc(event: Event) -> datetime:
    return event.utc


def _answers(event: Event, entry: RuleEntry, facts: Mapping[str, Any]) -> bool:
    """True when ``event`` fulfils ``entry``: a pattern matches and its window has opened."""
    if entry.opens is not None and event.at < entry.opens:
        return False  # too early: e.g. last month's late list is not this month's
    return any(
        p.matches(event, entry.trigger, facts)
        for p in entry.rule.fulfilled_by
        if p.event_type == event.type
    )


def _before_its_time(tick: Event, deadline: datetime) -> bool:
    """True when a scheduled obligation fell due before its period or the events began."""
    return deadline < tick.at or deadline < parse_rfc3339(tick.data["not_before"])


def _occurrence(trigger: Event, deadline_occ: str | None, opens_occ: str | None) -> str | None:
    if trigger.type.startswith(TICK_PREFIX):
        data = trigger.data
        return f"{data['schedule']}@{data['occurrence']}"
    return deadline_occ or opens_occ


Observer = Callable[[str, Event, CompiledRoutine, "CompiledRule | None", Mapping[str, Any]], None]
"""Told of each decision about a trigger: ``(what, event, routine, rule, facts)`` where
``what`` is ``outside`` (no version in force), ``condition`` (its condition is false),
``unless`` (its ``unless`` holds), ``calendar`` (its deadline cannot be placed), ``early``
(a scheduled obligation before its time) or ``raised``; ``facts`` as they stood."""


class CaseReplay:
    """One case's replay, resumable: events are fed one at a time in (instant, id) order.

    :func:`replay_case` feeds a whole stream; a live session keeps one per case and feeds
    each new event as it comes, so a post costs what its event costs, not the whole case.
    ``entries`` and ``facts_of`` are the obligations raised and the facts so far.
    """

    def __init__(
        self,
        plan: CasePlan,
        case_id: str,
        problems: list[Diagnostic],
        counters: dict[str, int],
        observer: Observer | None = None,
        called_off: CalledOffOccurrences | None = None,
    ) -> None:
        self._plan = plan
        self._called_off = called_off if called_off else None  # none called off: nothing to look up
        self.case_id = case_id
        self._problems = problems
        self._counters = counters
        self._observer = observer
        self._slots_by_type = plan.slots_by_type
        self._acts = plan.acts_by_type
        # The case's events so far by id, for conditions on `referred.*`.
        self._by_id: dict[str, Event] = {}
        self.facts_of: dict[str, dict[str, Any]] = {
            r.key: CaseFacts(r.fact_defaults, self._by_id, r.reference_fields)
            for r in plan.routines
        }
        # The open obligations waiting for an answer, by slot number, then by bucket key:
        # a slot nothing waits in is skipped without computing the event's key.
        self._waiting: list[dict[Any, list[RuleEntry]] | None] = [None] * plan.slot_count
        self.entries: list[RuleEntry] = []
        # Obligations raised before the last settle that an event answered, cancelled or
        # cut since (see samverkan_rules.engine.settling); the settle empties it.
        self.touched: list[RuleEntry] = []
        self._seq = 0
        self._instant: datetime | None = None
        self._same_from = 0  # fed[_same_from:] are the events at the current instant
        self._used: set[int] = set()  # events that raised, answered or set something
        self.fed: list[Event] = []

    @property
    def last(self) -> tuple[datetime, str] | None:
        """The (instant, id) of the last event fed."""
        return self.fed[-1].order_key if self.fed else None

    def count_idle(self) -> None:
        """Count the case's own events that changed nothing (``idle:<type>``)."""
        for event in self.fed:
            if (
                event.case == self.case_id
                and id(event) not in self._used
                and event.type in self._plan.idle_types
            ):
                name = f"idle:{event.type}"
                self._counters[name] = self._counters.get(name, 0) + 1

    def _cancelled_since(self, entry: RuleEntry, tick: Event, facts: Mapping[str, Any]) -> None:
        """Cancel a scheduled obligation by the first event since the last occurrence held
        (``tick.data["held_since"]``) and before its own period that cancels it."""
        since = parse_rfc3339(tick.data["held_since"]).astimezone(UTC)
        earlier = self.fed[:-1]
        start = bisect_left(earlier, since, key=_utc)
        for event in earlier[start:]:
            if _cancel_pattern(entry, event, event.case == self.case_id, facts):
                entry.cancel = event
                self._used.add(id(event))
                return

    def feed(self, event: Event) -> None:
        """Replay one more event; it must not sort before the events fed so far."""
        fed = self.fed
        fed.append(event)
        etype = event.type
        # In UTC: comparisons between datetimes of one tzinfo are the fast ones.
        at = event.utc
        if at != self._instant:
            self._instant, self._same_from = at, len(fed) - 1
        own = event.case == self.case_id
        if own:
            self._by_id.setdefault(event.id, event)
        # 1. Answers: a later event fulfils or cancels what is still open.
        slots = self._slots_by_type.get(etype)
        if slots is not None:
            self._answer(event, slots, at, own)
        if not own:
            return  # borrowed from another case: it may only answer `any_case` patterns
        acts = self._acts.get(etype)
        if acts is None:
            return  # sets no fact and triggers no rule
        tick_of = event.data.get("routine") if etype.startswith(TICK_PREFIX) else None
        in_force = outside = False
        for routine, setters, triggers in acts:
            facts = self.facts_of[routine.key]
            # 2. Facts as they stand after this event.
            for setter in setters:
                if setter.condition(event, facts):
                    facts[setter.fact] = setter.value_for(event, facts.get(setter.fact))
                    self._used.add(id(event))
            # 3. Triggers: new obligations, judged by the version in force at the trigger.
            if not triggers:
                continue
            if tick_of is not None:
                if tick_of != routine.key:
                    continue  # an occurrence belongs to the version that scheduled it
            elif not self._plan.in_force(routine, at):
                outside = True
                if self._observer is not None:
                    self._observer("outside", event, routine, None, facts_snapshot(facts))
                continue
            in_force = True
            self._trigger(event, routine, triggers, facts, tick_of is not None)
        if outside and not in_force:
            self._counters["outside_validity"] = self._counters.get("outside_validity", 0) + 1

    def _answer(self, event: Event, slots: tuple[_Slot, ...], at: datetime, own: bool) -> None:
        """Fulfil or cancel the open obligations ``event`` answers, bucket by bucket."""
        waiting = self._waiting
        for slot in slots:
            buckets = waiting[slot.number]
            if not buckets or (not own and not slot.any_case):
                continue
            facts = self.facts_of[slot.routine_key]
            single = slot.single
            if single is not None:  # one correlation field: the common case, inlined
                key = single(event, facts)
                if key is _MISSING:
                    continue
                if type(key) is not str:
                    key = _index_key(key)
            else:
                key = slot.candidate_key(event, facts)
                if key is _MISSING:
                    continue
            bucket = buckets.get(key)
            if not bucket:
                continue
            pattern = slot.pattern
            if key is _SCAN:
                # Lists or objects: compare each waiting obligation in full.
                targets = [e for e in bucket if pattern.matches(event, e.trigger, facts)]
            elif pattern.condition(event, facts):
                targets = bucket
            else:
                continue
            if slot.before:
                self._cut(event, targets, at)
                still = [e for e in bucket if e.open and e.before is None and at < e.deadline]
            elif self._close(event, slot.cancel, targets, at):
                still = [e for e in bucket if e.answer is None and e.cancel is None]
            else:
                continue
            if still:
                buckets[key] = still
            else:
                del buckets[key]

    def _cut(self, event: Event, targets: list[RuleEntry], at: datetime) -> None:
        """Cut the deadline of each open target to ``event``, the event it had to precede,
        when ``event`` is earlier than the deadline (the first such event decides)."""
        for entry in targets:
            if entry.open and entry.before is None and at < entry.deadline:
                entry.deadline = at
                entry.before = event
                self._used.add(id(event))
                self.touched.append(entry)

    def _close(self, event: Event, cancel: bool, targets: list[RuleEntry], at: datetime) -> bool:
        """Let ``event`` fulfil (or with ``cancel``, cancel) each of ``targets`` it can;
        True when any of them is closed (or was already)."""
        closed = False
        for entry in targets:
            if entry.answer is not None or entry.cancel is not None:
                closed = True
            elif cancel:
                # A cancelling event after the deadline does not undo the breach.
                if at <= entry.deadline:
                    entry.cancel = event
                    closed = True
                    self._used.add(id(event))
                    self.touched.append(entry)
            elif entry.opens is None or at >= entry.opens:
                entry.answer = event
                closed = True
                self._used.add(id(event))
                self.touched.append(entry)
        return closed

    def _trigger(
        self,
        event: Event,
        routine: CompiledRoutine,
        triggers: tuple[_Trigger, ...],
        facts: dict[str, Any],
        ticked: bool,
    ) -> None:
        """Raise the obligations of ``triggers`` that ``event`` triggers in a version in
        force."""
        observer = self._observer
        for trigger in triggers:
            rule = trigger.rule
            if not trigger.condition(event, facts) or (
                trigger.unless is not None and trigger.unless(event, facts)
            ):
                if observer is not None:
                    what = "unless" if rule.condition(event, facts) else "condition"
                    observer(what, event, routine, rule, facts_snapshot(facts))
                continue
            self._seq += 1
            raised = _raise(
                routine, trigger, event, facts, self._seq, self._problems, self._called_off
            )
            if raised is None:
                if observer is not None:
                    observer("calendar", event, routine, rule, facts_snapshot(facts))
                continue
            if ticked and _before_its_time(event, raised.deadline):
                if observer is not None:
                    observer("early", event, routine, rule, facts_snapshot(facts))
                continue
            self.entries.append(raised)
            self._used.add(id(event))
            if ticked and "held_since" in event.data:
                self._cancelled_since(raised, event, facts)
            if observer is not None:
                observer("raised", event, routine, rule, facts_snapshot(facts))
            self._wait(event, raised, trigger.slots, facts)

    def _wait(
        self, event: Event, raised: RuleEntry, slots: tuple[_Slot, ...], facts: dict[str, Any]
    ) -> None:
        """Let an obligation just raised by ``event`` wait for its answers."""
        fed = self.fed
        if len(fed) - self._same_from > 1:
            # An answer logged in the same second counts, whatever the ids' order.
            for earlier in fed[self._same_from : -1]:
                if _answers(earlier, raised, facts):
                    raised.answer = earlier
                    self._used.add(id(earlier))
                    break
            # So does an event it had to precede (the deadline is then the trigger's second).
            before = raised.rule.before
            if raised.answer is None and before is not None:
                for earlier in fed[self._same_from : -1]:
                    if before.matches(earlier, raised.trigger, facts):
                        self._cut(earlier, [raised], earlier.utc)
                        break
        # Wait in the buckets of the events that may still answer or cancel it.
        waiting = self._waiting
        for slot in slots:
            key = slot.trigger_key(event, facts)
            if key is not _MISSING:
                buckets = waiting[slot.number]
                if buckets is None:
                    buckets = waiting[slot.number] = {}
                bucket = buckets.get(key)
                if bucket is None:
                    buckets[key] = [raised]
                else:
                    bucket.append(raised)


def _cancel_pattern(entry: RuleEntry, event: Event, own: bool, facts: Mapping[str, Any]) -> bool:
    return any(
        p.event_type == event.type
        and (own or p.any_case)
        and p.matches(event, entry.trigger, facts)
        for p in entry.rule.cancelled_by
    )


def replay_case(
    plan: CasePlan,
    case_id: str,
    events: Sequence[Event],
    problems: list[Diagnostic],
    counters: dict[str, int],
    observer: Observer | None = None,
    called_off: CalledOffOccurrences | None = None,
) -> tuple[list[RuleEntry], dict[str, dict[str, Any]]]:
    """Replay one case's events (sorted by (instant, id)); return its obligations and facts.

    ``events`` may hold events of other cases lent to a unit's case: they can only answer
    ``any_case`` patterns. Events that cannot place a deadline are reported in ``problems``;
    triggers outside every version's validity are counted in ``counters``, and so are the
    case's own events that changed nothing (``idle:<type>``: they raised, answered and set
    nothing). ``observer``, when given, is told of every decision about a trigger.
    ``called_off`` says which schedule occurrences were called off (deadlines anchored on a
    schedule skip them).
    """
    replay = CaseReplay(plan, case_id, problems, counters, observer, called_off)
    for event in events:
        replay.feed(event)
    replay.count_idle()
    return replay.entries, replay.facts_of


def _raise(
    routine: CompiledRoutine,
    trigger: _Trigger,
    event: Event,
    facts: Mapping[str, Any],
    seq: int,
    problems: list[Diagnostic],
    called_off: CalledOffOccurrences | None = None,
) -> RuleEntry | None:
    """The obligation ``trigger``'s rule raises for ``event``, or None when its time cannot
    be placed."""
    rule = trigger.rule
    try:
        deadline, deadline_occ = rule.deadline.instant(event, called_off)
        opens, opens_occ = rule.opens.instant(event, called_off) if rule.opens else (None, None)
    except CalendarError as exc:
        problems.append(
            Diagnostic(
                "error",
                "event.out-of-calendar",
                f"event {event.id!r}: rule {rule.id} cannot place its deadline: {exc}",
                file=event.file,
                line=event.line,
                hint="check the dates in the event's data",
            )
        )
        return None
    roles = trigger.roles
    responsible, recipients, climb = roles if roles is not None else rule.roles_for(facts)
    return RuleEntry(
        routine,
        rule,
        event,
        deadline,
        _occurrence(event, deadline_occ, opens_occ),
        opens,
        responsible,
        recipients,
        climb,
        seq,
        called_off,
    )


def settle_case(
    case_id: str,
    entries: list[RuleEntry],
    facts_of: Mapping[str, Mapping[str, Any]],
    as_of: datetime,
) -> tuple[list[Entry], list[Entry]]:
    """Statuses at ``as_of``, escalations and remedies; returns (obligations, actions).

    Obligations are in trigger order, then escalations, then remedies; actions (those that
    still ask someone to act) are sorted by deadline (or start), then id, then status.
    """
    return ledger_lists(entries, settle_entries(case_id, entries, entries, facts_of, as_of))


def ledger_lists(entries: list[RuleEntry], derived: list[Entry]) -> tuple[list[Entry], list[Entry]]:
    """A settled case's obligations (``entries``, then escalations and remedies) and its
    actions (those that still ask someone to act, by deadline or start, id, status)."""
    obligations: list[Entry] = [*entries, *derived]
    actions = [o for o in obligations if o.status in ACTION_STATUSES]
    actions.sort(key=_action_key)
    return obligations, actions


def settle_entries(
    case_id: str,
    entries: list[RuleEntry],
    settled: list[RuleEntry],
    facts_of: Mapping[str, Mapping[str, Any]],
    as_of: datetime,
) -> list[Entry]:
    """Settle ``settled`` (``entries``, or those of them whose status may have moved, in
    their order) at ``as_of``; returns the escalations and remedies they give, escalations
    first (an obligation that stands in for a remedy lists what it unblocks)."""
    escalations: list[Entry] = []
    for entry in settled:
        entry.settle(as_of, facts_of[entry.routine.key])  # type: ignore[arg-type]
        status = entry.status
        if (status == "overdue" or status == "blocked") and entry.rule.escalations:
            routine = entry.routine
            for esc in entry.rule.escalations:
                if esc.on != status:
                    continue
                start = offset_after(
                    entry.deadline, esc.after, tz=routine.tz, calendar=routine.calendar
                )
                if as_of >= start:
                    escalations.append(EscalationEntry(entry, esc, start, as_of))
    return [*escalations, *_remedies(case_id, settled, entries, as_of)]


def _action_key(entry: Entry) -> tuple[datetime, str, str]:
    moment = entry.deadline if entry.deadline is not None else entry.opens_at
    return (moment.astimezone(UTC), entry.id, entry.status)


def _remedies(
    case_id: str, settled: list[RuleEntry], entries: list[RuleEntry], as_of: datetime
) -> list[RemedyEntry]:
    """One remedy per (precondition, responsible role), carrying the earliest blocked deadline
    (the blocked obligations are among ``settled``, each with its preconditions settled).

    When the case already has an open obligation among ``entries`` that is the remedy
    (obtain consent at enrolment, say) and it is due no later, that obligation lists what it
    unblocks instead of a second, identical action appearing.
    """
    groups: dict[tuple[str, str, str], list[RuleEntry]] = {}
    for entry in settled:
        for name in entry.blocked:
            pre = entry.routine.preconditions[name]
            who = pre.remedy_responsible or entry.responsible
            groups.setdefault((entry.routine.id, name, who), []).append(entry)
    out: list[RemedyEntry] = []
    for (_rid, name, who), members in sorted(groups.items()):
        members.sort(key=lambda m: (m.deadline, m.id))
        first = members[0]
        pre = first.routine.preconditions[name]
        twin = _open_twin(entries, first.routine, pre.remedy_kind, who, first.deadline)
        if twin is not None:
            twin.unblocks = tuple(m.id for m in members)
            continue
        out.append(RemedyEntry(case_id, pre, who, members, as_of))
    return out


def _open_twin(
    entries: list[RuleEntry], routine: CompiledRoutine, kind: str, who: str, deadline: datetime
) -> RuleEntry | None:
    for entry in entries:
        if (
            entry.routine is routine
            and entry.rule.rule.action.kind == kind
            and entry.responsible == who
            and entry.status in ("upcoming", "due", "overdue")
            and entry.deadline <= deadline
        ):
            return entry
    return None
