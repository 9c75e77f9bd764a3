"""Prometheus metrics of the service (``GET /metrics``).

One process counts on a registry of its own.  With ``--workers N`` the workers share one socket, so
a scrape reaches whichever worker accepts it: each worker then counts in prometheus_client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, a directory ``triage serve`` makes for the run and
removes after it), and every scrape answers for all the workers together: counters and histograms
summed, ``triage_policy_loaded`` the least among the live workers (1 only if every one holds a valid
set).  The counts of a worker that stopped stay in the sums (replacing the workers resets no
counter); one that stops cleanly leaves the live workers' gauge, one that crashed leaves its last
``triage_policy_loaded`` behind.  Names:

* ``triage_decisions_total{priority}``: decisions made (single tickets and batch elements);
* ``triage_ticket_errors_total``: tickets answered with an error record;
* ``triage_request_duration_seconds{endpoint}``: request latency histogram;
* ``triage_http_errors_total{endpoint,status}``: responses with a 4xx or 5xx status;
* ``triage_reloads_total{result}``: policy reloads, ``success`` or ``failure``;
* ``triage_policy_loaded``: 1 while a valid policy set is loaded;
* ``triage_decision_log_dropped_total``: decision-log lines dropped because the writer fell behind.
"""
from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from .config import SHARED_METRICS_ENV

disable_created_metrics()  # no *_created series: they double the output and no dashboard reads them
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        # prometheus_client chose where values live when it was imported: in files if that was set
        self.shared = bool(os.environ.get(SHARED_METRICS_ENV))
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.decisions = Counter("triage_decisions", "Decisions made, by priority", ["priority"], registry=registry)
        self.ticket_errors = Counter("triage_ticket_errors", "Tickets answered with an error record",
                                     registry=registry)
        self.latency = Histogram("triage_request_duration_seconds", "Request latency", ["endpoint"],
                                 buckets=_BUCKETS, registry=registry)
        self.http_errors = Counter("triage_http_errors", "Responses with an error status", ["endpoint", "status"],
                                   registry=registry)
        self.reloads = Counter("triage_reloads", "Policy reloads", ["result"], registry=registry)
        self.loaded = Gauge("triage_policy_loaded", "1 while a valid policy set is loaded", registry=registry,
                            multiprocess_mode="livemin")
        self.log_dropped = Counter("triage_decision_log_dropped", "Decision-log lines dropped", registry=registry)
        self._priority = {}  # label children cached: .labels() costs more than .inc()
        self._latency = {}
        for result in ("success", "failure"):
            self.reloads.labels(result)

    def decided(self, priority: str, count: int = 1) -> None:
        child = self._priority.get(priority)
        if child is None:
            child = self._priority[priority] = self.decisions.labels(priority)
        child.inc(count)

    def observe(self, endpoint: str, seconds: float, status: int) -> None:
        child = self._latency.get(endpoint)
        if child is None:
            child = self._latency[endpoint] = self.latency.labels(endpoint)
        child.observe(seconds)
        if status >= 400:
            self.http_errors.labels(endpoint, str(status)).inc()

    def reloaded(self, ok: bool) -> None:
        self.reloads.labels("success" if ok else "failure").inc()

    def render(self) -> bytes:
        if not self.shared:
            return generate_latest(self.registry)
        from prometheus_client.multiprocess import MultiProcessCollector

        every_worker = CollectorRegistry()
        MultiProcessCollector(every_worker)  # reads every worker's files, this one's included
        return generate_latest(every_worker)

    def close(self) -> None:
        """This process stops: its live-only gauge leaves the shared figures (its counts stay)."""
        if self.shared:
            from prometheus_client.multiprocess import mark_process_dead

            mark_process_dead(os.getpid())
