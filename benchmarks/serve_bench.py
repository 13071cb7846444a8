"""``samverkan serve`` at municipal size: 20,000 open cases, 100,000 events.

Run from the repository root::

    python benchmarks/serve_bench.py           # 20,000 cases, 100,000 events (a few minutes)
    python benchmarks/serve_bench.py --quick   # 1,000 cases, 5,000 events: a smoke run for CI
    python benchmarks/serve_bench.py --json    # the figures as JSON

The cases come from the project's synthetic generator
(:func:`samverkan_rules.audit.synthetic.generate_history`, the Örebro routine, plain case
ids), each cut to its first 5 events so the cases are open: the events of the past year,
judged at the wall clock. ``samverkan serve`` runs as a real process on a loopback port with
its SQLite store on disk (synchronous=FULL); clients are threads of this process using
httpx, one connection each; the full stream is read by a process of its own. In one run,
side by side:

(a) loading: every case posted as one array, from 20 clients (posts/s, events/s);
(b) posts of one event each, from 20 concurrent clients, into the loaded store: p50, p99,
    each client posting again as soon as it has its answer (the server's capacity: a post
    then waits for the 19 others, so this measures the queue); and the same at a paced 100
    posts a second (what a post costs);
(c) ``GET .../due?status=overdue&limit=100``, the first page, one client: p50, p99;
(d) ``GET .../obligations/{id}/explain`` of one obligation, one client: p50, p99;
(e) paced posts as (b) while another process reads the full ``GET .../due`` stream (every
    case): p50, p99 (the target), the stream's duration, size and trailer, and ``/healthz``
    meanwhile; then posts at will beside a second full stream;
(f) the server's peak resident memory (``VmHWM`` of ``/proc/PID/status``).

Each figure is printed with the issue's target and its ratio to it, and (e)'s p99 with its
ratio to (b)'s: what a full listing costs the posts running beside it. Client and server
share the machine's cores, so the figures include the clients' own work.

Figures of the full size (``python benchmarks/serve_bench.py``, 2026-12-06 04:20 UTC,
Python 3.11.7, 2 cores, otherwise idle, store on disk)::

    samverkan serve, 20000 cases / 99987 events, Python 3.11.7, 20 clients
    (a) load: 20000 posts of a case's events in 54.5 s: 367.0 posts/s, 1834.8 events/s
        figure                                         p50 ms   p99 ms   target  ratio
        (b) post, 1 event, 20 clients at will (n=9999)     33.6     78.6        -      -
            the same, 100 posts/s (n=2020)                3.1     35.2        -      -
        (c) due?status=overdue page of 100 cases         66.7     87.2      100   0.87
        (d) explain one obligation                        1.7      3.1       20   0.15
        (e) post beside a full due stream, 100/s (n=521)      8.5     90.2       50   1.80
            /healthz beside the stream                   33.9    247.0        -      -
            posts at will beside it (n=10691)            45.2    117.9        -      -
        the stream (paced): 22420 cases, 71.0 MB in 5.15 s, trailer present
        the stream (at will): 22540 cases, 71.5 MB in 26.66 s, trailer present
        post p99 beside the stream / alone, 100/s: 2.56; at will: 1.50
    (f) server peak RSS: 344.6 MB (target 500 MB, ratio 0.69)

Before, in the run of 2026-12-05 23:47 UTC (the same machine, posts at will, the stream read
by a thread of the clients' process): (c) 116.3 / 118.7 ms, (e) 46.8 / 141.0 ms with the
stream taking 59.95 s, (f) 534.6 MB. What changed: a listing judges its cases 64 at a time
(one evaluation each) instead of all at once or one by one, writes 64 KB chunks instead of a
line at a time and gives way to posts between batches; evaluating a case leaves no reference
cycle (there were about 19 objects a case for the cycle collector); the service takes the
collector's full passes over (``samverkan_rules.serve.heap``) and hands the interpreter
between threads every millisecond. A paced post beside the stream still waits, at its 99th
percentile, for stalls of 30-80 ms that hold every request in flight at once (seen in the
service's own request log). They are not the collector's full passes (none runs in that
phase: the events held stay below their next doubling); a thread watching the server saw
one coincide with a young collection that took 30 ms there and at most 1.4 ms in a
process of its own, so the server was likely off its core, which it shares here with the
20 clients and the reader. The figure varies with that: three runs each at 8,000 cases,
with Python's young threshold of 700 and with 5,000, gave p99 68, 81, 47 and 51, 82, 69 ms
(no difference between the two settings, so the default stays).

(``/healthz`` is probed with a new connection each time, so its figure includes the
client's own set-up of one.)

The server's memory (2026-12-06, the full size, before the batches above, run back to back
on 2 cores shared with other work): keeping every case's evaluation state between posts
(``SAMVERKAN_KEPT_CASES=1000000``) peaked at 596.5 MB; the default ``--kept-cases 5000`` at
414.9 MB (target 500, ratio 0.83).
"""

from __future__ import annotations

import argparse
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
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from samverkan_rules.audit.synthetic import ROUTINE_ID, generate_history

ROOT = Path(__file__).resolve().parent.parent
ROUTINE = ROOT / "routines" / "orebro-dagverksamhet-hemvard.yaml"
TOKEN = "bench-token-" + "y" * 24
R = f"/routines/{ROUTINE_ID}"
CLIENTS = 20
PER_CASE = 5
TARGETS_MS = {"post_p99_stream": 50.0, "explain_p99": 20.0, "page_p99": 100.0}
TARGET_RSS_MB = 500.0
PACED_RATE = 100.0
"""Posts a second in the paced phases: a municipality with 20,000 open cases posts some
thousands of events a day, so this is far above its load, yet below what the server
takes at most, so a post's latency is its own cost and not the queue of 20 clients."""

Case = tuple[str, list[dict[str, Any]]]


def _cases(seed: int, count: int, prefix: str) -> list[Case]:
    """``count`` open cases of the past year: each generated case's first events."""
    first = date.today() - timedelta(days=365)
    _, stream = generate_history(seed, count, first=first, years=1, ids="plain")
    out = []
    for events in stream:
        kept = sorted(events, key=lambda e: e["at"])[:PER_CASE]
        case = prefix + kept[0]["case"]
        # Ids of their own: the extra cases' generated ids repeat the loaded ones.
        out.append(
            (
                case,
                [
                    {**{k: v for k, v in e.items() if k != "case"}, "id": prefix + e["id"]}
                    for e in kept
                ],
            )
        )
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values) * 1000, 1) if values else float("nan"),
        "p99_ms": round(_percentile(values, 0.99) * 1000, 1),
    }


class Server:
    """``samverkan serve`` as a child process on a free loopback port."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (folder / "serve.log").open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "samverkan_rules",
                "serve",
                "--routines",
                str(ROUTINE),
                "--store",
                str(folder / "stores"),
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--max-connections",
                "500",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "SAMVERKAN_TOKEN": TOKEN},
        )
        self._wait()

    def _wait(self) -> None:
        import httpx

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("samverkan serve ended at start; see its log")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("samverkan serve did not start within 120 s")

    def peak_rss_mb(self) -> float | None:
        """The process's peak resident memory (Linux), in MB."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
        return None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _client(url: str) -> Any:
    import httpx

    headers = {"Authorization": f"Bearer {TOKEN}"}
    return httpx.Client(base_url=url, headers=headers, timeout=300)


def _in_threads(
    url: str, jobs: list[list[Any]], work: Callable[[Any, Any], None], clients: int
) -> float:
    """Run ``work(client, job)`` for each job, the job lists spread over ``clients``
    threads; the seconds it took."""
    errors: list[BaseException] = []

    def worker(mine: list[Any]) -> None:
        with _client(url) as client:
            for job in mine:
                try:
                    work(client, job)
                except Exception as exc:  # reported after the run
                    errors.append(exc)
                    return

    pool = [threading.Thread(target=worker, args=(jobs[n],)) for n in range(clients)]
    began = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} client(s) failed, first: {errors[0]!r}")
    return time.perf_counter() - began


def _spread(cases: list[Case], clients: int) -> list[list[Case]]:
    return [cases[n::clients] for n in range(clients)]


def _post(client: Any, case: str, events: Any) -> float:
    t0 = time.perf_counter()
    answer = client.post(f"{R}/cases/{case}/events", json=events)
    took = time.perf_counter() - t0
    if answer.status_code != 200:
        raise RuntimeError(f"post answered {answer.status_code}: {answer.text[:300]}")
    return took


def load(url: str, cases: list[Case]) -> dict[str, Any]:
    """(a) every case as one array."""
    seconds = _in_threads(
        url, _spread(cases, CLIENTS), lambda c, job: _post(c, job[0], job[1]), CLIENTS
    )
    events = sum(len(e) for _, e in cases)
    return {
        "posts": len(cases),
        "events": events,
        "seconds": round(seconds, 1),
        "posts_per_s": round(len(cases) / seconds, 1),
        "events_per_s": round(events / seconds, 1),
    }


def posts(
    url: str, cases: list[Case], stop: threading.Event | None = None, rate: float | None = None
) -> list[float]:
    """(b) and (e): each event on its own, a case's events in order from one client; with
    ``stop``, only the posts begun before it is set. With ``rate`` (posts a second, over
    all clients) each client posts on a schedule of its own, one post every ``CLIENTS /
    rate`` seconds, the clients' schedules spread over that interval; without it each posts
    again as soon as it has its answer."""
    latencies: list[float] = []
    interval = CLIENTS / rate if rate else 0.0
    began = time.perf_counter()
    slots = iter(range(CLIENTS))
    slot_lock = threading.Lock()

    def work(client: Any, job: Case) -> None:
        if not hasattr(_local, "next"):
            with slot_lock:
                _local.next = began + next(slots) * interval / CLIENTS
        for event in job[1]:
            if stop is not None and stop.is_set():
                return
            if interval:
                wait = _local.next - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                _local.next += interval
            latencies.append(_post(client, job[0], event))

    _in_threads(url, _spread(cases, CLIENTS), work, CLIENTS)
    return latencies


_local = threading.local()


def _timed_gets(client: Any, paths: Iterator[str], count: int) -> list[float]:
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        answer = client.get(next(paths))
        out.append(time.perf_counter() - t0)
        if answer.status_code != 200:
            raise RuntimeError(f"GET answered {answer.status_code}: {answer.text[:300]}")
    return out


def _cycle(items: list[str]) -> Iterator[str]:
    while True:
        yield from items


def queries(url: str, count: int) -> dict[str, Any]:
    """(c) the first page of overdue cases; (d) explain of obligations from it."""
    page = f"{R}/due?status=overdue&limit=100"
    with _client(url) as client:
        lines = client.get(page).text.splitlines()
        obligations = [
            a["obligation"]
            for line in lines[:-1]
            for a in json.loads(line).get("actions", [])
            if a.get("status") == "overdue"
        ]
        if not obligations:
            raise RuntimeError("the first page lists no overdue obligation")
        paged = _timed_gets(client, _cycle([page]), count)
        rng = random.Random(3)
        picked = [
            f"{R}/obligations/{o}/explain"
            for o in rng.sample(obligations, min(50, len(obligations)))
        ]
        explained = _timed_gets(client, _cycle(picked), count * 2)
    return {
        "page": {**_ms(paged), "cases": len(lines) - 1, "bytes": sum(map(len, lines))},
        "explain": _ms(explained),
    }


READER = """
import json, sys, time
import httpx
url, token, path = sys.argv[1:4]
began = time.perf_counter()
size, lines, tail = 0, 0, b""
with httpx.Client(base_url=url, headers={"Authorization": "Bearer " + token}, timeout=600) as c:
    with c.stream("GET", path) as answer:
        for chunk in answer.iter_raw():
            size += len(chunk)
            lines += chunk.count(b"\\n")
            tail = (tail + chunk)[-4096:]
last = tail.rstrip(b"\\n").rsplit(b"\\n", 1)[-1]
print(json.dumps({"seconds": round(time.perf_counter() - began, 2), "mb": round(size / 1e6, 1),
                  "cases": lines - 1, "trailer": last.startswith(b'{"trailer"')}))
"""
"""The full ``GET .../due`` stream, read by a process of its own (as the system polling it
would be), so its reading does not slow the posting clients' threads; it counts lines in
the raw bytes, so it takes little of the machine the server shares with it."""


def beside_a_stream(url: str, cases: list[Case], rate: float | None) -> dict[str, Any]:
    """(e) posts and /healthz while another process reads the full due stream."""
    import httpx

    done = threading.Event()
    stream: dict[str, Any] = {}
    probes: list[float] = []

    def read() -> None:
        reader = subprocess.run(
            [sys.executable, "-c", READER, url, TOKEN, f"{R}/due"],
            capture_output=True,
            text=True,
            check=True,
        )
        stream.update(json.loads(reader.stdout))
        done.set()

    def probe() -> None:
        while not done.is_set():
            t0 = time.perf_counter()
            httpx.get(url + "/healthz", timeout=300)
            probes.append(time.perf_counter() - t0)
            time.sleep(0.05)

    reading = threading.Thread(target=read)
    prober = threading.Thread(target=probe)
    reading.start()
    prober.start()
    time.sleep(0.3)  # the reader's interpreter has started and the stream has begun
    latencies = posts(url, cases, stop=done, rate=rate)
    reading.join()
    prober.join()
    return {"posts": _ms(latencies), "stream": stream, "healthz": _ms(probes)}


def paced_alone(url: str, cases: list[Case], seconds: float) -> dict[str, float]:
    """(b) at the paced rate, for ``seconds``: what a post costs when nothing else runs."""
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    try:
        return _ms(posts(url, cases, stop=stop, rate=PACED_RATE))
    finally:
        timer.cancel()


def run(cases_count: int, seed: int) -> dict[str, Any]:
    """Every phase against one server; the figures."""
    loaded = _cases(seed, cases_count, "")
    extra = max(200, cases_count // 10)
    alone_set = _cases(seed + 1, extra, "b")
    paced_set = _cases(seed + 2, extra, "p")
    beside_set = _cases(seed + 3, extra * 4, "s")
    saturated_set = _cases(seed + 4, extra * 4, "t")
    out: dict[str, Any] = {"python": sys.version.split()[0], "cases": cases_count}
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        try:
            out["load"] = load(server.url, loaded)
            out["posts"] = _ms(posts(server.url, alone_set))
            out["paced"] = paced_alone(server.url, paced_set, 5.0 if cases_count < 5000 else 20.0)
            out.update(queries(server.url, 20))
            out["beside_stream"] = beside_a_stream(server.url, beside_set, PACED_RATE)
            out["saturated_stream"] = beside_a_stream(server.url, saturated_set, None)
            out["peak_rss_mb"] = server.peak_rss_mb()
        finally:
            server.stop()
    return out


def _ratio(value: float | None, target: float) -> str:
    return f"{value / target:.2f}" if value is not None else "n/a"


def report(out: dict[str, Any]) -> str:
    """The figures as a table, each with its target and ratio."""
    a, b, paced = out["load"], out["posts"], out["paced"]
    s, t = out["beside_stream"], out["saturated_stream"]
    page, explain = out["page"], out["explain"]
    rss = out["peak_rss_mb"]
    lines = [
        f"samverkan serve, {out['cases']} cases / {a['events']} events, Python {out['python']}, "
        f"{CLIENTS} clients",
        f"(a) load: {a['posts']} posts of a case's events in {a['seconds']} s: "
        f"{a['posts_per_s']} posts/s, {a['events_per_s']} events/s",
        f"{'':4}{'figure':<44}{'p50 ms':>9}{'p99 ms':>9}{'target':>9}{'ratio':>7}",
    ]

    def row(label: str, f: dict[str, float], target: float | None) -> None:
        goal = f"{target:.0f}" if target else "-"
        ratio = _ratio(f["p99_ms"], target) if target else "-"
        lines.append(f"{'':4}{label:<44}{f['p50_ms']:>9}{f['p99_ms']:>9}{goal:>9}{ratio:>7}")

    row(f"(b) post, 1 event, {CLIENTS} clients at will (n={b['n']})", b, None)
    row(f"    the same, {PACED_RATE:.0f} posts/s (n={paced['n']})", paced, None)
    row(f"(c) due?status=overdue page of {page['cases']} cases", page, TARGETS_MS["page_p99"])
    row("(d) explain one obligation", explain, TARGETS_MS["explain_p99"])
    row(
        f"(e) post beside a full due stream, {PACED_RATE:.0f}/s (n={s['posts']['n']})",
        s["posts"],
        TARGETS_MS["post_p99_stream"],
    )
    row("    /healthz beside the stream", s["healthz"], None)
    row(f"    posts at will beside it (n={t['posts']['n']})", t["posts"], None)
    for name, each in (("paced", s["stream"]), ("at will", t["stream"])):
        lines.append(
            f"    the stream ({name}): {each['cases']} cases, {each['mb']} MB in "
            f"{each['seconds']} s, trailer {'present' if each['trailer'] else 'MISSING'}"
        )
    lines += [
        f"    post p99 beside the stream / alone, {PACED_RATE:.0f}/s: "
        f"{_ratio(s['posts']['p99_ms'], paced['p99_ms'])}; at will: "
        f"{_ratio(t['posts']['p99_ms'], b['p99_ms'])}",
        f"(f) server peak RSS: {rss} MB (target {TARGET_RSS_MB:.0f} MB, ratio "
        f"{_ratio(rss, TARGET_RSS_MB)})",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 cases: a CI smoke run")
    parser.add_argument("--cases", type=int, help="how many cases (default 20,000)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated cases")
    args = parser.parse_args(argv)
    count = args.cases or (1000 if args.quick else 20_000)
    out = run(count, args.seed)
    print(json.dumps(out, indent=2) if args.json else report(out))
    if not all(out[k]["stream"]["trailer"] for k in ("beside_stream", "saturated_stream")):
        print("FAILED: the due stream ended without its trailer", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
