"""A live session moves a deadline when the event an obligation had to precede arrives
(a rule's ``before``), reports the move as a change caused by that event, and answers as
``evaluate`` does over the same events, with either backend."""

from __future__ import annotations

import importlib.util
from datetime import datetime

import pytest

from samverkan_rules import evaluate, load_routine
from samverkan_rules.live import Session
from samverkan_rules.records import to_builtins
from tests.support import ROUTINES, event

KATRINEHOLM = load_routine(ROUTINES / "katrineholm-hemtjanst-vardcentral.yaml")
BACKENDS = ["reference"]
if importlib.util.find_spec("durable") is not None:
    BACKENDS.append("durable")

EVENTS = [
    event(id="e1", type="consent.given", at="2026-12-01T09:00:00+01:00", form="written"),
    event(
        id="e2", type="document.recorded", at="2026-12-01T10:00:00+01:00", record="genomforandeplan"
    ),
    event(
        id="e3",
        type="vc_contact.needed",
        at="2026-12-23T10:00:00+01:00",
        vardcentral="var_vardcentral",
        question="egenvårdsintyg",
    ),
    event(
        id="e6",
        type="message.sent",
        at="2026-12-28T10:00:00+01:00",
        kind="vc_question",
        to=["vardcentral.var"],
        channel="prator",
    ),
    event(
        id="e7",
        type="document.recorded",
        at="2026-12-28T11:00:00+01:00",
        record="kontaktblankett",
    ),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_contact_cuts_the_deadline_in_a_session_as_in_evaluate(backend: str) -> None:
    with Session(KATRINEHOLM, backend=backend) as session:  # type: ignore[arg-type]
        for e in EVENTS[:3]:
            session.post(e)
        contact = session.post(EVENTS[3])
        moved = {c.obligation: c for c in contact if c.rule.endswith("var-vardcentral")}
        form = moved["prepare-var-vardcentral:e3"]
        # Judged at the contact's own instant: the deadline is that instant, still due.
        assert (form.before, form.after, form.cause) == ("due", "due", "e6")
        assert form.record is not None and form.record.deadline == "2026-12-28T10:00:00+01:00"
        assert form.record.before is not None and form.record.before.event == "e6"
        assert moved["consent-before-var-vardcentral:e3"].record is not None
        ticked = session.tick(datetime.fromisoformat("2026-12-28T10:30:00+01:00"))
        assert {c.obligation: c.after for c in ticked if c.rule.endswith("var-vardcentral")} == {
            "prepare-var-vardcentral:e3": "overdue",
            "consent-before-var-vardcentral:e3": "overdue",
        }
        late = session.post(EVENTS[4])
        (done,) = [c for c in late if c.obligation == "prepare-var-vardcentral:e3"]
        assert (done.before, done.after, done.cause) == ("overdue", "fulfilled_late", "e7")
        as_of = datetime.fromisoformat("2026-12-28T15:00:00+01:00")
        want = evaluate(KATRINEHOLM, EVENTS, as_of, ledger=True, trace=True)
        got = session.due(as_of).with_output(ledger=True, trace=True)
        assert to_builtins(got.case("c1")) == to_builtins(want.case("c1"))


def test_the_durable_backend_leaves_a_cancellable_before_rule_to_the_reference() -> None:
    if "durable" not in BACKENDS:
        pytest.skip("durable-rules is not installed (the `live` extra)")
    with Session(KATRINEHOLM, backend="durable") as session:
        rules = {r["rule"]: r for r in session.describe()["rules"]}  # type: ignore[index]
    assert rules["prepare-var-vardcentral"]["engine"] == "reference"
    assert "before" in rules["prepare-var-vardcentral"]["reason"]
    assert rules["prator-message"]["engine"] == "durable_rules"
