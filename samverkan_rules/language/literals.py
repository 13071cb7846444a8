"""Literal values checked against a field's declared type: dates, times, timestamps,
enumerations and addresses, with a did-you-mean where a value looks misspelt.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from samverkan_rules.diagnostics import did_you_mean
from samverkan_rules.errors import CalendarError
from samverkan_rules.language.models.base import FieldSpec
from samverkan_rules.time.instants import (
    parse_rfc3339,
)


def _is_iso_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_rfc3339(value)
    except CalendarError:
        return False
    return True


def _is_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        time.fromisoformat(value)
    except ValueError:
        return False
    return True


def unknown_address(value: Any, addresses: frozenset[str]) -> list[str]:
    """The names in a role or roles value that are no role or unit of the routine.

    Examples:
        >>> unknown_address(["hemvard", "hemvrd"], frozenset({"hemvard", "dagverksamhet"}))
        ['hemvrd']
    """
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [n for n in names if isinstance(n, str) and n not in addresses]


def literal_problem(
    spec: FieldSpec, value: Any, addresses: frozenset[str]
) -> tuple[str, str | None] | None:
    """What is wrong with a condition's literal compared with a field, with a hint, or None.

    Checks the literal against the field's declared type: one of an enum's values, a
    boolean, a real date, a role or unit of the routine (``addresses``), a number.

    Examples:
        >>> from samverkan_rules.language.models.base import FieldSpec
        >>> kinds = FieldSpec(type="enum", values=["kommun", "region"])
        >>> message, hint = literal_problem(kinds, "kommunen", frozenset())
        >>> message, hint
        ("is not one of the field's values (kommun, region), ...", "did you mean 'kommun'?")
        >>> print(literal_problem(FieldSpec(type="boolean"), "ja", frozenset()))
        ("is a boolean field; compare it with true or false, got 'ja'", None)
    """
    kind = spec.type
    if value is None:
        return None
    if kind == "enum":
        allowed = list(spec.values or ())
        if value in allowed:
            return None
        return (
            f"is not one of the field's values ({', '.join(allowed)}), got {value!r}",
            did_you_mean(str(value), allowed),
        )
    if kind == "boolean":
        if isinstance(value, bool):
            return None
        return f"is a boolean field; compare it with true or false, got {value!r}", None
    if kind == "date":
        if _is_iso_date(value):
            return None
        return f"is a date field; write a real date like 2026-12-28, got {value!r}", None
    if kind == "time":
        if _is_time(value):
            return None
        return (
            f'is a time field; write a local time like "12:00" (quoted), got {value!r}',
            None,
        )
    if kind == "datetime":
        if _is_timestamp(value):
            return None
        return (
            f"is a timestamp field; write one with offset like 2026-12-28T13:30:00+01:00, "
            f"got {value!r}",
            None,
        )
    if kind in ("role", "roles"):
        if isinstance(value, str) and value in addresses:
            return None
        return (
            f"names no role or unit of the routine, got {value!r}",
            did_you_mean(str(value), addresses) or "declare it under 'roles'",
        )
    if kind in ("integer", "number"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return None
        return f"is a number field, got {value!r}", "write the number without quotes"
    if kind in ("string", "event", "time"):
        if isinstance(value, str):
            return None
        return f"is a text field, got {value!r}", f"quote the value: '{value}'"
    return None
