"""The service's metrics in Prometheus' text format (``GET /metrics``, with the token).

A registry of the application's own (no process-wide state), holding:

- ``samverkan_http_requests_total{method, route, status}`` and
  ``samverkan_http_request_seconds{route}``: every request, named by its route template
  (never by its path, which may hold a case id);
- ``samverkan_obligations{routine, status}``: the obligations standing in each status, as the
  service last reported them (by a post or its clock);
- ``samverkan_events{routine}`` and ``samverkan_cases{routine}``: what each routine holds;
- ``samverkan_next_change_seconds{routine}``: how far off the next change by time alone is;
- ``samverkan_listing_batches_total{judged}``: the batches of listings judged by the judging
  process (``judged="process"``) and in the service's process (``"here"``: a listing's first
  batches, and every batch while the judging process cannot be used; see
  :mod:`samverkan_rules.serve.judging`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from samverkan_rules.live.routed import RoutineSessions
from samverkan_rules.serve.judging import JudgingProcess

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Sessions(Collector):
    """Figures read from the routines' sessions at each scrape."""

    def __init__(self, sessions: RoutineSessions, clock: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        obligations = GaugeMetricFamily(
            "samverkan_obligations",
            "Obligations in each status, as last reported",
            labels=["routine", "status"],
        )
        events = GaugeMetricFamily("samverkan_events", "Events held", labels=["routine"])
        cases = GaugeMetricFamily("samverkan_cases", "Cases held", labels=["routine"])
        upcoming = GaugeMetricFamily(
            "samverkan_next_change_seconds",
            "Seconds to the next change by time alone (negative: overdue for the clock)",
            labels=["routine"],
        )
        now = self.clock()
        for routine in self.sessions.ids():
            session = self.sessions.session(routine)
            for status, count in sorted(session.status_counts().items()):
                obligations.add_metric([routine, status], count)
            described = session.describe()
            events.add_metric([routine], described["events"])
            cases.add_metric([routine], described["cases"])
            soonest = session.next_change()
            if soonest is not None:
                upcoming.add_metric([routine], (soonest - now).total_seconds())
        yield from (obligations, events, cases, upcoming)


class _Listings(Collector):
    """Where the batches of listings were judged, read from the judging process."""

    def __init__(self, judging: JudgingProcess) -> None:
        self.judging = judging

    def collect(self) -> Iterator[CounterMetricFamily]:
        batches = CounterMetricFamily(
            "samverkan_listing_batches",
            "Batches of listings judged, by where",
            labels=["judged"],
        )
        batches.add_metric(["process"], self.judging.judged_there)
        batches.add_metric(["here"], self.judging.judged_here)
        yield batches


class Metrics:
    """The service's registry and the request figures it records."""

    def __init__(
        self,
        sessions: RoutineSessions,
        clock: Callable[[], datetime],
        judging: JudgingProcess | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "samverkan_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "samverkan_http_request_seconds",
            "HTTP request duration by route template",
            ["route"],
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.registry.register(_Sessions(sessions, clock))
        if judging is not None:
            self.registry.register(_Listings(judging))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one request."""
        self.requests.labels(method, route, str(status)).inc()
        self.seconds.labels(route).observe(seconds)

    def text(self) -> bytes:
        """The registry in Prometheus' text format."""
        return bytes(generate_latest(self.registry))
