"""``bridge_items``: every news item a portal gave us, from its feed or its CMS webhook.

An item is stored once per (unit, key), the key being the sha256 of its identity (guid,
else link, else a hash of its content): a restart, a retry or the feed listing again what
the webhook pushed never makes a second item.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, fields

from sqlalchemy import (
    Engine,
    Index,
    Row,
    String,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bridge.db import chunks, columns
from bridge.feeds import FeedItem, item_key
from provisioning.db.models import Base
from provisioning.db.threads import in_thread
from provisioning.db.types import UtcDateTime


class BridgeItem(Base):
    """A news item of one unit's portal, from its feed or its CMS webhook."""

    __tablename__ = "bridge_items"
    __table_args__ = (
        UniqueConstraint("unit_code", "item_key"),
        Index("ix_bridge_items_unit_code_first_seen_at", "unit_code", "first_seen_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(64))
    # sha256 of item_id: the identity (guid, else link, else a hash of the content)
    item_key: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # feed | webhook
    title: Mapped[str] = mapped_column(String(500))
    link: Mapped[str | None] = mapped_column(String(1000))
    summary_html: Mapped[str] = mapped_column(Text, default="")  # sanitised
    summary_text: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str | None] = mapped_column(String(1000))
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # when the unit's own feed first listed it (its own news room gets it then, once)
    in_feed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


ITEMS = BridgeItem.__table__


@dataclass(slots=True)
class NewsItem:
    """A news item as the bridge keeps it (what is posted, and who posts it)."""

    id: int  # row id
    unit_code: str  # the portal it comes from (whose ghost posts it)
    item_id: str  # guid / link / hash, or the CMS's id
    source: str  # feed | webhook
    title: str
    link: str | None
    summary_html: str  # sanitised
    summary_text: str
    image_url: str | None
    published_at: dt.datetime | None
    first_seen_at: dt.datetime

    @property
    def date(self) -> dt.datetime:
        return self.published_at or self.first_seen_at

    @classmethod
    def _from_row(cls, row: Row) -> NewsItem:
        return cls(**columns(row, ITEMS, _FIELDS))

    # ------------------------------------------------------------------ reading

    @classmethod
    @in_thread
    def get_many(cls, engine: Engine, ids: Iterable[int]) -> dict[int, NewsItem]:
        """The items of these row ids that exist, by id."""
        found: dict[int, NewsItem] = {}
        with engine.connect() as conn:
            for chunk in chunks(set(ids)):
                for row in conn.execute(select(ITEMS).where(ITEMS.c.id.in_(chunk))):
                    found[row.id] = cls._from_row(row)
        return found

    @classmethod
    @in_thread
    def recent(cls, engine: Engine, unit_codes: Iterable[str], limit: int = 30) -> list[NewsItem]:
        """The newest items of these portals (by date, then by when first seen)."""
        codes = list(unit_codes)
        if not codes:
            return []
        when = func.coalesce(ITEMS.c.published_at, ITEMS.c.first_seen_at)
        with engine.connect() as conn:
            rows = conn.execute(
                select(ITEMS)
                .where(ITEMS.c.unit_code.in_(codes))
                .order_by(when.desc(), ITEMS.c.id.desc())
                .limit(limit)
            ).all()
        return [cls._from_row(r) for r in rows]

    @classmethod
    @in_thread
    def units_with_items(cls, engine: Engine) -> set[str]:
        """Units that have at least one stored item."""
        with engine.connect() as conn:
            return set(conn.scalars(select(ITEMS.c.unit_code).distinct()))

    # ------------------------------------------------------------------ storing

    @classmethod
    @in_thread
    def store_from_feed(
        cls, engine: Engine, unit_code: str, items: list[FeedItem], now: dt.datetime
    ) -> list[NewsItem]:
        """Keep every item of a feed; those the feed lists for the first time, newest first."""
        if not items:
            return []
        keys = {item.key: item for item in items}
        with engine.begin() as conn:
            existing = _known(conn, unit_code, keys)
            fresh = [
                _feed_values(unit_code, key, item, now)
                for key, item in keys.items()
                if key not in existing
            ]
            if fresh:
                conn.execute(insert(ITEMS), fresh)
            # items pushed by the webhook before: listed by the feed for the first time now
            pushed_first = [k for k, (_, in_feed) in existing.items() if in_feed is None]
            for chunk in chunks(existing[k][0] for k in pushed_first):
                conn.execute(update(ITEMS).where(ITEMS.c.id.in_(chunk)).values(in_feed_at=now))
            found = _by_key(conn, unit_code, [f["item_key"] for f in fresh] + pushed_first)
        return [found[item.key] for item in items if item.key in found]

    @classmethod
    @in_thread
    def store_pushed(
        cls,
        engine: Engine,
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
            with engine.begin() as conn:
                conn.execute(insert(ITEMS).values(**values))
        except IntegrityError:
            pass  # already there (a retry, or the feed saw it first)
        with engine.connect() as conn:
            return _by_key(conn, unit_code, [key])[key]


_FIELDS = [f.name for f in fields(NewsItem)]


def _known(
    conn: Connection, unit_code: str, keys: Iterable[str]
) -> dict[str, tuple[int, dt.datetime | None]]:
    """key → (row id, in_feed_at) of the unit's items already stored."""
    existing: dict[str, tuple[int, dt.datetime | None]] = {}
    for chunk in chunks(keys):
        for row in conn.execute(
            select(ITEMS.c.item_key, ITEMS.c.id, ITEMS.c.in_feed_at).where(
                ITEMS.c.unit_code == unit_code, ITEMS.c.item_key.in_(chunk)
            )
        ):
            existing[row.item_key] = (row.id, row.in_feed_at)
    return existing


def _by_key(conn: Connection, unit_code: str, keys: Iterable[str]) -> dict[str, NewsItem]:
    found: dict[str, NewsItem] = {}
    for chunk in chunks(keys):
        for row in conn.execute(
            select(ITEMS).where(ITEMS.c.unit_code == unit_code, ITEMS.c.item_key.in_(chunk))
        ):
            found[row.item_key] = NewsItem._from_row(row)
    return found


def _feed_values(unit_code: str, key: str, item: FeedItem, now: dt.datetime) -> dict:
    return {
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
