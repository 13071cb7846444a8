"""pydantic validation errors -> located diagnostics, for every YAML document we validate.

Routines and scenario files are both YAML validated by pydantic models. pydantic reports
where a problem is as a ``loc`` tuple, with names of union members mixed in; this module
walks the document to turn that into the real path, looks up its line and column, and
words the message for a policy author with a hint (the allowed keys, the nearest spelling).
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from samverkan_rules.diagnostics import Diagnostic, did_you_mean
from samverkan_rules.language.yaml import YamlDocument
from samverkan_rules.language.yaml_core import PathPart

Path = tuple[PathPart, ...]


_CONDITION_TAGS: Final = frozenset({"compare"})


_ABSENT: Final = object()


HINTS: Final[Mapping[str, str]] = {
    "extra_forbidden": "remove it, or check its spelling against the schema",
    "missing": "add it",
    "string_type": 'quote the value, e.g. "1"',
    "date_from_datetime_parsing": "write a real date as YYYY-MM-DD",
    "date_parsing": "write a real date as YYYY-MM-DD",
    "datetime_parsing": "write a time with its offset, e.g. 2026-12-15T12:00:00+01:00",
    "time_parsing": "write a time as HH:MM, e.g. 07:30",
    "int_parsing": "write a whole number",
    "int_type": "write a whole number",
    "greater_than_equal": "use a larger number",
    "less_than_equal": (
        "deadlines and escalations reach at most about ten years (the calendar covers "
        "1990-2100); use a smaller number"
    ),
    "string_pattern_mismatch": "use lower-case words joined by '-', '_' or '.'",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "list_type": "write a list, e.g. [a, b] or one '- item' per line",
    "dict_type": "write a mapping of 'key: value' entries",
    "model_type": "write a mapping of 'key: value' entries",
    "too_short": "write at least one entry",
    "string_too_short": "write some text",
}


def _is_tag(part: Any) -> bool:
    # pydantic names union members in ``loc``: 'compare', 'constrained-int', 'list[str]',
    # 'function-after[...]'. Document keys are snake_case words, so these never collide.
    return isinstance(part, str) and (part in _CONDITION_TAGS or "-" in part or "[" in part)


def strip_tags(loc: Sequence[Any], data: Any) -> Path:
    """Drop the union tags pydantic adds to ``loc`` so the path walks the real document.

    Examples:
        >>> strip_tags(("rules", 0, "when", "if", "compare", "field"),
        ...            {"rules": [{"when": {"if": {"field": 1}}}]})
        ('rules', 0, 'when', 'if', 'field')
    """
    out: list[PathPart] = []
    current = data
    for part in loc:
        if (isinstance(current, dict) and part in current) or (
            isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        ):
            out.append(part)
            current = current[part]
        elif _is_tag(part) or (current is not _ABSENT and not isinstance(current, dict | list)):
            continue  # a union tag, or a type name below a scalar value
        else:
            out.append(part)  # a key that is missing from the document
            current = _ABSENT
    return tuple(out)


def _members(annotation: Any) -> list[Any]:
    """The alternatives of a union (``X | None``, ``Annotated[Union[...], ...]``)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _members(arg)]
    return [annotation]


def _descend(annotation: Any, part: PathPart) -> Any:
    """The annotation found at ``part`` inside ``annotation``, or None."""
    found = []
    for member in _members(annotation):
        origin = get_origin(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            for name, info in member.model_fields.items():
                if part in (name, info.alias):
                    found.append(info.annotation)
        elif origin in (list, tuple) and isinstance(part, int):
            found.append(get_args(member)[0])
        elif origin is dict and isinstance(part, str):
            found.append(get_args(member)[1])
    return found[0] if len(found) == 1 else None


def allowed_keys(root: type[BaseModel], path: Sequence[PathPart]) -> list[str]:
    """The keys a mapping at ``path`` may have, for did-you-mean hints (empty if unknown).

    Examples:
        >>> from samverkan_rules.language.models.routine import Routine
        >>> "deadline" in allowed_keys(Routine, ("rules", 0))
        True
    """
    annotation: Any = root
    for part in path:
        annotation = _descend(annotation, part)
        if annotation is None:
            return []
    keys: set[str] = set()
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            keys.update(info.alias or name for name, info in member.model_fields.items())
    return sorted(keys)


def _value_at(data: Any, path: Sequence[PathPart]) -> Any:
    current = data
    for part in path:
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            return None
    return current


def located_errors(
    exc: ValidationError, doc: YamlDocument, root: type[BaseModel], *, prefix: str
) -> list[Diagnostic]:
    """One located diagnostic per place pydantic found wrong, with a hint.

    Args:
        exc: The validation error of ``root.model_validate(doc.data)``.
        doc: The YAML document, for positions and source lines.
        root: The model the document was validated against (for the allowed keys).
        prefix: The first part of each diagnostic's code, e.g. ``schema``.
    """
    out = []
    seen: set[Path] = set()
    for err in exc.errors(include_url=False):
        path = strip_tags(err["loc"], doc.data)
        if path in seen:
            continue  # one report per place: the other members of a union say the same
        seen.add(path)
        kind = err["type"]
        message = err["msg"].removeprefix("Value error, ")
        hint = HINTS.get(kind)
        own_hint = err.get("ctx", {}).get("hint")
        if isinstance(own_hint, str):  # a validator that knows what to write instead
            hint = own_hint
        elif kind == "extra_forbidden":
            name = str(path[-1]) if path else "?"
            message = f"unknown key {name!r}"
            allowed = allowed_keys(root, path[:-1])
            if allowed:
                hint = did_you_mean(name, allowed) or "the keys allowed here are " + ", ".join(
                    allowed
                )
        elif kind == "too_short" and isinstance(err.get("ctx", {}).get("min_length"), int):
            least = err["ctx"]["min_length"]
            hint = "write at least one entry" if least == 1 else f"write at least {least} entries"
        elif kind == "missing":
            message = f"missing required key {path[-1]!r}" if path else "missing value"
        elif kind == "literal_error":
            got = _value_at(doc.data, path)
            expected = err.get("ctx", {}).get("expected", "")
            message = f"{got!r} is not allowed; expected {expected}"
            if isinstance(got, str):
                hint = did_you_mean(got, re.findall(r"'([^']*)'", str(expected)))
        elif kind not in ("value_error",) and isinstance(
            err.get("input"), str | int | float | bool
        ):
            message = f"{message}, got {err['input']!r}"
        out.append(doc.diagnostic(path, f"{prefix}.{kind}", message, hint=hint))
    return out
