"""Sends what the database says is not sent yet — after a restart too.

Each event of a delivery goes out with a transaction id derived from (directive, delivery,
part) on the bot's own device, so Synapse itself de-duplicates a retry: a bot killed
between sending and recording re-sends with the same id and gets the same event back.
Attachments sent in an encrypted DM are decrypted and uploaded once, before any delivery,
and every delivery references that one upload.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine

from bot.directives import store
from bot.directives.message import directive_parts, reminder_parts, sender_line
from bot.directory import DirectoryCache
from provisioning.text import format_number

log = logging.getLogger(__name__)

MARK_BATCH = 64  # deliveries recorded per transaction, at most…
MARK_EVERY = 0.25  # …and at least this often (seconds) while sending


class Transport(Protocol):
    async def send(self, room_id: str, content: dict[str, Any], txn_id: str) -> str: ...

    async def inbox(self, person_id: int) -> str: ...

    async def reupload(self, attachment: dict[str, Any]) -> dict[str, Any]: ...


@dataclass
class WorkerStats:
    events: int = 0
    deliveries: int = 0


class DeliveryWorker:
    def __init__(
        self,
        engine: Engine,
        directory: DirectoryCache,
        transport: Transport,
        *,
        concurrency: int = 16,
        notify: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self.engine = engine
        self.directory = directory
        self.transport = transport
        self.semaphore = asyncio.Semaphore(concurrency)
        self.notify = notify  # (room id, text): tell the sender their directive went out
        self.wake = asyncio.Event()
        self.stats = WorkerStats()
        self._sent: list[tuple[int, str, str]] = []  # sent, not yet recorded
        self._flushed = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.drain()
            self.wake.clear()
            waiter = asyncio.create_task(self.wake.wait())
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({waiter, stopper}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()

    async def drain(self) -> None:
        """Send every pending delivery, then announce finished directives."""
        while True:
            rows = await asyncio.to_thread(store.pending, self.engine)
            if not rows:
                break
            prepared: dict[int, list[dict]] = {}
            for row in rows:
                if row.directive_id not in prepared:
                    prepared[row.directive_id] = await self._attachments(row)
            try:
                sent = await asyncio.gather(
                    *(self._deliver(row, prepared[row.directive_id]) for row in rows)
                )
            finally:
                await self._flush()
            if not any(sent):
                break  # every one failed this round: retried on the next wake
        for directive in await asyncio.to_thread(store.finished, self.engine):
            store.set_status(self.engine, directive.id, "sent")
            await self._announce(directive)

    async def _flush(self) -> None:
        """Record what was sent, in one transaction. Until then a restart re-sends those
        events with the same transaction ids, and Synapse answers with the same events."""
        batch, self._sent, self._flushed = self._sent, [], time.monotonic()
        if batch:
            await asyncio.to_thread(store.mark_sent_many, self.engine, batch)

    async def _attachments(self, row: Any) -> list[dict]:
        attachments = json.loads(row.attachments or "[]")
        if any("file" in a and "url" not in a for a in attachments):
            attachments = [
                await self.transport.reupload(a) if "url" not in a else a for a in attachments
            ]
            store.save_attachments(self.engine, row.directive_id, attachments)
        return attachments

    async def _deliver(self, row: Any, attachments: list[dict]) -> bool:
        try:
            async with self.semaphore:  # held for the sends only, not the bookkeeping
                room_id = row.room_id or await self.transport.inbox(row.person_id)
                parts = self._parts(row, attachments)
                event_id = None
                for index, content in enumerate(parts):
                    txn = f"dh.{row.code}.{row.id}.{index}"
                    sent = await self.transport.send(room_id, content, txn)
                    event_id = event_id or sent
                    self.stats.events += 1
            self._sent.append((row.id, room_id, event_id))
            self.stats.deliveries += 1
            if len(self._sent) >= MARK_BATCH or time.monotonic() - self._flushed > MARK_EVERY:
                await self._flush()
            return True
        except Exception as exc:  # one failed delivery must not stop the others
            log.warning("delivery %s of %s failed: %s", row.id, row.code, exc)
            await asyncio.to_thread(store.mark_failed, self.engine, row.id, str(exc))
            return False

    def _parts(self, row: Any, attachments: list[dict]) -> list[dict[str, Any]]:
        snapshot = self.directory.get()
        sender = snapshot.view.people.get(row.sender_person_id)
        who = sender_line(snapshot.view, sender) if sender else "?"
        if row.kind == "reminder":
            link = self._original_link(row)
            return reminder_parts(row.code, who, row.body, link)
        created = store.aware(row.directive_created) or dt.datetime.now(dt.UTC)
        return directive_parts(row.code, who, row.body, row.html, attachments, created)

    def _original_link(self, row: Any) -> str | None:
        rows = store.recipients(self.engine, row.directive_id)
        mine = next((r for r in rows if r.person_id == row.person_id and r.event_id), None)
        if mine is None:
            return None
        return f"https://matrix.to/#/{mine.room_id}/{mine.event_id}"

    async def _announce(self, directive: Any) -> None:
        if self.notify is None or not directive.origin_room_id:
            return
        rows = store.recipients(self.engine, directive.id)
        snapshot = self.directory.get()
        units = set()
        for row in rows:
            person = snapshot.view.people.get(row.person_id)
            primary = snapshot.primary(person) if person else None
            if primary:
                units.add(primary[1].id)
        text = (
            f"Đã gửi tin nhắn điều hành mã {directive.code} đến {format_number(len(rows))} "
            f"cán bộ thuộc {format_number(len(units))} đơn vị."
        )
        try:
            await self.notify(directive.origin_room_id, text)
        except Exception as exc:
            log.warning("could not tell the sender of %s: %s", directive.code, exc)
