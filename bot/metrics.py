"""The bot's Prometheus metrics and health (``bot.metrics_port``).

- ``dieuhanh_bot_commands_total{command,outcome}`` and ``dieuhanh_bot_command_seconds``:
  commands handled (outcome ``ok`` or ``error``: the user got an apology) and how long the
  answer took to compute;
- ``dieuhanh_bot_event_lag_seconds``: from an event reaching the homeserver to the bot
  receiving it in its sync; ``dieuhanh_bot_last_sync_age_seconds``: since the last sync;
- ``dieuhanh_bot_deliveries{state}`` (pending, retrying, sent, failed) and
  ``dieuhanh_bot_directives{status}``, read from the database at each scrape;
  ``dieuhanh_bot_directive_events_sent_total``: events the delivery worker sent.

``/health`` is 200 while the bot syncs (last sync under two minutes ago), 503 otherwise.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from nio import Event
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import Engine, case, func, select

from bot.commands import Incoming, parse
from bot.config import BotSettings
from bot.db.delivery import Delivery, DeliveryTable
from bot.db.directive import DirectiveTable
from bot.reply import Reply
from bot.service import BotService
from provisioning.observability import MetricsServer

REGISTRY = CollectorRegistry()
ProcessCollector(namespace="dieuhanh_bot", registry=REGISTRY)

COMMANDS = Counter(
    "dieuhanh_bot_commands",
    "Commands handled, by command and outcome (error: the user got an apology).",
    ["command", "outcome"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "dieuhanh_bot_command_seconds",
    "Time to compute the answer to a command.",
    ["command"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
EVENT_LAG = Histogram(
    "dieuhanh_bot_event_lag_seconds",
    "From an event's arrival on the homeserver to the bot receiving it in a sync.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
#: Deliveries tried this many times without success are given up.
MAX_ATTEMPTS = Delivery.MAX_ATTEMPTS
#: A bot whose last sync is older than this is unhealthy.
HEALTHY_SYNC_AGE = 120.0
APOLOGY = "Xin lỗi, bot gặp lỗi"


class MeasuredBotService(BotService):
    """The bot's service, counting and timing each command it answers."""

    async def handle(self, message: Incoming) -> Reply | None:
        text = message.msgtype in ("m.text", "m.notice")
        parsed = parse(message.body) if text else None
        if parsed is None:
            return await super().handle(message)
        name = parsed.command.name if parsed.command else "unknown"
        started = time.perf_counter()
        outcome = "error"
        try:
            reply = await super().handle(message)
            if reply is None or not reply.text.startswith(APOLOGY):
                outcome = "ok"
            return reply
        finally:
            COMMANDS.labels(name, outcome).inc()
            LATENCY.labels(name).observe(time.perf_counter() - started)


class DirectiveCollector:
    """Directive and delivery counts from the database, and the worker's sent events."""

    def __init__(self, engine: Engine, bot: Any) -> None:
        self.engine, self.bot = engine, bot

    def collect(self):
        deliveries = GaugeMetricFamily(
            "dieuhanh_bot_deliveries", "Directive deliveries by state.", labels=["state"]
        )
        for state, count in delivery_states(self.engine).items():
            deliveries.add_metric([state], count)
        yield deliveries
        directives = GaugeMetricFamily(
            "dieuhanh_bot_directives", "Directives by status.", labels=["status"]
        )
        with self.engine.connect() as conn:
            status = DirectiveTable.status
            rows = conn.execute(select(status, func.count()).group_by(status))
            for status, count in rows:
                directives.add_metric([status], count)
        yield directives
        sent = CounterMetricFamily(
            "dieuhanh_bot_directive_events_sent", "Directive events the delivery worker sent."
        )
        sent.add_metric([], self.bot.worker.stats.events)
        yield sent
        age = GaugeMetricFamily(
            "dieuhanh_bot_last_sync_age_seconds", "Seconds since the last sync."
        )
        synced = getattr(self.bot, "synced_at", None)
        age.add_metric([], time.time() - synced if synced else float("nan"))
        yield age


def delivery_states(engine: Engine) -> dict[str, int]:
    """pending (never tried), retrying, sent, failed (given up)."""
    d = DeliveryTable
    state = case(
        (d.event_id.is_not(None), "sent"),
        (d.attempts == 0, "pending"),
        (d.attempts >= MAX_ATTEMPTS, "failed"),
        else_="retrying",
    )
    counts = dict.fromkeys(("pending", "retrying", "sent", "failed"), 0)
    with engine.connect() as conn:
        for name, count in conn.execute(select(state, func.count()).group_by(state)):
            counts[name] = count
    return counts


_collector: DirectiveCollector | None = None


async def start(bot: Any, engine: Engine, config: BotSettings) -> MetricsServer | None:
    """Serve the bot's metrics and health, if ``bot.metrics_port`` is set."""
    settings = config.bot
    if not settings.metrics_port:
        return None
    global _collector
    if _collector is not None:
        REGISTRY.unregister(_collector)
    _collector = DirectiveCollector(engine, bot)
    REGISTRY.register(_collector)
    bot.client.add_event_callback(_observe_lag, Event)

    async def health() -> tuple[bool, dict[str, Any]]:
        synced = getattr(bot, "synced_at", None)
        age = time.time() - synced if synced else None
        ok = age is not None and age < HEALTHY_SYNC_AGE
        await asyncio.to_thread(_ping_database, engine)
        return ok, {"last_sync_seconds_ago": None if age is None else round(age, 1)}

    server = MetricsServer(REGISTRY, health)
    await server.start(settings.metrics_host, settings.metrics_port)
    return server


async def _observe_lag(room: Any, event: Event) -> None:
    ts = getattr(event, "server_timestamp", None)
    if ts:
        EVENT_LAG.observe(max(time.time() - ts / 1000, 0.0))


def _ping_database(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(select(1))
