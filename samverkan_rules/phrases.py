"""The sentences that explain an obligation, and the dates and times in them, in the
reader's language.

Each function returns one translated sentence or trace line, built from a message id of the
``samverkan`` catalog with named placeholders. Callers pass values that are already text:
ids, labels, and instants formatted for people by :func:`format_instant` (``tisdag 22
december 2026 kl. 13.30``; a deadline at the end of a day is the day alone). This module is
the one place where dates and times are written for people; JSON keeps RFC 3339.

Examples:
    >>> from zoneinfo import ZoneInfo
    >>> from samverkan_rules.i18n import translator
    >>> sv, en = translator("sv"), translator("en")
    >>> tz = ZoneInfo("Europe/Stockholm")
    >>> format_instant(datetime.fromisoformat("2026-12-22T13:30:00+01:00"), tz, sv)
    'tisdag 22 december 2026 kl. 13.30'
    >>> format_instant(datetime.fromisoformat("2026-12-22T23:59:59+01:00"), tz, sv)
    'tisdag 22 december 2026'
    >>> format_instant(datetime.fromisoformat("2026-12-22T13:30:00+01:00"), tz, en)
    'Tuesday 22 December 2026 at 13:30'
    >>> cause = triggered_by(sv, event_type="Planerad start", event="e2")
    >>> explain_due(sv, action="Skicka", who="Dagverksamheten", deadline="tisdag 22 december 2026",
    ...             cause=cause)
    'Skicka (Dagverksamheten) senast tisdag 22 december 2026; utlöst av Planerad start (e2).'
    >>> explain_fulfilled_late(en, action="Send", late=1, event="f3",
    ...     at="Wednesday at 09:00", deadline="Tuesday", cause="x")
    'Send: done 1 working day late by f3 Wednesday at 09:00 (by Tuesday); x.'
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from samverkan_rules.i18n import Translator


def weekday_name(weekday: int, t: Translator) -> str:
    """The name of a weekday, Monday = 0 (as :meth:`datetime.weekday` counts), in full.

    Examples:
        >>> from samverkan_rules.i18n import translator
        >>> weekday_name(3, translator("sv")), weekday_name(6, translator("en"))
        ('torsdag', 'Sunday')
    """
    names = (
        t.gettext("Monday"),
        t.gettext("Tuesday"),
        t.gettext("Wednesday"),
        t.gettext("Thursday"),
        t.gettext("Friday"),
        t.gettext("Saturday"),
        t.gettext("Sunday"),
    )
    return names[weekday]


def month_name(month: int, t: Translator) -> str:
    """The name of a month, January = 1 (lower case in Swedish, as Swedish writes it)."""
    names = (
        t.gettext("January"),
        t.gettext("February"),
        t.gettext("March"),
        t.gettext("April"),
        t.gettext("May"),
        t.gettext("June"),
        t.gettext("July"),
        t.gettext("August"),
        t.gettext("September"),
        t.gettext("October"),
        t.gettext("November"),
        t.gettext("December"),
    )
    return names[month - 1]


def format_date(day: date, t: Translator) -> str:
    """A date without its weekday: ``22 december 2026``, ``22 December 2026``."""
    return t.gettext("{day} {month} {year}").format(
        day=day.day, month=month_name(day.month, t), year=day.year
    )


@lru_cache(maxsize=2048)
def format_day(day: date, t: Translator) -> str:
    """A day as a person reads it: ``måndag 28 december 2026``, ``Monday 28 December 2026``."""
    return f"{weekday_name(day.weekday(), t)} {format_date(day, t)}"


def format_clock(clock: time, t: Translator) -> str:
    """A time of day: ``13.30`` in Swedish (never ``13:30``), ``13:30`` in English."""
    return t.gettext("{hour}:{minute}").format(
        hour=f"{clock.hour:02d}", minute=f"{clock.minute:02d}"
    )


def format_moment(moment: datetime | None, t: Translator) -> str:
    """A local time as a person reads it: ``tisdag 22 december 2026 kl. 13.30``; ``–`` for
    none. A time at 23:59 is the end of its day (a day-long deadline) and is the day alone.

    Examples:
        >>> from samverkan_rules.i18n import translator
        >>> format_moment(datetime(2026, 12, 24, 9, 5), translator("sv"))
        'torsdag 24 december 2026 kl. 09.05'
        >>> format_moment(datetime(2026, 12, 24, 23, 59, 59), translator("en"))
        'Thursday 24 December 2026'
    """
    if moment is None:
        return "–"
    day = format_day(moment.date(), t)
    if moment.hour == 23 and moment.minute == 59:
        return day
    return t.gettext("{day} at {time}").format(day=day, time=format_clock(moment.time(), t))


@lru_cache(maxsize=4096)
def format_instant(moment: datetime, tz: ZoneInfo, t: Translator) -> str:
    """An instant in the local time of ``tz``, as :func:`format_moment` writes it."""
    return format_moment(moment.astimezone(tz), t)


def format_range(first: str, last: str) -> str:
    """Two ends of a range joined by an en dash (spaced, as the ends are several words).

    Examples:
        >>> format_range("1 januari 2025", "31 december 2025")
        '1 januari 2025 – 31 december 2025'
    """
    return f"{first} \u2013 {last}"


def quoted(text: str, t: Translator) -> str:
    """A quotation in the reader's typography: ``”text”`` in Swedish (the same mark on
    both sides), ``“text”`` in English."""
    return t.gettext("\u201c{text}\u201d").format(text=text)


def interpretation(t: Translator, *, reason: str, text: str | None) -> str:
    """A local interpretation as staff read it: the reason first, then the routine's words
    it reads (when it names them), so that it reads as an interpretation, not a quote.

    Examples:
        >>> from samverkan_rules.i18n import translator
        >>> interpretation(translator("sv"), reason="Ingen frist anges.", text="Vid inskrivning")
        'Ingen frist anges. (Gäller rutinens ord ”Vid inskrivning”.)'
    """
    if not text:
        return reason
    return t.gettext("{reason} (Concerns the routine's words {quote}.)").format(
        reason=reason, quote=quoted(text, t)
    )


def triggered_by(t: Translator, *, event_type: str, event: str) -> str:
    """``utlöst av Planerad start på dagverksamhet (e2)``: the ``{cause}`` of an explanation
    (``event_type`` is the type's label, as staff name it)."""
    return t.gettext("triggered by {event_type} ({event})").format(
        event_type=event_type, event=event
    )


def explain_fulfilled(
    t: Translator, *, action: str, event: str, at: str, deadline: str, cause: str
) -> str:
    """An obligation done on time."""
    return t.gettext("{action}: done on time by {event} {at} (by {deadline}); {cause}.").format(
        action=action, event=event, at=at, deadline=deadline, cause=cause
    )


def explain_fulfilled_late(
    t: Translator,
    *,
    action: str,
    late: int,
    event: str,
    at: str,
    deadline: str,
    cause: str,
    unit: str = "working_days",
) -> str:
    """An obligation done ``late`` units (working days, days or hours) after its deadline."""
    if unit == "hours":
        text = t.ngettext(
            "{action}: done {late} hour late by {event} {at} (by {deadline}); {cause}.",
            "{action}: done {late} hours late by {event} {at} (by {deadline}); {cause}.",
            late,
        )
    elif unit == "days":
        text = t.ngettext(
            "{action}: done {late} day late by {event} {at} (by {deadline}); {cause}.",
            "{action}: done {late} days late by {event} {at} (by {deadline}); {cause}.",
            late,
        )
    else:
        text = t.ngettext(
            "{action}: done {late} working day late by {event} {at} (by {deadline}); {cause}.",
            "{action}: done {late} working days late by {event} {at} (by {deadline}); {cause}.",
            late,
        )
    return text.format(action=action, late=late, event=event, at=at, deadline=deadline, cause=cause)


def explain_cancelled(
    t: Translator, *, action: str, event_type: str, event: str, cause: str
) -> str:
    """An obligation cancelled by an event."""
    return t.gettext("{action}: cancelled by {event_type} ({event}); {cause}.").format(
        action=action, event_type=event_type, event=event, cause=cause
    )


def explain_blocked(
    t: Translator, *, action: str, who: str, deadline: str, waiting: str, cause: str
) -> str:
    """An obligation waiting for preconditions (``waiting``: their labels, joined)."""
    return t.gettext("{action} ({who}, by {deadline}) is waiting for: {waiting}; {cause}.").format(
        action=action, who=who, deadline=deadline, waiting=waiting, cause=cause
    )


def explain_upcoming(
    t: Translator, *, action: str, who: str, opens: str, deadline: str, cause: str
) -> str:
    """An obligation whose window has not opened yet."""
    return t.gettext("{action} ({who}): from {opens}, by {deadline}; {cause}.").format(
        action=action, who=who, opens=opens, deadline=deadline, cause=cause
    )


def explain_due(t: Translator, *, action: str, who: str, deadline: str, cause: str) -> str:
    """An open obligation before its deadline."""
    return t.gettext("{action} ({who}) by {deadline}; {cause}.").format(
        action=action, who=who, deadline=deadline, cause=cause
    )


def explain_overdue(
    t: Translator,
    *,
    action: str,
    who: str,
    deadline: str,
    late: int,
    cause: str,
    unit: str = "working_days",
) -> str:
    """An obligation past its deadline by ``late`` units (0: the same day, or within the hour).

    ``unit`` is ``working_days`` (the default), ``days`` (calendar days) or ``hours``.
    """
    if unit == "hours":
        since = (
            t.gettext("less than an hour ago")
            if not late
            else t.ngettext("{late} hour ago", "{late} hours ago", late).format(late=late)
        )
    elif unit == "days":
        since = (
            t.gettext("the same day")
            if not late
            else t.ngettext("{late} day ago", "{late} days ago", late).format(late=late)
        )
    else:
        since = (
            t.gettext("the same day")
            if not late
            else t.ngettext("{late} working day ago", "{late} working days ago", late).format(
                late=late
            )
        )
    return t.gettext(
        "{action} ({who}): overdue, should have been done by {deadline} ({since}); {cause}."
    ).format(action=action, who=who, deadline=deadline, since=since, cause=cause)


def had_to_precede(t: Translator, *, explanation: str, event_type: str, event: str, at: str) -> str:
    """An explanation followed by the event the obligation had to precede (a rule's
    ``before``), whose instant is its deadline."""
    return t.gettext("{explanation} It had to be done before {event_type} ({event}), {at}.").format(
        explanation=explanation, event_type=event_type, event=event, at=at
    )


def party_named(t: Translator, *, party: str, role: str) -> str:
    """The person or unit a case fact names as responsible, with the role it acts in."""
    return t.gettext("{party} ({role})").format(party=party, role=role)


def party_fallback(t: Translator, *, role: str, fact: str) -> str:
    """The fallback role, acting while the fact naming the responsible is unset."""
    return t.gettext("{role} (fallback while “{fact}” is unset)").format(role=role, fact=fact)


def composite_part(t: Translator, *, n: int, steps: str) -> str:
    """One part of a ``later_of``/``earlier_of`` time, with its own steps."""
    return t.gettext("({n}) {steps}").format(n=n, steps=steps)


def composite_choice(t: Translator, *, later: bool, n: int, at: str) -> str:
    """Which part of a ``later_of``/``earlier_of`` time was chosen."""
    if later:
        return t.gettext("the later is ({n}): {at}").format(n=n, at=at)
    return t.gettext("the earlier is ({n}): {at}").format(n=n, at=at)


def cause_line(t: Translator, *, event_type: str, event: str, at: str, case: str) -> str:
    """How an obligation arose: ``Planerad start på dagverksamhet (e2), <at> (ärende c1)``."""
    return t.gettext("{event_type} ({event}), {at} (case {case})").format(
        event_type=event_type, event=event, at=at, case=case
    )


def step_anchor_trigger(t: Translator, *, at: str) -> str:
    """The first step of a deadline counted from the trigger: when it was recorded."""
    return t.gettext("the trigger was recorded {at}").format(at=at)


def step_anchor_field(t: Translator, *, field: str, at: str) -> str:
    """The first step of a deadline counted from a date in the trigger's data, named by
    the field's description: ``planerat startdatum, måndag 28 december 2026``."""
    return t.gettext("{field}, {at}").format(field=field, at=at)


def trace_deadline(t: Translator, *, steps: str) -> str:
    """``frist: <the calendar steps, joined by '; '>``."""
    return t.gettext("deadline: {steps}").format(steps=steps)


def trace_opens(t: Translator, *, steps: str) -> str:
    """``öppnar: <the calendar steps of the opening time>``."""
    return t.gettext("opens: {steps}").format(steps=steps)


def trace_fulfilled(t: Translator, *, event: str, event_type: str, at: str) -> str:
    """The event that fulfilled the obligation."""
    return t.gettext("fulfilled by {event} ({event_type}) {at}").format(
        event=event, event_type=event_type, at=at
    )


def trace_cancelled(t: Translator, *, event: str, event_type: str, at: str) -> str:
    """The event that cancelled the obligation."""
    return t.gettext("cancelled by {event} ({event_type}) {at}").format(
        event=event, event_type=event_type, at=at
    )


def trace_before(t: Translator, *, event: str, event_type: str, at: str) -> str:
    """The event the obligation had to precede, which cut its deadline to its instant."""
    return t.gettext("deadline cut to {at}: it had to precede {event} ({event_type})").format(
        event=event, event_type=event_type, at=at
    )


def trace_blocked(t: Translator, *, preconditions: str) -> str:
    """The preconditions (labels, joined) that block the obligation."""
    return t.gettext("blocked: {preconditions}").format(preconditions=preconditions)


def trace_status(t: Translator, *, at: str, status: str) -> str:
    """The last trace line: the status at ``as_of`` (``status`` as the reader knows it)."""
    return t.gettext("status at {at}: {status}").format(at=at, status=status)


def remedy_explanation(
    t: Translator, *, remedy: str, who: str, deadline: str, obligations: str, overdue: bool
) -> str:
    """The action that removes a block, naming the obligations it unblocks (joined)."""
    text = t.gettext("{remedy} ({who}) by {deadline}, so that {obligations} can be done.").format(
        remedy=remedy, who=who, deadline=deadline, obligations=obligations
    )
    return t.gettext("Overdue: {text}").format(text=text) if overdue else text


def remedy_missing_trace(t: Translator, *, precondition: str, label: str, at: str) -> str:
    """``consent: Samtycke saknas vid <at>``."""
    return t.gettext("{precondition}: {label} missing at {at}").format(
        precondition=precondition, label=label, at=at
    )


def remedy_deadline_trace(t: Translator, *, obligation: str, deadline: str) -> str:
    """Where a remedy's deadline comes from: the earliest obligation it unblocks."""
    return t.gettext("deadline from {obligation}: {deadline}").format(
        obligation=obligation, deadline=deadline
    )


def escalation_title(t: Translator, *, title: str) -> str:
    """The title of an escalation: ``Eskalering: <the rule's title>``."""
    return t.gettext("Escalation: {title}").format(title=title)


def escalation_explanation(
    t: Translator, *, escalation: str, who: str, obligation: str, deadline: str
) -> str:
    """What an escalation asks of the role it reaches."""
    return t.gettext(
        "{escalation} ({who}): {obligation} has been overdue since {deadline}."
    ).format(escalation=escalation, who=who, obligation=obligation, deadline=deadline)


def escalation_blocked_explanation(
    t: Translator, *, escalation: str, who: str, obligation: str, deadline: str, waiting: str
) -> str:
    """What an escalation of a still blocked obligation asks of the role it reaches."""
    return t.gettext(
        "{escalation} ({who}): {obligation} is still waiting for {waiting}, past its "
        "deadline {deadline}."
    ).format(
        escalation=escalation, who=who, obligation=obligation, deadline=deadline, waiting=waiting
    )


def escalated_trace(t: Translator, *, at: str, role: str) -> str:
    """When and to whom an obligation escalates."""
    return t.gettext("escalated from {at} to {role}").format(at=at, role=role)


def roles_climbed(t: Translator, *, responsible: str, levels: int, role: str) -> str:
    """``ansvarig: X (2 nivåer upp från Y)`` for a rule with ``levels_up``."""
    return t.ngettext(
        "responsible: {responsible} ({levels} level up from {role})",
        "responsible: {responsible} ({levels} levels up from {role})",
        levels,
    ).format(responsible=responsible, levels=levels, role=role)


def hierarchy_ends(t: Translator, *, role: str, top: str) -> str:
    """``levels_up`` ran out of ``reports_to``: the highest role reached is used."""
    return t.gettext("{role}: the hierarchy ends at {top}").format(role=role, top=top)


def step_next_occurrence(t: Translator, *, schedule: str, at: str) -> str:
    """The first step of a deadline anchored on a schedule's next occurrence."""
    return t.gettext("next {schedule}: {at}").format(schedule=schedule, at=at)


def step_called_off_occurrences(t: Translator, *, occurrences: str) -> str:
    """The step of a schedule anchor that passed over called-off occurrences."""
    return t.gettext("called off before the trigger, so not held: {occurrences}").format(
        occurrences=occurrences
    )


def step_working_days(t: Translator, *, n: int, before: bool, base: str, day: str) -> str:
    """``2 vardagar före 2026-12-28 -> 2026-12-22`` (``n`` positive; ``before`` the sign)."""
    if before:
        text = t.ngettext(
            "{n} working day before {base} -> {day}",
            "{n} working days before {base} -> {day}",
            n,
        )
    else:
        text = t.ngettext(
            "{n} working day after {base} -> {day}",
            "{n} working days after {base} -> {day}",
            n,
        )
    return text.format(n=n, base=base, day=day)


def step_not_working_days(t: Translator, *, step: str, days: str) -> str:
    """A working-day step followed by the weekdays it skipped (``2026-12-24 julafton, ...``)."""
    return t.gettext("{step} (not working days: {days})").format(step=step, days=days)


def step_amount(t: Translator, *, unit: str, amount: int, base: str, result: str) -> str:
    """A calendar or clock step: ``+3 månader från 2025-11-30 -> 2026-02-28``.

    Args:
        t: The translator.
        unit: ``days``, ``weeks`` or ``months`` (``base`` and ``result`` are dates), or
            ``hours`` or ``minutes`` (``base`` is ignored, ``result`` an instant).
        amount: The signed amount; shown with its sign.
        base: The day counted from.
        result: Where the step lands.
    """
    n = abs(amount)
    signed = f"+{amount}" if amount >= 0 else str(amount)
    if unit == "hours":
        text = t.ngettext("{amount} hour -> {result}", "{amount} hours -> {result}", n)
    elif unit == "minutes":
        text = t.ngettext("{amount} minute -> {result}", "{amount} minutes -> {result}", n)
    elif unit == "weeks":
        text = t.ngettext(
            "{amount} week from {base} -> {result}", "{amount} weeks from {base} -> {result}", n
        )
    elif unit == "months":
        text = t.ngettext(
            "{amount} month from {base} -> {result}",
            "{amount} months from {base} -> {result}",
            n,
        )
    else:
        text = t.ngettext(
            "{amount} day from {base} -> {result}", "{amount} days from {base} -> {result}", n
        )
    return text.format(amount=signed, base=base, result=result)


def step_moved(t: Translator, *, day: str, reason: str, moved: str) -> str:
    """A calendar deadline that fell on a non-working day, and where it moved."""
    return t.gettext("{day} is not a working day ({reason}); moved to {moved}").format(
        day=day, reason=reason, moved=moved
    )


def non_working_reason(t: Translator, reason: str) -> str:
    """Why a day is not a working day, as :meth:`WorkingCalendar.non_working_reason` says it,
    in the reader's language: ``lördag``, ``söndag`` and ``stängd dag`` are translated; a
    public holiday keeps the Swedish name the ``holidays`` package gives it.

    Examples:
        >>> from samverkan_rules.i18n import translator
        >>> [non_working_reason(translator("en"), r) for r in ("söndag", "stängd dag", "julafton")]
        ['Sunday', 'closed day', 'julafton']
    """
    if reason == "lördag":
        return t.gettext("Saturday")
    if reason == "söndag":
        return t.gettext("Sunday")
    if reason == "stängd dag":
        return t.gettext("closed day")
    return reason
