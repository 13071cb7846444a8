"""The OpenAPI document of ``samverkan serve`` against the service itself: it is valid
OpenAPI 3.1, lists exactly the routes served, and a real process on a loopback port answers
as it says (Schemathesis generates requests from it: no 5xx, every status, content type and
JSON body as documented). Traffic goes to 127.0.0.1 only, bounded in count and time."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.serve.support import Service, conforms

pytest.importorskip("starlette", reason="the 'serve' extra (starlette, uvicorn) is not installed")
schemathesis = pytest.importorskip("schemathesis", reason="schemathesis (extra 'dev') is missing")
validator = pytest.importorskip(
    "openapi_spec_validator", reason="openapi-spec-validator (extra 'dev') is missing"
)

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.specs.openapi import checks  # noqa: E402

from samverkan_rules import load_routine  # noqa: E402
from samverkan_rules.live import RoutineSessions  # noqa: E402
from samverkan_rules.serve.app import _Routes  # noqa: E402
from samverkan_rules.serve.openapi import openapi, operations, served_event_types  # noqa: E402
from tests.support import ROUTINES  # noqa: E402

RID = "orebro-dagverksamhet-hemvard"
R = f"/routines/{RID}"
CASE = "contract-1"

NEVER_ENDS = {"change_stream"}
"""Operations whose answer is a live stream that never ends: a generated request would
wait for a body that never completes (the stream is tested in test_announce.py)."""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    s = Service(tmp_path_factory.mktemp("contract"))  # the wall clock, 5 minutes' tolerance
    # A case with events, so the evaluation routes answer with a real ledger.
    day = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    events = [
        {"id": "k1", "type": "consent.given", "at": day.isoformat(), "data": {"form": "oral"}},
        {
            "id": "k2",
            "type": "dagverksamhet.start_planned",
            "at": (day + timedelta(hours=1)).isoformat(),
            "data": {"start_date": (day + timedelta(days=10)).date().isoformat()},
        },
    ]
    answer = s.client.post(f"{R}/cases/{CASE}/events", json=events)
    assert answer.status_code == 200, answer.text
    yield s
    s.stop()


@pytest.fixture(scope="module")
def document(service: Service) -> dict[str, Any]:
    answer = service.client.get("/openapi.json")
    assert answer.status_code == 200
    doc: dict[str, Any] = answer.json()
    return doc


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validator.validate(document)


def test_the_document_over_every_routine_is_valid() -> None:
    """Every vocabulary's field types, in one document with every routine."""
    with RoutineSessions([load_routine(p) for p in sorted(ROUTINES.glob("*.yaml"))]) as sessions:
        doc = openapi(_Routes.table(_Routes.__new__(_Routes)), served_event_types(sessions))
    validator.validate(doc)
    assert doc["components"]["schemas"]["RoutineId"]["enum"] == sessions.ids()
    assert len(sessions.ids()) > 1


def test_every_route_served_is_documented_and_nothing_else(document: dict[str, Any]) -> None:
    served = {
        (method.lower(), r.path)
        for r in _Routes.table(_Routes.__new__(_Routes))
        for method in r.methods or ()
        if method != "HEAD"  # Starlette answers HEAD wherever it answers GET
    }
    documented = {(m, path) for path, item in document["paths"].items() for m in item}
    assert served == documented
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)) == len(served)


def test_the_routine_and_its_event_types_are_enums(
    service: Service, document: dict[str, Any]
) -> None:
    (listed,) = service.client.get("/routines").json()["routines"]
    schemas = document["components"]["schemas"]
    posted = schemas[f"PostedEvent.{RID}"]
    mapping = posted["discriminator"]["mapping"]
    assert sorted(mapping) == sorted(listed["event_types"])
    assert [v["$ref"] for v in posted["oneOf"]] == list(mapping.values())
    consent = schemas[f"PostedEvent.{RID}.consent.given"]
    assert consent["properties"]["type"] == {"type": "string", "const": "consent.given"}
    assert "case" not in consent["required"]
    # The data of a type: its declared fields only, enums as enums.
    data = schemas[f"EventData.{RID}.consent.given"]
    assert data["additionalProperties"] is False
    assert data["properties"]["form"]["anyOf"][0]["enum"] == ["oral", "written"]
    op = document["paths"]["/routines/{routine}/cases/{case}/events"]["post"]
    routine = next(p for p in op["parameters"] if p["name"] == "routine")
    assert routine["schema"] == {"$ref": "#/components/schemas/RoutineId"}
    assert document["components"]["schemas"]["RoutineId"]["enum"] == [RID]
    # Every 200 answer that is JSON names a schema (no untyped objects but the document).
    for path, item in document["paths"].items():
        for operation in item.values():
            (content,) = operation["responses"]["200"]["content"].values()
            if path != "/openapi.json" and "$ref" not in json.dumps(content["schema"]):
                assert content["schema"] == {"type": "string"}, path


def test_real_answers_conform_to_their_schemas(service: Service, document: dict[str, Any]) -> None:
    """The answers a generated request rarely reaches (a real case's evaluation, its ledger
    and trace, an explanation, the listing's lines, the changes, a post, an erasure, the
    accesses, a calendar link) as the document says."""
    evaluation = service.client.get(
        f"{R}/cases/{CASE}/due", params={"ledger": "true", "trace": "true"}
    ).json()
    conforms(document, "EvaluationDocument", evaluation)
    (case,) = evaluation["cases"]
    assert case["obligations"], "the seeded case has no obligations"
    ident = case["obligations"][0]["obligation"]
    explained = service.client.get(f"{R}/obligations/{ident}/explain").json()
    conforms(document, "Explained", explained)
    listing = service.client.get(f"{R}/due", params={"ledger": "true"}).text.splitlines()
    assert len(listing) >= 2
    for text in listing[:-1]:
        conforms(document, "CaseResult", json.loads(text))
    conforms(document, "TrailerLine", json.loads(listing[-1]))
    conforms(document, "ChangePage", service.client.get(f"{R}/changes").json())
    at = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0).isoformat()
    event = {"id": "e1", "type": "consent.given", "at": at, "data": {"form": "written"}}
    posted = service.client.post(f"{R}/cases/contract-2/events", json=event)
    assert posted.status_code == 200, posted.text
    conforms(document, "Posted", posted.json())
    assert posted.json()["changes"], "a consent raises an obligation"
    other = {**event, "data": {"form": "oral"}}
    refused = service.client.post(f"{R}/cases/contract-2/events", json=other)
    assert refused.status_code == 409  # the same id, other content
    conforms(document, "ErrorAnswer", refused.json())
    conforms(document, "AccessList", service.client.get("/access", params={"case": CASE}).json())
    erased = service.client.delete(f"{R}/cases/contract-2")
    conforms(document, "Erased", erased.json())
    assert erased.json()["erased_events"] == 1
    conforms(document, "Reopened", service.client.post(f"{R}/cases/contract-2/reopen").json())
    link = service.client.get(f"{R}/calendar/hemvard.driftsplanerare")
    assert link.status_code == 200, link.text
    conforms(document, "CalendarLink", link.json())


def _cursor(as_of: str) -> str:
    raw = json.dumps({"after": "a", "as_of": as_of}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (f"{R}/due", {"as_of": "0485-11-08T13:57:21.03+23:20"}),
        (f"{R}/due", {"as_of": "2100-12-31T23:30:00Z"}),  # 2101 in Stockholm
        (f"{R}/cases/{CASE}/due", {"as_of": "1687-04-28T20:39:14-01:31"}),
        (f"{R}/obligations/None/explain", {"as_of": "1687-04-28T20:39:14-01:31"}),
        (f"{R}/due", {"cursor": _cursor("0485-11-08T13:57:21+01:00")}),
        (f"{R}/due", {"cursor": _cursor("not an instant")}),
    ],
    ids=["year-485", "year-2101-local", "case-1687", "explain-1687", "cursor-485", "cursor-x"],
)
def test_an_instant_outside_the_calendar_is_a_400_not_a_500(
    service: Service, path: str, params: dict[str, str]
) -> None:
    """Found by Schemathesis: an ``as_of`` (or a forged cursor's) before 1990 reached the
    evaluation, whose local times then had offsets of seconds (local mean time) and could not
    be written: 500."""
    answer = service.client.get(path, params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] in ("request.bad-as-of", "request.bad-query")


@pytest.fixture(scope="module")
def api(service: Service, document: dict[str, Any]) -> Any:
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=service.url)
    return schema


def _declared() -> list[Any]:
    """Each operation of the routes served (but those that never end) with each way of
    generating requests: valid ones, and invalid ones where it takes anything to get wrong."""
    out = []
    for op in operations(_Routes.table(_Routes.__new__(_Routes))):
        if op.operation_id in NEVER_ENDS:
            continue
        out.append(pytest.param(op.operation_id, GenerationMode.POSITIVE, id=op.operation_id))
        if "{" in op.path or op.parameters or op.events:
            negative = f"{op.operation_id}-invalid"
            out.append(pytest.param(op.operation_id, GenerationMode.NEGATIVE, id=negative))
    return sorted(out, key=lambda p: str(p.id))


CHECKS = [
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    schemathesis.checks.not_a_server_error,
]


@pytest.mark.parametrize(("operation_id", "mode"), _declared())
def test_the_service_answers_as_its_document_says(
    api: Any, service: Service, operation_id: str, mode: GenerationMode
) -> None:
    """Requests Schemathesis makes from the document, valid ones and invalid ones: never a
    5xx, and every answer's status, content type and JSON body as documented."""

    @settings(
        max_examples=8,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=api.find_operation_by_id(operation_id).as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        case.call_and_validate(headers=dict(service.auth), timeout=30, checks=CHECKS)

    run()
