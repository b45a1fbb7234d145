"""Recipients of directives: a person a directive is for, the delivery that reaches them,
and whether (and how) they read it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import in_thread, utcnow
from bot.db.delivery import DeliveryTable
from bot.db.family_recipient import FamilyRecipient
from provisioning.db.models import Base
from provisioning.db.types import UtcDateTime


class RecipientTable(Base):
    """A person the directive is for, the delivery that reaches them, and whether they read."""

    __tablename__ = "directive_recipients"

    directive_id: Mapped[int] = mapped_column(
        ForeignKey("directives.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("directive_deliveries.id"))
    read_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    read_how: Mapped[str | None] = mapped_column(String(16))  # receipt | reply | reaction


T = RecipientTable.__table__
DELIVERIES = DeliveryTable.__table__
#: Where the recipient's delivery went, loaded with every recipient.
DELIVERED = (DELIVERIES.c.room_id, DELIVERIES.c.event_id, DELIVERIES.c.sent_at)


@dataclass
class Recipient:
    directive_id: int
    person_id: int
    user_id: str
    delivery_id: int | None
    read_at: dt.datetime | None
    read_how: str | None
    # of the delivery that reaches them (None while it is not sent)
    room_id: str | None = None
    event_id: str | None = None
    sent_at: dt.datetime | None = None

    @classmethod
    def _from_row(cls, row: Any) -> Recipient | None:
        return None if row is None else cls(**row._mapping)

    @classmethod
    def _insert_many(cls, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Recipients of a directive being stored, inside the caller's transaction."""
        if rows:
            conn.execute(T.insert(), rows)

    @classmethod
    @in_thread
    def of_directive(cls, engine: Engine, directive_id: int) -> list[Recipient]:
        with engine.connect() as conn:
            rows = conn.execute(
                select(T, *DELIVERED)
                .join(DELIVERIES, DELIVERIES.c.id == T.c.delivery_id, isouter=True)
                .where(T.c.directive_id == directive_id)
            )
            return [cls._from_row(row) for row in rows]

    @classmethod
    @in_thread
    def of_directives(
        cls, engine: Engine, directive_ids: list[int], person_ids: set[int] | None = None
    ) -> dict[int, list[Recipient]]:
        """Recipients of several directives (the export), by directive; with ``person_ids``
        only those people (the primary key serves both conditions)."""
        found: dict[int, list[Recipient]] = {d: [] for d in directive_ids}
        people = sorted(person_ids) if person_ids is not None else None
        with engine.connect() as conn:
            for start in range(0, len(directive_ids), 200):
                query = (
                    select(T, *DELIVERED)
                    .join(DELIVERIES, DELIVERIES.c.id == T.c.delivery_id, isouter=True)
                    .where(T.c.directive_id.in_(directive_ids[start : start + 200]))
                )
                if people is not None:
                    query = query.where(T.c.person_id.in_(people))
                for row in conn.execute(query):
                    found[row.directive_id].append(cls._from_row(row))
        return found

    @classmethod
    @in_thread
    def get(cls, engine: Engine, directive_id: int, person_id: int) -> Recipient | None:
        with engine.connect() as conn:
            row = conn.execute(
                select(T, *DELIVERED)
                .join(DELIVERIES, DELIVERIES.c.id == T.c.delivery_id, isouter=True)
                .where(T.c.directive_id == directive_id, T.c.person_id == person_id)
            ).first()
            return cls._from_row(row)

    @classmethod
    @in_thread
    def unread_in_room(cls, engine: Engine, room_id: str, user_id: str) -> list[Recipient]:
        """Where ``user_id`` received a directive in this room and has not read it yet."""
        with engine.connect() as conn:
            rows = conn.execute(
                select(T, *DELIVERED)
                .join(DELIVERIES, DELIVERIES.c.id == T.c.delivery_id)
                .where(
                    DELIVERIES.c.room_id == room_id,
                    T.c.user_id == user_id,
                    T.c.read_at.is_(None),
                    DELIVERIES.c.event_id.is_not(None),
                )
            )
            return [cls._from_row(row) for row in rows]

    @classmethod
    @in_thread
    def mark_read(
        cls,
        engine: Engine,
        directive_id: int,
        person_id: int,
        how: str,
        at: dt.datetime | None = None,
    ) -> None:
        """Read ``at`` (the bot's clock; the machine's when None), if not read before."""
        with engine.begin() as conn:
            conn.execute(
                update(T)
                .where(
                    T.c.directive_id == directive_id,
                    T.c.person_id == person_id,
                    T.c.read_at.is_(None),
                )
                .values(read_at=at or utcnow(), read_how=how)
            )

    @classmethod
    @in_thread
    def acknowledge(
        cls,
        engine: Engine,
        room_id: str,
        event_id: str,
        user_id: str,
        how: str,
        at: dt.datetime | None = None,
    ) -> bool:
        """A reply or reaction to a delivered directive counts as read by its author."""
        with engine.begin() as conn:
            delivery = conn.execute(
                select(DELIVERIES.c.id, DELIVERIES.c.directive_id).where(
                    DELIVERIES.c.room_id == room_id, DELIVERIES.c.event_id == event_id
                )
            ).first()
            if delivery is None:
                return False
            done = conn.execute(
                update(T)
                .where(
                    T.c.directive_id == delivery.directive_id,
                    T.c.user_id == user_id,
                    T.c.read_at.is_(None),
                )
                .values(read_at=at or utcnow(), read_how=how)
            )
            family = FamilyRecipient._acknowledge(
                conn, delivery.directive_id, user_id, how, at or utcnow()
            )
            return done.rowcount > 0 or family
