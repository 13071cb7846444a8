"""``samverkan serve`` as a client sees it: a real process on a loopback port, a real SQLite
store on disk, real HTTP. Traffic goes to 127.0.0.1 only, bounded in count and time."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve.support import TOKEN, Service, serve_once
from tests.support import EXAMPLES, ROUTINES

pytest.importorskip("starlette", reason="the 'serve' extra (starlette, uvicorn) is not installed")
pytest.importorskip("uvicorn", reason="the 'serve' extra (starlette, uvicorn) is not installed")
httpx = pytest.importorskip("httpx", reason="httpx (the 'dev' extra) is not installed")

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
RID = "orebro-dagverksamhet-hemvard"
R = f"/routines/{RID}"
EXAMPLE = EXAMPLES / "orebro-case.jsonl"
AS_OF = "2026-12-15T12:00:00+01:00"
SECRET_CASE = "secret-case-4711"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    # The example's events run to 2026-12-15: the tolerance lets them in whatever the date.
    s = Service(
        tmp_path_factory.mktemp("serve"), "--max-body", "65536", "--future-tolerance", "36500d"
    )
    yield s
    s.stop()


def _example_events() -> list[dict[str, Any]]:
    return [json.loads(line) for line in EXAMPLE.read_text(encoding="utf-8").splitlines() if line]


def _cli_due(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "samverkan_rules", "due", "--routine", str(ROUTINE), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_healthz_needs_no_token(service: Service) -> None:
    answer = httpx.get(service.url + "/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"ok": True}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN}],
    ids=["no-token", "wrong-token", "no-bearer-scheme"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", R + "/due?as_of=" + AS_OF),
        ("POST", R + "/cases/c1/events"),
        ("GET", "/openapi.json"),
        ("GET", "/routines"),
    ],
)
def test_every_other_route_refuses_a_request_without_the_token(
    service: Service, headers: dict[str, str], method: str, path: str
) -> None:
    answer = httpx.request(method, service.url + path, headers=headers, json={"id": "x"})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "auth.unauthorized"
    assert answer.headers["www-authenticate"] == "Bearer"


def test_an_oversized_body_is_refused_with_413(service: Service) -> None:
    big = [{"id": f"big{i}", "type": "consent.given", "at": AS_OF, "data": {}} for i in range(2000)]
    answer = service.client.post(f"{R}/cases/big/events", json=big)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "request.too-large"
    # Chunked, without a Content-Length: refused while it is read.
    body = json.dumps(big).encode()
    chunks = (body[i : i + 4096] for i in range(0, len(body), 4096))
    answer = service.client.post(f"{R}/cases/big/events", content=chunks)
    assert answer.status_code == 413
    assert service.client.get(f"{R}/cases/big/due", params={"as_of": AS_OF}).status_code == 404


def test_a_bad_event_gets_422_with_its_index_line_and_field_and_nothing_is_stored(
    service: Service,
) -> None:
    events = [
        {"id": "ok-1", "type": "consent.given", "at": "2026-12-01T09:00:00+01:00"},
        {"id": "bad-1", "type": "consent.given", "at": "2026-12-01T09:00:00"},
        {"id": "bad-2", "type": "dagverksamhet.start_planned", "at": AS_OF, "data": {}},
    ]
    answer = service.client.post(f"{R}/cases/c422/events", json=events)
    assert answer.status_code == 422
    error = answer.json()["error"]
    found = {(d["index"], d["line"], d["field"]) for d in error["diagnostics"]}
    assert (1, 2, "at") in found
    assert any(i == 2 and line == 3 and "start_date" in (f or "") for i, line, f in found), found
    assert all(d["code"].startswith("event.") for d in error["diagnostics"])
    # The codes are the contract; the messages stay English (the command line words the
    # same findings in Swedish).
    by_index = {d["index"]: d for d in error["diagnostics"]}
    assert by_index[1]["code"] == "event.bad-timestamp"
    assert "timestamp '2026-12-01T09:00:00' is naive" in by_index[1]["message"]
    assert by_index[2]["code"] == "event.missing-field"
    due = service.client.get(f"{R}/cases/c422/due", params={"as_of": AS_OF})
    assert due.status_code == 404 and due.json()["error"]["code"] == "case.unknown"


def test_a_reused_id_with_other_content_is_409_and_a_repeat_is_a_no_op(service: Service) -> None:
    event = {"id": "dup-1", "type": "consent.given", "at": "2026-12-01T09:00:00+01:00"}
    first = service.client.post(f"{R}/cases/c409/events", json=event)
    assert first.status_code == 200 and first.json()["accepted"] == 1
    again = service.client.post(f"{R}/cases/c409/events", json=event)
    assert again.status_code == 200 and again.json() == {**again.json(), "accepted": 0}
    other = service.client.post(f"{R}/cases/c409/events", json={**event, "data": {"form": "oral"}})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "event.conflict"


def test_the_example_log_over_http_equals_samverkan_due(service: Service) -> None:
    by_case: dict[str, list[dict[str, Any]]] = {}
    for event in _example_events():
        by_case.setdefault(event["case"], []).append(event)
    for case, events in by_case.items():
        # One case posts event by event, the others as one array each.
        if case == "c1":
            for event in events:
                answer = service.client.post(f"{R}/cases/{case}/events", json=event)
                assert answer.status_code == 200, answer.text
        else:
            answer = service.client.post(f"{R}/cases/{case}/events", json=events)
            assert answer.status_code == 200, answer.text
            assert answer.json()["accepted"] == len(events)
    cli = _cli_due("--events", str(EXAMPLE), "--as-of", AS_OF, "--format", "json", "--ledger")
    lines = service.client.get(f"{R}/due", params={"as_of": AS_OF, "ledger": "true"})
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    *cases, trailer = map(json.loads, lines.text.splitlines())
    served = {c["case"]: c for c in cases}
    assert trailer == {"trailer": {"count": len(cases), "as_of": AS_OF, "next_cursor": None}}
    lean = [
        json.loads(line)
        for line in service.client.get(f"{R}/due", params={"as_of": AS_OF}).text.splitlines()
    ][:-1]
    assert all(set(c) == {"case", "actions"} for c in lean)  # the ledger only when asked for
    for case in cli["cases"]:
        assert served[case["case"]]["actions"] == case["actions"]
        assert served[case["case"]]["obligations"] == case["obligations"]
        one = service.client.get(f"{R}/cases/{case['case']}/due", params={"as_of": AS_OF}).json()
        assert one["cases"][0]["actions"] == case["actions"]
        assert one["routines"] == cli["routines"]  # each rule's text, once
    bad = service.client.get(f"{R}/due", params={"as_of": AS_OF, "trace": "yes"})
    assert bad.status_code == 400 and "trace" in bad.json()["error"]["message"]
    obligation = cli["cases"][0]["actions"][0]["obligation"]
    explained = service.client.get(f"{R}/obligations/{obligation}/explain", params={"as_of": AS_OF})
    assert explained.status_code == 200
    assert explained.json()["obligations"][0]["trace"]
    unknown = service.client.get(f"{R}/obligations/no-such:x/explain", params={"as_of": AS_OF})
    assert unknown.status_code == 404


@pytest.mark.skipif(
    importlib.util.find_spec("durable") is None,
    reason="durable-rules is not installed (the `live` extra; it does not build on Python 3.13)",
)
def test_the_durable_backend_serves_the_example_log_as_samverkan_due(tmp_path: Path) -> None:
    service = Service(
        tmp_path, "--backend", "durable", "--synchronous", "normal", "--future-tolerance", "36500d"
    )
    try:
        for event in _example_events():
            case = event.pop("case")
            answer = service.client.post(f"{R}/cases/{case}/events", json=event)
            assert answer.status_code == 200, answer.text
        cli = _cli_due("--events", str(EXAMPLE), "--as-of", AS_OF, "--format", "json")
        lines = service.client.get(f"{R}/due", params={"as_of": AS_OF}).text
        served = [json.loads(line) for line in lines.splitlines()][:-1]
        assert served == [json.loads(json.dumps(c)) for c in cli["cases"]]
    finally:
        service.stop()


def test_as_of_errors_carry_the_cli_message(service: Service) -> None:
    naive = service.client.get(f"{R}/due", params={"as_of": "2026-12-15T12:00:00"})
    assert naive.status_code == 400
    assert "has no UTC offset" in naive.json()["error"]["message"]
    out_of_range = service.client.get(f"{R}/due", params={"as_of": "0001-01-01T00:00:00+01:00"})
    assert out_of_range.status_code == 400


def test_the_openapi_document_lists_the_routes(service: Service) -> None:
    doc = service.client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    # Every route the service answers is in the document, and nothing else.
    from samverkan_rules.serve.app import _Routes

    served = {r.path for r in _Routes.table(_Routes.__new__(_Routes))}  # type: ignore[attr-defined]
    assert served == set(doc["paths"])


def test_the_log_names_no_case_and_no_event_data(service: Service) -> None:
    event = {
        "id": "log-1",
        "type": "consent.given",
        "at": "2026-12-01T09:00:00+01:00",
        "data": {"scope": "hemlig-uppgift"},
    }
    assert service.client.post(f"{R}/cases/{SECRET_CASE}/events", json=event).status_code == 200
    service.client.get(f"{R}/cases/{SECRET_CASE}/due", params={"as_of": AS_OF})
    service.client.post(f"{R}/cases/{SECRET_CASE}/events", json={**event, "at": "x"})
    time.sleep(0.3)
    log = service.log.read_text()
    assert "/routines/{routine}/cases/{case}/due" in log  # requests are logged by route
    assert "case=p-" in log  # and the case by pseudonym
    assert SECRET_CASE not in log
    assert "hemlig-uppgift" not in log


def test_concurrent_posts_from_8_threads_lose_nothing(service: Service) -> None:
    per_thread, threads = 60, 8
    errors: list[str] = []

    def worker(n: int) -> None:
        with httpx.Client(base_url=service.url, headers=service.auth, timeout=60) as client:
            for i in range(per_thread):
                event = {
                    "id": f"load-{n}-{i}",
                    "type": "consent.given",
                    "at": f"2026-12-{1 + i % 28:02d}T09:00:00+01:00",
                    "data": {"form": "written"},
                }
                answer = client.post(f"{R}/cases/load-{n}-{i % 5}/events", json=event)
                if answer.status_code != 200 or answer.json()["accepted"] != 1:
                    errors.append(answer.text)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    assert not errors
    lines = service.client.get(
        f"{R}/due", params={"as_of": "2027-01-01T00:00:00+01:00", "ledger": "true"}
    ).text
    cases = [json.loads(line) for line in lines.splitlines()][:-1]  # the trailer last
    load = [c for c in cases if c["case"].startswith("load-")]
    assert len(load) == threads * 5
    triggers = sum(
        1
        for c in load
        for o in c["obligations"]
        if o["trigger"] and o["rule"] == "consent-recorded"
    )
    assert triggers == threads * per_thread  # each consent raises one record-keeping duty


def test_serve_without_a_token_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SAMVERKAN_TOKEN"}
    out = serve_once("--routines", str(ROUTINE), "--store", str(tmp_path / "x.db"), env=env)
    assert out.returncode == 2
    assert "no token" in out.stderr


def test_serve_without_the_extra_names_it(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['uvicorn'] = None; "
        "from samverkan_rules.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "serve",
            "--routines",
            str(ROUTINE),
            "--store",
            str(tmp_path / "x.db"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "SAMVERKAN_TOKEN": TOKEN},
        timeout=60,
    )
    assert out.returncode == 2
    assert "samverkan-rules[serve]" in out.stderr


def test_an_answer_lists_at_most_100_problems_and_counts_them_all(service: Service) -> None:
    answer = service.client.post(f"{R}/cases/many/events", json=[{}] * 1000)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert len(error["diagnostics"]) == 100
    assert int(error["message"].split()[0]) > 1000  # several problems an event, all counted
    assert len(answer.content) < 100_000
    too_many = service.client.post(f"{R}/cases/many/events", json=[{}] * 1001)
    assert too_many.status_code == 413
