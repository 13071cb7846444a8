"""A routine as a document of blocks (headings, fields, tables, quotes), written once and
then rendered as text, Markdown or HTML.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from samverkan_rules.i18n import Translator
from samverkan_rules.language.models.base import EventType, Scalar
from samverkan_rules.language.models.conditions import Comparison, Condition
from samverkan_rules.language.models.rules import Action, EventPattern, Rule
from samverkan_rules.language.models.time import CompositeTime, TimeForm
from samverkan_rules.phrases import format_date, quoted
from samverkan_rules.phrases import interpretation as phrase_interpretation

if TYPE_CHECKING:
    from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.text.words import (
    FieldWords,
    _action_kind,
    _channel_kind,
    _reach_text,
    _record_labels,
    condition_text,
    field_description_words,
    offset_amount_text,
    offset_text,
    schedule_text,
    timespec_text,
    value_text,
)


@dataclass(frozen=True)
class _Heading:
    level: int
    text: str


@dataclass(frozen=True)
class _Field:
    label: str
    value: str
    note: bool = False
    """A local choice (interpretation): marked in both renderings."""


@dataclass(frozen=True)
class _Para:
    text: str


@dataclass(frozen=True)
class _Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class _List:
    items: tuple[str, ...]


@dataclass(frozen=True)
class _Quote:
    text: str
    cite: str


_Block = _Heading | _Field | _Para | _Table | _List | _Quote


class _RoutineWords(FieldWords):
    """Field words of one event type of a routine (the condition's or pattern's event)."""

    def __init__(self, builder: _Builder, event_type: str | None) -> None:
        self._b = builder
        self._type = builder.compiled.event_types.get(event_type) if event_type else None
        self._occurrence = bool(event_type and event_type.startswith("schedule."))

    def field(self, path: str) -> str:
        head, _, name = path.partition(".")
        if head == "data" and self._occurrence:
            t = self._b.t
            occurrence = {
                "date": t.gettext("the occurrence's day"),
                "time": t.gettext("the occurrence's time"),
                "occurrence": t.gettext("the occurrence"),
            }
            if name in occurrence:
                return occurrence[name]
        if head == "fact":
            fact = self._b.routine.facts.get(name)
            return quoted(fact.label, self._b.t) if fact is not None else f"`{path}`"
        if head == "data" and self._type is not None:
            spec = self._type.fields.get(name)
            words = field_description_words(spec.description) if spec is not None else None
            if words:
                return words
        if head == "at":
            t = self._b.t
            at = {
                "local_time": t.gettext("the event's local time"),
                "local_date": t.gettext("the event's local date"),
                "weekday": t.gettext("the event's weekday"),
                "working_day": t.gettext("whether the event's day is a working day"),
            }
            if name in at:
                return f"{at[name]} (`{path}`)"
        if head == "referred":
            return self._b.t.gettext("{field} of the event it refers to").format(field=f"`{name}`")
        if path == "case":
            return self._b.t.gettext("the case")
        if path == "type":
            return self._b.t.gettext("the event type")
        return f"`{path}`"

    def field_type(self, path: str) -> str | None:
        head, _, name = path.partition(".")
        if head == "referred" and name.startswith("data."):
            # The referred event's type is known only when it comes: a field's type when
            # every event type declaring it agrees.
            kinds = {
                spec.fields[name[5:]].type
                for spec in self._b.compiled.event_types.values()
                if name[5:] in spec.fields
            }
            return kinds.pop() if len(kinds) == 1 else None
        if head != "data" or self._type is None:
            return None
        spec = self._type.fields.get(name)
        return spec.type if spec is not None else None

    def value(self, path: str, value: Scalar | Sequence[Scalar], t: Translator) -> str:
        kind = self.field_type(path)
        roles = self._b.routine.roles
        if kind in ("role", "roles"):
            items = value if isinstance(value, (list, tuple)) else [value]
            if all(isinstance(v, str) and v in roles for v in items):
                return ", ".join(self._b.role(str(v)) for v in items)
        return value_text(value, t)


class _Builder:
    def __init__(self, compiled: CompiledRoutine, t: Translator) -> None:
        self.compiled = compiled
        self.routine = compiled.routine
        self.t = t
        self.blocks: list[_Block] = []

    # ---- helpers

    def words(self, event_type: str | None) -> _RoutineWords:
        return _RoutineWords(self, event_type)

    def action_kind(self, kind: str) -> str:
        own = self.routine.action_kinds.get(kind)
        return own.label if own is not None else _action_kind(kind, self.t)

    def role(self, role_id: str) -> str:
        role = self.routine.roles.get(role_id)
        return f"{role.label} (`{role_id}`)" if role is not None else f"`{role_id}`"

    def channel(self, channel_id: str) -> str:
        channel = self.routine.channels.get(channel_id)
        return f"{channel.label} (`{channel_id}`)" if channel is not None else f"`{channel_id}`"

    def event(self, event_type: str) -> str:
        if event_type.startswith("schedule."):
            schedule = self.routine.schedules.get(event_type.removeprefix("schedule."))
            if schedule is not None:
                return self.t.gettext("occurrence of {schedule} ({id})").format(
                    schedule=quoted(schedule.label, self.t), id=f"`{event_type}`"
                )
        known = self.compiled.event_types.get(event_type)
        return f"{known.label} (`{event_type}`)" if known is not None else f"`{event_type}`"

    def condition(self, condition: Condition, event_type: str | None) -> str:
        return condition_text(condition, self.t, self.words(event_type))

    def timespec(self, spec: TimeForm, event_type: str) -> str:
        if isinstance(spec, CompositeTime):
            parts = "; ".join(self.timespec(part, event_type) for part in spec.parts)
            if spec.later:
                return self.t.gettext("the later of: {parts}").format(parts=parts)
            return self.t.gettext("the earlier of: {parts}").format(parts=parts)
        return timespec_text(spec, self.routine.schedules, t=self.t, words=self.words(event_type))

    def pattern(self, pattern: EventPattern, trigger_type: str) -> str:
        t = self.t
        text = self.event(pattern.event)
        if pattern.if_ is not None:
            text += t.gettext(" where {condition}").format(
                condition=self.condition(pattern.if_, pattern.event)
            )
        if pattern.match:
            own = self.words(pattern.event)
            trigger = self.words(trigger_type)
            pairs = []
            for key, ref in pattern.match.items():
                pairs.append(
                    t.gettext("{field} is {value}").format(
                        field=own.field(key), value=self.trigger_ref(ref, trigger)
                    )
                )
            text += t.gettext("; tied to the triggering event: {pairs}").format(
                pairs=", ".join(pairs)
            )
        if pattern.any_case:
            text += t.gettext("; from any case")
        return text

    def trigger_ref(self, ref: str, trigger: _RoutineWords) -> str:
        t = self.t
        if ref == "trigger.id":
            return t.gettext("the triggering event's id")
        if ref == "trigger.case":
            return t.gettext("the triggering event's case")
        if ref == "trigger.referred.id":
            return t.gettext("the id of the event the triggering event refers to")
        return t.gettext("the triggering event's {field}").format(
            field=trigger.field(ref.removeprefix("trigger."))
        )

    def escalation(self, rule: Rule, index: int) -> str:
        t = self.t
        esc = rule.escalation[index]
        reached = self.compiled.rule(rule.id).escalations[index].role
        if esc.to is not None:
            target = self.role(reached)
        else:
            levels = esc.levels_up or 1
            target = t.ngettext(
                "{role}, {n} level up the line", "{role}, {n} levels up the line", levels
            ).format(role=self.role(reached), n=levels)
        text = t.gettext("{after}: to {target} – {description}").format(
            after=offset_text(esc.after, t), target=target, description=esc.description
        )
        if esc.on == "blocked":
            text = t.gettext("While still blocked, {text}").format(text=text)
        if esc.within is not None:
            text += t.gettext(" (to be done within {within})").format(
                within=offset_amount_text(esc.within, t)
            )
        return text

    def interpretation_field(self, text: str | None, reason: str) -> _Field:
        value = phrase_interpretation(self.t, reason=reason, text=text)
        return _Field(
            self.t.gettext("Interpretation (a local choice, not the routine's words)"),
            value,
            note=True,
        )

    def no_interpretation(self) -> _Field:
        return _Field(
            self.t.gettext("Interpretation"),
            self.t.gettext("None – the rule follows the routine's words."),
        )

    def add(self, *blocks: _Block) -> None:
        self.blocks.extend(blocks)

    # ---- sections

    def build(self) -> list[_Block]:
        self.metadata()
        self.roles()
        self.channels()
        self.units_and_schedules()
        self.facts()
        self.event_types()
        self.preconditions()
        self.rules()
        self.periods()
        self.queues()
        self.omissions()
        return self.blocks

    def omissions(self) -> None:
        """The document's sentences no rule encodes, each quoted with its reason."""
        r, t = self.routine, self.t
        if not r.omissions:
            return
        self.add(_Heading(2, t.gettext("Not encoded")))
        for o in r.omissions:
            self.add(_Quote(o.quote, o.section or r.source.title))
            self.add(_Field(t.gettext("Why"), o.reason))

    def periods(self) -> None:
        r, t = self.routine, self.t
        if not r.periods:
            return
        self.add(_Heading(2, t.gettext("Periods")))
        for name, period in r.periods.items():
            self.add(_Heading(3, f"{period.label} (`{name}`)"))
            start = period.starts
            if len(start.breach_rules) == 1:
                begins = t.gettext(
                    "when an action of rule {rule} is not done in time, from its deadline"
                )
                begins = begins.format(rule=f"`{start.breach_rules[0]}`")
            elif start.breach_rules:
                begins = t.gettext(
                    "when an action of one of the rules {rules} is not done in time, "
                    "from its deadline"
                ).format(rules=", ".join(f"`{r}`" for r in start.breach_rules))
            else:
                begins = self.event(start.event or "")
                if start.if_ is not None:
                    begins += t.gettext(" where {condition}").format(
                        condition=self.condition(start.if_, start.event)
                    )
            self.add(_Field(t.gettext("Starts"), begins))
            ends = "; ".join(
                self.event(e.event)
                + (
                    t.gettext(" where {condition}").format(condition=self.condition(e.if_, e.event))
                    if e.if_ is not None
                    else ""
                )
                for e in period.ends
            )
            self.add(_Field(t.gettext("Ends"), ends))
            if period.amount_per_day is not None:
                self.add(_Field(t.gettext("Amount per day"), value_text(period.amount_per_day, t)))
            self.add(
                _Field(
                    t.gettext("Source"),
                    f"{quoted(period.source.quote, t)} ({period.source.section})",
                )
            )
            if period.interpretation is not None:
                self.add(
                    self.interpretation_field(
                        period.interpretation.text, period.interpretation.reason
                    )
                )

    def metadata(self) -> None:
        r, t = self.routine, self.t
        self.add(_Heading(1, r.title))
        self.add(
            _Field(t.gettext("Routine id"), f"`{r.id}`"), _Field(t.gettext("Version"), r.version)
        )
        self.add(_Field(t.gettext("Organisation"), r.organisation))
        if r.valid_to:
            validity = t.gettext("from {first} up to and including {last}").format(
                first=format_date(r.valid_from, t), last=format_date(r.valid_to, t)
            )
        else:
            validity = t.gettext("from {first} (until further notice)").format(
                first=format_date(r.valid_from, t)
            )
        self.add(_Field(t.gettext("Validity"), validity))
        if r.supersedes is not None:
            self.add(
                _Field(
                    t.gettext("Supersedes"),
                    t.gettext("{id} version {version}").format(
                        id=f"`{r.supersedes.id}`", version=r.supersedes.version
                    ),
                )
            )
        self.add(
            _Field(t.gettext("Review by"), format_date(r.review_by, t) if r.review_by else "–")
        )
        self.add(_Field(t.gettext("Owner"), r.owner or "–"))
        self.add(_Field(t.gettext("Legal basis"), ", ".join(r.legal_basis) or "–"))
        source = t.gettext("{title} (file: {file})").format(
            title=r.source.title, file=r.source.file
        )
        if r.source.url:
            source += f", {r.source.url}"
        self.add(_Field(t.gettext("Source document"), source))
        cal = r.calendar
        calendar = t.gettext("time zone {zone}, Swedish working days").format(zone=cal.time_zone)
        if cal.closed_days:
            calendar += t.gettext(", closed {days}").format(
                days=", ".join(format_date(d, t) for d in cal.closed_days)
            )
        self.add(_Field(t.gettext("Calendar"), calendar))

        self.add(_Heading(2, t.gettext("The document's own record")))
        record = r.document_record
        labels = _record_labels(t)
        values = (
            [(label, getattr(record, key)) for key, label in labels.items()]
            if record is not None
            else []
        )
        written = [(label, value) for label, value in values if value is not None]
        if written:
            self.add(_Para(t.gettext("As the document has them (not interpreted):")))
            self.add(*(_Field(label, value) for label, value in written))
        else:
            self.add(
                _Para(t.gettext("The document gives no record of when it was made or reviewed."))
            )

        self.add(_Heading(2, t.gettext("Interpretations of the routine as a whole")))
        if r.interpretations:
            for key, interp in r.interpretations.items():
                self.add(_Para(f"`{key}`:"), self.interpretation_field(interp.text, interp.reason))
        else:
            self.add(_Para(t.gettext("None – the routine's details follow the document's words.")))
        self.params()

    def params(self) -> None:
        r, t = self.routine, self.t
        if r.extends:
            self.add(_Field(t.gettext("Variant of"), f"`{r.extends}`"))
        if not r.params:
            return
        self.add(_Heading(2, t.gettext("Parameters")))
        rows = []
        for name, param in r.params.items():
            interp = param.interpretation
            rows.append(
                (
                    f"`param.{name}`",
                    value_text(
                        param.default.isoformat()
                        if isinstance(param.default, dt.date)
                        else param.default,
                        t,
                    ),
                    param.label or "–",
                    (
                        f"{quoted(interp.text, t)} – {interp.reason}"
                        if interp.text
                        else interp.reason
                    )
                    if interp
                    else "–",
                )
            )
        headers = (
            t.gettext("Parameter"),
            t.gettext("Value"),
            t.gettext("Meaning"),
            t.gettext("Interpretation"),
        )
        self.add(_Table(headers, tuple(rows)))

    def roles(self) -> None:
        t = self.t
        self.add(_Heading(2, t.gettext("Roles")))
        rows = []
        for role_id, role in self.routine.roles.items():
            reach = "; ".join(_reach_text(x, t) for x in role.reachable) or "–"
            boss = self.role(role.reports_to) if role.reports_to else "–"
            rows.append((f"`{role_id}`", role.label, role.unit, reach, boss))
        headers = (
            t.gettext("Id"),
            t.gettext("Label"),
            t.gettext("Unit"),
            t.gettext("Reachable"),
            t.gettext("Reports to"),
        )
        self.add(_Table(headers, tuple(rows)))

    def channels(self) -> None:
        t = self.t
        self.add(_Heading(2, t.gettext("Channels")))
        if not self.routine.channels:
            self.add(_Para(t.gettext("No channels given.")))
            return
        rows = tuple(
            (
                f"`{cid}`",
                c.label,
                _channel_kind(c.kind, t),
                c.system or "–",
                c.where_to_find or "–",
            )
            for cid, c in self.routine.channels.items()
        )
        headers = (
            t.gettext("Id"),
            t.gettext("Label"),
            t.gettext("Kind"),
            t.gettext("System"),
            t.gettext("Where the details are"),
        )
        self.add(_Table(headers, rows))

    def units_and_schedules(self) -> None:
        r, t = self.routine, self.t
        if r.units:
            self.add(_Heading(2, t.gettext("Units")))
            units = tuple((f"`{uid}`", u.label, u.description or "–") for uid, u in r.units.items())
            self.add(_Table((t.gettext("Id"), t.gettext("Label"), t.gettext("Description")), units))
        if r.schedules:
            self.add(_Heading(2, t.gettext("Schedules")))
            rows = tuple(
                (
                    f"`{sid}`",
                    s.label,
                    schedule_text(s, t),
                    ", ".join(r.units[u].label if u in r.units else u for u in s.units),
                )
                for sid, s in r.schedules.items()
            )
            headers = (t.gettext("Id"), t.gettext("Label"), t.gettext("When"), t.gettext("Units"))
            self.add(_Table(headers, rows))
            for sid, sched in r.schedules.items():
                for cancel in sched.cancelled_by:
                    what = self.event(cancel.event)
                    if cancel.if_ is not None:
                        what += t.gettext(" where {condition}").format(
                            condition=self.condition(cancel.if_, cancel.event)
                        )
                    day = self.words(cancel.event).field(cancel.date)
                    self.add(
                        _Para(
                            t.gettext(
                                "An occurrence of `{schedule}` is called off by {event} (in "
                                "any case, before the occurrence; {day} names its day). A "
                                "deadline at the next occurrence then takes the next one held."
                            ).format(schedule=sid, event=what, day=day)
                        )
                    )

    def facts(self) -> None:
        r, t = self.routine, self.t
        if not r.facts:
            return
        self.add(_Heading(2, t.gettext("Facts")))
        self.add(_Para(t.gettext("What events make true of a case, and conditions read.")))
        rows = []
        for name, fact in r.facts.items():
            setters = []
            for update in fact.set_by:
                if update.add is not None:
                    change = t.gettext("adds {n}").format(n=update.add)
                elif update.value_from is not None:
                    change = t.gettext("takes the value of {field}").format(
                        field=quoted(self.words(update.event).field(update.value_from), t)
                    )
                else:
                    change = t.gettext("sets {value}").format(value=value_text(update.value, t))
                text = f"{self.event(update.event)}: {change}"
                if _given(update.if_, update.value_from):
                    # "takes X where X is given" says the field twice: once is enough.
                    text += t.gettext(", when it is given")
                elif update.if_ is not None:
                    text += t.gettext(" where {condition}").format(
                        condition=self.condition(update.if_, update.event)
                    )
                setters.append(text)
            rows.append((f"`{name}`", fact.label, value_text(fact.default, t), "; ".join(setters)))
        headers: tuple[str, ...] = (
            t.gettext("Id"),
            t.gettext("Label"),
            t.gettext("At first"),
            t.gettext("Set by"),
        )
        self.add(_Table(headers, tuple(rows)))

    def used_event_types(self) -> list[str]:
        """Every event type the routine declares or reads, sorted by id."""
        r = self.routine
        used = set(r.event_types)
        for rule in r.rules:
            if rule.when.event is not None:
                used.add(rule.when.event)
            used.update(p.event for p in rule.patterns)
        for fact in r.facts.values():
            used.update(u.event for u in fact.set_by)
        for queue in r.queues.values():
            used.update(j.event for j in queue.joins)
            used.update(x.event for x in (*queue.leaves, *queue.offers))
        return sorted(used)

    def event_types(self) -> None:
        t = self.t
        self.add(_Heading(2, t.gettext("Event types")))
        self.add(_Para(t.gettext("The events the routine reads, with the fields of their data.")))
        rows = []
        for name in self.used_event_types():
            spec: EventType | None = self.compiled.event_types.get(name)
            if spec is None:
                rows.append((f"`{name}`", "–", "–"))
                continue
            fields = []
            for fname, fspec in spec.fields.items():
                text = f"`{fname}`"
                if fspec.required:
                    text += " " + t.gettext("(required)")
                if fspec.description:
                    text += f": {fspec.description}"
                if fspec.values:
                    text += " " + t.gettext("(one of {values})").format(
                        values=", ".join(fspec.values)
                    )
                fields.append(text)
            rows.append((f"`{name}`", spec.label, "; ".join(fields) or "–"))
        headers = (t.gettext("Id"), t.gettext("Label"), t.gettext("Fields"))
        self.add(_Table(headers, tuple(rows)))

    def preconditions(self) -> None:
        t = self.t
        if not self.routine.preconditions:
            return
        self.add(_Heading(2, t.gettext("Preconditions")))
        for pid, pre in self.routine.preconditions.items():
            self.add(_Heading(3, f"{pre.label} (`{pid}`)"))
            self.add(_Field(t.gettext("Holds when"), self.condition(pre.holds, None)))
            remedy = f"{pre.remedy.description} ({self.action_kind(pre.remedy.kind)})"
            if pre.remedy.responsible:
                remedy += t.gettext("; responsible: {role}").format(
                    role=self.role(pre.remedy.responsible)
                )
            if pre.remedy.channel:
                remedy += t.gettext("; channel: {channel}").format(
                    channel=self.channel(pre.remedy.channel)
                )
            self.add(_Field(t.gettext("Otherwise"), remedy))
            if pre.source is not None:
                self.add(_Quote(pre.source.quote, pre.source.section))

    def rules(self) -> None:
        self.add(_Heading(2, self.t.gettext("Rules")))
        for index, rule in enumerate(self.routine.rules):
            self.rule(rule, index)

    def _params_under(self, prefix: tuple[str | int, ...]) -> str:
        """' (param.a, param.b)' for the parameters used under ``prefix``, else ''."""
        names = sorted(
            {
                name
                for path, name in self.compiled.param_uses.items()
                if path[: len(prefix)] == prefix
            }
        )
        return f" ({', '.join(f'`param.{n}`' for n in names)})" if names else ""

    def rule(self, rule: Rule, index: int = 0) -> None:
        t = self.t
        a = rule.action
        trigger = rule.when.event_type
        self.add(_Heading(3, f"{rule.title} (`{rule.id}`)"))
        written_in = self.compiled.rule_files.get(rule.id)
        if written_in is not None:
            self.add(_Field(t.gettext("Written in"), f"`{Path(written_in).name}`"))
        when = self.event(trigger)
        if rule.when.if_ is not None:
            when += t.gettext(", if {condition}").format(
                condition=self.condition(rule.when.if_, trigger)
            )
        self.add(_Field(t.gettext("When"), when))
        unless = self.condition(rule.unless, trigger) if rule.unless else "–"
        self.add(_Field(t.gettext("Unless"), unless))
        if rule.requires:
            names = []
            for pid in rule.requires:
                pre = self.routine.preconditions.get(pid)
                names.append(f"{pre.label} (`{pid}`)" if pre else f"`{pid}`")
            self.add(_Field(t.gettext("Requires"), "; ".join(names)))
        else:
            self.add(_Field(t.gettext("Requires"), "–"))
        kind = self.action_kind(a.kind)
        # "Ring 112 (ring 112)": the kind in brackets only when it adds something.
        what = (
            a.description
            if kind.casefold() in a.description.casefold()
            else f"{a.description} ({kind})"
        )
        self.add(_Field(t.gettext("What"), what))
        self.rule_parties(a, trigger)
        self.add(
            _Field(
                t.gettext("By"),
                self.timespec(rule.deadline, trigger)
                + self._params_under(("rules", index, "deadline")),
            )
        )
        if rule.opens is not None:
            self.add(_Field(t.gettext("Opens"), self.timespec(rule.opens, trigger)))
        if rule.before is not None:
            self.add(_Field(t.gettext("Done before"), self.pattern(rule.before, trigger)))
        self.add(
            _Field(t.gettext("Fulfilled by"), ""),
            _List(tuple(self.pattern(p, trigger) for p in rule.fulfilled_by)),
        )
        if rule.cancelled_by:
            self.add(
                _Field(t.gettext("Cancelled by"), ""),
                _List(tuple(self.pattern(p, trigger) for p in rule.cancelled_by)),
            )
        if rule.escalation:
            self.add(
                _Field(t.gettext("Escalation"), ""),
                _List(tuple(self.escalation(rule, i) for i in range(len(rule.escalation)))),
            )
        self.rule_source(rule, trigger)

    def rule_parties(self, a: Action, trigger: str) -> None:
        """Who acts, up the line, to whom, through which channel, where it is recorded and
        what it holds."""
        t = self.t
        if a.party_fact is not None:
            fact = self.routine.facts.get(a.party_fact)
            named = f"{quoted(fact.label, t)} (`{a.responsible}`)" if fact else f"`{a.responsible}`"
            text = t.gettext("{party}, acting as {role}; while unset: {fallback}").format(
                party=named, role=self.role(a.party_role), fallback=self.role(a.role)
            )
            self.add(_Field(t.gettext("Responsible"), text))
        else:
            self.add(_Field(t.gettext("Responsible"), self.role(a.responsible)))
        if a.levels_up is not None:
            levels = (
                self.words(trigger).field(a.levels_up)
                if isinstance(a.levels_up, str)
                else str(a.levels_up)
            )
            self.add(_Field(t.gettext("Levels up the line"), levels))
        self.add(
            _Field(t.gettext("Recipients"), "; ".join(self.role(x) for x in a.recipients) or "–")
        )
        self.add(_Field(t.gettext("Channel"), self.channel(a.channel) if a.channel else "–"))
        if a.record:
            self.add(_Field(t.gettext("Recorded in"), a.record))
        if a.content:
            self.add(_Field(t.gettext("Content"), ""), _List(tuple(a.content)))

    def rule_source(self, rule: Rule, trigger: str) -> None:
        """The rule's quote, its interpretation and those of its cancellations."""
        self.add(
            _Field(self.t.gettext("Source"), ""), _Quote(rule.source.quote, rule.source.section)
        )
        if rule.interpretation is not None:
            i = rule.interpretation
            self.add(self.interpretation_field(i.text, i.reason))
        else:
            self.add(self.no_interpretation())
        for p in (*rule.cancelled_by, *((rule.before,) if rule.before is not None else ())):
            if p.interpretation is not None:
                reason = f"{self.pattern(p, trigger)}: {p.interpretation.reason}"
                self.add(self.interpretation_field(p.interpretation.text, reason))

    def queues(self) -> None:
        t = self.t
        if not self.routine.queues:
            return
        self.add(_Heading(2, t.gettext("Queues")))
        for qid, q in self.routine.queues.items():
            self.add(_Heading(3, f"{q.label} (`{qid}`)"))
            joins = []
            for j in q.joins:
                text = t.gettext("priority {priority}: {label} – {event}").format(
                    priority=j.priority, label=j.label, event=self.event(j.event)
                )
                if j.if_ is not None:
                    text += t.gettext(" where {condition}").format(
                        condition=self.condition(j.if_, j.event)
                    )
                joins.append(text)
            self.add(_Field(t.gettext("Joined by"), ""), _List(tuple(joins)))
            if q.leaves:
                self.add(
                    _Field(t.gettext("Left on"), ""),
                    _List(tuple(self.event(x.event) for x in q.leaves)),
                )
            self.add(
                _Field(t.gettext("Offer"), ""),
                _List(tuple(self.event(x.event) for x in q.offers)),
            )
            self.add(_Field(t.gettext("Source"), ""), _Quote(q.source.quote, q.source.section))
            if q.interpretation is not None:
                i = q.interpretation
                self.add(self.interpretation_field(i.text, i.reason))
            else:
                self.add(self.no_interpretation())


def _given(condition: Condition | None, field: str | None) -> bool:
    """Whether ``condition`` asks only that ``field`` is given (a fact taking its value)."""
    return (
        isinstance(condition, Comparison)
        and field is not None
        and condition.field == field
        and condition.operators() == ["exists"]
        and condition.exists is True
    )
