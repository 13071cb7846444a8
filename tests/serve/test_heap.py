"""The service's process sets its state aside from the cycle collector at start and each
time the events held have doubled, and a long listing gives way to posts."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Iterator

import pytest

from samverkan_rules.live import Session
from samverkan_rules.serve.heap import Heap
from samverkan_rules.serve.queries import give_way, in_chunks
from tests.live.test_session import CONSENT, OREBRO, START


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()  # the test process's collector as it was
    gc.set_threshold(*thresholds)


def test_the_heap_is_settled_at_start_and_when_the_events_held_have_doubled() -> None:
    held = [0]
    heap = Heap(lambda: held[0], floor=100)
    gc.unfreeze()
    assert heap.settle(now=True)
    assert gc.get_freeze_count() > 0, "everything alive was set aside"
    held[0] = 99
    assert not heap.settle(), "below the floor nothing is done"
    held[0] = 100
    assert heap.settle()
    held[0] = 199
    assert not heap.settle(), "not yet doubled since the last time"
    held[0] = 200
    assert heap.settle()


def test_an_hour_of_posts_brings_a_pass_and_taking_over_leaves_the_collector_the_young() -> None:
    held, now = [5000], [0.0]
    thresholds = gc.get_threshold()
    heap = Heap(lambda: held[0], every=3600.0, clock=lambda: now[0])
    heap.take_over()
    young, middle, full = gc.get_threshold()
    assert full >= 1_000_000 and (young, middle) == thresholds[:2]
    now[0] = 4000.0
    assert not heap.settle(), "an hour passed, but nothing was posted"
    held[0] = 5001
    assert heap.settle(), "an hour passed and the state grew"
    held[0] = 5002
    now[0] = 5000.0
    assert not heap.settle(), "not an hour since the last pass"


def test_a_cycle_made_before_a_settle_is_collected_by_it() -> None:
    class Node:
        other: object

    a, b = Node(), Node()
    a.other, b.other = b, a
    alive = [0]
    gone = threading.Event()
    weakref.finalize(a, gone.set)
    del a, b
    Heap(lambda: alive[0]).settle(now=True)
    assert gone.is_set(), "the full pass before the freeze reclaimed the cycle"


def test_a_listing_gives_way_while_a_post_waits_and_not_longer_than_it_may() -> None:
    with Session(OREBRO) as session:
        session.post(CONSENT)
        began = time.monotonic()
        give_way(session, most=5.0)
        assert time.monotonic() - began < 0.5, "no post: no wait"
        posted = threading.Event()
        with session._lock:  # a post now waits for the session
            poster = threading.Thread(target=lambda: (session.post(START), posted.set()))
            poster.start()
            while not session.writing:
                time.sleep(0.001)
            began = time.monotonic()
            give_way(session, most=0.2)
            waited = time.monotonic() - began
            assert 0.2 <= waited < 2.0, waited
        poster.join()
        assert posted.is_set() and session.writing == 0
        began = time.monotonic()
        give_way(session, most=5.0)
        assert time.monotonic() - began < 0.5


def test_lines_are_written_in_chunks_that_each_end_a_line() -> None:
    lines = [b'{"case":"c%d","note":"%s"}\n' % (n, b"x" * 50) for n in range(100)]
    chunks = list(in_chunks(lines, size=1000))
    assert len(chunks) > 3
    assert all(c.endswith(b"\n") for c in chunks)
    assert all(len(c) < 1000 + 100 for c in chunks)
    whole = b"".join(chunks).splitlines()
    assert len(whole) == 100 and whole[7] == b'{"case":"c7","note":"' + b"x" * 50 + b'"}'
    assert list(in_chunks([])) == []
