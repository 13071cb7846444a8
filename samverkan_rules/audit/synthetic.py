"""Synthetic event histories with known outcomes, for tests and benchmarks.

:func:`generate_history` writes cases for the Örebro routine (version 2, from 2020) in
which the generator decides, for every obligation it causes, whether it is met on time,
late, or overdue; :class:`History` carries the counts per rule that an audit must find.

Each case: consent is given (``consent-recorded``), a start is planned with its message
and journal entry (``start-message``, ``start-journal``; a sent message asks for a receipt
and a reply: ``receipt-acknowledgement``, ``start-reply``), then an end is planned
(``end-message``, ``end-journal``; its message asks for a receipt). An on-time answer comes
well before the deadline, a late one a working day or two after it, one left overdue is never done.
Every case ends within 45 working days of its start, so an audit as of the end of the period
sees every deadline passed.

With ``units``, each case belongs to an organisational unit (``data.enhet`` on its first
event), and about a third of the cases move to another unit when their end is planned (the
new ``data.enhet`` on that event): :attr:`History.expected_by_unit` counts each obligation
under the unit the case was in at its trigger.

With ``no_consent``, some cases never give consent: their start and end messages wait
(``blocked``) past their deadlines and nothing answers them. With ``truth``,
:attr:`History.obligations` lists every obligation with its outcome, trigger day and
deadline day, so a view of part of the period (``--closed``) can be checked against it.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from samverkan_rules.status import Status
from samverkan_rules.time.calendar import WorkingCalendar, sweden_calendar

ROUTINE_ID = "orebro-dagverksamhet-hemvard"
"""The routine the generated cases follow (its version 2, in force from 2020-01-01)."""

OUTCOMES: tuple[Status, ...] = ("fulfilled", "fulfilled_late", "overdue")
"""What the generator lets happen to an obligation: on time, late, overdue."""

MIX = (6, 2, 1)
"""The default weights of :data:`OUTCOMES`: two thirds on time, two ninths late, one overdue."""


class Truth(NamedTuple):
    """One generated obligation and what the generator made of it."""

    case: str
    obligation: str
    """``<rule>:<trigger event id>``, as the audit's ``obligations.csv`` and ``explain`` name it."""
    rule: str
    trigger_event: str
    status: str
    unit: str
    """The case's unit at the trigger ("" without units)."""
    late_working_days: int | None
    """Working days late, for an obligation done late; else None."""
    trigger_day: date
    """The local day of the trigger."""
    deadline_day: date
    """The local day of the deadline (the end of that day)."""


_ZONE = ZoneInfo("Europe/Stockholm")
_TO_HEMVARD = ["hemvard.driftsplanerare"]


def personnummer(rng: random.Random) -> str:
    """A valid personnummer (12 digits, YYYYMMDD-NNNC) with a Luhn check digit.

    Examples:
        >>> from samverkan_rules.audit.pseudonym import valid_personnummer
        >>> valid_personnummer(personnummer(random.Random(1)))
        True
    """
    born = date(1930, 1, 1) + timedelta(days=rng.randrange(365 * 40))
    serial = f"{rng.randrange(1, 1000):03d}"  # serial 000 is never issued
    digits = born.strftime("%y%m%d") + serial
    total = 0
    for i, ch in enumerate(digits):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    check = (10 - total % 10) % 10
    return f"{born:%Y%m%d}-{serial}{check}"


@dataclass
class History:
    """Generated events and what an audit of them must find.

    Attributes:
        first: First day of the period the triggers fall in.
        last: Last day of the period; every deadline is passed by the end of it.
        expected: Per rule id, counts per status (fulfilled, fulfilled_late, overdue).
        events: Number of events generated.
        cases: Number of cases.
        expected_by_unit: Per unit (with ``units``), counts per status of the obligations
            triggered while the case was in it.
    """

    first: date
    last: date
    expected: dict[str, Counter[str]] = field(default_factory=dict)
    late_working_days: dict[str, Counter[int]] = field(default_factory=dict)
    events: int = 0
    cases: int = 0
    expected_by_unit: dict[str, Counter[str]] = field(default_factory=dict)
    obligations: list[Truth] | None = None
    """Every obligation with its outcome, trigger day and deadline day, when asked for
    (``truth=True``); None otherwise."""

    def count(
        self,
        rule: str,
        outcome: str,
        late: int | None = None,
        unit: str | None = None,
        *,
        case: str = "",
        trigger: str = "",
        days: tuple[date, date] | None = None,
    ) -> None:
        """Record one obligation's outcome (its working days late, the case's unit, and its
        trigger day and deadline day when obligations are kept)."""
        self.expected.setdefault(rule, Counter())[outcome] += 1
        if self.obligations is not None and days is not None:
            self.obligations.append(
                Truth(case, f"{rule}:{trigger}", rule, trigger, outcome, unit or "", late, *days)
            )
        if unit is not None:
            self.expected_by_unit.setdefault(unit, Counter())[outcome] += 1
        if late is not None:
            self.late_working_days.setdefault(rule, Counter())[late] += 1


class _Case:
    def __init__(
        self,
        rng: random.Random,
        number: int,
        case: str,
        cal: WorkingCalendar,
        history: History,
        mix: Sequence[int] = MIX,
    ) -> None:
        self.rng = rng
        self.mix = mix
        self.case = case
        self.cal = cal
        self.history = history
        self.prefix = f"e{number}-"
        self.events: list[dict[str, Any]] = []
        self.unit: str | None = None
        self.moves: list[str] = []
        """Units the case moves to when its end is planned (at most one)."""
        self.at = date.min
        """The trigger day of the obligations being answered."""
        self.consent = True
        """False: consent is never given, so the messages that require it wait (blocked)."""

    def wd(self, day: date, n: int) -> date:
        return self.cal.add_working_days(day, n)

    def emit(self, etype: str, day: date, hour: int, minute: int, data: dict[str, Any]) -> str:
        ident = f"{self.prefix}{len(self.events) + 1}"
        at = datetime.combine(day, time(hour, minute), tzinfo=_ZONE)
        self.events.append(
            {"id": ident, "case": self.case, "type": etype, "at": at.isoformat(), "data": data}
        )
        return ident

    def outcome(self) -> str:
        return self.rng.choices(OUTCOMES, weights=self.mix)[0]

    def answer(
        self,
        rule: str,
        trigger: str,
        on_time: date,
        late: date,
        deadline: date,
        hour: int,
        etype: str,
        data: dict[str, Any],
    ) -> tuple[str, date] | None:
        """Emit the answer to one obligation as the drawn outcome says: its id and day."""
        outcome = self.outcome()
        days = (self.at, deadline)
        if outcome == "overdue":
            self.history.count(
                rule, outcome, unit=self.unit, case=self.case, trigger=trigger, days=days
            )
            return None
        day = on_time if outcome == "fulfilled" else late
        self.history.count(
            rule,
            outcome,
            self.cal.working_days_between(deadline, day) if outcome == "fulfilled_late" else None,
            unit=self.unit,
            case=self.case,
            trigger=trigger,
            days=days,
        )
        return self.emit(etype, day, hour, self.rng.randrange(60), data), day

    def message(self, kind: str, plan: str, on_time: date, late: date, deadline: date) -> None:
        rule = f"{kind}-message"
        if not self.consent:  # it waits for consent, never sent: no receipt, no reply
            self.history.count(
                rule,
                "blocked",
                unit=self.unit,
                case=self.case,
                trigger=plan,
                days=(self.at, deadline),
            )
            return
        sent = self.answer(
            rule,
            plan,
            on_time,
            late,
            deadline,
            10,
            "message.sent",
            {"kind": kind, "to": _TO_HEMVARD, "channel": "treserva.hemvard", "refers_to": plan},
        )
        if sent is None:
            return
        ident, day = sent
        due = self.wd(day, 1)
        plan_day, self.at = self.at, day
        self.answer(
            "receipt-acknowledgement",
            ident,
            day,
            self.wd(day, 3),
            due,
            12,
            "message.acknowledged",
            {"message": ident},
        )
        # The receiver puts the information into home care's planning (by the end of the
        # next working day), recorded as referring to the message.
        self.answer(
            "planning-updated",
            ident,
            day,
            self.wd(day, 3),
            due,
            15,
            "document.recorded",
            {"record": "hemvardens_planering", "refers_to": ident},
        )
        if kind == "start":
            self.answer(
                "start-reply",
                ident,
                day,
                self.wd(day, 3),
                due,
                13,
                "message.sent",
                {"kind": "start_reply", "to": ["dagverksamhet"], "refers_to": ident},
            )
        self.at = plan_day

    def journal(self, kind: str, plan: str, on_time: date, late: date, deadline: date) -> None:
        self.answer(
            f"{kind}-journal",
            plan,
            on_time,
            late,
            deadline,
            11,
            "document.recorded",
            {"record": "verkstallighetsjournal", "topic": kind, "refers_to": plan},
        )

    def story(self, day0: date) -> None:
        consent: dict[str, Any] = {"form": "written"}
        if self.unit is not None:
            consent["enhet"] = self.unit
        minute = self.rng.randrange(30)
        self.at = day0
        if self.consent:
            given = self.emit("consent.given", day0, 9, minute, consent)
            self.answer(
                "consent-recorded",
                given,
                day0,
                self.wd(day0, 3),
                self.wd(day0, 1),
                14,
                "document.recorded",
                {"record": "samtyckesmodul"},
            )
        for kind, begin, end_day, field_name in (
            ("start", 1, 15, "start_date"),
            ("end", 20, 35, "last_day"),
        ):
            planned = self.wd(day0, begin)
            target = self.wd(day0, end_day)
            data: dict[str, Any] = {field_name: target.isoformat()}
            if kind == "start":
                data["form"] = "dagrehab"
            elif self.moves:
                self.unit = data["enhet"] = self.moves.pop()
            if kind == "start" and not self.consent and self.unit is not None:
                data["enhet"] = self.unit  # no consent event carries it
            plan = self.emit(f"dagverksamhet.{kind}_planned", planned, 9, 0, data)
            self.at = planned
            deadline = self.wd(target, -2)
            on_time = self.wd(planned, 1)
            late = self.wd(target, -1)
            self.message(kind, plan, on_time, late, deadline)
            self.journal(kind, plan, on_time, late, deadline)


def generate_history(
    seed: int,
    cases: int,
    *,
    first: date = date(2020, 1, 1),
    years: int = 3,
    ids: str = "personnummer",
    units: Sequence[str] = (),
    mix: Sequence[int] = MIX,
    truth: bool = False,
    no_consent: float = 0.0,
) -> tuple[History, Iterator[list[dict[str, Any]]]]:
    """A history of ``cases`` cases over ``years`` years and what an audit must find.

    Args:
        seed: Everything follows from it.
        cases: How many cases.
        first: First day of the period.
        years: Length of the period.
        ids: ``personnummer`` (valid ones) or ``plain`` (``c1``, ``c2``, ...) case ids.
        units: Organisational units to put the cases in (``data.enhet``); drawn from a
            random source of their own, so the outcomes are those of the same seed without.
        mix: Weights of on time, late and overdue (:data:`MIX` by default).
        truth: Also keep every obligation with its outcome, trigger day and deadline day
            (:attr:`History.obligations`), e.g. to check a closed-period view.
        no_consent: The share of cases that never give consent: their start and end
            messages wait (``blocked``) past their deadlines, and nothing answers them
            (drawn from a source of its own; 0 leaves the history as without it).

    Returns:
        The :class:`History` (its counts complete once the iterator is exhausted) and an
        iterator over each case's events (generated lazily: memory stays flat).
    """
    cal = sweden_calendar()
    try:
        end = date(first.year + years, first.month, first.day)
    except ValueError:  # from 29 February to a year without one
        end = date(first.year + years, 3, 1)
    last = end - timedelta(days=1)
    if len(mix) != len(OUTCOMES) or min(mix) < 0 or sum(mix) <= 0:
        raise ValueError(f"mix {tuple(mix)}: three weights >= 0 (on time, late, overdue), not 0")
    history = History(first=first, last=last, obligations=[] if truth else None)
    latest_start = last - timedelta(days=90)
    span = (latest_start - first).days

    def cases_iter() -> Iterator[list[dict[str, Any]]]:
        rng = random.Random(seed)
        placing = random.Random(f"units-{seed}")
        consenting = random.Random(f"consent-{seed}")
        seen: set[str] = set()
        for number in range(1, cases + 1):
            if ids == "personnummer":
                case = personnummer(rng)
                while case in seen:
                    case = personnummer(rng)
                seen.add(case)
            else:
                case = f"c{number}"
            day0 = cal.next_working_day(first + timedelta(days=rng.randrange(span)))
            writer = _Case(rng, number, case, cal, history, mix)
            writer.consent = not (no_consent and consenting.random() < no_consent)
            if units:
                writer.unit = placing.choice(units)
                if placing.random() < 1 / 3:
                    writer.moves.append(
                        placing.choice([u for u in units if u != writer.unit] or units)
                    )
            writer.story(day0)
            history.events += len(writer.events)
            history.cases += 1
            yield writer.events

    return history, cases_iter()


def _csv_text(events: Sequence[dict[str, Any]], header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(("id", "case", "type", "at", "data"))
    for e in events:
        writer.writerow(
            (e["id"], e["case"], e["type"], e["at"], json.dumps(e["data"], ensure_ascii=False))
        )
    return buffer.getvalue()


FORMATS = ("jsonl", "csv", "jsonl.gz", "csv.gz", "parquet")
"""The file formats :func:`write_files` writes (Parquet needs DuckDB, in the ``audit`` extra)."""


def write_files(
    cases: Iterator[list[dict[str, Any]]],
    directory: Path,
    *,
    files: int = 3,
    shuffle: random.Random | None = None,
    formats: Sequence[str] = ("jsonl", "csv", "jsonl.gz"),
) -> list[Path]:
    """Spread the events over ``files`` files, each event in a random one.

    The formats (of :data:`FORMATS`) go round the files in turn. With ``shuffle``, each
    file's lines are shuffled too (this holds the events in memory; without it, events are
    streamed to the files as generated). The same events give the same bytes (a gzip
    header carries no time).
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats or files < 1:
        raise ValueError(f"formats {list(formats)}, files {files}: use {', '.join(FORMATS)}")
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"events-{i:02d}.{formats[i % len(formats)]}" for i in range(files)]
    # Parquet is written as JSON Lines first, then converted.
    text = [p.with_name(f".{p.name}.jsonl") if p.suffix == ".parquet" else p for p in paths]
    pick = shuffle or random.Random(0)
    if shuffle is not None:
        buckets: list[list[dict[str, Any]]] = [[] for _ in paths]
        for events in cases:
            for e in events:
                buckets[pick.randrange(files)].append(e)
        for path, bucket in zip(text, buckets, strict=True):
            shuffle.shuffle(bucket)
            _write(path, [bucket], header=True)
    else:
        _stream(cases, text, pick)
    for path, staged in zip(paths, text, strict=True):
        if path != staged:
            _to_parquet(staged, path)
    return paths


def _stream(cases: Iterator[list[dict[str, Any]]], paths: list[Path], pick: random.Random) -> None:
    handles = [_opener(p) for p in paths]
    try:
        for i, h in enumerate(handles):
            if ".csv" in paths[i].name:
                h.write(_csv_text([], header=True))
        for events in cases:
            per: list[list[dict[str, Any]]] = [[] for _ in paths]
            for e in events:
                per[pick.randrange(len(paths))].append(e)
            for i, chunk in enumerate(per):
                if chunk:
                    handles[i].write(_text(paths[i], chunk))
    finally:
        for h in handles:
            h.close()


def _to_parquet(staged: Path, path: Path) -> None:
    """Convert a JSON Lines file of events to Parquet (every column text, data as JSON)."""
    from samverkan_rules.audit.streams import connect  # DuckDB: the audit extra

    con = connect()
    try:
        con.execute("SET threads = 1")
        con.execute(
            'COPY (SELECT id, "case", type, "at", data::VARCHAR AS data FROM read_json(?, '
            "format = 'newline_delimited', columns = {id: 'VARCHAR', 'case': 'VARCHAR', "
            "type: 'VARCHAR', 'at': 'VARCHAR', data: 'JSON'})) TO '"
            + str(path).replace("'", "''")
            + "' (FORMAT parquet)",
            [str(staged)],
        )
    finally:
        con.close()
    staged.unlink()


def _opener(path: Path) -> Any:
    if path.name.endswith(".gz"):
        raw = gzip.GzipFile(path, "wb", compresslevel=1, mtime=0)
        return io.TextIOWrapper(raw, encoding="utf-8", newline="")
    return path.open("w", encoding="utf-8", newline="")


def _text(path: Path, events: Sequence[dict[str, Any]]) -> str:
    if ".csv" in path.name:
        return _csv_text(events, header=False)
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)


def _write(path: Path, chunks: Sequence[Sequence[dict[str, Any]]], *, header: bool) -> None:
    with _opener(path) as handle:
        if ".csv" in path.name and header:
            handle.write(_csv_text([], header=True))
        for chunk in chunks:
            handle.write(_text(path, chunk))


def write_truth(history: History, directory: Path) -> list[Path]:
    """Write what an audit of the history must find into ``directory``.

    ``truth.json``: the period, the numbers of cases and events, and per rule (and per unit)
    the counts per status; ``truth.csv`` (when the history kept them): every obligation with
    its case, id, rule, trigger event, status, unit and working days late.
    """
    summary = {
        "routine": ROUTINE_ID,
        "from": history.first.isoformat(),
        "to": history.last.isoformat(),
        "cases": history.cases,
        "events": history.events,
        "by_rule": {r: dict(sorted(c.items())) for r, c in sorted(history.expected.items())},
        "by_unit": {
            u: dict(sorted(c.items())) for u, c in sorted(history.expected_by_unit.items())
        },
    }
    paths = [directory / "truth.json"]
    paths[0].write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", "utf-8")
    if history.obligations is not None:
        paths.append(directory / "truth.csv")
        with paths[1].open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(Truth._fields)
            for t in sorted(history.obligations, key=lambda t: (t.case, t.obligation)):
                writer.writerow("" if v is None else v for v in t)
    return paths
