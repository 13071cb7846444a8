"""Events grouped by case: what every history reader gives the evaluation.

A history is read one case at a time, so memory is bounded by the largest case. Two sources
implement :class:`CaseSource`: the file index (:class:`~samverkan_rules.events.index.
IndexedEvents`, a JSON Lines or CSV file read back case by case through the offsets of its
lines) and the audit's DuckDB staging (:class:`~samverkan_rules.audit.reader.Staging`,
many files in several formats, sorted and spilled to disk); the audit's Parquet partitions
give the same :data:`CaseStream` on a Dask worker. The engine and the audit take the stream
and never ask where it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, TypeAlias

from samverkan_rules.events.model import Event

CaseStream: TypeAlias = Iterable[tuple[str, Sequence[Event]]]
"""``(case id, that case's events in (instant, id) order)`` for one case after another."""


class CaseSource(Protocol):
    """A history that reads back one case at a time."""

    def cases(self) -> Iterator[tuple[str, list[Event]]]:
        """Each case with its events, one case at a time, in case order."""
        ...
