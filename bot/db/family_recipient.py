"""Family recipients of directives: a parent or a student (with an account) a post to
families is for, keyed by their Matrix user id (families are not in ``people``), the
delivery that reaches them, the classes they were reached for, and whether they read it.

A parent whose phone is a staff member's has that staff account's user id here: one
account per phone. Staff recipients stay in ``directive_recipients``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, ForeignKey, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import in_thread, utcnow
from bot.db.delivery import Delivery, DeliveryTable
from provisioning.db.models import Base
from provisioning.db.types import UtcDateTime

PARENT, STUDENT = "parent", "student"


class FamilyRecipientTable(Base):
    """A parent or student a directive is for, and whether they read it."""

    __tablename__ = "directive_family_recipients"

    directive_id: Mapped[int] = mapped_column(
        ForeignKey("directives.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(8))  # parent | student
    classes: Mapped[str] = mapped_column(Text, default="[]")  # JSON: class ids reached for
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("directive_deliveries.id"))
    read_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    read_how: Mapped[str | None] = mapped_column(String(16))


T = FamilyRecipientTable.__table__
DELIVERIES = DeliveryTable.__table__
DELIVERED = (DELIVERIES.c.room_id, DELIVERIES.c.event_id, DELIVERIES.c.sent_at)


@dataclass
class FamilyPlanned:
    """Where a post goes to families: covering rooms and inboxes, by user id."""

    rooms: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # key -> (id, users)
    inboxes: list[str] = field(default_factory=list)
    #: user id -> (phone, role, class ids they are reached for)
    members: dict[str, tuple[str | None, str, list[int]]] = field(default_factory=dict)


@dataclass
class FamilyRecipient:
    directive_id: int
    user_id: str
    phone: str | None
    role: str
    classes: list[int]
    delivery_id: int | None
    read_at: dt.datetime | None
    read_how: str | None
    room_id: str | None = None
    event_id: str | None = None
    sent_at: dt.datetime | None = None

    @classmethod
    def _from_row(cls, row: Any) -> FamilyRecipient:
        data = dict(row._mapping)
        data["classes"] = json.loads(data["classes"] or "[]")
        return cls(**data)

    @classmethod
    def _insert_plan(cls, conn: Connection, directive_id: int, plan: FamilyPlanned) -> None:
        """A delivery per covering room and per inbox, and the recipient rows, inside the
        caller's transaction (the directive's)."""
        rows: list[dict[str, Any]] = []

        def reached(users: list[str], delivery: int) -> None:
            for user in users:
                phone, role, classes = plan.members[user]
                rows.append(
                    {
                        "directive_id": directive_id,
                        "user_id": user,
                        "phone": phone,
                        "role": role,
                        "classes": json.dumps(sorted(classes)),
                        "delivery_id": delivery,
                    }
                )

        for key, (room_id, users) in sorted(plan.rooms.items()):
            reached(
                users, Delivery._insert(conn, directive_id, "room", room_key=key, room_id=room_id)
            )
        for user in sorted(plan.inboxes):
            reached([user], Delivery._insert(conn, directive_id, "inbox", user_id=user))
        if rows:
            conn.execute(T.insert(), rows)

    @classmethod
    @in_thread
    def of_directive(cls, engine: Engine, directive_id: int) -> list[FamilyRecipient]:
        with engine.connect() as conn:
            rows = conn.execute(
                select(T, *DELIVERED)
                .join(DELIVERIES, DELIVERIES.c.id == T.c.delivery_id, isouter=True)
                .where(T.c.directive_id == directive_id)
            )
            return [cls._from_row(row) for row in rows]

    @classmethod
    @in_thread
    def get(cls, engine: Engine, directive_id: int, user_id: str) -> FamilyRecipient | None:
        with engine.connect() as conn:
            row = conn.execute(
                select(T, *DELIVERED)
                .join(DELIVERIES, DELIVERIES.c.id == T.c.delivery_id, isouter=True)
                .where(T.c.directive_id == directive_id, T.c.user_id == user_id)
            ).first()
            return None if row is None else cls._from_row(row)

    @classmethod
    def _acknowledge(
        cls, conn: Connection, directive_id: int, user_id: str, how: str, at: dt.datetime
    ) -> bool:
        """A reply or reaction by ``user_id`` to the directive counts as read."""
        return bool(
            conn.execute(
                update(T)
                .where(
                    T.c.directive_id == directive_id, T.c.user_id == user_id, T.c.read_at.is_(None)
                )
                .values(read_at=at, read_how=how)
            ).rowcount
        )

    @classmethod
    @in_thread
    def unread_in_room(cls, engine: Engine, room_id: str, user_id: str) -> list[FamilyRecipient]:
        """Where ``user_id`` received a post to families in this room, not read yet."""
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
        cls, engine: Engine, directive_id: int, user_id: str, how: str, at: dt.datetime | None
    ) -> None:
        with engine.begin() as conn:
            cls._acknowledge(conn, directive_id, user_id, how, at or utcnow())
