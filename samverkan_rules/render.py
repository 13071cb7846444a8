"""A readable rendering of a routine, to check against its source document.

Policy authors and auditors read a routine here in Swedish words instead of YAML: its
metadata, roles, channels, units and schedules, then one section per rule with its trigger
and condition, action, deadline, what fulfils and cancels it, escalation, the verbatim
source quote and any local interpretation (clearly marked as a local choice).

Both renderings are built from the same list of blocks, so Markdown and HTML carry the same
content. They are pure and deterministic: the same routine gives the same bytes.

Examples:
    >>> from samverkan_rules.models import Comparison
    >>> condition_text(Comparison.model_validate({"field": "data.kind", "equals": "start"}))
    'data.kind = start'
    >>> timespec_text(TimeSpec.model_validate({"before": "data.start_date", "working_days": 2}))
    '2 vardagar före data.start_date'
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from samverkan_rules.models import (
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    Escalation,
    EventPattern,
    Offset,
    Reachability,
    Rule,
    Scalar,
    Schedule,
    TimeSpec,
)

if TYPE_CHECKING:
    from samverkan_rules.compiler import CompiledRoutine

__all__ = [
    "condition_text",
    "render_html",
    "render_markdown",
    "schedule_text",
    "timespec_text",
]

# --------------------------------------------------------------------------- words

WEEKDAYS_SV = {
    "monday": "måndag",
    "tuesday": "tisdag",
    "wednesday": "onsdag",
    "thursday": "torsdag",
    "friday": "fredag",
    "saturday": "lördag",
    "sunday": "söndag",
}

_UNITS_SV = {
    "working_days": ("vardag", "vardagar"),
    "days": ("dag", "dagar"),
    "weeks": ("vecka", "veckor"),
    "months": ("månad", "månader"),
    "hours": ("timme", "timmar"),
    "minutes": ("minut", "minuter"),
}

_NON_WORKING_SV = {
    "keep": "behålls den även om den infaller på en helgdag",
    "next_working_day": "flyttas den till nästa vardag om den infaller på en helgdag",
    "previous_working_day": "flyttas den till föregående vardag om den infaller på en helgdag",
}

_SCHEDULE_NON_WORKING_SV = {
    "keep": "",
    "skip": "utgår på helgdagar",
    "next_working_day": "flyttas till nästa vardag när dagen är en helgdag",
    "previous_working_day": "flyttas till föregående vardag när dagen är en helgdag",
}

_REACH_DAYS_SV = {
    "working_days": "vardagar",
    "weekdays": "måndag–fredag",
    "every_day": "alla dagar",
}

_CHANNEL_KINDS_SV = {
    "mailbox": "brevlåda",
    "message": "meddelande",
    "phone": "telefon",
    "meeting": "möte",
    "emergency": "larm",
    "journal": "journal",
    "email": "e-post",
}

_ACTION_KINDS_SV = {
    "send_message": "skicka meddelande",
    "make_contact": "ta kontakt",
    "book_meeting": "boka möte",
    "hold_meeting": "hålla möte",
    "cancel_meeting": "avboka möte",
    "send_notes": "skicka anteckningar",
    "comment": "kommentera",
    "document": "dokumentera",
    "acknowledge": "bekräfta",
    "reply": "svara",
    "report": "rapportera",
    "forward": "vidarebefordra",
    "inform": "informera",
    "obtain_consent": "inhämta samtycke",
    "confirm_consent": "bekräfta samtycke",
    "call_emergency": "ring 112",
    "assess": "bedöma",
    "escalate": "eskalera",
    "offer_place": "erbjuda plats",
    "update_record": "uppdatera uppgifter",
}

_RECORD_SV = {
    "established": "Upprättad",
    "revised": "Reviderad",
    "next_review": "Nästa översyn",
    "edition": "Utgåva",
    "decided_by": "Fastställd av",
}

NO_INTERPRETATION = "Ingen – regeln följer rutinens ord."
INTERPRETATION_LABEL = "Tolkning (lokalt val, inte rutinens ord)"


def _hm(value: dt.time) -> str:
    return value.strftime("%H:%M")


def _amount(value: int, unit: str) -> str:
    one, many = _UNITS_SV[unit]
    return f"{value} {one if value == 1 else many}"


def value_text(value: Scalar | Sequence[Scalar]) -> str:
    """A value as a reader sees it: ``ja``/``nej`` for booleans, lists joined by commas.

    Examples:
        >>> value_text(True), value_text(["a", 2]), value_text(None), value_text(2.0)
        ('ja', 'a, 2', 'inget värde', '2')
    """
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if value is None:
        return "inget värde"
    if isinstance(value, (list, tuple)):
        return ", ".join(value_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def condition_text(condition: Condition) -> str:
    """A condition in words.

    Examples:
        >>> c = AllOf.model_validate({"all": [
        ...     {"field": "data.kind", "equals": "start"},
        ...     {"not": {"field": "data.to", "contains": "hemvard.driftsplanerare"}}]})
        >>> condition_text(c)
        'alla av: (data.kind = start; inte: (data.to innehåller hemvard.driftsplanerare))'
    """
    if isinstance(condition, AllOf):
        return "alla av: (" + "; ".join(condition_text(c) for c in condition.all) + ")"
    if isinstance(condition, AnyOf):
        return "någon av: (" + "; ".join(condition_text(c) for c in condition.any) + ")"
    if isinstance(condition, Comparison):
        return _comparison_text(condition)
    return "inte: (" + condition_text(condition.not_) + ")"


def _comparison_text(c: Comparison) -> str:
    op = c.operators()[0]
    field = c.field
    if op == "exists":
        return f"{field} {'finns' if c.exists else 'saknas'}"
    words = {
        "equals": ("=", c.equals),
        "not_equals": ("≠", c.not_equals),
        "in": ("är en av", c.in_),
        "not_in": ("är ingen av", c.not_in),
        "gt": (">", c.gt),
        "gte": ("≥", c.gte),
        "lt": ("<", c.lt),
        "lte": ("≤", c.lte),
        "contains": ("innehåller", c.contains),
    }
    sign, value = words[op]
    return f"{field} {sign} {value_text(value)}"


def _anchor_text(anchor: str, schedules: Mapping[str, Schedule]) -> str:
    if anchor == "trigger":
        return "händelsen"
    if anchor.startswith("schedule."):
        name = anchor.removeprefix("schedule.")
        schedule = schedules.get(name)
        label = f"«{schedule.label}»" if schedule is not None else name
        return f"nästa tillfälle för {label}"
    return anchor


def timespec_text(spec: TimeSpec, schedules: Mapping[str, Schedule] | None = None) -> str:
    """A deadline or opening time in words.

    Examples:
        >>> timespec_text(TimeSpec.model_validate({"after": "trigger", "weeks": 1}))
        '1 vecka efter händelsen'
        >>> timespec_text(TimeSpec.model_validate({"after": "trigger", "days": 0}))
        'samma dag som händelsen'
        >>> timespec_text(TimeSpec.model_validate({"at": "data.date"}))
        'vid data.date'
    """
    anchor = _anchor_text(spec.anchor, schedules or {})
    unit = spec.unit
    if unit is None:
        text = f"vid {anchor}"
    else:
        value = abs(spec.amount)
        if value == 0 and unit in ("days", "working_days", "weeks", "months"):
            text = f"samma dag som {anchor}"
        else:
            direction = "före" if spec.before is not None else "efter"
            text = f"{_amount(value, unit)} {direction} {anchor}"
    if spec.time is not None:
        text += f", kl. {_hm(spec.time)}"
    if spec.on_non_working_day is not None and unit in ("days", "weeks", "months"):
        text += f"; {_NON_WORKING_SV[spec.on_non_working_day]}"
    return text


def offset_text(offset: Offset) -> str:
    """How long after the deadline an escalation starts.

    Examples:
        >>> offset_text(Offset(working_days=0)), offset_text(Offset(hours=2))
        ('när tidsfristen har passerat', '2 timmar efter tidsfristen')
    """
    for unit in ("working_days", "days", "hours"):
        value = getattr(offset, unit)
        if value is not None:
            if value == 0:
                return "när tidsfristen har passerat"
            return f"{_amount(value, unit)} efter tidsfristen"
    return "när tidsfristen har passerat"  # pragma: no cover - the model requires one


def schedule_text(schedule: Schedule) -> str:
    """When a schedule occurs, in words.

    Examples:
        >>> schedule_text(Schedule.model_validate({"label": "x", "every": "week",
        ...     "weekday": "tuesday", "time": "13:30", "iso_weeks": "odd", "units": ["u"]}))
        'varje tisdag 13:30, ojämna veckor'
        >>> schedule_text(Schedule.model_validate({"label": "x", "every": "month_end",
        ...     "units": ["u"]}))
        'sista dagen i varje månad'
    """
    if schedule.every == "week":
        weekday = WEEKDAYS_SV[schedule.weekday or "monday"]
        text = f"varje {weekday}"
        if schedule.time is not None:
            text += f" {_hm(schedule.time)}"
        if schedule.iso_weeks == "odd":
            text += ", ojämna veckor"
        elif schedule.iso_weeks == "even":
            text += ", jämna veckor"
    else:
        text = "sista dagen i varje månad"
        if schedule.time is not None:
            text += f" {_hm(schedule.time)}"
    if schedule.duration_minutes is not None:
        text += f" ({_amount(schedule.duration_minutes, 'minutes')})"
    policy = _SCHEDULE_NON_WORKING_SV[schedule.on_non_working_day]
    if policy:
        text += f"; {policy}"
    if schedule.starts is not None:
        text += f"; från {schedule.starts.isoformat()}"
    return text


def _reach_text(reach: Reachability) -> str:
    text = f"{_REACH_DAYS_SV[reach.days]} {_hm(reach.from_)}–{_hm(reach.to)}"
    if reach.otherwise:
        text += f" (annars: {reach.otherwise})"
    return text


# --------------------------------------------------------------------------- blocks


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


class _Builder:
    def __init__(self, compiled: CompiledRoutine) -> None:
        self.compiled = compiled
        self.routine = compiled.routine
        self.blocks: list[_Block] = []

    # ---- helpers

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
                return f"tillfälle för «{schedule.label}» (`{event_type}`)"
        known = self.compiled.event_types.get(event_type)
        return f"{known.label} (`{event_type}`)" if known is not None else f"`{event_type}`"

    def pattern(self, pattern: EventPattern) -> str:
        text = self.event(pattern.event)
        if pattern.if_ is not None:
            text += f" där {condition_text(pattern.if_)}"
        if pattern.match:
            pairs = ", ".join(f"{k} = {v}" for k, v in pattern.match.items())
            text += f"; kopplad till utlösande händelse: {pairs}"
        if pattern.any_case:
            text += "; från vilket ärende som helst"
        return text

    def escalation(self, esc: Escalation) -> str:
        if esc.to is not None:
            target = self.role(esc.to)
        else:
            levels = esc.levels_up or 1
            target = f"{levels} {'nivå' if levels == 1 else 'nivåer'} upp i linjen"
        return f"{offset_text(esc.after)}: till {target} – {esc.description}"

    def interpretation_field(self, text: str | None, reason: str) -> _Field:
        value = f"«{text}» – {reason}" if text else reason
        return _Field(INTERPRETATION_LABEL, value, note=True)

    def add(self, *blocks: _Block) -> None:
        self.blocks.extend(blocks)

    # ---- sections

    def build(self) -> list[_Block]:
        self.metadata()
        self.roles()
        self.channels()
        self.units_and_schedules()
        self.preconditions()
        self.rules()
        self.queues()
        return self.blocks

    def metadata(self) -> None:
        r = self.routine
        self.add(_Heading(1, r.title))
        self.add(_Field("Rutin-id", f"`{r.id}`"), _Field("Version", r.version))
        self.add(_Field("Organisation", r.organisation))
        validity = f"från {r.valid_from.isoformat()}"
        validity += f" till och med {r.valid_to.isoformat()}" if r.valid_to else " (tills vidare)"
        self.add(_Field("Giltighet", validity))
        if r.supersedes is not None:
            self.add(_Field("Ersätter", f"`{r.supersedes.id}` version {r.supersedes.version}"))
        self.add(_Field("Ses över senast", r.review_by.isoformat() if r.review_by else "–"))
        self.add(_Field("Ägare", r.owner or "–"))
        self.add(_Field("Rättslig grund", ", ".join(r.legal_basis) or "–"))
        source = f"{r.source.title} (fil: {r.source.file})"
        if r.source.url:
            source += f", {r.source.url}"
        self.add(_Field("Källdokument", source))
        cal = r.calendar
        calendar = f"tidszon {cal.time_zone}, svenska arbetsdagar"
        if cal.closed_days:
            calendar += ", stängt " + ", ".join(d.isoformat() for d in cal.closed_days)
        self.add(_Field("Kalender", calendar))

        self.add(_Heading(2, "Dokumentets egna uppgifter"))
        record = r.document_record
        values = (
            [(label, getattr(record, key)) for key, label in _RECORD_SV.items()]
            if record is not None
            else []
        )
        written = [(label, value) for label, value in values if value is not None]
        if written:
            self.add(_Para("Som de står i dokumentet (inte tolkade):"))
            self.add(*(_Field(label, value) for label, value in written))
        else:
            self.add(_Para("Dokumentet anger inga egna uppgifter om upprättande eller översyn."))

        self.add(_Heading(2, "Tolkningar på rutinnivå"))
        if r.interpretations:
            for key, interp in r.interpretations.items():
                self.add(_Para(f"`{key}`:"), self.interpretation_field(interp.text, interp.reason))
        else:
            self.add(_Para("Inga – rutinens uppgifter följer dokumentets ord."))

    def roles(self) -> None:
        self.add(_Heading(2, "Roller"))
        rows = []
        for role_id, role in self.routine.roles.items():
            reach = "; ".join(_reach_text(x) for x in role.reachable) or "–"
            boss = self.role(role.reports_to) if role.reports_to else "–"
            rows.append((f"`{role_id}`", role.label, role.unit, reach, boss))
        self.add(_Table(("Id", "Benämning", "Enhet", "Nås", "Rapporterar till"), tuple(rows)))

    def channels(self) -> None:
        self.add(_Heading(2, "Kanaler"))
        if not self.routine.channels:
            self.add(_Para("Inga kanaler angivna."))
            return
        rows = tuple(
            (
                f"`{cid}`",
                c.label,
                _CHANNEL_KINDS_SV[c.kind],
                c.system or "–",
                c.where_to_find or "–",
            )
            for cid, c in self.routine.channels.items()
        )
        self.add(_Table(("Id", "Benämning", "Slag", "System", "Var uppgifterna finns"), rows))

    def units_and_schedules(self) -> None:
        r = self.routine
        if r.units:
            self.add(_Heading(2, "Enheter"))
            units = tuple((f"`{uid}`", u.label, u.description or "–") for uid, u in r.units.items())
            self.add(_Table(("Id", "Benämning", "Beskrivning"), units))
        if r.schedules:
            self.add(_Heading(2, "Scheman"))
            rows = tuple(
                (
                    f"`{sid}`",
                    s.label,
                    schedule_text(s),
                    ", ".join(r.units[u].label if u in r.units else u for u in s.units),
                )
                for sid, s in r.schedules.items()
            )
            self.add(_Table(("Id", "Benämning", "När", "Enheter"), rows))

    def preconditions(self) -> None:
        if not self.routine.preconditions:
            return
        self.add(_Heading(2, "Förutsättningar"))
        for pid, pre in self.routine.preconditions.items():
            self.add(_Heading(3, f"{pre.label} (`{pid}`)"))
            self.add(_Field("Gäller när", condition_text(pre.holds)))
            remedy = f"{pre.remedy.description} ({_ACTION_KINDS_SV[pre.remedy.kind]})"
            if pre.remedy.responsible:
                remedy += f"; ansvarig: {self.role(pre.remedy.responsible)}"
            if pre.remedy.channel:
                remedy += f"; kanal: {self.channel(pre.remedy.channel)}"
            self.add(_Field("Annars", remedy))
            if pre.source is not None:
                self.add(_Quote(pre.source.quote, pre.source.section))

    def rules(self) -> None:
        self.add(_Heading(2, "Regler"))
        for rule in self.routine.rules:
            self.rule(rule)

    def rule(self, rule: Rule) -> None:
        a = rule.action
        self.add(_Heading(3, f"{rule.title} (`{rule.id}`)"))
        when = self.event(rule.when.event_type)
        if rule.when.if_ is not None:
            when += f", om {condition_text(rule.when.if_)}"
        self.add(_Field("När", when))
        self.add(_Field("Om inte", condition_text(rule.unless) if rule.unless else "–"))
        if rule.requires:
            names = []
            for pid in rule.requires:
                pre = self.routine.preconditions.get(pid)
                names.append(f"{pre.label} (`{pid}`)" if pre else f"`{pid}`")
            self.add(_Field("Kräver", "; ".join(names)))
        else:
            self.add(_Field("Kräver", "–"))
        self.add(_Field("Vad", f"{a.description} ({_ACTION_KINDS_SV[a.kind]})"))
        self.add(_Field("Ansvarig", self.role(a.responsible)))
        if a.levels_up is not None:
            self.add(_Field("Nivåer upp i linjen", str(a.levels_up)))
        self.add(_Field("Mottagare", "; ".join(self.role(x) for x in a.recipients) or "–"))
        self.add(_Field("Kanal", self.channel(a.channel) if a.channel else "–"))
        if a.record:
            self.add(_Field("Dokumenteras i", a.record))
        if a.content:
            self.add(_Field("Innehåll", ""), _List(tuple(a.content)))
        schedules = self.routine.schedules
        self.add(_Field("Senast", timespec_text(rule.deadline, schedules)))
        if rule.opens is not None:
            self.add(_Field("Öppnar", timespec_text(rule.opens, schedules)))
        self.add(
            _Field("Uppfylls av", ""), _List(tuple(self.pattern(p) for p in rule.fulfilled_by))
        )
        if rule.cancelled_by:
            self.add(
                _Field("Avbryts av", ""), _List(tuple(self.pattern(p) for p in rule.cancelled_by))
            )
        if rule.escalation:
            self.add(
                _Field("Eskalering", ""), _List(tuple(self.escalation(e) for e in rule.escalation))
            )
        self.add(_Field("Källa", ""), _Quote(rule.source.quote, rule.source.section))
        if rule.interpretation is not None:
            i = rule.interpretation
            self.add(self.interpretation_field(i.text, i.reason))
        else:
            self.add(_Field("Tolkning", NO_INTERPRETATION))

    def queues(self) -> None:
        if not self.routine.queues:
            return
        self.add(_Heading(2, "Köer"))
        for qid, q in self.routine.queues.items():
            self.add(_Heading(3, f"{q.label} (`{qid}`)"))
            joins = []
            for j in q.joins:
                text = f"prioritet {j.priority}: {j.label} – {self.event(j.event)}"
                if j.if_ is not None:
                    text += f" där {condition_text(j.if_)}"
                joins.append(text)
            self.add(_Field("Ställs i kö av", ""), _List(tuple(joins)))
            if q.leaves:
                self.add(
                    _Field("Lämnar kön vid", ""),
                    _List(tuple(self.event(x.event) for x in q.leaves)),
                )
            self.add(_Field("Erbjudande", ""), _List(tuple(self.event(x.event) for x in q.offers)))
            self.add(_Field("Källa", ""), _Quote(q.source.quote, q.source.section))
            if q.interpretation is not None:
                i = q.interpretation
                self.add(self.interpretation_field(i.text, i.reason))
            else:
                self.add(_Field("Tolkning", NO_INTERPRETATION))


# --------------------------------------------------------------------------- markdown

_CODE = re.compile(r"`([^`]+)`")


# '<' opens a tag and '&' an entity; '>' alone does neither, so "a -> b" stays readable.
_MD_SPECIAL = re.compile(r"[&<]")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;"}


def _md(text: str) -> str:
    """Text for Markdown with HTML shown, not passed through: ``&`` and ``<`` become
    entities outside `code spans` (inside them Markdown shows everything as written).

    Examples:
        >>> _md("<script>alert(1)</script> & a -> b i `<kod>`")
        '&lt;script>alert(1)&lt;/script> &amp; a -> b i `<kod>`'
    """
    out: list[str] = []
    last = 0
    for code in _CODE.finditer(text):
        out.append(_MD_SPECIAL.sub(lambda m: _MD_ENTITIES[m.group()], text[last : code.start()]))
        out.append(code.group())
        last = code.end()
    out.append(_MD_SPECIAL.sub(lambda m: _MD_ENTITIES[m.group()], text[last:]))
    return "".join(out)


def _md_cell(text: str) -> str:
    return _md(" ".join(text.split())).replace("|", "\\|")


def _md_block(block: _Block) -> str:
    if isinstance(block, _Heading):
        return "#" * block.level + " " + _md(" ".join(block.text.split()))
    if isinstance(block, _Field):
        line = f"**{_md(block.label)}:** {_md(' '.join(block.value.split()))}".rstrip()
        return f"> ⚠ {line}" if block.note else line
    if isinstance(block, _Para):
        return _md(block.text)
    if isinstance(block, _Table):
        lines = [
            "| " + " | ".join(_md_cell(h) for h in block.headers) + " |",
            "|" + "|".join("---" for _ in block.headers) + "|",
        ]
        lines.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows)
        return "\n".join(lines)
    if isinstance(block, _List):
        return "\n".join("- " + _md(" ".join(item.split())) for item in block.items)
    quote = [f"> {_md(line)}".rstrip() for line in block.text.strip().splitlines()]
    return "\n".join([*quote, ">", f"> — {_md(block.cite)}"])


def render_markdown(routine: CompiledRoutine) -> str:
    """The routine as Markdown (Swedish headings); deterministic, ending in one newline."""
    blocks = _Builder(routine).build()
    return "\n\n".join(_md_block(b) for b in blocks) + "\n"


# --------------------------------------------------------------------------- html

_CSS = """\
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;\
line-height:1.45;color:#222}
h1{font-size:1.6rem}h2{border-bottom:1px solid #ccc;margin-top:2rem}h3{margin-top:1.6rem}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.3rem .5rem;\
text-align:left;vertical-align:top}th{background:#f2f2f2}
code{background:#f4f4f4;padding:0 .2rem}
blockquote{border-left:4px solid #7a9cc6;margin:.5rem 0;padding:.2rem 1rem;background:#f5f8fc}
blockquote footer{font-size:.9rem;color:#555}
p.interpretation{border-left:4px solid #d9a400;background:#fff8e1;padding:.3rem .8rem}"""


def _inline(text: str) -> str:
    """Escape text for HTML, then turn `ids` into <code>."""
    return _CODE.sub(r"<code>\1</code>", html.escape(text))


def _html_block(block: _Block) -> str:
    if isinstance(block, _Heading):
        return f"<h{block.level}>{_inline(block.text)}</h{block.level}>"
    if isinstance(block, _Field):
        cls = ' class="interpretation"' if block.note else ""
        mark = "⚠ " if block.note else ""
        return (
            f"<p{cls}>{mark}<strong>{html.escape(block.label)}:</strong> "
            f"{_inline(block.value)}</p>".replace(" </p>", "</p>")
        )
    if isinstance(block, _Para):
        return f"<p>{_inline(block.text)}</p>"
    if isinstance(block, _Table):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
        rows = "\n".join(
            "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in block.rows
        )
        return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>"
    if isinstance(block, _List):
        items = "\n".join(f"<li>{_inline(item)}</li>" for item in block.items)
        return f"<ul>\n{items}\n</ul>"
    return (
        f"<blockquote><p>{html.escape(block.text.strip())}</p>"
        f"<footer>— {html.escape(block.cite)}</footer></blockquote>"
    )


def render_html(routine: CompiledRoutine) -> str:
    """The same content as :func:`render_markdown`, as one self-contained HTML page."""
    blocks = _Builder(routine).build()
    title = html.escape(routine.routine.title)
    body = "\n".join(_html_block(b) for b in blocks)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="sv">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )
