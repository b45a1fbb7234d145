"""Delivering news items into units' "Thông tin điều hành" rooms: the one path the feed
relay, the CMS webhook and the admin page all take.

For each (item, target unit): the unit's news room from provisioning's mirror (no room →
not delivered, reported as such); a ``bridge_deliveries`` row claimed *before* the send
(an (item, room) already sent is answered "already"); the item's ghost made ready in the
room; the text event, then the image event, each with a transaction id derived from
(unit, item id, room, part, ghost) — deterministic, so a retry after a crash is
de-duplicated by Synapse even if our database lost the row. Sends are bounded by a
semaphore; one (item, room) is never sent twice at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from mautrix.appservice import IntentAPI
from mautrix.types import EventType, RoomID
from sqlalchemy import Engine

from bridge import post
from bridge.db.delivery import Delivery
from bridge.db.item import NewsItem
from bridge.db.media import Image
from bridge.directory import BridgeDirectory
from bridge.ghosts import DEVICE_ID, GhostError, Ghosts, is_refusal
from bridge.media import Media
from provisioning.db.threads import utcnow

log = logging.getLogger(__name__)

#: Retried in the background for this long, this many times, when Matrix was unreachable.
RETRY_WINDOW = dt.timedelta(hours=24)
MAX_ATTEMPTS = 5

# Vietnamese reasons shown on the admin page and in the webhook's answer
NO_ROOM = "Đơn vị chưa có phòng Thông tin điều hành (chưa được đồng bộ vào Matrix)."
SEND_FAILED = "Không gửi được vào phòng Thông tin điều hành; hệ thống sẽ tự thử lại."


@dataclass(slots=True)
class Outcome:
    item: NewsItem
    unit_code: str
    status: str  # delivered | already | failed
    event_id: str | None = None
    reason: str | None = None  # Vietnamese, one of a fixed set: what the portal is told
    error: str | None = None  # English, for our logs only (may hold internal details)

    def to_json(self) -> dict[str, Any]:
        """What the CMS webhook answers: never the internal error text."""
        out: dict[str, Any] = {"item": self.item.item_id, "unit": self.unit_code}
        if self.event_id:
            out["event_id"] = self.event_id
        if self.status == "failed":
            out["reason"] = self.reason
        return out


def txn_id(item: NewsItem, room_id: str, part: str, ghost: str) -> str:
    seed = f"{item.unit_code}\n{item.item_id}\n{room_id}\n{part}\n{ghost}"
    return "dhnews-" + hashlib.sha256(seed.encode()).hexdigest()[:40]


class Deliverer:
    def __init__(
        self,
        engine: Engine,
        directory: BridgeDirectory,
        ghosts: Ghosts,
        media: Media,
        *,
        summary_chars: int,
        concurrency: int = 8,
    ) -> None:
        self.engine = engine
        self.directory = directory
        self.ghosts = ghosts
        self.media = media
        self.summary_chars = summary_chars
        self._sem = asyncio.Semaphore(concurrency)
        self._inflight: dict[int, asyncio.Lock] = {}
        self.sent = 0

    async def deliver(
        self,
        items: list[NewsItem],
        unit_codes: list[str],
        *,
        via: str,
        by_user_id: str | None = None,
    ) -> list[Outcome]:
        """Every item into every unit's news room; one outcome per (item, unit)."""
        rooms = await self.directory.news_rooms(unit_codes)
        jobs = []
        for item in items:
            for unit_code in dict.fromkeys(unit_codes):
                room_id = rooms.get(unit_code)
                if room_id is None:
                    jobs.append(
                        _done(
                            Outcome(item, unit_code, "failed", reason=NO_ROOM, error="no news room")
                        )
                    )
                    continue
                delivery, _ = await Delivery.claim(
                    self.engine, item.id, room_id, unit_code, via, by_user_id, utcnow()
                )
                jobs.append(self._deliver_one(item, delivery))
        return list(await asyncio.gather(*jobs))

    async def resume(self) -> int:
        """Retry deliveries left unsent (Matrix was down, the process stopped mid-way)."""
        pending = await Delivery.unfinished(self.engine, utcnow() - RETRY_WINDOW, MAX_ATTEMPTS)
        if not pending:
            return 0
        items = await NewsItem.get_many(self.engine, [d.item_id for d in pending])
        outcomes = await asyncio.gather(
            *(self._deliver_one(items[d.item_id], d) for d in pending if d.item_id in items)
        )
        done = sum(1 for o in outcomes if o.status == "delivered")
        log.info("resumed %d unfinished deliveries, %d delivered", len(pending), done)
        return done

    async def _deliver_one(self, item: NewsItem, delivery: Delivery) -> Outcome:
        lock = self._inflight.setdefault(delivery.id, asyncio.Lock())
        try:
            async with lock:
                current = await Delivery.get(self.engine, delivery.id) or delivery
                if current.status == "sent":
                    return Outcome(item, delivery.unit_code, "already", current.event_id)
                async with self._sem:
                    return await self._send(item, current)
        finally:
            if not lock.locked():
                self._inflight.pop(delivery.id, None)

    async def _send(self, item: NewsItem, delivery: Delivery) -> Outcome:
        await Delivery.count_attempt(self.engine, delivery.id)
        room_id = delivery.room_id
        try:
            intent = await self.ghosts.intent(
                item.unit_code, await self.directory.unit_name(item.unit_code)
            )
            image = await self.media.image_for(item, intent)
            event_id, image_event_id = await self._post(intent, item, room_id, image)
        except GhostError as exc:
            await Delivery.mark_failed(self.engine, delivery.id, str(exc))
            log.warning("item %s not delivered to %s: %s", item.item_id, room_id, exc)
            return Outcome(item, delivery.unit_code, "failed", reason=exc.message, error=str(exc))
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            await Delivery.mark_failed(self.engine, delivery.id, error)
            log.warning("item %s not delivered to %s: %s", item.item_id, room_id, error)
            return Outcome(item, delivery.unit_code, "failed", reason=SEND_FAILED, error=error)
        await Delivery.mark_sent(self.engine, delivery.id, event_id, image_event_id, utcnow())
        self.sent += 1
        log.info("delivered %s of %s to %s as %s", item.item_id, item.unit_code, room_id, event_id)
        return Outcome(item, delivery.unit_code, "delivered", event_id)

    async def _post(
        self, intent: IntentAPI, item: NewsItem, room_id: str, image: Image | None
    ) -> tuple[str, str | None]:
        ghost = str(intent.mxid)
        text = post.item_message(item, self.summary_chars)
        event_id = await self.send(intent, room_id, text, txn_id(item, room_id, "text", ghost))
        image_event_id = None
        if image is not None:
            image_event_id = await self.send(
                intent,
                room_id,
                post.image_message(item, image),
                txn_id(item, room_id, "image", ghost),
            )
        return event_id, image_event_id

    async def send(self, intent: IntentAPI, room_id: str, content: dict, txn: str) -> str:
        """One m.room.message as the ghost; if refused, make the ghost ready again, once."""
        await self.ghosts.ensure_in_room(intent, room_id)
        try:
            return await self._put(intent, room_id, content, txn)
        except Exception as exc:
            if not is_refusal(exc):
                raise
            log.info("%s was refused in %s (%s); joining it again", intent.mxid, room_id, exc)
            await self.ghosts.forget_room(intent, room_id)
            await self.ghosts.ensure_in_room(intent, room_id)
            return await self._put(intent, room_id, content, txn)

    @staticmethod
    async def _put(intent: IntentAPI, room_id: str, content: dict, txn: str) -> str:
        return str(
            await intent.send_message_event(
                RoomID(room_id),
                EventType.ROOM_MESSAGE,
                content,
                txn_id=txn,
                query_params={"device_id": DEVICE_ID},
            )
        )

    async def notice(self, unit_code: str, content: dict, txn: str) -> str | None:
        """The unit's ghost says something in the unit's own news room (feed reports)."""
        room_id = (await self.directory.news_rooms([unit_code])).get(unit_code)
        if room_id is None:
            return None
        intent = await self.ghosts.intent(unit_code, await self.directory.unit_name(unit_code))
        return await self.send(intent, room_id, content, txn)


async def _done(outcome: Outcome) -> Outcome:
    return outcome
