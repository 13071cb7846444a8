"""Every option of ``samverkan serve`` also from ``SAMVERKAN_<OPTION>``: the command line
wins, a bad value names its variable, ``--help`` and the service's reference page
(docs/reference/service.md) list every variable."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from samverkan_rules.cli._environment import apply_environment, from_environment, variable_of
from tests.serve.support import ROUTINE, TOKEN, Service, serve_once
from tests.support import ROOT

httpx = pytest.importorskip("httpx", reason="httpx (the 'dev' extra) is not installed")

R = "/routines/orebro-dagverksamhet-hemvard"
EVENTS = [
    {
        "id": f"env-{i}",
        "type": "consent.given",
        "at": "2026-12-01T09:00:00+01:00",
        "data": {"form": "written"},
    }
    for i in range(3)
]


def _help() -> str:
    return subprocess.run(
        [sys.executable, "-m", "samverkan_rules", "serve", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "400"},
        check=True,
    ).stdout


def _options(help_text: str) -> set[str]:
    return set(re.findall(r"^\s+(--[a-z][a-z-]+)", help_text, flags=re.M)) - {"--help"}


def test_help_and_the_service_page_name_every_options_variable() -> None:
    help_text = _help()
    options = _options(help_text)
    assert {"--port", "--clients", "--routines", "--log-format"} <= options
    page = (ROOT / "docs" / "reference" / "service.md").read_text(encoding="utf-8")
    for option in options:
        assert f"[env {variable_of(option)}]" in help_text, option
        assert f"`{variable_of(option)}`" in page, option


def test_a_service_configured_by_its_environment_and_the_command_line_wins(
    tmp_path: Path,
) -> None:
    env = {"SAMVERKAN_MAX_EVENTS": "2", "SAMVERKAN_LOG_FORMAT": "json"}
    s = Service(tmp_path, env=env)
    try:
        too_many = s.client.post(f"{R}/cases/c1/events", json=EVENTS)
        assert too_many.status_code == 413
        assert "at most 2" in too_many.json()["error"]["message"]
    finally:
        s.stop()
    assert s.log.read_text(encoding="utf-8").startswith("{")  # SAMVERKAN_LOG_FORMAT=json
    s = Service(tmp_path, "--max-events", "5", env=env)
    try:
        assert s.client.post(f"{R}/cases/c1/events", json=EVENTS).status_code == 200
    finally:
        s.stop()


def test_required_options_and_the_port_from_the_environment(tmp_path: Path) -> None:
    port = Service.free_port()
    env = {
        **os.environ,
        "SAMVERKAN_TOKEN": TOKEN,
        "SAMVERKAN_ROUTINES": str(ROUTINE),
        "SAMVERKAN_STORE": str(tmp_path / "events.db"),
        "SAMVERKAN_PORT": str(port),
        "SAMVERKAN_CORS_ORIGIN": "https://a.example, https://b.example",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "samverkan_rules", "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert Service.wait_until_up(f"http://127.0.0.1:{port}", process)
        preflight = httpx.options(
            f"http://127.0.0.1:{port}{R}/due",
            headers={"Origin": "https://b.example", "Access-Control-Request-Method": "GET"},
        )
        assert preflight.status_code == 204
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("SAMVERKAN_PORT", "eighty", "give a whole number"),
        ("SAMVERKAN_FUTURE_TOLERANCE", "5 minutes", "give seconds"),
        ("SAMVERKAN_BACKEND", "fast", "choose one of reference, durable"),
        ("SAMVERKAN_ALLOW_PERSONAL_CASE_IDS", "maybe", "write true or false"),
        ("SAMVERKAN_MAX_EVENTS", "0", "SAMVERKAN_MAX_EVENTS=0: give at least 1"),
        ("SAMVERKAN_PORT", "70000", "SAMVERKAN_PORT=70000: give a port from 0 to 65535"),
    ],
)
def test_a_bad_value_names_its_variable(
    tmp_path: Path, variable: str, value: str, says: str
) -> None:
    env = {**os.environ, "SAMVERKAN_TOKEN": TOKEN, variable: value}
    args = ["--routines", str(ROUTINE), "--store", str(tmp_path / "e.db")]
    done = serve_once(*args, env=env)
    assert done.returncode == 2
    assert says in done.stderr
    assert variable in done.stderr


def test_a_required_option_missing_from_both_says_where_it_may_come_from() -> None:
    done = serve_once("--store", "x.db", env={**os.environ, "SAMVERKAN_TOKEN": TOKEN})
    assert done.returncode == 2
    assert "--routines is required" in done.stderr and "SAMVERKAN_ROUTINES" in done.stderr


def test_apply_environment_keeps_what_the_command_line_gave() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--flag", action="store_true")
    parser.add_argument("--origin", action="append")
    from_environment(parser)
    environ = {"SAMVERKAN_PORT": "9", "SAMVERKAN_FLAG": "true", "SAMVERKAN_ORIGIN": "a,b"}
    args = parser.parse_args(["--port", "7"])
    apply_environment(args, environ)
    assert (args.port, args.flag, args.origin) == (7, True, ["a", "b"])
    args = parser.parse_args(["--origin", "c"])
    apply_environment(args, {})
    assert (args.port, args.flag, args.origin) == (8080, False, ["c"])
