"""Several ``samverkan serve`` replicas on one PostgreSQL database, as real processes on
loopback ports: a post on one is in the answers of the other right after its answer, posts
to one case from both keep their order, and killing a replica mid-load loses nothing it
acknowledged, and so does restarting PostgreSQL under them (clean 503s at most). The background
work runs on one replica at a time and moves on when it dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from samverkan_rules import evaluate, load_routine
from tests.postgres import PrivateServer, fresh_database
from tests.serve.support import ROUTINE, Service, httpx
from tests.serve.test_webhooks import Receiver, _config
from tests.support import event

R = "/routines/orebro-dagverksamhet-hemvard"
AS_OF = "2026-12-15T12:00:00+01:00"
OREBRO = load_routine(ROUTINE)
CONSENT = event(id="e1", type="consent.given", at="2026-12-01T09:00:00+01:00", form="written")
START = event(
    id="e2",
    type="dagverksamhet.start_planned",
    at="2026-12-01T10:00:00+01:00",
    start_date="2026-12-28",
)


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture
def replicas(database: str, tmp_path: Path) -> Iterator[tuple[Service, Service]]:
    started: list[Service] = []
    try:
        for name in ("a", "b"):
            started.append(Service(tmp_path, store=database, name=name))
        yield started[0], started[1]
    finally:
        for service in started:
            if service.process.poll() is None:
                service.stop()


def _due(service: Service, case: str) -> httpx.Response:
    return service.client.get(f"{R}/cases/{case}/due", params={"as_of": AS_OF, "ledger": "true"})


def _stored(database: str) -> set[str]:
    import psycopg

    with psycopg.connect(database) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM events")}


def test_a_post_on_one_replica_is_in_the_next_answer_of_the_other(
    replicas: tuple[Service, Service],
) -> None:
    a, b = replicas
    assert _due(b, "c1").status_code == 404
    posted = a.client.post(f"{R}/cases/c1/events", json=[CONSENT, START])
    assert posted.status_code == 200 and posted.json()["accepted"] == 2
    on_b = _due(b, "c1")
    assert on_b.status_code == 200
    assert on_b.json() == _due(a, "c1").json()
    want = evaluate(OREBRO, [CONSENT, START], datetime.fromisoformat(AS_OF), ledger=True)
    assert on_b.json()["cases"] == json.loads(want.to_json())["cases"]
    # And the other way round, with the change log read on both.
    sent = event(
        id="e3",
        type="message.sent",
        at="2026-12-02T09:00:00+01:00",
        kind="start",
        to=["hemvard.driftsplanerare"],
        refers_to="e2",
    )
    done = b.client.post(f"{R}/cases/c1/events", json=sent).json()
    assert ("start-message:e2", "fulfilled") in {
        (c["obligation"], c["after"]) for c in done["changes"]
    }
    assert _due(a, "c1").json() == _due(b, "c1").json()
    log_a = a.client.get(f"{R}/changes").json()["changes"]
    assert log_a == b.client.get(f"{R}/changes").json()["changes"]
    assert [c["seq"] for c in log_a] == sorted({c["seq"] for c in log_a})
    # A repeat on the other replica is a no-op; other content under the id a conflict.
    assert b.client.post(f"{R}/cases/c1/events", json=CONSENT).json()["accepted"] == 0
    assert (
        a.client.post(
            f"{R}/cases/c1/events", json={**sent, "at": "2026-12-02T10:00:00+01:00"}
        ).status_code
        == 409
    )
    # The access log is one: b lists what was asked of a.
    accesses = b.client.get("/access", params={"case": "c1"}).json()["accesses"]
    assert {(x["method"], x["route"]) for x in accesses} >= {
        ("POST", "/routines/{routine}/cases/{case}/events"),
        ("GET", "/routines/{routine}/cases/{case}/due"),
    }
    # An erasure on one replica is seen by the other.
    assert a.client.delete(f"{R}/cases/c1").status_code == 200
    assert _due(b, "c1").status_code == 404
    assert b.client.post(f"{R}/cases/c1/events", json=CONSENT).status_code == 409


def test_posts_to_one_case_from_both_replicas_keep_their_order(
    replicas: tuple[Service, Service], database: str
) -> None:
    errors: list[str] = []

    def poster(service: Service, tag: str) -> None:
        with httpx.Client(base_url=service.url, headers=service.auth, timeout=30) as client:
            for i in range(15):
                day = 2 + i % 10
                answer = client.post(
                    f"{R}/cases/shared/events",
                    json=event(
                        id=f"{tag}{i}",
                        case="shared",
                        type="consent.given",
                        at=f"2026-11-{day:02d}T09:{i:02d}:00+01:00",
                        form="written",
                    ),
                )
                if answer.status_code != 200:
                    errors.append(f"{tag}{i}: {answer.status_code} {answer.text[:200]}")

    threads = [
        threading.Thread(target=poster, args=(s, t)) for s, t in zip(replicas, "ab", strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    a, b = replicas
    assert _due(a, "shared").json() == _due(b, "shared").json()
    log = a.client.get(f"{R}/changes", params={"case": "shared"}).json()["changes"]
    assert log == b.client.get(f"{R}/changes", params={"case": "shared"}).json()["changes"]
    # Each obligation's rows chain: every change starts from the status the one before left.
    last: dict[str, str | None] = {}
    for change in log:
        assert change["before"] == last.get(change["obligation"]), change
        last[change["obligation"]] = change["after"]
    assert len(_stored(database)) == 30


def _twenty_clients(
    poster: Callable[[Service, str], None], a: Service, b: Service
) -> list[threading.Thread]:
    """Ten posting clients on each replica, started; each tags its events a0…a9, b0…b9."""
    threads = [
        threading.Thread(target=poster, args=(service, f"{name}{n}"))
        for service, name in ((a, "a"), (b, "b"))
        for n in range(10)
    ]
    for t in threads:
        t.start()
    return threads


def test_killing_a_replica_under_20_clients_loses_nothing_it_acknowledged(
    replicas: tuple[Service, Service], database: str
) -> None:
    acknowledged: list[tuple[str, str]] = []  # (event, case) of each 200 answer
    stop = threading.Event()
    lock = threading.Lock()

    def poster(service: Service, tag: str) -> None:
        with httpx.Client(base_url=service.url, headers=service.auth, timeout=10) as client:
            i = 0
            while not stop.is_set():
                ident, case = f"{tag}-{i}", f"{tag}-{i % 5}"
                i += 1
                try:
                    answer = client.post(
                        f"{R}/cases/{case}/events",
                        json=event(
                            id=ident,
                            case=case,
                            type="consent.given",
                            at="2026-12-01T09:00:00+01:00",
                            form="written",
                        ),
                    )
                except httpx.TransportError:
                    continue  # the replica was killed: not acknowledged
                if answer.status_code == 200:
                    with lock:
                        acknowledged.append((ident, case))

    a, b = replicas
    threads = _twenty_clients(poster, a, b)
    deadline = time.monotonic() + 60
    while len(acknowledged) < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(a.process.pid, signal.SIGKILL)
    a.process.wait(timeout=30)
    time.sleep(0.5)  # b goes on taking posts
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(acknowledged) >= 100
    assert {ident for ident, _case in acknowledged} <= _stored(database)
    # The survivor answers for every case, the killed replica's posts included.
    listing = b.client.get(f"{R}/due", params={"as_of": AS_OF}).text.splitlines()
    listed = {json.loads(line).get("case") for line in listing}
    assert {case for _ident, case in acknowledged} <= listed
    after = b.client.post(
        f"{R}/cases/late/events",
        json=event(id="late", case="late", type="consent.given", at="2026-12-01T09:00:00+01:00"),
    )
    assert after.status_code == 200


_HOLDER = """
import sys, time
from samverkan_rules.live.postgres import Lease
lease = Lease(sys.argv[1])
print("held" if lease.held() else "free", flush=True)
time.sleep(600)
"""


def test_the_lease_moves_to_another_process_when_its_holder_is_killed(database: str) -> None:
    from samverkan_rules.live.postgres import Lease

    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, database],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "held"
        mine = Lease(database)
        assert not mine.held() and not mine.held()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        began = time.monotonic()
        while not mine.held():
            assert time.monotonic() - began < 10, "the lease did not move within 10 s"
            time.sleep(0.1)
        assert mine.held()
        other = Lease(database)
        assert not other.held()
        mine.close()
        assert other.held()
        other.close()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_webhooks_are_delivered_once_and_go_on_from_another_replica_when_one_dies(
    database: str, tmp_path: Path
) -> None:
    receiver = Receiver()
    config = str(_config(tmp_path, receiver.url))
    started = [Service(tmp_path, "--webhooks", config, store=database, name=n) for n in ("a", "b")]
    try:
        a, b = started
        # A new subscription starts from what is logged once deliveries begin.
        _until(
            lambda: (
                a.client.get("/webhooks").json()["subscriptions"][0]["routines"][
                    "orebro-dagverksamhet-hemvard"
                ]["delivered_through"]
                is not None
            )
        )
        for n, service in enumerate(started * 2):
            posted = service.client.post(
                f"{R}/cases/w{n}/events",
                json=event(
                    id=f"w{n}",
                    case=f"w{n}",
                    type="dagverksamhet.start_planned",
                    at="2026-12-01T10:00:00+01:00",
                    start_date="2026-12-28",
                ),
            )
            assert posted.status_code == 200
        logged = {c["seq"] for c in a.client.get(f"{R}/changes").json()["changes"]}
        assert logged
        _until(lambda: _delivered(receiver) >= logged)
        assert len(receiver.got) == len(logged)  # one replica delivered, each change once
        leader = next(s for s in started if "holds the lease" in s.log.read_text())
        survivor = b if leader is a else a
        os.kill(leader.process.pid, signal.SIGKILL)
        leader.process.wait(timeout=30)
        for n in range(4, 7):
            survivor.client.post(
                f"{R}/cases/w{n}/events",
                json=event(
                    id=f"w{n}",
                    case=f"w{n}",
                    type="dagverksamhet.start_planned",
                    at="2026-12-01T10:00:00+01:00",
                    start_date="2026-12-28",
                ),
            ).raise_for_status()
        logged = {c["seq"] for c in survivor.client.get(f"{R}/changes").json()["changes"]}
        _until(lambda: _delivered(receiver) >= logged, seconds=30)
        assert "holds the lease" in survivor.log.read_text()
        ids: dict[int, set[str]] = {}
        for headers, body in receiver.got:
            ids.setdefault(json.loads(body)["change"]["seq"], set()).add(
                headers["Samverkan-Delivery"]
            )
        assert all(len(v) == 1 for v in ids.values())  # a repeat only under the same id
    finally:
        for service in started:
            if service.process.poll() is None:
                service.stop()
        receiver.close()


def _delivered(receiver: Receiver) -> set[int]:
    return {json.loads(body)["change"]["seq"] for _headers, body in receiver.got}


def _until(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.1)


def test_connections_the_server_drops_cost_at_most_a_clean_503_and_lose_nothing(
    replicas: tuple[Service, Service], database: str
) -> None:
    import psycopg

    a, b = replicas
    first = event(id="d1", case="d", type="consent.given", at="2026-12-01T09:00:00+01:00")
    assert a.client.post(f"{R}/cases/d/events", json=first).status_code == 200
    # What a server restart does to the replicas: every connection of theirs ends.
    with psycopg.connect(database, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert ended is not None and ended[0] >= 2
    statuses = []
    for n, service in enumerate([a, b] * 5):
        answer = service.client.post(
            f"{R}/cases/d/events",
            json=event(id=f"d{n + 2}", case="d", type="consent.given", at="2026-12-01T09:00:00Z"),
        )
        statuses.append(answer.status_code)
        if answer.status_code == 503:
            assert answer.headers["Retry-After"] == "5"
            assert answer.json()["error"]["code"] == "store.unavailable"
    assert set(statuses) <= {200, 503} and statuses[-4:] == [200] * 4
    acknowledged = {"d1"} | {f"d{n + 2}" for n, s in enumerate(statuses) if s == 200}
    assert acknowledged <= _stored(database)
    assert _due(a, "d").json() == _due(b, "d").json()


def test_a_passing_deadline_is_announced_once_and_by_the_survivor_when_the_leader_dies(
    database: str, tmp_path: Path
) -> None:
    from tests.serve.test_announce import ROUTINE as DISCHARGE
    from tests.serve.test_announce import _assessed

    route = "/routines/utskrivning-sluten-vard"
    started = [Service(tmp_path, routines=DISCHARGE, store=database, name=n) for n in ("a", "b")]

    def overdue(reader: Service, case: str, after: int) -> dict[str, object]:
        with reader.client.stream(
            "GET", f"{route}/changes/stream", params={"after": after, "case": case}, timeout=40
        ) as answer:
            for line in answer.iter_lines():
                if line.startswith("data: "):
                    change: dict[str, object] = json.loads(line[6:])
                    if change["after"] == "overdue":
                        return change
        raise AssertionError("the stream ended")

    try:
        a, b = started
        _until(lambda: any("holds the lease" in s.log.read_text() for s in started))
        for case, poster, reader in (("p1", a, b), ("p2", b, a)):
            deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
            posted = poster.client.post(
                f"{route}/cases/{case}/events", json=_assessed(f"b-{case}", case, deadline)
            )
            assert posted.status_code == 200, posted.text
            after = max(c["seq"] for c in posted.json()["changes"])
            change = overdue(reader, case, after)
            assert (
                deadline
                < datetime.fromisoformat(str(change["at"]))
                < deadline + timedelta(seconds=10)
            )
            log = poster.client.get(f"{route}/changes", params={"after": after}).json()["changes"]
            assert [c["after"] for c in log] == ["overdue"]  # once, by one replica
        leader = next(s for s in started if "holds the lease" in s.log.read_text())
        survivor = b if leader is a else a
        os.kill(leader.process.pid, signal.SIGKILL)
        leader.process.wait(timeout=30)
        deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
        posted = survivor.client.post(
            f"{route}/cases/p3/events", json=_assessed("b-p3", "p3", deadline)
        )
        assert posted.status_code == 200, posted.text
        after = max(c["seq"] for c in posted.json()["changes"])
        change = overdue(survivor, "p3", after)
        judged = datetime.fromisoformat(str(change["at"]))
        assert deadline < judged < deadline + timedelta(seconds=10)  # failed over in time
    finally:
        for service in started:
            if service.process.poll() is None:
                service.stop()


def _server_started(url: str) -> datetime:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_postmaster_start_time()").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def _advisory_locks(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture
def own_server() -> Iterator[PrivateServer]:
    """A PostgreSQL server of this test's own, to restart under load."""
    server = PrivateServer(Path(tempfile.mkdtemp(prefix="samverkan-pg-")))
    try:
        yield server
    finally:
        server.stop()


def test_restarting_postgresql_under_20_clients_costs_clean_503s_and_loses_nothing(
    own_server: PrivateServer, tmp_path: Path
) -> None:
    answers: list[tuple[str, int, dict[str, str], str]] = []  # (event, status, headers, code)
    stop = threading.Event()
    lock = threading.Lock()
    a = Service(tmp_path, store=own_server.url, name="a")
    b = Service(tmp_path, store=own_server.url, name="b")

    def poster(service: Service, tag: str) -> None:
        with httpx.Client(base_url=service.url, headers=service.auth, timeout=30) as client:
            i = 0
            while not stop.is_set():
                ident, case = f"{tag}-{i}", f"{tag}-{i % 5}"
                i += 1
                answer = client.post(
                    f"{R}/cases/{case}/events",
                    json=event(id=ident, case=case, type="consent.given", at=CONSENT["at"]),
                )
                code = answer.json().get("error", {}).get("code", "") if answer.is_error else ""
                with lock:
                    answers.append((ident, answer.status_code, dict(answer.headers), code))
                if answer.status_code == 503:
                    time.sleep(0.2)  # a client honouring Retry-After, shortened

    def acknowledged() -> set[str]:
        with lock:
            return {ident for ident, status, _h, _c in answers if status == 200}

    try:
        threads = _twenty_clients(poster, a, b)
        _until(lambda: len(acknowledged()) >= 100, 60)
        before = len(answers)
        started = _server_started(own_server.url)
        own_server.restart()
        assert _server_started(own_server.url) > started
        acknowledged_before = acknowledged()
        _until(lambda: len(acknowledged() - acknowledged_before) >= 100, 60)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        statuses = {status for _i, status, _h, _c in answers}
        assert statuses <= {200, 503}, [x for x in answers if x[1] not in (200, 503)][:3]
        for _ident, status, headers, code in answers:
            if status == 503:
                assert headers["retry-after"] == "5" and code == "store.unavailable"
        assert len(answers) > before  # posts went on around the restart
        assert acknowledged() <= _stored(own_server.url)
        # The background work is taken up again, by one replica.
        _until(lambda: _advisory_locks(own_server.url) == 1, 30)
        # Both replicas answer alike for every case afterwards.
        cases = {f"{name}{n}-{k}" for name in "ab" for n in range(10) for k in range(5)}
        for case in sorted(cases)[:10]:
            assert _due(a, case).json() == _due(b, case).json()
    finally:
        stop.set()
        a.stop()
        b.stop()
