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

from samverkan_rules.diagnostics import N_, Diagnostic, Message, Text, closest, did_you_mean
from samverkan_rules.language.literals import impossible_date
from samverkan_rules.language.yaml import YamlDocument
from samverkan_rules.language.yaml_core import PathPart

Path = tuple[PathPart, ...]


_CONDITION_TAGS: Final = frozenset({"compare"})


_ABSENT: Final = object()


HINTS: Final[Mapping[str, Text]] = {
    "extra_forbidden": N_("remove it, or check its spelling against the schema"),
    "missing": N_("add it"),
    "string_type": N_('quote the value, e.g. "1"'),
    "date_from_datetime_parsing": N_("write a real date as YYYY-MM-DD"),
    "date_parsing": N_("write a real date as YYYY-MM-DD"),
    "datetime_parsing": N_("write a time with its offset, e.g. 2026-12-15T12:00:00+01:00"),
    "time_parsing": N_("write a time as HH:MM, e.g. 07:30"),
    "int_parsing": N_("write a whole number"),
    "int_type": N_("write a whole number"),
    "greater_than_equal": N_("use a larger number"),
    "less_than_equal": N_(
        "deadlines and escalations reach at most about ten years (the calendar covers "
        "1990-2100); use a smaller number"
    ),
    "string_pattern_mismatch": N_("use lower-case words joined by '-', '_' or '.'"),
    "bool_type": N_("write true or false"),
    "bool_parsing": N_("write true or false"),
    "list_type": N_("write a list, e.g. [a, b] or one '- item' per line"),
    "dict_type": N_("write a mapping of 'key: value' entries"),
    "model_type": N_("write a mapping of 'key: value' entries"),
    "too_short": N_("write at least one entry"),
    "string_too_short": N_("write some text"),
}


MESSAGES: Final[Mapping[str, Text]] = {
    "model_type": N_("Input should be a valid dictionary or instance of {class_name}"),
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "string_type": N_("Input should be a valid string"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "dict_type": N_("Input should be a valid dictionary"),
    "list_type": N_("Input should be a valid list"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "date_type": N_("Input should be a valid date"),
    "time_type": N_("Input should be a valid time"),
    "datetime_type": N_("Input should be a valid datetime"),
}
"""pydantic's messages, by error type, as catalog entries: the English is pydantic's own
template (so ``--lang en`` reads as before), filled in from the error's ``ctx``."""


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


def _pydantic_message(err: Mapping[str, Any]) -> Message:
    """pydantic's message, translatable when its type is one :data:`MESSAGES` knows."""
    raw = str(err["msg"]).removeprefix("Value error, ")
    ctx = err.get("ctx") or {}
    error = ctx.get("error")
    if isinstance(error, ValueError) and error.args and isinstance(error.args[0], Text):
        return error.args[0]  # a model's own check, worded as translatable text
    known = MESSAGES.get(err["type"])
    if known is not None:
        names = re.findall(r"\{(\w+)\}", known.msgid)
        if all(n in ctx for n in names):
            text = N_(known.msgid, **{n: ctx[n] for n in names})
            if str(text) == raw:  # the same words as this pydantic version's
                return text
    if err["type"] == "too_short" and ctx.get("field_type") == "List":
        least, got = ctx.get("min_length"), ctx.get("actual_length")
        text = (
            N_("List should have at least 1 item after validation, not {got}", got=got)
            if least == 1
            else N_(
                "List should have at least {least} items after validation, not {got}",
                least=least,
                got=got,
            )
        )
        if str(text) == raw:
            return text
    return raw


def _misspelt_required(errors: Sequence[tuple[Path, Mapping[str, Any]]]) -> dict[Path, str]:
    """Unknown keys that are a near spelling of a required key missing beside them.

    One misspelt key makes pydantic report two problems (an unknown key, a missing one);
    the author made one mistake, so it gets one error. Maps the unknown key's path to the
    required key it names.
    """
    missing: dict[Path, list[str]] = {}
    for path, err in errors:
        if err["type"] == "missing" and path:
            missing.setdefault(path[:-1], []).append(str(path[-1]))
    out: dict[Path, str] = {}
    for path, err in errors:
        if err["type"] == "extra_forbidden" and path and path[:-1] in missing:
            close = closest(str(path[-1]), missing[path[:-1]])
            if close is not None and close not in out.values():
                out[path] = close
    return out


def _located(
    path: Path, err: Mapping[str, Any], doc: YamlDocument, root: type[BaseModel]
) -> tuple[Message, Message | None]:
    """The message and hint for one pydantic error at ``path``."""
    kind = err["type"]
    message = _pydantic_message(err)
    hint: Message | None = HINTS.get(kind)
    ctx = err.get("ctx") or {}
    own_hint = ctx.get("hint")
    if isinstance(own_hint, str):  # a validator that knows what to write instead
        hint = own_hint
    elif kind == "extra_forbidden":
        name = str(path[-1]) if path else "?"
        message = N_("unknown key {name}", name=repr(name))
        allowed = allowed_keys(root, path[:-1])
        if allowed:
            hint = did_you_mean(name, allowed) or N_(
                "the keys allowed here are {keys}", keys=", ".join(allowed)
            )
    elif kind == "too_short" and isinstance(ctx.get("min_length"), int):
        least = ctx["min_length"]
        if least != 1:
            hint = N_("write at least {n} entries", n=least)
    elif kind == "missing":
        message = (
            N_("missing required key {name}", name=repr(path[-1])) if path else N_("missing value")
        )
    elif kind == "literal_error":
        got = _value_at(doc.data, path)
        expected = ctx.get("expected", "")
        message = N_(
            "{value} is not allowed; expected {expected}", value=repr(got), expected=expected
        )
        if isinstance(got, str):
            hint = did_you_mean(got, re.findall(r"'([^']*)'", str(expected)))
    elif (bad := impossible_date(err.get("input"))) is not None and kind.startswith("date"):
        message, hint = bad
    elif kind not in ("value_error",) and isinstance(err.get("input"), str | int | float | bool):
        message = N_("{message}, got {value}", message=message, value=repr(err["input"]))
    return message, hint


def located_errors(
    exc: ValidationError, doc: YamlDocument, root: type[BaseModel], *, prefix: str
) -> list[Diagnostic]:
    """One located diagnostic per place pydantic found wrong, with a hint.

    A date that is shaped right but does not exist says which day does not; an unknown key
    that is the misspelling of a missing required key is one error, not two.

    Args:
        exc: The validation error of ``root.model_validate(doc.data)``.
        doc: The YAML document, for positions and source lines.
        root: The model the document was validated against (for the allowed keys).
        prefix: The first part of each diagnostic's code, e.g. ``schema``.
    """
    errors = [(strip_tags(err["loc"], doc.data), err) for err in exc.errors(include_url=False)]
    misspelt = _misspelt_required(errors)
    named = {(*path[:-1], key) for path, key in misspelt.items()}
    out = []
    seen: set[Path] = set()
    for path, err in errors:
        if path in seen or (path in named and err["type"] == "missing"):
            continue  # one report per place: the other members of a union say the same
        seen.add(path)
        message, hint = _located(path, err, doc, root)
        if path in misspelt:
            hint = N_(
                "did you mean {name}? That key is required and missing", name=repr(misspelt[path])
            )
        out.append(doc.diagnostic(path, f"{prefix}.{err['type']}", message, hint=hint))
    return out
