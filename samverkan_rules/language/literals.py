"""Literal values checked against a field's declared type: dates, times, timestamps,
enumerations and addresses, with a did-you-mean where a value looks misspelt.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, time
from typing import Any, Final

from samverkan_rules.diagnostics import N_, Text, did_you_mean
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


_MONTHS: Final = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)

_ISO_DATE: Final = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")


def impossible_date(value: object) -> tuple[Text, Text] | None:
    """What is wrong with a ``YYYY-MM-DD`` date that is shaped right but does not exist.

    Examples:
        >>> [str(t) for t in impossible_date("2026-02-30")]
        ['February 30 does not exist', 'the last day of February 2026 is 2026-02-28']
        >>> str(impossible_date("2026-13-01")[0]), str(impossible_date("2024-02-98")[0])
        ('there is no month 13', 'there is no day 98 in any month')
        >>> impossible_date("2026-02-28") is None
        True
    """
    found = _ISO_DATE.match(value) if isinstance(value, str) else None
    if found is None:
        return None
    year, month, day = (int(g) for g in found.groups())
    if not 1 <= month <= 12:
        return N_("there is no month {month}", month=month), N_("write the month as 01 to 12")
    last = calendar.monthrange(year, month)[1] if year >= 1 else 31
    if 1 <= day <= last:
        return None
    name = _MONTHS[month - 1]
    if not 1 <= day <= 31:
        message = N_("there is no day {day} in any month", day=day)
    elif month == 2 and day == 29:
        message = N_("February 29 does not exist in {year}, which is no leap year", year=year)
    else:
        message = N_("{month} {day} does not exist", month=name, day=day)
    last_day = f"{year:04d}-{month:02d}-{last:02d}"
    hint = N_("the last day of {month} {year} is {date}", month=name, year=year, date=last_day)
    return message, hint


def _time_problem(kind: str, value: Any) -> tuple[Text, Text | None] | None:
    """:func:`literal_problem` for a date, time or timestamp field."""
    if kind == "date":
        if _is_iso_date(value):
            return None
        if (bad := impossible_date(value)) is not None:
            return N_("is a date field; {problem}", problem=bad[0]), bad[1]
        return (
            N_(
                "is a date field; write a real date like 2026-12-28, got {value}", value=repr(value)
            ),
            None,
        )
    if kind == "time":
        if _is_time(value):
            return None
        return (
            N_(
                'is a time field; write a local time like "12:00" (quoted), got {value}',
                value=repr(value),
            ),
            None,
        )
    if _is_timestamp(value):
        return None
    return (
        N_(
            "is a timestamp field; write one with offset like 2026-12-28T13:30:00+01:00, "
            "got {value}",
            value=repr(value),
        ),
        None,
    )


def literal_problem(
    spec: FieldSpec, value: Any, addresses: frozenset[str]
) -> tuple[Text, Text | None] | None:
    """What is wrong with a condition's literal compared with a field, with a hint, or None.

    Checks the literal against the field's declared type: one of an enum's values, a
    boolean, a real date, a role or unit of the routine (``addresses``), a number.

    Examples:
        >>> from samverkan_rules.language.models.base import FieldSpec
        >>> kinds = FieldSpec(type="enum", values=["kommun", "region"])
        >>> message, hint = literal_problem(kinds, "kommunen", frozenset())
        >>> str(message), str(hint)
        ("is not one of the field's values (kommun, region), ...", "did you mean 'kommun'?")
        >>> print(literal_problem(FieldSpec(type="boolean"), "ja", frozenset())[0])
        is a boolean field; compare it with true or false, got 'ja'
    """
    kind = spec.type
    if value is None:
        return None
    if kind == "enum":
        allowed = list(spec.values or ())
        if value in allowed:
            return None
        return (
            N_(
                "is not one of the field's values ({values}), got {value}",
                values=", ".join(allowed),
                value=repr(value),
            ),
            did_you_mean(str(value), allowed),
        )
    if kind == "boolean":
        if isinstance(value, bool):
            return None
        return (
            N_("is a boolean field; compare it with true or false, got {value}", value=repr(value)),
            None,
        )
    if kind in ("date", "time", "datetime"):
        return _time_problem(kind, value)
    if kind in ("role", "roles"):
        if isinstance(value, str) and value in addresses:
            return None
        return (
            N_("names no role or unit of the routine, got {value}", value=repr(value)),
            did_you_mean(str(value), addresses) or N_("declare it under 'roles'"),
        )
    if kind in ("integer", "number"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return None
        return (
            N_("is a number field, got {value}", value=repr(value)),
            N_("write the number without quotes"),
        )
    if kind in ("string", "event", "time"):
        if isinstance(value, str):
            return None
        return (
            N_("is a text field, got {value}", value=repr(value)),
            N_("quote the value: '{value}'", value=value),
        )
    return None
