"""What every YAML module shares: the limits, the core schema's tags and patterns, and
positions with the path-to-text formatting used in diagnostics.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, NoReturn, TypeAlias

from samverkan_rules.diagnostics import N_, Diagnostic, Message, Text
from samverkan_rules.errors import YamlError

PathPart: TypeAlias = str | int


Path: TypeAlias = tuple[PathPart, ...]


MAX_BYTES: Final = 1024 * 1024


"""Largest routine file, in bytes (the largest bundled routine is about 50 KB)."""


MAX_ALIASES: Final = 200


"""Most alias uses (``*name``) in one document."""


MAX_NODES: Final = 20_000


"""Most values in one document once aliases are expanded (the largest bundled routine
has about 2,300); PyYAML composes some 50,000 values a second, so refusal is quick."""


MAX_DEPTH: Final = 64


"""Deepest nesting of lists and mappings (a routine needs fewer than ten levels)."""


ENV_LIMITS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "max_bytes": "SAMVERKAN_YAML_MAX_BYTES",
        "max_nodes": "SAMVERKAN_YAML_MAX_NODES",
        "max_aliases": "SAMVERKAN_YAML_MAX_ALIASES",
        "max_depth": "SAMVERKAN_YAML_MAX_DEPTH",
    }
)


"""The environment variable that raises (or lowers) each limit."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How much YAML is read before it is refused; each limit is checked as input grows.

    Attributes:
        max_bytes: Largest text or file, in UTF-8 bytes; a file is measured before it is read.
        max_nodes: Most values once aliases are expanded, counted while composing.
        max_aliases: Most alias uses.
        max_depth: Deepest nesting of lists and mappings.
    """

    max_bytes: int = MAX_BYTES
    max_nodes: int = MAX_NODES
    max_aliases: int = MAX_ALIASES
    max_depth: int = MAX_DEPTH

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The defaults, with any ``SAMVERKAN_YAML_MAX_*`` variable applied.

        Raises:
            YamlError: A variable is set to something other than a whole number >= 1.

        Examples:
            >>> Limits.from_env({"SAMVERKAN_YAML_MAX_NODES": "50000"}).max_nodes
            50000
        """
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for field_name, variable in ENV_LIMITS.items():
            raw = env.get(variable)
            if raw is None or not raw.strip():
                continue
            try:
                value = int(raw.strip().replace("_", ""))
            except ValueError:
                value = 0
            if value < 1:
                _fail(
                    None,
                    Diagnostic.of(
                        "error",
                        "yaml.limit-setting",
                        N_(
                            "{variable} must be a whole number >= 1, got {raw}",
                            variable=variable,
                            raw=repr(raw),
                        ),
                        hint=N_("unset {variable} to use the default", variable=variable),
                    ),
                )
            values[field_name] = value
        return cls(**values)


def _raise_hint(variable: str, advice: Message) -> Text:
    return N_(
        "{advice}, or raise the limit with the environment variable {variable}=N",
        advice=advice,
        variable=variable,
    )


_TAG_PREFIX: Final = "tag:yaml.org,2002:"


_STR: Final = _TAG_PREFIX + "str"


_INT: Final = _TAG_PREFIX + "int"


_FLOAT: Final = _TAG_PREFIX + "float"


_BOOL: Final = _TAG_PREFIX + "bool"


_NULL: Final = _TAG_PREFIX + "null"


_MAP: Final = _TAG_PREFIX + "map"


_SEQ: Final = _TAG_PREFIX + "seq"


_SCALAR_TAGS: Final = frozenset({_STR, _INT, _FLOAT, _BOOL, _NULL})


# YAML 1.2.2, section 10.3.2 (core schema), tag resolution table.
_NULL_RE: Final = re.compile(r"(?:~|null|Null|NULL|)\Z")


_BOOL_RE: Final = re.compile(r"(?:true|True|TRUE|false|False|FALSE)\Z")


_INT_RE: Final = re.compile(r"(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z")


_FLOAT_RE: Final = re.compile(
    r"(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)"
    r"|\.(?:nan|NaN|NAN))\Z"
)


# The line breaks PyYAML counts in its marks; ``lines`` must split the same way. (A comment,
# though, ends only at \r or \n, as YAML 1.2 says: see _CoreLoader.scan_to_next_token.)
_LINE_BREAK: Final = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")


_IDENTIFIER_LIKE: Final = re.compile(r"[^\W\d][\w.\-]*\Z")


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the source text.

    Attributes:
        line: 1-based line number.
        column: 1-based column, counted in characters.
    """

    line: int
    column: int


def format_path(path: Sequence[PathPart]) -> str:
    """Render a document path the way diagnostics show it.

    List indices are written in brackets; keys are joined with dots, or written as
    ``["..."]`` when they do not look like an identifier (spaces, a leading digit, empty).

    Args:
        path: Keys and list indices from the document root, e.g. a pydantic ``loc``.

    Returns:
        The path as text; the empty path gives ``""``.

    Examples:
        >>> format_path(("rules", 3, "deadline", "working_days"))
        'rules[3].deadline.working_days'
        >>> format_path(("roles", "hemvard.driftsplanerare", "name"))
        'roles.hemvard.driftsplanerare.name'
        >>> format_path(("labels", "på svenska", 0))
        'labels["på svenska"][0]'
        >>> format_path(())
        ''
    """
    out: list[str] = []
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out.append(f"[{part}]")
        elif _IDENTIFIER_LIKE.match(text := str(part)):
            out.append(f".{text}" if out else text)
        else:
            out.append(f"[{json.dumps(text, ensure_ascii=False)}]")
    return "".join(out)


def _fail(file: str | None, *diagnostics: Diagnostic) -> NoReturn:
    where = f"'{file}'" if file else "the YAML text"
    raise YamlError(f"cannot load {where}", diagnostics)
