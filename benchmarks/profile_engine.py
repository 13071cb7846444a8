"""Profile and time the evaluation engine (``samverkan_rules.evaluate``) on the bench corpus.

The corpus is the one ``benchmarks/bench.py`` generates (same generator, same seed): a
multi-case Örebro log of ``--events`` events (about 100 events a case), and one 100-event
case for latency. Only ``evaluate`` is measured: events are read once, before timing, and
no output (JSON or text) is built.

Run from the repository root::

    python benchmarks/profile_engine.py --profile       # cProfile: top functions by own time
                                                        # (tottime), then by cumulative time
    python benchmarks/profile_engine.py --time          # CPU-time events/s and 100-event p99
    python benchmarks/profile_engine.py --phases        # CPU time of admitting vs evaluating
                                                        # the cases (Evaluator phases 1-2, 3)
    python benchmarks/profile_engine.py --conditions    # ns per call of the routine's compiled
                                                        # conditions on the log's events
    python benchmarks/profile_engine.py --settle        # ns per obligation of settling the
                                                        # replayed log's cases at as_of
    python benchmarks/profile_engine.py --deadlines     # ns per deadline placed for the log's
                                                        # triggers (each rule's deadline)
    python benchmarks/profile_engine.py --loop 20       # just evaluate the log 20 times (for
                                                        # a sampling profiler, e.g.
                                                        # ``py-spy record -o evaluate.svg
                                                        # --format flamegraph -- python
                                                        # benchmarks/profile_engine.py --loop 20``)

``--time`` measures with ``time.process_time_ns`` (CPU time of this process), so other work
on a shared machine disturbs the figures less than wall-clock time would. It prints, over
``--repeats`` runs of the whole log, the best and median events/s, and over ``--runs``
evaluations of the 100-event case the p50 and p99 latency in ms (after a warm-up). Compare
two versions by running this script on each in turn, several times, and comparing the
best and median figures.

Options: ``--events N`` (log size, default 100,000), ``--seed S`` (default bench.py's),
``--top K`` (rows of the profile, default 25), ``--repeats N``, ``--runs N``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import math
import pstats
import random
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import ROUTINE, as_of_after, generate_case, generate_log, to_jsonl

from samverkan_rules import (
    CompiledRoutine,
    EventBatch,
    evaluate,
    load_routine,
    read_events_text,
)
from samverkan_rules.engine import Evaluator
from samverkan_rules.engine.replay import replay_case, settle_case
from samverkan_rules.errors import CalendarError
from samverkan_rules.events.model import Event

DEFAULT_SEED = 20261215


def corpus(
    routine: CompiledRoutine, seed: int, n_events: int
) -> tuple[EventBatch, datetime, EventBatch, datetime]:
    """The multi-case log (as bench.py's (c), seed + 1) and one 100-event case (as (b))."""
    log = generate_log(seed + 1, n_events, 100, routine.calendar)
    log_batch = read_events_text(to_jsonl(log), format="jsonl")
    case = generate_case(random.Random(seed), "c1", date(2026, 9, 1), 100, routine.calendar)
    case_batch = read_events_text(to_jsonl(case), format="jsonl")
    return log_batch, as_of_after(log), case_batch, as_of_after(case)


def cpu_ns(run: object) -> int:
    """CPU time (ns) one call of ``run`` takes."""
    assert callable(run)
    t0 = time.process_time_ns()
    run()
    return time.process_time_ns() - t0


def time_engine(
    routine: CompiledRoutine,
    data: tuple[EventBatch, datetime, EventBatch, datetime],
    repeats: int,
    runs: int,
) -> None:
    """Print events/s of the log (best, median) and the 100-event case's p50/p99."""
    log_batch, log_as_of, case_batch, case_as_of = data
    n = len(log_batch.events)
    rates = []
    for _ in range(repeats):
        gc.collect()
        ns = cpu_ns(lambda: evaluate(routine, log_batch, log_as_of))
        rates.append(n / (ns / 1e9))
    for _ in range(max(30, runs // 10)):
        evaluate(routine, case_batch, case_as_of)
    gc.collect()
    samples = sorted(cpu_ns(lambda: evaluate(routine, case_batch, case_as_of)) for _ in range(runs))

    def pct(p: float) -> float:
        return samples[max(1, math.ceil(p / 100 * len(samples))) - 1] / 1e6

    print(
        f"log {n:,} events x{repeats}: best {max(rates):,.0f} events/s, "
        f"median {statistics.median(rates):,.0f} events/s (CPU time)"
    )
    print(
        f"100-event case x{runs}: p50 {pct(50):.3f} ms, p99 {pct(99):.3f} ms, "
        f"best {samples[0] / 1e6:.3f} ms (CPU time)"
    )


def time_phases(
    routine: CompiledRoutine, data: tuple[EventBatch, datetime, EventBatch, datetime], repeats: int
) -> None:
    """Print the CPU time of admitting the log's events and of evaluating its cases."""
    log_batch, log_as_of, _, _ = data
    admit: list[float] = []
    cases: list[float] = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.process_time()
        run = Evaluator(routine, log_as_of)
        by_case = run.admit_all(log_batch.events)
        t1 = time.process_time()
        for case_id in sorted(by_case):
            run.evaluate_case(case_id, by_case.pop(case_id))
        t2 = time.process_time()
        admit.append(t1 - t0)
        cases.append(t2 - t1)
    print(
        f"admit_all: best {min(admit):.3f} s, median {statistics.median(admit):.3f} s; "
        f"evaluate_case (all cases): best {min(cases):.3f} s, "
        f"median {statistics.median(cases):.3f} s (CPU time, x{repeats})"
    )


def time_conditions(routine: CompiledRoutine, log_batch: EventBatch, repeats: int) -> None:
    """Print the CPU time per call of every rule's trigger condition and answer pattern's
    condition, called on each event of the log of its type (best of ``repeats``)."""
    by_type: dict[str, list[Event]] = {}
    for event in log_batch.events:
        by_type.setdefault(event.type, []).append(event)
    calls = []
    for rule in routine.rules:
        calls += [(rule.condition, e) for e in by_type.get(rule.rule.when.event_type, ())]
        for pattern in (*rule.fulfilled_by, *rule.cancelled_by):
            calls += [(pattern.condition, e) for e in by_type.get(pattern.event_type, ())]
    facts = dict(routine.fact_defaults)
    best = math.inf
    for _ in range(repeats):
        t0 = time.process_time_ns()
        for condition, event in calls:
            condition(event, facts)
        best = min(best, time.process_time_ns() - t0)
    print(f"conditions: {len(calls):,} calls, best {best / len(calls):.0f} ns/call (CPU time)")


def time_settle(
    routine: CompiledRoutine, data: tuple[EventBatch, datetime, EventBatch, datetime], repeats: int
) -> None:
    """Print the CPU time per obligation of settling every replayed case of the log."""
    log_batch, log_as_of, _, _ = data
    run = Evaluator(routine, log_as_of)
    by_case = run.admit_all(log_batch.events)
    replays = []
    for case_id, events in sorted(by_case.items()):
        stream = sorted(events, key=lambda e: e.order_key)
        replays.append((case_id, *replay_case(run.plan, case_id, stream, [], {})))
    count = sum(len(entries) for _, entries, _ in replays)
    best = math.inf
    for _ in range(repeats):
        t0 = time.process_time_ns()
        for case_id, entries, facts in replays:
            settle_case(case_id, entries, facts, run.as_of)
        best = min(best, time.process_time_ns() - t0)
    print(f"settle: {count:,} obligations, best {best / count:.0f} ns each (CPU time)")


def time_deadlines(routine: CompiledRoutine, log_batch: EventBatch, repeats: int) -> None:
    """Print the CPU time per call of each rule's deadline for the log's events that
    trigger it (the rule's condition holding with the facts' defaults)."""
    facts = dict(routine.fact_defaults)
    calls = [
        (rule.deadline.instant, e)
        for rule in routine.rules
        for e in log_batch.events
        if e.type == rule.rule.when.event_type and rule.condition(e, facts)
    ]
    best = math.inf
    for _ in range(repeats):
        t0 = time.process_time_ns()
        for instant, event in calls:
            with contextlib.suppress(CalendarError):
                instant(event, None)
        best = min(best, time.process_time_ns() - t0)
    print(f"deadlines: {len(calls):,} placed, best {best / len(calls):.0f} ns each (CPU time)")


def profile_engine(
    routine: CompiledRoutine, data: tuple[EventBatch, datetime, EventBatch, datetime], top: int
) -> None:
    """Print cProfile's top ``top`` functions of one evaluation of the log."""
    log_batch, log_as_of, _, _ = data
    evaluate(routine, log_batch, log_as_of)  # warm the memos, as a long-lived process has
    profiler = cProfile.Profile()
    profiler.enable()
    evaluate(routine, log_batch, log_as_of)
    profiler.disable()
    orders = (("own time", pstats.SortKey.TIME), ("cumulative", pstats.SortKey.CUMULATIVE))
    for title, key in orders:
        print(f"\n--- evaluate, {len(log_batch.events):,} events: top {top} by {title} ---")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats(key).print_stats(top)


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the chosen mode(s)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", action="store_true", help="cProfile one evaluation")
    parser.add_argument("--time", action="store_true", help="CPU-time events/s and latency")
    parser.add_argument("--phases", action="store_true", help="CPU time of each phase")
    parser.add_argument("--conditions", action="store_true", help="ns per condition call")
    parser.add_argument("--settle", action="store_true", help="ns per obligation settled")
    parser.add_argument("--deadlines", action="store_true", help="ns per deadline placed")
    parser.add_argument("--loop", type=int, default=0, help="evaluate the log N times")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args(argv)
    modes = (args.profile, args.time, args.phases, args.conditions, args.settle, args.deadlines)
    if not any(modes) and not args.loop:
        parser.error("choose a mode (see --help)")
    routine = load_routine(ROUTINE)
    data = corpus(routine, args.seed, args.events)
    if args.time:
        time_engine(routine, data, args.repeats, args.runs)
    if args.phases:
        time_phases(routine, data, args.repeats)
    if args.conditions:
        time_conditions(routine, data[0], 3 * args.repeats)
    if args.settle:
        time_settle(routine, data, args.repeats)
    if args.deadlines:
        time_deadlines(routine, data[0], args.repeats)
    if args.profile:
        profile_engine(routine, data, args.top)
    for _ in range(args.loop):
        evaluate(routine, data[0], data[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
