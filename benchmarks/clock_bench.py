"""The clock's cost: waking only the cases time changes vs ticking every case.

Run from the repository root::

    python benchmarks/clock_bench.py           # 20,000 open cases
    python benchmarks/clock_bench.py --quick   # 2,000 cases, a smoke run for CI
    python benchmarks/clock_bench.py --json    # machine-readable output

Two sessions hold the same open cases (the benchmark's generated Örebro histories, about six
events a case) and are ticked once at the same instant. Then, for each of the next
``--steps`` instants at which time alone changes something (``Session.next_change``), one
session wakes only the cases due then (``Session.wake``, what the service's clock task
does) and the other ticks every case (``Session.tick``). Both must report the same changes
(the run fails otherwise); the figures are the cases judged, the changes and the time per
step, side by side, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import ROUTINE, as_of_after, generate_open_log

from samverkan_rules import load_routine, sweden_calendar
from samverkan_rules.live import Session


def _said(changes: Any) -> list[tuple[str, str, str, str]]:
    return sorted((c.case, c.obligation, c.before or "", c.after or "") for c in changes)


def measure(cases: int, steps: int, seed: int) -> dict[str, Any]:
    """Wake vs tick over ``steps`` successive next changes of ``cases`` open cases."""
    routine = load_routine(ROUTINE)
    events = generate_open_log(seed, cases, sweden_calendar())
    start = as_of_after(events, days=-30)  # a month before the latest event: much still open
    events = [e for e in events if e["at"] <= start.isoformat()] or events
    woken, ticked = Session(routine), Session(routine)
    for session in (woken, ticked):
        session.post(events, as_of=start)
        session.tick(start)
    rows = []
    for _ in range(steps):
        moment = woken.next_change()
        if moment is None:
            break
        began = time.perf_counter()
        said = woken.wake(moment)
        wake_s = time.perf_counter() - began
        began = time.perf_counter()
        full = ticked.tick(moment)
        tick_s = time.perf_counter() - began
        if _said(said) != _said(full):
            raise SystemExit(f"wake and tick disagree at {moment.isoformat()}")
        rows.append(
            {
                "at": moment.isoformat(),
                "changes": len(said),
                "wake_ms": round(wake_s * 1000, 2),
                "tick_ms": round(tick_s * 1000, 2),
            }
        )
    wake_median = statistics.median(r["wake_ms"] for r in rows) if rows else 0.0
    tick_median = statistics.median(r["tick_ms"] for r in rows) if rows else 0.0
    wake_total = sum(r["wake_ms"] for r in rows)
    tick_total = sum(r["tick_ms"] for r in rows)
    return {
        "cases": len({e["case"] for e in events}),
        "events": len(events),
        "steps": rows,
        "wake_ms_per_step": round(wake_total / max(1, len(rows)), 2),
        "tick_ms_per_step": round(tick_total / max(1, len(rows)), 2),
        "tick_over_wake": round(tick_total / wake_total, 1) if wake_total else None,
        "wake_ms_median": wake_median,
        "tick_ms_median": tick_median,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 cases, 5 steps, for CI")
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="figures as JSON")
    args = parser.parse_args(argv)
    cases, steps = (2_000, 5) if args.quick else (args.cases, args.steps)
    out = measure(cases, steps, args.seed)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"clock: {out['cases']} open cases, {out['events']} events; wake vs tick per step")
    print(f"    {'instant':<27} {'changes':>8} {'wake ms':>9} {'tick ms':>9}")
    for r in out["steps"]:
        print(f"    {r['at']:<27} {r['changes']:>8} {r['wake_ms']:>9} {r['tick_ms']:>9}")
    print(
        f"    mean per step: wake {out['wake_ms_per_step']} ms, tick {out['tick_ms_per_step']} "
        f"ms: tick/wake {out['tick_over_wake']}x; median: wake {out['wake_ms_median']} ms, "
        f"tick {out['tick_ms_median']} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
