"""The bridge's tables (bridge/db/migrations): feeds, relayed items, deliveries, ghosts, tokens.

Everything the news relay must remember across restarts lives here, in rows (maubot/rss
style): a feed's conditional-request validators and backoff, every item it has seen, and
every (item, room) it has delivered — so that a restart never reposts anything.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from provisioning.db.models import Base

__all__ = [
    "BridgeAdminSession",
    "BridgeDelivery",
    "BridgeFeed",
    "BridgeGhost",
    "BridgeGhostRoom",
    "BridgeItem",
    "BridgeMedia",
    "BridgeWebhookToken",
]


class BridgeFeed(Base):
    """One unit's RSS/Atom feed: validators, schedule, backoff and failure reporting."""

    __tablename__ = "bridge_feeds"

    unit_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    etag: Mapped[str | None] = mapped_column(String(255))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    # False until the feed was read once (its back catalogue is then stored, not posted)
    initialized: Mapped[bool] = mapped_column(Boolean, default=False)
    next_poll_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    failing_since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # set when the failure was reported to the unit's managers; cleared on recovery
    reported_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


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
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    first_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # when the unit's own feed first listed it (its own news room gets it then, once)
    in_feed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class BridgeDelivery(Base):
    """One item into one room: stored before the send, so a retry never duplicates it."""

    __tablename__ = "bridge_deliveries"
    __table_args__ = (UniqueConstraint("item_id", "room_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("bridge_items.id", ondelete="CASCADE"))
    room_id: Mapped[str] = mapped_column(String(255))
    unit_code: Mapped[str] = mapped_column(String(64), index=True)
    via: Mapped[str] = mapped_column(String(16))  # feed | webhook | admin
    by_user_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | sent | failed
    event_id: Mapped[str | None] = mapped_column(String(255))
    image_event_id: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class BridgeGhost(Base):
    """The Matrix user that speaks for one unit's portal ("Cổng TTĐT …")."""

    __tablename__ = "bridge_ghosts"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(64), unique=True)
    displayname: Mapped[str | None] = mapped_column(String(255))
    device_ready: Mapped[bool] = mapped_column(Boolean, default=False)


class BridgeGhostRoom(Base):
    """A room the ghost was joined to and given power to post in."""

    __tablename__ = "bridge_ghost_rooms"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    ready_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class BridgeMedia(Base):
    """A lead image uploaded to the media repository once, by its source URL."""

    __tablename__ = "bridge_media"

    url_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    mxc: Mapped[str | None] = mapped_column(String(255))
    mimetype: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)  # why it was left out (retried later)
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class BridgeWebhookToken(Base):
    """A portal's webhook token (only its sha256 is kept)."""

    __tablename__ = "bridge_webhook_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(64), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class BridgeAdminSession(Base):
    """A logged-in admin of the "Gửi thông báo" page (only the cookie's sha256 is kept)."""

    __tablename__ = "bridge_admin_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255))
    person_id: Mapped[int] = mapped_column(Integer)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
