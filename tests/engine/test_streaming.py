"""Case-by-case evaluation of event files: the same result as evaluating everything at once.

``samverkan due`` indexes an event file by case in one pass and evaluates one case at a time
(:mod:`samverkan_rules.events.index`, :class:`samverkan_rules.engine.Evaluator`); these tests hold
it to the in-memory :func:`samverkan_rules.evaluate` byte for byte, for shuffled inputs,
repeated and conflicting ids, bad lines, standard input, and every routine of the project.
"""

from __future__ import annotations

import io
import json
import random
import sys
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samverkan_rules import EventError, evaluate, load_routine, read_events
from samverkan_rules.cli import main
from samverkan_rules.engine import Evaluator, evaluate_cases
from samverkan_rules.engine.output import OutputCache, case_dict, json_document
from samverkan_rules.events.index import KEEP_BYTES, index_events
from samverkan_rules.events.limits import EventLimits
from samverkan_rules.records import diagnostic_fields, to_builtins
from samverkan_rules.scenarios.load import load_scenario_file
from tests.support import EXAMPLES, ROUTINES

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
EXAMPLE = EXAMPLES / "orebro-case.jsonl"
AS_OF = datetime.fromisoformat("2026-12-15T12:00:00+01:00")


def streamed_json(path: Path | str, routines: list, as_of: datetime, **kwargs: object) -> str:
    """The evaluation JSON as ``samverkan due`` writes it: case by case from an index."""
    run = Evaluator(routines, as_of)
    with index_events(str(path), run, **kwargs) as log:  # type: ignore[arg-type]
        cache = OutputCache()
        dicts = (case_dict(ledger, cache) for ledger in evaluate_cases(run, log.cases()))

        def tail() -> dict[str, object]:
            queues, diagnostics = run.finish()
            return {
                "diagnostics": [diagnostic_fields(d) for d in diagnostics],
                "summary": run.summary,
                "queues": [to_builtins(q) for q in queues],
            }

        return b"".join(json_document(run.header(), "cases", dicts, tail)).decode()


def whole(path: Path, routines: list, as_of: datetime) -> str:
    return evaluate(routines, read_events(path), as_of).to_json() + "\n"


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 10_000),
    keep=st.floats(0.3, 1.0),
    keep_bytes=st.sampled_from([0, 8_000, KEEP_BYTES]),
)
def test_streamed_json_equals_the_whole_evaluation_for_shuffled_logs(
    tmp_path: Path, seed: int, keep: float, keep_bytes: int
) -> None:
    """Whether the index keeps no event, some (a budget the example overruns) or all of
    them, each case is evaluated from the same events."""
    rng = random.Random(seed)
    lines = [line for line in lines_of(EXAMPLE) if rng.random() < keep]
    rng.shuffle(lines)
    lines += rng.sample(lines, k=min(2, len(lines)))  # exact repeats, counted once
    path = tmp_path / f"log-{seed}.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    routines = [load_routine(ROUTINE)]
    for as_of in (AS_OF, datetime.fromisoformat("2027-02-01T08:00:00+01:00")):
        streamed = streamed_json(path, routines, as_of, keep_bytes=keep_bytes)
        assert streamed == whole(path, routines, as_of)


@pytest.mark.parametrize("keep_bytes", [0, KEEP_BYTES])
def test_conflicting_ids_bad_lines_and_a_long_line_as_in_memory(
    tmp_path: Path, keep_bytes: int
) -> None:
    lines = lines_of(EXAMPLE)
    first = json.loads(lines[0])
    other = {**first, "data": {**first["data"], "extra": 0}}
    text = "".join(lines) + json.dumps(other) + "\n" + "{not json\n" + '"a string"\n'
    path = tmp_path / "log.jsonl"
    path.write_text(text + json.dumps({**first, "id": "big", "data": {"x": "y" * 5000}}) + "\n")
    routines = [load_routine(ROUTINE)]
    limits = EventLimits(line_bytes=4096)
    expected = evaluate(routines, read_events(path, limits=limits), AS_OF).to_json() + "\n"
    assert streamed_json(path, routines, AS_OF, limits=limits, keep_bytes=keep_bytes) == expected
    codes = {d["code"] for d in json.loads(expected)["diagnostics"]}
    assert {"event.duplicate-id", "event.bad-json", "event.not-object", "event.too-long"} <= codes


@pytest.mark.parametrize(
    "scenario_file",
    sorted((ROUTINES / "tests").rglob("*.yaml")),
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_every_scenario_streams_as_it_evaluates(tmp_path: Path, scenario_file: Path) -> None:
    loaded = load_scenario_file(scenario_file)
    routines = [load_routine(loaded.routine_path)]
    for scenario in loaded.scenarios:
        path = tmp_path / f"s{scenario.index}.jsonl"
        path.write_text("".join(json.dumps(e.to_json()) + "\n" for e in scenario.events))
        # Nothing kept: every case is read back from the file at its offsets.
        assert streamed_json(path, routines, scenario.as_of, keep_bytes=0) == whole(
            path, routines, scenario.as_of
        )


def test_due_reads_standard_input_case_by_case(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(EXAMPLE.read_bytes())))
    argv = ["due", "--routine", str(ROUTINE), "--events", "-", "--as-of", AS_OF.isoformat()]
    assert main([*argv, "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert out == whole(EXAMPLE, [load_routine(ROUTINE)], AS_OF).replace(
        '"file": "' + str(EXAMPLE) + '"', '"file": "<stdin>"'
    )


def test_jsonl_is_a_head_one_case_a_line_then_the_rest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["due", "--routine", str(ROUTINE), "--events", str(EXAMPLE)]
    assert main([*argv, "--as-of", AS_OF.isoformat(), "--format", "jsonl"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    document = json.loads(whole(EXAMPLE, [load_routine(ROUTINE)], AS_OF))
    head = ("as_of", "routines")
    assert rows[0] == {k: document[k] for k in head}
    assert rows[1:-1] == document["cases"]
    assert rows[-1] == {k: v for k, v in document.items() if k not in {*head, "cases"}}


def test_a_pipe_is_read_once_and_an_endless_line_is_refused(tmp_path: Path) -> None:
    import os
    import threading

    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(EXAMPLE.read_bytes()))
    writer.start()
    routines = [load_routine(ROUTINE)]
    try:
        assert streamed_json(fifo, routines, AS_OF) == whole(EXAMPLE, routines, AS_OF).replace(
            str(EXAMPLE), str(fifo)
        )
    finally:
        writer.join(timeout=10)
    endless = tmp_path / "endless.jsonl"
    endless.write_bytes(b"x" * (70 * 1024))
    with pytest.raises(EventError, match="not an event file") as info:
        streamed_json(endless, routines, AS_OF, limits=EventLimits(line_bytes=1000))
    assert info.value.diagnostics[0].file == str(endless)


def test_a_case_over_the_events_per_case_limit_keeps_the_first_and_names_the_rest(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    routines = [load_routine(ROUTINE)]
    document = json.loads(
        streamed_json(path, routines, AS_OF, limits=EventLimits(events_per_case=5))
    )
    too_long = [d for d in document["diagnostics"] if d["code"] == "event.case-too-long"]
    assert too_long and all("SAMVERKAN_MAX_EVENTS_PER_CASE" in d["hint"] for d in too_long)
    assert document["summary"]["events"] <= 5 * len(document["cases"])
