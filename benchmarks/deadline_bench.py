"""From a deadline passing to its webhook arriving, with many open cases in the service.

Run from the repository root (needs the ``serve`` extra)::

    python benchmarks/deadline_bench.py           # 20,000 open cases, 200 deadlines passing
    python benchmarks/deadline_bench.py --quick   # 1,000 open cases, 50 deadlines in 5 s, for CI
    python benchmarks/deadline_bench.py --json

A real ``samverkan serve`` (SQLite store, the discharge routine) is given ``--cases`` open
cases whose deadlines lie 1 to 24 hours ahead, then ``--due`` more whose deadlines pass while no one
posts, spread over ``--spread`` seconds starting 15 s after they were posted. A webhook
subscription (``statuses: [overdue]``) delivers to a receiver in this process, which notes
when each change arrives. The figure is the time from each deadline to its webhook (p50,
p99, max), against the target of a p99 within 2 s; every passing deadline must arrive once
(the run fails otherwise), and none of the open cases may be announced. Statuses are judged
at whole seconds (a deadline's own second is still in time), so up to a second of each lag
is that granularity, not work.

Measured on the 2-core machine CI runs on, while other work ran: 20,000 open cases, 200
deadlines, p50 0.99 s, p99 2.00 s, max 2.02 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_bench import TOKEN, _free_port, _percentile

ROOT = Path(__file__).resolve().parents[1]
ROUTINE = ROOT / "routines" / "utskrivning-sluten-vard.yaml"
R = "/routines/utskrivning-sluten-vard"
TARGET_P99 = 2.0
"""Seconds from a deadline to its webhook, at the 99th percentile."""


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _assessed(ident: str, deadline: datetime) -> dict[str, Any]:
    """A needs assessment, made now or earlier, whose message deadline is ``deadline`` (the
    later of 24 hours after admission and 4 hours after the assessment) when that is more
    than 4 hours ahead or already past, else 4 hours from now."""
    made = min(datetime.now(UTC), deadline - timedelta(hours=4))
    return {
        "id": ident,
        "type": "patient.needs_assessed",
        "at": _stamp(made),
        "data": {"admitted_at": _stamp(deadline - timedelta(hours=24))},
    }


class Receiver:
    """A webhook receiver noting when each change arrives, by obligation."""

    def __init__(self) -> None:
        self.arrived: dict[str, list[float]] = {}
        lock = threading.Lock()
        arrived = self.arrived

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                now = time.time()
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    arrived.setdefault(body["change"]["obligation"], []).append(now)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _serve(folder: Path, hook: str) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    secret = folder / "hook.secret"
    secret.write_text("s" * 32, encoding="utf-8")
    secret.chmod(0o600)
    subscription = {"name": "bench", "url": hook, "secret_file": "hook.secret"}
    config = folder / "webhooks.yaml"
    config.write_text(
        json.dumps({"subscriptions": [{**subscription, "statuses": ["overdue"]}]}),
        encoding="utf-8",
    )
    port = _free_port()
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "samverkan_rules", "serve", "--routines", str(ROUTINE),
         "--store", str(folder / "events.db"), "--port", str(port), "--log-level", "warning",
         "--webhooks", str(config)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, "SAMVERKAN_TOKEN": TOKEN},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return server, url
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"samverkan serve did not start: see {log.name}") from None
            time.sleep(0.1)


def _post_all(url: str, posts: list[tuple[str, dict[str, Any]]], threads: int) -> None:
    import httpx

    errors: list[str] = []

    def worker(n: int) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
            for case, event in posts[n::threads]:
                answer = client.post(f"{R}/cases/{case}/events", json=event)
                if answer.status_code != 200:
                    errors.append(f"{answer.status_code} {answer.text[:200]}")

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} posts failed, the first: {errors[0]}")


def measure(cases: int, due: int, spread: float, seed: int) -> dict[str, Any]:
    """Load ``cases`` open cases, let ``due`` deadlines pass, time their webhooks."""
    rng = random.Random(seed)
    receiver = Receiver()
    with tempfile.TemporaryDirectory(prefix="samverkan-deadline-") as tmp:
        server, url = _serve(Path(tmp), receiver.url)
        try:
            now = datetime.now(UTC)
            ahead = [now + timedelta(hours=1, minutes=rng.randrange(1_380)) for _ in range(cases)]
            background = [(f"o{i}", _assessed(f"o{i}", d)) for i, d in enumerate(ahead)]
            began = time.perf_counter()
            _post_all(url, background, threads=8)
            loaded = time.perf_counter() - began
            first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=15)
            deadlines = {
                f"inskrivningsmeddelande:d{i}": first + timedelta(seconds=spread * i / due)
                for i in range(due)
            }
            timed = [(f"d{i}", _assessed(f"d{i}", d)) for i, d in enumerate(deadlines.values())]
            _post_all(url, timed, threads=4)
            last = max(deadlines.values())
            while time.time() < last.timestamp() + 60 and not set(deadlines) <= set(
                receiver.arrived
            ):
                time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(timeout=30)
            receiver.close()
    missing = set(deadlines) - set(receiver.arrived)
    repeated = [o for o, times in receiver.arrived.items() if len(times) > 1]
    strangers = set(receiver.arrived) - set(deadlines)
    if missing or repeated or strangers:
        raise RuntimeError(
            f"{len(missing)} deadlines not announced, {len(repeated)} announced twice, "
            f"{len(strangers)} announced that had not passed"
        )
    lags = [receiver.arrived[o][0] - d.timestamp() for o, d in deadlines.items()]
    p99 = _percentile(lags, 0.99)
    return {
        "open_cases": cases,
        "deadlines": due,
        "load_seconds": round(loaded, 1),
        "lag_p50_s": round(_percentile(lags, 0.5), 3),
        "lag_p99_s": round(p99, 3),
        "lag_max_s": round(max(lags), 3),
        "target_p99_s": TARGET_P99,
        "p99_over_target": round(p99 / TARGET_P99, 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 cases, 50 over 5 s")
    parser.add_argument("--cases", type=int, default=20_000, help="open cases (20,000)")
    parser.add_argument("--due", type=int, default=200, help="deadlines that pass (200)")
    parser.add_argument("--spread", type=float, default=20.0, help="seconds they pass over")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    cases, due = (1_000, 50) if args.quick else (args.cases, args.due)
    figures = measure(cases, due, 5.0 if args.quick else args.spread, args.seed)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"open cases {figures['open_cases']:,} (posted in {figures['load_seconds']} s), "
          f"{figures['deadlines']} deadlines passing while no one posts")  # fmt: skip
    print(
        f"deadline -> webhook: p50 {figures['lag_p50_s']} s, p99 {figures['lag_p99_s']} s, "
        f"max {figures['lag_max_s']} s (target p99 <= {TARGET_P99} s: "
        f"{figures['p99_over_target']}x the target)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
