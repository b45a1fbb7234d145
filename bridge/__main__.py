"""The bridge service (appservice): ``python -m bridge --config data/config.yaml``.

A shell for now: it serves the appservice listener that Synapse reaches,
answering only the ping health check (``/_matrix/app/v1/ping``) behind the
hs_token, and runs until SIGTERM/SIGINT. News relaying comes later.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import logging
import signal
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from provisioning.config import BridgeConfig, Config, ConfigError, load_config

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
log = logging.getLogger("bridge")


def _error(status: int, errcode: str, message: str) -> web.Response:
    return web.json_response({"errcode": errcode, "error": message}, status=status)


def make_app(bridge: BridgeConfig) -> web.Application:
    """The appservice HTTP application; every route requires the hs_token."""
    expected = bridge.hs_token.encode("utf-8")

    @web.middleware
    async def require_hs_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else request.query.get("access_token")
        if not token:
            return _error(401, "M_UNAUTHORIZED", "Missing access token")
        if not hmac.compare_digest(token.encode("utf-8"), expected):
            return _error(403, "M_FORBIDDEN", "Invalid access token")
        return await handler(request)

    async def ping(request: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application(middlewares=[require_hs_token])
    app.router.add_post("/_matrix/app/v1/ping", ping)
    app.router.add_get("/_matrix/app/v1/ping", ping)
    return app


async def serve(config: Config) -> int:
    """Serve the appservice listener until SIGTERM or SIGINT."""
    bridge = config.bridge
    if not bridge.hs_token or not bridge.as_token:
        log.error("bridge.hs_token and bridge.as_token must be set")
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(make_app(bridge), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, bridge.listen_host, bridge.listen_port).start()
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", bridge.listen_host, bridge.listen_port, exc)
        await runner.cleanup()
        return 1
    log.info(
        "bridge %s started, listening on http://%s:%s for %s",
        bridge.id,
        bridge.listen_host,
        bridge.listen_port,
        config.homeserver.url,
    )
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    log.info("bridge stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bridge", description="Điều hành bridge")
    parser.add_argument("--config", type=Path, required=True, help="config.yaml")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        log.error("invalid configuration: %s", exc)
        return 2
    return asyncio.run(serve(config))


if __name__ == "__main__":
    raise SystemExit(main())
