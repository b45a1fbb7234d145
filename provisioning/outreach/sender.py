"""Sending queued messages through the SMS gateway (``provisioning.identity.sms``), a few
at a time, each claimed first (never sent twice) and its result recorded: "HTTP 200" for
an accepted one, the gateway's sentence for a failed one — never the text, in the ledger
or the log.

Outside Synapse the HTTP gateway's requests go through aiohttp (:class:`AiohttpFetch`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import Engine

from provisioning.identity.sms import SmsError, SmsGateway, gateway_from_config
from provisioning.outreach import ledger

log = logging.getLogger(__name__)

#: messages handed to the gateway at once
CONCURRENCY = 8
#: messages claimed (and their results recorded) in one transaction
CHUNK = 64
TIMEOUT = aiohttp.ClientTimeout(total=20, connect=10)
#: A sender records a chunk's answers at most CHUNK / CONCURRENCY × TIMEOUT (8 × 20 s) after
#: claiming it; a message still "sending" an hour after its claim was left by a sender
#: that stopped (a wide margin: a live sender's message must never be taken for one).
ABANDONED_AFTER = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Result:
    ok: bool
    note: str  # "HTTP 200", or why it failed


class AiohttpFetch:
    """``fetch(method, url, headers, body) -> (status, text)`` over one aiohttp session."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def __call__(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, str]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        async with self._session.request(method, url, headers=headers, data=body) as response:
            return response.status, (await response.text(errors="replace"))[:2000]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def gateway(sms_config: dict[str, Any]) -> tuple[SmsGateway, AiohttpFetch]:
    """The gateway of the ``sms`` settings, and the HTTP client to close after use."""
    fetch = AiohttpFetch()
    return gateway_from_config(sms_config, fetch), fetch


async def _send(gate: SmsGateway, phone: str, text: str) -> Result:
    try:
        return Result(True, await gate.send(phone, text) or "đã gửi")
    except SmsError as exc:
        return Result(False, str(exc))
    except Exception as exc:  # a bug or the transport: named, never the text
        return Result(False, f"lỗi khi gửi ({type(exc).__name__})")


def settle_abandoned(engine: Engine, now: dt.datetime) -> int:
    """Settle the messages a stopped sender left "sending" (``ledger.settle_abandoned``):
    what every sender does as it starts. How many."""
    settled = ledger.settle_abandoned(engine, now - ABANDONED_AFTER)
    if settled:
        log.warning("%d SMS left 'sending' by a stopped sender: unknown, not resent", settled)
    return settled


async def send_queued(
    engine: Engine,
    gate: SmsGateway,
    ids: Iterable[int],
    now: Callable[[], dt.datetime],
    concurrency: int = CONCURRENCY,
) -> dict[int, Result]:
    """Send these queued messages, ``concurrency`` at a time, claimed and recorded
    :data:`CHUNK` at a time; the result of each one this call sent (those another sender
    took are left out). First settles what a stopped sender left "sending"."""
    await asyncio.to_thread(settle_abandoned, engine, now())
    wanted = list(ids)
    limit = asyncio.Semaphore(concurrency)
    results: dict[int, Result] = {}

    async def one(message_id: int, phone: str, text: str) -> None:
        async with limit:
            results[message_id] = result = await _send(gate, phone, text)
        if not result.ok:
            log.warning("SMS %d not sent: %s", message_id, result.note)

    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        claimed = await asyncio.to_thread(ledger.claim, engine, chunk, now())
        await asyncio.gather(*(one(*message) for message in claimed))
        answers = {i: (results[i].ok, results[i].note) for i, _, _ in claimed}
        await asyncio.to_thread(ledger.record, engine, answers, now())
    return results
