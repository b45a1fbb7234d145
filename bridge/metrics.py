"""The bridge's Prometheus metrics and health (``bridge.metrics_port``).

Read at each scrape from the running service and its database:

- ``dieuhanh_bridge_polls_total{result}``: feed polls, by ``parsed`` (200), ``not_modified``
  (304) and ``failed``; ``dieuhanh_bridge_new_items_total``, ``…_posted_total``,
  ``…_failure_reports_total``;
- ``dieuhanh_bridge_events_sent_total``: news events sent into rooms;
- ``dieuhanh_bridge_deliveries{via,status}``: deliveries of items to units (feed, webhook,
  admin page; pending, sent, failed), from the database;
- ``dieuhanh_bridge_feeds_failing``: feeds whose last poll failed.

``/health`` is 200 while the bridge's listeners run and its database answers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import Engine, func, select

from bridge.config import BridgeSettings
from bridge.db.models import BridgeDelivery, BridgeFeed
from provisioning.observability import MetricsServer

REGISTRY = CollectorRegistry()
ProcessCollector(namespace="dieuhanh_bridge", registry=REGISTRY)


class BridgeCollector:
    def __init__(self, service: Any) -> None:
        self.service = service

    def collect(self):
        stats = self.service.poller.stats
        polls = CounterMetricFamily(
            "dieuhanh_bridge_polls", "Feed polls by result.", labels=["result"]
        )
        polls.add_metric(["parsed"], stats.parsed)
        polls.add_metric(["not_modified"], stats.not_modified)
        polls.add_metric(["failed"], stats.failed)
        yield polls
        for name, value, doc in (
            ("new_items", stats.new_items, "New items found in feeds."),
            ("posted", stats.posted, "Feed items posted into news rooms."),
            ("failure_reports", stats.reported, "Failing feeds reported to their managers."),
            ("events_sent", self.service.deliverer.sent, "News events sent into rooms."),
        ):
            family = CounterMetricFamily(f"dieuhanh_bridge_{name}", doc)
            family.add_metric([], value)
            yield family
        yield from database_families(self.service.engine)


def database_families(engine: Engine):
    deliveries = GaugeMetricFamily(
        "dieuhanh_bridge_deliveries",
        "Deliveries of news items to units, by origin and status.",
        labels=["via", "status"],
    )
    d, f = BridgeDelivery, BridgeFeed
    with engine.connect() as conn:
        rows = conn.execute(select(d.via, d.status, func.count()).group_by(d.via, d.status))
        for via, status, count in rows:
            deliveries.add_metric([via, status], count)
        failing = conn.scalar(select(func.count()).where(f.error_count > 0))
    yield deliveries
    gauge = GaugeMetricFamily("dieuhanh_bridge_feeds_failing", "Feeds whose last poll failed.")
    gauge.add_metric([], failing or 0)
    yield gauge


_collector: BridgeCollector | None = None


async def start(service: Any, config: BridgeSettings) -> MetricsServer | None:
    """Serve the bridge's metrics and health, if ``bridge.metrics_port`` is set."""
    global _collector
    settings = config.bridge
    if not settings.metrics_port:
        return None
    if _collector is not None:
        REGISTRY.unregister(_collector)
    _collector = BridgeCollector(service)
    REGISTRY.register(_collector)

    async def health() -> tuple[bool, dict[str, Any]]:
        await asyncio.to_thread(_ping, service.engine)
        return True, {"feeds": await asyncio.to_thread(_feeds, service.engine)}

    server = MetricsServer(REGISTRY, health)
    await server.start(settings.metrics_host, settings.metrics_port)
    return server


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(select(1))


def _feeds(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(BridgeFeed)) or 0
