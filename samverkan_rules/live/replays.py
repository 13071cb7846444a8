"""What a live session keeps between posts to judge a case again cheaply: each person's
case's replay, and the cut of a case's events at an instant."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime

from samverkan_rules.engine import Evaluator
from samverkan_rules.engine.output import CaseLedger
from samverkan_rules.engine.replay import CasePlan, CaseReplay
from samverkan_rules.errors import CalendarError, EvaluationError
from samverkan_rules.events.model import Event
from samverkan_rules.time.instants import require_aware


class KeptReplays:
    """Each person's case's replay, kept between posts: new events that sort after those it
    has seen are fed to it and only the statuses are settled again, so a post costs what its
    event costs, not the whole case. A replay is started afresh when an event sorts earlier
    or the occurrences called off have changed (it placed its deadlines with those).

    Args:
        plan: The routines' plan.
    """

    def __init__(self, plan: CasePlan) -> None:
        self._plan = plan
        self._replays: dict[str, CaseReplay] = {}
        self._calls_off: dict[str, tuple[str, ...]] = {}

    def ledger(
        self, case: str, own: Sequence[Event], run: Evaluator, calls_off: tuple[str, ...]
    ) -> CaseLedger:
        """The case's ledger with ``own`` (its events, sorted, none retracted) judged by
        ``run``; ``calls_off`` names the events calling off occurrences by then."""
        replay = self._replays.get(case)
        seen = len(replay.fed) if replay is not None else 0
        if (
            replay is None
            or seen > len(own)
            or list(own[:seen]) != replay.fed
            or (seen < len(own) and replay.last is not None and own[seen].order_key < replay.last)
            or self._calls_off.get(case, ()) != calls_off
        ):
            replay = CaseReplay(self._plan, case, [], {}, called_off=run.called_off)
            self._replays[case] = replay
            self._calls_off[case] = calls_off
            seen = 0
        return run.resume_case(replay, list(own[seen:]))

    def drop(self, case: str) -> None:
        """Forget a case's replay (it has no events left, or was erased)."""
        self._replays.pop(case, None)
        self._calls_off.pop(case, None)

    def clear(self) -> None:
        """Forget every replay."""
        self._replays.clear()
        self._calls_off.clear()


def aware(moment: datetime) -> datetime:
    """``moment`` in UTC; an :class:`EvaluationError` when it is naive."""
    try:
        return require_aware(moment, "as_of").astimezone(UTC)
    except CalendarError as exc:
        raise EvaluationError(str(exc)) from None


def until(events: list[Event], as_of: datetime) -> list[Event]:
    """The events of a case (sorted by instant, then id) at or before ``as_of`` (UTC): a
    binary search, so a long case costs no comparison per event."""
    if not events or events[-1].utc <= as_of:
        return events
    return events[: bisect_right(events, as_of, key=lambda e: e.utc)]
