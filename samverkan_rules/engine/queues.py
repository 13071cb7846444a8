"""Queues: the order in which cases are offered a place, checked over all cases.

A queue is a priority between cases, not an act with a deadline: join events put a case in
line with a priority (a better priority later keeps the original join time), leave events
take it out, and every offer event is checked against who was first in line at that
instant (priority, then join time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.compile.rules import CompiledQueue
from samverkan_rules.compile.versions import Window
from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.events.model import Event
from samverkan_rules.records import QueueEntry, QueueOffer, QueueResult, RoutineRef
from samverkan_rules.time.instants import format_local_minute, local_date, local_stamp


def queue_types(routines: Iterable[CompiledRoutine]) -> frozenset[str]:
    """The event types that join, leave or offer in any queue of the routines."""
    out: set[str] = set()
    for routine in routines:
        for queue in routine.queues.values():
            out.update(queue.joins, queue.leaves, queue.offers)
    return frozenset(out)


@dataclass(slots=True)
class _Queued:
    """A case's place in a queue while the events are replayed."""

    priority: int
    since: datetime
    join: str
    label: str

    @property
    def key(self) -> tuple[int, datetime, str]:
        return (self.priority, self.since, self.join)


def _queue_result(
    routine: CompiledRoutine,
    window: Window,
    queue: CompiledQueue,
    events: Sequence[Event],
    problems: list[Diagnostic],
) -> QueueResult:
    """Replay ``events`` (sorted by (instant, id)) through one queue of one version.

    For each event: its join (if any) first, then its offer, then its leave, so an event
    that both offers and removes is judged against the queue it finds.
    """
    tz = routine.tz
    queued: dict[str, _Queued] = {}
    offers: list[QueueOffer] = []
    for event in events:
        in_force = window.contains(local_date(event.at, tz))
        join = queue.join(event) if in_force else None
        if join is not None:
            current = queued.get(event.case)
            if current is None:
                queued[event.case] = _Queued(join.priority, event.at, event.id, join.label)
            elif join.priority < current.priority:
                current.priority, current.label = join.priority, join.label
        if in_force and queue.offers_on(event):
            first = min(queued.items(), key=lambda kv: (kv[1].key, kv[0]), default=None)
            in_order = first is not None and first[0] == event.case
            offers.append(
                QueueOffer(
                    event=event.id,
                    case=event.case,
                    at=local_stamp(event.at, tz),
                    in_order=in_order,
                    first=first[0] if first is not None else None,
                )
            )
            if not in_order:
                problems.append(_out_of_order(routine, queue, event, first, event.case in queued))
        if queue.leaves_on(event):
            queued.pop(event.case, None)
    order = sorted(queued.items(), key=lambda kv: (kv[1].key, kv[0]))
    return QueueResult(
        queue=queue.name,
        routine=RoutineRef(id=routine.id, version=routine.version),
        label=queue.label,
        order=[
            QueueEntry(
                case=case,
                priority=q.priority,
                label=q.label,
                since=local_stamp(q.since, tz),
            )
            for case, q in order
        ],
        offers=offers,
    )


def _out_of_order(
    routine: CompiledRoutine,
    queue: CompiledQueue,
    offer: Event,
    first: tuple[str, _Queued] | None,
    queued: bool,
) -> Diagnostic:
    where = f"queue {queue.name} ({queue.label}) of routine {routine.id} {routine.version}"
    when = format_local_minute(offer.at, routine.tz)
    whom = f"offer {offer.id} on {when} went to case {offer.case!r}"
    if not queued:
        whom += ", which was not in the queue"
    if first is None:
        tail = "; the queue was empty"
        hint = "put the case in the queue (e.g. record its decision) before offering it a place"
    else:
        case, q = first
        tail = (
            f", but case {case!r} was first in line ({q.label}, priority {q.priority}, "
            f"queued since {format_local_minute(q.since, routine.tz)})"
        )
        hint = f"offer the place to case {case!r} first, or record why the order was departed from"
    return Diagnostic(
        "warning",
        "queue.out-of-order",
        f"{where}: {whom}{tail}",
        file=offer.file,
        line=offer.line,
        hint=hint,
    )


def queue_results(
    routines: tuple[CompiledRoutine, ...],
    windows: Mapping[tuple[str, str], Window],
    events: Sequence[Event],
    problems: list[Diagnostic],
) -> list[QueueResult]:
    """Every routine version's queues, replayed over all cases' events."""
    if not any(r.queues for r in routines):
        return []
    ordered = sorted(events, key=lambda e: e.order_key)
    out: list[QueueResult] = []
    for routine in sorted(routines, key=lambda r: (r.id, r.version)):
        window = windows[(routine.id, routine.version)]
        for name in sorted(routine.queues):
            out.append(_queue_result(routine, window, routine.queues[name], ordered, problems))
    return out
