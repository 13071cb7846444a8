"""A live session with a store, killed with SIGKILL in the middle of posting: every event
it acknowledged is on disk after a restart, and the restarted session answers as
``evaluate`` does over the stored events."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import pytest

from samverkan_rules import evaluate, load_routine
from samverkan_rules.live import EventStore, Session
from tests.support import ROUTINES

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"

CHILD = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timedelta
    from samverkan_rules import load_routine
    from samverkan_rules.live import Session

    routine = load_routine(sys.argv[1])
    session = Session(routine, store=sys.argv[2])
    start = datetime.fromisoformat("2026-11-02T08:00:00+01:00")
    kinds = ["consent.given", "dagverksamhet.start_planned", "message.sent", "document.recorded"]
    for i in range(10_000):
        case = f"c{i % 200}"
        kind = kinds[(i // 200) % 4]
        data = {
            "consent.given": {"form": "written"},
            "dagverksamhet.start_planned": {"start_date": "2026-12-28"},
            "message.sent": {"kind": "start", "to": ["hemvard.driftsplanerare"],
                             "refers_to": f"e{i - 200}"},
            "document.recorded": {"record": "samtyckesmodul"},
        }[kind]
        event = {"id": f"e{i}", "case": case, "type": kind,
                 "at": (start + timedelta(minutes=7 * i)).isoformat(), "data": data}
        session.post(event)
        print(event["id"], flush=True)  # acknowledged: stored before post returned
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_sigkill_mid_way_loses_no_acknowledged_event(tmp_path: Path) -> None:
    store = tmp_path / "events.db"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ROUTINE), str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    acknowledged: list[str] = []
    deadline = time.monotonic() + 120
    while len(acknowledged) < 1500 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        acknowledged.append(line.strip())
    assert child.poll() is None, "the child ended before it was killed: " + child.stderr.read()
    os.kill(child.pid, signal.SIGKILL)
    # What the child printed before it died: the reader's buffer first (readline reads
    # ahead), then the pipe to its end; communicate() would read the pipe only.
    rest = child.stdout.read()
    child.wait(timeout=60)
    assert child.stderr is not None
    child.stderr.close()
    acknowledged.extend(rest.split())
    assert child.returncode == -signal.SIGKILL
    assert 1500 <= len(acknowledged) < 10_000

    routine = load_routine(ROUTINE)
    with EventStore(store) as reopened:
        stored = [e.id for e in reopened.events()]
    assert set(acknowledged) <= set(stored)
    # Posted in order: the store holds a prefix, at most one unacknowledged event more.
    assert stored == [f"e{i}" for i in range(len(stored))]
    assert len(stored) - len(acknowledged) <= 1

    with Session(routine, store=store) as session:
        events = session.events()
        assert {e.id for e in events} == set(stored)
        as_of = datetime.fromisoformat("2027-01-15T12:00:00+01:00")
        assert session.due(as_of).to_json() == evaluate(routine, events, as_of).to_json()
        # The restarted session goes on where the killed one stopped.
        more = session.post(
            {
                "id": "after-restart",
                "case": "c0",
                "type": "consent.given",
                "at": "2027-01-10T09:00:00+01:00",
                "data": {"form": "oral"},
            }
        )
        assert more.accepted == 1
