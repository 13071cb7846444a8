"""Live-session figures: post latency and throughput per backend, and the HTTP service
under load from several client threads.

Run from the repository root::

    python benchmarks/live_bench.py           # 20,000 HTTP posts from 8 threads (a minute or two)
    python benchmarks/live_bench.py --quick   # smaller sizes, a smoke run for CI
    python benchmarks/live_bench.py --json    # machine-readable output

Figures:

(a) ``Session.post`` latency (p50/p99) and posts per second, in process, with an SQLite store
    on disk (synchronous=FULL), for the reference backend and, where durable-rules is
    installed, the durable backend side by side, on the same generated events (many cases,
    each growing as events arrive);
(b) the same for one case that already holds 100 events, and (without a store) for one of
    12,000 events (2,000 with --quick) beside posts that each begin a case of their own:
    what a long case costs a post, and its ratio to a new case's (the target is 1: a kept
    replay settles only the obligations that may have moved, see
    ``samverkan_rules.engine.settling``);
(c) ``samverkan serve`` started as a real process on a loopback port, with POSTs of one
    event each from 8 client threads: posts per second, p50/p99 latency, errors, and the
    number of events in the store afterwards (it must equal the posts);
(d) the same server, one client: a case of 12,000 events (2,000 with --quick) posted 500 a
    post, then posts of one event taking turns between it and a new case each time: p50 and
    p99 of each and the ratio of the p50s (the target is 1: a post to a long case answers
    as fast as to a new case).

Every request goes to 127.0.0.1; the loop is bounded by the post count. Data is generated
deterministically from ``--seed``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from samverkan_rules import load_routine
from samverkan_rules.live import EventStore, Session

ROOT = Path(__file__).resolve().parent.parent
ROUTINE = ROOT / "routines" / "orebro-dagverksamhet-hemvard.yaml"
ROUTINE_ID = "orebro-dagverksamhet-hemvard"
START = datetime.fromisoformat("2026-09-01T08:00:00+02:00")
TOKEN = "bench-token-" + "x" * 24


def _event(rng: random.Random, i: int, case: str) -> dict[str, Any]:
    kind = rng.choice(
        ["consent.given", "dagverksamhet.start_planned", "message.sent", "document.recorded"]
    )
    data: dict[str, Any] = {
        "consent.given": {"form": "written"},
        "dagverksamhet.start_planned": {"start_date": "2026-12-28"},
        "message.sent": {"kind": "start", "to": ["hemvard.driftsplanerare"]},
        "document.recorded": {"record": "samtyckesmodul"},
    }[kind]
    at = START + timedelta(minutes=3 * i + rng.randint(0, 2))
    return {"id": f"e{i}", "case": case, "type": kind, "at": at.isoformat(), "data": data}


def _events(seed: int, count: int, cases: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [_event(rng, i, f"c{rng.randrange(cases)}") for i in range(count)]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _figures(latencies: list[float], elapsed: float) -> dict[str, float]:
    return {
        "posts": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 3),
        "posts_per_s": round(len(latencies) / elapsed, 1),
    }


def bench_session(backend: str, events: list[dict[str, Any]], folder: Path) -> dict[str, float]:
    routine = load_routine(ROUTINE)
    with Session(routine, store=folder / f"{backend}.db", backend=backend) as session:  # type: ignore[arg-type]
        latencies = []
        began = time.perf_counter()
        for event in events:
            t0 = time.perf_counter()
            session.post(event)
            latencies.append(time.perf_counter() - t0)
        return _figures(latencies, time.perf_counter() - began)


def bench_big_case(
    backend: str, size: int, posts: int, folder: Path, *, stored: bool = True
) -> dict[str, float]:
    routine = load_routine(ROUTINE)
    rng = random.Random(7)
    store = folder / f"{backend}-big.db" if stored else None
    with Session(routine, store=store, backend=backend) as session:  # type: ignore[arg-type]
        session.post([_event(rng, i, "big") for i in range(size)])
        latencies = []
        began = time.perf_counter()
        for i in range(size, size + posts):
            t0 = time.perf_counter()
            session.post(_event(rng, i, "big"))
            latencies.append(time.perf_counter() - t0)
        return _figures(latencies, time.perf_counter() - began)


def bench_new_cases(posts: int) -> dict[str, float]:
    """Each post the first event of a case of its own, no store: what a post costs when its
    case has no history (the figure a long case's post is set against)."""
    routine = load_routine(ROUTINE)
    rng = random.Random(7)
    with Session(routine) as session:
        session.post([_event(rng, i, f"warm{i}") for i in range(100)])
        latencies = []
        began = time.perf_counter()
        for i in range(100, 100 + posts):
            t0 = time.perf_counter()
            session.post(_event(rng, i, f"new{i}"))
            latencies.append(time.perf_counter() - t0)
        return _figures(latencies, time.perf_counter() - began)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _long_case_over_http(url: str, size: int, posts: int) -> dict[str, Any]:
    """One client: ``size`` events into case ``long`` (500 a post), then posts of one event
    taking turns between that case and a new case each time."""
    import httpx

    rng = random.Random(5)
    path = f"/routines/{ROUTINE_ID}/cases/{{}}/events"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    timed: dict[str, list[float]] = {"long": [], "new": []}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        # Ids of their own: (c)'s events hold e0, e1, ...
        history = [{**_event(rng, i, "long"), "id": f"long{i}"} for i in range(size)]
        for at in range(0, size, 500):
            chunk = [{k: v for k, v in e.items() if k != "case"} for e in history[at : at + 500]]
            answer = client.post(path.format("long"), json=chunk)
            if answer.status_code != 200:
                raise RuntimeError(f"{answer.status_code} {answer.text[:300]}")
        for i in range(size, size + 2 * posts):
            case = "long" if i % 2 == 0 else f"new{i}"
            event = {k: v for k, v in _event(rng, i, case).items() if k != "case"}
            event["id"] = f"long{i}"
            t0 = time.perf_counter()
            client.post(path.format(case), json=event).raise_for_status()
            timed["long" if case == "long" else "new"].append(time.perf_counter() - t0)
    return {"size": size, **{k: _figures(v, sum(v)) for k, v in timed.items()}}


def bench_http(
    posts: int, threads: int, cases: int, folder: Path, long_case: int = 0
) -> dict[str, Any]:
    import httpx

    port = _free_port()
    store = folder / "serve.db"
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "samverkan_rules",
            "serve",
            "--routines",
            str(ROUTINE),
            "--store",
            str(store),
            "--port",
            str(port),
            "--log-level",
            "warning",
            # The generated histories are not tied to today's date.
            "--future-tolerance",
            "36500d",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "SAMVERKAN_TOKEN": TOKEN},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("samverkan serve did not start") from None
                time.sleep(0.1)
        events = _events(11, posts, cases)
        latencies: list[list[float]] = [[] for _ in range(threads)]
        errors: list[str] = []

        def worker(n: int) -> None:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
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
        elapsed = time.perf_counter() - began
        long = _long_case_over_http(url, long_case, 200) if long_case else None
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    with EventStore(store) as stored:
        count = len(stored)
    figures: dict[str, Any] = _figures([x for lat in latencies for x in lat], elapsed)
    figures.update({"threads": threads, "errors": len(errors), "stored": count})
    if long is not None:
        figures["long_case"] = long
        figures["stored"] -= long_case + 400  # (d)'s events are not (c)'s
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for CI smoke runs")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated events")
    args = parser.parse_args(argv)

    posts = 1000 if args.quick else 4000
    http_posts = 2000 if args.quick else 20_000
    backends = ["reference"]
    if importlib.util.find_spec("durable") is not None:
        backends.append("durable")
    has_http = all(importlib.util.find_spec(m) for m in ("starlette", "uvicorn", "httpx"))
    out: dict[str, Any] = {"python": sys.version.split()[0], "session": {}, "case_100": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        events = _events(args.seed, posts, max(1, posts // 20))
        for backend in backends:
            out["session"][backend] = bench_session(backend, events, folder)
            out["case_100"][backend] = bench_big_case(
                backend, 100, 50 if args.quick else 200, folder
            )
            # The same without the store: what the evaluation itself costs per post.
            out["case_100"][f"{backend}, no store"] = bench_big_case(
                backend, 100, 50 if args.quick else 200, folder, stored=False
            )
        # A long case: what its history costs each post.
        long_case = 2000 if args.quick else 12_000
        out["case_100"][f"reference, {long_case} events, no store"] = bench_big_case(
            "reference", long_case, 50 if args.quick else 200, folder, stored=False
        )
        out["case_100"]["reference, a new case each post, no store"] = bench_new_cases(
            50 if args.quick else 200
        )
        if has_http:
            out["http"] = bench_http(http_posts, 8, 500, folder, long_case)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"Python {out['python']}; store: SQLite WAL, synchronous=FULL, on {tempfile.gettempdir()}"
    )
    print()
    print(f"(a) Session.post, {posts} events over {max(1, posts // 20)} cases")
    print(f"    {'backend':<10} {'p50 ms':>8} {'p99 ms':>8} {'posts/s':>9}")
    for backend, f in out["session"].items():
        print(f"    {backend:<10} {f['p50_ms']:>8} {f['p99_ms']:>8} {f['posts_per_s']:>9}")
    print("(b) Session.post into one case of 100+ events (and, no store, of 12,000)")
    print(f"    {'backend':<42} {'p50 ms':>8} {'p99 ms':>8} {'posts/s':>9}")
    for backend, f in out["case_100"].items():
        print(f"    {backend:<42} {f['p50_ms']:>8} {f['p99_ms']:>8} {f['posts_per_s']:>9}")
    long_p50 = out["case_100"][f"reference, {long_case} events, no store"]["p50_ms"]
    new_p50 = out["case_100"]["reference, a new case each post, no store"]["p50_ms"]
    print(
        f"    a post to the {long_case}-event case / to a new case (p50): "
        f"{long_p50 / new_p50:.2f} (target: as fast, 1)"
    )
    if "http" in out:
        h = out["http"]
        lost = h["posts"] - h["stored"]
        print(f"(c) HTTP: {h['posts']} posts from {h['threads']} threads to samverkan serve")
        print(
            f"    {h['posts_per_s']} posts/s, p50 {h['p50_ms']} ms, p99 {h['p99_ms']} ms, "
            f"errors {h['errors']}, stored {h['stored']} (lost {lost})"
        )
        if "long_case" in h:
            lc = h["long_case"]
            print(
                f"(d) HTTP, one client: a post to a case of {lc['size']} events, p50 "
                f"{lc['long']['p50_ms']} ms, p99 {lc['long']['p99_ms']} ms; to a new case, p50 "
                f"{lc['new']['p50_ms']} ms, p99 {lc['new']['p99_ms']} ms (ratio of p50s "
                f"{lc['long']['p50_ms'] / lc['new']['p50_ms']:.2f}, target 1)"
            )
        if h["errors"] or lost:
            print("FAILED: errors or lost events", file=sys.stderr)
            return 1
    else:
        print("(c) skipped: the 'serve' extra and httpx are not installed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
