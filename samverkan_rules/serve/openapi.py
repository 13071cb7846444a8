"""The OpenAPI 3.1 document of the service, generated from the routes it serves.

Each route is registered with its declaration (:mod:`samverkan_rules.serve.operations`);
the document lists exactly those routes, with the parameters, bodies and answers they
declare. The schemas come from the code: the service's answers and error model
(:mod:`samverkan_rules.serve.answers`), the evaluation's records as
``schemas/evaluation.schema.json`` publishes them, and the input event as
``schemas/event.schema.json`` does, with the event types each served routine uses as an
enum of its own.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec
from starlette.routing import BaseRoute

from samverkan_rules import records
from samverkan_rules._version import version
from samverkan_rules.language.models.base import EventType, FieldSpec
from samverkan_rules.live.routed import RoutineSessions
from samverkan_rules.schemas import evaluation_schema, event_schema, record_components
from samverkan_rules.serve import answers
from samverkan_rules.serve.answers import (
    PRINTABLE_ID,
    ErrorAnswer,
    Parameters,
    PathIds,
    RequestId,
)
from samverkan_rules.serve.operations import Answer, Operation, TypedRoute

_REF = "#/components/schemas/{name}"

_ERRORS: Mapping[int, str] = {
    400: "a bad request: a query parameter, JSON that cannot be used, two Authorization "
    "headers, a body framed two ways, an id holding a control character",
    401: "no or a wrong bearer token",
    403: "the client lacks the scope the route needs",
    404: "an unknown routine, case, obligation, role or unit, subscription or dead letter",
    409: "an event id already used by other content, or a case erased and not reopened",
    413: "the body is too large, or holds too many events",
    422: "an unusable event (each problem with its index, line and field): a type the "
    "routine does not use, a data field its type does not declare, an event in the future, "
    "a case id that is a personnummer, a case past its event limit, an Idempotency-Key "
    "reused for another request",
}

_TOKEN_ERRORS = (400, 401, 403, 413)
"""What the token check and the body limit may answer on every route behind the token."""

_PARAMETER = re.compile(r"{(\w+)}")


def operations(routes: Iterable[BaseRoute]) -> list[Operation]:
    """The declarations of ``routes``, in their order.

    Raises:
        TypeError: for a route registered without a declaration.
    """
    out = []
    for r in routes:
        if not isinstance(r, TypedRoute):
            raise TypeError(f"the route {r!r} has no declaration (see serve/operations.py)")
        out.append(r.operation)
    return out


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(name=name)}


def _rehomed(node: Any) -> Any:
    """``node`` with its ``#/$defs/`` references pointing into the document's components."""
    if isinstance(node, dict):
        return {
            k: (
                v.replace("#/$defs/", "#/components/schemas/")
                if k == "$ref" and isinstance(v, str)
                else _rehomed(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rehomed(v) for v in node]
    return node


def _published_evaluation() -> dict[str, Any]:
    """The evaluation's records as ``schemas/evaluation.schema.json`` publishes them, by
    name, the evaluation itself as ``EvaluationDocument``."""
    schema = _rehomed(evaluation_schema())
    out: dict[str, Any] = schema.pop("$defs")
    for key in ("$schema", "$id"):
        schema.pop(key)
    out[records.EvaluationDocument.__name__] = {**schema, "title": "EvaluationDocument"}
    return out


_TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"

_ADDRESS: Mapping[str, Any] = {"type": "string", "minLength": 1}

_FIELD_SCHEMAS: Mapping[str, Mapping[str, Any]] = {
    "string": {"type": "string"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "time": {"type": "string", "pattern": _TIME_PATTERN},
    "boolean": {"type": "boolean"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "role": _ADDRESS,
    "roles": {"anyOf": [_ADDRESS, {"type": "array", "items": _ADDRESS}]},
    "event": {"type": "string", "minLength": 1},
    "object": {"type": "object", "additionalProperties": True},
    "list": {"type": "array", "items": {}},
}
"""Each field type of the event vocabulary as JSON Schema (what the event checks take)."""


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    """A ``data`` field's schema; an optional field may also be null (taken as absent)."""
    if spec.type == "enum":
        schema: dict[str, Any] = {"type": "string", "enum": list(spec.values or ())}
    else:
        schema = copy.deepcopy(dict(_FIELD_SCHEMAS[spec.type]))
    if not spec.required:
        schema = {"anyOf": [schema, {"type": "null"}]}
    if spec.description:
        schema["description"] = " ".join(spec.description.split())
    return schema


def _data_schema(name: str, spec: EventType) -> dict[str, Any]:
    """The ``data`` of an event type: only its declared fields (the service refuses others)."""
    out: dict[str, Any] = {
        "title": name,
        "description": f"The data of {spec.label!r}: only these fields are taken.",
        "type": "object",
        "properties": {f: _field_schema(fs) for f, fs in sorted(spec.fields.items())},
        "additionalProperties": False,
    }
    required = sorted(f for f, fs in spec.fields.items() if fs.required)
    if required:
        out["required"] = required
    return out


def served_event_types(sessions: RoutineSessions) -> dict[str, dict[str, EventType]]:
    """The event types each routine served uses, with their fields (a later version's
    declaration of a type wins)."""
    out: dict[str, dict[str, EventType]] = {}
    for routine in sessions.ids():
        used = sessions.used_types(routine)
        found: dict[str, EventType] = {}
        for compiled in sessions.versions(routine):
            found.update((t, spec) for t, spec in compiled.event_types.items() if t in used)
        out[routine] = found
    return out


def _event_components(event_types: Mapping[str, Mapping[str, EventType]]) -> dict[str, Any]:
    """The published event (``Event``) and, for each routine, the event a post to it takes:
    the case comes from the path (given, it must be the path's), the type one the routine
    uses, the data that type's fields (``EventData.<routine>.<type>``)."""
    published = event_schema()
    for key in ("$schema", "$id"):
        published.pop(key)
    out: dict[str, Any] = {"Event": {**published, "title": "Event"}}
    if event_types:
        out["RoutineId"] = {
            "title": "RoutineId",
            "description": "A routine the service serves (GET /routines).",
            "type": "string",
            "enum": sorted(event_types),
        }
    for routine, types in sorted(event_types.items()):
        variants = {}
        for name, spec in sorted(types.items()):
            variant = f"{_posted_name(routine)}.{name}"
            data = variant.replace("PostedEvent.", "EventData.", 1)
            out[data] = _data_schema(data, spec)
            out[variant] = _posted_variant(published, variant, name, data, out[data])
            variants[name] = _ref(variant)["$ref"]
        out[_posted_name(routine)] = {
            "title": _posted_name(routine),
            "description": f"An event of a case that follows {routine}: one of the types it "
            "uses, with that type's data.",
            "oneOf": [{"$ref": ref} for ref in variants.values()],
            "discriminator": {"propertyName": "type", "mapping": variants},
        }
    return out


def _posted_variant(
    published: Mapping[str, Any], title: str, name: str, data: str, data_schema: Mapping[str, Any]
) -> dict[str, Any]:
    """A posted event of the type ``name``, its data the ``data`` component."""
    posted = copy.deepcopy(dict(published))
    posted["title"] = title
    posted["description"] = f"An event of the type {name}."
    posted["required"] = [k for k in published["required"] if k != "case"]
    if "required" in data_schema:
        posted["required"].append("data")
    properties = posted["properties"]
    properties["id"]["pattern"] = PRINTABLE_ID  # the service refuses a control character
    properties["case"]["description"] = (
        "Optional: the path names the case; given, it must be the path's."
    )
    properties["type"] = {"type": "string", "const": name}
    properties["data"] = _ref(data)
    return posted


def _posted_name(routine: str) -> str:
    """The component name of the event a post to ``routine`` takes."""
    return "PostedEvent." + re.sub(r"[^A-Za-z0-9._-]", "_", routine)


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema without the null an absent value stands for."""
    options = schema.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1:
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            return {**kept[0], **rest}
    return schema


def _parameters(group: type[Parameters], names: Iterable[str] | None = None) -> list[Any]:
    """The parameters a struct declares (only ``names``, in their order, when given)."""
    _, defs = msgspec.json.schema_components([group], ref_template=_REF)
    node = defs[group.__name__]
    properties: dict[str, Any] = node["properties"]
    required = set(node.get("required", ()))
    out = []
    for name in properties if names is None else names:
        schema = _plain(dict(properties[name]))
        description = schema.pop("description", None)
        schema.pop("title", None)
        if schema.get("default", ...) is None:  # absent, not null
            del schema["default"]
        parameter: dict[str, Any] = {
            "name": name,
            "in": group.where,
            "required": group.where == "path" or name in required,
            "schema": schema,
        }
        if description:
            parameter["description"] = description
        if schema.get("type") == "array":
            parameter.update(style="form", explode=True)
        out.append(parameter)
    return out


_REQUEST_ID_HEADER = {
    "description": "the request's id: the one it gave, or one made for it",
    "schema": {"type": "string"},
}


def _answer(answer: Answer) -> dict[str, Any]:
    """An answer's description and content."""
    if isinstance(answer.body, tuple):
        schema: Any = {"anyOf": [_ref(t.__name__) for t in answer.body]}
    elif answer.body is not None:
        schema = _ref(answer.body.__name__)
    else:
        schema = dict(answer.schema or {})
    return {"description": answer.description, "content": {answer.media: {"schema": schema}}}


def _operation(op: Operation, routines: Sequence[str]) -> dict[str, Any]:
    """One route's operation object."""
    parameters = _parameters(PathIds, _PARAMETER.findall(op.path))
    for p in parameters:
        if p["name"] == "routine" and routines:
            p["schema"] = _ref("RoutineId")
    for group in op.parameters:
        parameters.extend(_parameters(group))
    parameters.extend(_parameters(RequestId))
    errors = (*(_TOKEN_ERRORS if op.security != "none" else ()), *op.errors)
    error = {"application/json": {"schema": _ref(ErrorAnswer.__name__)}}
    responses: dict[str, Any] = {"200": _answer(op.ok)}
    for status in sorted(set(errors)):
        responses[str(status)] = {"description": _ERRORS[status], "content": error}
    for status, answer in op.other.items():
        responses[str(status)] = _answer(answer)
    for answer in responses.values():
        answer["headers"] = {"X-Request-ID": _REQUEST_ID_HEADER}
    out: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary}
    if parameters:
        out["parameters"] = parameters
    if op.events:
        out["requestBody"] = _events_body(routines)
    out["responses"] = responses
    if op.security == "none":
        out["security"] = []
    elif op.security == "token-or-key":
        out["security"] = [{"bearer": []}, {"calendarKey": []}]
    return out


def _events_body(routines: Sequence[str]) -> dict[str, Any]:
    """A post's body: one event of the routine, or an array of them."""
    options = [_ref(_posted_name(r)) for r in routines]
    event: dict[str, Any] = options[0] if len(options) == 1 else {"anyOf": options}
    return {
        "required": True,
        "description": "One event or an array of events (at most --max-events); the type "
        "must be one the path's routine uses",
        "content": {
            "application/json": {
                "schema": {"anyOf": [event, {"type": "array", "items": event, "minItems": 1}]}
            }
        },
    }


def openapi(
    routes: Iterable[BaseRoute], event_types: Mapping[str, Mapping[str, EventType]]
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the service serving ``routes`` over routines that use
    ``event_types`` (by routine id; see :func:`served_event_types`).

    Examples:
        >>> from samverkan_rules.serve.operations import HEALTHZ, route
        >>> async def ok(request): ...
        >>> doc = openapi([route(HEALTHZ, ok)], {})
        >>> doc["paths"]["/healthz"]["get"]["responses"]["200"]["content"]
        {'application/json': {'schema': {'$ref': '#/components/schemas/Health'}}}
    """
    declared = operations(routes)
    routines = sorted(event_types)
    bodies: list[type[Any]] = [ErrorAnswer]
    for op in declared:
        for answer in (op.ok, *op.other.values()):
            found = answer.body if isinstance(answer.body, tuple) else (answer.body,)
            bodies.extend(t for t in found if t is not None)
    schemas = record_components(bodies, [records, answers], _REF)
    schemas.update(_published_evaluation())
    schemas.update(_event_components(event_types))
    paths: dict[str, Any] = {}
    for op in declared:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, routines)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "samverkan-rules live service",
            "version": version(),
            "description": "Post case events as they happen; ask what is due. Every route "
            "names the routine the case follows. Generated from the routes the service "
            "serves and the records they answer with.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "calendarKey": {"type": "apiKey", "in": "query", "name": "key"},
            },
            "schemas": dict(sorted(schemas.items())),
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
