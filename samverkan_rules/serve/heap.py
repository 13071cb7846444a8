"""The service's long-lived state kept out of the cycle collector's full passes.

CPython's cycle collector walks every container object of its oldest generation on a full
pass, and stops every thread while it does. A service holding the events of thousands of
cases keeps hundreds of thousands of such objects (the events, their data, each case's
evaluation state), so a full pass stops every request for tens to hundreds of
milliseconds; they were the slowest posts of ``benchmarks/serve_bench.py``. That state
holds no reference cycle and is freed by reference counting, so the collector need not
walk it again and again. :class:`Heap` takes the full passes over: the collector's own
are left to its young generations only, and a full pass (reclaiming every cycle there is)
runs when the stores have been read at start, each time the events held have doubled
since, and at least once an hour while posts come; after it everything alive is moved to
the collector's permanent generation (:func:`gc.freeze`), which later passes skip. So a
full pass walks only what was made since the one before. An object moved there is still
freed when its last reference goes; only a reference cycle formed among such objects
later would stay, and the state forms none.

The service's process is the only owner of this setting: the library never touches the
collector.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable

FLOOR = 1_000
"""Below this many events held nothing is done after start (the state is small)."""

EVERY_SECONDS = 3600.0
"""The longest time between two full passes while posts come."""

RARE = 1_000_000
"""The collector's own threshold for full passes once a :class:`Heap` takes them over:
after this many collections of the middle generation, that is, in practice never."""


class Heap:
    """When the service's state gets a full pass and is set aside (see the module).

    Args:
        held: The number of events the service holds now (called after each post).
        floor: The fewest events held for which a pass on growth is worth it.
        every: The longest time, in seconds, between two passes while posts come.
        clock: Seconds from a monotonic clock.
    """

    def __init__(
        self,
        held: Callable[[], int],
        *,
        floor: int = FLOOR,
        every: float = EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._held = held
        self._floor = floor
        self._every = every
        self._clock = clock
        self._at = 0
        self._when = clock()
        self._lock = threading.Lock()

    def take_over(self) -> None:
        """Leave the collector's automatic passes to its young generations and run the
        first full pass now (the process's start, once the stores are read)."""
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, RARE)
        self.settle(now=True)

    def settle(self, *, now: bool = False) -> bool:
        """A full pass and a freeze when the events held have doubled since the last one,
        or ``every`` seconds have passed (or ``now``); whether it ran. Cheap when it does
        nothing: a count and a clock reading."""
        if not now and not self._due():
            return False
        with self._lock:
            if not now and not self._due():
                return False  # another thread just did
            gc.collect()
            gc.freeze()
            self._at = max(self._held(), 1)
            self._when = self._clock()
        return True

    def _due(self) -> bool:
        held = self._held()
        grown = held >= max(self._floor, 2 * self._at)
        return grown or (held > self._at and self._clock() - self._when >= self._every)
