"""Warnings about a valid routine that still cannot work as its author meant.

The loader refuses what is wrong (an unknown role, a literal a field cannot hold); this
module warns about what is legal but suspicious, so that ``samverkan validate`` shows it:

* declarations nothing uses: roles, channels, facts, event types (the routine's own),
  preconditions, schedules and units (``routine.unused-*``);
* fulfilment and cancellation patterns that can never match: an ``all`` that asks one
  field for two different values, or a ``match`` that ties fields of different types
  (``routine.pattern-never-matches``);
* rules that nothing can fulfil or cancel, because every pattern is such a pattern
  (``routine.unfulfillable-rule``);
* a cancellation by a later event of the trigger's own type with no ``match``, which
  cancels every earlier obligation of the rule whatever occasion the later event is about
  (a second planned start ending the duties before the first); an ``interpretation`` on the
  pattern saying why silences it (``routine.uncorrelated-cancel``);
* a literal of a free-text field (a message's ``kind``, a record's name) written once and
  nearly like another literal of the same field, which is how a misspelt kind looks: no
  event type declares the kinds, so nothing else can catch it (``routine.similar-literal``);
* text that staff read (titles, labels, descriptions, content lines, the reasons of
  interpretations and omissions; never a quote, which is the source's words) with a token
  that reads as code: an event type (``message.sent``), a field (``refers_to``,
  ``data.start_date``), a rule id (``start-message``) or backticks
  (``routine.code-in-prose``).

It also lists a routine's interpretations (``samverkan validate --interpretations``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from samverkan_rules.diagnostics import N_, Diagnostic, Message
from samverkan_rules.language.models.base import EventType, Interpretation
from samverkan_rules.language.models.conditions import AllOf, AnyOf, Comparison, Condition, NotOf
from samverkan_rules.language.models.routine import Routine
from samverkan_rules.language.models.rules import EventPattern
from samverkan_rules.language.models.schedules import schedule_event_type
from samverkan_rules.language.models.time import time_leaves
from samverkan_rules.language.referred import types_referred
from samverkan_rules.language.yaml import YamlDocument
from samverkan_rules.language.yaml_core import PathPart, format_path

Path_ = tuple[PathPart, ...]


def _comparisons(cond: Condition | None) -> Iterator[Comparison]:
    if cond is None:
        return
    if isinstance(cond, AllOf):
        for c in cond.all:
            yield from _comparisons(c)
    elif isinstance(cond, AnyOf):
        for c in cond.any:
            yield from _comparisons(c)
    elif isinstance(cond, NotOf):
        yield from _comparisons(cond.not_)
    else:
        yield cond


def _conditions(r: Routine) -> Iterator[Condition | None]:
    for fact in r.facts.values():
        for upd in fact.set_by:
            yield upd.if_
    for pre in r.preconditions.values():
        yield pre.holds
    for rule in r.rules:
        yield rule.when.if_
        yield rule.unless
        for p in rule.patterns:
            yield p.if_
    for queue in r.queues.values():
        for join in queue.joins:
            yield join.if_
        for entry in (*queue.leaves, *queue.offers):
            yield entry.if_
    for schedule in r.schedules.values():
        for cancel in schedule.cancelled_by:
            yield cancel.if_
    for period in r.periods.values():
        yield period.starts.if_
        for end in period.ends:
            yield end.if_


def _roles_and_channels_named(r: Routine, literals: set[str]) -> tuple[set[str], set[str]]:
    """The roles and channels something names: a literal, a role, a remedy or a rule."""
    roles: set[str] = set(literals)
    channels: set[str] = set()
    for role in r.roles.values():
        channels.update(role.channels)
        if role.reports_to:  # escalation and levels_up reach it
            roles.add(role.reports_to)
    for pre in r.preconditions.values():
        if pre.remedy.responsible:
            roles.add(pre.remedy.responsible)
        if pre.remedy.channel:
            channels.add(pre.remedy.channel)
    for rule in r.rules:
        roles.update({rule.action.role, rule.action.party_role})
        roles.update(rule.action.recipients)
        roles.update(e.to for e in rule.escalation if e.to)
        if rule.action.channel:
            channels.add(rule.action.channel)
    return roles, channels


def _facts_read(r: Routine) -> set[str]:
    """The facts a condition, a ``levels_up`` or a responsible party reads."""
    read: set[str] = set()
    for cond in _conditions(r):
        read.update(
            c.field.partition(".")[2] for c in _comparisons(cond) if c.field.startswith("fact.")
        )
    for rule in r.rules:
        if isinstance(rule.action.levels_up, str):
            read.add(rule.action.levels_up.partition(".")[2])
        if rule.action.party_fact is not None:  # responsible: fact.<name>
            read.add(rule.action.party_fact)
    return read


def _event_types_read(r: Routine) -> set[str]:
    """The event types a fact, rule, queue, schedule or period reads."""
    used_types: set[str] = set()
    for fact in r.facts.values():
        used_types.update(u.event for u in fact.set_by)
    for rule in r.rules:
        used_types.add(rule.when.event_type)
        used_types.update(p.event for p in rule.patterns)
    for queue in r.queues.values():
        used_types.update(j.event for j in queue.joins)
        used_types.update(e.event for e in (*queue.leaves, *queue.offers))
    for schedule in r.schedules.values():
        used_types.update(c.event for c in schedule.cancelled_by)
    for period in r.periods.values():
        if period.starts.event is not None:
            used_types.add(period.starts.event)
        used_types.update(e.event for e in period.ends)
    return used_types


class _Linter:
    def __init__(self, r: Routine, doc: YamlDocument, types: Mapping[str, EventType]) -> None:
        self.r = r
        self.doc = doc
        self.types = {**types, **r.event_types}
        for name, spec in r.schedules.items():
            self.types[f"schedule.{name}"] = schedule_event_type(spec)
        self.out: list[Diagnostic] = []

    def warn(self, path: Path_, code: str, message: Message, hint: Message | None = None) -> None:
        self.out.append(self.doc.diagnostic(path, code, message, hint=hint, level="warning"))

    # declarations nothing uses ------------------------------------------------

    def _literals(self) -> set[str]:
        found: set[str] = set()
        for cond in _conditions(self.r):
            for c in _comparisons(cond):
                for op in c.operators():
                    value = c.in_ if op == "in" else getattr(c, op)
                    values = value if isinstance(value, list) else [value]
                    found.update(v for v in values if isinstance(v, str))
        return found

    def unused(self) -> None:
        # The order of the steps is the order of the warnings in the report.
        literals = self._literals()
        self._unused_roles_and_channels(literals)
        self._unused_facts()
        self._unused_event_types()
        self._unused_preconditions()
        self._unused_schedules()
        self._unused_units(literals)

    def _unused_roles_and_channels(self, literals: set[str]) -> None:
        r = self.r
        roles, channels = _roles_and_channels_named(r, literals)
        for name in r.roles:
            if name not in roles:
                self.warn(
                    ("roles", name),
                    "routine.unused-role",
                    N_(
                        "role {name} is declared but no rule, remedy or escalation names it",
                        name=repr(name),
                    ),
                    N_("remove it, or name it where it acts"),
                )
        for name in r.channels:
            if name not in channels:
                self.warn(
                    ("channels", name),
                    "routine.unused-channel",
                    N_(
                        "channel {name} is declared but no role, rule or remedy uses it",
                        name=repr(name),
                    ),
                    N_("remove it, or name it as a role's or an action's channel"),
                )

    def _unused_facts(self) -> None:
        read = _facts_read(self.r)
        for name in self.r.facts:
            if name not in read:
                self.warn(
                    ("facts", name),
                    "routine.unused-fact",
                    N_("fact {name} is set but no condition reads it", name=repr(name)),
                    N_("remove it, or read it with 'field: fact.<name>'"),
                )

    def _unused_event_types(self) -> None:
        used_types = _event_types_read(self.r)
        # Read as the event another refers to: by its type, or by a field it declares.
        paths = [c.field for cond in _conditions(self.r) for c in _comparisons(cond)]
        used_types |= self._literals() | types_referred(paths, self.r.event_types)
        for name in self.r.event_types:
            if name not in used_types:
                self.warn(
                    ("event_types", name),
                    "routine.unused-event-type",
                    N_(
                        "event type {name} is declared but no rule, fact, queue, period or "
                        "schedule reads it",
                        name=repr(name),
                    ),
                    N_("remove it, or use it in a trigger, a pattern or a fact"),
                )

    def _unused_preconditions(self) -> None:
        required = {name for rule in self.r.rules for name in rule.requires}
        for name in self.r.preconditions:
            if name not in required:
                self.warn(
                    ("preconditions", name),
                    "routine.unused-precondition",
                    N_("precondition {name} is declared but no rule requires it", name=repr(name)),
                    N_("remove it, or list it under a rule's 'requires'"),
                )

    def _unused_schedules(self) -> None:
        r = self.r
        ticking = {rule.when.schedule for rule in r.rules if rule.when.schedule}
        anchored = {
            spec.anchor.partition(".")[2]
            for rule in r.rules
            for spec in (*time_leaves(rule.deadline), *time_leaves(rule.opens))
            if spec.anchor.startswith("schedule.")
        }
        for name in r.schedules:
            if name not in ticking | anchored:
                self.warn(
                    ("schedules", name),
                    "routine.unused-schedule",
                    N_(
                        "schedule {name} is declared but no rule is triggered or timed by it",
                        name=repr(name),
                    ),
                    N_("remove it, or use it in 'when: {{schedule: ...}}' or a time anchor"),
                )

    def _unused_units(self, literals: set[str]) -> None:
        scheduled = {u for s in self.r.schedules.values() for u in s.units}
        for name in self.r.units:
            if name not in scheduled and name not in literals:
                self.warn(
                    ("units", name),
                    "routine.unused-unit",
                    N_("unit {name} is declared but no schedule runs for it", name=repr(name)),
                    N_("remove it, or list it under a schedule's 'units'"),
                )

    # patterns that can never match ----------------------------------------------

    def never(self, pattern: EventPattern, trigger_type: str) -> str | None:
        """Why ``pattern`` can never match an event, or None."""
        why = _contradiction(pattern.if_)
        if why is not None:
            return why
        mine = self.types.get(pattern.event)
        theirs = self.types.get(trigger_type)
        for key, ref in sorted(pattern.match.items()):
            a = _field_type(mine, key)
            b = _field_type(theirs, ref.removeprefix("trigger."))
            if a is not None and b is not None and a != b:
                return (
                    f"match ties {key} ({a}) to {ref} ({b}); values of different types are "
                    "never equal"
                )
        return None

    def patterns(self) -> None:
        for i, rule in enumerate(self.r.rules):
            alive = 0
            for key in ("fulfilled_by", "cancelled_by"):
                for j, pattern in enumerate(getattr(rule, key)):
                    why = self.never(pattern, rule.when.event_type)
                    if why is None:
                        alive += 1
                        continue
                    self.warn(
                        ("rules", i, key, j),
                        "routine.pattern-never-matches",
                        N_(
                            "rule {id}: this pattern can never match: {why}",
                            id=repr(rule.id),
                            why=why,
                        ),
                        N_("correct the condition or the match"),
                    )
            before = rule.before
            why = self.never(before, rule.when.event_type) if before is not None else None
            if why is not None:
                self.warn(
                    ("rules", i, "before"),
                    "routine.pattern-never-matches",
                    N_(
                        "rule {id}: this pattern can never match, so it never cuts the "
                        "deadline: {why}",
                        id=repr(rule.id),
                        why=why,
                    ),
                    N_("correct the condition or the match"),
                )
            if alive == 0:
                self.warn(
                    ("rules", i, "fulfilled_by"),
                    "routine.unfulfillable-rule",
                    N_(
                        "rule {id}: nothing can fulfil or cancel its obligations, so each "
                        "one turns overdue",
                        id=repr(rule.id),
                    ),
                    N_("give it a fulfilled_by pattern that an event can match"),
                )

    def uncorrelated_cancels(self) -> None:
        """Warn about a cancel by the trigger's own event type that no ``match`` ties to it."""
        for i, rule in enumerate(self.r.rules):
            for j, pattern in enumerate(rule.cancelled_by):
                if (
                    pattern.event != rule.when.event
                    or pattern.match
                    or pattern.interpretation is not None
                ):
                    continue
                self.warn(
                    ("rules", i, "cancelled_by", j),
                    "routine.uncorrelated-cancel",
                    N_(
                        "rule {id}: any later {event} cancels every earlier obligation of "
                        "this rule, also one about another occasion or date",
                        id=repr(rule.id),
                        event=pattern.event,
                    ),
                    N_(
                        "tie it to the trigger with 'match' (e.g. {{data.refers_to: "
                        "trigger.id}} or the same date), or give the pattern an "
                        "'interpretation' saying why any later event replaces the earlier one"
                    ),
                )

    # literals that look misspelt ----------------------------------------------------

    def similar_literals(self) -> None:
        """Warn about a text literal used once and nearly equal to another of its field."""
        seen: dict[tuple[str, str], list[tuple[str, Path_]]] = {}
        for event_type, path, cond in self._typed_conditions():
            for c, cpath in _located(cond, path):
                spec = self.types.get(event_type)
                name = c.field.partition(".")[2]
                field = spec.fields.get(name) if spec and c.field.startswith("data.") else None
                if field is None or field.type != "string":
                    continue
                op = c.operators()[0]
                if op in ("in", "not_in"):
                    items = [
                        ((*cpath, op, i), v)
                        for i, v in enumerate(getattr(c, "in_" if op == "in" else op) or [])
                    ]
                elif op in ("equals", "not_equals", "contains"):
                    items = [((*cpath, op), getattr(c, op))]
                else:
                    continue
                for where, value in items:
                    if isinstance(value, str):
                        seen.setdefault((event_type, c.field), []).append((value, where))
        for (event_type, fname), uses in seen.items():
            counts: dict[str, int] = {}
            for value, _ in uses:
                counts[value] = counts.get(value, 0) + 1
            for value, where in uses:
                if counts[value] != 1:
                    continue
                others = [v for v in counts if v != value and counts[v] > 1]
                close = difflib.get_close_matches(value, others, n=1, cutoff=0.8)
                if close:
                    self.warn(
                        where,
                        "routine.similar-literal",
                        N_(
                            "{event_type} {fname} {value} is used only here, and {similar} "
                            "{count} times; a value no event carries never matches",
                            event_type=event_type,
                            fname=fname,
                            value=repr(value),
                            similar=repr(close[0]),
                            count=counts[close[0]],
                        ),
                        N_("did you mean {name}?", name=repr(close[0])),
                    )

    # code in text for people ---------------------------------------------------------

    def code_in_prose(self) -> None:
        """Warn about text staff read that holds an identifier-like token."""
        known = self._known_labels()
        for path, text in _prose(self.doc.data, ()):
            tokens = code_tokens(text, known)
            if not tokens:
                continue
            labelled = [f"{t} → {known[t]}" for t in tokens if known.get(t)]
            self.warn(
                path,
                "routine.code-in-prose",
                N_(
                    "staff read this text, but it holds code: {tokens}",
                    tokens=", ".join(repr(t) for t in tokens),
                ),
                N_(
                    "say it in words, e.g. with the names the routine gives: {labels}",
                    labels="; ".join(labelled),
                )
                if labelled
                else N_("say in words what it means, as staff name it"),
            )

    def _known_labels(self) -> dict[str, str]:
        """The routine's ids that read as code, each with the words to use instead."""
        r = self.r
        known: dict[str, str] = {name: spec.label or "" for name, spec in self.types.items()}
        known.update({name: role.label for name, role in r.roles.items()})
        known.update({name: channel.label for name, channel in r.channels.items()})
        known.update({name: fact.label for name, fact in r.facts.items()})
        known.update({rule.id: rule.title for rule in r.rules})
        return {k: v for k, v in known.items() if _CODE_SHAPE.search(k)}

    def _typed_conditions(self) -> Iterator[tuple[str, Path_, Condition | None]]:
        r = self.r
        for name, fact in r.facts.items():
            for i, upd in enumerate(fact.set_by):
                yield upd.event, ("facts", name, "set_by", i, "if"), upd.if_
        for i, rule in enumerate(r.rules):
            yield rule.when.event_type, ("rules", i, "when", "if"), rule.when.if_
            yield rule.when.event_type, ("rules", i, "unless"), rule.unless
            for key in ("fulfilled_by", "cancelled_by"):
                for j, p in enumerate(getattr(rule, key)):
                    yield p.event, ("rules", i, key, j, "if"), p.if_
            if rule.before is not None:
                yield rule.before.event, ("rules", i, "before", "if"), rule.before.if_
        for name, schedule in r.schedules.items():
            for j, cancel in enumerate(schedule.cancelled_by):
                yield cancel.event, ("schedules", name, "cancelled_by", j, "if"), cancel.if_
        for name, period in r.periods.items():
            if period.starts.event is not None:
                yield period.starts.event, ("periods", name, "starts", "if"), period.starts.if_
            for j, end in enumerate(period.ends):
                yield end.event, ("periods", name, "ends", j, "if"), end.if_


_KIND = {
    "string": "text",
    "enum": "text",
    "role": "text",
    "roles": "text",
    "event": "text",
    "time": "text",
    "date": "date",
    "datetime": "date",
    "boolean": "boolean",
    "integer": "number",
    "number": "number",
    "object": "object",
    "list": "list",
}


def _located(cond: Condition | None, path: Path_) -> Iterator[tuple[Comparison, Path_]]:
    if cond is None:
        return
    if isinstance(cond, AllOf):
        for i, c in enumerate(cond.all):
            yield from _located(c, (*path, "all", i))
    elif isinstance(cond, AnyOf):
        for i, c in enumerate(cond.any):
            yield from _located(c, (*path, "any", i))
    elif isinstance(cond, NotOf):
        yield from _located(cond.not_, (*path, "not"))
    else:
        yield cond, path


def _field_type(spec: EventType | None, path: str) -> str | None:
    """The kind of value at ``path`` (``id``, ``case`` or ``data.<name>``), when known."""
    if path in ("id", "case"):
        return "text"
    if spec is None or not path.startswith("data."):
        return None
    field = spec.fields.get(path.partition(".")[2])
    return _KIND.get(field.type) if field is not None else None


def _contradiction(cond: Condition | None) -> str | None:
    """Why an ``all`` can never hold (two values asked of one field), or None."""
    if not isinstance(cond, AllOf):
        return None
    wanted: dict[str, set[Any]] = {}
    absent: set[str] = set()
    for c in cond.all:
        if not isinstance(c, Comparison):
            continue
        op = c.operators()[0]
        if op == "equals" and c.equals is not None:
            allowed = {_key(c.equals)}
        elif op == "in":
            allowed = {_key(v) for v in c.in_ or ()}
        elif op == "exists" and c.exists is False:
            absent.add(c.field)
            continue
        else:
            continue
        before = wanted.get(c.field)
        wanted[c.field] = allowed if before is None else before & allowed
        if not wanted[c.field]:
            return f"{c.field} cannot have two different values at once"
    both = absent & set(wanted)
    if both:
        return f"{sorted(both)[0]} cannot be both absent and have a value"
    return None


def _key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


_PROSE_KEYS: Final = frozenset(
    {"title", "label", "description", "reason", "where_to_find", "otherwise"}
)
"""Keys whose text staff read (in ``render``, ``due``, ``explain`` and the audit)."""

_SOURCE_KEYS: Final = frozenset({"source", "quote", "text", "id", "section"})
"""Keys whose text is the source's words or an id: never checked."""

_CODE_SHAPE: Final = re.compile(r"[._-]")
"""An id with one of these reads as code in prose; a plain word (``dagverksamhet``) does not."""
_TOKEN: Final = re.compile(r"`[^`]+`|[\w.-]+")
_FIELD_PREFIX: Final = re.compile(r"^(?:data|fact|trigger|schedule|params?|case)\.\w")
_DOTTED: Final = re.compile(r"^[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*)+$")
_SNAKE: Final = re.compile(r"^[a-zåäö0-9]+(?:_[a-zåäö0-9]+)+$")
_WEB: Final = re.compile(r"^www\.|\.(?:se|nu|com|org|net|eu|pdf|docx?|xlsx?|txt)$")
"""A web address or a file name: prose, though dotted."""


def _prose(data: Any, path: Path_) -> Iterator[tuple[Path_, str]]:
    """The texts staff read in a routine's YAML data, with their paths (quotes skipped)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in _SOURCE_KEYS:
                continue
            where = (*path, key)
            if isinstance(value, str) and key in _PROSE_KEYS:
                yield where, value
            elif key == "content" and isinstance(value, list):
                yield from (((*where, i), v) for i, v in enumerate(value) if isinstance(v, str))
            else:
                yield from _prose(value, where)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _prose(value, (*path, i))


def code_tokens(text: str, known: Mapping[str, str] | None = None) -> list[str]:
    """The tokens of ``text`` that read as code, in order, each once.

    A token reads as code when it is in backticks, names a field (``data.x``, ``fact.y``,
    ``trigger``'s data), is dotted like an event type or role id (``message.sent``; an
    abbreviation such as ``t.ex.`` has one-letter parts and is prose), is snake_case
    (``refers_to``), or is one of ``known`` (the routine's ids, e.g. a rule id
    ``start-message``). A web address or a file name is prose.

    Examples:
        >>> code_tokens("registreras som message.sent med refers_to, t.ex. i data.x")
        ['message.sent', 'refers_to', 'data.x']
        >>> code_tokens("se regeln start-message", {"start-message": "Meddelande"})
        ['start-message']
        >>> code_tokens("fr.o.m. 2014-03-03, t.ex. på www.orebro.se i rutin.pdf, kl. 13.30")
        []
    """
    known = known or {}
    found: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group().strip(".-")
        if match.group().startswith("`"):
            token = match.group()
        elif (
            not token
            or _WEB.search(token)
            or not (
                token in known
                or _FIELD_PREFIX.match(token)
                or _SNAKE.match(token)
                or (_DOTTED.match(token) and all(len(p) > 1 for p in token.split(".")))
            )
        ):
            continue
        if token not in found:
            found.append(token)
    return found


def lint_routine(
    routine: Routine, doc: YamlDocument, vocabulary: Mapping[str, EventType]
) -> list[Diagnostic]:
    """Warnings about declarations nothing uses and patterns that can never match.

    Args:
        routine: A routine that passed the loader's checks.
        doc: Its YAML document, for positions.
        vocabulary: The shared event types it uses.
    """
    linter = _Linter(routine, doc, vocabulary)
    linter.unused()
    linter.patterns()
    linter.uncorrelated_cancels()
    linter.similar_literals()
    linter.code_in_prose()
    return linter.out


@dataclass(frozen=True)
class InterpretationEntry:
    """One interpretation of a routine: where it is, what it concerns and why.

    Attributes:
        path: Where in the routine, e.g. ``("rules", 3, "interpretation")``.
        owner: What it belongs to, e.g. ``rule 'start-message'``.
        text: The open words of the source, when given.
        reason: Why this reading was chosen.
    """

    path: Path_
    owner: str
    text: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The JSON form of ``samverkan validate --interpretations --format json``."""

        return {
            "path": format_path(self.path),
            "owner": self.owner,
            "text": self.text,
            "reason": self.reason,
        }


def interpretations(routine: Routine) -> list[InterpretationEntry]:
    """Every interpretation of a routine, in document order."""
    out: list[InterpretationEntry] = []

    def add(path: Path_, owner: str, value: Interpretation | None) -> None:
        if value is not None:
            out.append(InterpretationEntry(path, owner, value.text, value.reason))

    for key, value in routine.interpretations.items():
        add(("interpretations", key), f"routine: {key}", value)
    for i, rule in enumerate(routine.rules):
        add(("rules", i, "interpretation"), f"rule {rule.id!r}", rule.interpretation)
        for j, pattern in enumerate(rule.cancelled_by):
            add(
                ("rules", i, "cancelled_by", j, "interpretation"),
                f"rule {rule.id!r}, cancelled_by {pattern.event}",
                pattern.interpretation,
            )
        if rule.before is not None:
            add(
                ("rules", i, "before", "interpretation"),
                f"rule {rule.id!r}, before {rule.before.event}",
                rule.before.interpretation,
            )
    for name, queue in routine.queues.items():
        add(("queues", name, "interpretation"), f"queue {name!r}", queue.interpretation)
    return out
