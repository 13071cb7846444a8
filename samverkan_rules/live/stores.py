"""What a live session needs of its store, whichever database holds it.

:class:`Store` is the interface :class:`~samverkan_rules.live.session.Session` works
against: the append-only events with per-case order, the tombstones of erased cases, the
numbered change log and the idempotent answers (:class:`~samverkan_rules.live.changelog.ChangeLog`),
and two methods for stores that several processes write at once:

- :meth:`Store.writing` holds the routine's write lock for a whole post (its events, what
  they changed and its change-log rows are committed together, after every other
  process's earlier post);
- :meth:`Store.catch_up` tells a process what other processes wrote since it last looked
  (:class:`Seen`), so a query on one replica answers with a post made on another.

Two implementations: :class:`~samverkan_rules.live.store.EventStore` (SQLite, one writer
process, the embedded default) and :class:`~samverkan_rules.live.postgres.PostgresStore`
(several replicas on one database; the ``postgres`` extra). :func:`is_database_url` tells
which one a ``--store`` names.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from samverkan_rules.events.model import Event
from samverkan_rules.live.changelog import ChangeLog, ChangeRow

DATABASE_SCHEMES = ("postgresql://", "postgres://")
"""How a ``--store`` that names a PostgreSQL database begins."""


def is_database_url(location: str) -> bool:
    """Whether ``location`` names a PostgreSQL database rather than a file or directory.

    Examples:
        >>> is_database_url("postgresql://samverkan@db.example.se/samverkan")
        True
        >>> is_database_url("stores/events.db")
        False
    """
    return location.startswith(DATABASE_SCHEMES)


@dataclass(slots=True)
class Seen:
    """How far a process has read a shared store: the routine's write counter and erasure
    counter, and the last event and change-log numbers it holds. ``version`` -1: nothing
    read yet."""

    version: int = -1
    epoch: int = 0
    events: int = 0
    changes: int = 0


@dataclass(frozen=True, slots=True)
class CatchUp:
    """What other processes wrote since a :class:`Seen`.

    Attributes:
        reload: A case was erased meanwhile: drop what is held and read everything again
            (``events`` and ``changes`` then hold the whole store).
        events: The new events, in the order they were stored.
        changes: The new change-log rows, in order.
    """

    reload: bool = False
    events: Sequence[Event] = ()
    changes: Sequence[ChangeRow] = field(default_factory=tuple)


class Store(ChangeLog, Protocol):
    """A live session's store: events, tombstones, change log and answers."""

    @property
    def location(self) -> str:
        """Where the store is, for logs and ``describe`` (never a password)."""
        ...

    def append(self, events: Sequence[Event], *, client: str | None = None) -> list[bool]:
        """Store events all or nothing; for each, True when new and False for a repeat.

        Raises:
            EventConflictError: for an id stored with other content.
        """
        ...

    def erase(self, case: str, at: datetime) -> int:
        """Remove the case's events and changes, leave its tombstone; how many events."""
        ...

    def erased_at(self, case: str) -> str | None:
        """When ``case`` was erased (RFC 3339), or None."""
        ...

    def reopen(self, case: str) -> bool:
        """Remove ``case``'s tombstone; True when it had one."""
        ...

    def events(self, case: str | None = None) -> Iterator[Event]:
        """Every stored event (or one case's), in the order they were stored."""
        ...

    def check(self) -> None:
        """Read the store once; raises when it cannot be read."""
        ...

    def version_digests(self) -> dict[tuple[str, str], str]:
        """The content digest kept of each routine version (routine id, version) that
        judged the store's events."""
        ...

    def keep_version_digests(self, digests: dict[tuple[str, str], str], at: datetime) -> None:
        """Keep the digest of each version not kept yet (a kept one stays as it is)."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...

    def writing(self, seen: Seen) -> AbstractContextManager[None]:
        """Hold the routine's write lock until the block ends, and commit everything
        written in it at once; ``seen`` is moved past what was written. A store only one
        process writes may make this a no-op."""
        ...

    def catch_up(self, seen: Seen) -> CatchUp | None:
        """What other processes wrote since ``seen``, with ``seen`` moved past it; None when
        nothing (always None for a store only one process writes). After an erasure
        (``reload``), the events are all those stored and the changes the latest row of
        each obligation that has not ended."""
        ...
