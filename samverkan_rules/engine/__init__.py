"""The reference evaluator: events in, obligations and actions out.

:func:`evaluate` is a pure function. It orders events by (instant, id), replays each case
through every routine version in force, and reports every obligation's status at
``as_of``. The same inputs give the same JSON, byte for byte, in any input order.

Only events at or before ``as_of`` count: evaluating "as of" a past instant shows what was
known then. Events after it are reported in a diagnostic, not silently dropped.

The evaluator keeps a compact ledger (:mod:`~samverkan_rules.engine.ledger`); the public
output objects and JSON (:mod:`~samverkan_rules.engine.output`) are built only when asked
for. :func:`evaluate_cases` evaluates a stream of cases one at a time, so memory is bounded
by the largest case rather than the whole history.

Submodules: ``ledger`` (compact records), ``replay`` (matching by index), ``output``
(public objects and JSON built on demand), ``queues`` (order of service across cases),
``evaluator`` (one run, case by case).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.engine.evaluator import Evaluator, Ruleset
from samverkan_rules.engine.output import CaseLedger
from samverkan_rules.engine.result import Evaluation
from samverkan_rules.events.model import Event, EventBatch, deduplicate, events_from_records
from samverkan_rules.events.source import CaseSource, CaseStream

__all__ = ["CaseLedger", "Evaluator", "Ruleset", "evaluate", "evaluate_cases", "evaluate_source"]


def _prepare(
    events: Iterable[Event | Mapping[str, Any]] | EventBatch,
) -> tuple[list[Event], list[Diagnostic]]:
    if isinstance(events, EventBatch):
        return list(events.events), list(events.diagnostics)
    items = list(events)
    if all(isinstance(e, Event) for e in items):
        return deduplicate(e for e in items if isinstance(e, Event))
    records = [e.to_json() if isinstance(e, Event) else e for e in items]
    batch = events_from_records(records)
    return list(batch.events), list(batch.diagnostics)


def evaluate(
    ruleset: Ruleset,
    events: Iterable[Event | Mapping[str, Any]] | EventBatch,
    as_of: datetime,
    *,
    cases: Iterable[str] | None = None,
    ledger: bool = False,
    trace: bool = False,
) -> Evaluation:
    """Evaluate events against one or more compiled routines at ``as_of``.

    Args:
        ruleset: A compiled routine, or several (e.g. every version of a routine: each
            obligation is judged by the version in force when its trigger happened).
        events: Events, event mappings, or an :class:`EventBatch` from a file (its
            diagnostics are carried into the result).
        as_of: The instant to evaluate at; must carry a UTC offset.
        cases: When given, only these cases are evaluated; events of other cases are
            reported as ``event.unknown-case`` warnings.
        ledger: Also write each case's full ledger (``CaseResult.obligations``: fulfilled
            and cancelled obligations too); by default only the actions.
        trace: Write each obligation's trace (the calendar steps of its deadline).

    Returns:
        The actions per case (and the full ledger when asked for), with diagnostics. Pure:
        the same inputs give the same output, whatever the order of ``events``. The output
        objects and the JSON are built from a compact ledger when first asked for; each
        rule's text is in the routine stamps (``Evaluation.rule_text``), once per rule.

    Raises:
        EvaluationError: for a naive ``as_of`` or an empty ruleset.

    Examples:
        >>> from samverkan_rules import load_routine
        >>> routine = load_routine("routines/orebro-dagverksamhet-hemvard.yaml")
        >>> events = [
        ...   {"id": "e1", "case": "c1", "type": "consent.given",
        ...    "at": "2026-12-01T09:00:00+01:00", "data": {"form": "written"}},
        ...   {"id": "e2", "case": "c1", "type": "dagverksamhet.start_planned",
        ...    "at": "2026-12-01T10:00:00+01:00",
        ...    "data": {"start_date": "2026-12-28", "form": "dagrehab"}}]
        >>> result = evaluate(routine, events, datetime.fromisoformat("2026-12-15T12:00:00+01:00"))
        >>> [(a.rule, a.deadline) for a in result.case("c1").actions if a.rule == "start-message"]
        [('start-message', '2026-12-22T23:59:59+01:00')]
    """
    run = Evaluator(ruleset, as_of, cases=cases)
    prepared, diagnostics = _prepare(events)
    run.diagnostics.extend(diagnostics)
    by_case = run.admit_all(prepared)
    ledgers = [run.evaluate_case(case_id, by_case.pop(case_id)) for case_id in sorted(by_case)]
    queues, diagnostics = run.finish()
    head = run.header()
    result = Evaluation(
        as_of=head["as_of"],
        routines=head["routines"],
        ledgers=ledgers,
        diagnostics=diagnostics,
        summary=run.summary,
        queues=queues,
    )
    return result.with_output(ledger=ledger, trace=trace) if ledger or trace else result


def evaluate_cases(run: Evaluator, cases: CaseStream) -> Iterator[CaseLedger]:
    """Evaluate a stream of cases with a prepared :class:`Evaluator`, one at a time.

    Each item of ``cases`` is ``(case id, that case's admitted events)``; each result is
    yielded before the next case is read, so memory is bounded by the largest case. Call
    :meth:`Evaluator.finish` after the stream for the diagnostics, summary and queues.
    """
    for case_id, events in cases:
        yield run.evaluate_case(case_id, events)


def evaluate_source(run: Evaluator, source: CaseSource) -> Iterator[CaseLedger]:
    """:func:`evaluate_cases` over a history read one case at a time (an indexed event file,
    or the audit's staging): the engine takes any :class:`~samverkan_rules.events.source.
    CaseSource` and never asks where the events came from."""
    return evaluate_cases(run, source.cases())
