"""Conditions on the event an event refers to (``referred.*``).

A decision names the report it decides on (``refers_to``); a condition on
``referred.data.<name>`` reads that report, whatever other reports the case received
before or after it, in ``evaluate``, in a live session (either backend) and in ``explain``.
"""

from __future__ import annotations

import importlib.util
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules import evaluate, load_routine, load_routine_text
from samverkan_rules.compile.conditions import CaseFacts, compile_condition, referred_event
from samverkan_rules.events.model import event_from_mapping
from samverkan_rules.language.models.conditions import Comparison
from samverkan_rules.live import Session
from samverkan_rules.records import to_builtins
from samverkan_rules.routine.load import check_routine_text
from samverkan_rules.scenarios.check import run_scenario
from samverkan_rules.scenarios.load import load_scenario_file
from samverkan_rules.text.markdown import render_markdown
from tests.support import FIXTURES, ROUTINES, event

ROUTINE_FILE = FIXTURES / "referred" / "referred.yaml"
ROUTINE = load_routine(ROUTINE_FILE)
SCENARIOS = load_scenario_file(FIXTURES / "referred" / "scenarios.yaml")
BACKENDS = ["reference"]
if importlib.util.find_spec("durable") is not None:
    BACKENDS.append("durable")

START = datetime.fromisoformat("2026-03-02T09:00:00+01:00")


def _report(ident: str, at: datetime, kind: str) -> dict[str, object]:
    return event(id=ident, type="anmalan.mottagen", at=at, anmalare_typ=kind)


def _decision(ident: str, at: datetime, refers_to: str) -> dict[str, object]:
    return event(id=ident, type="utredning.beslutad", at=at, refers_to=refers_to, inleds=True)


@pytest.mark.parametrize("index", range(len(SCENARIOS.scenarios)))
def test_the_decision_is_judged_by_the_report_it_names(index: int) -> None:
    result = run_scenario(SCENARIOS.scenarios[index], ROUTINE)
    assert result.verdict == "passed", result.message


def _raised(events: list[dict[str, object]], as_of: datetime) -> list[tuple[str, str | None]]:
    result = evaluate(ROUTINE, events, as_of, ledger=True)
    return sorted((o.obligation, o.deadline) for c in result.cases for o in c.obligations or ())


others = st.lists(
    st.tuples(
        st.integers(min_value=-3 * 24 * 60, max_value=3 * 24 * 60),
        st.sampled_from(["yrkesverksam", "privatperson"]),
    ),
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["yrkesverksam", "privatperson"]), noise=others)
def test_unrelated_reports_interleaved_change_nothing(
    kind: str, noise: list[tuple[int, str]]
) -> None:
    """Other reports of the case, before or after the one decided on and of any kind,
    never change which obligations the decision raises."""
    decided_at = START + timedelta(days=3)
    core = [_report("a0", START, kind), _decision("b0", decided_at, "a0")]
    extra = [
        _report(f"u{i}", START + timedelta(minutes=offset), other)
        for i, (offset, other) in enumerate(noise)
    ]
    as_of = decided_at + timedelta(days=2)
    alone = _raised(core, as_of)
    assert alone == (
        [("aterkoppling-yrkesverksam:b0", "2026-03-12T23:59:59+01:00")]
        if kind == "yrkesverksam"
        else []
    )
    assert _raised(core + extra, as_of) == alone


def test_a_fact_of_the_last_report_would_have_judged_otherwise() -> None:
    """The difference the construct makes: the report decided on is the earlier one."""
    events = [
        _report("a1", START, "yrkesverksam"),
        _report("a2", START + timedelta(days=1), "privatperson"),
        _decision("b1", START + timedelta(days=3), "a1"),
        _decision("b2", START + timedelta(days=3, hours=1), "a2"),
    ]
    raised = _raised(events, START + timedelta(days=4))
    assert [o for o, _ in raised] == ["aterkoppling-yrkesverksam:b1"]


def test_an_obligation_id_names_its_trigger() -> None:
    report = event_from_mapping(_report("r1", START, "yrkesverksam"))
    answer = event_from_mapping(_decision("x1", START, "aterkoppling-yrkesverksam:r1"))
    facts = CaseFacts({}, {"r1": report}, {})
    assert referred_event(answer, facts) is report
    check = compile_condition(
        Comparison.model_validate({"field": "referred.data.anmalare_typ", "equals": "yrkesverksam"})
    )
    assert check(answer, facts)
    # Without the case's events (a plain mapping of facts) the field is missing.
    assert not check(answer, {})
    assert compile_condition(
        Comparison.model_validate({"field": "referred.data.anmalare_typ", "exists": False})
    )(answer, {})


def test_an_event_never_refers_to_itself_or_to_a_later_event() -> None:
    events = [
        _decision("b1", START, "a1"),  # the report comes after the decision
        _report("a1", START + timedelta(hours=1), "yrkesverksam"),
        _decision("b2", START + timedelta(hours=2), "b2"),
    ]
    assert _raised(events, START + timedelta(days=1)) == []


def test_an_event_type_read_only_through_referred_data_is_kept() -> None:
    """Events of a type no rule names are dropped as meant for another routine; a type read
    through ``referred.data`` is not."""
    text = ROUTINE_FILE.read_text(encoding="utf-8")
    only_first = text[: text.index("  - id: aterkoppling-begard")]
    routine = load_routine_text(only_first)
    assert "anmalan.mottagen" in routine.used_event_types
    events = [_report("a1", START, "yrkesverksam"), _decision("b1", START, "a1")]
    result = evaluate(routine, events, START + timedelta(days=1))
    assert [o.obligation for o in result.case("c1").actions] == ["aterkoppling-yrkesverksam:b1"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_session_answers_as_evaluate(backend: str) -> None:
    events = [
        _report("a1", START, "yrkesverksam"),
        _report("a2", START + timedelta(days=1), "privatperson"),
        _decision("b2", START + timedelta(days=2), "a2"),
        _decision("b1", START + timedelta(days=3), "a1"),
        event(id="r1", type="aterkoppling.lamnad", at=START + timedelta(days=4), refers_to="b1"),
    ]
    as_of = START + timedelta(days=5)
    with Session(ROUTINE, backend=backend) as session:  # type: ignore[arg-type]
        changes = []
        for e in events:
            changes.extend(session.post(e))
        got = session.due(as_of).with_output(ledger=True, trace=True)
        described = session.describe()
    raised = {c.obligation for c in changes if c.before is None}
    assert raised == {"aterkoppling-yrkesverksam:b1"}
    want = evaluate(ROUTINE, events, as_of, ledger=True, trace=True)
    assert to_builtins(got.case("c1")) == to_builtins(want.case("c1"))
    if backend == "durable":
        rules = {r["rule"]: r for r in described["rules"]}  # type: ignore[index]
        assert rules["aterkoppling-yrkesverksam"]["engine"] == "reference"
        assert "refers to" in rules["aterkoppling-yrkesverksam"]["reason"]


@pytest.mark.parametrize(
    ("where", "words"),
    [
        ("queue", "a queue, a period or a schedule's cancellation reads the event itself only"),
        ("precondition", "only facts ('fact.<name>') can"),
    ],
)
def test_referred_is_refused_where_no_case_events_are_read(where: str, words: str) -> None:
    text = ROUTINE_FILE.read_text(encoding="utf-8")
    condition = "{field: referred.data.anmalare_typ, equals: yrkesverksam}"
    if where == "queue":
        extra = (
            "queues:\n  ko:\n    label: Kö\n    joins:\n"
            f"      - {{event: utredning.beslutad, priority: 1, label: Ny, if: {condition}}}\n"
            "    leaves: [{event: aterkoppling.lamnad}]\n"
            "    offers: [{event: aterkoppling.lamnad}]\n"
            "    source: {section: Orosanmälan, quote: En anmälan från en privatperson får "
            "återkoppling om anmälaren begär det.}\n"
        )
    else:
        extra = (
            "preconditions:\n  p:\n    label: P\n"
            f"    holds: {condition}\n    remedy: {{description: Gör något}}\n"
        )
    check = check_routine_text(text.replace("rules:\n", extra + "rules:\n", 1), file="r.yaml")
    errors = [d.format() for d in check.diagnostics if d.is_error]
    assert any(words in m for m in errors), errors


@pytest.mark.parametrize(
    ("match", "words"),
    [
        ("{referred.data.anmalare_typp: trigger.data.inleds}", "did you mean 'anmalare_typ'"),
        ("{data.refers_to: trigger.referred.data.anmalare}", "did you mean 'anmalare_typ'"),
        ("{referred.case: trigger.id}", "match key 'referred.case' must be"),
        ("{data.refers_to: trigger.referred}", "match value 'trigger.referred' must be"),
    ],
)
def test_a_wrong_referred_match_is_a_located_error(match: str, words: str) -> None:
    text = ROUTINE_FILE.read_text(encoding="utf-8")
    written = "        match: {data.refers_to: trigger.referred.id}\n"
    assert written in text
    check = check_routine_text(text.replace(written, f"        match: {match}\n"), file="r.yaml")
    errors = [d.format() for d in check.diagnostics if d.is_error]
    assert any("rules[0].fulfilled_by[1].match" in m and words in m for m in errors), errors


def test_render_names_the_referred_field_and_its_role_labels() -> None:
    text = render_markdown(load_routine(ROUTINES / "lss-bostad-daglig-verksamhet.yaml"))
    assert (
        "om `data.note_taker` i den händelse som den hänvisar till är en av Kontaktansvarig "
        "på boendet (`boende.kontaktansvarig`)"
    ) in text
