"""Event checks: each event type's declared fields compiled into one checking closure.

An event whose data lacks a required field, or holds a value of the wrong kind, is reported
with the field's path before any rule sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

from samverkan_rules.compile.conditions import _MISSING, EventCheck
from samverkan_rules.diagnostics import (
    N_,
    Diagnostic,
    Level,
    Message,
    Text,
    did_you_mean,
    mask_personal_numbers,
)
from samverkan_rules.events.model import Event
from samverkan_rules.language.literals import (
    _is_iso_date,
    _is_time,
    _is_timestamp,
    impossible_date,
    unknown_address,
)
from samverkan_rules.language.models.base import EventType, FieldSpec
from samverkan_rules.time.calendar import (
    WorkingCalendar,
)
from samverkan_rules.time.instants import (
    parse_rfc3339,
)


def _calendar_check(kind: str, calendar: WorkingCalendar) -> Callable[[Any], Text | None]:
    """:func:`_field_check` for a date or timestamp: real, and inside the calendar."""
    covered = f"{calendar.first_day.isoformat()}..{calendar.last_day.isoformat()}"
    if kind == "date":

        def check_date(v: Any) -> Text | None:
            if (bad := impossible_date(v)) is not None:
                return N_(
                    "must be a real date: {problem}, got {value}", problem=bad[0], value=repr(v)
                )
            if not _is_iso_date(v):
                return N_("must be a real date like 2026-12-28, got {value}", value=repr(v))
            if not calendar.first_day <= date.fromisoformat(v) <= calendar.last_day:
                return N_(
                    "is outside the calendar the routine counts in ({covered}), got {value}",
                    covered=covered,
                    value=repr(v),
                )
            return None

        return check_date

    def check_timestamp(v: Any) -> Text | None:
        if not _is_timestamp(v):
            return N_(
                "must be a timestamp with offset like 2026-12-28T13:30:00+01:00, got {value}",
                value=repr(v),
            )
        if not calendar.first_day <= parse_rfc3339(v).date() <= calendar.last_day:
            return N_(
                "is outside the calendar the routine counts in ({covered}), got {value}",
                covered=covered,
                value=repr(v),
            )
        return None

    return check_timestamp


def _field_check(
    spec: FieldSpec, roles: frozenset[str], calendar: WorkingCalendar
) -> Callable[[Any], Text | None]:
    """A function returning None for a valid value, else what is wrong with it."""
    kind = spec.type
    if kind == "string":
        return lambda v: None if isinstance(v, str) else N_("must be a string")
    if kind in ("date", "datetime"):
        return _calendar_check(kind, calendar)
    if kind == "time":
        return lambda v: (
            None if _is_time(v) else N_("must be a time like 13:30, got {value}", value=repr(v))
        )
    if kind == "boolean":
        return lambda v: (
            None if isinstance(v, bool) else N_("must be true or false, got {value}", value=repr(v))
        )
    if kind == "integer":
        return lambda v: (
            None
            if isinstance(v, int) and not isinstance(v, bool)
            else (N_("must be a whole number, got {value}", value=repr(v)))
        )
    if kind == "number":
        return lambda v: (
            None
            if isinstance(v, (int, float)) and not isinstance(v, bool)
            else (N_("must be a number, got {value}", value=repr(v)))
        )
    if kind == "enum":
        allowed = tuple(spec.values or ())
        return lambda v: (
            None
            if v in allowed
            else (
                N_("must be one of {values}, got {value}", values=", ".join(allowed), value=repr(v))
            )
        )
    if kind == "role":
        return lambda v: (
            None
            if isinstance(v, str) and v
            else N_("must be a role or unit of the routine, got {value}", value=repr(v))
        )
    if kind == "roles":

        def check_roles(v: Any) -> Text | None:
            if isinstance(v, str):
                v = [v]
            if not isinstance(v, list) or not all(isinstance(r, str) and r for r in v):
                return N_(
                    "must be a list of roles or units of the routine, got {value}", value=repr(v)
                )
            return None

        return check_roles
    if kind == "event":
        return lambda v: None if isinstance(v, str) and v else N_("must be an event id")
    if kind == "object":
        return lambda v: None if isinstance(v, dict) else N_("must be a JSON object")
    return lambda v: None if isinstance(v, list) else N_("must be a list")


def _compile_event_check(
    name: str,
    spec: EventType,
    roles: frozenset[str],
    calendar: WorkingCalendar,
    units: frozenset[str] = frozenset(),
) -> EventCheck:
    checks = tuple((fname, f, _field_check(f, roles, calendar)) for fname, f in spec.fields.items())
    known = frozenset(spec.fields)
    addresses = roles | units
    references = tuple(
        fname for fname, f in spec.fields.items() if f.type in ("role", "roles") and addresses
    )

    def check(event: Event) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        data = event.data
        for fname, fspec, verify in checks:
            value = data.get(fname, _MISSING)
            if value is _MISSING or value is None:
                if fspec.required:
                    out.append(
                        _event_diag(
                            event,
                            "event.missing-field",
                            N_(
                                "{name} needs data.{fname} ({type})",
                                name=name,
                                fname=fname,
                                type=fspec.type,
                            ),
                            f"data.{fname}",
                        )
                    )
                continue
            problem = verify(value)
            if problem is not None:
                out.append(
                    _event_diag(
                        event,
                        "event.bad-field",
                        N_("data.{fname} {problem}", fname=fname, problem=problem),
                        f"data.{fname}",
                    )
                )
        out.extend(_address_warnings(event, references, addresses))
        if data.keys() <= known:
            return out
        for extra in sorted(set(data) - known):
            out.append(
                _event_diag(
                    event,
                    "event.unknown-field",
                    N_(
                        "{name} has no field {extra}; it is kept but not used",
                        name=name,
                        extra=repr(extra),
                    ),
                    f"data.{extra}",
                    level="warning",
                    hint=did_you_mean(extra, known),
                )
            )
        return out

    return check


def _address_warnings(
    event: Event, references: tuple[str, ...], addresses: frozenset[str]
) -> list[Diagnostic]:
    """Warnings for role fields of ``event`` that name no role or unit of the routine."""
    out: list[Diagnostic] = []
    for fname in references:
        value = event.data.get(fname)
        if type(value) is str:
            if value in addresses:
                continue  # the common cases: one known address, or a list of them
        elif type(value) is list and all(type(n) is str and n in addresses for n in value):
            continue
        for unknown in unknown_address(value, addresses):
            out.append(
                _event_diag(
                    event,
                    "event.unknown-address",
                    N_(
                        "data.{fname} names {unknown}, which is no role or unit of the routine; "
                        "it matches no obligation",
                        fname=fname,
                        unknown=mask_personal_numbers(repr(unknown)),
                    ),
                    f"data.{fname}",
                    level="warning",
                    hint=did_you_mean(unknown, addresses),
                )
            )
    return out


def undeclared_field_error(warning: Diagnostic) -> Diagnostic:
    """An ``event.unknown-field`` warning as the error of a check that takes declared
    fields only (the HTTP service); the same code, path and did-you-mean hint."""
    message = warning.message.split(";")[0] + "; only declared fields are taken"
    # The service answers in English: the warning's translatable text does not carry over.
    return replace(warning, level="error", message=message, text=None)


def _event_diag(
    event: Event,
    code: str,
    message: Message,
    path: str,
    *,
    level: Level = "error",
    hint: Message | None = None,
) -> Diagnostic:
    return Diagnostic.of(
        level,
        code,
        N_("event {id}: {message}", id=repr(event.id), message=message),
        file=event.file,
        line=event.line,
        path=path,
        hint=hint,
    )
