"""A routine version is immutable once it has judged events: a file edited in place without a
new version is refused at start; a new version is taken. Real processes on a real store."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from samverkan_rules import load_routine
from samverkan_rules.live import RoutineSessions
from samverkan_rules.live.routed import RoutineChangedError
from tests.serve.support import ROUTINE, TOKEN, Service, serve_once

RID = "orebro-dagverksamhet-hemvard"
R = f"/routines/{RID}"
EVENT = {
    "id": "v-1",
    "type": "dagverksamhet.start_planned",
    "at": "2026-12-01T10:00:00+01:00",
    "data": {"start_date": "2026-12-28"},
}
OLD_READING = "tolkas som senast vid slutet av inskrivningsdagen"
NEW_READING = "tolkas som senast dagen efter inskrivningen"
NOW = datetime.fromisoformat("2026-12-02T12:00:00+01:00")


def _copy(tmp_path: Path) -> Path:
    routine = tmp_path / "routines" / "orebro.yaml"
    routine.parent.mkdir()
    text = ROUTINE.read_text(encoding="utf-8")
    assert OLD_READING in text and 'version: "2"' in text
    routine.write_text(text, encoding="utf-8")
    return routine


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_edited_version_is_refused_at_start_and_a_new_version_taken(tmp_path: Path) -> None:
    routine = _copy(tmp_path)
    args = ("--future-tolerance", "36500d")
    s = Service(tmp_path, *args, routines=routine.parent, store="stores")
    try:
        assert s.client.post(f"{R}/cases/c1/events", json=EVENT).status_code == 200
    finally:
        s.stop()
    # Comments and layout are not the content: still the same version.
    _edit(
        routine, "id: orebro-dagverksamhet-hemvard", "# edited\nid:   orebro-dagverksamhet-hemvard"
    )
    Service(tmp_path, *args, routines=routine.parent, store="stores").stop()
    # An interpretation edited in place, the version kept: refused, naming what to do.
    _edit(routine, OLD_READING, NEW_READING)
    store = tmp_path / "stores"
    env = {**os.environ, "SAMVERKAN_TOKEN": TOKEN}
    refused = serve_once("--routines", str(routine.parent), "--store", str(store), env=env)
    assert refused.returncode == 2
    message = refused.stderr
    assert str(routine) in message
    assert f"routine {RID} version 2 has changed" in message
    assert "immutable once it has judged events" in message
    assert "new version" in message
    # A new version number: taken, and the old one's cases are judged by it.
    _edit(routine, 'version: "2"', 'version: "3"')
    s = Service(tmp_path, *args, routines=routine.parent, store="stores")
    try:
        due = s.client.get(f"{R}/cases/c1/due").json()
        assert {a["routine"]["version"] for a in due["cases"][0]["actions"]} == {"3"}
        assert s.client.post(f"{R}/cases/c1/events", json={**EVENT, "id": "v-2"}).status_code == 200
    finally:
        s.stop()
    assert "version 2 judged events in its store and is no longer given" in s.log.read_text()
    # And version 3 is now fixed too.
    _edit(routine, NEW_READING, OLD_READING)
    again = serve_once("--routines", str(routine.parent), "--store", str(store), env=env)
    assert again.returncode == 2 and "version 3 has changed" in again.stderr


def test_a_version_not_yet_used_may_still_change(tmp_path: Path) -> None:
    routine = _copy(tmp_path)
    store = tmp_path / "stores"
    with RoutineSessions([load_routine(routine)], store=store):
        pass  # no event judged: nothing kept
    _edit(routine, OLD_READING, NEW_READING)
    with RoutineSessions([load_routine(routine)], store=store) as sessions:
        sessions.post(RID, {**EVENT, "case": "c1"}, now=NOW)
    _edit(routine, NEW_READING, OLD_READING)
    with pytest.raises(RoutineChangedError, match="version 2 has changed"):
        RoutineSessions([load_routine(routine)], store=store)
