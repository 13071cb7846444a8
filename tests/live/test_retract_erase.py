"""A live session (either backend) with retractions and erasure: its answers equal
``evaluate`` over the same history, and an erased case is gone and refused."""

from __future__ import annotations

import importlib.util
from datetime import datetime

import pytest

from samverkan_rules import evaluate, load_routine
from samverkan_rules.errors import CaseErasedError
from samverkan_rules.live import Session
from tests.live.conftest import Stores
from tests.support import ROUTINES, event

OREBRO = load_routine(ROUTINES / "orebro-dagverksamhet-hemvard.yaml")
BACKENDS = ["reference", "durable"] if importlib.util.find_spec("durable") else ["reference"]
AS_OF = datetime.fromisoformat("2026-12-15T12:00:00+01:00")
CONSENT = event(id="e1", type="consent.given", at="2026-12-01T09:00:00+01:00", form="written")
START = event(
    id="e2",
    type="dagverksamhet.start_planned",
    at="2026-12-01T10:00:00+01:00",
    start_date="2026-12-28",
)
RETRACT_CONSENT = event(id="r1", type="event.retracted", at="2026-12-02T09:00:00+01:00", event="e1")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_retraction_posted_later_re_judges_the_case_as_evaluate_does(backend: str) -> None:
    history = [CONSENT, START, RETRACT_CONSENT]
    session = Session(OREBRO, backend=backend)  # type: ignore[arg-type]
    session.post([CONSENT, START])
    session.post(RETRACT_CONSENT)
    want = evaluate(OREBRO, history, AS_OF, ledger=True)
    assert session.due(AS_OF).with_output(ledger=True).to_json() == want.to_json()
    without = evaluate(OREBRO, [START], AS_OF, ledger=True)
    assert want.case("c1") == without.case("c1")


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_erased_case_is_gone_refused_and_taken_again_once_reopened(
    backend: str, stores: Stores
) -> None:
    other = event(id="o1", case="c2", type="consent.given", at="2026-12-01T09:00:00+01:00")
    with Session(OREBRO, store=stores.open(), backend=backend) as session:  # type: ignore[arg-type]
        session.post([CONSENT, START, other])
        assert session.erase("c1", AS_OF) == 2
        assert session.cases() == ["c2"]
        with pytest.raises(CaseErasedError, match="reopened"):
            session.post(CONSENT)
        want = evaluate(OREBRO, [other], AS_OF, ledger=True)
        assert session.due(AS_OF).with_output(ledger=True).to_json() == want.to_json()
    with Session(OREBRO, store=stores.open(), backend=backend) as session:  # type: ignore[arg-type]
        assert session.erased_at("c1") is not None and session.cases() == ["c2"]
        assert session.reopen("c1") and not session.reopen("c1")
        session.post(CONSENT)
        assert session.cases() == ["c1", "c2"]
