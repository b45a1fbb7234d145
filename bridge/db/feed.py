"""``bridge_feeds``: one unit's RSS/Atom feed, its validators, schedule and backoff.

A feed's state lives in its row (maubot/rss style), so that a restart neither reposts nor
forgets a failure already reported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from sqlalchemy import (
    Boolean,
    Engine,
    Integer,
    Row,
    String,
    Text,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from bridge.db import columns
from provisioning.db.models import Base
from provisioning.db.threads import in_thread
from provisioning.db.types import UtcDateTime


class BridgeFeed(Base):
    """One unit's RSS/Atom feed: validators, schedule, backoff and failure reporting."""

    __tablename__ = "bridge_feeds"

    unit_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    etag: Mapped[str | None] = mapped_column(String(255))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    # False until the feed was read once (its back catalogue is then stored, not posted)
    initialized: Mapped[bool] = mapped_column(Boolean, default=False)
    next_poll_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    failing_since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # set when the failure was reported to the unit's managers; cleared on recovery
    reported_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


FEEDS = BridgeFeed.__table__

#: What a feed's row is reset to when it is seen for the first time (or its URL changed).
_FIRST_SIGHT = {
    "etag": None,
    "last_modified": None,
    "initialized": False,
    "error_count": 0,
    "last_error": None,
    "failing_since": None,
    "reported_at": None,
}


@dataclass(slots=True)
class Feed:
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
    def _from_row(cls, row: Row) -> Feed:
        return cls(**columns(row, FEEDS, _FIELDS))

    # ------------------------------------------------------------------ reading

    @classmethod
    @in_thread
    def get(cls, engine: Engine, unit_code: str) -> Feed | None:
        with engine.connect() as conn:
            return cls._get(conn, unit_code)

    @classmethod
    def _get(cls, conn: Connection, unit_code: str) -> Feed | None:
        row = conn.execute(select(FEEDS).where(FEEDS.c.unit_code == unit_code)).first()
        return cls._from_row(row) if row else None

    @classmethod
    @in_thread
    def all(cls, engine: Engine) -> list[Feed]:
        with engine.connect() as conn:
            return [cls._from_row(r) for r in conn.execute(select(FEEDS))]

    @classmethod
    @in_thread
    def due(cls, engine: Engine, now: dt.datetime, units: set[str]) -> list[Feed]:
        """The feeds of ``units`` due at ``now``, the longest waiting first."""
        with engine.connect() as conn:
            rows = conn.execute(
                select(FEEDS).where(FEEDS.c.next_poll_at <= now).order_by(FEEDS.c.next_poll_at)
            ).all()
        return [cls._from_row(r) for r in rows if r.unit_code in units]

    @classmethod
    @in_thread
    def first_due_at(cls, engine: Engine, units: set[str]) -> dt.datetime | None:
        """When the first of the feeds of ``units`` is due."""
        with engine.connect() as conn:
            rows = conn.execute(select(FEEDS.c.unit_code, FEEDS.c.next_poll_at)).all()
        times = [when for code, when in rows if code in units]
        return min(times) if times else None

    # ------------------------------------------------------------------ writing

    @classmethod
    @in_thread
    def sync(cls, engine: Engine, sources: dict[str, str], now: dt.datetime) -> None:
        """Make a row for each unit's feed URL; a changed URL starts over (first sight)."""
        with engine.begin() as conn:
            known = dict(conn.execute(select(FEEDS.c.unit_code, FEEDS.c.url)).all())
            fresh = [
                {"unit_code": code, "url": url, "next_poll_at": now, **_FIRST_SIGHT}
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
                        .values(url=url, next_poll_at=now, **_FIRST_SIGHT)
                    )

    @classmethod
    @in_thread
    def record_ok(
        cls,
        engine: Engine,
        unit_code: str,
        now: dt.datetime,
        next_poll_at: dt.datetime,
        etag: str | None,
        last_modified: str | None,
    ) -> Feed | None:
        """Record a good answer (200 or 304); the state before, to see a recovery."""
        with engine.begin() as conn:
            before = cls._get(conn, unit_code)
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

    @classmethod
    @in_thread
    def record_failure(
        cls, engine: Engine, unit_code: str, now: dt.datetime, error: str, next_poll_at: dt.datetime
    ) -> Feed:
        """Count one more failure in a row; the state after."""
        with engine.begin() as conn:
            conn.execute(
                update(FEEDS)
                .where(FEEDS.c.unit_code == unit_code)
                .values(
                    error_count=FEEDS.c.error_count + 1,
                    last_error=error[:2000],
                    # typed, so that UtcDateTime stores it in UTC like any other time
                    failing_since=func.coalesce(FEEDS.c.failing_since, literal(now, UtcDateTime)),
                    next_poll_at=next_poll_at,
                )
            )
            state = cls._get(conn, unit_code)
        assert state is not None
        return state

    @classmethod
    @in_thread
    def mark_reported(cls, engine: Engine, unit_code: str, now: dt.datetime) -> bool:
        """Mark the failure as reported; False if it already was (reported once only)."""
        with engine.begin() as conn:
            done = conn.execute(
                update(FEEDS)
                .where(FEEDS.c.unit_code == unit_code, FEEDS.c.reported_at.is_(None))
                .values(reported_at=now)
            )
        return done.rowcount == 1


_FIELDS = [f.name for f in fields(Feed)]
