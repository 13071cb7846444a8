"""The JSON Schemas of the routine language, the event input, the evaluation output and the
audit report.

They are generated from the models (pydantic for the routine language, the input and the
audit report; ``msgspec`` structs for the evaluation's records), which stay the single
source of truth, and
committed under ``schemas/`` so that editors can offer completion in routine files (see the
``# yaml-language-server: $schema=...`` line at the top of each routine) and embedding
systems can check what they send and receive. ``samverkan schema --write schemas``
regenerates them; ``samverkan schema --check schemas`` (and the test suite) fails when a
committed file is stale.

:func:`render` makes the text byte-stable: sorted keys, two-space indent, UTF-8 kept as
is, one trailing newline.

Examples:
    >>> schema = routine_schema()
    >>> schema["$schema"]
    'https://json-schema.org/draft/2020-12/schema'
    >>> sorted(SCHEMAS)  # doctest: +NORMALIZE_WHITESPACE
    ['audit.schema.json', 'evaluation.schema.json', 'event.schema.json',
     'routine.schema.json', 'scenario.schema.json']
    >>> render({"b": 1, "a": "å"})
    '{\\n  "a": "å",\\n  "b": 1\\n}\\n'
"""

from __future__ import annotations

import ast
import inspect
import itertools
import json
import typing
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from samverkan_rules.audit.models import AuditReport
from samverkan_rules.language.models.conditions import AtForm
from samverkan_rules.language.models.routine import Routine
from samverkan_rules.records import EvaluationDocument, written_where_they_apply
from samverkan_rules.scenarios.spec import ScenarioFileSpec

DRAFT = "https://json-schema.org/draft/2020-12/schema"
"""The JSON Schema dialect every schema declares."""

_ID_PREFIX = "urn:samverkan-rules:schemas:"

# What calendar.parse_rfc3339 accepts: the offset is mandatory, naive times are errors.
_RFC3339_PATTERN = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$"

# What the routine models accept for a wall-clock time ('07:30', '13:30:00'). JSON Schema's
# "format": "time" means RFC 3339 full-time (seconds and an offset), so editors would
# flag every '07:30' a policy author writes; the pattern says what is really allowed.
_LOCAL_TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?$"


def schema_id(file_name: str) -> str:
    """The ``$id`` of the schema committed as ``file_name``.

    Examples:
        >>> schema_id("routine.schema.json")
        'urn:samverkan-rules:schemas:routine.schema.json'
    """
    return _ID_PREFIX + file_name


class EventRecord(BaseModel):
    """One input event: a fact about a case.

    A JSON Lines event file holds one such object per line; a CSV file has the columns
    id,case,type,at,data with data written as JSON. Whether the type is known and its data
    fits it is checked against the routine's event types at evaluation.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        title="samverkan-rules event",
    )

    id: str = Field(min_length=1, pattern=r"\S")
    """Unique within the input; a second, different event under the same id is rejected."""
    case: str = Field(min_length=1, pattern=r"\S")
    """The case (ärende) the event belongs to; unit-level events name the unit's case."""
    type: str = Field(min_length=1, pattern=r"\S", examples=["dagverksamhet.start_planned"])
    """An event type of the routine or of the shared vocabulary it uses."""
    at: str = Field(
        pattern=_RFC3339_PATTERN,
        json_schema_extra={"format": "date-time"},
        examples=["2026-12-01T09:00:00+01:00"],
    )
    """When it happened: an RFC 3339 timestamp with a UTC offset (naive times are errors)."""
    data: dict[str, Any] = Field(default_factory=dict)
    """The event type's fields, e.g. {"start_date": "2026-12-28"}; dates as YYYY-MM-DD."""


def _walk(node: Any, visit: Callable[[dict[str, Any]], None]) -> None:
    """Call ``visit`` on every JSON object in ``node``, depth first."""
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)


def _local_time_pattern(node: dict[str, Any]) -> None:
    if node.get("type") == "string" and node.get("format") == "time":
        del node["format"]
        node["pattern"] = _LOCAL_TIME_PATTERN


_PARAM_REF: dict[str, Any] = {
    "type": "string",
    "pattern": r"^param\.[a-z0-9][a-z0-9_-]*$",
    "description": "The value of a parameter declared under 'params'.",
}


def _numbers_take_params(schema: dict[str, Any]) -> None:
    # A number may be written as 'param.<name>' (resolved before validation); roles and
    # other identifiers already admit it through their pattern.
    found: list[dict[str, Any]] = []
    _walk(schema, lambda n: found.append(n) if n.get("type") in ("integer", "number") else None)
    for node in found:
        inner = {k: v for k, v in node.items() if k not in ("description", "title", "default")}
        for key in inner:
            del node[key]
        node["anyOf"] = [inner, dict(_PARAM_REF)]


def _output_objects(
    sometimes_absent: Mapping[str, frozenset[str]],
) -> Callable[[dict[str, Any]], None]:
    # Every field of the output is always written (null when empty), except those a model
    # writes only where they apply (``sometimes_absent``, by model title), and new fields
    # may be added in later versions: consumers can rely on the present ones, and a consumer
    # that validates with this schema keeps working when the output grows.
    def visit(node: dict[str, Any]) -> None:
        if node.get("type") == "object" and "properties" in node:
            absent = sometimes_absent.get(node.get("title", ""), frozenset())
            node["required"] = sorted(k for k in node["properties"] if k not in absent)
            node.pop("additionalProperties", None)

    return visit


def _attribute_docs(module: ModuleType) -> dict[str, dict[str, str]]:
    """The docstring under each annotated attribute of each class in ``module``'s source,
    by class and attribute name (what pydantic's ``use_attribute_docstrings`` reads)."""
    tree = ast.parse(inspect.getsource(module))
    docs: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        found = docs.setdefault(node.name, {})
        for item, after in itertools.pairwise(node.body):
            if (
                isinstance(item, ast.AnnAssign)
                and isinstance(item.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                found[item.target.id] = inspect.cleandoc(after.value.value)
    return docs


def _describe_records(defs: dict[str, Any], modules: Iterable[ModuleType]) -> None:
    """Describe each field of the records in ``defs`` (msgspec's schemas, by class name) by
    the docstring under it in the source of whichever of ``modules`` defines the class."""
    for module in modules:
        docs = _attribute_docs(module)
        for name, node in defs.items():
            cls = getattr(module, name, None)
            if name not in docs or not isinstance(cls, type):
                continue
            properties = node.get("properties", {})
            for field, text in docs[name].items():
                if field in properties:
                    properties[field]["description"] = text
            # A closed set of strings keeps the order it is declared in (msgspec sorts it).
            for field, hint in typing.get_type_hints(cls).items():
                if typing.get_origin(hint) is typing.Literal and field in properties:
                    properties[field]["enum"] = list(typing.get_args(hint))
                    properties[field]["type"] = "string"


def _describe_models(schema: dict[str, Any], root: type[BaseModel]) -> None:
    """Describe each field of ``root`` and of the models under ``$defs`` by the docstring
    under it in its class's source (or an ancestor's, for an inherited field), where the
    field does not describe itself: what pydantic's ``use_attribute_docstrings`` would
    write, read only when a schema is written (the routine models leave it off, since it
    parses their source at every import)."""
    nodes: dict[str, dict[str, Any]] = {**schema.get("$defs", {}), root.__name__: schema}
    docs: dict[ModuleType, dict[str, dict[str, str]]] = {}

    def doc(cls: type, name: str) -> str | None:
        for owner in cls.__mro__:
            module = inspect.getmodule(owner)
            if module is None or not issubclass(owner, BaseModel) or owner is BaseModel:
                continue
            if module not in docs:
                docs[module] = _attribute_docs(module)
            text = docs[module].get(owner.__name__, {}).get(name)
            if text is not None:
                return text
        return None

    for cls in _models(root):
        node = nodes.get(cls.__name__)
        if node is None:
            continue
        properties = node.get("properties", {})
        for name, field in cls.model_fields.items():
            key = field.alias or name
            text = doc(cls, name)
            if text is not None and key in properties and "description" not in properties[key]:
                properties[key]["description"] = text


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """``root`` and every model its fields hold, however deep (in unions, lists, dicts)."""
    found: dict[type[BaseModel], None] = {}

    def visit(hint: Any) -> None:
        if isinstance(hint, type) and issubclass(hint, BaseModel):
            if hint in found:
                return
            found[hint] = None
            for field in hint.model_fields.values():
                visit(field.annotation)
        for arg in typing.get_args(hint):
            visit(arg)

    visit(root)
    return list(found)


def _record_schema(root: type[Any]) -> dict[str, Any]:
    """The JSON Schema of an output record (a ``msgspec`` struct): the root record's
    properties at the top, the records it holds under ``$defs``, each field described by
    the docstring under it in the source."""
    found = msgspec.json.schema(root)
    defs: dict[str, Any] = found["$defs"]
    _describe_records(defs, [inspect.getmodule(root)])  # type: ignore[list-item]
    top = defs.pop(root.__name__)
    return {**top, "$defs": defs}


def record_components(
    records: Iterable[type[Any]], modules: Iterable[ModuleType], ref_template: str
) -> dict[str, Any]:
    """The JSON Schemas of ``records`` (``msgspec`` structs) and of the records they hold,
    by class name, with references written by ``ref_template`` (e.g.
    ``"#/components/schemas/{name}"``), each field described by the docstring under it in
    the source of whichever of ``modules`` defines it."""
    _, defs = msgspec.json.schema_components(list(records), ref_template=ref_template)
    _describe_records(defs, modules)
    _walk(defs, _reflow_description)
    return defs


def _reflow_description(node: dict[str, Any]) -> None:
    # Docstrings are wrapped for source files; editors show a description as it stands, so
    # lines are joined and only paragraph breaks kept.
    text = node.get("description")
    if isinstance(text, str):
        paragraphs = (" ".join(p.split()) for p in text.split("\n\n"))
        node["description"] = "\n\n".join(p for p in paragraphs if p)


def _finish(schema: dict[str, Any], file_name: str, title: str) -> dict[str, Any]:
    _walk(schema, _reflow_description)
    return {"$schema": DRAFT, "$id": schema_id(file_name), **schema, "title": title}


def _at_form(schema: dict[str, Any]) -> None:
    """Offer the ``at:`` condition wherever a condition may be written.

    The loader rewrites ``{at: {...}}`` into the comparisons it is short for before the
    condition models see it, so the models' own schema does not name it.
    """
    defs = schema.setdefault("$defs", {})
    defs["AtForm"] = AtForm.model_json_schema(by_alias=True)
    _describe_models(defs["AtForm"], AtForm)
    defs["AtCondition"] = {
        "type": "object",
        "description": "A condition on when the event happened, by the routine's calendar "
        "and clock.",
        "properties": {"at": {"$ref": "#/$defs/AtForm"}},
        "required": ["at"],
        "additionalProperties": False,
    }
    comparison = {"$ref": "#/$defs/Comparison"}

    def visit(node: dict[str, Any]) -> None:
        for key in ("oneOf", "anyOf"):
            options = node.get(key)
            if isinstance(options, list) and comparison in options:
                options.append({"$ref": "#/$defs/AtCondition"})

    _walk(schema, visit)


def routine_schema() -> dict[str, Any]:
    """The JSON Schema of a routine file (:class:`samverkan_rules.language.models.routine.Routine`).

    Keys are the YAML spellings (``from``, ``if``, ``not``, ``in``). Unknown keys are
    refused, as the loader refuses them. Meaning checks (every role a rule names is
    declared, ...) are beyond a schema; ``samverkan validate`` makes them.
    """
    schema = Routine.model_json_schema(by_alias=True)
    _describe_models(schema, Routine)
    _at_form(schema)
    _walk(schema, _local_time_pattern)
    _numbers_take_params(schema)
    return _finish(schema, "routine.schema.json", "samverkan-rules routine")


def event_schema() -> dict[str, Any]:
    """The JSON Schema of one input event (a JSON Lines record)."""
    schema = EventRecord.model_json_schema()
    return _finish(schema, "event.schema.json", "samverkan-rules event")


def evaluation_schema() -> dict[str, Any]:
    """The JSON Schema of the evaluation output (:class:`samverkan_rules.Evaluation`).

    This is the public contract embedding systems parse. Every property is required (the
    output always writes every field) except ``responsible_party``, written only for rules
    whose responsible is a case fact, and a case's ``periods``, written only when it has
    some; further properties may appear in later versions.
    """
    schema = _record_schema(EvaluationDocument)
    _walk(schema, _output_objects(written_where_they_apply()))
    return _finish(schema, "evaluation.schema.json", "samverkan-rules evaluation")


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario test file (``routines/tests/<routine-id>/*.yaml``).

    Each scenario file names it on its first line, so editors offer completion for the
    keys of events and expectations. Whether the rules and obligations it names exist is
    checked when the scenario runs (``samverkan test``).
    """
    # Imported here: the scenario models live with the runner, which needs the engine.

    schema = ScenarioFileSpec.model_json_schema(by_alias=True)
    return _finish(schema, "scenario.schema.json", "samverkan-rules scenario file")


def audit_schema() -> dict[str, Any]:
    """The JSON Schema of ``report.json``, the audit report (:class:`AuditReport`).

    A public contract like the evaluation output: every property is required, and further
    properties may appear in later versions.
    """
    schema = AuditReport.model_json_schema(mode="serialization", by_alias=True)
    _walk(schema, _output_objects({}))
    return _finish(schema, "audit.schema.json", "samverkan-rules audit report")


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "routine.schema.json": routine_schema,
    "event.schema.json": event_schema,
    "evaluation.schema.json": evaluation_schema,
    "audit.schema.json": audit_schema,
    "scenario.schema.json": scenario_schema,
}
"""Each committed schema file's name and the function that generates it."""


def render(schema: dict[str, Any]) -> str:
    """The schema as byte-stable JSON text: sorted keys, indent 2, UTF-8, a final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
