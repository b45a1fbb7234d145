"""The bot service: ``python -m bot --config data/config.yaml``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from pathlib import Path

from bot.directory import DirectoryCache
from bot.matrix import MatrixBot
from bot.service import BotService
from provisioning.config import Config, ConfigError, load_config
from provisioning.db import open_directory

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
log = logging.getLogger("bot")


async def serve(config: Config) -> int:
    """Answer commands until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    engine = open_directory(config.database.url)
    bot = MatrixBot(config, engine, BotService(DirectoryCache(engine)))
    log.info("bot started as %s on %s", bot.user_id, config.homeserver.url)
    try:
        await bot.run(stop)
    finally:
        await bot.close()
        engine.dispose()
    log.info("bot stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Điều hành bot")
    parser.add_argument("--config", type=Path, required=True, help="config.yaml")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    logging.getLogger("nio").setLevel(logging.WARNING)
    if os.environ.get("DIEUHANH_BOT_DEBUG"):
        logging.getLogger("bot").setLevel(logging.DEBUG)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        log.error("invalid configuration: %s", exc)
        return 2
    return asyncio.run(serve(config))


if __name__ == "__main__":
    raise SystemExit(main())
