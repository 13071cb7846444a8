"""A running ``samverkan serve`` for the service's tests: a real process on a loopback port,
a real store (an SQLite file on disk, or a PostgreSQL database), real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support import ROUTINES

pytest.importorskip("starlette", reason="the 'serve' extra (starlette, uvicorn) is not installed")
pytest.importorskip("uvicorn", reason="the 'serve' extra (starlette, uvicorn) is not installed")
httpx = pytest.importorskip("httpx", reason="httpx (the 'dev' extra) is not installed")

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
TOKEN = "test-token-0123456789abcdef"


def serve_once(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``samverkan serve ARGS`` to its end: for start-up refusals, which exit at once."""
    return subprocess.run(
        [sys.executable, "-m", "samverkan_rules", "serve", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def conforms(document: dict[str, Any], name: str, value: Any) -> None:
    """Raise unless ``value`` is what the OpenAPI ``document``'s component ``name`` says."""
    root = {**document, "$ref": f"#/components/schemas/{name}"}
    jsonschema.Draft202012Validator(root).validate(value)


class Service:
    """A running ``samverkan serve`` process and an HTTP client for it."""

    def __init__(
        self,
        tmp: Path,
        *extra: str,
        routines: Path = ROUTINE,
        store: str = "events.db",
        env: dict[str, str] | None = None,
        name: str = "serve",
    ) -> None:
        self.port = _free_port()
        # A database URL as given; a file name under the test's folder.
        self.store = store if store.startswith("postgresql://") else tmp / store
        self.log = tmp / f"{name}.log"
        env = {**os.environ, "SAMVERKAN_TOKEN": TOKEN, **(env or {})}
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "samverkan_rules",
                "serve",
                "--routines",
                str(routines),
                "--store",
                str(self.store),
                "--port",
                str(self.port),
                *extra,
            ],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.auth = {"Authorization": f"Bearer {TOKEN}"}
        if not self.wait_until_up(self.url, self.process):
            raise RuntimeError(f"the service exited: {self.log.read_text()}")
        self.client = httpx.Client(base_url=self.url, headers=self.auth, timeout=30)

    free_port = staticmethod(_free_port)

    @staticmethod
    def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> bool:
        """Wait for ``/healthz`` to answer: False when the process ended first."""
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                return False
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not start within 30 s")
            time.sleep(0.1)

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log_file.close()
