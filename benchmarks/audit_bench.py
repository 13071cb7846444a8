"""Audit throughput and peak memory on generated histories, beside a parse-only floor.

Run from the repository root (needs the ``audit`` extra)::

    python benchmarks/audit_bench.py            # 100k, 1M and 10M events (a long run)
    python benchmarks/audit_bench.py --quick    # 20k events: a smoke run for CI
    python benchmarks/audit_bench.py --sizes 100000 1000000 --json

For each size a history for the Örebro routine is generated on the fly into a temporary
directory (four JSON Lines files, cases spread over them), then two child processes run on
the same files, each measured alone:

- ``parse``: the floor; every line read, parsed as JSON and checked into an ``Event`` (what
  any reader of these files must do), nothing kept;
- ``audit 1``: ``run_audit`` with a pseudonymisation key and ``jobs=1``, writing every
  output, all in one process;
- ``audit N``: the same with the default ``jobs`` (the available cores: input files read and
  partitions of cases evaluated in worker processes);
- ``one file``: ``audit N`` on the same events in one JSON Lines file, as many exports come
  (read in pieces by the workers); its ``obligations.csv`` must equal ``audit N``'s.

Each child reports its wall time and its peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, DuckDB's memory included) and, for the
workers, the largest worker's own peak (``VmHWM`` in ``/proc/PID/status``, read every 50 ms
while it runs; not ``RUSAGE_CHILDREN``, whose figure for a child started from a large
parent is the parent's size at the fork, kept by Linux across the ``exec``); the figure to
compare with the target is the sum of the two for one worker per core, bounded by
``parent + cores x worker``.
Targets (issue: the audit an auditor can hand in): at least 50,000 events/s at 1M events on
a 2-core machine, peak memory at most 400 MB.

With ``--rounds K`` the default jobs' audit (and the compiled one) runs K times, the two
taking turns, and the median run is kept (the verdict line gives the spread): on a shared
machine one run's speed varies by a fifth from one minute to the next.

Last runs (1,212,520 events, 211 MB of JSON Lines, Python 3.11.7, 2 cores shared with other
work): 2026-12-08 01:48, ``--sizes 1000000 --compiled TREE --rounds 3``: parse 135,813
events/s (the machine slower that hour); ``jobs=1`` 24,833 at 456 MB; the default jobs
40,662 (40,608 to 46,045) at 280 + 281 MB; compiled 51,004 (46,492 to 52,508) at 279 + 282
MB, 1.25x, every file byte-identical; one file 46,090. Until that day the compiled column
ran its workers on the pure package (started in the repository, they imported the copy in
the working directory), so its gain then (2.5 %) was within the noise.
2026-12-07 22:30, ``--sizes 1000000``: parse 165,901 events/s; ``jobs=1`` 25,199
at 469 MB; the default jobs 47,235 (0.28 of the floor) at 272 + 281 MB; one file 42,687
(read in pieces by both workers; before, by one: 31,700-36,000 timed side by side). At
19:20: parse 165,695 events/s; ``jobs=1`` 25,998 events/s at 461 MB; the default jobs 45,741
events/s (0.28 of the floor) at 276 + 280 MB (parent + largest worker); at 18:48, 45,477
(0.30 of a floor of 152,242). At 16:19, before the case ids' checks and the rows' timestamps
were made cheaper: parse 165,808, the default jobs 43,650 (0.26 of the floor).
Earlier the same day, before the partitions became ranges of case ids read by the workers
from the staging database and the parent's sort and re-reads went: 23,157-33,005 events/s
pure at 377-384 + 308 MB. The rate is met by the compiled build, not by the pure one: of a
default-jobs run, the reading workers take about 35 % of the time, the evaluating workers
56 % and the parent's own steps (the staging load, the case pages, the files) the rest; see
``docs/reference/benchmarks.md`` for what it would take."""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVENTS_PER_CASE = 9.4  # the generator's mean; sizes are met approximately
RSS_TARGET_MB = 400
RATE_TARGET = 50_000
FILES = 4


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    # Linux reports kilobytes, macOS bytes.
    peak = resource.getrusage(who).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


class _WorkerPeaks(threading.Thread):
    """Samples the high-water mark of this process's children's memory while they run."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peaks: dict[int, int] = {}
        self.done = threading.Event()

    def run(self) -> None:
        me = str(os.getpid())
        while not self.done.wait(0.05):
            for status in Path("/proc").glob("[0-9]*/status"):
                try:
                    fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
                except (OSError, ValueError):
                    continue  # ended meanwhile
                if fields.get("PPid", "").strip() == me and "VmHWM" in fields:
                    pid = int(status.parent.name)
                    kb = int(fields["VmHWM"].split()[0])
                    self.peaks[pid] = max(kb, self.peaks.get(pid, 0))

    def largest_mb(self) -> float:
        self.done.set()
        self.join()
        return max(self.peaks.values(), default=0) / 1024


def _generate(directory: Path, events: int, seed: int) -> tuple[list[Path], int]:
    sys.path.insert(0, str(ROOT))
    from samverkan_rules.audit.synthetic import generate_history, write_files

    cases = max(1, math.ceil(events / EVENTS_PER_CASE))
    history, stream = generate_history(seed, cases, years=6, ids="personnummer")
    paths = write_files(stream, directory, files=FILES, formats=("jsonl",))
    return paths, history.events


def _child_parse(directory: Path) -> dict[str, Any]:
    from samverkan_rules.events.model import event_from_mapping

    start = time.perf_counter()
    count = 0
    for path in sorted(directory.glob("*.jsonl")):
        name = str(path)
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if raw.strip():
                    event_from_mapping(json.loads(raw), file=name, line=number)
                    count += 1
    return {"seconds": time.perf_counter() - start, "events": count}


def _child_audit(directory: Path, out: Path, jobs: int | None) -> dict[str, Any]:
    from samverkan_rules import load_registry
    from samverkan_rules.audit.run import AuditOptions, run_audit

    routines = list(load_registry(ROOT / "routines").versions("orebro-dagverksamhet-hemvard"))
    start = time.perf_counter()
    outcome = run_audit(
        AuditOptions(
            routines=routines,
            events=[str(directory)],
            out=str(out),
            key=b"benchmark-key-0123456789",
            work_dir=str(directory.parent),
            jobs=jobs,
        )
    )
    elapsed = time.perf_counter() - start
    report = outcome.report
    from samverkan_rules.engine import replay

    return {
        "compiled": not replay.__file__.endswith(".py"),
        "seconds": elapsed,
        "events": report.header.events_total["used"],
        "obligations": sum(r.total for r in report.by_rule),
        "cases": report.header.cases,
    }


def _run_child(mode: str, directory: Path, out: Path, tree: Path | None = None) -> dict[str, Any]:
    """One child on the files, with the package (and the audit's workers, which inherit
    the environment) imported from this tree, or from the compiled ``tree``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree or ROOT)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(directory), str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def measure(size: int, seed: int, tree: Path | None = None, rounds: int = 1) -> dict[str, Any]:
    """Generate a history of about ``size`` events and measure the children on it (with
    ``tree``, the default jobs' audit once more with the compiled modules); the default
    jobs' audits ``rounds`` times, pure and compiled taking turns, the median run kept."""
    with tempfile.TemporaryDirectory(prefix="samverkan-audit-bench-") as tmp:
        directory = Path(tmp) / "events"
        t0 = time.perf_counter()
        _, events = _generate(directory, size, seed)
        generated = time.perf_counter() - t0
        megabytes = sum(p.stat().st_size for p in directory.iterdir()) / 1e6
        parse = _run_child("parse", directory, Path(tmp) / "unused")
        single = _run_child("audit-1", directory, Path(tmp) / "out-1")
        audits: list[dict[str, Any]] = []
        fast: list[dict[str, Any]] = []
        for _ in range(rounds):
            audits.append(_run_child("audit", directory, Path(tmp) / "out"))
            if tree is not None:
                fast.append(_run_child("audit", directory, Path(tmp) / "out-compiled", tree))
        audit = _median(audits)
        whole = Path(tmp) / "one-file"
        whole.mkdir()
        with (whole / "events.jsonl").open("wb") as joined:
            for path in sorted(directory.iterdir()):
                with path.open("rb") as part:
                    shutil.copyfileobj(part, joined, 1 << 20)
        one_file = _run_child("audit", whole, Path(tmp) / "out-one-file")
        one_file["same_rows"] = all(
            (Path(tmp) / "out" / name).read_bytes()
            == (Path(tmp) / "out-one-file" / name).read_bytes()
            for name in ("obligations.csv", "summary.csv")
        )
        compiled = None
        if tree is not None:
            compiled = _median(fast)
            if not compiled["compiled"]:
                raise SystemExit(f"{tree}: the engine's modules there are not compiled")
            same = _same_outputs(Path(tmp) / "out", Path(tmp) / "out-compiled")
            compiled["same_output"] = same
    return {
        "size": size,
        "events": events,
        "input_mb": round(megabytes, 1),
        "generate_s": round(generated, 1),
        "parse": parse,
        "audit_1": single,
        "audit": audit,
        "one_file": one_file,
        "compiled": compiled,
    }


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median speed among ``runs`` (the slower of the two middle ones for an
    even count), with every run's events/s in ``rates`` and the largest peaks of all.

    Examples:
        >>> runs = [{"events": 10, "seconds": s, "peak_rss_mb": m, "workers_mb": 1.0}
        ...         for s, m in ((2.0, 5.0), (1.0, 7.0), (4.0, 6.0))]
        >>> m = _median(runs)
        >>> m["seconds"], m["rates"], m["peak_rss_mb"]
        (2.0, [2.5, 5.0, 10.0], 7.0)
    """
    ordered = sorted(runs, key=lambda r: r["events"] / r["seconds"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["rates"] = [round(r["events"] / r["seconds"], 1) for r in ordered]
    chosen["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    chosen["workers_mb"] = max(r["workers_mb"] for r in runs)
    return chosen


def _same_outputs(a: Path, b: Path) -> bool:
    """Whether two audits wrote the same files, byte for byte."""
    names = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    return names == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()) and all(
        (a / n).read_bytes() == (b / n).read_bytes() for n in names
    )


def _row(m: dict[str, Any]) -> str:
    p, one, a, f = m["parse"], m["audit_1"], m["audit"], m["one_file"]
    floor = p["events"] / p["seconds"]
    rate = a["events"] / a["seconds"]
    line = (
        f"{m['events']:>11,} {m['input_mb']:>8.1f} "
        f"{floor:>11,.0f} "
        f"{one['events'] / one['seconds']:>10,.0f} {one['peak_rss_mb']:>6.0f} "
        f"{rate:>10,.0f} {a['peak_rss_mb']:>6.0f} {a['workers_mb']:>7.0f} "
        f"{one['seconds'] / a['seconds']:>6.2f}x {rate / floor:>6.2f} "
        f"{f['events'] / f['seconds']:>10,.0f} {f['peak_rss_mb'] + f['workers_mb']:>6.0f} "
        f"{'same' if f['same_rows'] else 'DIFFERENT'}"
    )
    c = m.get("compiled")
    if c is not None:
        fast = c["events"] / c["seconds"]
        line += (
            f" {fast:>10,.0f} {c['peak_rss_mb']:>6.0f} {c['workers_mb']:>7.0f} "
            f"{fast / rate:>5.2f}x {'same' if c['same_output'] else 'DIFFERENT'}"
        )
    return line


def _verdict(m: dict[str, Any], which: str) -> str:
    """The 1M-event line: rate (the median run's, with the spread over rounds) and memory
    against the targets."""
    a = m[which]
    rate = a["events"] / a["seconds"]
    peak = a["peak_rss_mb"] + a["workers_mb"]
    rates = a["rates"]
    spread = (
        f" (median of {len(rates)}: {rates[0]:,.0f} to {rates[-1]:,.0f})" if len(rates) > 1 else ""
    )
    return (
        f"1M events, {'pure' if which == 'audit' else 'compiled'}: {rate:,.0f} events/s"
        f"{spread} (target >= {RATE_TARGET:,}) {'PASS' if rate >= RATE_TARGET else 'MISS'}; "
        f"peak {a['peak_rss_mb']:.0f} MB + {a['workers_mb']:.0f} MB a worker (target <= "
        f"{RSS_TARGET_MB} MB in all) {'PASS' if peak <= RSS_TARGET_MB else 'MISS'}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or one child of it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small size, for CI")
    parser.add_argument("--sizes", type=int, nargs="+", help="history sizes in events")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="figures as JSON")
    parser.add_argument(
        "--compiled",
        type=Path,
        metavar="TREE",
        default=os.environ.get("SAMVERKAN_COMPILED_TREE") or None,
        help="also audit with the compiled modules of this tree (default: the tree in "
        "SAMVERKAN_COMPILED_TREE, as CI gives it; none: pure only)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        metavar="K",
        help="run the default jobs' audit (and the compiled one) K times, taking turns, and "
        "keep the median (on a shared machine one run's speed varies by a fifth)",
    )
    parser.add_argument("--child", nargs=3, metavar=("MODE", "DIR", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, directory, out = args.child
        workers = _WorkerPeaks()
        if sys.platform == "linux":
            workers.start()
        if mode == "parse":
            result = _child_parse(Path(directory))
        else:
            result = _child_audit(Path(directory), Path(out), 1 if mode == "audit-1" else None)
        result["peak_rss_mb"] = round(_peak_rss_mb(), 1)
        result["workers_mb"] = round(workers.largest_mb() if workers.is_alive() else 0.0, 1)
        print(json.dumps(result))
        return 0
    sizes = args.sizes or ([20_000] if args.quick else [100_000, 1_000_000, 10_000_000])
    results = []
    if not args.json:
        print(f"samverkan audit benchmark ({os.cpu_count()} CPUs, Python {sys.version.split()[0]})")
        print("jobs=1: one process; jobs=N: the default (workers on every core)")
        if args.compiled:
            print(f"compiled: jobs=N with the compiled modules of {args.compiled}")
        if args.rounds > 1:
            print(f"jobs=N (and compiled): the median of {args.rounds} runs, taking turns")
        print(
            f"{'events':>11} {'input MB':>8} {'parse ev/s':>11} "
            f"{'1: ev/s':>10} {'MB':>6} {'N: ev/s':>10} {'MB':>6} {'+worker':>7} "
            f"{'N vs 1':>7} {'N/parse':>6} {'1 file':>10} {'MB all':>6} rows"
            + (
                f" {'compiled':>10} {'MB':>6} {'+worker':>7} {'ratio':>6} output"
                if args.compiled
                else ""
            )
        )
    for size in sizes:
        m = measure(size, args.seed, args.compiled, max(1, args.rounds))
        results.append(m)
        if not args.json:
            print(_row(m), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for m in results:
            if m["size"] == 1_000_000:  # the target's size (the generator gives about it)
                print(_verdict(m, "audit"))
                if m["compiled"] is not None:
                    print(_verdict(m, "compiled"))
    if not all(m["one_file"]["same_rows"] for m in results):
        print("the audit of the events in one file counts differently", file=sys.stderr)
        return 1
    if any(m["compiled"] is not None and not m["compiled"]["same_output"] for m in results):
        print("the compiled audit's output differs from the pure one's", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
