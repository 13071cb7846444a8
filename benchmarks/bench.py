"""Performance figures for samverkan-rules, each printed next to its target.

Run from the repository root::

    python benchmarks/bench.py            # full sizes (several minutes: a 1M-event log)
    python benchmarks/bench.py --quick    # smaller sizes, a smoke run for CI
    python benchmarks/bench.py --json     # machine-readable output
    python benchmarks/bench.py --profile  # also print cProfile hotspots of the evaluator

Figures:

(a) working-day offsets per second through ``WorkingCalendar.add_working_days_ordinal``
    (the audit fast path) and through ``add_working_days`` on ``date`` objects;
(b) ``evaluate`` latency (p50/p99) for one realistic 100-event case on the Örebro routine;
(c) one generated log of 10,000 open cases (about six events each, 60,000 events: cases
    cut mid-story, as a municipality's open cases are), measured side by side in one run:
    the parse-only floor (stdlib ``json.loads`` per line), ``read_events_text``, ``evaluate``
    in process (with Python's default collector, and with the collector as the commands set
    it, :func:`samverkan_rules.cli._common.settle_memory`), walking every action of the
    result, the output's bytes per case, durable_rules matching the same routine's triggers
    case by case (when the ``live`` extra is installed), and ``samverkan due --format
    jsonl`` as a whole process; each with its ratio to the floor and to durable_rules;
(d) the whole ``samverkan due --format jsonl`` process on 10k, 100k and 1M-event logs:
    events per second and peak RSS (``getrusage`` of the child process);
(e) the cost per event of one case of 10, 100, 1,000 and 10,000 events;
(f) start-up: ``samverkan --help`` and ``samverkan validate`` on one routine, whole process.

Whole processes (c, d, f) run as an installed package does, with the package's bytecode
compiled once beforehand (into a temporary ``PYTHONPYCACHEPREFIX``), not from source at
every start.

All data is generated deterministically from ``--seed`` with ``random.Random``. A missed
target is reported as MISS; the script still exits 0, so CI can run it as a smoke test.
Timings use ``time.perf_counter_ns``. Figures on a shared machine vary between runs; the
ratios, measured in one run, vary less.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import json
import math
import os
import platform
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import samverkan_rules
from samverkan_rules import (
    CompiledRoutine,
    EventBatch,
    WorkingCalendar,
    evaluate,
    load_routine,
    read_events_text,
    sweden_calendar,
)
from samverkan_rules.cli._common import settle_memory

ROOT = Path(__file__).resolve().parent.parent
ROUTINE = ROOT / "routines" / "orebro-dagverksamhet-hemvard.yaml"
ZONE = ZoneInfo("Europe/Stockholm")

#: Local working hours in which generated events happen (minutes after midnight).
DAY_START = 7 * 60 + 30
DAY_END = 16 * 60
#: Events a case's end episode always writes (plan, message, journal entry, receipt).
END_EVENTS = 4


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Figure:
    """One measured figure, its target and whether the target was met.

    ``target`` is ``None`` for figures shown for information only. ``higher_is_better``
    says which side of the target passes.
    """

    section: str
    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = True
    note: str = ""
    """Ratios to the figures it is measured beside (the parse floor, durable_rules)."""

    @property
    def ok(self) -> bool | None:
        """True/False against the target; None when there is no target."""
        if self.target is None:
            return None
        if self.higher_is_better:
            return self.value >= self.target
        return self.value <= self.target

    def verdict(self) -> str:
        """PASS, MISS, or '-' for an information-only figure."""
        return {True: "PASS", False: "MISS", None: "-"}[self.ok]

    def target_text(self) -> str:
        """The target as shown in the table, e.g. '>= 2,000,000'."""
        if self.target is None:
            return "-"
        sign = ">=" if self.higher_is_better else "<="
        return f"{sign} {_number(self.target)}"


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def _percentile(sorted_values: list[int], p: float) -> int:
    """The nearest-rank percentile ``p`` (0..100) of already sorted values."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


# --------------------------------------------------------------------------- data


class CaseWriter:
    """Writes one plausible case log for the Örebro routine, event by event.

    The clock moves forward only, inside working hours on working days, in local Swedish
    time (offsets +01:00/+02:00 follow daylight saving). Every event is valid against the
    routine's event types.
    """

    def __init__(
        self, rng: random.Random, case: str, first_day: date, calendar: WorkingCalendar
    ) -> None:
        self.rng = rng
        self.case = case
        self.calendar = calendar
        day = calendar.next_working_day(first_day)
        self.clock = datetime(day.year, day.month, day.day) + timedelta(
            minutes=DAY_START + rng.randrange(90)
        )
        self.events: list[dict[str, Any]] = []

    # -- the clock ---------------------------------------------------------------------

    def _working_day_after(self, day: date, n: int) -> date:
        return self.calendar.add_working_days(day, n)

    def later(self, low: int = 5, high: int = 90) -> None:
        """Move the clock on by ``low``..``high`` minutes, to the next working day if needed."""
        self.clock += timedelta(minutes=self.rng.randint(low, high))
        minutes = self.clock.hour * 60 + self.clock.minute
        if minutes >= DAY_END or not self.calendar.is_working_day(self.clock.date()):
            self.next_day(1, 1)

    def next_day(self, low: int = 1, high: int = 3) -> None:
        """Jump ``low``..``high`` working days ahead, to a morning time."""
        day = self._working_day_after(self.clock.date(), self.rng.randint(low, high))
        self.clock = datetime(day.year, day.month, day.day) + timedelta(
            minutes=DAY_START + self.rng.randrange(120)
        )

    def day_ahead(self, low: int, high: int) -> str:
        """An ISO date ``low``..``high`` working days after today (for plans)."""
        n = self.rng.randint(low, high)
        return self._working_day_after(self.clock.date(), n).isoformat()

    # -- events ------------------------------------------------------------------------

    def emit(self, etype: str, data: dict[str, Any] | None = None) -> str:
        """Append an event at the current clock and move the clock on; returns its id."""
        ident = f"{self.case}-{len(self.events) + 1:03d}"
        at = self.clock.replace(tzinfo=ZONE).isoformat()
        self.events.append(
            {"id": ident, "case": self.case, "type": etype, "at": at, "data": data or {}}
        )
        self.later(2, 40)
        return ident

    def send(self, kind: str, to: list[str], refers_to: str) -> str:
        """A Treserva message about event ``refers_to``."""
        return self.emit(
            "message.sent",
            {"kind": kind, "to": to, "channel": "treserva.hemvard", "refers_to": refers_to},
        )

    def acknowledge(self, message: str, *, p_missing: float = 0.1) -> None:
        """Home care acknowledges a message: mostly the same day, sometimes late or never."""
        roll = self.rng.random()
        if roll < p_missing:
            return
        if roll < p_missing + 0.1:
            self.next_day(2, 3)  # late
        self.emit("message.acknowledged", {"message": message})

    # -- the story ---------------------------------------------------------------------

    def intake(self) -> tuple[bool, bool]:
        """Consent, enrolment and the first contacts; returns (has_hemvard, has_hemsjukvard)."""
        rng = self.rng
        consent_first = rng.random() < 0.9
        if consent_first:
            self.emit("consent.given", {"form": rng.choice(["oral", "written"])})
            self.emit("document.recorded", {"record": "samtyckesmodul"})
        has_hemvard = rng.random() < 0.85
        has_hemsjukvard = rng.random() < 0.3
        self.emit(
            "dagverksamhet.enrolled",
            {"has_hemvard": has_hemvard, "has_hemsjukvard": has_hemsjukvard},
        )
        if not consent_first:
            self.next_day(1, 2)
            self.emit("consent.given", {"form": "written", "scope": "dagverksamhet"})
            self.emit("document.recorded", {"record": "samtyckesmodul"})
        self.emit("document.recorded", {"record": "referenspersoner"})
        if has_hemvard:
            self.next_day(1, 6)
            self.emit("contact.made", {"to": "hemvard.kontaktperson", "channel": "telefon"})
        return has_hemvard, has_hemsjukvard

    def start(self, has_hemsjukvard: bool) -> None:
        """The start plan, its message (and journal entry), receipt and reply."""
        plan = self.emit(
            "dagverksamhet.start_planned",
            {
                "start_date": self.day_ahead(6, 15),
                "form": self.rng.choice(["dagrehab", "social_dagvard", "demens"]),
                "in_periods": self.rng.random() < 0.2,
            },
        )
        self.next_day(1, 2)
        to = ["hemvard.driftsplanerare"] + (["hemsjukvard"] if has_hemsjukvard else [])
        message = self.send("start", to, plan)
        self.emit(
            "document.recorded",
            {"record": "verkstallighetsjournal", "topic": "start", "refers_to": plan},
        )
        self.acknowledge(message)
        if self.rng.random() < 0.85:
            self.emit(
                "message.sent",
                {"kind": "start_reply", "to": ["dagverksamhet"], "refers_to": message},
            )

    def ongoing(self) -> None:
        """One episode of the case's ongoing life, chosen at random."""
        rng = self.rng
        episode = rng.choices(
            ["cancelled", "homecoming", "needs", "planning", "closure", "noise"],
            weights=[30, 10, 25, 15, 5, 15],
        )[0]
        if episode == "cancelled":
            day = self.clock.date().isoformat()
            self.emit("visit.cancelled", {"date": day, "reason": rng.choice(["sjuk", "besök"])})
            if rng.random() < 0.9:
                self.emit("contact.made", {"to": "dagverksamhet", "channel": "telefon"})
        elif episode == "homecoming":
            day = self.clock.date().isoformat()
            self.emit("hemkomst.behover_motas", {"date": day, "reason": "trött efter dagen"})
            self.emit("contact.made", {"to": "hemvard.driftsplanerare", "channel": "telefon"})
        elif episode == "needs":
            observed_by = rng.choice(["dagverksamhet", "hemvard"])
            self.emit("needs.changed", {"observed_by": observed_by, "area": "rörlighet"})
            to = (
                "hemvard.kontaktperson"
                if observed_by == "dagverksamhet"
                else "dagverksamhet.kontaktperson"
            )
            if rng.random() < 0.9:
                self.emit("contact.made", {"to": to, "topic": "förändrat behov"})
            self.emit("document.recorded", {"record": "verkstallighetsjournal"})
            if rng.random() < 0.8:
                self.emit("document.recorded", {"record": "genomforandejournal"})
        elif episode == "planning":
            unit = rng.choice(["dagverksamhet", "hemvard"])
            self.emit(
                "planering.inplanerad",
                {
                    "occasion": rng.choice(["uppfoljning", "vardplanering", "teamtraff"]),
                    "date": self.day_ahead(4, 10),
                    "unit": unit,
                },
            )
            self.next_day(1, 2)
            to = (
                "hemvard.kontaktperson"
                if unit == "dagverksamhet"
                else "dagverksamhet.kontaktperson"
            )
            self.emit("contact.made", {"to": to, "topic": "inför planeringen"})
        elif episode == "closure":
            plan = self.emit(
                "dagverksamhet.closure_planned",
                {
                    "first_day": self.day_ahead(9, 14),
                    "last_day": self.day_ahead(15, 20),
                    "reason": "personalbrist",
                },
            )
            message = self.send("closure", ["hemvard.driftsplanerare"], plan)
            self.emit(
                "document.recorded",
                {"record": "verkstallighetsjournal", "topic": "stängning", "refers_to": plan},
            )
            self.acknowledge(message, p_missing=0.2)
        else:
            kind = rng.choice(["attendance.missed", "consent.confirmed", "days.increased"])
            data: dict[str, Any] = {}
            if kind == "attendance.missed":
                data = {"date": self.clock.date().isoformat()}
            elif kind == "days.increased":
                data = {"days_per_week": rng.randint(2, 5)}
            self.emit(kind, data)
        self.next_day(1, 5)

    def end(self) -> None:
        """The end plan, its message, journal entry and receipt: :data:`END_EVENTS` events."""
        plan = self.emit("dagverksamhet.end_planned", {"last_day": self.day_ahead(5, 12)})
        message = self.send("end", ["hemvard.driftsplanerare"], plan)
        self.emit(
            "document.recorded",
            {"record": "verkstallighetsjournal", "topic": "avslut", "refers_to": plan},
        )
        self.acknowledge(message, p_missing=0.0)


def generate_case(
    rng: random.Random, case: str, first_day: date, n_events: int, calendar: WorkingCalendar
) -> list[dict[str, Any]]:
    """Exactly ``n_events`` events of one case starting near ``first_day``."""
    writer = CaseWriter(rng, case, first_day, calendar)
    _, has_hemsjukvard = writer.intake()
    writer.next_day(1, 3)
    writer.start(has_hemsjukvard)
    writer.next_day(3, 8)
    while len(writer.events) < n_events - END_EVENTS:
        writer.ongoing()
    # The last episode may overshoot: cut it short and end the case with exactly the rest.
    del writer.events[n_events - END_EVENTS :]
    writer.end()
    return writer.events[:n_events]


def generate_log(
    seed: int, n_events: int, mean_case_size: int, calendar: WorkingCalendar
) -> list[dict[str, Any]]:
    """A multi-case log of exactly ``n_events`` events in time order (cases interleaved)."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    number = 0
    first = date(2025, 1, 1)
    while len(events) < n_events:
        number += 1
        size = min(
            rng.randint(mean_case_size // 2, mean_case_size * 3 // 2), n_events - len(events)
        )
        start = first + timedelta(days=rng.randrange(540))
        events.extend(generate_case(rng, f"c{number:05d}", start, size, calendar))
    events.sort(key=lambda e: (datetime.fromisoformat(e["at"]).astimezone(UTC), e["id"]))
    return events


def generate_open_log(seed: int, n_cases: int, calendar: WorkingCalendar) -> list[dict[str, Any]]:
    """A log of ``n_cases`` cases seen mid-way, as a municipality's open cases are: each case
    is its story (intake, the start, an episode or two, sometimes the end) cut after 2 to 10
    events, so a case has about six events, as in the service and ``due`` workloads."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    first = date(2025, 1, 1)
    for number in range(1, n_cases + 1):
        writer = CaseWriter(
            rng, f"o{number:05d}", first + timedelta(days=rng.randrange(540)), calendar
        )
        _, has_hemsjukvard = writer.intake()
        writer.next_day(1, 3)
        writer.start(has_hemsjukvard)
        for _ in range(rng.randint(0, 2)):
            writer.ongoing()
        if rng.random() < 0.2:
            writer.end()
        events.extend(writer.events[: rng.randint(2, 10)])
    events.sort(key=lambda e: (datetime.fromisoformat(e["at"]).astimezone(UTC), e["id"]))
    return events


def to_jsonl(events: list[dict[str, Any]]) -> str:
    """Events as JSON Lines text."""
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)


def as_of_after(events: list[dict[str, Any]], days: int = 1) -> datetime:
    """An instant ``days`` after the latest event."""
    latest = max(datetime.fromisoformat(e["at"]) for e in events)
    return latest + timedelta(days=days)


def error_count(batch: EventBatch, routine: CompiledRoutine, as_of: datetime) -> int:
    """Error diagnostics for a batch: a generator bug shows here, not as a fast benchmark."""
    result = evaluate(routine, batch, as_of)
    return sum(1 for d in result.diagnostics if d.level == "error")


# --------------------------------------------------------------------------- measurements


def _best_rate(run: Callable[[], int], repeats: int) -> float:
    """Operations per second of the fastest of ``repeats`` runs (``run`` returns its count)."""
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        count = run()
        elapsed = time.perf_counter_ns() - t0
        best = max(best, count / (elapsed / 1e9))
    return best


def bench_calendar(seed: int, n: int, repeats: int) -> list[Figure]:
    """(a) Working-day offsets per second: on ordinals and on dates."""
    cal = sweden_calendar()
    rng = random.Random(seed)
    lo, hi = date(2000, 1, 1).toordinal(), date(2090, 12, 31).toordinal()
    pairs = [(rng.randint(lo, hi), rng.randint(-25, 25)) for _ in range(n)]
    dated = [(date.fromordinal(o), k) for o, k in pairs]

    def on_ordinals() -> int:
        add = cal.add_working_days_ordinal
        for ordinal, k in pairs:
            add(ordinal, k)
        return len(pairs)

    def on_dates() -> int:
        add = cal.add_working_days
        for day, k in dated:
            add(day, k)
        return len(dated)

    return [
        Figure("a", "add_working_days_ordinal", _best_rate(on_ordinals, repeats), "ops/s", 2e6),
        Figure("a", "add_working_days (date)", _best_rate(on_dates, repeats), "ops/s"),
    ]


def bench_latency(
    routine: CompiledRoutine, seed: int, runs: int, warmup: int
) -> tuple[list[Figure], EventBatch, datetime]:
    """(b) evaluate latency for one 100-event case, p50 and p99 over ``runs`` runs."""
    cal = routine.calendar
    events = generate_case(random.Random(seed), "c1", date(2026, 9, 1), 100, cal)
    batch = read_events_text(to_jsonl(events), format="jsonl")
    as_of = as_of_after(events)
    errors = error_count(batch, routine, as_of)
    for _ in range(warmup):
        evaluate(routine, batch, as_of)
    gc.collect()
    samples: list[int] = []
    serial: list[int] = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        result = evaluate(routine, batch, as_of)
        t1 = time.perf_counter_ns()
        result.to_json()
        t2 = time.perf_counter_ns()
        samples.append(t1 - t0)
        serial.append(t2 - t0)
    samples.sort()
    serial.sort()
    ms = 1e6
    obligations = len(result.obligation_ids())
    return (
        [
            Figure("b", "events in the case", len(batch.events), "events"),
            Figure("b", "obligations in the ledger", obligations, "obligations"),
            Figure("b", "invalid generated events", errors, "errors", 0, higher_is_better=False),
            Figure("b", f"evaluate p50 ({runs} runs)", _percentile(samples, 50) / ms, "ms"),
            Figure(
                "b",
                f"evaluate p99 ({runs} runs)",
                _percentile(samples, 99) / ms,
                "ms",
                1.0,
                higher_is_better=False,
            ),
            Figure("b", "evaluate + to_json p99", _percentile(serial, 99) / ms, "ms"),
        ],
        batch,
        as_of,
    )


def write_log(
    path: Path, seed: int, n_events: int, calendar: WorkingCalendar, *, open_cases: int = 0
) -> datetime:
    """Generate a multi-case log of ``n_events`` (about 100 a case) to ``path``, or with
    ``open_cases`` that many cases of about six events; returns an as_of after it."""
    if open_cases:
        events = generate_open_log(seed, open_cases, calendar)
    else:
        events = generate_log(seed, n_events, 100, calendar)
    as_of = as_of_after(events)
    with path.open("w", encoding="utf-8") as out:
        for event in events:
            out.write(json.dumps(event, ensure_ascii=False) + "\n")
    return as_of


def floor_rate(path: Path) -> float:
    """The parse-only floor: stdlib ``json.loads`` on every line of the file, events/s."""

    def run() -> int:
        n = 0
        with path.open("rb") as f:
            for line in f:
                json.loads(line)
                n += 1
        return n

    return _best_rate(run, 2)


def durable_rate(
    routine: CompiledRoutine, by_case: dict[str, list[dict[str, Any]]]
) -> float | None:
    """durable_rules matching the routine's triggers, case by case: events/s (None when the
    ``live`` extra is not installed).

    One rule per trigger event type counts the matches; each case is its own session, ended
    with a sentinel event so its state can be deleted (durable_rules crashes deleting a
    session where nothing fired). Only the posting is timed.
    """
    try:
        from durable.engine import MessageNotHandledException
        from durable.lang import get_host, m, post, ruleset, when_all
    except ImportError:
        return None
    name = f"bench_{time.monotonic_ns()}"
    matched = [0]

    def count(c: Any) -> None:
        matched[0] += 1

    with ruleset(name):
        for etype in sorted(routine.rules_by_trigger):
            when_all(m.type == etype)(count)
        when_all(m.type == "__end__")(lambda c: None)
    host = get_host()
    t0 = time.perf_counter_ns()
    n = 0
    for number, events in enumerate(by_case.values()):
        sid = str(number % 1000)
        for e in events:
            with contextlib.suppress(MessageNotHandledException):  # no rule for the type
                post(name, {"sid": sid, "id": e["id"], "type": e["type"], "data": e["data"]})
            n += 1
        post(name, {"sid": sid, "id": f"end-{number}", "type": "__end__"})
        host.delete_state(name, sid)
    elapsed = time.perf_counter_ns() - t0
    return n / (elapsed / 1e9)


_PROBE = (
    "import os, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "with open(sys.argv[1], 'wb') as out:\n"
    "    rc = subprocess.run(sys.argv[2:], stdout=out).returncode\n"
    "dt = time.perf_counter() - t\n"
    "size = os.path.getsize(sys.argv[1])\n"
    "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc, size)\n"
)


@dataclass(frozen=True)
class Process:
    """One whole ``samverkan due`` run."""

    seconds: float
    rss_mib: float
    exit_code: int
    output_bytes: int


def due_process(path: Path, as_of: datetime, fmt: str = "jsonl") -> Process:
    """``samverkan due`` as a whole process, its output written to a file beside ``path``."""
    command = [sys.executable, "-m", "samverkan_rules", "due", "--routine", str(ROUTINE)]
    command += ["--events", str(path), "--as-of", as_of.isoformat(), "--format", fmt]
    output = path.with_suffix(".out")
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(output), *command],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    output.unlink()
    return Process(float(out[0]), int(out[1]) / 1024, int(out[2]), int(out[3]))


def _walk_and_size(result: Any) -> tuple[int, int, int]:
    """Walking every action of every case as a program would (status, deadline, rule), in
    ns; and the evaluation JSON's size by default and with the ledger and traces."""
    t0 = time.perf_counter_ns()
    seen = 0
    for case in result.cases:
        for action in case.actions:
            seen += len(action.status) + len(action.deadline or "") + len(action.rule)
    walked = time.perf_counter_ns() - t0
    lean = len(result.to_json().encode())
    full = len(result.with_output(ledger=True, trace=True).to_json().encode())
    return walked, lean, full


def bench_throughput(
    routine: CompiledRoutine, seed: int, n_cases: int, repeats: int, workdir: Path
) -> tuple[list[Figure], str, datetime]:
    """(c) One log of ``n_cases`` open cases, side by side: the parse floor, reading,
    evaluating, durable_rules and the whole ``samverkan due`` process, each with its ratio
    to the floor and to durable_rules."""
    path = workdir / f"open-{n_cases}.jsonl"
    as_of = write_log(path, seed, 0, routine.calendar, open_cases=n_cases)
    text = path.read_text(encoding="utf-8")
    floor = floor_rate(path)
    parse_times: list[int] = []
    eval_times: list[int] = []
    tuned_times: list[int] = []
    batch: EventBatch | None = None
    errors = -1
    for i in range(repeats):
        gc.collect()
        t0 = time.perf_counter_ns()
        batch = read_events_text(text, format="jsonl")
        t1 = time.perf_counter_ns()
        result = evaluate(routine, batch, as_of)
        t2 = time.perf_counter_ns()
        parse_times.append(t1 - t0)
        eval_times.append(t2 - t1)
        if i == 0:
            errors = sum(1 for d in result.diagnostics if d.level == "error")
            walk_ns, lean_bytes, full_bytes = _walk_and_size(result)
        del result
        with collector_as_commands_set_it():
            t0 = time.perf_counter_ns()
            evaluate(routine, batch, as_of)
            tuned_times.append(time.perf_counter_ns() - t0)
    assert batch is not None
    count = len(batch.events)
    cases = len({e.case for e in batch.events})
    parse_rate = count / (statistics.median(parse_times) / 1e9)
    eval_rate = count / (statistics.median(eval_times) / 1e9)
    tuned_rate = count / (statistics.median(tuned_times) / 1e9)
    by_case: dict[str, list[dict[str, Any]]] = {}
    for e in batch.events:
        by_case.setdefault(e.case, []).append(e.to_json())
    del batch
    durable = durable_rate(routine, by_case)
    del by_case
    due = due_process(path, as_of)
    due_rate = count / due.seconds

    def ratios(rate: float) -> str:
        parts = [f"{rate / floor:.0%} of the floor"]
        if durable:
            parts.append(f"{rate / durable:.1f}x durable_rules")
        return ", ".join(parts)

    due_target = max(0.25 * floor, 10 * durable) if durable else 0.25 * floor
    eval_ns = statistics.median(eval_times)
    figures = [
        Figure("c", f"log size ({cases} cases)", count, "events"),
        Figure("c", "invalid generated events", errors, "errors", 0, higher_is_better=False),
        Figure("c", "parse floor (json.loads per line)", floor, "events/s"),
        Figure("c", "read_events_text (JSONL)", parse_rate, "events/s", note=ratios(parse_rate)),
        Figure("c", "evaluate (in process)", eval_rate, "events/s", 1.5e5, note=ratios(eval_rate)),
        Figure(
            "c",
            "evaluate, collector as the commands set it",
            tuned_rate,
            "events/s",
            1.5e5,
            note=ratios(tuned_rate),
        ),
        Figure(
            "c",
            "walk every action of every case (result.cases)",
            walk_ns / eval_ns,
            "x evaluate",
            1.0,
            higher_is_better=False,
            note=f"{walk_ns / 1e6:.0f} ms against {eval_ns / 1e6:.0f} ms to evaluate",
        ),
        Figure(
            "c",
            "due --format jsonl output per case",
            due.output_bytes / cases,
            "bytes",
            2048,
            higher_is_better=False,
            note="actions, the rules' text once",
        ),
        Figure(
            "c",
            "Evaluation.to_json() per case (indented)",
            lean_bytes / cases,
            "bytes",
            note=f"{full_bytes / cases:,.0f} bytes with --ledger --trace",
        ),
        Figure(
            "c",
            "durable_rules trigger matching" if durable else "durable_rules (no live extra)",
            durable or 0,
            "events/s",
            note=ratios(durable) if durable else "",
        ),
        Figure(
            "c",
            "samverkan due --format jsonl (process)",
            due_rate,
            "events/s",
            due_target,
            note=ratios(due_rate) + ("" if due.exit_code in (0, 1) else f", exit {due.exit_code}"),
        ),
    ]
    return figures, text, as_of


def bench_scaling(
    routine: CompiledRoutine, seed: int, sizes: list[int], workdir: Path
) -> list[Figure]:
    """(d) The whole ``samverkan due --format jsonl`` process on growing logs: events/s and
    peak RSS (getrusage of the child), which streaming keeps bounded by the largest case."""
    figures: list[Figure] = []
    for n in sizes:
        path = workdir / f"scale-{n}.jsonl"
        as_of = write_log(path, seed + n, n, routine.calendar)
        run = due_process(path, as_of)
        seconds, rss = run.seconds, run.rss_mib
        path.unlink()
        target = 300.0 if n >= 1_000_000 else None
        figures.append(Figure("d", f"{n:,} events: due jsonl", n / seconds, "events/s"))
        figures.append(
            Figure("d", f"{n:,} events: peak RSS", rss, "MiB", target, higher_is_better=False)
        )
    return figures


def _timed(run: Callable[[], object]) -> int:
    gc.collect()
    t0 = time.perf_counter_ns()
    run()
    return time.perf_counter_ns() - t0


def bench_case_sizes(routine: CompiledRoutine, seed: int, sizes: list[int]) -> list[Figure]:
    """(e) Cost per event of one case of 10 to 10,000 events: flat when answers are found
    by index (the 10,000-event case within 2x of the 100-event case)."""
    per_event: dict[int, float] = {}
    for n in sizes:
        first = date(2024, 1, 8)
        events = generate_case(random.Random(seed + n), "c1", first, n, routine.calendar)
        batch = read_events_text(to_jsonl(events), format="jsonl")
        as_of = as_of_after(events)
        runs = max(3, 3000 // n)
        best = min(_timed(partial(evaluate, routine, batch, as_of)) for _ in range(runs))
        per_event[n] = best / n / 1e3
    figures = [Figure("e", f"{n:,}-event case", per_event[n], "us/event") for n in sizes]
    if 100 in per_event and sizes[-1] > 100:
        ratio = per_event[sizes[-1]] / per_event[100]
        name = f"{sizes[-1]:,} vs 100 events, per event"
        figures.append(Figure("e", name, ratio, "x", 2.0, higher_is_better=False))
    return figures


def bench_startup(repeats: int) -> list[Figure]:
    """(f) Whole-process start-up: ``samverkan --help`` and ``samverkan validate`` on one
    routine (median wall time of ``repeats`` runs)."""
    figures = []
    for label, argv, target in (
        ("samverkan --help", ["--help"], 0.15),
        ("samverkan validate (one routine)", ["validate", str(ROUTINE)], 0.5),
    ):
        times = []
        for _ in range(repeats + 1):  # the first run writes its dependencies' bytecode
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "samverkan_rules", *argv],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            times.append(time.perf_counter() - t0)
        figures.append(
            Figure("f", label, statistics.median(times[1:]), "s", target, higher_is_better=False)
        )
    return figures


@contextlib.contextmanager
def collector_as_commands_set_it() -> Iterator[None]:
    """Python's collector as ``samverkan due`` and the other batch commands set it
    (:func:`~samverkan_rules.cli._common.settle_memory`: what is held so far frozen, young
    objects collected less often), restored afterwards. The library leaves the collector to
    its caller; this is what a caller evaluating in batches can do."""
    thresholds = gc.get_threshold()
    gc.collect()
    settle_memory()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@contextlib.contextmanager
def installed_bytecode() -> Iterator[None]:
    """Child processes run as an installed package does: with the package's bytecode
    compiled once (``pip install`` writes it), not compiled from source at every start.

    The bytecode goes to a temporary directory (``PYTHONPYCACHEPREFIX``), so the working
    tree gets no ``__pycache__``; ``PYTHONDONTWRITEBYTECODE`` is lifted for the children
    meanwhile. Every figure of a whole process (c, d, f) is measured inside this.
    """
    saved = {k: os.environ.get(k) for k in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE")}
    with tempfile.TemporaryDirectory(prefix="samverkan-bytecode-") as cache:
        os.environ["PYTHONPYCACHEPREFIX"] = cache
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        package = Path(samverkan_rules.__file__).parent
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
        # and what the measured commands import from other packages (pydantic, yaml, ...)
        warm = "import samverkan_rules.cli.due_cmd, samverkan_rules.cli.validate_cmd"
        subprocess.run([sys.executable, "-c", warm], check=True)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def profile(label: str, run: Callable[[], object], out: TextIO, top: int = 15) -> None:
    """Print the ``top`` functions by own time while ``run`` runs."""
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    print(f"\n--- cProfile: {label} (top {top} by own time) ---", file=out)
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(pstats.SortKey.TIME).print_stats(top)


# --------------------------------------------------------------------------- output


def _table(figures: list[Figure]) -> Iterator[str]:
    titles = {
        "a": "(a) working-day arithmetic",
        "b": "(b) evaluate latency, one 100-event case",
        "c": "(c) a log of open cases, side by side",
        "d": "(d) whole samverkan due process on growing logs",
        "e": "(e) cost per event by case size",
        "f": "(f) start-up, whole process",
    }
    width = max(len(f.name) for f in figures) + 2
    section = ""
    for f in figures:
        if f.section != section:
            section = f.section
            yield ""
            yield titles[section]
        value = f"{_number(f.value)} {f.unit}"
        line = f"  {f.name:<{width}}{value:>24}   target {f.target_text():<14}{f.verdict()}"
        yield line + (f"   ({f.note})" if f.note else "")


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and print the figures; always returns 0 (a MISS is reported)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for CI smoke runs")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--seed", type=int, default=20261215, help="random seed (default %(default)s)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also print cProfile hotspots of (b) and (c)"
    )
    args = parser.parse_args(argv)

    sizes: dict[str, Any] = {
        "calendar_ops": 200_000 if args.quick else 2_000_000,
        "calendar_repeats": 3,
        "latency_runs": 300 if args.quick else 1000,
        "latency_warmup": 30 if args.quick else 100,
        "open_cases": 2_000 if args.quick else 10_000,
        "log_repeats": 1 if args.quick else 3,
        "scaling": [10_000, 30_000] if args.quick else [10_000, 100_000, 1_000_000],
        "case_sizes": [10, 100, 1_000] if args.quick else [10, 100, 1_000, 10_000],
        "startup_repeats": 3 if args.quick else 5,
    }
    with installed_bytecode():
        return _run(args, sizes)


def _run(args: argparse.Namespace, sizes: dict[str, Any]) -> int:
    started = time.perf_counter()
    routine = load_routine(ROUTINE)
    figures = bench_calendar(args.seed, sizes["calendar_ops"], sizes["calendar_repeats"])
    latency, case_batch, case_as_of = bench_latency(
        routine, args.seed, sizes["latency_runs"], sizes["latency_warmup"]
    )
    figures += latency
    with tempfile.TemporaryDirectory(prefix="samverkan-bench-") as tmp:
        workdir = Path(tmp)
        throughput, text, log_as_of = bench_throughput(
            routine, args.seed + 1, sizes["open_cases"], sizes["log_repeats"], workdir
        )
        figures += throughput
        figures += bench_scaling(routine, args.seed + 2, sizes["scaling"], workdir)
    figures += bench_case_sizes(routine, args.seed + 3, sizes["case_sizes"])
    figures += bench_startup(sizes["startup_repeats"])
    elapsed = time.perf_counter() - started

    out = sys.stderr if args.json else sys.stdout
    if args.json:
        print(
            json.dumps(
                {
                    "python": platform.python_version(),
                    "machine": platform.machine(),
                    "quick": args.quick,
                    "seed": args.seed,
                    "sizes": sizes,
                    "seconds": round(elapsed, 2),
                    "figures": [{**asdict(f), "ok": f.ok, "verdict": f.verdict()} for f in figures],
                },
                indent=2,
            )
        )
    else:
        mode = "quick" if args.quick else "full"
        print(
            f"samverkan-rules benchmarks ({mode}, seed {args.seed}, Python "
            f"{platform.python_version()} on {platform.machine()})"
        )
        for line in _table(figures):
            print(line)
        misses = [f for f in figures if f.ok is False]
        print()
        print(
            f"{len(misses)} target(s) missed in {elapsed:.1f} s"
            + (": " + ", ".join(f"({f.section}) {f.name}" for f in misses) if misses else "")
        )
    if args.profile:
        profile(
            "evaluate, one 100-event case x 200",
            lambda: [evaluate(routine, case_batch, case_as_of) for _ in range(200)],
            out,
        )
        log_batch = read_events_text(text, format="jsonl")
        profile("evaluate, multi-case log", lambda: evaluate(routine, log_batch, log_as_of), out)
        profile("parse, multi-case log", lambda: read_events_text(text, format="jsonl"), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
