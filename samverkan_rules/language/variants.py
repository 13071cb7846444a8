"""Parameters and variants: a routine's ``params:`` and a file that ``extends:`` another.

Both are resolved on the YAML data before the routine is validated, so the result is
validated as a whole, exactly like a routine written out in one file:

* ``extends: <path>`` (relative to the file) names the routine a regional or municipal
  variant builds on. The variant's top-level keys replace the base's; ``params``,
  ``roles``, ``channels``, ``facts``, ``preconditions``, ``event_types``,
  ``extend_event_types``, ``action_kinds``, ``units``, ``schedules``, ``queues``,
  ``periods`` and ``interpretations`` are merged entry by entry (the variant's entry
  replaces the base's);
  ``rules`` are merged by id (a rule with a base rule's id replaces it in place, others
  are added at the end). A base may itself extend another.
* ``params: {name: {type, default, ...}}`` declares typed values; ``param.<name>`` written
  wherever a number, a role or another value is written is replaced by the parameter's
  value. A variant overrides a parameter with a mapping (merged into the declaration) or
  a bare value (its new default).

Every finding keeps its provenance: :class:`MergedDocument` locates a path in the file
that wrote it, and a value that came from a parameter says so.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samverkan_rules.diagnostics import N_, Diagnostic, Level, Message, did_you_mean
from samverkan_rules.language.yaml import YamlDocument
from samverkan_rules.language.yaml_core import PathPart

MERGED_SECTIONS: tuple[str, ...] = (
    "params",
    "roles",
    "channels",
    "facts",
    "preconditions",
    "event_types",
    "extend_event_types",
    "action_kinds",
    "units",
    "schedules",
    "queues",
    "periods",
    "interpretations",
)


"""Top-level mappings a variant merges entry by entry into its base."""


Path_ = tuple[PathPart, ...]


Origin = tuple[YamlDocument, Path_]


Loader = Callable[[str], YamlDocument]


@dataclass(frozen=True)
class MergedDocument(YamlDocument):
    """A routine merged from a variant and its bases, locating each path where it was written.

    Attributes:
        origins: For a path prefix, the document and the path in it that wrote it.
        from_params: For a path holding a parameter's value, the parameter's name.
        sources: The texts of every file merged, variant first (hashed into the routine).
    """

    origins: Mapping[Path_, Origin] = field(default_factory=dict)
    from_params: Mapping[Path_, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def rule_files(self, rules: Sequence[Any]) -> dict[str, str]:
        """The file that wrote each rule (by id), when a variant's rules come from several."""
        out: dict[str, str] = {}
        for i, rule in enumerate(rules):
            doc, _ = self.origin(("rules", i))
            if doc.file is not None:
                out[rule.id] = doc.file
        return out if len(set(out.values())) > 1 else {}

    def origin(self, path: Sequence[PathPart]) -> tuple[YamlDocument, Path_]:
        """The document that wrote ``path`` and the path there."""
        current = tuple(path)
        for cut in range(len(current), -1, -1):
            found = self.origins.get(current[:cut])
            if found is not None:
                doc, prefix = found
                return doc, (*prefix, *current[cut:])
        return self, current

    def diagnostic(
        self,
        path: Sequence[PathPart],
        code: str,
        message: Message,
        *,
        hint: Message | None = None,
        level: Level = "error",
    ) -> Diagnostic:
        """A diagnostic located in the file that wrote ``path``, naming a parameter's value."""
        for cut in range(len(path), 0, -1):
            name = self.from_params.get(tuple(path[:cut]))
            if name is not None:
                message = N_("{message} (the value of param.{name})", message=message, name=name)
                break
        doc, there = self.origin(path)
        if doc is self:
            return YamlDocument.diagnostic(self, path, code, message, hint=hint, level=level)
        return doc.diagnostic(there, code, message, hint=hint, level=level)


def _merge(
    base: dict[str, Any],
    base_origins: dict[Path_, Origin],
    variant: YamlDocument,
) -> tuple[dict[str, Any], dict[Path_, Origin]]:
    data = copy.deepcopy(base)
    origins = dict(base_origins)
    for key, value in variant.data.items():
        if key == "extends":
            continue
        if key in MERGED_SECTIONS and isinstance(value, dict) and isinstance(data.get(key), dict):
            section = data[key]
            for name, entry in value.items():
                if (
                    key == "params"
                    and isinstance(section.get(name), dict)
                    and not isinstance(entry, dict)
                ):
                    section[name] = {**section[name], "default": entry}
                    origins[(key, name, "default")] = (variant, (key, name))
                    continue
                if key == "params" and isinstance(section.get(name), dict):
                    section[name] = {**section[name], **entry}
                else:
                    section[name] = copy.deepcopy(entry)
                _drop(origins, (key, name))
                origins[(key, name)] = (variant, (key, name))
        elif key == "rules" and isinstance(value, list) and isinstance(data.get(key), list):
            rules = data[key]
            index = {r.get("id"): i for i, r in enumerate(rules) if isinstance(r, dict)}
            for j, rule in enumerate(value):
                rid = rule.get("id") if isinstance(rule, dict) else None
                i = index.get(rid) if rid is not None else None
                if i is None:
                    i = len(rules)
                    rules.append(copy.deepcopy(rule))
                else:
                    rules[i] = copy.deepcopy(rule)
                _drop(origins, ("rules", i))
                origins[("rules", i)] = (variant, ("rules", j))
        else:
            data[key] = copy.deepcopy(value)
            _drop(origins, (key,))
            origins[(key,)] = (variant, (key,))
    return data, origins


def _drop(origins: dict[Path_, Origin], prefix: Path_) -> None:
    for path in [p for p in origins if p[: len(prefix)] == prefix]:
        del origins[path]


def beside(doc: YamlDocument, ref: str) -> str:
    """The path ``ref`` names when ``doc`` writes it: relative to ``doc``'s file (an
    ``extends:`` base, a schedule's ``plan:``)."""
    here = Path(doc.file).parent if doc.file else Path()
    return str(here / ref)


def _chain(
    doc: YamlDocument, load: Loader, problems: list[Diagnostic]
) -> list[YamlDocument] | None:
    """The documents from the root base to ``doc``, or None after a reported problem."""
    chain = [doc]
    seen = {str(Path(doc.file).resolve()) if doc.file else ""}
    current = doc
    while isinstance(current.data, dict) and "extends" in current.data:
        ref = current.data["extends"]
        if not isinstance(ref, str) or not ref:
            problems.append(
                current.diagnostic(
                    ("extends",),
                    "routine.extends",
                    N_("'extends' must name the routine file this one builds on"),
                    hint=N_("e.g. extends: ../utskrivning-sluten-vard.yaml"),
                )
            )
            return None
        target = beside(current, ref)
        key = str(Path(target).resolve())
        if key in seen:
            problems.append(
                current.diagnostic(
                    ("extends",),
                    "routine.extends-cycle",
                    N_("'extends' goes round in a circle back to {target}", target=repr(target)),
                    hint=N_("let the base routine extend nothing"),
                )
            )
            return None
        seen.add(key)
        try:
            base = load(target)
        except Exception as exc:
            problems.append(
                current.diagnostic(
                    ("extends",),
                    "routine.extends-unreadable",
                    N_(
                        "cannot read the base routine {target}: {exc}", target=repr(target), exc=exc
                    ),
                    hint=N_("give a path relative to this file"),
                )
            )
            return None
        if not isinstance(base.data, dict):
            problems.append(
                base.diagnostic((), "routine.not-mapping", N_("a routine must be a YAML mapping"))
            )
            return None
        chain.append(base)
        current = base
    chain.reverse()
    return chain


def _substitute(
    data: Any,
    path: Path_,
    params: Mapping[str, Any],
    found: dict[Path_, str],
    unknown: list[tuple[Path_, str]],
) -> Any:
    if isinstance(data, dict):
        return {k: _substitute(v, (*path, k), params, found, unknown) for k, v in data.items()}
    if isinstance(data, list):
        return [_substitute(v, (*path, i), params, found, unknown) for i, v in enumerate(data)]
    if isinstance(data, str) and data.startswith("param."):
        name = data.removeprefix("param.")
        spec = params.get(name)
        if not isinstance(spec, dict) or "default" not in spec:
            unknown.append((path, name))
            return data
        found[path] = name
        return spec["default"]
    return data


def resolve_variant(doc: YamlDocument, load: Loader) -> tuple[YamlDocument, list[Diagnostic]]:
    """Merge ``doc`` with the routines it extends and put in its parameters' values.

    Args:
        doc: The routine file as loaded.
        load: Loads a base routine file by path (raising when it cannot be read).

    Returns:
        The document to validate (``doc`` itself when it uses neither construct) and the
        problems found while resolving (unknown parameters, unreadable bases, cycles).
    """
    if not isinstance(doc.data, dict):
        return doc, []
    problems: list[Diagnostic] = []
    uses_params = "params" in doc.data or "extends" in doc.data
    if not uses_params and not _mentions_param(doc.data):
        return doc, []
    chain = _chain(doc, load, problems)
    if chain is None:
        return doc, problems
    data: dict[str, Any] = {}
    origins: dict[Path_, Origin] = {}
    for part in chain:
        data, origins = _merge(data, origins, part)
    if len(chain) > 1:
        data["extends"] = doc.data["extends"]
        origins[("extends",)] = (doc, ("extends",))
    params = data.get("params") if isinstance(data.get("params"), dict) else {}
    found: dict[Path_, str] = {}
    unknown: list[tuple[Path_, str]] = []
    resolved = {
        k: (v if k == "params" else _substitute(v, (k,), params or {}, found, unknown))
        for k, v in data.items()
    }
    merged = MergedDocument(
        data=resolved,
        file=doc.file,
        lines=doc.lines,
        value_positions=doc.value_positions,
        key_positions=doc.key_positions,
        origins=origins,
        from_params=found,
        sources=tuple(document_text(d) for d in reversed(chain)),
    )
    for path, name in unknown:
        problems.append(
            merged.diagnostic(
                path,
                "routine.unknown-param",
                N_("unknown parameter 'param.{name}'", name=name),
                hint=did_you_mean(name, params or {}) or N_("declare it under 'params'"),
            )
        )
    return merged, problems


def document_text(doc: YamlDocument) -> str:
    """A loaded document's text, as hashed into the routine."""
    return "\n".join(doc.lines)


def _mentions_param(data: Any) -> bool:
    if isinstance(data, dict):
        return any(_mentions_param(v) for v in data.values())
    if isinstance(data, list):
        return any(_mentions_param(v) for v in data)
    return isinstance(data, str) and data.startswith("param.")
