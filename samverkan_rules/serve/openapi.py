"""The OpenAPI 3.1 document of the service, built from the same names the routes use."""

from __future__ import annotations

from typing import Any

from samverkan_rules._version import version
from samverkan_rules.status import STATUSES


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "hint": {"type": ["string", "null"]},
                    "diagnostics": {"type": "array", "items": {"type": "object"}},
                },
                "required": ["code", "message"],
            }
        },
    }


def _event_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["id", "type", "at"],
        "properties": {
            "id": {"type": "string"},
            "type": {"type": "string"},
            "at": {"type": "string", "description": "RFC 3339 with offset"},
            "data": {"type": "object"},
            "case": {"type": "string", "description": "optional; must equal the path's"},
        },
    }


def _errors(*codes: int) -> dict[str, Any]:
    """The error answers of a route, by HTTP status."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    texts = {
        400: "bad request (as_of, a query parameter, JSON, two Authorization headers)",
        401: "no or a wrong bearer token",
        403: "the client lacks the scope the route needs",
        404: "unknown routine, case or obligation",
        409: "an event id already used by other content, or a case erased and not reopened",
        413: "request body too large, or too many events in one post",
        422: "an unusable event (index, line, field): a type the routine does not use, "
        "a data field its type does not declare, an event in the future, a case id that is "
        "a personnummer, ...",
    }
    return {str(c): {"description": texts[c], "content": error} for c in codes}


def _post_events_operation(routine: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    event = {"$ref": "#/components/schemas/Event"}
    return {
        "summary": "Post one event or an array of events of a case, all or nothing",
        "parameters": [
            routine,
            case,
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "a key made for this request (e.g. a UUID): a retry with the "
                "same key and body gets the first answer again (header Idempotent-Replayed: "
                "true), for 24 hours; the same key with another body is 422",
                "schema": {"type": "string", "maxLength": 255},
            },
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"oneOf": [event, {"type": "array", "items": event}]}
                }
            },
        },
        "responses": {
            "200": {
                "description": "stored; the obligations that changed",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **_errors(400, 401, 404, 409, 413, 422),
        },
    }


_OUTPUT_PARAMETERS = [
    {
        "name": name,
        "in": "query",
        "required": False,
        "description": text,
        "schema": {"type": "boolean", "default": False},
    }
    for name, text in (
        ("ledger", "also each case's full ledger (fulfilled and cancelled obligations)"),
        ("trace", "each obligation's trace: the calendar steps of its deadline"),
    )
]


_FILTER_PARAMETERS = [
    {
        "name": "status",
        "in": "query",
        "required": False,
        "description": "only obligations with this status (repeat for several)",
        "schema": {"type": "array", "items": {"type": "string", "enum": list(STATUSES)}},
        "style": "form",
        "explode": True,
    },
    {
        "name": "responsible",
        "in": "query",
        "required": False,
        "description": "only obligations of this role",
        "schema": {"type": "string"},
    },
    *(
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": text,
            "schema": {"type": "string", "format": "date-time"},
        }
        for name, text in (
            ("deadline_before", "only obligations whose deadline is earlier"),
            ("deadline_after", "only obligations whose deadline is at or after"),
        )
    ),
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "at most this many cases",
        "schema": {"type": "integer", "minimum": 1, "maximum": 10000},
    },
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "the trailer's next_cursor of the page before",
        "schema": {"type": "string"},
    },
]


def _evaluation_paths(
    routine: dict[str, Any], case: dict[str, Any], as_of: dict[str, Any]
) -> dict[str, Any]:
    """The routes that evaluate at an instant: one case, every case, one obligation."""
    obligation = {
        "name": "obligation",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    return {
        "/routines/{routine}/cases/{case}/due": {
            "get": {
                "summary": "The evaluation of one case (schemas/evaluation.schema.json)",
                "parameters": [routine, case, as_of, *_OUTPUT_PARAMETERS],
                "responses": {"200": {"description": "the evaluation"}, **_errors(400, 401, 404)},
            }
        },
        "/routines/{routine}/due": {
            "get": {
                "summary": "Every case's result, one JSON object a line, then a trailer line "
                '{"trailer": {"count", "as_of", "next_cursor"}}',
                "parameters": [routine, as_of, *_OUTPUT_PARAMETERS, *_FILTER_PARAMETERS],
                "responses": {
                    "200": {"description": "JSON Lines", "content": {"application/x-ndjson": {}}},
                    **_errors(400, 401, 404),
                },
            }
        },
        "/routines/{routine}/obligations/{obligation}/explain": {
            "get": {
                "summary": "How an obligation's deadline and status were reached",
                "parameters": [routine, obligation, as_of],
                "responses": {
                    "200": {"description": "as samverkan explain --format json"},
                    **_errors(400, 401, 404),
                },
            }
        },
    }


def _calendar_paths(routine: dict[str, Any], as_of: dict[str, Any]) -> dict[str, Any]:
    """A role's or unit's calendar feed, and the keyed link to it."""
    who = {
        "name": "who",
        "in": "path",
        "required": True,
        "description": "a role (e.g. hemvard.driftsplanerare) or a unit (e.g. hemvard)",
        "schema": {"type": "string"},
    }
    key = {
        "name": "key",
        "in": "query",
        "required": False,
        "description": "the link's key, in place of the bearer token (opens this feed only)",
        "schema": {"type": "string"},
    }
    return {
        "/routines/{routine}/calendar/{who}.ics": {
            "get": {
                "summary": "The open obligations of a role or unit as an iCalendar feed "
                "(RFC 5545), one event at each deadline",
                "security": [{"bearer": []}, {}],
                "parameters": [routine, who, key, as_of],
                "responses": {
                    "200": {"description": "iCalendar", "content": {"text/calendar": {}}},
                    **_errors(400, 401, 404),
                },
            }
        },
        "/routines/{routine}/calendar/{who}": {
            "get": {
                "summary": 'The link of a calendar feed, with its key: {"routine", "for", "path"}',
                "parameters": [routine, who],
                "responses": {"200": {"description": "the link"}, **_errors(401, 404)},
            }
        },
    }


def _changes_path(routine: dict[str, Any]) -> dict[str, Any]:
    """The change log: what posts and ticks reported, by sequence number."""

    def number(name: str, text: str, low: int, high: int | None = None) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer", "minimum": low}
        if high is not None:
            schema["maximum"] = high
        return {
            "name": name,
            "in": "query",
            "required": False,
            "description": text,
            "schema": schema,
        }

    return {
        "/routines/{routine}/changes": {
            "get": {
                "summary": "The changes posts and ticks reported after a sequence number "
                '(also across restarts): {"changes": [{"seq", "at", "kind", "case", '
                '"obligation", "rule", "before", "after", "cause", "record"}], "next_after", '
                '"more"}',
                "parameters": [
                    routine,
                    number("after", "the last sequence number seen (default 0: from the start)", 0),
                    number("limit", "at most this many changes (default 1000)", 1, 10_000),
                    {
                        "name": "case",
                        "in": "query",
                        "required": False,
                        "description": "only this case's changes",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {"200": {"description": "the changes"}, **_errors(400, 401, 404)},
            }
        },
        "/routines/{routine}/changes/stream": {
            "get": {
                "summary": "The change log as Server-Sent Events, live: each change an event "
                "(id: its sequence number, event: change, data: the change's JSON), including "
                "what time alone changed (a deadline passing), announced when it happens",
                "parameters": [
                    routine,
                    number("after", "resume after this sequence number (default 0)", 0),
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": False,
                        "description": "resume after this sequence number (an EventSource sends "
                        "it when it reconnects); wins over after",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "case",
                        "in": "query",
                        "required": False,
                        "description": "only this case's changes",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {"description": "the stream", "content": {"text/event-stream": {}}},
                    **_errors(400, 401, 404),
                },
            }
        },
    }


def _webhook_paths(routine: dict[str, Any]) -> dict[str, Any]:
    """The webhook subscriptions, their dead letters and the replay of one."""
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    seq = {"name": "seq", "in": "path", "required": True, "schema": {"type": "integer"}}
    return {
        "/webhooks": {
            "get": {
                "summary": 'The subscriptions: {"subscriptions": [{"name", "routines": {id: '
                '{"delivered_through"}}, "dead_letters"}]}',
                "responses": {"200": {"description": "the subscriptions"}, **_errors(401)},
            }
        },
        "/webhooks/{name}/dead-letters": {
            "get": {
                "summary": "The changes a subscription set aside after failing to deliver them",
                "parameters": [name],
                "responses": {"200": {"description": "the dead letters"}, **_errors(401, 404)},
            }
        },
        "/webhooks/{name}/dead-letters/{routine}/{seq}/replay": {
            "post": {
                "summary": "Deliver a dead letter again, once (502 when the receiver still "
                "fails); it leaves the dead letters when it arrives",
                "parameters": [name, routine, seq],
                "responses": {
                    "200": {"description": '{"replayed": true}'},
                    "502": {"description": "the receiver still fails"},
                    **_errors(401, 404),
                },
            }
        },
    }


def _operation_paths() -> dict[str, Any]:
    """The probes, the metrics and this document."""
    return {
        "/healthz": {
            "get": {
                "summary": "Liveness",
                "security": [],
                "responses": {"200": {"description": '{"ok": true}'}},
            }
        },
        "/readyz": {
            "get": {
                "summary": "Readiness: 200 when every routine's store can be read, else "
                '503; {"ready", "routines", "problems"}',
                "security": [],
                "responses": {
                    "200": {"description": "ready"},
                    "503": {"description": "a store cannot be read"},
                },
            }
        },
        "/access": {
            "get": {
                "summary": "Who accessed a case (admin): "
                '{"accesses": [{"at", "client", "method", "route", "routine", "status"}]}',
                "parameters": [
                    {"name": "case", "in": "query", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "the accesses"}, **_errors(400, 401, 403)},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (text format): requests by route template, "
                "obligations by status, events, cases and the next change per routine",
                "responses": {
                    "200": {"description": "metrics", "content": {"text/plain": {}}},
                    **_errors(401),
                },
            }
        },
        "/openapi.json": {
            "get": {"summary": "This document", "responses": {"200": {"description": "OK"}}}
        },
    }


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the service.

    Examples:
        >>> sorted(openapi()["paths"])[:2]
        ['/access', '/healthz']
    """
    as_of = {
        "name": "as_of",
        "in": "query",
        "required": False,
        "description": "RFC 3339 instant with its offset, e.g. 2026-12-15T12:00:00+01:00; "
        "default: the service's clock (now)",
        "schema": {"type": "string"},
    }
    routine = {"name": "routine", "in": "path", "required": True, "schema": {"type": "string"}}
    case = {"name": "case", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "samverkan-rules live service",
            "version": version(),
            "description": "Post case events as they happen; ask what is due. Every route "
            "names the routine the case follows.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": _error_schema(), "Event": _event_schema()},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/routines": {
                "get": {
                    "summary": "The routines served: versions, the one in force, each file's "
                    "SHA-256, the event types each uses",
                    "responses": {"200": {"description": "the routines"}, **_errors(401)},
                }
            },
            "/routines/{routine}/cases/{case}/events": {
                "post": _post_events_operation(routine, case)
            },
            "/routines/{routine}/cases/{case}": {
                "delete": {
                    "summary": "Erase a case: its events leave the store (overwritten, the log "
                    "truncated); a tombstone (keyed pseudonym, time) refuses its later events "
                    "with 409 until it is reopened",
                    "parameters": [routine, case],
                    "responses": {
                        "200": {"description": '{"erased_events": n, "erased_at": "..."}'},
                        **_errors(401, 404),
                    },
                }
            },
            "/routines/{routine}/cases/{case}/reopen": {
                "post": {
                    "summary": "Take events of an erased case again (its old events stay gone)",
                    "parameters": [routine, case],
                    "responses": {
                        "200": {"description": '{"reopened": true|false}'},
                        **_errors(401, 404),
                    },
                }
            },
            **_evaluation_paths(routine, case, as_of),
            **_changes_path(routine),
            **_webhook_paths(routine),
            **_calendar_paths(routine, as_of),
            **_operation_paths(),
        },
    }
