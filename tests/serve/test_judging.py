"""A listing's cases judged in a process of the service's own (``serve/judging.py``): the
same lines as judging them in the service's process, for every routine, filter and output
option; a lower scheduling priority; and whenever the process cannot be used (killed, its
routines changed, a routine without a file), the batch is judged here with the same lines."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samverkan_rules.live import Session
from samverkan_rules.routine.load import load_routine
from samverkan_rules.serve import judging
from samverkan_rules.serve.judging import JudgingProcess
from samverkan_rules.serve.queries import DueQuery, Line, case_lines, judged_here, judged_lines
from samverkan_rules.status import STATUSES
from tests.live.conftest import post_each
from tests.live.test_differential import REGISTRY, ROUTINE_IDS, SETTINGS, streams
from tests.live.test_session import CONSENT, START
from tests.serve.support import Service
from tests.support import ROOT, ROUTINES, package_copy

OREBRO_FILE = ROOT / "routines" / "orebro-dagverksamhet-hemvard.yaml"


@pytest.fixture(scope="module")
def process() -> Iterator[JudgingProcess]:
    every = [v for rid in ROUTINE_IDS for v in REGISTRY.versions(rid)]
    judge = JudgingProcess(every)
    judge.start()
    yield judge
    judge.close()


def _lines(session: Session, as_of: Any, judge: Any) -> list[Line]:
    return list(judged_lines(session, session.listed_cases(), as_of, judge, batch=2))


@pytest.mark.parametrize("rid", ROUTINE_IDS)
@SETTINGS
@given(data=st.data())
def test_the_process_judges_as_this_process_does(
    process: JudgingProcess, rid: str, data: Any
) -> None:
    with Session(REGISTRY.versions(rid)) as session:
        post_each(session, data.draw(streams(rid)))
        if session.clock is None:
            return
        as_of = session.clock + timedelta(days=data.draw(st.integers(-5, 60)))
        query = DueQuery(
            statuses=frozenset(data.draw(st.sets(st.sampled_from(STATUSES), max_size=2))),
            responsible=data.draw(st.none() | st.sampled_from(["hemvard", "dagverksamhet"])),
            deadline_before=data.draw(st.none() | st.just(as_of + timedelta(days=3))),
        )
        options = {"ledger": data.draw(st.booleans()), "trace": data.draw(st.booleans())}
        before = process.judged_there
        there = _lines(
            session, as_of, lambda batch: process.lines(session, batch, as_of, options, query)
        )
        here = _lines(session, as_of, judged_here(session, as_of, options, query))
        assert there == here
        assert process.judged_there > before, "the batches were judged by the process"


def test_the_process_runs_at_a_lower_priority(process: JudgingProcess) -> None:
    pid = process.pid
    assert pid is not None
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, mine + judging.NICE)


def _orebro_session() -> Session:
    session = Session([load_routine(OREBRO_FILE)])
    session.post([CONSENT, START])
    for n in range(2, 9):
        session.post({**CONSENT, "id": f"k{n}", "case": f"c{n}"})
    return session


def _listing(session: Session, judge: JudgingProcess) -> list[Line]:
    clock = session.clock
    assert clock is not None
    as_of = clock + timedelta(days=20)
    query = DueQuery()
    return list(
        judged_lines(
            session,
            session.listed_cases(),
            as_of,
            lambda batch: judge.lines(session, batch, as_of, {}, query),
            batch=3,
        )
    )


@contextlib.contextmanager
def _started(session: Session) -> Iterator[JudgingProcess]:
    """A judging process of the session's routines, started, closed at the end."""
    judge = JudgingProcess(session.routines)
    judge.start()
    try:
        yield judge
    finally:
        judge.close()
    assert judge.pid is None


def _expected(session: Session) -> list[Line]:
    clock = session.clock
    assert clock is not None
    return case_lines(session.due(clock + timedelta(days=20)), {}, DueQuery())


def test_a_service_gone_before_the_answer_ends_the_process_quietly() -> None:
    """The service stops (as at shutdown) while the judging process is about to answer: it
    ends with status 0 and writes nothing to the standard error the two share, which the
    service's JSON log is made of."""
    process = subprocess.Popen(
        [sys.executable, "-m", judging.__name__, "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdout.close()  # the service is gone: its answer has nowhere to go
    judging._send(process.stdin, [str(ROUTINES / "orebro-dagverksamhet-hemvard.yaml")])
    process.stdin.close()
    assert process.stderr is not None
    err = process.stderr.read().decode()
    assert (process.wait(timeout=60), err) == (0, "")


def test_a_killed_process_costs_nothing_and_is_started_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    session = _orebro_session()
    with _started(session) as judge:
        assert _listing(session, judge) == _expected(session)
        assert (judge.judged_there, judge.judged_here) == (3, 0)
        first = judge.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        with caplog.at_level(logging.ERROR, logger="samverkan.serve"):
            assert _listing(session, judge) == _expected(session)
        assert judge.judged_here == 3, "judged here while the process is gone"
        assert "the judging process failed" in caplog.text
        monkeypatch.setattr(judging, "RESTART_SECONDS", 0.0)
        assert _listing(session, judge) == _expected(session)
        assert judge.judged_there == 6 and judge.pid not in (None, first)


def test_the_process_runs_this_package_not_a_copy_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service started in a directory holding another ``samverkan_rules`` (a checkout, an
    unpacked release) has its judging process import the package the service runs."""
    monkeypatch.chdir(package_copy(tmp_path))
    session = _orebro_session()
    with _started(session) as judge:
        assert _listing(session, judge) == _expected(session)
        assert (judge.judged_there, judge.judged_here) == (3, 0)


def test_a_listing_judges_its_first_batches_here_and_the_rest_there(
    process: JudgingProcess,
) -> None:
    session = _orebro_session()
    clock = session.clock
    assert clock is not None
    as_of = clock + timedelta(days=20)
    query = DueQuery()
    here, there = process.judged_here, process.judged_there
    judge = process.judge(session, as_of, {}, query)
    lines = list(judged_lines(session, session.listed_cases(), as_of, judge, batch=2))
    assert lines == _expected(session)
    assert process.judged_here - here == judging.HERE_FIRST
    assert process.judged_there - there == 4 - judging.HERE_FIRST  # 8 cases, 2 a batch


def test_routines_that_changed_on_disk_are_not_judged_there(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    copy = tmp_path / OREBRO_FILE.name
    shutil.copy(OREBRO_FILE, copy)
    session = _orebro_session()
    judge = JudgingProcess([load_routine(copy)])
    copy.write_text(copy.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    judge.start()
    try:
        with caplog.at_level(logging.ERROR, logger="samverkan.serve"):
            assert _listing(session, judge) == _expected(session)
        assert (judge.judged_there, judge.judged_here) == (0, 3)
        assert "routines differ" in caplog.text
    finally:
        judge.close()


def test_a_routine_without_a_file_is_judged_here() -> None:
    session = _orebro_session()
    (routine,) = session.routines
    judge = JudgingProcess([dataclasses.replace(routine, file=None)])
    judge.start()
    try:
        assert judge.pid is None
        assert _listing(session, judge) == _expected(session)
        assert judge.judged_here == 3
    finally:
        judge.close()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text()
        found.extend(int(c) for c in text.split())
    return found


@pytest.mark.parametrize("listings", ["process", "here"])
def test_the_service_judges_listings_where_it_is_told(tmp_path: Path, listings: str) -> None:
    service = Service(tmp_path, "--listings", listings, "--future-tolerance", "36500d")
    try:
        rid = "orebro-dagverksamhet-hemvard"
        posted = service.client.post(f"/routines/{rid}/cases/c1/events", json=[CONSENT, START])
        assert posted.status_code == 200, posted.text
        answer = service.client.get(f"/routines/{rid}/due")
        assert answer.status_code == 200 and '"trailer"' in answer.text
        deadline = time.monotonic() + 10
        children = _children(service.process.pid)
        while listings == "process" and not children and time.monotonic() < deadline:
            time.sleep(0.1)
            children = _children(service.process.pid)
        assert len(children) == (1 if listings == "process" else 0)
        metrics = service.client.get("/metrics").text
        counted = 'samverkan_listing_batches_total{judged="here"} 1.0' in metrics
        assert counted == (listings == "process"), "one batch, judged here: it is the first"
    finally:
        service.stop()
