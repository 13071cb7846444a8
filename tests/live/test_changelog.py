"""The change log: every reported change numbered, read back after a number, the same after
a restart (nothing reported twice, nothing lost), and folding to what ``evaluate`` says."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samverkan_rules import EventError, evaluate
from samverkan_rules.live import Session
from samverkan_rules.live.changelog import ChangeRow
from tests.live.conftest import Stores
from tests.live.test_differential import REGISTRY, ROUTINE_IDS, streams
from tests.live.test_session import CONSENT, OREBRO, START, at
from tests.support import event

_SETTINGS = settings(
    deadline=None,
    max_examples=10,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SENT = event(
    id="e3",
    type="message.sent",
    at="2026-12-02T09:00:00+01:00",
    kind="start",
    to=["hemvard.driftsplanerare"],
    refers_to="e2",
)


def test_changes_are_numbered_in_order_and_read_back_after_a_number() -> None:
    session = Session(OREBRO)
    first = session.post([CONSENT, START])
    second = session.post(SENT)
    numbers = [c.seq for c in (*first, *second)]
    assert numbers == list(range(1, len(numbers) + 1))
    logged = session.changes()
    assert [(r.seq, r.obligation, r.before, r.after) for r in logged] == [
        (c.seq, c.obligation, c.before, c.after) for c in (*first, *second)
    ]
    after = session.changes(first[-1].seq)
    assert [r.seq for r in after] == [c.seq for c in second]
    assert session.changes(first[-1].seq, limit=1) == after[:1]
    assert [r.case for r in session.changes(case="c1")] == ["c1"] * len(numbers)
    assert session.changes(case="c9") == []
    assert second.to_json()["changes"][0]["seq"] == second[0].seq


def test_a_logged_change_keeps_its_record_and_when_it_was_judged() -> None:
    session = Session(OREBRO)
    posted = session.post(START)
    start = next(c for c in posted if c.rule == "start-message")
    row = next(r for r in session.changes() if r.seq == start.seq)
    assert row.kind == "arose" and row.cause == "e2"
    assert row.at == "2026-12-01T10:00:00+01:00"
    assert row.to_json()["record"] is not None
    assert start.record is not None and row.deadline == start.record.deadline


def test_a_restarted_session_reports_nothing_twice_and_numbers_on(stores: Stores) -> None:
    def seen(changes: Any) -> list[tuple[str, str, str | None, str | None]]:
        return [(c.kind, c.obligation, c.before, c.after) for c in changes]

    unbroken = Session(OREBRO)
    unbroken.post([CONSENT, START])
    with Session(OREBRO, store=stores.open()) as session:
        session.post([CONSENT, START])
        before = session.changes()
    with Session(OREBRO, store=stores.open()) as again:
        assert again.changes() == before
        done = again.post(SENT)
        # What the message changed, as a session that never stopped says it: nothing of c1
        # arises a second time.
        assert seen(done) == seen(unbroken.post(SENT))
        assert ("changed", "start-message:e2", "due", "fulfilled") in seen(done)
        assert not any(c.kind == "arose" and c.cause != "e3" for c in done)
        assert [c.seq for c in done] == sorted(c.seq for c in done)
        assert done[0].seq > before[-1].seq
        # Time alone: the same as for the session that never stopped.
        moment = at("2026-12-23T12:00:00+01:00")
        later = again.tick(moment)
        assert seen(later) == seen(unbroken.tick(moment)) != []
        assert [r.seq for r in again.changes(done[-1].seq)] == [c.seq for c in later]


def test_an_erased_case_leaves_no_change_behind(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    gone = "case-zz-erased-4b1d"
    mine = [{**CONSENT, "case": gone}, {**START, "case": gone}]
    other = event(id="x1", case="c2", type="consent.given", at="2026-12-03T09:00:00+01:00")
    for store in (path, None):
        with Session(OREBRO, store=store) as session:
            session.post([*mine, other])
            assert {r.case for r in session.changes()} == {gone, "c2"}
            session.erase(gone, at("2026-12-04T09:00:00+01:00"))
            assert {r.case for r in session.changes()} == {"c2"}
    with Session(OREBRO, store=path) as again:
        assert {r.case for r in again.changes()} == {"c2"}
    assert gone.encode() not in path.read_bytes()


def test_idempotent_answers_are_kept_and_the_first_one_stays(stores: Stores) -> None:
    now = at("2026-12-04T09:00:00+01:00")
    for store in (stores.open(), None):
        with Session(OREBRO, store=store) as session:
            assert session.kept_answer("k1") is None
            session.keep_answer("k1", "fp", b'{"a":1}', now)
            session.keep_answer("k1", "other", b'{"a":2}', now)
            assert session.kept_answer("k1") == ("fp", b'{"a":1}')
            # A day later the key is free again.
            session.keep_answer("k2", "fp2", b"{}", now + timedelta(hours=25))
            assert session.kept_answer("k1") is None
            assert session.kept_answer("k2") == ("fp2", b"{}")


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit"):
        Session(OREBRO).changes(limit=0)


def _fold(rows: list[ChangeRow]) -> dict[tuple[str, str], str]:
    """What the log says stands: each obligation's last status, without those that ended."""
    standing: dict[tuple[str, str], str] = {}
    for row in rows:
        if row.after is None:
            standing.pop((row.case, row.obligation), None)
        else:
            standing[(row.case, row.obligation)] = row.after
    return standing


@pytest.mark.parametrize("rid", ROUTINE_IDS)
@_SETTINGS
@given(data=st.data())
def test_the_log_folds_to_the_evaluation_across_a_restart(rid: str, data: Any) -> None:
    versions = REGISTRY.versions(rid)
    events = data.draw(streams(rid))
    restart = data.draw(st.integers(0, len(events)))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.db"
        posted: list[dict[str, Any]] = []
        session = Session(versions, store=path)
        try:
            for index, item in enumerate(events):
                if index == restart:
                    session.close()
                    session = Session(versions, store=path)
                try:
                    session.post(item)
                except EventError:
                    continue
                posted.append(item)
            if not posted:
                return
            latest = max(datetime.fromisoformat(e["at"]) for e in posted)
            later = latest + timedelta(days=data.draw(st.integers(1, 40)))
            session.tick(later)
            rows = session.changes(limit=1_000_000)
        finally:
            session.close()
    assert [r.seq for r in rows] == sorted({r.seq for r in rows})
    want = evaluate(versions, posted, later, ledger=True)
    assert _fold(rows) == {
        (c.case, o.obligation): o.status for c in want.cases for o in c.obligations or ()
    }


def test_ticks_at_the_same_instant_log_nothing() -> None:
    session = Session(OREBRO)
    session.post([CONSENT, START])
    moment = datetime.fromisoformat("2026-12-23T08:00:00+01:00")
    assert len(session.tick(moment)) > 0
    count = len(session.changes())
    assert len(session.tick(moment)) == 0
    assert len(session.changes()) == count


def _said(changes: Any) -> list[tuple[str, str, str | None, str | None]]:
    return sorted((c.case, c.obligation, c.before or "", c.after or "") for c in changes)


@pytest.mark.parametrize("rid", ROUTINE_IDS)
@_SETTINGS
@given(data=st.data())
def test_waking_at_each_next_change_says_what_ticking_every_case_says(rid: str, data: Any) -> None:
    versions = REGISTRY.versions(rid)
    events = data.draw(streams(rid))
    woken, ticked = Session(versions), Session(versions)
    for item in events:
        try:
            woken.post(item)
        except EventError:
            continue
        ticked.post(item)
    if woken.clock is None:
        return
    # Everything time has changed so far, then one wake-up at each next change.
    assert _said(woken.tick(woken.clock)) == _said(ticked.tick(ticked.clock))
    for _ in range(12):
        moment = woken.next_change()
        if moment is None:
            break
        assert woken.clock is not None and moment > woken.clock
        # Nothing changes before it: a tick a second earlier over every case says nothing.
        if moment - timedelta(seconds=1) > woken.clock:
            assert _said(ticked.tick(moment - timedelta(seconds=1))) == []
        said = woken.wake(moment)
        assert _said(said) == _said(ticked.tick(moment))
    # Nothing was left for later: a tick a year on says what a wake-up then says.
    year = (woken.clock or ticked.clock) + timedelta(days=365)
    assert _said(woken.wake(year)) == _said(ticked.tick(year))


def test_next_change_is_the_deadline_passing_and_wake_reports_it() -> None:
    session = Session(OREBRO)
    session.post([CONSENT, START])
    # The consent record is due by the end of its deadline day; the first change is just after.
    first = session.next_change()
    assert first is not None
    assert session.wake(first - timedelta(seconds=1)).changes == ()
    said = session.wake(first)
    assert ("consent-recorded", "due", "overdue") in {(c.rule, c.before, c.after) for c in said}
    assert all(c.cause is None for c in said)
    assert session.next_change() is None or session.next_change() > first  # type: ignore[operator]
