"""Serving: the bot on Matrix until told to stop (started by ``dieuhanh bot``)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Engine

from bot.clock import clock_from_env
from bot.config import BotSettings
from bot.directory import DirectoryCache
from bot.families.terms import TermDates
from bot.matrix import MatrixBot
from bot.metrics import MeasuredBotService
from bot.metrics import start as start_metrics
from bot.outreach import Outreach

log = logging.getLogger("bot")


async def serve(config: BotSettings, engine: Engine, stop: asyncio.Event) -> int:
    """Answer commands and deliver directives until ``stop`` is set; an exit status."""
    logging.getLogger("nio").setLevel(logging.WARNING)
    directory = DirectoryCache(engine, min_check_interval=config.bot.directory_check_seconds)
    service = MeasuredBotService(directory, clock=clock_from_env())
    service.families.terms = TermDates.parse(config.bot.term_dates)
    try:
        service.outreach = Outreach(config, engine, service.clock, service.activity)
    except ValueError as exc:  # the sms settings: a budget below zero, a text too long
        log.error("cannot start: %s", exc)
        return 2
    bot = MatrixBot(config, engine, service)
    metrics = await start_metrics(bot, engine, config)
    log.info("bot started as %s on %s", bot.user_id, config.homeserver.url)
    try:
        await bot.run(stop)
    finally:
        await bot.close()
        await service.outreach.close()
        if metrics is not None:
            await metrics.stop()
    log.info("bot stopped")
    return 0
