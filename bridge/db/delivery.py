"""``bridge_deliveries``: one item into one room, claimed before the send.

The row exists before the first send, so a retry (or a second request for the same item
and room) finds it and never sends twice; ``status`` says how far it got.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields

from sqlalchemy import (
    Engine,
    ForeignKey,
    Integer,
    Row,
    String,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bridge.db import chunks, columns
from bridge.db.item import ITEMS, NewsItem
from provisioning.db.models import Base
from provisioning.db.threads import in_thread
from provisioning.db.types import UtcDateTime


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
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


DELIVERIES = BridgeDelivery.__table__


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
    def _from_row(cls, row: Row) -> Delivery:
        return cls(**columns(row, DELIVERIES, _FIELDS))

    # ------------------------------------------------------------------ reading

    @classmethod
    @in_thread
    def get(cls, engine: Engine, delivery_id: int) -> Delivery | None:
        with engine.connect() as conn:
            row = conn.execute(select(DELIVERIES).where(DELIVERIES.c.id == delivery_id)).first()
        return cls._from_row(row) if row else None

    @classmethod
    @in_thread
    def unfinished(cls, engine: Engine, since: dt.datetime, max_attempts: int) -> list[Delivery]:
        """Deliveries to retry: not sent, recent, not tried too often."""
        with engine.connect() as conn:
            rows = conn.execute(
                select(DELIVERIES)
                .where(
                    DELIVERIES.c.status.in_(["pending", "failed"]),
                    DELIVERIES.c.created_at >= since,
                    DELIVERIES.c.attempts < max_attempts,
                )
                .order_by(DELIVERIES.c.id)
            ).all()
        return [cls._from_row(r) for r in rows]

    @classmethod
    @in_thread
    def of_items(cls, engine: Engine, item_ids: Iterable[int]) -> dict[int, list[Delivery]]:
        """item row id → its deliveries, oldest first."""
        found: dict[int, list[Delivery]] = defaultdict(list)
        with engine.connect() as conn:
            for chunk in chunks(set(item_ids)):
                for row in conn.execute(
                    select(DELIVERIES)
                    .where(DELIVERIES.c.item_id.in_(chunk))
                    .order_by(DELIVERIES.c.id)
                ):
                    found[row.item_id].append(cls._from_row(row))
        return found

    @classmethod
    @in_thread
    def recent_requested(
        cls, engine: Engine, unit_codes: Iterable[str], limit: int = 20
    ) -> list[tuple[Delivery, NewsItem]]:
        """Deliveries made on request (admin page, webhook) into these units, newest first."""
        codes = list(unit_codes)
        if not codes:
            return []
        with engine.connect() as conn:
            rows = conn.execute(
                select(DELIVERIES, ITEMS)
                .join(ITEMS, ITEMS.c.id == DELIVERIES.c.item_id)
                .where(DELIVERIES.c.unit_code.in_(codes), DELIVERIES.c.via != "feed")
                .order_by(DELIVERIES.c.id.desc())
                .limit(limit)
            ).all()
        return [(cls._from_row(row), NewsItem._from_row(row)) for row in rows]

    # ------------------------------------------------------------------ writing

    @classmethod
    @in_thread
    def claim(
        cls,
        engine: Engine,
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
            with engine.begin() as conn:
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
        with engine.connect() as conn:
            row = conn.execute(
                select(DELIVERIES).where(
                    DELIVERIES.c.item_id == item_id, DELIVERIES.c.room_id == room_id
                )
            ).one()
        return cls._from_row(row), created

    @classmethod
    @in_thread
    def count_attempt(cls, engine: Engine, delivery_id: int) -> None:
        _set(engine, delivery_id, attempts=DELIVERIES.c.attempts + 1)

    @classmethod
    @in_thread
    def mark_sent(
        cls,
        engine: Engine,
        delivery_id: int,
        event_id: str,
        image_event_id: str | None,
        now: dt.datetime,
    ) -> None:
        _set(
            engine,
            delivery_id,
            status="sent",
            event_id=event_id,
            image_event_id=image_event_id,
            error=None,
            sent_at=now,
        )

    @classmethod
    @in_thread
    def mark_failed(cls, engine: Engine, delivery_id: int, error: str) -> None:
        _set(engine, delivery_id, status="failed", error=error[:2000])


_FIELDS = [f.name for f in fields(Delivery)]


def _set(engine: Engine, delivery_id: int, **values) -> None:
    with engine.begin() as conn:
        conn.execute(update(DELIVERIES).where(DELIVERIES.c.id == delivery_id).values(**values))
