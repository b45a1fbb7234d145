"""The bot service: ``python -m bot --config data/config.yaml``.

An empty shell for now: it loads the configuration, says it started and
runs until SIGTERM/SIGINT. The commands (!gui, !baocao, …) come later.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from provisioning.config import Config, ConfigError, load_config

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
log = logging.getLogger("bot")


async def serve(config: Config) -> int:
    """Run until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    user_id = f"@{config.bot.localpart}:{config.homeserver.server_name}"
    log.info("bot started as %s on %s", user_id, config.homeserver.url)
    await stop.wait()
    log.info("bot stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Điều hành bot")
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
