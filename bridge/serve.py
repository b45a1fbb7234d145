"""Serving: the bridge's listeners and poller until told to stop (``dieuhanh bridge``)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Engine

from bridge.config import BridgeSettings
from bridge.outbound import parse_networks

log = logging.getLogger("bridge")


async def serve(config: BridgeSettings, engine: Engine, stop: asyncio.Event) -> int:
    """Relay news and serve the admin page and webhook until ``stop`` is set."""
    from bridge.metrics import start as start_metrics
    from bridge.service import BridgeService

    for name in ("bridge.appservice", "aiohttp.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    bridge = config.bridge
    try:
        list(parse_networks(bridge.allowed_networks))
    except ValueError as exc:
        log.error("invalid configuration: bridge.allowed_networks: %s", exc)
        return 2
    if not bridge.hs_token or not bridge.as_token:
        log.error("bridge.hs_token and bridge.as_token must be set")
        return 2
    service = BridgeService(config, engine)
    try:
        await service.start()
    except OSError as exc:
        log.error("cannot listen: %s", exc)
        await service.stop()
        return 1
    metrics = await start_metrics(service, config)
    log.info(
        "bridge %s started, listening on http://%s:%s for %s; admin page %s",
        bridge.id,
        bridge.listen_host,
        bridge.listen_port,
        config.homeserver.url,
        service.page_url,
    )
    try:
        await stop.wait()
    finally:
        await service.stop()
        if metrics is not None:
            await metrics.stop()
    log.info("bridge stopped")
    return 0
