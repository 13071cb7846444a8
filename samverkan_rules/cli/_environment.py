"""Options from environment variables: ``--some-option`` also from ``SAMVERKAN_SOME_OPTION``.

A service started by a container platform or a unit file is configured through its
environment more often than through its command line. :func:`from_environment` gives every
option of a parser a variable; :func:`apply_environment` fills in, after parsing, each option
the command line did not give from its variable (the command line wins), converted and
checked as the option's own value would be. A bad value is an error naming the variable.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from samverkan_rules.cli._common import CommandError

PREFIX = "SAMVERKAN_"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True, slots=True)
class _Option:
    """What one option's variable is and how its text becomes the option's value."""

    option: str
    variable: str
    default: Any
    required: bool
    kind: str  # "value", "flag" (store_true) or "list" (append)
    convert: Callable[[str], Any] | None
    choices: tuple[str, ...] | None


class _Unset:
    """The value of an option the command line did not give."""

    def __repr__(self) -> str:
        return "(unset)"


UNSET = _Unset()

ENVIRONMENT_DEST = "_environment_options"


def variable_of(option: str) -> str:
    """The environment variable of an option.

    Examples:
        >>> variable_of("--max-case-events")
        'SAMVERKAN_MAX_CASE_EVENTS'
    """
    return PREFIX + option.lstrip("-").upper().replace("-", "_")


def from_environment(parser: argparse.ArgumentParser) -> None:
    """Give every option of ``parser`` an environment variable, named in its help; a
    required option may come from its variable instead. Call after the options are added,
    and :func:`apply_environment` on the parsed arguments."""
    options: dict[str, _Option] = {}
    for action in parser._actions:
        if not action.option_strings or isinstance(action, argparse._HelpAction):
            continue
        option = max(action.option_strings, key=len)
        if isinstance(action, argparse._StoreTrueAction):
            kind = "flag"
        elif isinstance(action, argparse._AppendAction):
            kind = "list"
        else:
            kind = "value"
        variable = variable_of(option)
        convert = action.type if callable(action.type) else None
        options[action.dest] = _Option(
            option,
            variable,
            action.default,
            action.required,
            kind,
            convert,
            tuple(action.choices) if action.choices else None,
        )
        if kind != "list":  # an append action must start from None to append to
            action.default = UNSET
        action.required = False
        action.help = f"{action.help or ''} [env {variable}]".strip()
    parser.set_defaults(**{ENVIRONMENT_DEST: options})


def apply_environment(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, str]:
    """Fill in each option the command line did not give from its environment variable,
    else its default; answer where each value came from, for messages: ``SAMVERKAN_PORT``
    for a value from the environment, ``--port`` for any other, by destination.

    Raises:
        CommandError: naming the variable, for a value the option would refuse, or naming
            the option and the variable of a required option given by neither.
    """
    options: dict[str, _Option] = getattr(args, ENVIRONMENT_DEST, {})
    sources = {dest: spec.option for dest, spec in options.items()}
    for dest, spec in options.items():
        given = getattr(args, dest)
        if given is not UNSET and not (spec.kind == "list" and given is None):
            continue
        text = environ.get(spec.variable)
        if text is None:
            if spec.required:
                raise CommandError(
                    f"{spec.option} is required: give it on the command line or set {spec.variable}"
                )
            setattr(args, dest, spec.default)
            continue
        setattr(args, dest, _converted(spec, text))
        sources[dest] = spec.variable
    if hasattr(args, ENVIRONMENT_DEST):
        delattr(args, ENVIRONMENT_DEST)
    return sources


def _converted(spec: _Option, text: str) -> Any:
    """The value of ``spec``'s option written as ``text`` in its variable."""
    stripped = text.strip()
    if spec.kind == "flag":
        if stripped.lower() in _TRUE:
            return True
        if stripped.lower() in _FALSE:
            return False
        raise CommandError(f"{spec.variable}={text!r}: write true or false (or 1 or 0)")
    if spec.kind == "list":
        return [_one(spec, item.strip()) for item in stripped.split(",") if item.strip()]
    return _one(spec, stripped)


def _one(spec: _Option, text: str) -> Any:
    if spec.choices is not None and text not in spec.choices:
        raise CommandError(f"{spec.variable}={text!r}: choose one of {', '.join(spec.choices)}")
    if spec.convert is None:
        return text
    try:
        return spec.convert(text)
    except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
        detail = str(exc) if isinstance(exc, argparse.ArgumentTypeError) else "give a whole number"
        raise CommandError(
            f"{spec.variable}={text!r}: {detail} (the value of {spec.option})"
        ) from None
