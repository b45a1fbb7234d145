"""Deliveries of directives: one event (plus its attachments) into one room — a covering
room, a person's inbox, or a reminder in that inbox. Planned with their directive before
the first send; the sender worker fills in where each went."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import (
    Connection,
    Engine,
    ForeignKey,
    Integer,
    String,
    Text,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import in_thread, utcnow
from provisioning.db.models import Base
from provisioning.db.types import UtcDateTime


class DeliveryTable(Base):
    """One event (plus its attachments) of a directive into one room."""

    __tablename__ = "directive_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    directive_id: Mapped[int] = mapped_column(
        ForeignKey("directives.id", ondelete="CASCADE"), index=True
    )
    # room | inbox (the card) | reminder (!nhacnho) | a kind's own (bot.directives.cards)
    kind: Mapped[str] = mapped_column(String(16))
    room_key: Mapped[str | None] = mapped_column(String(255))
    room_id: Mapped[str | None] = mapped_column(String(255), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    event_id: Mapped[str | None] = mapped_column(String(255), index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[str | None] = mapped_column(String(255))  # a family inbox's (no person)


T = DeliveryTable.__table__


@dataclass
class Delivery:
    id: int
    directive_id: int
    kind: str
    room_key: str | None
    room_id: str | None  # known up front for a room; for an inbox once sent
    person_id: int | None  # whose inbox (inbox, reminder)
    event_id: str | None  # the first event sent; None while pending
    sent_at: dt.datetime | None
    attempts: int
    error: str | None
    user_id: str | None = None  # whose family inbox (person_id is None then)

    #: A delivery that failed this often is left alone.
    MAX_ATTEMPTS: ClassVar[int] = 20

    @classmethod
    def _from_row(cls, row: Any) -> Delivery | None:
        return None if row is None else cls(**row._mapping)

    @classmethod
    def _insert(cls, conn: Connection, directive_id: int, kind: str, **where: Any) -> int:
        """Plan one delivery inside the caller's transaction; its id."""
        return conn.execute(
            insert(T)
            .values(directive_id=directive_id, kind=kind, attempts=0, **where)
            .returning(T.c.id)
        ).scalar_one()

    @classmethod
    @in_thread
    def add_reminders(
        cls, engine: Engine, directive_id: int, person_ids: list[int], kind: str = "reminder"
    ) -> int:
        """Plan reminder deliveries (one inbox event each, of ``kind``); how many."""
        with engine.begin() as conn:
            for pid in sorted(person_ids):
                cls._insert(conn, directive_id, kind, person_id=pid)
        return len(person_ids)

    @classmethod
    @in_thread
    def add_family_reminders(
        cls, engine: Engine, directive_id: int, user_ids: list[str], kind: str = "reminder"
    ) -> int:
        """Plan reminders to family accounts (one family inbox event each); how many."""
        with engine.begin() as conn:
            for user in sorted(user_ids):
                cls._insert(conn, directive_id, kind, user_id=user)
        return len(user_ids)

    @classmethod
    @in_thread
    def by_event(cls, engine: Engine, room_id: str, event_id: str) -> Delivery | None:
        """The delivery whose (first) event this is: a reaction or a reply to it is about its
        directive."""
        with engine.connect() as conn:
            return cls._from_row(
                conn.execute(
                    select(T).where(T.c.room_id == room_id, T.c.event_id == event_id)
                ).first()
            )

    @classmethod
    @in_thread
    def pending(cls, engine: Engine, limit: int = 2000) -> list[Delivery]:
        """Deliveries not yet sent (and not given up on), oldest first."""
        with engine.connect() as conn:
            rows = conn.execute(
                select(T)
                .where(T.c.event_id.is_(None), T.c.attempts < cls.MAX_ATTEMPTS)
                .order_by(T.c.id)
                .limit(limit)
            )
            return [cls._from_row(row) for row in rows]

    @classmethod
    @in_thread
    def mark_sent_many(cls, engine: Engine, sent: list[tuple[int, str, str]]) -> None:
        """Record several sent deliveries (id, room id, event id) in one transaction."""
        at = utcnow()
        with engine.begin() as conn:
            conn.execute(
                update(T)
                .where(T.c.id == bindparam("delivery_id"))
                .values(
                    room_id=bindparam("sent_room"),
                    event_id=bindparam("sent_event"),
                    sent_at=at,
                    error=None,
                ),
                [{"delivery_id": d, "sent_room": r, "sent_event": e} for d, r, e in sent],
            )

    @classmethod
    @in_thread
    def give_up(cls, engine: Engine, delivery_id: int, error: str) -> None:
        """Record a delivery that can never go (the bot is not in its room), with why: it
        is not tried again, and its directive finishes without it."""
        with engine.begin() as conn:
            conn.execute(
                update(T)
                .where(T.c.id == delivery_id)
                .values(attempts=cls.MAX_ATTEMPTS, error=error[:500])
            )

    @classmethod
    @in_thread
    def mark_failed(cls, engine: Engine, delivery_id: int, error: str) -> None:
        with engine.begin() as conn:
            conn.execute(
                update(T)
                .where(T.c.id == delivery_id)
                .values(attempts=T.c.attempts + 1, error=error[:500])
            )
