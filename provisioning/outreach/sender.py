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
TIMEOUT = aiohttp.ClientTimeout(total=20, connect=10)


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


async def send_one(
    engine: Engine, gate: SmsGateway, message_id: int, now: Callable[[], dt.datetime]
) -> Result | None:
    """Claim, send and record one message; None when another sender had it."""
    claimed = await asyncio.to_thread(ledger.claim, engine, message_id)
    if claimed is None:
        return None
    phone, text = claimed
    try:
        result = Result(True, await gate.send(phone, text) or "đã gửi")
    except SmsError as exc:
        result = Result(False, str(exc))
    except Exception as exc:  # a bug or the transport: named, never the text
        result = Result(False, f"lỗi khi gửi ({type(exc).__name__})")
    if not result.ok:
        log.warning("SMS %d not sent: %s", message_id, result.note)
    await asyncio.to_thread(
        ledger.record, engine, message_id, ok=result.ok, result=result.note, now=now()
    )
    return result


async def send_queued(
    engine: Engine,
    gate: SmsGateway,
    ids: Iterable[int],
    now: Callable[[], dt.datetime],
    concurrency: int = CONCURRENCY,
) -> dict[int, Result]:
    """Send these queued messages, ``concurrency`` at a time; the result of each one this
    call sent (those another sender took are left out)."""
    pending = iter(list(ids))  # shared: each id is taken by one worker
    results: dict[int, Result] = {}

    async def worker() -> None:
        for message_id in pending:
            result = await send_one(engine, gate, message_id, now)
            if result is not None:
                results[message_id] = result

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return results
