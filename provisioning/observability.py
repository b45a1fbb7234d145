"""A small listener for a service's Prometheus metrics and its health (the bot, the bridge).

``GET /metrics`` answers the registry in Prometheus' text format; ``GET /health`` answers
200 with ``{"status": "ok", …}`` while the service is healthy, 503 with the reason
otherwise. Kept apart from the service's public listeners: bind it to loopback or a
monitoring network.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

Health = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


class MetricsServer:
    def __init__(self, registry: CollectorRegistry, health: Health) -> None:
        self.registry = registry
        self.health = health
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/health", self._health)
        return app

    async def _metrics(self, request: web.Request) -> web.Response:
        body = await asyncio.to_thread(generate_latest, self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _health(self, request: web.Request) -> web.Response:
        try:
            ok, details = await self.health()
        except Exception as exc:  # a failing check is an unhealthy service, not a 500
            ok, details = False, {"error": type(exc).__name__}
        body = {"status": "ok" if ok else "unhealthy", **details}
        return web.json_response(body, status=200 if ok else 503)

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
