"""Scenario tests for routines, written in YAML by policy authors, and their pytest plugin.

A scenario file lives next to the routines, in ``routines/tests/<routine-id>/*.yaml``. It
names the routine it tests (a path relative to the scenario file) and lists scenarios: a
case's events, the instant to evaluate at, and what the evaluation must show. Its first line
points editors at the JSON Schema generated from the models below
(``schemas/scenario.schema.json``)::

    # yaml-language-server: $schema=../../../schemas/scenario.schema.json
    routine: ../../orebro-dagverksamhet-hemvard.yaml
    scenarios:
      - name: Start efter jul – meddelandet ska skickas senast 22 december
        as_of: 2026-12-15T12:00:00+01:00
        events:
          - {id: e1, case: c1, type: consent.given, at: "2026-12-01T09:00:00+01:00"}
        expect:
          actions:
            - {rule: start-message, status: due, deadline: "2026-12-22T23:59:59+01:00"}
          obligations:
            - {obligation: "start-message:e2", status: fulfilled}
          absent: [start-message-hemsjukvard]
          diagnostics: [event.unknown-type]

Expectations are partial: each key written must equal that field of the obligation's JSON
form (:class:`~samverkan_rules.records.Obligation`), nested mappings partially too.
Timestamps are compared as written, so write them with the local offset.

* ``actions``: the case's actions must be exactly these (as many, each entry matching its
  own action).
* ``obligations``: each entry must match at least one obligation of the ledger.
* ``absent``: rule ids that must raise no obligation.
* ``diagnostics``: codes that must be among the evaluation's diagnostics. An event the
  evaluation rejects or only partly understands (an ``event.*`` error or warning) fails the
  scenario unless its code is listed here, so a misspelt event cannot pass unnoticed.

A scenario may carry ``known_issue: <what is wrong>``: it documents a bug in the engine with
the expectation the routine's text requires. It is reported as a known issue while it fails
and fails as soon as it passes, so the marker is removed when the bug is fixed.

The same files run under ``samverkan test`` and under pytest: this module is a pytest plugin
(registered by the repository's root ``conftest.py``) that collects one test item per
scenario. The runner itself does not need pytest.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from samverkan_rules.errors import CalendarError, CompileError
from samverkan_rules.status import Status
from samverkan_rules.time.instants import parse_rfc3339

if TYPE_CHECKING:
    pass


YAML_SUFFIXES: Final = (".yaml", ".yml")


TESTS_DIR: Final = "tests"


Verdict = Literal["passed", "failed", "error", "known_issue", "fixed_issue"]


"""How a scenario came out: ``error`` means the scenario itself is wrong (e.g. it names a
rule the routine does not have); ``known_issue`` a scenario marked ``known_issue`` that still
fails; ``fixed_issue`` one that now passes (a failure: remove the marker)."""


_TIMESTAMP: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?[+-]\d{2}:\d{2}\Z")


class ScenarioError(CompileError):
    """A scenario file cannot be used: every problem is a located diagnostic."""


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        coerce_numbers_to_str=True,
        use_attribute_docstrings=True,
    )


def _aware(value: str) -> str:
    try:
        parse_rfc3339(value)
    except CalendarError as exc:
        raise ValueError(str(exc)) from None
    return value


def _as_written(value: str | None) -> str | None:
    """An expected timestamp must have the exact shape the evaluation writes."""
    if value is None:
        return None
    _aware(value)
    if not _TIMESTAMP.match(value):
        raise ValueError(
            f"write the timestamp as the evaluation does, e.g. 2026-12-22T23:59:59+01:00 "
            f"(with seconds and the local offset), got {value!r}"
        )
    return value


class ExpectedRoutineRef(_Model):
    """The routine an obligation comes from (any of its keys)."""

    id: str | None = None
    version: str | None = None


class ExpectedSource(_Model):
    """Where in the source document the rule comes from (any of its keys)."""

    document: str | None = None
    section: str | None = None
    quote: str | None = None


class ExpectedResponsibleParty(_Model):
    """Who a case fact names as responsible (any of its keys)."""

    fact: str | None = None
    value: Any = None
    fallback: bool | None = None
    """True while the fact is unset and the fallback role acts."""


class ExpectedAnchor(_Model):
    """What the deadline counts from (any of its keys), e.g. ``{at: "2026-12-28"}``."""

    path: str | None = None
    """'data.<field>' or 'schedule.<name>'."""
    label: str | None = None
    at: str | None = None
    """The date (quoted YYYY-MM-DD) or the local instant, as the evaluation writes it."""


class ExpectedLateness(_Model):
    """How late an obligation is (any of its keys), e.g. ``{days: 10}``."""

    working_days: int | None = None
    days: int | None = None
    """Calendar days from the deadline's local day."""
    hours: int | None = None
    """Whole hours elapsed since the deadline."""


class ExpectedInterpretation(_Model):
    """The rule's interpretation (any of its keys)."""

    reason: str | None = None
    text: str | None = None


class ExpectedEventRef(_Model):
    """An event an obligation refers to (any of its keys)."""

    event: str | None = None
    type: str | None = None
    at: str | None = None

    _at = field_validator("at")(_as_written)


class ExpectedObligation(_Model):
    """An expected obligation or action: only the keys written are compared.

    The keys are the fields of :class:`~samverkan_rules.records.Obligation`.
    """

    obligation: str | None = None
    """The obligation id, '<rule>:<trigger event id>' (remedies: '<precondition>:<case>:<role>')."""
    rule: str | None = None
    routine: ExpectedRoutineRef | None = None
    case: str | None = None
    kind: str | None = None
    """A built-in action kind or one the routine declares."""
    title: str | None = None
    responsible: str | None = None
    responsible_label: str | None = None
    responsible_party: ExpectedResponsibleParty | None = None
    recipients: list[str] | None = None
    channel: str | None = None
    status: Status | None = None
    opens_at: str | None = None
    deadline: str | None = None
    """RFC 3339 with the local offset, e.g. 2026-12-22T23:59:59+01:00."""
    anchor: ExpectedAnchor | None = None
    before: ExpectedEventRef | None = None
    """The event the obligation had to precede, when it cut the deadline."""
    occurrence: str | None = None
    content: list[str] | None = None
    source: ExpectedSource | None = None
    interpretation: ExpectedInterpretation | None = None
    explanation: str | None = None
    trigger: ExpectedEventRef | None = None
    fulfilled_by: ExpectedEventRef | None = None
    cancelled_by: ExpectedEventRef | None = None
    late_working_days: int | None = None
    late: ExpectedLateness | None = None
    """Lateness in each unit; write only the units to check, or null for not late."""
    blocked_by: list[str] | None = None
    unblocks: list[str] | None = None
    escalates: str | None = None
    trace: list[str] | None = None

    _times = field_validator("opens_at", "deadline")(_as_written)

    def expected(self) -> dict[str, Any]:
        """The keys the author wrote, as plain data to compare with ``Obligation.model_dump()``."""
        return self.model_dump(exclude_unset=True)


class ExpectedPeriodLength(_Model):
    """A period's length (any of its keys)."""

    days: int | None = None
    working_days: int | None = None
    hours: int | None = None


class ExpectedPeriod(_Model):
    """A period of the case (any of its keys), e.g. ``{period: betalningsansvar, open: true}``."""

    period: str | None = None
    label: str | None = None
    start: str | None = None
    end: str | None = None
    open: bool | None = None
    started_by_obligation: str | None = None
    length: ExpectedPeriodLength | None = None
    amount: float | None = None

    _times = field_validator("start", "end")(_as_written)

    def expected(self) -> dict[str, Any]:
        """The keys the author wrote."""
        return self.model_dump(exclude_unset=True)


class Expectations(_Model):
    """What the evaluation must show. At least one key is needed."""

    actions: list[ExpectedObligation] | None = None
    """Exactly the case's actions (an empty list: no action at all)."""
    obligations: list[ExpectedObligation] = Field(default_factory=list)
    """Each entry matches at least one obligation of the ledger; others may exist."""
    absent: list[str] = Field(default_factory=list)
    """Rule ids that must raise no obligation."""
    periods: list[ExpectedPeriod] = Field(default_factory=list)
    """Each entry matches at least one period of the case; others may exist."""
    diagnostics: list[str] = Field(default_factory=list)
    """Diagnostic codes that must appear, e.g. 'event.unknown-type'."""

    @model_validator(mode="after")
    def _something(self) -> Expectations:
        if not self.model_fields_set:
            raise ValueError("say what to expect: actions, obligations, absent or diagnostics")
        return self


class ScenarioEvent(_Model):
    """One event of a scenario, as in an event file."""

    id: str = Field(min_length=1)
    case: str = Field(min_length=1)
    type: str = Field(min_length=1)
    at: str
    """RFC 3339 with offset, e.g. 2026-12-01T09:00:00+01:00."""
    data: dict[str, Any] = Field(default_factory=dict)

    _at = field_validator("at")(_aware)


class ScenarioSpec(_Model):
    """One scenario: events, the instant to evaluate at, and what must come out."""

    name: str = Field(min_length=1)
    """Shown in test reports; unique within the file."""
    description: str | None = None
    known_issue: str | None = None
    """A known bug in the engine that makes this scenario fail; it is then reported as a
    known issue, and as a failure once it passes (remove the marker when it is fixed)."""
    as_of: str
    """The instant to evaluate at, RFC 3339 with offset."""
    case: str | None = None
    """The case whose actions are checked; default: every case's, pooled."""
    events: list[ScenarioEvent] = Field(default_factory=list)
    expect: Expectations

    _as_of = field_validator("as_of")(_aware)


class ScenarioFileSpec(_Model):
    """A scenario file: the routine it tests and its scenarios."""

    routine: str = Field(min_length=1)
    """The routine file, relative to the scenario file."""
    description: str | None = None
    scenarios: list[ScenarioSpec] = Field(min_length=1)


def _shown(path: str | os.PathLike[str]) -> str:
    """A path relative to the working directory when it lies inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)
