"""Why not: why a rule raised nothing for a case, and what an open obligation waits for.

An auditor's first questions are often "why is there no obligation for this case?" and "why
does this still count as open when we sent the message?". :func:`explain_rule` replays the
case exactly as the evaluator does, watching every decision about the rule's triggers, and
answers both:

* for a rule that raised nothing: no trigger event of its type; the trigger's condition was
  false (naming each failing comparison and the values it saw); its ``unless`` held; the
  event fell outside every version's validity; its deadline could not be placed; a
  scheduled occurrence fell before the routine or the events began;
* for each obligation it raised: its status, and for one still open, what would fulfil it
  (each pattern in words) and every near miss in the log: an event of the right type that
  did not answer it, and which part failed (another case, the correlation and the values,
  the condition, or too early).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from samverkan_rules.compile.conditions import CaseFacts, compile_condition, referred_event
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.compile.rules import CompiledRule
from samverkan_rules.diagnostics import did_you_mean, mask_personal_numbers
from samverkan_rules.engine.evaluator import Evaluator, Ruleset
from samverkan_rules.engine.ledger import RuleEntry
from samverkan_rules.engine.replay import TICK_PREFIX
from samverkan_rules.errors import EvaluationError
from samverkan_rules.events.model import Event
from samverkan_rules.events.retraction import reason_of, retractions
from samverkan_rules.i18n import Translator, translator
from samverkan_rules.language.models.conditions import AllOf, AnyOf, Comparison, Condition, NotOf
from samverkan_rules.phrases import format_instant
from samverkan_rules.status import ACTION_STATUSES, status_label

_MISSING = object()


@dataclass(frozen=True)
class NearMiss:
    """An event of an answering type that did not answer an open obligation, and why."""

    event: str
    type: str
    at: str
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "event": self.event,
            "type": self.type,
            "at": self.at,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class WaitingObligation:
    """An obligation the rule raised, with what would fulfil it when it is still open."""

    obligation: str
    status: str
    would_fulfil: tuple[str, ...] = ()
    near_misses: tuple[NearMiss, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "obligation": self.obligation,
            "status": self.status,
            "would_fulfil": list(self.would_fulfil),
            "near_misses": [m.to_json() for m in self.near_misses],
        }


@dataclass(frozen=True)
class RuleExplanation:
    """What one rule did for one case at ``as_of``: why nothing arose, or what is open."""

    case: str
    rule: str
    as_of: str
    why_not: tuple[str, ...] = ()
    obligations: tuple[WaitingObligation, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """JSON form (``samverkan explain --case C --rule R --format json``)."""
        return {
            "case": self.case,
            "rule": self.rule,
            "as_of": self.as_of,
            "why_not": list(self.why_not),
            "obligations": [o.to_json() for o in self.obligations],
        }

    def lines(self, t: Translator | None = None) -> list[str]:
        """The explanation as text for a person."""
        t = t or translator()
        out = [
            t.gettext("Rule {rule} for case {case} at {as_of}").format(
                rule=self.rule, case=self.case, as_of=self.as_of
            )
        ]
        if not self.obligations:
            out.append("  " + t.gettext("No action arose:"))
            out.extend(f"    - {reason}" for reason in self.why_not)
        for o in self.obligations:
            out.append(
                "  "
                + t.gettext("Action {obligation}: {status}").format(
                    obligation=o.obligation, status=status_label(o.status, t)
                )
            )
            if o.would_fulfil:
                out.append("    " + t.gettext("Would be fulfilled by:"))
                out.extend(f"      - {text}" for text in o.would_fulfil)
            if o.near_misses:
                out.append("    " + t.gettext("Near misses in the log:"))
                for miss in o.near_misses:
                    out.append(
                        f"      - {miss.type} {miss.event} {miss.at}: " + "; ".join(miss.reasons)
                    )
            elif o.status in ACTION_STATUSES:
                out.append("    " + t.gettext("No event in the log comes close."))
        return out


# --------------------------------------------------------------------------- conditions


def _value(path: str, event: Event, facts: Mapping[str, Any]) -> Any:
    if path == "id":
        return event.id
    if path == "case":
        return event.case
    if path == "type":
        return event.type
    scope, _, name = path.partition(".")
    if scope == "referred":
        target = referred_event(event, facts)
        return _MISSING if target is None else _value(name, target, facts)
    source: Mapping[str, Any] = event.data if scope == "data" else facts
    return source.get(name, _MISSING)


def _shown(value: Any) -> str:
    return "(missing)" if value is _MISSING else repr(value)


def judged_as_compiled(routine: CompiledRoutine, event_type: str | None) -> dict[str, Any]:
    """What a condition on ``event_type`` is compiled with in ``routine`` (its fields, the
    roles' units, the time zone), so a condition is explained as the evaluator judged it."""
    spec = routine.event_types.get(event_type) if event_type is not None else None
    return {
        "fields": spec.fields if spec is not None else None,
        "units": {name: role.unit for name, role in routine.routine.roles.items()},
        "tz": routine.tz,
        "calendar": routine.calendar,
    }


def failing_parts(
    condition: Condition | None,
    event: Event,
    facts: Mapping[str, Any],
    t: Translator,
    **compiled_with: Any,
) -> list[str]:
    """Each comparison of ``condition`` that is false for ``event``, with the value seen;
    ``compiled_with`` is what the evaluator compiled it with (:func:`judged_as_compiled`)."""
    if condition is None or compile_condition(condition, **compiled_with)(event, facts):
        return []
    if isinstance(condition, AllOf):
        return [
            p for c in condition.all for p in failing_parts(c, event, facts, t, **compiled_with)
        ]
    if isinstance(condition, AnyOf):
        parts = [
            p for c in condition.any for p in failing_parts(c, event, facts, t, **compiled_with)
        ]
        return [t.gettext("none of: {parts}").format(parts="; ".join(parts))]
    if isinstance(condition, NotOf):
        return [
            t.gettext("it must not hold that {condition}").format(condition=_words(condition.not_))
        ]
    assert isinstance(condition, Comparison)
    return [
        t.gettext("{field} is {value}, the rule asks for {expected}").format(
            field=condition.field,
            value=_shown(_value(condition.field, event, facts)),
            expected=_words(condition),
        )
    ]


def _words(condition: Condition) -> str:
    if isinstance(condition, Comparison):
        op = condition.operators()[0]
        operand = getattr(condition, "in_" if op == "in" else op)
        return f"{condition.field} {op} {operand!r}"
    if isinstance(condition, AllOf):
        return " and ".join(f"({_words(c)})" for c in condition.all)
    if isinstance(condition, AnyOf):
        return " or ".join(f"({_words(c)})" for c in condition.any)
    assert isinstance(condition, NotOf)
    return f"not ({_words(condition.not_)})"


def _as_field(path: str) -> str:
    if path.startswith("trigger.referred."):
        return "referred." + _as_field("trigger." + path.removeprefix("trigger.referred."))
    if path == "trigger.id":
        return "id"
    if path in ("case", "trigger.case"):
        return "case"
    return "data." + path.rsplit(".", 1)[1]


# --------------------------------------------------------------------------- the replay


def explain_rule(
    ruleset: Ruleset,
    events: Iterable[Event],
    as_of: datetime,
    *,
    case: str,
    rule: str,
    t: Translator | None = None,
) -> RuleExplanation:
    """Why rule ``rule`` raised nothing for ``case`` at ``as_of``, or what its open
    obligations wait for (see the module's description).

    Raises:
        EvaluationError: when no routine version has the rule.
    """
    t = t or translator()
    run = Evaluator(ruleset, as_of)
    versions = [(r, r.rule(rule)) for r in run.routines if any(x.id == rule for x in r.rules)]
    if not versions:
        known = sorted({x.id for r in run.routines for x in r.rules})
        hint = did_you_mean(rule, known) or "samverkan render lists the rules"
        raise EvaluationError(f"no rule {rule!r} in the routine; {hint}")
    by_case = run.admit_all(events)
    decisions: list[tuple[str, Event, CompiledRoutine, Mapping[str, Any]]] = []

    def observe(
        what: str,
        event: Event,
        routine: CompiledRoutine,
        compiled: CompiledRule | None,
        facts: Mapping[str, Any],
    ) -> None:
        if compiled is None or compiled.id == rule:
            decisions.append((what, event, routine, facts))

    ledger = run.evaluate_case(case, by_case.get(case, []), observer=observe)
    tz = run.tz
    as_of_text = format_instant(run.as_of, tz, t)
    mine = [e for e in ledger.obligations if isinstance(e, RuleEntry) and e.rule.id == rule]
    if not mine:
        return RuleExplanation(
            case,
            rule,
            as_of_text,
            why_not=(
                *_retracted(by_case.get(case, []), t),
                *_why_not(versions, decisions, by_case.get(case, []), t),
            ),
        )
    stream = sorted(by_case.get(case, []), key=lambda e: e.order_key)
    explained = []
    for entry in mine:
        if entry.status not in ACTION_STATUSES:
            explained.append(WaitingObligation(entry.id, entry.status))
            continue
        explained.append(
            WaitingObligation(
                entry.id,
                entry.status,
                would_fulfil=tuple(_would_fulfil(entry, stream)),
                near_misses=tuple(_near_misses(entry, stream, t)),
            )
        )
    return RuleExplanation(case, rule, as_of_text, obligations=tuple(explained))


def _retracted(events: Sequence[Event], t: Translator) -> list[str]:
    """A note for each event of the case that a retraction made count for nothing."""
    notes = []
    for ident, retraction in sorted(retractions(events).items()):
        reason = reason_of(retraction)
        if reason is None:
            notes.append(
                t.gettext("the event {event} is retracted (by {retraction})").format(
                    event=ident, retraction=retraction.id
                )
            )
        else:
            notes.append(
                t.gettext("the event {event} is retracted (reason: {reason})").format(
                    event=ident, reason=mask_personal_numbers(reason)
                )
            )
    return notes


def _why_not(
    versions: Sequence[tuple[CompiledRoutine, CompiledRule]],
    decisions: Sequence[tuple[str, Event, CompiledRoutine, Mapping[str, Any]]],
    stream: Sequence[Event],
    t: Translator,
) -> list[str]:
    routine, compiled = versions[0]
    when = compiled.rule.when
    if when.schedule is not None and not any(what == "early" for what, *_ in decisions):
        return [
            t.gettext(
                "the rule follows the schedule {schedule}: its obligations belong to the "
                "units' cases ({units}), not to this case"
            ).format(
                schedule=when.schedule, units=", ".join(routine.schedules[when.schedule].units)
            )
        ]
    out: list[str] = []
    triggers = [e for e in stream if e.type == when.event_type]
    if not triggers and not decisions:
        return [
            t.gettext("no trigger: the case has no event of type {type}").format(
                type=routine.event_type_label(when.event_type)
            )
        ]
    for what, event, version, facts in decisions:
        at = format_instant(event.at, version.tz, t)
        head = f"{version.event_type_label(event.type)} ({event.id}), {at}"
        rule_model = (
            version.rule(compiled.id).rule
            if any(x.id == compiled.id for x in version.rules)
            else compiled.rule
        )
        if what == "outside":
            out.append(
                t.gettext("{event}: no version of the routine was in force on its date").format(
                    event=head
                )
            )
        elif what == "condition":
            context = judged_as_compiled(version, rule_model.when.event_type)
            parts = failing_parts(rule_model.when.if_, event, facts, t, **context)
            out.append(
                t.gettext("{event}: the trigger's condition is false: {parts}").format(
                    event=head, parts="; ".join(parts)
                )
            )
        elif what == "unless":
            out.append(
                t.gettext("{event}: its 'unless' holds: {condition}").format(
                    event=head, condition=_words(rule_model.unless) if rule_model.unless else ""
                )
            )
        elif what == "calendar":
            out.append(
                t.gettext("{event}: its deadline cannot be placed in the calendar").format(
                    event=head
                )
            )
        elif what == "early":
            out.append(
                t.gettext(
                    "{event}: the occurrence falls due before the routine or the events begin"
                ).format(event=head)
            )
    if not out:
        out.append(
            t.gettext("no trigger: the case has no event of type {type}").format(
                type=routine.event_type_label(when.event_type)
            )
        )
    return out


def _would_fulfil(entry: RuleEntry, stream: Sequence[Event]) -> list[str]:
    trigger = entry.trigger
    before = {e.id: e for e in stream if e.case == trigger.case and e.order_key < trigger.order_key}
    facts = CaseFacts(entry.routine.fact_defaults, before, entry.routine.reference_fields)
    out = []
    for pattern, model in zip(entry.rule.fulfilled_by, entry.rule.rule.fulfilled_by, strict=True):
        parts = [pattern.event_type]
        for candidate, trigger_path in sorted(model.match.items()):
            parts.append(f"{candidate} = {_shown(_value(_as_field(trigger_path), trigger, facts))}")
        if model.if_ is not None:
            parts.append(_words(model.if_))
        if not model.any_case:
            parts.append(f"case = {entry.trigger.case!r}")
        out.append(", ".join(parts))
    return out


def _near_misses(entry: RuleEntry, stream: Sequence[Event], t: Translator) -> list[NearMiss]:
    trigger = entry.trigger
    seen: dict[str, Event] = {}  # the case's events so far, as the evaluator saw them
    facts = CaseFacts(entry.routine.fact_defaults, seen, entry.routine.reference_fields)
    out = []
    types = {p.event_type for p in entry.rule.fulfilled_by}
    for event in stream:
        if event.case == trigger.case:
            seen.setdefault(event.id, event)
        if event.type not in types or event is trigger or event.order_key < trigger.order_key:
            continue
        if event.type.startswith(TICK_PREFIX):
            continue
        reasons: list[str] = []
        for pattern, model in zip(
            entry.rule.fulfilled_by, entry.rule.rule.fulfilled_by, strict=True
        ):
            if pattern.event_type != event.type:
                continue
            why: list[str] = []
            if event.case != trigger.case and not model.any_case:
                why.append(t.gettext("it belongs to another case"))
            for candidate, trigger_path in sorted(model.match.items()):
                got = _value(candidate, event, facts)
                want = _value(_as_field(trigger_path), trigger, facts)
                if (
                    got is _MISSING
                    or want is _MISSING
                    or got != want
                    or type(got) is not type(want)
                ):
                    why.append(
                        t.gettext("{field} is {value}, it must be {expected}").format(
                            field=candidate, value=_shown(got), expected=_shown(want)
                        )
                    )
            context = judged_as_compiled(entry.routine, model.event)
            why.extend(failing_parts(model.if_, event, facts, t, **context))
            if entry.opens is not None and event.at < entry.opens:
                why.append(
                    t.gettext("it came before the action opened ({opens})").format(
                        opens=format_instant(entry.opens, entry.routine.tz, t)
                    )
                )
            if not why:
                why.append(t.gettext("it matches; the action was already settled"))
            reasons.extend(why)
        out.append(
            NearMiss(
                event.id,
                event.type,
                format_instant(event.at, entry.routine.tz, t),
                tuple(dict.fromkeys(reasons)),
            )
        )
    return out
