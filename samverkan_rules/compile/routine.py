"""The compiled routine and :func:`compile_routine`: routine models -> an immutable ruleset,
ready to evaluate many times.

Compilation happens once per routine: conditions become closures, rules are indexed by
the event type that triggers, fulfils or cancels them, event types become field checkers
and time specifications become functions of the trigger event. Evaluation then never
re-reads YAML or re-validates the routine. A :class:`CompiledRoutine` holds no mutable
state and may be shared between threads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast
from zoneinfo import ZoneInfo

from samverkan_rules import phrases as x
from samverkan_rules.compile.checks import _compile_event_check, _event_diag
from samverkan_rules.compile.conditions import EventCheck, Facts, compile_condition
from samverkan_rules.compile.rules import (
    CompiledEscalation,
    CompiledPeriod,
    CompiledPrecondition,
    CompiledQueue,
    CompiledRule,
    FactSetter,
    _compile_pattern,
    _compile_queue,
)
from samverkan_rules.compile.schedules import CompiledSchedule
from samverkan_rules.compile.time import compile_time
from samverkan_rules.diagnostics import N_, Diagnostic, did_you_mean
from samverkan_rules.events.model import Event
from samverkan_rules.events.retraction import RETRACTED
from samverkan_rules.i18n import Translator
from samverkan_rules.language.models.base import EventType, FieldSpec, LateUnit
from samverkan_rules.language.models.conditions import reference_field
from samverkan_rules.language.models.routine import Routine, merged_event_types
from samverkan_rules.language.models.rules import Rule
from samverkan_rules.language.referred import types_referred
from samverkan_rules.records import InterpretationRecord, RoutineRef, SourceRecord
from samverkan_rules.time.calendar import (
    WorkingCalendar,
    sweden_calendar,
)
from samverkan_rules.time.instants import (
    get_zone,
)


@dataclass(frozen=True)
class CompiledRoutine:
    """An immutable, indexed ruleset compiled from one routine version.

    Build it with :func:`compile_routine` (or :func:`samverkan_rules.load_routine`).
    """

    routine: Routine
    sha256: str
    file: str | None
    tz: ZoneInfo
    calendar: WorkingCalendar
    event_types: Mapping[str, EventType]
    event_checks: Mapping[str, EventCheck]
    rules: tuple[CompiledRule, ...]
    rules_by_trigger: Mapping[str, tuple[CompiledRule, ...]]
    fact_setters: Mapping[str, tuple[FactSetter, ...]]
    fact_defaults: Mapping[str, Any]
    preconditions: Mapping[str, CompiledPrecondition]
    schedules: Mapping[str, CompiledSchedule] = field(default_factory=dict)
    ticking: tuple[str, ...] = ()
    """Schedules that trigger rules (their occurrences become unit-level obligations)."""
    borrow_types: frozenset[str] = frozenset()
    """Event types that answer some obligation from any case (``any_case`` patterns)."""
    queues: Mapping[str, CompiledQueue] = field(default_factory=lambda: MappingProxyType({}))
    """The routine's queues, by name, whose order of service is checked over all cases."""
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    periods: tuple[CompiledPeriod, ...] = ()
    """The routine's periods (states with a length), in the order declared."""
    param_uses: Mapping[tuple[str | int, ...], str] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """Where a value came from a parameter: its path in the routine and the parameter."""
    rule_files: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """For a variant: the file that wrote each rule, by rule id."""
    _key: str = field(init=False, default="", repr=False, compare=False)
    # What the properties below compute on first use, kept here rather than by
    # functools.cached_property, which a compiled build (setup.py) would not cache.
    _reference_fields: Mapping[str, str] | None = field(
        init=False, default=None, repr=False, compare=False
    )
    _used_event_types: frozenset[str] | None = field(
        init=False, default=None, repr=False, compare=False
    )
    _texts: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = field(
        init=False, default=None, repr=False, compare=False
    )

    @property
    def id(self) -> str:
        """The routine id."""
        return self.routine.id

    @property
    def version(self) -> str:
        """The routine version."""
        return self.routine.version

    @property
    def key(self) -> str:
        """``<id>@<version>``: names this version among several (in facts and schedules)."""
        return self._key

    def __post_init__(self) -> None:
        # Computed once: the engine looks the key up for every event.
        object.__setattr__(self, "_key", f"{self.routine.id}@{self.routine.version}")
        # Set here too: a compiled build leaves a field with init=False unset.
        for memo in ("_reference_fields", "_used_event_types", "_texts"):
            object.__setattr__(self, memo, None)

    def rule(self, rule_id: str) -> CompiledRule:
        """The compiled rule with this id (KeyError if there is none)."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    @property
    def reference_fields(self) -> Mapping[str, str]:
        """Each event type's field naming the event ``referred.*`` reads (see
        :func:`~samverkan_rules.language.models.conditions.reference_field`)."""
        if self._reference_fields is None:
            found = {n: reference_field(t) for n, t in self.event_types.items()}
            fields = MappingProxyType({n: f for n, f in found.items() if f is not None})
            object.__setattr__(self, "_reference_fields", fields)
            return fields
        return self._reference_fields

    @property
    def used_event_types(self) -> frozenset[str]:
        """The event types this version names anywhere (triggers, answers, cancellations,
        facts, preconditions, periods, queues, schedules): what a case following it can be
        told. The shared vocabulary declares many more; an event of a type no part of the
        routine reads was meant for another routine, and keeping it would be silent."""
        if self._used_event_types is not None:
            return self._used_event_types
        names: set[str] = set(self.rules_by_trigger) | set(self.fact_setters)
        _strings(self.routine.model_dump(mode="json", by_alias=True), names)
        # A retraction concerns any event, whatever routine reads it.
        names.add(RETRACTED)
        # An event a condition reads through `referred.data.<name>` is kept too.
        names |= types_referred(names, self.event_types)
        used = frozenset(n for n in names if n in self.event_types)
        object.__setattr__(self, "_used_event_types", used)
        return used

    @property
    def texts(self) -> Mapping[str, Mapping[str, Mapping[str, Any]]]:
        """``{"rules", "preconditions"}``: each rule's and each remedy's own text by id
        (title, source, interpretation, content), as JSON objects: what every obligation of
        the rule refers to, written once per routine version in the evaluation JSON."""
        if self._texts is not None:
            return self._texts
        rules: dict[str, dict[str, Any]] = {}
        for compiled in self.rules:
            rule = compiled.rule
            source = compiled.source_record
            interp = compiled.interpretation_record
            rules[rule.id] = {
                "title": rule.title,
                "source": _source(source.document, source.section, source.quote),
                "interpretation": (
                    {"reason": interp.reason, "text": interp.text} if interp is not None else None
                ),
                "content": list(rule.action.content),
            }
        preconditions: dict[str, dict[str, Any]] = {}
        for name, pre in self.preconditions.items():
            spec = self.routine.preconditions[name].source
            preconditions[name] = {
                "title": pre.label,
                "source": (
                    _source(self.routine.source.title, spec.section, spec.quote)
                    if spec is not None
                    else None
                ),
                "interpretation": None,
                "content": list(pre.remedy_content),
            }
        texts = {"rules": rules, "preconditions": preconditions}
        object.__setattr__(self, "_texts", texts)
        return texts

    def check_event(self, event: Event) -> list[Diagnostic]:
        """Diagnostics for an event against this routine's event types (empty when valid)."""
        check = self.event_checks.get(event.type)
        if check is None:
            return [
                _event_diag(
                    event,
                    "event.unknown-type",
                    N_("unknown event type {type}", type=repr(event.type)),
                    "type",
                    hint=did_you_mean(event.type, self.event_types),
                )
            ]
        return check(event)

    def role_label(self, role: str) -> str:
        """The Swedish label of a role (the id itself when unknown)."""
        spec = self.routine.roles.get(role)
        return spec.label if spec else role

    def channel_label(self, channel: str | None) -> str | None:
        """The label of a channel."""
        if channel is None:
            return None
        spec = self.routine.channels.get(channel)
        return spec.label if spec else channel

    def obligation_name(self, obligation: str) -> str:
        """An obligation as staff read it: its rule's title with the id after it
        (``Meddelande om start till hemvården (start-message:e25)``), so the id is at hand
        without being read as the name; the id alone when the rule is not this version's."""
        rule_id = obligation.partition(":")[0]
        title = next((r.rule.title for r in self.rules if r.id == rule_id), None)
        return f"{title} ({obligation})" if title else obligation

    def event_type_label(self, event_type: str) -> str:
        """The label of an event type, or of the schedule whose occurrence it is (the type
        itself when unknown): what staff read where an event is named."""
        spec = self.event_types.get(event_type)
        if spec is not None and spec.label:
            return spec.label
        schedule = self.routine.schedules.get(event_type.removeprefix("schedule."))
        if event_type.startswith("schedule.") and schedule is not None:
            return schedule.label
        return event_type


def _strings(node: Any, out: set[str]) -> None:
    """Every string value in a JSON-like tree (mapping keys left out)."""
    if isinstance(node, dict):
        for value in node.values():
            _strings(value, out)
    elif isinstance(node, list):
        for item in node:
            _strings(item, out)
    elif isinstance(node, str):
        out.add(node)


def resolve_up(routine: Routine, role: str, levels: int) -> str:
    """The role ``levels`` steps up the ``reports_to`` chain from ``role``.

    Raises:
        KeyError: when the chain ends before that many levels.
    """
    current = role
    for _ in range(levels):
        spec = routine.roles.get(current)
        if spec is None or spec.reports_to is None:
            raise KeyError(current)
        current = spec.reports_to
    return current


def compile_routine(
    routine: Routine,
    *,
    vocabulary: Mapping[str, EventType],
    source_text: str | None = None,
    file: str | None = None,
    diagnostics: Sequence[Diagnostic] = (),
    param_uses: Mapping[tuple[str | int, ...], str] | None = None,
    rule_files: Mapping[str, str] | None = None,
) -> CompiledRoutine:
    """Compile a validated routine model.

    The routine is assumed to have passed the loader's meaning checks (every reference
    resolves); :func:`samverkan_rules.load_routine` does both.

    Args:
        routine: The validated model.
        vocabulary: The shared event types the routine may use (empty for a routine that
            declares no ``vocabulary``); compiling reads no file, so the caller gives them.
        source_text: The YAML text, hashed into ``sha256`` so reports name exactly what ran.
        file: Where the routine came from, for messages.
        diagnostics: Warnings found while loading, kept with the compiled routine.
        param_uses: Where values came from parameters (path -> parameter), for render.
        rule_files: For a variant, the file that wrote each rule (rule id -> file).
    """
    tz = get_zone(routine.calendar.time_zone)
    cal = sweden_calendar(routine.calendar.closed_days)
    policy = routine.calendar.deadline_on_non_working_day
    types: dict[str, EventType] = merged_event_types(routine, dict(vocabulary))
    roles = frozenset(routine.roles)
    role_units = {n: r.unit for n, r in routine.roles.items()}
    units = frozenset(role_units.values()) | frozenset(routine.units)
    checks = {
        name: _compile_event_check(name, spec, roles, cal, units) for name, spec in types.items()
    }
    schedules = _schedules(routine, tz, cal)

    hierarchy = MappingProxyType({n: r.reports_to for n, r in routine.roles.items()})
    clock: dict[str, Any] = {"tz": tz, "calendar": cal, "policy": policy, "schedules": schedules}
    compiled = [
        _compile_rule(routine, index, rule, types, role_units, clock, hierarchy)
        for index, rule in enumerate(routine.rules)
    ]
    by_trigger, borrow = _rule_indexes(compiled)
    setters = _fact_setters(routine, tz, cal)
    preconditions = _preconditions(routine)
    text = source_text if source_text is not None else routine.model_dump_json(by_alias=True)
    return CompiledRoutine(
        routine=routine,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        file=file,
        tz=tz,
        calendar=cal,
        event_types=MappingProxyType(types),
        event_checks=MappingProxyType(checks),
        rules=tuple(compiled),
        rules_by_trigger=MappingProxyType({k: tuple(v) for k, v in by_trigger.items()}),
        fact_setters=MappingProxyType({k: tuple(v) for k, v in setters.items()}),
        fact_defaults=MappingProxyType({n: f.default for n, f in routine.facts.items()}),
        preconditions=MappingProxyType(preconditions),
        schedules=MappingProxyType(schedules),
        ticking=tuple(
            sorted({r.when.schedule for r in routine.rules if r.when.schedule is not None})
        ),
        borrow_types=frozenset(borrow),
        queues=MappingProxyType(
            {name: _compile_queue(name, q, tz, cal) for name, q in sorted(routine.queues.items())}
        ),
        diagnostics=tuple(diagnostics),
        param_uses=MappingProxyType(dict(param_uses or {})),
        rule_files=MappingProxyType(dict(rule_files or {})),
        periods=_periods(routine, tz, cal),
    )


def _schedules(routine: Routine, tz: ZoneInfo, cal: WorkingCalendar) -> dict[str, CompiledSchedule]:
    return {
        name: CompiledSchedule(
            name, spec, tz=tz, calendar=cal, routine_key=f"{routine.id}@{routine.version}"
        )
        for name, spec in routine.schedules.items()
    }


def _compile_rule(
    routine: Routine,
    index: int,
    rule: Rule,
    types: Mapping[str, EventType],
    role_units: Mapping[str, str],
    clock: dict[str, Any],
    hierarchy: Mapping[str, str | None],
) -> CompiledRule:
    """One rule with its conditions, times and answer patterns compiled."""
    tz, cal = clock["tz"], clock["calendar"]
    escalations = _escalations(routine, rule)
    trigger = _fields_of(types, rule.when.event_type)
    return CompiledRule(
        rule=rule,
        index=index,
        condition=compile_condition(
            rule.when.if_,
            fields=_fields_of(types, rule.when.event_type),
            units=role_units,
            tz=tz,
            calendar=cal,
        ),
        unless=(
            compile_condition(rule.unless, tz=tz, calendar=cal)
            if rule.unless is not None
            else _never
        ),
        deadline=compile_time(rule.deadline, end_of_day_default=True, fields=trigger, **clock),
        opens=(
            compile_time(rule.opens, end_of_day_default=False, fields=trigger, **clock)
            if rule.opens
            else None
        ),
        fulfilled_by=tuple(
            _compile_pattern(p, _fields_of(types, p.event), role_units, tz, cal)
            for p in rule.fulfilled_by
        ),
        cancelled_by=tuple(
            _compile_pattern(p, _fields_of(types, p.event), role_units, tz, cal)
            for p in rule.cancelled_by
        ),
        before=(
            _compile_pattern(rule.before, _fields_of(types, rule.before.event), role_units, tz, cal)
            if rule.before is not None
            else None
        ),
        escalations=escalations,
        requires=tuple(rule.requires),
        late_in=late_unit(rule, routine.calendar.late_in),
        party=(
            (rule.action.party_fact, rule.action.role, rule.action.party_role)
            if rule.action.party_fact is not None
            else None
        ),
        reports_to=hierarchy,
        routine_ref=RoutineRef(id=routine.id, version=routine.version),
        source_record=SourceRecord(
            document=routine.source.title,
            section=rule.source.section,
            quote=rule.source.quote,
        ),
        interpretation_record=(
            InterpretationRecord(reason=rule.interpretation.reason, text=rule.interpretation.text)
            if rule.interpretation
            else None
        ),
    )


def _escalations(routine: Routine, rule: Rule) -> tuple[CompiledEscalation, ...]:
    """A rule's escalations, numbered from 1, each with the role it goes to resolved."""
    escalations = []
    for i, esc in enumerate(rule.escalation, start=1):
        target = esc.to or resolve_up(routine, rule.action.role, esc.levels_up or 1)
        escalations.append(
            CompiledEscalation(esc.after, target, esc.description, i, esc.on, esc.within)
        )
    return tuple(escalations)


def _rule_indexes(
    compiled: Sequence[CompiledRule],
) -> tuple[dict[str, list[CompiledRule]], set[str]]:
    """The rules by trigger type, and the types that answer a rule from any case."""
    by_trigger: dict[str, list[CompiledRule]] = {}
    borrow: set[str] = set()
    for c in compiled:
        by_trigger.setdefault(c.rule.when.event_type, []).append(c)
        borrow.update(p.event_type for p in c.fulfilled_by + c.cancelled_by if p.any_case)
    return by_trigger, borrow


def _fact_setters(
    routine: Routine, tz: ZoneInfo, cal: WorkingCalendar
) -> dict[str, list[FactSetter]]:
    """The facts' updates, by the event type that sets them, in declaration order."""
    setters: dict[str, list[FactSetter]] = {}
    for name, fact in routine.facts.items():
        for upd in fact.set_by:
            setters.setdefault(upd.event, []).append(
                FactSetter(
                    fact=name,
                    condition=compile_condition(upd.if_, tz=tz, calendar=cal),
                    value=upd.value,
                    value_field=upd.value_from.partition(".")[2] if upd.value_from else None,
                    add=upd.add,
                )
            )
    return setters


def _preconditions(routine: Routine) -> dict[str, CompiledPrecondition]:
    return {
        name: CompiledPrecondition(
            name=name,
            label=p.label,
            holds=compile_condition(p.holds),
            remedy_kind=p.remedy.kind,
            remedy_description=p.remedy.description,
            remedy_responsible=p.remedy.responsible,
            remedy_channel=p.remedy.channel,
            remedy_content=tuple(p.remedy.content),
        )
        for name, p in routine.preconditions.items()
    }


def _periods(routine: Routine, tz: ZoneInfo, cal: WorkingCalendar) -> tuple[CompiledPeriod, ...]:
    return tuple(
        CompiledPeriod(
            name=name,
            spec=p,
            start_type=p.starts.event,
            start_condition=compile_condition(p.starts.if_, tz=tz, calendar=cal),
            breach=p.starts.breach_rules,
            ends=tuple((e.event, compile_condition(e.if_, tz=tz, calendar=cal)) for e in p.ends),
        )
        for name, p in routine.periods.items()
    )


_UNIT_LATENESS: Mapping[str | None, LateUnit] = {
    "working_days": "working_days",
    "days": "days",
    "weeks": "days",
    "months": "days",
    "hours": "hours",
    "minutes": "hours",
    None: "days",
}


def late_unit(rule: Rule, default: str) -> LateUnit:
    """The unit a rule's lateness is worded in.

    The rule's ``late_in`` wins; otherwise the calendar's: a unit, or ``deadline_unit``
    to follow the deadline (hours and minutes: hours; days, weeks, months and a bare
    ``at``: days; working days: working days).

    Examples:
        >>> from samverkan_rules.language.models.rules import Rule
        >>> r = Rule.model_validate({"id": "r", "title": "t",
        ...     "when": {"event": "e"}, "action": {"kind": "reply", "description": "d",
        ...     "responsible": "x"}, "deadline": {"after": "trigger", "hours": 24},
        ...     "fulfilled_by": [{"event": "f"}], "source": {"section": "s", "quote": "q"}})
        >>> late_unit(r, "deadline_unit"), late_unit(r, "working_days")
        ('hours', 'working_days')
    """
    if rule.late_in is not None:
        return rule.late_in
    if default == "deadline_unit":
        return _UNIT_LATENESS[rule.deadline.unit]  # a composite: its first part's unit
    return cast(LateUnit, default)


def _never(_event: Event, _facts: Facts) -> bool:
    return False


def _fields_of(types: Mapping[str, EventType], event_type: str) -> Mapping[str, FieldSpec] | None:
    spec = types.get(event_type)
    return spec.fields if spec is not None else None


def _source(document: str, section: str, quote: str) -> dict[str, str]:
    return {"document": document, "section": section, "quote": quote}


def obligation_text(
    texts: Mapping[str, Mapping[str, Mapping[str, Any]]],
    rule: str,
    *,
    escalation: bool,
    t: Translator,
) -> Mapping[str, Any] | None:
    """The text an obligation of ``rule`` carries, from a routine version's :attr:`texts`: its
    rule's, or its precondition's for a remedy; an escalation is titled after its rule and
    asks for no content of its own. None when the routine version names no such rule."""
    entry = texts["rules"].get(rule) or texts["preconditions"].get(rule)
    if entry is None or not escalation:
        return entry
    return {**entry, "title": x.escalation_title(t, title=entry["title"]), "content": []}
