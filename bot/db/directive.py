"""Directives (tin nhắn điều hành): written whole before the first send, then marked sent.

A directive, every planned delivery (a covering room or an inbox) and every recipient
(with the delivery that reaches them) are inserted in one transaction; the sender worker
only fills in event ids. So a bot killed at any point resumes exactly where it stopped.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Connection, Engine, ForeignKey, String, Text, func, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import in_thread, utcnow
from bot.db.delivery import Delivery, DeliveryTable
from bot.db.recipient import Recipient
from provisioning.db.models import Base
from provisioning.db.types import UtcDateTime


class DirectiveTable(Base):
    """One directive as its sender confirmed it."""

    __tablename__ = "directives"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    sender_person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    sender_user_id: Mapped[str] = mapped_column(String(255))
    origin_room_id: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    selection: Mapped[str] = mapped_column(Text, default="{}")  # JSON: what was chosen
    status: Mapped[str] = mapped_column(String(16), default="sending")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


T = DirectiveTable.__table__
DELIVERIES = DeliveryTable.__table__


@dataclass
class NewDirective:
    """A directive to store, with the deliveries planned for it."""

    sender_person_id: int
    sender_user_id: str
    origin_room_id: str | None
    body: str
    html: str | None
    attachments: list[dict[str, Any]]
    selection: dict[str, Any]
    rooms: dict[str, tuple[str, list[int]]]  # room key -> (room id, person ids it reaches)
    inboxes: list[int]  # person ids reached through their inbox
    user_of: dict[int, str]  # person id -> user id


@dataclass
class Directive:
    id: int
    code: str
    sender_person_id: int
    sender_user_id: str
    origin_room_id: str | None
    body: str
    html: str | None
    attachments: list[dict[str, Any]]
    selection: dict[str, Any]
    status: str  # sending | sent
    created_at: dt.datetime

    #: Codes people read aloud and type: no 0/O, 1/I/L.
    CODE_ALPHABET: ClassVar[str] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

    @classmethod
    def _from_row(cls, row: Any) -> Directive | None:
        if row is None:
            return None
        data = dict(row._mapping)
        data["attachments"] = json.loads(data["attachments"] or "[]")
        data["selection"] = json.loads(data["selection"] or "{}")
        return cls(**data)

    # ---------------------------------------------------------------- writing

    @classmethod
    @in_thread
    def insert(cls, engine: Engine, new: NewDirective) -> tuple[int, str]:
        """Store the directive with all its deliveries and recipients; (id, code)."""
        with engine.begin() as conn:
            code = cls._free_code(conn)
            directive_id = conn.execute(
                insert(T)
                .values(
                    code=code,
                    sender_person_id=new.sender_person_id,
                    sender_user_id=new.sender_user_id,
                    origin_room_id=new.origin_room_id,
                    body=new.body,
                    html=new.html,
                    attachments=json.dumps(new.attachments),
                    selection=json.dumps(new.selection, ensure_ascii=False),
                    status="sending",
                    created_at=utcnow(),
                )
                .returning(T.c.id)
            ).scalar_one()
            Recipient._insert_many(conn, cls._plan_deliveries(conn, directive_id, new))
        return directive_id, code

    @classmethod
    def _plan_deliveries(
        cls, conn: Connection, directive_id: int, new: NewDirective
    ) -> list[dict[str, Any]]:
        """Insert a delivery per covering room and per inbox; the recipient rows."""
        recipients: list[dict[str, Any]] = []

        def reached(people: list[int], delivery: int) -> None:
            recipients.extend(
                {
                    "directive_id": directive_id,
                    "person_id": pid,
                    "user_id": new.user_of[pid],
                    "delivery_id": delivery,
                }
                for pid in people
            )

        for key, (room_id, people) in sorted(new.rooms.items()):
            reached(
                people, Delivery._insert(conn, directive_id, "room", room_key=key, room_id=room_id)
            )
        for pid in sorted(new.inboxes):
            reached([pid], Delivery._insert(conn, directive_id, "inbox", person_id=pid))
        return recipients

    @classmethod
    def _free_code(cls, conn: Connection) -> str:
        while True:
            code = "".join(secrets.choice(cls.CODE_ALPHABET) for _ in range(5))
            if conn.scalar(select(T.c.id).where(T.c.code == code)) is None:
                return code

    @classmethod
    @in_thread
    def save_attachments(cls, engine: Engine, directive_id: int, attachments: list[dict]) -> None:
        with engine.begin() as conn:
            conn.execute(
                update(T).where(T.c.id == directive_id).values(attachments=json.dumps(attachments))
            )

    @classmethod
    @in_thread
    def set_status(cls, engine: Engine, directive_id: int, status: str) -> None:
        with engine.begin() as conn:
            conn.execute(update(T).where(T.c.id == directive_id).values(status=status))

    # ---------------------------------------------------------------- reading

    @classmethod
    @in_thread
    def by_ids(cls, engine: Engine, ids: set[int]) -> dict[int, Directive]:
        with engine.connect() as conn:
            rows = conn.execute(select(T).where(T.c.id.in_(sorted(ids))))
            return {row.id: cls._from_row(row) for row in rows}

    @classmethod
    @in_thread
    def by_code(cls, engine: Engine, code: str) -> Directive | None:
        with engine.connect() as conn:
            return cls._from_row(
                conn.execute(select(T).where(func.upper(T.c.code) == code.upper())).first()
            )

    @classmethod
    @in_thread
    def latest_of(cls, engine: Engine, sender_user_id: str) -> Directive | None:
        with engine.connect() as conn:
            return cls._from_row(
                conn.execute(
                    select(T)
                    .where(T.c.sender_user_id == sender_user_id)
                    .order_by(T.c.id.desc())
                    .limit(1)
                ).first()
            )

    @classmethod
    @in_thread
    def finished(cls, engine: Engine) -> list[Directive]:
        """Directives still 'sending' whose deliveries (not reminders) are all sent."""
        unsent = (
            select(func.count())
            .select_from(DELIVERIES)
            .where(
                DELIVERIES.c.directive_id == T.c.id,
                DELIVERIES.c.event_id.is_(None),
                DELIVERIES.c.kind != "reminder",
            )
            .scalar_subquery()
        )
        with engine.connect() as conn:
            rows = conn.execute(select(T).where(T.c.status == "sending", unsent == 0))
            return [cls._from_row(row) for row in rows]
