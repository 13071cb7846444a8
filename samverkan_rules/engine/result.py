"""The result of one evaluation: :class:`Evaluation`, built over the engine's compact ledgers.

The per-case records (:mod:`samverkan_rules.records`) are built from the ledgers only when
asked for, so an evaluation that is only counted or written as JSON never builds them.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from samverkan_rules._json import dumps
from samverkan_rules.compile.routine import obligation_text
from samverkan_rules.engine.output import CaseLedger, OutputCache, case_dict, case_result
from samverkan_rules.records import (
    CaseResult,
    DiagnosticRecord,
    Obligation,
    QueueResult,
    RoutineStamp,
    RuleText,
    diagnostic_fields,
    to_builtins,
)
from samverkan_rules.status import STATUSES

if TYPE_CHECKING:
    from samverkan_rules.diagnostics import Diagnostic
    from samverkan_rules.i18n import Translator


class Evaluation:
    """The result of evaluating events against routines at one instant.

    It holds the evaluation's compact ledger; the per-case objects (:attr:`cases`) and the
    JSON (:meth:`to_json`) are built from it when first asked for, so an evaluation that is
    only counted or written as JSON never builds an object per obligation. Immutable once
    built and safe to share between threads.

    Attributes:
        as_of: The instant evaluated at, RFC 3339 with its local offset.
        routines: The routine versions evaluated, with the hash of their text.
        summary: Counts by status over every case, plus 'events' and 'cases'.
        queues: Each routine version's queues (order at as_of, offers).
    """

    __slots__ = (
        "_cache",
        "_cases",
        "_diagnostics",
        "_ledgers",
        "_raw_diagnostics",
        "_routines",
        "_stamps",
        "as_of",
        "queues",
        "summary",
    )

    def __init__(
        self,
        *,
        as_of: str,
        routines: Sequence[Mapping[str, Any]],
        ledgers: Sequence[CaseLedger],
        diagnostics: Sequence[Diagnostic],
        summary: dict[str, int],
        queues: list[QueueResult],
    ) -> None:
        """An evaluation over the compact ledger of each case, as the evaluator leaves them
        (see :mod:`samverkan_rules.engine`); ``routines`` are the evaluator's stamps."""
        self.as_of = as_of
        self._stamps = routines
        self._routines: list[RoutineStamp] | None = None
        self.summary = summary
        self.queues = queues
        self._cases: list[CaseResult] | None = None
        self._ledgers = ledgers
        self._diagnostics: list[DiagnosticRecord] | None = None
        self._raw_diagnostics = diagnostics
        self._cache = OutputCache()

    def in_language(self, t: Translator) -> Evaluation:
        """The same evaluation, its explanations and traces written in the language of ``t``
        (the default is Swedish; see :func:`samverkan_rules.i18n.translator`)."""
        if not self._ledgers:
            return self
        other = copy.copy(self)
        other._cases = None
        other._cache = self._cache.like(t)
        return other

    def with_output(self, *, ledger: bool = False, trace: bool = False) -> Evaluation:
        """The same evaluation, writing more than its actions: with ``ledger`` each case's
        full ledger (fulfilled and cancelled obligations too, ``CaseResult.obligations``),
        with ``trace`` each obligation's trace (the calendar steps of its deadline). Both
        cost time and bytes in proportion to the history, so they are off by default."""
        other = copy.copy(self)
        other._cases = None
        other._cache = OutputCache(self._cache.t, ledger=ledger, trace=trace)
        return other

    def rule_text(self, o: Obligation) -> RuleText:
        """The text ``o`` carries from its rule (title, source, interpretation, content),
        written once per routine version (``RoutineStamp.rules``): a remedy has its
        precondition's, an escalation is titled after its rule.

        Raises:
            KeyError: when no routine version of this evaluation has the rule of ``o``.
        """
        for stamp in self._stamps:
            if stamp["id"] == o.routine.id and stamp["version"] == o.routine.version:
                found = obligation_text(
                    stamp, o.rule, escalation=o.escalates is not None, t=self._cache.t
                )
                if found is not None:
                    return RuleText.from_json(found)
        raise KeyError(f"{o.routine.id} {o.routine.version} {o.rule}")

    def only_cases(self, case_ids: Collection[str], *, events: int) -> Evaluation:
        """This evaluation as if ``case_ids`` were its only cases: their ledgers (none for
        a case without events), every diagnostic, no queues (they are over all cases), and
        a summary counted over those cases, ``events`` being their number of events."""
        wanted = set(case_ids)
        mine = [ledger for ledger in self._ledgers if ledger.case in wanted]
        summary: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for ledger in mine:
            for entry in ledger.obligations:
                summary[entry.status] += 1
        summary["events"] = events
        summary["cases"] = len(mine)
        other = copy.copy(self)
        other.summary = summary
        other.queues = []
        other._cases = None
        other._ledgers = mine
        other._cache = self._cache.like()
        return other

    @property
    def routines(self) -> list[RoutineStamp]:
        """The routine versions evaluated, with the hash of their text and each rule's text
        (built on first access: evaluating does not pay for records nobody reads)."""
        if self._routines is None:
            self._routines = [_stamp(r) for r in self._stamps]
        return self._routines

    @property
    def cases(self) -> list[CaseResult]:
        """Everything found per case, case by case (built on first access)."""
        if self._cases is None:
            self._cases = [case_result(ledger, self._cache) for ledger in self._ledgers]
        return self._cases

    @property
    def findings(self) -> tuple[Diagnostic, ...]:
        """The same findings as :attr:`diagnostics`, as located :class:`Diagnostic` objects
        whose message and hint can be written in any language (:meth:`Diagnostic.format`
        with a translator); :attr:`diagnostics` has them in English, as made."""
        return tuple(self._raw_diagnostics)

    @property
    def diagnostics(self) -> list[DiagnosticRecord]:
        """Findings about the input: events rejected, routines out of force, ..."""
        if self._diagnostics is None:
            self._diagnostics = [
                DiagnosticRecord(**diagnostic_fields(d)) for d in self._raw_diagnostics
            ]
        return self._diagnostics

    def case(self, case_id: str) -> CaseResult:
        """The result for one case (KeyError when the case had no events)."""
        if self._cases is None:
            for ledger in self._ledgers:
                if ledger.case == case_id:
                    return case_result(ledger, self._cache)
            raise KeyError(case_id)
        for c in self._cases:
            if c.case == case_id:
                return c
        raise KeyError(case_id)

    def obligation_ids(self) -> list[str]:
        """Every obligation id of every case's full ledger, sorted (built from the ledgers,
        without writing any obligation)."""
        return sorted({entry.id for ledger in self._ledgers for entry in ledger.obligations})

    @property
    def actions(self) -> list[Obligation]:
        """Every case's actions, case by case."""
        return [a for c in self.cases for a in c.actions]

    def case_dicts(self) -> Iterator[dict[str, Any]]:
        """Each case in JSON form (``{"case", "actions"}``, and ``"obligations"`` when asked
        for with :meth:`with_output`), one at a time."""
        for ledger in self._ledgers:
            yield case_dict(ledger, self._cache)

    def to_dict(self) -> dict[str, Any]:
        """The whole evaluation as plain JSON data (the public contract)."""
        return {
            "as_of": self.as_of,
            "routines": [to_builtins(r) for r in self.routines],
            "cases": list(self.case_dicts()),
            "diagnostics": [diagnostic_fields(d) for d in self._raw_diagnostics]
            if self._diagnostics is None
            else [to_builtins(d) for d in self._diagnostics],
            "summary": self.summary,
            "queues": [to_builtins(q) for q in self.queues],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The JSON text: byte-identical for the same inputs, whatever their order."""
        return dumps(self.to_dict(), indent=indent)

    def __repr__(self) -> str:
        return f"Evaluation(as_of={self.as_of!r}, summary={self.summary!r})"


def find_obligations(result: Evaluation, wanted: list[str]) -> tuple[list[Obligation], list[str]]:
    """The obligations of ``result`` named by ``wanted`` (in that order), and the unknown ids.

    Every case's full ledger is searched; an id asked for twice is explained once. The
    obligations found carry their traces.
    """
    by_id: dict[str, list[Obligation]] = {}
    for case in result.with_output(ledger=True, trace=True).cases:
        for o in case.obligations or ():
            by_id.setdefault(o.obligation, []).append(o)
    found: list[Obligation] = []
    unknown: list[str] = []
    for name in dict.fromkeys(wanted):
        if name in by_id:
            found.extend(by_id[name])
        else:
            unknown.append(name)
    return found, unknown


def _stamp(r: Mapping[str, Any]) -> RoutineStamp:
    """A routine version's stamp, its texts as records."""
    fields = dict(r)
    fields["rules"] = {k: RuleText.from_json(v) for k, v in r.get("rules", {}).items()}
    fields["preconditions"] = {
        k: RuleText.from_json(v) for k, v in r.get("preconditions", {}).items()
    }
    return RoutineStamp(**fields)
