"""One entry point for every long-running service: logging, the database, the signals
that stop it. ``dieuhanh bot`` and ``dieuhanh bridge`` (what the supervisor starts) use it."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Engine

from dieuhanh.config import Config
from dieuhanh.db import open_database

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

Serve = Callable[[Any, Engine, asyncio.Event], Awaitable[int]]


def run_service(name: str, serve: Serve, config: Config) -> int:
    """Run ``serve(config, engine, stop)`` until SIGTERM or SIGINT; its exit status."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if os.environ.get(f"DIEUHANH_{name.upper()}_DEBUG"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    return asyncio.run(_serve(serve, config))


async def _serve(serve: Serve, config: Config) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    engine = await asyncio.to_thread(open_database, config.database.url)
    try:
        return await serve(config, engine, stop)
    finally:
        engine.dispose()
