"""What a live session keeps between posts to judge a case again cheaply: each person's
case's replay, and the cut of a case's events at an instant."""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime

from samverkan_rules.engine import Evaluator
from samverkan_rules.engine.output import CaseLedger
from samverkan_rules.engine.replay import CasePlan, CaseReplay
from samverkan_rules.engine.settling import Moved, Settling, resume
from samverkan_rules.errors import CalendarError, EvaluationError
from samverkan_rules.events.model import Event
from samverkan_rules.time.instants import require_aware


class KeptReplays:
    """Each person's case's replay, kept between posts: new events that sort after those it
    has seen are fed to it and only the statuses are settled again, so a post costs what its
    event costs, not the whole case. A replay is started afresh when an event sorts earlier
    or the occurrences called off have changed (it placed its deadlines with those).

    At most ``limit`` replays are kept: beyond it the least recently judged case's replay is
    let go, and that case is replayed afresh from its events when it is next judged (the
    same ledger, at the cost of its whole history once). A replay holds about 6 KB for a
    case of five events, so the limit bounds what a service with many quiet cases keeps.

    Args:
        plan: The routines' plan.
        limit: The most replays kept (None: every case's).
    """

    def __init__(self, plan: CasePlan, limit: int | None = None) -> None:
        if limit is not None and limit < 0:
            raise ValueError("limit must not be negative")
        self._plan = plan
        self._limit = limit
        self._replays: OrderedDict[str, CaseReplay] = OrderedDict()
        self._calls_off: dict[str, tuple[str, ...]] = {}
        self._settling: dict[str, Settling] = {}

    def __len__(self) -> int:
        return len(self._replays)

    def ledger(
        self,
        case: str,
        own: Sequence[Event],
        run: Evaluator,
        calls_off: tuple[str, ...],
        *,
        whole: bool = False,
        retracted: bool = False,
    ) -> CaseLedger | Moved:
        """The case's ledger with ``own`` (its events, sorted, none retracted) judged by
        ``run``; ``calls_off`` names the events calling off occurrences by then. After a
        replay's first settle, what may have moved since the last (see
        :mod:`samverkan_rules.engine.settling`), unless ``whole``. ``retracted`` says that
        some of the case's events were retracted (left out of ``own``)."""
        replay = self._replays.get(case)
        seen = len(replay.fed) if replay is not None else 0
        if (
            replay is None
            or seen > len(own)
            or not _begins_with(own, replay.fed, retracted)
            or (seen < len(own) and replay.last is not None and own[seen].order_key < replay.last)
            or self._calls_off.get(case, ()) != calls_off
        ):
            replay = CaseReplay(self._plan, case, [], {}, called_off=run.called_off)
            self._replays[case] = replay
            self._calls_off[case] = calls_off
            self._settling[case] = Settling()
            seen = 0
        self._replays.move_to_end(case)
        ledger = resume(run, replay, self._settling[case], list(own[seen:]))
        if whole and isinstance(ledger, Moved):
            ledger = ledger.whole()
        while self._limit is not None and len(self._replays) > self._limit:
            gone, _ = self._replays.popitem(last=False)
            self._calls_off.pop(gone, None)
            self._settling.pop(gone, None)
        return ledger

    def drop(self, case: str) -> None:
        """Forget a case's replay (it has no events left, or was erased)."""
        self._replays.pop(case, None)
        self._calls_off.pop(case, None)
        self._settling.pop(case, None)

    def clear(self) -> None:
        """Forget every replay."""
        self._replays.clear()
        self._calls_off.clear()
        self._settling.clear()


def _begins_with(own: Sequence[Event], fed: list[Event], retracted: bool) -> bool:
    """Whether ``own`` begins with the events ``fed`` (both sorted, ``own`` no shorter).

    Events are only added to a case's list, so while none is left out (retracted) every fed
    event is in ``own``, and ``own`` begins with them exactly when its last fed event
    stands where it stood: one look, not one per event of a long case."""
    if not fed:
        return True
    if retracted:
        return list(own[: len(fed)]) == fed
    return own[len(fed) - 1] is fed[-1]


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
