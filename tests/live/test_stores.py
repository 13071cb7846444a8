"""The store's own promises, the same test bodies against SQLite and PostgreSQL (the
``stores`` fixture); and, on PostgreSQL, several sessions on one database (replicas in one
process) that answer as one session would."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samverkan_rules import EventError, evaluate
from samverkan_rules.errors import CaseErasedError
from samverkan_rules.events.model import event_from_mapping
from samverkan_rules.live import Session
from samverkan_rules.live.changelog import ChangeRow
from samverkan_rules.live.store import EventConflictError
from tests.live.conftest import ROUTINE_ID, Stores
from tests.live.test_differential import REGISTRY, streams
from tests.live.test_session import CONSENT, OREBRO, START, at
from tests.postgres import fresh_database
from tests.support import event

E1, E2 = event_from_mapping(CONSENT), event_from_mapping(START)


def _row(case: str, obligation: str, before: str | None, after: str | None) -> ChangeRow:
    return ChangeRow(
        0,
        case,
        "2026-12-01T10:00:00+01:00",
        obligation,
        "r",
        before,
        after,
        None,
        ("e1",),
        None,
        None,
    )


def test_append_is_all_or_nothing_and_a_repeat_is_a_no_op(stores: Stores) -> None:
    store = stores.open()
    assert store.append([E1]) == [True]
    assert store.append([E1, E2]) == [False, True]
    other = event_from_mapping({**START, "id": "e3"})
    changed = event_from_mapping({**CONSENT, "data": {"form": "oral"}})
    with pytest.raises(EventConflictError) as refused:
        store.append([other, changed])
    assert [d.code for d in refused.value.diagnostics] == ["event.conflict"]
    assert [e.id for e in store.events()] == ["e1", "e2"]  # e3 was not kept either
    assert [e.id for e in stores.open().events("c1")] == ["e1", "e2"]


def test_an_erased_case_leaves_a_tombstone_until_reopened(stores: Stores) -> None:
    store = stores.open()
    store.append([E1, E2, event_from_mapping({**CONSENT, "id": "x", "case": "c2"})])
    store.log_changes([_row("c1", "o1", None, "due"), _row("c2", "o2", None, "due")])
    assert store.erase("c1", at("2026-12-04T09:00:00+01:00")) == 2
    assert [e.case for e in store.events()] == ["c2"]
    assert {r.case for r in store.changes_after(0, 100)} == {"c2"}
    again = stores.open()
    assert again.erased_at("c1") == "2026-12-04T09:00:00+01:00"
    assert again.reopen("c1") and not again.reopen("c1")
    assert again.erased_at("c1") is None


def test_the_change_log_numbers_rise_and_its_latest_rows_are_the_snapshot(
    stores: Stores,
) -> None:
    store = stores.open()
    first = store.log_changes([_row("c1", "o1", None, "due"), _row("c1", "o2", None, "due")])
    second = store.log_changes([_row("c1", "o1", "due", "overdue"), _row("c1", "o2", "due", None)])
    numbers = [r.seq for r in (*first, *second)]
    assert numbers == sorted(set(numbers)) and numbers[0] > 0
    assert store.last_seq() == numbers[-1]
    assert [r.seq for r in store.changes_after(numbers[1], 10)] == numbers[2:]
    assert [r.seq for r in store.changes_after(0, 1)] == numbers[:1]
    again = stores.open()
    assert [(r.obligation, r.after) for r in again.last_reported()] == [("o1", "overdue")]
    assert again.last_at() == "2026-12-01T10:00:00+01:00"


def test_a_reopened_store_still_refuses_an_erased_case(stores: Stores) -> None:
    with Session(OREBRO, store=stores.open()) as session:
        session.post([CONSENT, START])
        session.erase("c1", at("2026-12-04T09:00:00+01:00"))
    with Session(OREBRO, store=stores.open()) as again:
        assert again.cases() == [] and again.changes() == []
        with pytest.raises(CaseErasedError):
            again.post(CONSENT)


# ---------------------------------------------------------------- replicas on PostgreSQL


@pytest.fixture
def replicas() -> Any:
    with fresh_database() as url:
        from samverkan_rules.live.postgres import Database, PostgresStore

        databases = [Database(url, max_size=4) for _ in range(2)]
        try:
            yield [PostgresStore(d, ROUTINE_ID) for d in databases]
        finally:
            for d in databases:
                d.close()


def test_migrations_are_applied_once(replicas: Any) -> None:
    from samverkan_rules.live.postgres import migrate, migrations

    pool = replicas[0]._database.pool
    assert migrate(pool) == []
    with pool.connection() as conn:
        applied = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert applied == [number for number, _name, _sql in migrations()]


def test_the_event_table_is_append_only_in_postgresql(replicas: Any) -> None:
    import psycopg

    replicas[0].append([E1])
    with replicas[0]._database.pool.connection() as conn:
        for sql in ("UPDATE events SET type = 'x'", "DELETE FROM events"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(sql)


def test_two_sessions_on_one_database_answer_as_one(replicas: Any) -> None:
    a, b = (Session(OREBRO, store=s) for s in replicas)
    as_of = at("2026-12-23T12:00:00+01:00")
    a.post(CONSENT)
    changes = b.post(START)
    assert "consent-recorded" not in {c.rule for c in changes}  # a reported it already
    want = evaluate(OREBRO, [CONSENT, START], as_of, ledger=True).to_json()
    assert a.due(as_of).with_output(ledger=True).to_json() == want
    assert b.due(as_of).with_output(ledger=True).to_json() == want
    assert a.changes() == b.changes()
    ticked = a.tick(as_of)
    assert len(ticked) > 0 and len(b.tick(as_of)) == 0  # b reads what a reported
    a.erase("c1", as_of)
    assert b.cases() == [] and b.changes() == []


def test_concurrent_posts_to_one_case_on_two_sessions_keep_its_order(replicas: Any) -> None:
    sessions = [Session(OREBRO, store=s) for s in replicas]
    posted: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(12):
                item = event(
                    id=f"s{n}-{i}",
                    type="consent.given",
                    at=f"2026-12-{1 + (i * 7 + n) % 20:02d}T09:00:00Z",
                    form="written",
                )
                sessions[n].post(item, as_of=at("2026-12-24T00:00:00+01:00"))
                posted.append(item)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = sessions[0].changes(limit=10_000)
    last: dict[str, str | None] = {}
    for row in rows:  # every change starts where the one before it left the obligation
        assert row.before == last.get(row.obligation)
        last[row.obligation] = row.after
    as_of = at("2026-12-24T00:00:00+01:00")
    want = evaluate(OREBRO, posted, as_of).to_json()
    assert sessions[0].due(as_of).to_json() == sessions[1].due(as_of).to_json() == want


@settings(
    deadline=None,
    max_examples=5,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_posts_spread_over_replicas_fold_to_the_evaluation(data: Any) -> None:
    versions = REGISTRY.versions(ROUTINE_ID)
    events = data.draw(streams(ROUTINE_ID))
    sides = data.draw(st.lists(st.integers(0, 1), min_size=len(events), max_size=len(events)))
    with fresh_database() as url:
        from samverkan_rules.live.postgres import Database, PostgresStore

        databases = [Database(url, max_size=2) for _ in range(2)]
        try:
            sessions = [Session(versions, store=PostgresStore(d, ROUTINE_ID)) for d in databases]
            posted = []
            for side, item in zip(sides, events, strict=True):
                try:
                    sessions[side].post(item)
                except EventError:
                    continue
                posted.append(item)
            if not posted:
                return
            later = max(datetime.fromisoformat(e["at"]) for e in posted) + timedelta(days=9)
            sessions[0].tick(later)
            want = evaluate(versions, posted, later).to_json()
            assert sessions[1].due(later).to_json() == want
            standing: dict[tuple[str, str], str] = {}
            for row in sessions[1].changes(limit=100_000):
                if row.after is None:
                    standing.pop((row.case, row.obligation), None)
                else:
                    standing[(row.case, row.obligation)] = row.after
            ledger = evaluate(versions, posted, later, ledger=True)
            assert standing == {
                (c.case, o.obligation): o.status for c in ledger.cases for o in c.obligations or ()
            }
        finally:
            for d in databases:
                d.close()


def test_a_write_the_database_rolls_back_is_not_held_either(replicas: Any) -> None:
    import psycopg

    session = Session(OREBRO, store=replicas[0])
    session.post(CONSENT)
    pool = replicas[0]._database.pool
    with pool.connection() as conn:  # the change log refuses every row for a while
        conn.execute("ALTER TABLE changes ADD CONSTRAINT refuse CHECK (false) NOT VALID")
    with pytest.raises(psycopg.errors.CheckViolation):
        session.post(START)  # its event was stored in the same transaction: rolled back too
    assert [e.id for e in replicas[0].events()] == ["e1"]
    assert [e.id for e in session.events()] == ["e1"]
    with pool.connection() as conn:
        conn.execute("ALTER TABLE changes DROP CONSTRAINT refuse")
    again = session.post(START)  # so the retry is new, not a repeat
    assert again.accepted == 1 and len(again) > 0
    assert [e.id for e in replicas[0].events()] == ["e1", "e2"]
