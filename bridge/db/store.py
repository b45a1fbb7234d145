"""All of the bridge's SQL, in one place (maubot/rss style): feeds, items, deliveries,
ghosts, media, webhook tokens, admin sessions. Tables: provisioning/db/bridge_models.py.

Calls are short and synchronous (SQLite answers in well under a millisecond; PostgreSQL
through a pool); the service calls them from its event loop like the bot does.
Times are stored in UTC; SQLite hands them back naive, so every read goes through ``utc``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bridge.db.models import (
    BridgeAdminSession,
    BridgeDelivery,
    BridgeFeed,
    BridgeGhost,
    BridgeGhostRoom,
    BridgeItem,
    BridgeMedia,
    BridgeWebhookToken,
)
from bridge.feeds import FeedItem, item_key
from bridge.items import Image, NewsItem

FEEDS = BridgeFeed.__table__
ITEMS = BridgeItem.__table__
DELIVERIES = BridgeDelivery.__table__
GHOSTS = BridgeGhost.__table__
GHOST_ROOMS = BridgeGhostRoom.__table__
MEDIA = BridgeMedia.__table__
TOKENS = BridgeWebhookToken.__table__
SESSIONS = BridgeAdminSession.__table__

CHUNK = 500


def utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True)
class FeedState:
    unit_code: str
    url: str
    etag: str | None
    last_modified: str | None
    initialized: bool
    next_poll_at: dt.datetime
    error_count: int
    last_error: str | None
    failing_since: dt.datetime | None
    reported_at: dt.datetime | None
    last_success_at: dt.datetime | None

    @classmethod
    def _from_row(cls, row) -> FeedState:
        m = row._mapping
        return cls(
            m["unit_code"],
            m["url"],
            m["etag"],
            m["last_modified"],
            bool(m["initialized"]),
            utc(m["next_poll_at"]),
            m["error_count"],
            m["last_error"],
            utc(m["failing_since"]),
            utc(m["reported_at"]),
            utc(m["last_success_at"]),
        )


@dataclass(slots=True)
class Delivery:
    id: int
    item_id: int
    room_id: str
    unit_code: str
    via: str
    by_user_id: str | None
    status: str  # pending | sent | failed
    event_id: str | None
    image_event_id: str | None
    attempts: int
    error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None

    @classmethod
    def _from_row(cls, row) -> Delivery:
        m = row._mapping
        return cls(
            m["id"],
            m["item_id"],
            m["room_id"],
            m["unit_code"],
            m["via"],
            m["by_user_id"],
            m["status"],
            m["event_id"],
            m["image_event_id"],
            m["attempts"],
            m["error"],
            utc(m["created_at"]),
            utc(m["sent_at"]),
        )


@dataclass(slots=True)
class Session:
    user_id: str
    person_id: int
    csrf_token: str
    expires_at: dt.datetime


def _item(row) -> NewsItem:
    m = row._mapping
    return NewsItem(
        m["id"],
        m["unit_code"],
        m["item_id"],
        m["source"],
        m["title"],
        m["link"],
        m["summary_html"],
        m["summary_text"],
        m["image_url"],
        utc(m["published_at"]),
        utc(m["first_seen_at"]),
    )


def _chunks(values: Iterable, size: int = CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


class BridgeStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ------------------------------------------------------------------ feeds

    def sync_feeds(self, sources: dict[str, str], now: dt.datetime) -> None:
        """Make a row for each unit's feed URL; a changed URL starts over (first sight)."""
        with self.engine.begin() as conn:
            known = dict(conn.execute(select(FEEDS.c.unit_code, FEEDS.c.url)).all())
            fresh = [
                {
                    "unit_code": code,
                    "url": url,
                    "initialized": False,
                    "next_poll_at": now,
                    "error_count": 0,
                }
                for code, url in sources.items()
                if code not in known
            ]
            if fresh:
                conn.execute(insert(FEEDS), fresh)
            for code, url in sources.items():
                if code in known and known[code] != url:
                    conn.execute(
                        update(FEEDS)
                        .where(FEEDS.c.unit_code == code)
                        .values(
                            url=url,
                            etag=None,
                            last_modified=None,
                            initialized=False,
                            next_poll_at=now,
                            error_count=0,
                            last_error=None,
                            failing_since=None,
                            reported_at=None,
                        )
                    )

    def feed(self, unit_code: str) -> FeedState | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(FEEDS).where(FEEDS.c.unit_code == unit_code)).first()
        return FeedState._from_row(row) if row else None

    def feeds(self) -> list[FeedState]:
        with self.engine.connect() as conn:
            return [FeedState._from_row(r) for r in conn.execute(select(FEEDS))]

    def due_feeds(self, now: dt.datetime, units: set[str]) -> list[FeedState]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(FEEDS).where(FEEDS.c.next_poll_at <= now).order_by(FEEDS.c.next_poll_at)
            ).all()
        return [FeedState._from_row(r) for r in rows if r.unit_code in units]

    def next_poll_at(self, units: set[str]) -> dt.datetime | None:
        with self.engine.connect() as conn:
            rows = conn.execute(select(FEEDS.c.unit_code, FEEDS.c.next_poll_at)).all()
        times = [utc(t) for code, t in rows if code in units]
        return min(times) if times else None

    def feed_ok(
        self,
        unit_code: str,
        now: dt.datetime,
        next_poll_at: dt.datetime,
        etag: str | None,
        last_modified: str | None,
    ) -> FeedState | None:
        """Record a good answer (200 or 304); the state before, to see a recovery."""
        before = self.feed(unit_code)
        with self.engine.begin() as conn:
            conn.execute(
                update(FEEDS)
                .where(FEEDS.c.unit_code == unit_code)
                .values(
                    etag=(etag or None) and etag[:255],
                    last_modified=(last_modified or None) and last_modified[:64],
                    initialized=True,
                    next_poll_at=next_poll_at,
                    error_count=0,
                    last_error=None,
                    failing_since=None,
                    reported_at=None,
                    last_success_at=now,
                )
            )
        return before

    def feed_failed(
        self, unit_code: str, now: dt.datetime, error: str, next_poll_at: dt.datetime
    ) -> FeedState:
        with self.engine.begin() as conn:
            conn.execute(
                update(FEEDS)
                .where(FEEDS.c.unit_code == unit_code)
                .values(
                    error_count=FEEDS.c.error_count + 1,
                    last_error=error[:2000],
                    failing_since=func.coalesce(FEEDS.c.failing_since, now),
                    next_poll_at=next_poll_at,
                )
            )
        state = self.feed(unit_code)
        assert state is not None
        return state

    def feed_reported(self, unit_code: str, now: dt.datetime) -> bool:
        """Mark the failure as reported; False if it already was (reported once only)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(FEEDS)
                .where(FEEDS.c.unit_code == unit_code, FEEDS.c.reported_at.is_(None))
                .values(reported_at=now)
            )
        return done.rowcount == 1

    def reschedule(self, unit_code: str, next_poll_at: dt.datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(FEEDS)
                .where(FEEDS.c.unit_code == unit_code)
                .values(next_poll_at=next_poll_at)
            )

    # ------------------------------------------------------------------ items

    def store_feed_items(
        self, unit_code: str, items: list[FeedItem], now: dt.datetime
    ) -> list[NewsItem]:
        """Keep every item of a feed; those the feed lists for the first time, newest first."""
        if not items:
            return []
        keys = {item.key: item for item in items}
        with self.engine.begin() as conn:
            existing: dict[str, tuple[int, dt.datetime | None]] = {}
            for chunk in _chunks(keys):
                for row in conn.execute(
                    select(ITEMS.c.item_key, ITEMS.c.id, ITEMS.c.in_feed_at).where(
                        ITEMS.c.unit_code == unit_code, ITEMS.c.item_key.in_(chunk)
                    )
                ):
                    existing[row.item_key] = (row.id, row.in_feed_at)
            fresh = [
                {
                    "unit_code": unit_code,
                    "item_key": key,
                    "item_id": item.item_id,
                    "source": "feed",
                    "title": item.title[:500],
                    "link": item.link,
                    "summary_html": item.summary_html,
                    "summary_text": item.summary_text,
                    "image_url": item.image_url,
                    "published_at": item.published,
                    "first_seen_at": now,
                    "in_feed_at": now,
                }
                for key, item in keys.items()
                if key not in existing
            ]
            if fresh:
                conn.execute(insert(ITEMS), fresh)
            pushed_first = [rid for rid, in_feed in existing.values() if in_feed is None]
            for chunk in _chunks(pushed_first):
                conn.execute(update(ITEMS).where(ITEMS.c.id.in_(chunk)).values(in_feed_at=now))
            new_keys = [f["item_key"] for f in fresh] + [
                k for k, (_, in_feed) in existing.items() if in_feed is None
            ]
            found: dict[str, NewsItem] = {}
            for chunk in _chunks(new_keys):
                for row in conn.execute(
                    select(ITEMS).where(ITEMS.c.unit_code == unit_code, ITEMS.c.item_key.in_(chunk))
                ):
                    found[row.item_key] = _item(row)
        return [found[item.key] for item in items if item.key in found]

    def store_pushed_item(
        self,
        unit_code: str,
        item_id: str,
        *,
        title: str,
        link: str | None,
        summary_html: str,
        summary_text: str,
        image_url: str | None,
        published: dt.datetime | None,
        now: dt.datetime,
    ) -> NewsItem:
        """An item a portal pushed (webhook): stored once by its id; the first copy wins."""
        key = item_key(item_id)
        values = {
            "unit_code": unit_code,
            "item_key": key,
            "item_id": item_id,
            "source": "webhook",
            "title": title[:500],
            "link": link,
            "summary_html": summary_html,
            "summary_text": summary_text,
            "image_url": image_url,
            "published_at": published,
            "first_seen_at": now,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(ITEMS).values(**values))
        except IntegrityError:
            pass  # already there (a retry, or the feed saw it first)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(ITEMS).where(ITEMS.c.unit_code == unit_code, ITEMS.c.item_key == key)
            ).one()
        return _item(row)

    def items(self, ids: Iterable[int]) -> dict[int, NewsItem]:
        found: dict[int, NewsItem] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(set(ids)):
                for row in conn.execute(select(ITEMS).where(ITEMS.c.id.in_(chunk))):
                    found[row.id] = _item(row)
        return found

    def recent_items(self, unit_codes: Iterable[str], limit: int = 30) -> list[NewsItem]:
        """The newest items of these portals (by date, then by when first seen)."""
        codes = list(unit_codes)
        if not codes:
            return []
        when = func.coalesce(ITEMS.c.published_at, ITEMS.c.first_seen_at)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ITEMS)
                .where(ITEMS.c.unit_code.in_(codes))
                .order_by(when.desc(), ITEMS.c.id.desc())
                .limit(limit)
            ).all()
        return [_item(r) for r in rows]

    def item_units(self) -> set[str]:
        """Units that have at least one stored item."""
        with self.engine.connect() as conn:
            return set(conn.scalars(select(ITEMS.c.unit_code).distinct()))

    # ------------------------------------------------------------------ deliveries

    def claim_delivery(
        self,
        item_id: int,
        room_id: str,
        unit_code: str,
        via: str,
        by_user_id: str | None,
        now: dt.datetime,
    ) -> tuple[Delivery, bool]:
        """The delivery of an item into a room, created if new: (delivery, created)."""
        created = True
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(DELIVERIES).values(
                        item_id=item_id,
                        room_id=room_id,
                        unit_code=unit_code,
                        via=via,
                        by_user_id=by_user_id,
                        status="pending",
                        attempts=0,
                        created_at=now,
                    )
                )
        except IntegrityError:
            created = False
        with self.engine.connect() as conn:
            row = conn.execute(
                select(DELIVERIES).where(
                    DELIVERIES.c.item_id == item_id, DELIVERIES.c.room_id == room_id
                )
            ).one()
        return Delivery._from_row(row), created

    def delivery(self, delivery_id: int) -> Delivery | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(DELIVERIES).where(DELIVERIES.c.id == delivery_id)).first()
        return Delivery._from_row(row) if row else None

    def delivery_attempt(self, delivery_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.id == delivery_id)
                .values(attempts=DELIVERIES.c.attempts + 1)
            )

    def delivery_text_sent(self, delivery_id: int, event_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(DELIVERIES).where(DELIVERIES.c.id == delivery_id).values(event_id=event_id)
            )

    def delivery_sent(
        self, delivery_id: int, event_id: str, image_event_id: str | None, now: dt.datetime
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.id == delivery_id)
                .values(
                    status="sent",
                    event_id=event_id,
                    image_event_id=image_event_id,
                    error=None,
                    sent_at=now,
                )
            )

    def delivery_failed(self, delivery_id: int, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.id == delivery_id)
                .values(status="failed", error=error[:2000])
            )

    def unfinished_deliveries(self, since: dt.datetime, max_attempts: int) -> list[Delivery]:
        """Deliveries to retry: not sent, recent, not tried too often."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(DELIVERIES)
                .where(
                    DELIVERIES.c.status.in_(["pending", "failed"]),
                    DELIVERIES.c.created_at >= since,
                    DELIVERIES.c.attempts < max_attempts,
                )
                .order_by(DELIVERIES.c.id)
            ).all()
        return [Delivery._from_row(r) for r in rows]

    def deliveries_of(self, item_ids: Iterable[int]) -> dict[int, list[Delivery]]:
        found: dict[int, list[Delivery]] = defaultdict(list)
        with self.engine.connect() as conn:
            for chunk in _chunks(set(item_ids)):
                for row in conn.execute(
                    select(DELIVERIES)
                    .where(DELIVERIES.c.item_id.in_(chunk))
                    .order_by(DELIVERIES.c.id)
                ):
                    found[row.item_id].append(Delivery._from_row(row))
        return found

    def recent_sendings(
        self, unit_codes: Iterable[str], limit: int = 20
    ) -> list[tuple[Delivery, NewsItem]]:
        """Deliveries made on request (admin page, webhook) into these units, newest first."""
        codes = list(unit_codes)
        if not codes:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(DELIVERIES, ITEMS)
                .join(ITEMS, ITEMS.c.id == DELIVERIES.c.item_id)
                .where(DELIVERIES.c.unit_code.in_(codes), DELIVERIES.c.via != "feed")
                .order_by(DELIVERIES.c.id.desc())
                .limit(limit)
            ).all()
        out = []
        for row in rows:
            m = row._mapping
            delivery = Delivery(
                m[DELIVERIES.c.id],
                m[DELIVERIES.c.item_id],
                m[DELIVERIES.c.room_id],
                m[DELIVERIES.c.unit_code],
                m[DELIVERIES.c.via],
                m[DELIVERIES.c.by_user_id],
                m[DELIVERIES.c.status],
                m[DELIVERIES.c.event_id],
                m[DELIVERIES.c.image_event_id],
                m[DELIVERIES.c.attempts],
                m[DELIVERIES.c.error],
                utc(m[DELIVERIES.c.created_at]),
                utc(m[DELIVERIES.c.sent_at]),
            )
            item = NewsItem(
                m[ITEMS.c.id],
                m[ITEMS.c.unit_code],
                m[ITEMS.c.item_id],
                m[ITEMS.c.source],
                m[ITEMS.c.title],
                m[ITEMS.c.link],
                m[ITEMS.c.summary_html],
                m[ITEMS.c.summary_text],
                m[ITEMS.c.image_url],
                utc(m[ITEMS.c.published_at]),
                utc(m[ITEMS.c.first_seen_at]),
            )
            out.append((delivery, item))
        return out

    # ------------------------------------------------------------------ ghosts

    def ghost(self, user_id: str) -> tuple[str | None, bool] | None:
        """(displayname, device_ready) of a known ghost."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(GHOSTS.c.displayname, GHOSTS.c.device_ready).where(
                    GHOSTS.c.user_id == user_id
                )
            ).first()
        return (row.displayname, bool(row.device_ready)) if row else None

    def save_ghost(
        self, user_id: str, unit_code: str, displayname: str | None, device_ready: bool
    ) -> None:
        values = {"unit_code": unit_code, "displayname": displayname, "device_ready": device_ready}
        with self.engine.begin() as conn:
            done = conn.execute(update(GHOSTS).where(GHOSTS.c.user_id == user_id).values(**values))
            if done.rowcount == 0:
                conn.execute(insert(GHOSTS).values(user_id=user_id, **values))

    def ghost_rooms(self, user_id: str) -> set[str]:
        with self.engine.connect() as conn:
            return set(
                conn.scalars(select(GHOST_ROOMS.c.room_id).where(GHOST_ROOMS.c.user_id == user_id))
            )

    def ghost_room_ready(self, user_id: str, room_id: str, now: dt.datetime) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(GHOST_ROOMS).values(user_id=user_id, room_id=room_id, ready_at=now)
                )
        except IntegrityError:
            pass

    def forget_ghost_room(self, user_id: str, room_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(GHOST_ROOMS).where(
                    GHOST_ROOMS.c.user_id == user_id, GHOST_ROOMS.c.room_id == room_id
                )
            )

    # ------------------------------------------------------------------ media

    def media(self, url_hash: str) -> tuple[Image | None, str | None, dt.datetime] | None:
        """(image, error, fetched_at) for an image URL already handled."""
        with self.engine.connect() as conn:
            row = conn.execute(select(MEDIA).where(MEDIA.c.url_hash == url_hash)).first()
        if row is None:
            return None
        image = None
        if row.mxc:
            image = Image(
                row.mxc,
                row.mimetype or "image/jpeg",
                row.size or 0,
                row.width,
                row.height,
                image_filename(row.url, row.mimetype),
            )
        return image, row.error, utc(row.fetched_at)

    def save_media(
        self,
        url_hash: str,
        url: str,
        image: Image | None,
        error: str | None,
        now: dt.datetime,
    ) -> None:
        values = {
            "url": url,
            "mxc": image.mxc if image else None,
            "mimetype": image.mimetype if image else None,
            "size": image.size if image else None,
            "width": image.width if image else None,
            "height": image.height if image else None,
            "error": error,
            "fetched_at": now,
        }
        with self.engine.begin() as conn:
            done = conn.execute(update(MEDIA).where(MEDIA.c.url_hash == url_hash).values(**values))
            if done.rowcount == 0:
                conn.execute(insert(MEDIA).values(url_hash=url_hash, **values))

    # ------------------------------------------------------------------ webhook tokens

    def add_token(
        self, unit_code: str, token_hash: str, now: dt.datetime, *, revoke_others: bool
    ) -> int:
        """Store a token's hash; with ``revoke_others``, the unit's older tokens stop working.
        The number of tokens revoked."""
        with self.engine.begin() as conn:
            revoked = 0
            if revoke_others:
                revoked = conn.execute(
                    update(TOKENS)
                    .where(TOKENS.c.unit_code == unit_code, TOKENS.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                ).rowcount
            conn.execute(
                insert(TOKENS).values(unit_code=unit_code, token_hash=token_hash, created_at=now)
            )
        return revoked

    def revoke_tokens(self, unit_code: str, now: dt.datetime) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                update(TOKENS)
                .where(TOKENS.c.unit_code == unit_code, TOKENS.c.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount

    def unit_of_token(self, token_hash: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.scalar(
                select(TOKENS.c.unit_code).where(
                    TOKENS.c.token_hash == token_hash, TOKENS.c.revoked_at.is_(None)
                )
            )

    # ------------------------------------------------------------------ admin sessions

    def create_session(
        self,
        token_hash: str,
        user_id: str,
        person_id: int,
        csrf_token: str,
        now: dt.datetime,
        expires_at: dt.datetime,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(SESSIONS).where(SESSIONS.c.expires_at < now))
            conn.execute(
                insert(SESSIONS).values(
                    token_hash=token_hash,
                    user_id=user_id,
                    person_id=person_id,
                    csrf_token=csrf_token,
                    created_at=now,
                    expires_at=expires_at,
                )
            )

    def session(self, token_hash: str, now: dt.datetime) -> Session | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(SESSIONS).where(
                    and_(SESSIONS.c.token_hash == token_hash, SESSIONS.c.expires_at > now)
                )
            ).first()
        if row is None:
            return None
        return Session(row.user_id, row.person_id, row.csrf_token, utc(row.expires_at))

    def delete_session(self, token_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(SESSIONS).where(SESSIONS.c.token_hash == token_hash))

    def delete_sessions_of(self, user_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(SESSIONS).where(SESSIONS.c.user_id == user_id))


def image_filename(url: str, mimetype: str | None) -> str:
    tail = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if tail and "." in tail and len(tail) <= 80:
        return tail
    ext = {"image/png": "png", "image/gif": "gif", "image/webp": "webp"}.get(mimetype or "", "jpg")
    return f"anh.{ext}"
