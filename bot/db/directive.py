"""Directives (tin nhắn điều hành): written whole before the first send, then marked sent.

A directive, every planned delivery (a covering room or an inbox) and every recipient
(with the delivery that reaches them) are inserted in one transaction; the sender worker
only fills in event ids. So a bot killed at any point resumes exactly where it stopped.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    Connection,
    Engine,
    ForeignKey,
    Index,
    String,
    Text,
    and_,
    false,
    func,
    insert,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import in_thread, utcnow
from bot.db.delivery import Delivery, DeliveryTable
from bot.db.family_recipient import FamilyPlanned, FamilyRecipient
from bot.db.recipient import Recipient, RecipientTable
from bot.db.reminder import SMS_FALLBACK, Reminder
from provisioning.db.models import Base
from provisioning.db.types import UtcDateTime


class DirectiveTable(Base):
    """One directive as its sender confirmed it."""

    __tablename__ = "directives"
    __table_args__ = (
        # the scheduler's "scheduled and due"
        Index("ix_directives_status_scheduled_for", "status", "scheduled_for"),
        # the export's date range
        Index("ix_directives_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    sender_person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    sender_user_id: Mapped[str] = mapped_column(String(255), index=True)
    origin_room_id: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    selection: Mapped[str] = mapped_column(Text, default="{}")  # JSON: what was chosen
    status: Mapped[str] = mapped_column(String(16), default="sending")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # message | notice | document | invitation | report_request (bot.directives.kinds)
    kind: Mapped[str] = mapped_column(String(16), default="message", server_default="message")
    fields: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")  # JSON
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    scheduled_for: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # None: at once
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")  # folded
    summary_sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


T = DirectiveTable.__table__
DELIVERIES = DeliveryTable.__table__
RECIPIENTS = RecipientTable.__table__


@dataclass
class Planned:
    """Where a directive goes: decided when it starts sending (at once, or when due)."""

    rooms: dict[str, tuple[str, list[int]]]  # room key -> (room id, person ids it reaches)
    inboxes: list[int]  # person ids reached through their inbox
    user_of: dict[int, str]  # person id -> user id
    #: reminders of the directive, (kind, due at), from its kind (bot.directives.kinds)
    reminders: list[tuple[str, dt.datetime]] = field(default_factory=list)
    families: FamilyPlanned | None = None  # parents and students (bot.directives.families)


@dataclass
class NewDirective:
    """A directive to store: planned (sent at once) or scheduled (planned when due)."""

    sender_person_id: int
    sender_user_id: str
    origin_room_id: str | None
    body: str
    html: str | None
    attachments: list[dict[str, Any]]
    selection: dict[str, Any]
    planned: Planned | None  # None: scheduled
    kind: str = "message"
    fields: dict[str, Any] = field(default_factory=dict)
    urgent: bool = False
    scheduled_for: dt.datetime | None = None
    search_text: str = ""
    created_at: dt.datetime | None = None  # the bot's clock; the machine's when None
    #: a khẩn post's (or one sent "kèm SMS") SMS to whoever has not read it by then: a
    #: reminder stored now, even for a scheduled post (it runs once the post has gone)
    sms_fallback_at: dt.datetime | None = None


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
    status: str  # scheduled -> sending -> sent; cancelled
    created_at: dt.datetime
    kind: str = "message"
    fields: dict[str, Any] = field(default_factory=dict)
    urgent: bool = False
    scheduled_for: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    search_text: str = ""
    summary_sent_at: dt.datetime | None = None

    SCHEDULED: ClassVar[str] = "scheduled"
    SENDING: ClassVar[str] = "sending"
    SENT: ClassVar[str] = "sent"
    CANCELLED: ClassVar[str] = "cancelled"
    #: Codes people read aloud and type: no 0/O, 1/I/L.
    CODE_ALPHABET: ClassVar[str] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

    @property
    def sent_at(self) -> dt.datetime:
        """When it went (or goes) out: its scheduled time, or when it was stored."""
        return self.scheduled_for or self.created_at

    @classmethod
    def _from_row(cls, row: Any) -> Directive | None:
        if row is None:
            return None
        data = dict(row._mapping)
        data["attachments"] = json.loads(data["attachments"] or "[]")
        data["selection"] = json.loads(data["selection"] or "{}")
        data["fields"] = json.loads(data["fields"] or "{}")
        data["urgent"] = bool(data["urgent"])
        return cls(**data)

    # ---------------------------------------------------------------- writing

    @classmethod
    @in_thread
    def insert(cls, engine: Engine, new: NewDirective) -> tuple[int, str]:
        """Store the directive, and unless it is scheduled every delivery and recipient of
        it and its reminders, in one transaction; (id, code)."""
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
                    status=cls.SENDING if new.planned is not None else cls.SCHEDULED,
                    created_at=new.created_at or utcnow(),
                    kind=new.kind,
                    fields=json.dumps(new.fields, ensure_ascii=False),
                    urgent=new.urgent,
                    scheduled_for=new.scheduled_for,
                    search_text=new.search_text,
                )
                .returning(T.c.id)
            ).scalar_one()
            if new.planned is not None:
                cls._plan(conn, directive_id, new.planned)
            if new.sms_fallback_at is not None:
                Reminder._insert_many(conn, directive_id, [(SMS_FALLBACK, new.sms_fallback_at)])
        return directive_id, code

    @classmethod
    @in_thread
    def activate(cls, engine: Engine, directive_id: int, planned: Planned) -> bool:
        """A scheduled directive falls due: its deliveries, recipients and reminders are
        planned and it is 'sending', in one transaction; False if it was not scheduled
        any more (cancelled meanwhile, or activated already)."""
        with engine.begin() as conn:
            done = conn.execute(
                update(T)
                .where(T.c.id == directive_id, T.c.status == cls.SCHEDULED)
                .values(status=cls.SENDING)
            )
            if done.rowcount != 1:
                return False
            cls._plan(conn, directive_id, planned)
        return True

    @classmethod
    def _plan(cls, conn: Connection, directive_id: int, planned: Planned) -> None:
        Recipient._insert_many(conn, cls._plan_deliveries(conn, directive_id, planned))
        if planned.families is not None:
            FamilyRecipient._insert_plan(conn, directive_id, planned.families)
        Reminder._insert_many(conn, directive_id, planned.reminders)

    @classmethod
    def _plan_deliveries(
        cls, conn: Connection, directive_id: int, new: Planned
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

    @classmethod
    @in_thread
    def cancel(
        cls, engine: Engine, directive_id: int, now: dt.datetime, *, after_sending: bool = False
    ) -> str | None:
        """Cancel a scheduled directive before it goes: 'cancelled' (its status). With
        ``after_sending``, one being sent or sent is closed instead: 'closed' (its status
        stays; ``cancelled_at`` says so). None when it was in neither state any more."""
        with engine.begin() as conn:
            if conn.execute(
                update(T)
                .where(T.c.id == directive_id, T.c.status == cls.SCHEDULED)
                .values(status=cls.CANCELLED, cancelled_at=now)
            ).rowcount:
                return "cancelled"
            if (
                after_sending
                and conn.execute(
                    update(T)
                    .where(
                        T.c.id == directive_id,
                        T.c.status.in_([cls.SENDING, cls.SENT]),
                        T.c.cancelled_at.is_(None),
                    )
                    .values(cancelled_at=now)
                ).rowcount
            ):
                return "closed"
        return None

    @classmethod
    @in_thread
    def mark_summary_sent(cls, engine: Engine, directive_id: int, now: dt.datetime) -> bool:
        """Record the one summary of a report request; False if it was recorded already."""
        with engine.begin() as conn:
            return bool(
                conn.execute(
                    update(T)
                    .where(T.c.id == directive_id, T.c.summary_sent_at.is_(None))
                    .values(summary_sent_at=now)
                ).rowcount
            )

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
        """Directives still 'sending' whose deliveries (not reminders) are all sent or
        given up on (``Delivery.MAX_ATTEMPTS``: e.g. a room the bot is not in)."""
        unsent = (
            select(func.count())
            .select_from(DELIVERIES)
            .where(
                DELIVERIES.c.directive_id == T.c.id,
                DELIVERIES.c.event_id.is_(None),
                DELIVERIES.c.attempts < Delivery.MAX_ATTEMPTS,
                DELIVERIES.c.kind.in_(("room", "inbox")),  # not reminders and the like
            )
            .scalar_subquery()
        )
        with engine.connect() as conn:
            rows = conn.execute(select(T).where(T.c.status == "sending", unsent == 0))
            return [cls._from_row(row) for row in rows]

    @classmethod
    @in_thread
    def due(cls, engine: Engine, now: dt.datetime, limit: int = 100) -> list[Directive]:
        """Scheduled directives whose time has come, the earliest first."""
        with engine.connect() as conn:
            rows = conn.execute(
                select(T)
                .where(T.c.status == cls.SCHEDULED, T.c.scheduled_for <= now)
                .order_by(T.c.scheduled_for, T.c.id)
                .limit(limit)
            )
            return [cls._from_row(row) for row in rows]

    @classmethod
    @in_thread
    def search(
        cls, engine: Engine, user_id: str, words: list[str], limit: int = 10
    ) -> tuple[list[Directive], int]:
        """!tim: directives ``user_id`` sent or received (once it reached them) whose folded
        text holds every one of ``words`` (folded), or whose code is the one word typed;
        (the newest ``limit``, how many in all).

        The person's own directives come from two indexes (``sender_user_id``, and the
        recipients' ``user_id``); only those are matched with LIKE, so the cost follows how
        many directives the person has, not how many recipients a directive has.
        """
        mine = union(
            select(T.c.id.label("id")).where(T.c.sender_user_id == user_id),
            select(RECIPIENTS.c.directive_id.label("id"))
            .join(DELIVERIES, DELIVERIES.c.id == RECIPIENTS.c.delivery_id)
            .where(RECIPIENTS.c.user_id == user_id, DELIVERIES.c.event_id.is_not(None)),
        ).subquery()
        matches = and_(*(T.c.search_text.like(f"%{_like(w)}%", escape="\\") for w in words))
        if len(words) == 1:
            matches = or_(matches, func.upper(T.c.code) == words[0].upper())
        where = (T.c.id.in_(select(mine.c.id)), matches)
        with engine.connect() as conn:
            total = conn.scalar(select(func.count()).select_from(T).where(*where))
            rows = conn.execute(
                select(T).where(*where).order_by(T.c.created_at.desc(), T.c.id.desc()).limit(limit)
            )
            return [cls._from_row(row) for row in rows], total or 0

    @classmethod
    @in_thread
    def in_period(cls, engine: Engine, start: dt.datetime, end: dt.datetime) -> list[Directive]:
        """The export's directives: those that went (or go) out in [start, end), i.e. stored
        then and sent at once, or scheduled for then; not those cancelled before going.
        Oldest first."""
        at_once = and_(T.c.scheduled_for.is_(None), T.c.created_at >= start, T.c.created_at < end)
        scheduled = and_(T.c.scheduled_for >= start, T.c.scheduled_for < end)
        with engine.connect() as conn:
            rows = conn.execute(
                select(T)
                .where(or_(at_once, scheduled), T.c.status != cls.CANCELLED)
                .order_by(func.coalesce(T.c.scheduled_for, T.c.created_at), T.c.id)
            )
            return [cls._from_row(row) for row in rows]


def _like(word: str) -> str:
    """A word for LIKE, its wildcards taken literally."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
