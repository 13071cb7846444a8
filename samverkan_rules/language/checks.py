"""The meaning layer of the loader: what a schema cannot check.

Roles, channels, event types and fields that must exist, anchors that must be dates,
secrets that must not be written in a routine; every finding located in the YAML.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from samverkan_rules.diagnostics import N_, Diagnostic, Message, did_you_mean
from samverkan_rules.language.literals import literal_problem
from samverkan_rules.language.models.base import (
    BUILTIN_ACTION_KINDS,
    EventType,
    FieldSpec,
    Vocabulary,
)
from samverkan_rules.language.models.conditions import (
    EVENT_TIME_FIELDS,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    NotOf,
)
from samverkan_rules.language.models.routine import Routine, merged_event_types
from samverkan_rules.language.models.rules import Action, EventPattern, Rule
from samverkan_rules.language.models.schedules import planned_occurrence, schedule_event_type
from samverkan_rules.language.models.time import CompositeTime, TimeForm
from samverkan_rules.language.referred import referred_path_problem, referred_problem
from samverkan_rules.language.yaml import YamlDocument
from samverkan_rules.language.yaml_core import PathPart

Path_ = tuple[PathPart, ...]


_CONDITION_TAGS = frozenset({"compare"})


_SECRET = re.compile(
    r"(?i)\b(pin(-?kod)?|portkod|dörrkod|rumskod|lösenord|password|passcode|kod)\b\s*[:=]?\s*\**"
    r"[\w-]*\d"
)


"""A password, PIN or door code followed by something with a digit in it."""


_ROOM_CODE = re.compile(
    r"(?i)(mötesrum\w*\D{0,40}\d{5,}|\d{5,}\D{0,40}mötesrum|\d{5,}@|\bnummer\s+\d{7,}\b)"
)


"""A virtual meeting-room number: digits near 'mötesrum', a video address such as
'10498141@join...', or 'nummer' followed by a long unbroken run of digits (phone numbers
are written with a dash or spaces, '0150-722 09')."""


_DATE_LIKE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


class _Checker:
    """Meaning checks over a schema-valid routine."""

    def __init__(
        self, routine: Routine, doc: YamlDocument, vocabulary: Vocabulary | None, today: date | None
    ) -> None:
        self.r = routine
        self.doc = doc
        self.vocab: dict[str, EventType] = dict(vocabulary.event_types) if vocabulary else {}
        self.types: dict[str, EventType] = merged_event_types(routine, self.vocab)
        self.today = today
        self.out: list[Diagnostic] = []
        self.addresses = (
            frozenset(routine.roles)
            | frozenset(r.unit for r in routine.roles.values())
            | frozenset(routine.units)
        )

    def error(
        self, path: Sequence[PathPart], code: str, message: Message, hint: Message | None = None
    ) -> None:
        self.out.append(self.doc.diagnostic(path, code, message, hint=hint))

    def warn(
        self, path: Sequence[PathPart], code: str, message: Message, hint: Message | None = None
    ) -> None:
        self.out.append(self.doc.diagnostic(path, code, message, hint=hint, level="warning"))

    # references -------------------------------------------------------------

    def role(self, path: Path_, name: str) -> None:
        if name not in self.r.roles:
            self.error(
                path,
                "routine.unknown-role",
                N_("unknown role {name}", name=repr(name)),
                did_you_mean(name, self.r.roles) or N_("declare it under 'roles'"),
            )

    def channel(self, path: Path_, name: str | None) -> None:
        if name is not None and name not in self.r.channels:
            self.error(
                path,
                "routine.unknown-channel",
                N_("unknown channel {name}", name=repr(name)),
                did_you_mean(name, self.r.channels) or N_("declare it under 'channels'"),
            )

    def event_type(self, path: Path_, name: str) -> EventType | None:
        spec = self.types.get(name)
        if spec is None:
            self.error(
                path,
                "routine.unknown-event-type",
                N_("unknown event type {name}", name=repr(name)),
                did_you_mean(name, self.types) or N_("declare it under 'event_types'"),
            )
        return spec

    def trigger(self, path: Path_, event: str | None, schedule: str | None) -> EventType | None:
        if event is not None:
            return self.event_type((*path, "event"), event)
        assert schedule is not None
        spec = self.r.schedules.get(schedule)
        if spec is None:
            self.error(
                (*path, "schedule"),
                "routine.unknown-schedule",
                N_("unknown schedule {schedule}", schedule=repr(schedule)),
                did_you_mean(schedule, self.r.schedules) or N_("declare it under 'schedules'"),
            )
            return None
        return schedule_event_type(spec)

    def data_field(self, path: Path_, event: EventType | None, event_name: str, name: str) -> None:
        head, _, rest = name.partition(".")
        if event is not None and head not in event.fields:
            self.error(
                path,
                "routine.unknown-field",
                N_(
                    "event type {event_name} has no field {head}",
                    event_name=repr(event_name),
                    head=repr(head),
                ),
                did_you_mean(head, event.fields)
                or N_("its fields are: {value}", value=", ".join(event.fields) or "none"),
            )
        elif event is not None and rest and event.fields[head].type != "object":
            self.error(
                path,
                "routine.not-an-object",
                N_(
                    "data.{head} of {event_name} is a {type} field, so it has no part {rest}",
                    head=head,
                    event_name=repr(event_name),
                    type=repr(event.fields[head].type),
                    rest=repr(rest),
                ),
                N_("read data.{head} itself, or declare it with type 'object'", head=head),
            )

    def condition(
        self,
        path: Path_,
        cond: Condition | None,
        event: EventType | None,
        event_name: str,
        *,
        facts_only: bool = False,
        no_facts: bool = False,
    ) -> None:
        if cond is None:
            return
        flags = {"facts_only": facts_only, "no_facts": no_facts}
        if isinstance(cond, AllOf):
            for i, c in enumerate(cond.all):
                self.condition((*path, "all", i), c, event, event_name, **flags)
        elif isinstance(cond, AnyOf):
            for i, c in enumerate(cond.any):
                self.condition((*path, "any", i), c, event, event_name, **flags)
        elif isinstance(cond, NotOf):
            self.condition((*path, "not"), cond.not_, event, event_name, **flags)
        else:
            self.comparison(path, cond, event, event_name, **flags)

    def comparison(
        self,
        path: Path_,
        c: Comparison,
        event: EventType | None,
        event_name: str,
        *,
        facts_only: bool,
        no_facts: bool = False,
    ) -> None:
        scope, _, name = c.field.partition(".")
        where = (*path, "field")
        if scope == "fact" and no_facts:
            self.error(
                where,
                "routine.field-not-allowed",
                N_(
                    "{field} cannot be used here; a queue, a period or a schedule's "
                    "cancellation reads the event only ('data.<name>', 'case' or 'type')",
                    field=repr(c.field),
                ),
            )
        elif scope == "fact":
            if name not in self.r.facts:
                self.error(
                    where,
                    "routine.unknown-fact",
                    N_("unknown fact {name}", name=repr(name)),
                    did_you_mean(name, self.r.facts) or N_("declare it under 'facts'"),
                )
        elif facts_only:
            self.error(
                where,
                "routine.field-not-allowed",
                N_(
                    "{field} cannot be used here; only facts ('fact.<name>') can",
                    field=repr(c.field),
                ),
            )
        elif scope == "referred" and no_facts:
            self.error(
                where,
                "routine.field-not-allowed",
                N_(
                    "{field} cannot be used here; a queue, a period or a schedule's "
                    "cancellation reads the event itself only",
                    field=repr(c.field),
                ),
            )
        elif scope == "referred":
            found = referred_problem(c, event, event_name, self.types)
            if found is not None:
                self.error(where, found.code, found.message, found.hint)
        elif scope == "data":
            self.data_field(where, event, event_name, name)
            if event is not None and name in event.fields:  # a nested part has no declared type
                self.literals(path, c, event.fields[name])
        elif scope == "at":
            spec = EVENT_TIME_FIELDS.get(name)
            if spec is None:
                self.error(
                    where,
                    "routine.unknown-field",
                    N_(
                        "unknown event time field 'at.{name}'; an event's time gives {value}",
                        name=name,
                        value=", ".join(f"'at.{n}'" for n in EVENT_TIME_FIELDS),
                    ),
                    did_you_mean(f"at.{name}", [f"at.{n}" for n in EVENT_TIME_FIELDS]),
                )
            else:
                self.literals(path, c, spec)

    def literals(self, path: Path_, c: Comparison, spec: FieldSpec) -> None:
        """Each literal the comparison holds must fit the field's declared type and values."""
        op = c.operators()[0]
        if op == "exists":
            return
        if op in ("in", "not_in"):
            found = [
                ((*path, op, i), v) for i, v in enumerate((c.in_ if op == "in" else c.not_in) or [])
            ]
        else:
            found = [((*path, op), getattr(c, op))]
        if op == "contains" and spec.type not in ("roles", "list", "string"):
            self.error(
                (*path, op),
                "routine.contains-not-list",
                N_(
                    "{field} is a {type} field, not a list; 'contains' can never hold",
                    field=c.field,
                    type=repr(spec.type),
                ),
                N_("use 'equals' or 'in'"),
            )
            return
        if op in ("gt", "gte", "lt", "lte") and spec.type in ("enum", "boolean", "role", "roles"):
            self.error(
                (*path, op),
                "routine.order-not-defined",
                N_(
                    "{field} is a {type} field; '{op}' does not apply to it",
                    field=c.field,
                    type=repr(spec.type),
                    op=op,
                ),
                N_("use 'equals' or 'in'"),
            )
            return
        if spec.type == "list":
            return
        for where, value in found:
            problem = literal_problem(spec, value, self.addresses)
            if problem is not None:
                message, hint = problem
                self.error(
                    where,
                    "routine.literal-type",
                    N_("{field} {message}", field=c.field, message=message),
                    hint,
                )

    def anchor(
        self, path: Path_, spec: TimeForm | None, event: EventType | None, event_name: str
    ) -> None:
        if spec is None or event is None:
            return
        if isinstance(spec, CompositeTime):
            key = "later_of" if spec.later else "earlier_of"
            for i, part in enumerate(spec.parts):
                self.anchor((*path, key, i), part, event, event_name)
            return
        anchor = spec.anchor
        key = "before" if spec.before else "after" if spec.after else "at"
        if anchor.startswith("schedule."):
            name = anchor.partition(".")[2]
            if name not in self.r.schedules:
                self.error(
                    (*path, key),
                    "routine.unknown-schedule",
                    N_("unknown schedule {name}", name=repr(name)),
                    did_you_mean(name, self.r.schedules) or N_("declare it under 'schedules'"),
                )
            return
        if not anchor.startswith("data."):
            return
        name = anchor.partition(".")[2]
        fspec = event.fields.get(name)
        if fspec is None:
            self.data_field((*path, key), event, event_name, name)
        elif fspec.type not in ("date", "datetime"):
            self.error(
                (*path, key),
                "routine.anchor-type",
                N_(
                    "{anchor} has type {type}, not a date or timestamp",
                    anchor=anchor,
                    type=repr(fspec.type),
                ),
                N_("anchor a time on a date or datetime field, or on 'trigger'"),
            )
        elif not fspec.required:
            self.error(
                (*path, key),
                "routine.anchor-optional",
                N_(
                    "{anchor} is optional in {event_name}, so the time cannot always be computed",
                    anchor=anchor,
                    event_name=repr(event_name),
                ),
                N_(
                    "make {name} required in the event type, or anchor on 'trigger'",
                    name=repr(name),
                ),
            )

    def action_kind(self, path: Path_, kind: str) -> None:
        if kind in BUILTIN_ACTION_KINDS or kind in self.r.action_kinds:
            return
        known = sorted(BUILTIN_ACTION_KINDS | set(self.r.action_kinds))
        self.error(
            path,
            "routine.unknown-action-kind",
            N_("unknown action kind {kind}", kind=repr(kind)),
            did_you_mean(kind, known) or N_("declare it under 'action_kinds' with a Swedish label"),
        )

    # the whole routine ------------------------------------------------------

    def run(self) -> list[Diagnostic]:
        # The order of the steps is the order of the findings in the report.
        self._extended_event_types()
        self._params_and_action_kinds()
        self._own_event_types()
        self._roles()
        self._hierarchy_cycles()
        self._schedules()
        self._facts()
        self._preconditions()
        self._rules()
        self._periods()
        self._queues()
        self._secrets(self.doc.data, ())
        self._document_record()
        self._review_date()
        return self.out

    def _extended_event_types(self) -> None:
        for name, ext in self.r.extend_event_types.items():
            shared = self.vocab.get(name)
            if shared is None:
                self.error(
                    ("extend_event_types", name),
                    "routine.unknown-event-type",
                    N_(
                        "{name} is no event type of the shared vocabulary, so it cannot be "
                        "extended",
                        name=repr(name),
                    ),
                    did_you_mean(name, self.vocab)
                    or N_("declare a type of your own under 'event_types'"),
                )
                continue
            for fname in ext.fields:
                if fname in shared.fields:
                    self.error(
                        ("extend_event_types", name, "fields", fname),
                        "routine.redefined-field",
                        N_(
                            "{name} already has a field {fname}", name=repr(name), fname=repr(fname)
                        ),
                        N_("use it as it is, or give your field another name"),
                    )

    def _params_and_action_kinds(self) -> None:
        r = self.r
        for name, param in r.params.items():
            if param.type == "role" and isinstance(param.default, str):
                self.role(("params", name, "default"), param.default)
        for name in r.action_kinds:
            if name in BUILTIN_ACTION_KINDS:
                self.error(
                    ("action_kinds", name),
                    "routine.redefined-action-kind",
                    N_("{name} is a built-in action kind", name=repr(name)),
                    N_("use it as it is, or give your kind another name"),
                )
        for i, rule in enumerate(r.rules):
            self.action_kind(("rules", i, "action", "kind"), rule.action.kind)
        for name, pre in r.preconditions.items():
            self.action_kind(("preconditions", name, "remedy", "kind"), pre.remedy.kind)

    def _own_event_types(self) -> None:
        for name in self.r.event_types:
            if name in self.vocab:
                self.error(
                    ("event_types", name),
                    "routine.redefined-event-type",
                    N_("event type {name} is part of the shared vocabulary", name=repr(name)),
                    N_("use it as it is, or give your own type another name"),
                )

    def _roles(self) -> None:
        for name, role in self.r.roles.items():
            for i, ch in enumerate(role.channels):
                self.channel(("roles", name, "channels", i), ch)
            if role.reports_to is not None:
                self.role(("roles", name, "reports_to"), role.reports_to)

    def _planned_days(self, name: str, dates: Sequence[str]) -> None:
        """Each planned occurrence lies within the routine version's validity: a version
        judges only its own days, so a plan beyond them belongs to the next version."""
        r = self.r
        for i, text in enumerate(dates):
            day, _ = planned_occurrence(text)
            if day < r.valid_from or (r.valid_to is not None and day > r.valid_to):
                until = r.valid_to.isoformat() if r.valid_to is not None else "open-ended"
                self.error(
                    ("schedules", name, "dates", i),
                    "routine.planned-outside-validity",
                    N_(
                        "{text} lies outside this version's validity ({value} to {until})",
                        text=text,
                        value=r.valid_from.isoformat(),
                        until=until,
                    ),
                    N_(
                        "plan the occurrences of the days this version is in force; later "
                        "ones go in the version in force then"
                    ),
                )

    def _schedules(self) -> None:
        r = self.r
        for name, sched in r.schedules.items():
            self._planned_days(name, sched.dates)
            for i, unit in enumerate(sched.units):
                if unit not in r.units:
                    self.error(
                        ("schedules", name, "units", i),
                        "routine.unknown-unit",
                        N_("unknown unit {unit}", unit=repr(unit)),
                        did_you_mean(unit, r.units) or N_("declare it under 'units'"),
                    )
            for i, cancel in enumerate(sched.cancelled_by):
                cbase: Path_ = ("schedules", name, "cancelled_by", i)
                spec = self.event_type((*cbase, "event"), cancel.event)
                self.condition((*cbase, "if"), cancel.if_, spec, cancel.event, no_facts=True)
                field_name = cancel.date.partition(".")[2]
                self.data_field((*cbase, "date"), spec, cancel.event, field_name)
                declared = spec.fields.get(field_name) if spec is not None else None
                if declared is not None and declared.type != "date":
                    self.error(
                        (*cbase, "date"),
                        "routine.not-a-date",
                        N_(
                            "data.{field_name} of {event} is a {type} field; the occurrence "
                            "called off is named by a date",
                            field_name=field_name,
                            event=repr(cancel.event),
                            type=repr(declared.type),
                        ),
                        N_("name a field of type 'date' (the day of the occurrence)"),
                    )

    def _facts(self) -> None:
        for name, fact in self.r.facts.items():
            for i, upd in enumerate(fact.set_by):
                base: Path_ = ("facts", name, "set_by", i)
                spec = self.event_type((*base, "event"), upd.event)
                self.condition((*base, "if"), upd.if_, spec, upd.event)
                if upd.value_from:
                    self.data_field(
                        (*base, "value_from"), spec, upd.event, upd.value_from.partition(".")[2]
                    )

    def _preconditions(self) -> None:
        for name, pre in self.r.preconditions.items():
            base: Path_ = ("preconditions", name)
            self.condition((*base, "holds"), pre.holds, None, "", facts_only=True)
            if pre.remedy.responsible:
                self.role((*base, "remedy", "responsible"), pre.remedy.responsible)
            self.channel((*base, "remedy", "channel"), pre.remedy.channel)

    def _rules(self) -> None:
        seen: dict[str, int] = {}
        for i, rule in enumerate(self.r.rules):
            self._rule(("rules", i), rule, seen)
            seen.setdefault(rule.id, i)

    def _rule(self, base: Path_, rule: Rule, seen: dict[str, int]) -> None:
        r = self.r
        if rule.id in seen:
            self.error(
                (*base, "id"),
                "routine.duplicate-rule",
                N_(
                    "rule id {id} is already used by rules[{value}]",
                    id=repr(rule.id),
                    value=seen[rule.id],
                ),
                N_("give every rule its own id"),
            )
        trigger = self.trigger((*base, "when"), rule.when.event, rule.when.schedule)
        tname = rule.when.event_type
        self.condition((*base, "when", "if"), rule.when.if_, trigger, tname)
        self.condition((*base, "unless"), rule.unless, trigger, tname)
        for j, name in enumerate(rule.requires):
            if name not in r.preconditions:
                self.error(
                    (*base, "requires", j),
                    "routine.unknown-precondition",
                    N_("unknown precondition {name}", name=repr(name)),
                    did_you_mean(name, r.preconditions) or N_("declare it under 'preconditions'"),
                )
        self._rule_action(base, rule.action)
        self.anchor((*base, "deadline"), rule.deadline, trigger, tname)
        self.anchor((*base, "opens"), rule.opens, trigger, tname)
        self._rule_patterns(base, rule, trigger, tname)
        for j, esc in enumerate(rule.escalation):
            if esc.to is not None:
                self.role((*base, "escalation", j, "to"), esc.to)
            elif esc.levels_up is not None:
                self._levels_up(
                    (*base, "escalation", j, "levels_up"), rule.action.role, esc.levels_up
                )

    def _rule_action(self, base: Path_, action: Action) -> None:
        r = self.r
        party_fact = action.party_fact
        if party_fact is None:
            self.role((*base, "action", "responsible"), action.responsible)
        elif party_fact not in r.facts:
            self.error(
                (*base, "action", "responsible"),
                "routine.unknown-fact",
                N_("unknown fact {party_fact}", party_fact=repr(party_fact)),
                did_you_mean(party_fact, r.facts) or N_("declare it under 'facts'"),
            )
        if action.fallback is not None:
            self.role((*base, "action", "fallback"), action.fallback)
        if action.acting_as is not None:
            self.role((*base, "action", "acting_as"), action.acting_as)
        for j, who in enumerate(action.recipients):
            self.role((*base, "action", "recipients", j), who)
        if isinstance(action.levels_up, str):
            name = action.levels_up.partition(".")[2]
            if name not in r.facts:
                self.error(
                    (*base, "action", "levels_up"),
                    "routine.unknown-fact",
                    N_("unknown fact {name}", name=repr(name)),
                    did_you_mean(name, r.facts) or N_("declare it under 'facts'"),
                )
        elif action.levels_up:
            for who in (action.role, *action.recipients):
                self._levels_up((*base, "action", "levels_up"), who, action.levels_up)
        self.channel((*base, "action", "channel"), action.channel)

    def _rule_patterns(
        self, base: Path_, rule: Rule, trigger: EventType | None, tname: str
    ) -> None:
        listed: list[tuple[Path_, EventPattern]] = [
            ((*base, key, j), pattern)
            for key in ("fulfilled_by", "cancelled_by")
            for j, pattern in enumerate(getattr(rule, key))
        ]
        if rule.before is not None:
            listed.append(((*base, "before"), rule.before))
            if rule.before.any_case:
                self.error(
                    (*base, "before", "any_case"),
                    "routine.before-any-case",
                    N_("'before' reads the trigger's own case: 'any_case' does not apply to it"),
                    N_("remove 'any_case'; the event the obligation must precede is in its case"),
                )
        for pbase, pattern in listed:
            spec = self.event_type((*pbase, "event"), pattern.event)
            self.condition((*pbase, "if"), pattern.if_, spec, pattern.event)
            for mine, theirs in pattern.match.items():
                self._referred_match((*pbase, "match", mine), mine, spec, pattern.event)
                self._referred_match(
                    (*pbase, "match", mine), theirs.removeprefix("trigger."), trigger, tname
                )
                if mine.startswith("data."):
                    self.data_field(
                        (*pbase, "match", mine), spec, pattern.event, mine.partition(".")[2]
                    )
                if theirs.startswith("trigger.data."):
                    self.data_field(
                        (*pbase, "match", mine),
                        trigger,
                        tname,
                        theirs.removeprefix("trigger.data."),
                    )

    def _referred_match(
        self, where: Path_, path: str, event: EventType | None, event_name: str
    ) -> None:
        """A ``referred.`` path of a ``match`` must be readable from ``event_name``."""
        if path.startswith("referred."):
            found = referred_path_problem(path, event, event_name, self.types)
            if found is not None:
                self.error(where, found.code, found.message, found.hint)

    def _periods(self) -> None:
        rule_ids = [rule.id for rule in self.r.rules]
        for name, period in self.r.periods.items():
            base: Path_ = ("periods", name)
            start = period.starts
            if start.event is not None:
                spec = self.event_type((*base, "starts", "event"), start.event)
                self.condition((*base, "starts", "if"), start.if_, spec, start.event, no_facts=True)
            else:
                listed = isinstance(start.breach, list)
                for j, rule_id in enumerate(start.breach_rules):
                    if rule_id not in rule_ids:
                        self.error(
                            (*base, "starts", "breach", *((j,) if listed else ())),
                            "routine.unknown-rule",
                            N_("unknown rule {rule_id}", rule_id=repr(rule_id)),
                            did_you_mean(rule_id, rule_ids)
                            or N_("name the id of one of the rules"),
                        )
            for j, end in enumerate(period.ends):
                spec = self.event_type((*base, "ends", j, "event"), end.event)
                self.condition((*base, "ends", j, "if"), end.if_, spec, end.event, no_facts=True)

    def _queues(self) -> None:
        for name, queue in self.r.queues.items():
            for key in ("joins", "leaves", "offers"):
                for j, entry in enumerate(getattr(queue, key)):
                    qbase: Path_ = ("queues", name, key, j)
                    spec = self.event_type((*qbase, "event"), entry.event)
                    self.condition((*qbase, "if"), entry.if_, spec, entry.event, no_facts=True)

    def _review_date(self) -> None:
        r = self.r
        if self.today is not None and r.review_by is not None and r.review_by < self.today:
            self.warn(
                ("review_by",),
                "routine.review-passed",
                N_("the routine was due for review on {value}", value=r.review_by.isoformat()),
                N_("ask the routine's owner whether it still applies, then update review_by"),
            )

    def _hierarchy_cycles(self) -> None:
        for start in self.r.roles:
            seen = [start]
            current = self.r.roles[start].reports_to
            while current is not None and current in self.r.roles:
                if current in seen:
                    self.error(
                        ("roles", start, "reports_to"),
                        "routine.hierarchy-cycle",
                        N_(
                            "reports_to forms a cycle: {value}", value=" -> ".join([*seen, current])
                        ),
                    )
                    break
                seen.append(current)
                current = self.r.roles[current].reports_to

    def _levels_up(self, path: Path_, role: str, levels: int) -> None:
        current = role
        for _ in range(levels):
            spec = self.r.roles.get(current)
            if spec is None or spec.reports_to is None:
                self.error(
                    path,
                    "routine.no-role-above",
                    N_(
                        "{current} reports to no one, so {levels} level(s) up from {role} "
                        "does not exist",
                        current=repr(current),
                        levels=levels,
                        role=repr(role),
                    ),
                    N_("set 'reports_to' on the role"),
                )
                return
            current = spec.reports_to

    def _secrets(self, node: Any, path: Path_) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                self._secrets(value, (*path, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                self._secrets(value, (*path, i))
        elif isinstance(node, str) and (_SECRET.search(node) or _ROOM_CODE.search(node)):
            self.error(
                path,
                "routine.secret",
                N_("this looks like a password, PIN or access code"),
                N_(
                    "never store access codes in a routine; say where staff find them "
                    "(channels.<id>.where_to_find)"
                ),
            )

    def _document_record(self) -> None:
        record = self.r.document_record
        if record is None:
            return
        for key in ("established", "revised", "next_review"):
            text = getattr(record, key)
            if text is None or not _DATE_LIKE.match(text.strip()):
                continue
            try:
                date.fromisoformat(_zero_pad(text.strip()))
            except ValueError:
                self.warn(
                    ("document_record", key),
                    "routine.document-date",
                    N_(
                        "the source document's {value} {text} is no real date; it is kept as "
                        "written and never used in computations",
                        value=key.replace("_", " "),
                        text=repr(text),
                    ),
                )


def _zero_pad(text: str) -> str:
    y, m, d = text.split("-")
    return f"{y}-{int(m):02d}-{int(d):02d}"
