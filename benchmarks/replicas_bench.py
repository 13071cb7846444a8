"""``samverkan serve`` on SQLite and on PostgreSQL with one and two replicas: HTTP posts per
second and latency from several client threads, and nothing lost.

Run from the repository root, with a PostgreSQL server whose URL (a user that may create
databases) is in ``SAMVERKAN_TEST_POSTGRES`` (``.ci/postgres.sh`` starts one)::

    python benchmarks/replicas_bench.py           # 4,000 posts per setup from 8 threads
    python benchmarks/replicas_bench.py --quick   # 600 posts, a smoke run for CI
    python benchmarks/replicas_bench.py --json

Each setup gets a fresh store (a fresh database for PostgreSQL, dropped afterwards). With two
replicas the threads alternate between them, so half the posts land on each; every post is
one event of one of 200 cases. Without the server or psycopg only SQLite is measured. SQLite
syncs every commit (synchronous=FULL); PostgreSQL syncs as its server is configured (the
throwaway server of .ci/postgres.sh runs with fsync=off), so compare the two with that in
mind.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from live_bench import ROUTINE, ROUTINE_ID, TOKEN, _events, _figures, _free_port

SERVER_ENV = "SAMVERKAN_TEST_POSTGRES"


@contextmanager
def _replica(store: str, folder: Path, name: str) -> Iterator[str]:
    """A running ``samverkan serve`` on ``store``; its URL."""
    import httpx

    port = _free_port()
    log = (folder / f"{name}.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "samverkan_rules", "serve", "--routines", str(ROUTINE),
         "--store", store, "--port", str(port), "--log-level", "warning",
         "--future-tolerance", "36500d"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, "SAMVERKAN_TOKEN": TOKEN},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"samverkan serve did not start: see {log.name}") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _load(urls: list[str], posts: int, threads: int) -> dict[str, Any]:
    import httpx

    events = _events(7, posts, 200)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []

    def worker(n: int) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=urls[n % len(urls)], headers=headers, timeout=60) as client:
            for event in events[n::threads]:
                case = event.pop("case")
                t0 = time.perf_counter()
                answer = client.post(f"/routines/{ROUTINE_ID}/cases/{case}/events", json=event)
                latencies[n].append(time.perf_counter() - t0)
                if answer.status_code != 200 or answer.json().get("accepted") != 1:
                    errors.append(f"{answer.status_code} {answer.text[:200]}")

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    began = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    figures: dict[str, Any] = _figures(
        [x for lat in latencies for x in lat], time.perf_counter() - began
    )
    figures["errors"] = len(errors)
    return figures


@contextmanager
def _database(server: str) -> Iterator[str]:
    import psycopg

    name = "samverkan_bench_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}".encode())
    try:
        yield urlsplit(server)._replace(path="/" + name).geturl()
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


def _stored(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    return int(row[0]) if row else 0


def main(argv: list[str] | None = None) -> int:
    """Measure each setup and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="600 posts, for CI smoke runs")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if not all(importlib.util.find_spec(m) for m in ("starlette", "uvicorn", "httpx")):
        print("skipped: the 'serve' extra and httpx are not installed")
        return 0
    posts, threads = (600, 8) if args.quick else (4000, 8)
    server = os.environ.get(SERVER_ENV, "")
    has_pg = bool(server) and importlib.util.find_spec("psycopg") is not None
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with _replica(str(folder / "events.db"), folder, "sqlite") as url:
            out["SQLite, 1 replica"] = _load([url], posts, threads)
        for count in (1, 2) if has_pg else ():
            with _database(server) as database, ExitStack() as stack:
                urls = [
                    stack.enter_context(_replica(database, folder, f"pg{count}-{n}"))
                    for n in range(count)
                ]
                figures = _load(urls, posts, threads)
                figures["lost"] = posts - _stored(database)
                out[f"PostgreSQL, {count} replica{'s' if count > 1 else ''}"] = figures
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{posts} HTTP posts of one event from {threads} threads, 200 cases, loopback")
        print(f"    {'setup':<24} {'posts/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
        for setup, f in out.items():
            print(
                f"    {setup:<24} {f['posts_per_s']:>9} {f['p50_ms']:>8} {f['p99_ms']:>8} "
                f"{f['errors']:>7}"
            )
        if not has_pg:
            print(f"    PostgreSQL skipped: no server in {SERVER_ENV} (or psycopg missing)")
    if any(f["errors"] or f.get("lost") for f in out.values()):
        print("FAILED: errors or lost events", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
