"""Prometheus metrics of one node app, in a registry of its own.

Every app gets its own :class:`CollectorRegistry` (tests build many apps in one process,
and the global registry would refuse the second set of metrics). Requests are counted and
timed by a plain ASGI middleware (cheaper than Starlette's ``BaseHTTPMiddleware``) under
their route *template* (``/api/v1/tasks/{task_id}``), so the label cardinality stays
bounded whatever ids clients ask for. Chain sync and duty figures are read from the
workers' status records at scrape time: a scrape never makes an RPC.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node.app.runtime import NodeServices

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
UNMATCHED = "unmatched"


class _WorkerCollector(Collector):
    """Sync head, synced block and lag; ingest group commits; duty ticks and failures (from
    the workers' own counters)."""

    def __init__(self, services: NodeServices) -> None:
        self.services = services

    def collect(self) -> Iterable[Metric]:
        if self.services.sync is not None:
            status = self.services.sync.snapshot()
            head = GaugeMetricFamily("labelnet_sync_head_block", "Chain head at the last sync")
            synced = GaugeMetricFamily("labelnet_sync_block", "Last block the sync applied")
            lag = GaugeMetricFamily(
                "labelnet_sync_lag_blocks", "Confirmed blocks the sync has not applied yet"
            )
            failures = CounterMetricFamily(
                "labelnet_sync_failures", "Sync passes that failed (retried)"
            )
            if status.head is not None and status.last_block is not None:
                head.add_metric([], status.head)
                synced.add_metric([], status.last_block)
                confirmed = status.head - self.services.settings.confirmations
                lag.add_metric([], max(0, confirmed - status.last_block))
            failures.add_metric([], status.failures)
            yield from (head, synced, lag, failures)
        if self.services.ingest is not None:
            transactions = CounterMetricFamily(
                "labelnet_ingest_transactions", "Label transactions committed (group commit)"
            )
            transactions.add_metric([], self.services.ingest.transactions)
            batches = CounterMetricFamily(
                "labelnet_ingest_batches", "Label batches stored by those transactions"
            )
            batches.add_metric([], self.services.ingest.batches)
            yield from (transactions, batches)
        ticks = CounterMetricFamily("labelnet_duty_ticks", "Duty ticks run", labels=["duty"])
        errors = CounterMetricFamily(
            "labelnet_duty_failures", "Duty ticks that raised", labels=["duty"]
        )
        for runner in self.services.duties:
            duty = runner.snapshot()
            ticks.add_metric([duty.name], duty.ticks)
            errors.add_metric([duty.name], duty.failures)
        yield from (ticks, errors)


class ApiMetrics:
    """The metrics of one app and the registry that exposes them."""

    def __init__(self, services: NodeServices) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "labelnet_http_requests",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "labelnet_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.labels_accepted = Counter(
            "labelnet_labels_accepted", "Labels stored (acknowledged to clients)",
            registry=self.registry,
        )  # fmt: skip
        self.registry.register(_WorkerCollector(services))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request under its route template."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route: Any = scope.get("route")
            template = str(getattr(route, "path", UNMATCHED))
            method = str(scope["method"])
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - start)
            self.metrics.requests.labels(method, template, str(status)).inc()
