"""The bot's SMS (``provisioning.outreach``): the gateway and budget of the ``sms``
settings, the invitation's text, how long an urgent post waits before its SMS fallback —
and an outbox that sends queued messages in the background, so that a command or a
scheduler tick that queued thousands returns at once.

State is in the ledger's rows: messages a stopped bot (or CLI) left queued are sent by
the scheduler's next tick (:func:`resume`), each claimed once; those it left "sending"
(claimed, the gateway's answer never recorded) are settled unknown, never resent.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from sqlalchemy import Engine

from bot.clock import Clock
from bot.config import BotSettings
from bot.db.activity import ActivityCache
from bot.directives.scheduler import Scheduler, on_tick
from provisioning.outreach import budget_of, gateway_settings, ledger, login_page_url, texts
from provisioning.outreach.sender import Result, gateway, send_queued, settle_abandoned

log = logging.getLogger(__name__)

Done = Callable[[dict[int, Result]], Awaitable[None]]
#: a queued message this old was left by a sender that stopped: the tick sends it
LEFT_BEHIND = dt.timedelta(minutes=2)


class Outreach:
    def __init__(
        self, config: BotSettings, engine: Engine, clock: Clock, activity: ActivityCache
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.activity = activity  # who has logged in (the fallback's "never")
        self.budget = budget_of(config.sms)
        self.login_page = login_page_url(config.sms, config.homeserver.url)
        self.invitation = texts.invitation(self.login_page)  # TextTooLong: refused at start
        self.fallback_after = dt.timedelta(hours=config.bot.sms_fallback_hours)
        self.gateway, self._fetch = gateway(gateway_settings(config.sms))
        self._tasks: set[asyncio.Task[None]] = set()

    def track(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background, as the sending is (``idle`` and ``close`` wait
        for it)."""
        task = asyncio.create_task(self._guarded(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:
            log.exception("background SMS work failed")

    def send(self, ids: Iterable[int], then: Done | None = None) -> None:
        """Send these queued messages in the background; ``then(results)`` afterwards."""
        wanted = list(ids)
        if wanted:
            self.track(self._send(wanted, then))

    async def _send(self, ids: list[int], then: Done | None) -> None:
        results = await send_queued(self.engine, self.gateway, ids, self.clock.now)
        if then is not None:
            await then(results)

    async def resume(self, now: dt.datetime) -> None:
        """Settle the messages a sender that stopped left "sending"; send those it left
        queued."""
        await asyncio.to_thread(settle_abandoned, self.engine, now)
        if self._tasks:
            return  # a batch is under way: what it queued is not left behind
        left = await asyncio.to_thread(ledger.queued_before, self.engine, now - LEFT_BEHIND)
        if left:
            log.info("sending %d SMS left queued", len(left))
            self.send(left)

    async def idle(self) -> None:
        """Until every background batch is done (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle(), 10)
        for task in list(self._tasks):
            task.cancel()
        await self._fetch.close()


@on_tick
async def resume(scheduler: Scheduler, now: dt.datetime) -> None:
    """Every tick: settle what a stopped sender left half-sent, send what it left queued."""
    if scheduler.outreach is not None:
        await scheduler.outreach.resume(now)
