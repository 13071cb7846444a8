"""Live sessions: events one at a time, what changed back, on disk when asked.

:class:`Session` is the entry point for one routine, :class:`RoutineSessions` for several
(each case following the routine it is posted to); :class:`EventStore` keeps a session's
events in an append-only SQLite file. The durable_rules backend (``backend="durable"``) needs the
``live`` extra (Python < 3.13); nothing here imports durable_rules until it is asked for.
"""

from samverkan_rules.live.changelog import Change, Changes
from samverkan_rules.live.routed import RoutineSessions, UnknownRoutineError
from samverkan_rules.live.session import Backend, Session
from samverkan_rules.live.store import EventConflictError, EventStore

__all__ = [
    "Backend",
    "Change",
    "Changes",
    "EventConflictError",
    "EventStore",
    "RoutineSessions",
    "Session",
    "UnknownRoutineError",
]
