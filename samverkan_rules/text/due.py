"""What a member of staff reads about an evaluation: actions, ledgers and explanations.

``samverkan due --format text`` and ``samverkan explain`` print what these functions return.
Every fixed word comes from the gettext catalogs through a :class:`~samverkan_rules.i18n.
Translator`, so the same code writes Swedish (the default) or English. What the routine
says (titles, descriptions, role and channel labels, quotes) is printed as the routine
wrote it.

Each action shows its obligation id, so ``samverkan explain`` can be asked about it, and its
"what to do" line says only what to do: who and by when have lines of their own.

Examples:
    >>> from datetime import datetime
    >>> from samverkan_rules.i18n import translator
    >>> sv, en = translator("sv"), translator("en")
    >>> format_moment(datetime.fromisoformat("2026-12-22T13:30:00+01:00"), sv)
    'tisdag 22 december 2026 kl. 13.30'
    >>> working_days(4, sv), working_days(1, sv), working_days(4, en)
    ('4 vardagar', '1 vardag', '4 working days')
    >>> status_label("overdue", sv), status_label("fulfilled_late", en)
    ('försenad', 'done late')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from samverkan_rules.compile.routine import obligation_text
from samverkan_rules.i18n import Translator, translator
from samverkan_rules.phrases import format_day, format_moment, quoted
from samverkan_rules.phrases import interpretation as phrase_interpretation
from samverkan_rules.records import RuleText

if TYPE_CHECKING:
    from samverkan_rules.compile.routine import CompiledRoutine
    from samverkan_rules.engine.result import Evaluation
    from samverkan_rules.records import Anchor, CaseResult, Obligation
from samverkan_rules.status import Status, status_label

_SUMMARY_ORDER: tuple[Status, ...] = (
    "overdue",
    "due",
    "blocked",
    "upcoming",
    "fulfilled_late",
    "fulfilled",
)


_INDENT = "    "


def _status_count(status: str, n: int, t: Translator) -> str:
    """``3 försenade``: a count of obligations with one status."""
    forms = {
        "upcoming": t.npgettext("status", "{n} upcoming", "{n} upcoming", n),
        "due": t.npgettext("status", "{n} to do", "{n} to do", n),
        "overdue": t.npgettext("status", "{n} overdue", "{n} overdue", n),
        "blocked": t.npgettext("status", "{n} waiting", "{n} waiting", n),
        "fulfilled": t.npgettext("status", "{n} done on time", "{n} done on time", n),
        "fulfilled_late": t.npgettext("status", "{n} done late", "{n} done late", n),
        "cancelled": t.npgettext("status", "{n} cancelled", "{n} cancelled", n),
    }
    return forms.get(status, "{n} " + status).format(n=n)


def _anchor_text(anchor: Anchor, routine: CompiledRoutine | None, t: Translator) -> str:
    """``planerat startdatum, måndag 28 december 2026``: what a deadline counts from, and when."""
    if len(anchor.at) == 10:
        when = format_day(date.fromisoformat(anchor.at), t)
    else:
        when = format_moment(_local(anchor.at, routine), t)
    return f"{anchor.label}, {when}"


def working_days(n: int, t: Translator) -> str:
    """``1 vardag``, ``4 vardagar``: a number of working days."""
    return t.ngettext("{n} working day", "{n} working days", n).format(n=n)


def _local(text: str | None, routine: CompiledRoutine | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment.astimezone(routine.tz) if routine is not None else moment


def _what(o: Obligation, routine: CompiledRoutine | None) -> str:
    """What to do, in the routine's words: the action, remedy or escalation description."""
    if routine is None:
        return o.rule
    if o.escalates is not None:
        index = o.obligation.rpartition(":escalation-")[2]
        for rule in routine.rules:
            if rule.id == o.rule:
                for esc in rule.escalations:
                    if str(esc.index) == index:
                        return esc.description
        return _text(o, routine, translator()).title
    for rule in routine.rules:
        if rule.id == o.rule:
            return rule.rule.action.description
    pre = routine.preconditions.get(o.rule)
    return pre.remedy_description if pre is not None else o.rule


def _text(o: Obligation, routine: CompiledRoutine | None, t: Translator) -> RuleText:
    """The rule's text for ``o``, from its routine version (the rule's id alone without it)."""
    found = (
        obligation_text(routine.texts, o.rule, escalation=o.escalates is not None, t=t)
        if routine is not None
        else None
    )
    if found is None:
        return RuleText(title=o.rule, source=None, interpretation=None, content=[])
    return RuleText.from_json(found)


def _role(routine: CompiledRoutine | None, role: str) -> str:
    return routine.role_label(role) if routine is not None else role


def _event_type(routine: CompiledRoutine | None, event_type: str) -> str:
    return routine.event_type_label(event_type) if routine is not None else event_type


def _unblocked(obligations: Sequence[str], routine: CompiledRoutine | None) -> str:
    """The obligations a remedy unblocks, each named as staff read it."""
    if routine is None:
        return "; ".join(obligations)
    return "; ".join(routine.obligation_name(o) for o in obligations)


def _precondition(routine: CompiledRoutine | None, name: str) -> str:
    pre = routine.preconditions.get(name) if routine is not None else None
    return pre.label if pre is not None else name


def action_rows(
    o: Obligation,
    t: Translator,
    routine: CompiledRoutine | None = None,
    *,
    as_of: datetime | None = None,
) -> list[tuple[str, str]]:
    """The labelled lines that say what an obligation asks, of whom, how and by when.

    Args:
        o: The obligation (an action or any ledger entry).
        t: The reader's language.
        routine: The routine version the obligation belongs to, for the labels of its
            roles, channel and event types and its time zone (ids are shown without it).
        as_of: The moment the status holds at; a blocked obligation whose deadline passed
            before it says so.
    """
    rows = _what_rows(o, t, routine, as_of)
    rows.append(
        (
            t.gettext("Routine"),
            t.gettext("{routine} version {version}, rule {rule}").format(
                routine=o.routine.id, version=o.routine.version, rule=o.rule
            ),
        )
    )
    rows.append(_interpretation_row(_text(o, routine, t), t, with_text=False))
    return rows


def _interpretation_row(text: RuleText, t: Translator, *, with_text: bool) -> tuple[str, str]:
    label = t.gettext("Interpretation")
    interp = text.interpretation
    if interp is None:
        return label, t.gettext("no, as the routine says")
    if with_text:
        return label, phrase_interpretation(t, reason=interp.reason, text=interp.text)
    return label, t.gettext("a local choice: {reason}").format(reason=interp.reason)


def _what_rows(
    o: Obligation, t: Translator, routine: CompiledRoutine | None, as_of: datetime | None
) -> list[tuple[str, str]]:
    rows = [(t.gettext("Do"), _what(o, routine))]
    who = o.responsible_label or _role(routine, o.responsible)
    party = o.responsible_party
    if party is not None and party.value is not None:
        who = f"{party.value} ({who})"
    elif party is not None:
        who = t.gettext("{role} (until a person is named: {fact})").format(
            role=who, fact=party.fact
        )
    rows.append((t.gettext("Responsible"), who))
    if o.recipients:
        rows.append((t.gettext("Recipients"), ", ".join(_role(routine, r) for r in o.recipients)))
    channel = routine.channel_label(o.channel) if routine is not None else o.channel
    if channel:
        rows.append((t.gettext("Channel"), channel))
    content = _text(o, routine, t).content
    if content:
        rows.append((t.gettext("Content"), "; ".join(content)))
    if o.status == "upcoming" and o.opens_at:
        rows.append((t.gettext("From"), format_moment(_local(o.opens_at, routine), t)))
    if o.deadline is not None:
        rows.append((t.gettext("By"), format_moment(_local(o.deadline, routine), t)))
        if o.anchor is not None:
            rows.append((t.gettext("Counts from"), _anchor_text(o.anchor, routine, t)))
        if o.before is not None:
            rows.append(
                (
                    t.gettext("Had to precede"),
                    t.gettext("{event_type} ({event}), recorded {at}").format(
                        event_type=_event_type(routine, o.before.type),
                        event=o.before.event,
                        at=format_moment(_local(o.before.at, routine), t),
                    ),
                )
            )
    elif o.opens_at:
        rows.append((t.gettext("Since"), format_moment(_local(o.opens_at, routine), t)))
    if o.status == "overdue" and o.late_working_days is not None:
        unit, n = _lateness(o, routine)
        if unit == "hours":
            late = t.ngettext("{n} hour past the deadline", "{n} hours past the deadline", n)
        elif unit == "days":
            late = t.ngettext("{n} day past the deadline", "{n} days past the deadline", n)
        else:
            late = t.ngettext(
                "{n} working day past the deadline", "{n} working days past the deadline", n
            )
        rows.append((t.gettext("Overdue"), late.format(n=n)))
    if o.blocked_by:
        waiting = ", ".join(_precondition(routine, p) for p in o.blocked_by)
        deadline = _local(o.deadline, routine)
        if deadline is not None and as_of is not None and deadline < as_of:
            # Blocked is no excuse: the deadline still passed, and a reader must see it.
            waiting = t.gettext("{waiting} (the deadline passed {moment})").format(
                waiting=waiting, moment=format_moment(deadline, t)
            )
        rows.append((t.gettext("Waiting for"), waiting))
    if o.unblocks:
        rows.append((t.gettext("Unblocks"), _unblocked(o.unblocks, routine)))
    if o.escalates:
        rows.append((t.gettext("Escalates"), o.escalates))
    if o.trigger is not None and not o.trigger.type.startswith("schedule."):
        rows.append(
            (
                t.gettext("Triggered by"),
                t.gettext("{event_type} ({event}), recorded {at}").format(
                    event_type=_event_type(routine, o.trigger.type),
                    event=o.trigger.event,
                    at=format_moment(_local(o.trigger.at, routine), t),
                ),
            )
        )
    return rows


def _width(rows: Sequence[tuple[str, str]]) -> int:
    return max([12, *(len(label) + 2 for label, _ in rows)])


def _aligned(rows: Sequence[tuple[str, str]], indent: str, width: int | None = None) -> list[str]:
    """Rows as ``Label:   value`` lines, the values in one column."""
    width = width or _width(rows)
    return [f"{indent}{label + ':':<{width}}{value}" for label, value in rows]


def format_action(
    o: Obligation,
    t: Translator,
    routine: CompiledRoutine | None = None,
    *,
    as_of: datetime | None = None,
) -> str:
    """One action as a block of text: its status, title and id, then :func:`action_rows`.

    Examples:
        >>> from samverkan_rules import evaluate, load_routine
        >>> r = load_routine("routines/orebro-dagverksamhet-hemvard.yaml")
        >>> ev = [{"id": "e2", "case": "c1", "type": "dagverksamhet.start_planned",
        ...        "at": "2026-12-01T10:00:00+01:00", "data": {"start_date": "2026-12-28"}}]
        >>> result = evaluate(r, ev, datetime.fromisoformat("2026-12-15T12:00:00+01:00"))
        >>> action = [a for a in result.case("c1").actions if a.rule == "start-message"][0]
        >>> print(format_action(action, translator("en"), r))  # doctest: +ELLIPSIS
        [waiting] Meddelande om start till hemvården (start-message:e2)
            Do:             Skicka meddelande om start till hemvårdens Treservabrevlåda
            Responsible:    Dagverksamheten
        ...
            By:             Tuesday 22 December 2026
            Counts from:    planerat startdatum, Monday 28 December 2026
            Waiting for:    Samtycke till informationsöverföring
        ...
        >>> late = datetime.fromisoformat("2027-01-04T12:00:00+01:00")
        >>> block = format_action(action, translator("en"), r, as_of=late)
        >>> "informationsöverföring (the deadline passed Tuesday 22 December 2026)" in block
        True
    """
    head = f"[{status_label(o.status, t)}] {_text(o, routine, t).title} ({o.obligation})"
    return "\n".join([head, *_aligned(action_rows(o, t, routine, as_of=as_of), _INDENT)])


def ledger_line(o: Obligation, t: Translator, routine: CompiledRoutine | None = None) -> str:
    """One obligation of the full ledger on one line, whatever its status."""
    text = f"{status_label(o.status, t):<18} {o.obligation}: {_text(o, routine, t).title}"
    if o.deadline is not None:
        text += t.gettext(", by {moment}").format(
            moment=format_moment(_local(o.deadline, routine), t)
        )
    if o.fulfilled_by is not None:
        text += t.gettext("; fulfilled by {event} {moment}").format(
            event=o.fulfilled_by.event,
            moment=format_moment(_local(o.fulfilled_by.at, routine), t),
        )
        if o.status == "fulfilled_late" and o.late_working_days is not None:
            text += " " + _late(*_lateness(o, routine), t)
    if o.cancelled_by is not None:
        text += t.gettext("; cancelled by {event} ({event_type})").format(
            event=o.cancelled_by.event, event_type=_event_type(routine, o.cancelled_by.type)
        )
    if o.status == "overdue" and o.late_working_days is not None:
        text += " " + _late(*_lateness(o, routine), t)
    return text


def _lateness(o: Obligation, routine: CompiledRoutine | None) -> tuple[str, int]:
    """The unit the obligation's rule words lateness in, and the lateness in it."""
    unit = "working_days"
    if routine is not None and o.late is not None:
        try:
            unit = routine.rule(o.rule).late_in
        except KeyError:  # a remedy or another record named after no rule
            unit = "working_days"
    if unit == "hours" and o.late is not None:
        return unit, o.late.hours
    if unit == "days" and o.late is not None:
        return unit, o.late.days
    return "working_days", o.late_working_days or 0


def _late(unit: str, n: int, t: Translator) -> str:
    if unit == "hours":
        return t.ngettext("({n} hour late)", "({n} hours late)", n).format(n=n)
    if unit == "days":
        return t.ngettext("({n} day late)", "({n} days late)", n).format(n=n)
    return t.ngettext("({n} working day late)", "({n} working days late)", n).format(n=n)


class _Routines:
    """The routine version each obligation names, by (id, version)."""

    def __init__(self, routines: Sequence[CompiledRoutine]) -> None:
        self._by_key = {(r.id, r.version): r for r in routines}

    def of(self, o: Obligation) -> CompiledRoutine | None:
        return self._by_key.get((o.routine.id, o.routine.version))


def render_evaluation(
    result: Evaluation,
    routines: Sequence[CompiledRoutine],
    t: Translator | None = None,
    *,
    show_all: bool = False,
    cases: Sequence[str] | None = None,
) -> str:
    """The evaluation as text for a person: per case its actions, then a summary.

    Args:
        result: The evaluation.
        routines: The routines evaluated (for labels and time zones).
        t: The reader's language (default Swedish).
        show_all: Also list every case's full ledger.
        cases: The cases asked for; those with no events are named too.
    """
    return "".join(
        evaluation_chunks(
            result.as_of,
            result.cases,
            lambda: result.summary,
            routines,
            t,
            show_all=show_all,
            cases=cases,
        )
    )


def evaluation_chunks(
    as_of: str,
    case_results: Iterable[CaseResult],
    summary: Callable[[], Mapping[str, int]],
    routines: Sequence[CompiledRoutine],
    t: Translator | None = None,
    *,
    show_all: bool = False,
    cases: Sequence[str] | None = None,
) -> Iterator[str]:
    """:func:`render_evaluation` one case at a time, for output written as it is evaluated.

    Args:
        as_of: The instant evaluated at (RFC 3339).
        case_results: Each case's result, in order; read one at a time.
        summary: Called after the last case: counts by status, 'events' and 'cases'.
        routines: The routines evaluated (for labels and time zones).
        t: The reader's language (default Swedish).
        show_all: Also list every case's full ledger.
        cases: The cases asked for; those with no events are named too.
    """
    t = t or translator()
    by_key = _Routines(routines)
    moment = _local(as_of, routines[0] if routines else None)
    yield (
        t.gettext("Status as of {moment} ({as_of})").format(
            moment=format_moment(moment, t), as_of=as_of
        )
        + "\n\n"
    )
    seen = set()
    for case in case_results:
        out: list[str] = []
        seen.add(case.case)
        n = len(case.actions)
        out.append(
            t.ngettext("Case {case}: {n} action", "Case {case}: {n} actions", n).format(
                case=case.case, n=n
            )
        )
        if not case.actions:
            out.append("  " + t.gettext("Nothing to do."))
        for action in case.actions:
            block = format_action(action, t, by_key.of(action), as_of=moment)
            out.extend("  " + line for line in block.splitlines())
            out.append("")
        if show_all:
            ledger = case.obligations if case.obligations is not None else case.actions
            n = len(ledger)
            out.append("  " + t.gettext("All actions of the case ({n}):").format(n=n))
            out.extend("  " + ledger_line(o, t, by_key.of(o)) for o in ledger)
        if not case.actions or show_all:
            out.append("")
        yield "\n".join(out) + "\n"
    out = []
    for name in cases or ():
        if name not in seen:
            out.append(
                t.gettext("Case {case}: no events up to {as_of}.").format(case=name, as_of=as_of)
            )
            out.append("")
    if not seen and not cases:
        out.append(t.gettext("No cases with events up to this time."))
        out.append("")
    counts = summary()
    parts = [_status_count(s, counts[s], t) for s in _SUMMARY_ORDER if counts.get(s)]
    n_cases = counts.get("cases", len(seen))
    n_events = counts.get("events", 0)
    n_obligations = sum(counts.get(s, 0) for s in _SUMMARY_ORDER)
    head = t.gettext("{cases}, {events}; {obligations}").format(
        cases=t.ngettext("{n} case", "{n} cases", n_cases).format(n=n_cases),
        events=t.ngettext("{n} event", "{n} events", n_events).format(n=n_events),
        obligations=t.ngettext("{n} action", "{n} actions", n_obligations).format(n=n_obligations),
    )
    tail = ", ".join(parts) if parts else t.gettext("nothing to do")
    out.append(t.gettext("{head}: {tail}.").format(head=head, tail=tail))
    yield "\n".join(out) + "\n"


def render_obligation(
    o: Obligation,
    t: Translator | None = None,
    routine: CompiledRoutine | None = None,
    *,
    as_of: datetime | None = None,
) -> str:
    """One obligation explained for a person: what it asks, why, step by step, and its source.

    Args:
        o: The obligation.
        t: The reader's language (default Swedish).
        routine: The routine version it belongs to, for labels and local times.
        as_of: The moment its status holds at (see :func:`action_rows`).
    """
    t = t or translator()
    lines = [t.gettext("Action {obligation}").format(obligation=o.obligation)]
    head = [
        (t.gettext("Rule"), o.rule),
        (t.gettext("Routine"), f"{o.routine.id} version {o.routine.version}"),
        (t.gettext("Case"), o.case),
        # The status as staff say it; in English also its name in the JSON (the Swedish
        # catalog leaves the code out: staff read no field values).
        (
            t.gettext("Status"),
            t.gettext("{label} ({status})").format(
                label=status_label(o.status, t), status=o.status
            ),
        ),
        (t.gettext("Explanation"), o.explanation),
    ]
    head.extend(_what_rows(o, t, routine, as_of))
    lines.append("  " + t.gettext("Steps:"))
    if o.trace:
        width = len(str(len(o.trace)))
        lines.extend(f"    {i:>{width}}. {step}" for i, step in enumerate(o.trace, 1))
    else:
        lines.append("    " + t.gettext("(no steps recorded)"))
    tail = []
    text = _text(o, routine, t)
    if text.source is not None:
        tail.append((t.gettext("Source"), f"{text.source.document}, {text.source.section}"))
        tail.append((t.gettext("Quote"), quoted(text.source.quote, t)))
    tail.append(_interpretation_row(text, t, with_text=True))
    width = _width([*head, *tail])
    lines[1:1] = _aligned(head, "  ", width)
    lines.extend(_aligned(tail, "  ", width))
    return "\n".join(lines) + "\n"
