"""Sends what the database says is not sent yet — after a restart too.

Each event of a delivery goes out with a transaction id derived from (directive, delivery,
part) on the bot's own device, so Synapse itself de-duplicates a retry: a bot killed
between sending and recording re-sends with the same id and gets the same event back.
Attachments sent in an encrypted DM are decrypted and uploaded once, before any delivery,
and every delivery references that one upload.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine

from bot.db import reroute
from bot.db.delivery import Delivery
from bot.db.directive import Directive
from bot.db.family_recipient import PARENT, FamilyRecipient
from bot.db.recipient import Recipient
from bot.directives.cards import DELIVERY_PARTS, card_parts, kind_of
from bot.directives.cover import NotInRoom
from bot.directives.kinds import PREPARE
from bot.directives.message import sender_line
from bot.directory import DirectoryCache
from provisioning.text import format_number

log = logging.getLogger(__name__)

MARK_BATCH = 64  # deliveries recorded per transaction, at most…
MARK_EVERY = 0.25  # …and at least this often (seconds) while sending


class Transport(Protocol):
    async def send(self, room_id: str, content: dict[str, Any], txn_id: str) -> str:
        """The event id; NotInRoom when the bot is not in the room."""
        ...

    async def inbox(self, person_id: int) -> str: ...

    async def family_inbox(self, user_id: str) -> str:
        """The inbox of a family account (a parent's, a student's): made on first need."""
        ...

    async def reupload(self, attachment: dict[str, Any]) -> dict[str, Any]: ...

    async def upload(self, data: bytes, mimetype: str, filename: str) -> str:
        """Upload a file the bot made (an invitation's .ics); its mxc URI."""
        ...


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
            deliveries = await Delivery.pending(self.engine)
            if not deliveries:
                break
            directives = await Directive.by_ids(self.engine, {d.directive_id for d in deliveries})
            for directive in list(directives.values()):
                try:
                    await self._prepare(directive)
                except Exception as exc:  # an upload failed: none of its copies go yet
                    log.warning("directive %s not prepared: %s", directive.code, exc)
                    del directives[directive.id]
            deliveries = [d for d in deliveries if d.directive_id in directives]  # not deleted
            try:
                sent = await asyncio.gather(
                    *(self._deliver(d, directives[d.directive_id]) for d in deliveries)
                )
            finally:
                await self._flush()
            if not any(sent):
                break  # every one failed this round: retried on the next wake
        for directive in await Directive.finished(self.engine):
            await Directive.set_status(self.engine, directive.id, "sent")
            await self._announce(directive)

    async def _flush(self) -> None:
        """Record what was sent, in one transaction. Until then a restart re-sends those
        events with the same transaction ids, and Synapse answers with the same events."""
        batch, self._sent, self._flushed = self._sent, [], time.monotonic()
        if batch:
            await Delivery.mark_sent_many(self.engine, batch)

    async def _prepare(self, directive: Directive) -> None:
        """Before any delivery: attachments from an encrypted DM uploaded once in clear, then
        what the directive's kind adds (``bot.directives.kinds.prepare_for``)."""
        attachments = directive.attachments
        if any("file" in a and "url" not in a for a in attachments):
            directive.attachments = [
                await self.transport.reupload(a) if "url" not in a else a for a in attachments
            ]
            await Directive.save_attachments(self.engine, directive.id, directive.attachments)
        prepare = PREPARE.get(directive.kind)
        if prepare is not None:
            made = await prepare(directive, self.transport, await self.directory.get())
            if made is not None and made != directive.attachments:
                directive.attachments = made
                await Directive.save_attachments(self.engine, directive.id, made)

    async def _deliver(self, delivery: Delivery, directive: Directive) -> bool:
        try:
            async with self.semaphore:  # held for the sends only, not the bookkeeping
                room_id = delivery.room_id or await self._inbox(delivery)
                parts = await self._parts(delivery, directive)
                event_id = None
                for index, content in enumerate(parts):
                    txn = f"dh.{directive.code}.{delivery.id}.{index}"
                    sent = await self.transport.send(room_id, content, txn)
                    event_id = event_id or sent
                    self.stats.events += 1
            self._sent.append((delivery.id, room_id, event_id))
            self.stats.deliveries += 1
            if len(self._sent) >= MARK_BATCH or time.monotonic() - self._flushed > MARK_EVERY:
                await self._flush()
            return True
        except NotInRoom as exc:  # never going there: its people get it in their inboxes
            return await self._not_in_room(delivery, directive, exc)
        except Exception as exc:  # one failed delivery must not stop the others
            log.warning("delivery %s of %s failed: %s", delivery.id, directive.code, exc)
            await Delivery.mark_failed(self.engine, delivery.id, str(exc))
            return False

    async def _not_in_room(self, delivery: Delivery, directive: Directive, exc: Exception) -> bool:
        """A room found without the bot after planning (removed since, or not joined yet):
        a room delivery goes to its people's inboxes instead (sent on the next round);
        anything else is recorded as never going. True when inboxes were planned."""
        if delivery.kind == "room":
            planned = await reroute.to_inboxes(self.engine, delivery.id, str(exc))
            log.warning(
                "delivery %s of %s: %s; %d inbox deliveries instead",
                delivery.id, directive.code, exc, planned,
            )  # fmt: skip
            return planned > 0
        log.warning("delivery %s of %s not delivered: %s", delivery.id, directive.code, exc)
        await Delivery.give_up(self.engine, delivery.id, str(exc))
        return False

    async def _inbox(self, delivery: Delivery) -> str:
        if delivery.person_id is None and delivery.user_id is not None:
            return await self.transport.family_inbox(delivery.user_id)
        return await self.transport.inbox(delivery.person_id)

    async def _parts(self, delivery: Delivery, directive: Directive) -> list[dict[str, Any]]:
        snapshot = await self.directory.get()
        sender = snapshot.view.people.get(directive.sender_person_id)
        who = sender_line(snapshot.view, sender) if sender else "?"
        if delivery.kind in ("room", "inbox"):
            return card_parts(directive, who)
        parts = DELIVERY_PARTS.get(delivery.kind)
        if parts is None:
            raise RuntimeError(f"no parts registered for deliveries of kind {delivery.kind!r}")
        return parts(directive, delivery, who, await self._original_link(delivery))

    async def _original_link(self, reminder: Delivery) -> str | None:
        if reminder.person_id is None and reminder.user_id is not None:
            mine = await FamilyRecipient.get(self.engine, reminder.directive_id, reminder.user_id)
        else:
            mine = await Recipient.get(self.engine, reminder.directive_id, reminder.person_id)
        if mine is None or mine.event_id is None:
            return None
        return f"https://matrix.to/#/{mine.room_id}/{mine.event_id}"

    async def _announce(self, directive: Directive) -> None:
        if self.notify is None or not directive.origin_room_id:
            return
        rows = await Recipient.of_directive(self.engine, directive.id)
        families = await FamilyRecipient.of_directive(self.engine, directive.id)
        missed = sum(1 for r in [*rows, *families] if r.event_id is None)
        rows = [r for r in rows if r.event_id is not None]
        families = [f for f in families if f.event_id is not None]
        text = (
            f"Đã gửi {kind_of(directive).noun} mã {directive.code} đến "
            f"{await self._reached(rows, families)}."
        )
        if missed:
            text += (
                f" {format_number(missed)} người chưa nhận được vì không gửi được vào phòng của "
                f"họ; gõ !baocao {directive.code} để xem."
            )
        try:
            await self.notify(directive.origin_room_id, text)
        except Exception as exc:
            log.warning("could not tell the sender of %s: %s", directive.code, exc)

    async def _reached(self, rows: list[Recipient], families: list[FamilyRecipient]) -> str:
        """'25 cán bộ thuộc 3 đơn vị và 12 phụ huynh của 1 lớp'."""
        snapshot = await self.directory.get()
        units = set()
        for row in rows:
            person = snapshot.view.people.get(row.person_id)
            primary = snapshot.primary(person) if person else None
            if primary:
                units.add(primary[1].id)
        n = format_number
        who = (
            [f"{n(len(rows))} cán bộ thuộc {n(len(units))} đơn vị"] if rows or not families else []
        )
        if families:
            parents = sum(1 for f in families if f.role == PARENT)
            classes = len({c for f in families for c in f.classes})
            who.append(
                f"{n(parents)} phụ huynh"
                + (f", {n(len(families) - parents)} học sinh" if len(families) > parents else "")
                + f" của {n(classes)} lớp"
            )
        return " và ".join(who)
