"""A readable rendering of a routine, to check against its source document.

Policy authors and auditors read a routine here in words instead of YAML: its metadata,
roles, channels, units and schedules, the facts it keeps and the event types it reads, then
one section per rule with its trigger and condition, action, deadline, what fulfils and
cancels it, escalation (naming the role it reaches), the verbatim source quote and any local
interpretation (clearly marked as a local choice).

Fields are named by their description in the event type (``data.start_date`` is "planerat
startdatum": the description up to its first parenthesis or full stop) and facts by their
label; a field with no description keeps its id. The fixed words come from the gettext
catalogs: Swedish by default, English with an English :class:`~samverkan_rules.i18n.
Translator`. What the routine itself says is shown as written.

Both renderings are built from the same list of blocks, so Markdown and HTML carry the same
content. They are pure and deterministic: the same routine gives the same bytes.

Examples:
    >>> from samverkan_rules.i18n import translator
    >>> from samverkan_rules.language.models.conditions import Comparison
    >>> condition_text(Comparison.model_validate({"field": "data.kind", "equals": "start"}))
    'data.kind är start'
    >>> spec = TimeSpec.model_validate({"before": "data.start_date", "working_days": 2})
    >>> timespec_text(spec), timespec_text(spec, t=translator("en"))
    ('2 vardagar före data.start_date', '2 working days before data.start_date')
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from samverkan_rules.i18n import Translator, translator
from samverkan_rules.language.models.base import Reachability, Scalar
from samverkan_rules.language.models.conditions import AllOf, AnyOf, Comparison, Condition
from samverkan_rules.language.models.schedules import Schedule
from samverkan_rules.language.models.time import Offset, TimeSpec
from samverkan_rules.phrases import format_clock, format_date, quoted, weekday_name
from samverkan_rules.time.calendar import WEEKDAYS

if TYPE_CHECKING:
    pass


def _amount(value: int, unit: str, t: Translator) -> str:
    """``2 vardagar``, ``1 kalenderdag``: an amount of a time unit."""
    if unit == "working_days":
        text = t.ngettext("{n} working day", "{n} working days", value)
    elif unit == "days":
        text = t.ngettext("{n} calendar day", "{n} calendar days", value)
    elif unit == "weeks":
        text = t.ngettext("{n} week", "{n} weeks", value)
    elif unit == "months":
        text = t.ngettext("{n} month", "{n} months", value)
    elif unit == "hours":
        text = t.ngettext("{n} hour", "{n} hours", value)
    else:
        text = t.ngettext("{n} minute", "{n} minutes", value)
    return text.format(n=value)


def _days_off(t: Translator) -> str:
    """The days that are not working days, as the engine counts them (``time.calendar``)."""
    return t.gettext(
        "a Saturday, Sunday, public holiday, Midsummer Eve, Christmas Eve or New Year's Eve"
    )


def _non_working(policy: str, t: Translator) -> str:
    """What happens to a calendar deadline on a day that is not a working day."""
    if policy == "next_working_day":
        text = t.gettext("moved to the next working day when it falls on {days}")
    elif policy == "previous_working_day":
        text = t.gettext("moved to the previous working day when it falls on {days}")
    else:
        text = t.gettext("kept even when it falls on {days}")
    return text.format(days=_days_off(t))


def _schedule_non_working(policy: str, t: Translator) -> str:
    if policy == "skip":
        text = t.gettext("left out when the day is {days}")
    elif policy == "next_working_day":
        text = t.gettext("moved to the next working day when the day is {days}")
    elif policy == "previous_working_day":
        text = t.gettext("moved to the previous working day when the day is {days}")
    else:
        return ""
    return text.format(days=_days_off(t))


def _reach_days(days: str, t: Translator) -> str:
    if days == "working_days":
        return t.gettext("working days")
    if days == "weekdays":
        return t.gettext("Monday–Friday")
    return t.gettext("every day")


def _channel_kind(kind: str, t: Translator) -> str:
    kinds = {
        "mailbox": t.pgettext("channel", "mailbox"),
        "message": t.pgettext("channel", "message"),
        "phone": t.pgettext("channel", "phone"),
        "meeting": t.pgettext("channel", "meeting"),
        "emergency": t.pgettext("channel", "alarm"),
        "journal": t.pgettext("channel", "journal"),
        "email": t.pgettext("channel", "e-mail"),
    }
    return kinds.get(kind, kind)


def _action_kind(kind: str, t: Translator) -> str:
    kinds = {
        "send_message": t.pgettext("action", "send a message"),
        "make_contact": t.pgettext("action", "make contact"),
        "book_meeting": t.pgettext("action", "book a meeting"),
        "hold_meeting": t.pgettext("action", "hold a meeting"),
        "cancel_meeting": t.pgettext("action", "cancel a meeting"),
        "send_notes": t.pgettext("action", "send notes"),
        "comment": t.pgettext("action", "comment"),
        "document": t.pgettext("action", "document"),
        "acknowledge": t.pgettext("action", "acknowledge"),
        "reply": t.pgettext("action", "reply"),
        "report": t.pgettext("action", "report"),
        "forward": t.pgettext("action", "forward"),
        "inform": t.pgettext("action", "inform"),
        "obtain_consent": t.pgettext("action", "obtain consent"),
        "confirm_consent": t.pgettext("action", "confirm consent"),
        "call_emergency": t.pgettext("action", "call 112"),
        "assess": t.pgettext("action", "assess"),
        "escalate": t.pgettext("action", "escalate"),
        "offer_place": t.pgettext("action", "offer a place"),
        "update_record": t.pgettext("action", "update the record"),
    }
    return kinds.get(kind, kind)


def _record_labels(t: Translator) -> dict[str, str]:
    return {
        "established": t.gettext("Established"),
        "revised": t.gettext("Revised"),
        "next_review": t.gettext("Next review"),
        "edition": t.gettext("Edition"),
        "decided_by": t.gettext("Decided by"),
    }


def _hm(value: dt.time, t: Translator) -> str:
    return format_clock(value, t)


def value_text(value: Scalar | Sequence[Scalar], t: Translator | None = None) -> str:
    """A value as a reader sees it: ``ja``/``nej`` for booleans, lists joined by commas.

    Examples:
        >>> value_text(True), value_text(["a", 2]), value_text(None), value_text(2.0)
        ('ja', 'a, 2', 'inget värde', '2')
    """
    t = t or translator()
    if isinstance(value, bool):
        return t.gettext("yes") if value else t.gettext("no")
    if value is None:
        return t.gettext("no value")
    if isinstance(value, (list, tuple)):
        return ", ".join(value_text(v, t) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class FieldWords:
    """How a condition's fields and values are named for a reader; by default, by their ids.

    A rendering of a routine names ``data.<field>`` by the field's description in the event
    type, ``fact.<name>`` by the fact's label, and role values by the role's label.
    """

    def field(self, path: str) -> str:
        """The words for a field path such as ``data.start_date``."""
        return path

    def value(self, path: str, value: Scalar | Sequence[Scalar], t: Translator) -> str:
        """The words for a value compared with the field at ``path``."""
        return value_text(value, t)


_PLAIN = FieldWords()


def condition_text(
    condition: Condition, t: Translator | None = None, words: FieldWords | None = None
) -> str:
    """A condition in words.

    Examples:
        >>> c = AllOf.model_validate({"all": [
        ...     {"field": "data.kind", "equals": "start"},
        ...     {"not": {"field": "data.to", "contains": "hemvard.driftsplanerare"}}]})
        >>> condition_text(c)
        'alla av: (data.kind är start; inte: (data.to innehåller hemvard.driftsplanerare))'
    """
    t = t or translator()
    w = words or _PLAIN
    if isinstance(condition, AllOf):
        items = "; ".join(condition_text(c, t, w) for c in condition.all)
        return t.gettext("all of: ({conditions})").format(conditions=items)
    if isinstance(condition, AnyOf):
        items = "; ".join(condition_text(c, t, w) for c in condition.any)
        return t.gettext("any of: ({conditions})").format(conditions=items)
    if isinstance(condition, Comparison):
        return _comparison_text(condition, t, w)
    return t.gettext("not: ({condition})").format(condition=condition_text(condition.not_, t, w))


def _comparison_text(c: Comparison, t: Translator, w: FieldWords) -> str:
    op = c.operators()[0]
    field = w.field(c.field)
    if op == "exists":
        text = t.gettext("{field} is given") if c.exists else t.gettext("{field} is missing")
        return text.format(field=field)
    if op in ("equals", "not_equals") and isinstance(
        c.equals if op == "equals" else c.not_equals, bool
    ):
        # A yes/no field reads as a statement that holds or not, never "... är ja".
        holds = (c.equals if op == "equals" else not c.not_equals) is True
        text = t.gettext("{field} holds") if holds else t.gettext("{field} does not hold")
        return text.format(field=field)
    words = {
        "equals": (t.gettext("{field} is {value}"), c.equals),
        "not_equals": (t.gettext("{field} is not {value}"), c.not_equals),
        "in": (t.gettext("{field} is one of {value}"), c.in_),
        "not_in": (t.gettext("{field} is none of {value}"), c.not_in),
        "gt": (t.gettext("{field} is greater than {value}"), c.gt),
        "gte": (t.gettext("{field} is at least {value}"), c.gte),
        "lt": (t.gettext("{field} is less than {value}"), c.lt),
        "lte": (t.gettext("{field} is at most {value}"), c.lte),
        "contains": (t.gettext("{field} contains {value}"), c.contains),
    }
    template, value = words[op]
    return template.format(field=field, value=w.value(c.field, value, t))


def _anchor_text(
    anchor: str, schedules: Mapping[str, Schedule], t: Translator, w: FieldWords
) -> str:
    if anchor == "trigger":
        return t.gettext("the event")
    if anchor.startswith("schedule."):
        name = anchor.removeprefix("schedule.")
        schedule = schedules.get(name)
        label = quoted(schedule.label, t) if schedule is not None else name
        return t.gettext("the next occurrence of {schedule}").format(schedule=label)
    return w.field(anchor)


def timespec_text(
    spec: TimeSpec,
    schedules: Mapping[str, Schedule] | None = None,
    *,
    t: Translator | None = None,
    words: FieldWords | None = None,
) -> str:
    """A deadline or opening time in words.

    Examples:
        >>> timespec_text(TimeSpec.model_validate({"after": "trigger", "weeks": 1}))
        '1 vecka efter händelsen'
        >>> timespec_text(TimeSpec.model_validate({"after": "trigger", "days": 0}))
        'samma dag som händelsen'
        >>> timespec_text(TimeSpec.model_validate({"at": "data.date"}))
        'vid data.date'
        >>> timespec_text(TimeSpec.model_validate({"after": "trigger", "days": 3}))
        '3 kalenderdagar efter händelsen'
    """
    t = t or translator()
    anchor = _anchor_text(spec.anchor, schedules or {}, t, words or _PLAIN)
    unit = spec.unit
    if unit is None:
        text = t.gettext("at {anchor}").format(anchor=anchor)
    else:
        value = abs(spec.amount)
        if value == 0 and unit in ("days", "working_days", "weeks", "months"):
            text = t.gettext("the same day as {anchor}").format(anchor=anchor)
        elif spec.before is not None:
            text = t.gettext("{amount} before {anchor}").format(
                amount=_amount(value, unit, t), anchor=anchor
            )
        else:
            text = t.gettext("{amount} after {anchor}").format(
                amount=_amount(value, unit, t), anchor=anchor
            )
    if spec.time is not None:
        text += t.gettext(", at {time}").format(time=_hm(spec.time, t))
    if spec.on_non_working_day is not None and unit in ("days", "weeks", "months"):
        text += "; " + _non_working(spec.on_non_working_day, t)
    return text


def offset_text(offset: Offset, t: Translator | None = None) -> str:
    """How long after the deadline an escalation starts.

    Examples:
        >>> offset_text(Offset(working_days=0)), offset_text(Offset(hours=2))
        ('när fristen har passerat', '2 timmar efter fristen')
    """
    t = t or translator()
    for unit in ("working_days", "days", "hours"):
        value = getattr(offset, unit)
        if value is not None:
            if value == 0:
                break
            return t.gettext("{amount} after the deadline").format(amount=_amount(value, unit, t))
    return t.gettext("when the deadline has passed")


def offset_amount_text(offset: Offset, t: Translator | None = None) -> str:
    """An :class:`Offset` as an amount, e.g. '2 vardagar'.

    Examples:
        >>> offset_amount_text(Offset(working_days=2)), offset_amount_text(Offset(hours=4))
        ('2 vardagar', '4 timmar')
    """
    t = t or translator()
    for unit in ("working_days", "days", "hours"):
        value = getattr(offset, unit)
        if value is not None:
            return _amount(value, unit, t)
    return ""


def schedule_text(schedule: Schedule, t: Translator | None = None) -> str:
    """When a schedule occurs, in words.

    Examples:
        >>> schedule_text(Schedule.model_validate({"label": "x", "every": "week",
        ...     "weekday": "tuesday", "time": "13:30", "iso_weeks": "odd", "units": ["u"]}))
        'varje tisdag, kl. 13.30, ojämna veckor'
        >>> schedule_text(Schedule.model_validate({"label": "x", "every": "month_end",
        ...     "units": ["u"]}))
        'sista dagen i varje månad'
    """
    t = t or translator()
    if schedule.every == "week":
        weekday = weekday_name(WEEKDAYS.index(schedule.weekday or "monday"), t)
        text = t.gettext("every {weekday}").format(weekday=weekday)
        if schedule.time is not None:
            text += t.gettext(", at {time}").format(time=_hm(schedule.time, t))
        if schedule.iso_weeks == "odd":
            text += t.gettext(", odd weeks")
        elif schedule.iso_weeks == "even":
            text += t.gettext(", even weeks")
    elif schedule.every == "dates":
        days = ", ".join(_plan_day(d, t) for d in schedule.dates)
        text = t.gettext("on the planned days {days}").format(days=days)
        if schedule.time is not None:
            text += t.gettext(", at {time}").format(time=_hm(schedule.time, t))
    else:
        text = t.gettext("the last day of every month")
        if schedule.time is not None:
            text += t.gettext(", at {time}").format(time=_hm(schedule.time, t))
    if schedule.duration_minutes is not None:
        text += f" ({_amount(schedule.duration_minutes, 'minutes', t)})"
    policy = _schedule_non_working(schedule.on_non_working_day, t)
    if policy:
        text += f"; {policy}"
    if schedule.starts is not None:
        text += t.gettext("; from {day}").format(day=format_date(schedule.starts, t))
    return text


def _plan_day(text: str, t: Translator) -> str:
    """A day of a plan (``2026-01-13`` or ``2026-01-13 09:00``) as a person reads it."""
    day, _, clock = text.partition(" ")
    shown = format_date(dt.date.fromisoformat(day), t)
    if clock:
        time = _hm(dt.time.fromisoformat(clock), t)
        shown = t.gettext("{day} at {time}").format(day=shown, time=time)
    return shown


def _reach_text(reach: Reachability, t: Translator) -> str:
    text = f"{_reach_days(reach.days, t)} {_hm(reach.from_, t)}–{_hm(reach.to, t)}"
    if reach.otherwise:
        text += t.gettext(" (otherwise: {what})").format(what=reach.otherwise)
    return text


def field_description_words(description: str | None) -> str | None:
    """The short name a field's description starts with, lower case, or None.

    Examples:
        >>> field_description_words("Planerat startdatum (den första dagen).")
        'planerat startdatum'
        >>> field_description_words(None) is None
        True
    """
    if not description:
        return None
    head = re.split(r" \(|\. |\.$|; ", description.strip(), maxsplit=1)[0].strip()
    if not head:
        return None
    return head[0].lower() + head[1:] if not head[:2].isupper() else head
