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
from samverkan_rules.diagnostics import Diagnostic, Level, did_you_mean, mask_personal_numbers
from samverkan_rules.events.model import Event
from samverkan_rules.language.literals import _is_iso_date, _is_time, _is_timestamp, unknown_address
from samverkan_rules.language.models.base import EventType, FieldSpec
from samverkan_rules.time.calendar import (
    WorkingCalendar,
)
from samverkan_rules.time.instants import (
    parse_rfc3339,
)


def _field_check(
    spec: FieldSpec, roles: frozenset[str], calendar: WorkingCalendar
) -> Callable[[Any], str | None]:
    """A function returning None for a valid value, else what is wrong with it."""
    kind = spec.type
    if kind == "string":
        return lambda v: None if isinstance(v, str) else "must be a string"
    covered = f"{calendar.first_day.isoformat()}..{calendar.last_day.isoformat()}"
    if kind == "date":

        def check_date(v: Any) -> str | None:
            if not _is_iso_date(v):
                return f"must be a real date like 2026-12-28, got {v!r}"
            if not calendar.first_day <= date.fromisoformat(v) <= calendar.last_day:
                return f"is outside the calendar the routine counts in ({covered}), got {v!r}"
            return None

        return check_date
    if kind == "datetime":

        def check_timestamp(v: Any) -> str | None:
            if not _is_timestamp(v):
                return f"must be a timestamp with offset like 2026-12-28T13:30:00+01:00, got {v!r}"
            if not calendar.first_day <= parse_rfc3339(v).date() <= calendar.last_day:
                return f"is outside the calendar the routine counts in ({covered}), got {v!r}"
            return None

        return check_timestamp
    if kind == "time":
        return lambda v: None if _is_time(v) else f"must be a time like 13:30, got {v!r}"
    if kind == "boolean":
        return lambda v: None if isinstance(v, bool) else f"must be true or false, got {v!r}"
    if kind == "integer":
        return lambda v: (
            None
            if isinstance(v, int) and not isinstance(v, bool)
            else (f"must be a whole number, got {v!r}")
        )
    if kind == "number":
        return lambda v: (
            None
            if isinstance(v, (int, float)) and not isinstance(v, bool)
            else (f"must be a number, got {v!r}")
        )
    if kind == "enum":
        allowed = tuple(spec.values or ())
        return lambda v: (
            None if v in allowed else (f"must be one of {', '.join(allowed)}, got {v!r}")
        )
    if kind == "role":
        return lambda v: (
            None
            if isinstance(v, str) and v
            else f"must be a role or unit of the routine, got {v!r}"
        )
    if kind == "roles":

        def check_roles(v: Any) -> str | None:
            if isinstance(v, str):
                v = [v]
            if not isinstance(v, list) or not all(isinstance(r, str) and r for r in v):
                return f"must be a list of roles or units of the routine, got {v!r}"
            return None

        return check_roles
    if kind == "event":
        return lambda v: None if isinstance(v, str) and v else "must be an event id"
    if kind == "object":
        return lambda v: None if isinstance(v, dict) else "must be a JSON object"
    return lambda v: None if isinstance(v, list) else "must be a list"


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
                            f"{name} needs data.{fname} ({fspec.type})",
                            f"data.{fname}",
                        )
                    )
                continue
            problem = verify(value)
            if problem is not None:
                out.append(
                    _event_diag(
                        event, "event.bad-field", f"data.{fname} {problem}", f"data.{fname}"
                    )
                )
        for fname in references:
            value = data.get(fname)
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
                        mask_personal_numbers(
                            f"data.{fname} names {unknown!r}, which is no role or unit of the "
                            "routine; it matches no obligation"
                        ),
                        f"data.{fname}",
                        level="warning",
                        hint=did_you_mean(unknown, addresses),
                    )
                )
        if data.keys() <= known:
            return out
        for extra in sorted(set(data) - known):
            out.append(
                _event_diag(
                    event,
                    "event.unknown-field",
                    f"{name} has no field {extra!r}; it is kept but not used",
                    f"data.{extra}",
                    level="warning",
                    hint=did_you_mean(extra, known),
                )
            )
        return out

    return check


def undeclared_field_error(warning: Diagnostic) -> Diagnostic:
    """An ``event.unknown-field`` warning as the error of a check that takes declared
    fields only (the HTTP service); the same code, path and did-you-mean hint."""
    message = warning.message.split(";")[0] + "; only declared fields are taken"
    return replace(warning, level="error", message=message)


def _event_diag(
    event: Event,
    code: str,
    message: str,
    path: str,
    *,
    level: Level = "error",
    hint: str | None = None,
) -> Diagnostic:
    return Diagnostic(
        level,
        code,
        f"event {event.id!r}: {message}",
        file=event.file,
        line=event.line,
        path=path,
        hint=hint,
    )
