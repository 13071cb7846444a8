"""A typed client generated from ``/openapi.json`` by a maintained generator
(openapi-python-client, from PyPI) works against a real ``samverkan serve``: it type-checks,
it refuses at type-check time what the service would refuse, and it posts an event and
reads the case's evaluation back as typed records."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.serve.support import TOKEN, Service
from tests.support import ROUTINES

pytest.importorskip("starlette", reason="the 'serve' extra (starlette, uvicorn) is not installed")
pytest.importorskip(
    "openapi_python_client", reason="openapi-python-client (extra 'dev') is not installed"
)

RID = "orebro-dagverksamhet-hemvard"
PACKAGE = "samverkan_client"

USE = f"""
from datetime import datetime

from {PACKAGE} import AuthenticatedClient
from {PACKAGE}.api.default import case_due, post_events
from {PACKAGE}.models import (
    EvaluationDocument,
    EventDataOrebroDagverksamhetHemvardConsentGiven as ConsentData,
    EventDataOrebroDagverksamhetHemvardConsentGivenFormType0 as Form,
    Posted,
    PostedEventOrebroDagverksamhetHemvardConsentGiven as Consent,
    RoutineId,
)


def post_and_read(url: str, token: str, case: str, at: datetime) -> EvaluationDocument:
    client = AuthenticatedClient(base_url=url, token=token)
    event = Consent(id=case + "-1", type_="consent.given", at=at, data=ConsentData(form=Form.ORAL))
    routine = RoutineId.OREBRO_DAGVERKSAMHET_HEMVARD
    posted = post_events.sync(routine, case, client=client, body=event)
    assert isinstance(posted, Posted), posted
    assert posted.accepted == 1
    due = case_due.sync(routine, case, client=client)
    assert isinstance(due, EvaluationDocument), due
    return due
"""

MISUSE = f"""
from datetime import datetime, timezone

from {PACKAGE} import AuthenticatedClient
from {PACKAGE}.api.default import case_due
from {PACKAGE}.models import (
    EventDataOrebroDagverksamhetHemvardConsentGiven as ConsentData,
    PostedEventOrebroDagverksamhetHemvardConsentGiven as Consent,
)

client = AuthenticatedClient(base_url="http://127.0.0.1:1", token="t")
case_due.sync("no-such-routine", "c1", client=client, ledger="yes")
at = datetime.now(timezone.utc)
Consent(id="x", type_="consent.withdrawn", at=at, data=ConsentData(form="on paper"))
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    # Every routine: the client has a class for each event type of every vocabulary.
    s = Service(tmp_path_factory.mktemp("client"), routines=ROUTINES, store="stores")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def generated(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding the client generated from the running service's document."""
    root = tmp_path_factory.mktemp("generated")
    spec = root / "openapi.json"
    spec.write_text(json.dumps(service.client.get("/openapi.json").json()), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(root / PACKAGE),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The one part it leaves out: a JSON Lines answer, which it cannot parse.
    said = done.stdout + done.stderr
    assert "application/x-ndjson" in said
    assert said.count("WARNING") == 1 and "ERROR" not in said, said
    (root / "use.py").write_text(USE, encoding="utf-8")
    (root / "misuse.py").write_text(MISUSE, encoding="utf-8")
    return root


def _mypy(root: Path, file: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            # The generated package's own findings are the generator's; the call's are ours.
            "--follow-imports=silent",
            file,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=root,
    )


def test_a_call_through_the_generated_client_type_checks(generated: Path) -> None:
    pytest.importorskip("mypy", reason="mypy (extra 'dev') is not installed")
    good = _mypy(generated, "use.py")
    assert good.returncode == 0, good.stdout
    # The types are real: a routine that is not served, a flag that is not a bool, another
    # type under a type's class and a value its enum field does not have all fail.
    bad = _mypy(generated, "misuse.py")
    assert bad.returncode == 1, bad.stdout
    found = bad.stdout.lower()
    assert 'argument 1 to "sync" has incompatible type "str"' in found
    assert '"ledger"' in found
    assert '"type_"' in found and "consent.withdrawn" in found
    assert '"form"' in found


def test_the_generated_client_posts_an_event_and_reads_the_evaluation(
    service: Service, generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(generated))
    try:
        use: Any = __import__("use")
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        due = use.post_and_read(service.url, TOKEN, "client-1", at)
    finally:
        for name in [m for m in sys.modules if m == "use" or m.split(".")[0] == PACKAGE]:
            del sys.modules[name]
    (case,) = due.cases
    assert case.case == "client-1"
    assert [a.obligation for a in case.actions] == [
        a["obligation"]
        for a in service.client.get(f"/routines/{RID}/cases/client-1/due").json()["cases"][0][
            "actions"
        ]
    ]
    assert case.actions, "a consent raises an obligation to record it"
    assert due.routines[0].id == RID
