"""Reminders of directives: something the scheduler does for a directive at a set time —
an invitation's reminders the day before and the hour before, a report request's one
summary after its deadline. One row per directive and kind; the scheduler
(``bot.directives.scheduler``) runs what is due through the handler registered for the
kind, and records it done in ``sent_at``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import (
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import in_thread
from bot.db.delivery import Delivery
from provisioning.db.models import Base
from provisioning.db.types import UtcDateTime


class ReminderTable(Base):
    """One timed action of a directive (by kind), done once."""

    __tablename__ = "directive_reminders"
    # the scheduler's "not done and due": unsent rows first, by due time
    __table_args__ = (Index("ix_directive_reminders_sent_at_due_at", "sent_at", "due_at"),)

    directive_id: Mapped[int] = mapped_column(
        ForeignKey("directives.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)


T = ReminderTable.__table__
#: the kind of a post's SMS fallback (bot.directives.fallback)
SMS_FALLBACK = "sms_fallback"


@dataclass
class Reminder:
    directive_id: int
    kind: str  # day_before | hour_before | deadline_summary | sms_fallback (registered)
    due_at: dt.datetime
    sent_at: dt.datetime | None
    attempts: int
    error: str | None

    #: A reminder whose handler failed this often is left alone.
    MAX_ATTEMPTS: ClassVar[int] = 20

    @classmethod
    def _from_row(cls, row: Any) -> Reminder | None:
        return None if row is None else cls(**row._mapping)

    @classmethod
    def _insert_many(
        cls, conn: Connection, directive_id: int, reminders: list[tuple[str, dt.datetime]]
    ) -> None:
        """Reminders of a directive, inside the caller's transaction."""
        if reminders:
            conn.execute(
                insert(T),
                [
                    {"directive_id": directive_id, "kind": kind, "due_at": due, "attempts": 0}
                    for kind, due in reminders
                ],
            )

    @classmethod
    @in_thread
    def of_directive(cls, engine: Engine, directive_id: int) -> list[Reminder]:
        with engine.connect() as conn:
            rows = conn.execute(
                select(T).where(T.c.directive_id == directive_id).order_by(T.c.due_at, T.c.kind)
            )
            return [cls._from_row(row) for row in rows]

    @classmethod
    @in_thread
    def due(cls, engine: Engine, now: dt.datetime, limit: int = 100) -> list[Reminder]:
        """Reminders not done whose time has come, of directives sent (or being sent) and
        not cancelled; the earliest first."""
        from bot.db.directive import Directive, DirectiveTable

        directives = DirectiveTable.__table__
        with engine.connect() as conn:
            rows = conn.execute(
                select(T)
                .join(directives, directives.c.id == T.c.directive_id)
                .where(
                    T.c.sent_at.is_(None),
                    T.c.due_at <= now,
                    T.c.attempts < cls.MAX_ATTEMPTS,
                    directives.c.status.in_([Directive.SENDING, Directive.SENT]),
                    directives.c.cancelled_at.is_(None),
                )
                .order_by(T.c.due_at, T.c.directive_id, T.c.kind)
                .limit(limit)
            )
            return [cls._from_row(row) for row in rows]

    @classmethod
    @in_thread
    def mark_sent(cls, engine: Engine, directive_id: int, kind: str, now: dt.datetime) -> bool:
        """Record a reminder done; False if it was recorded already."""
        with engine.begin() as conn:
            return cls._mark_sent(conn, directive_id, kind, now)

    @classmethod
    def _mark_sent(cls, conn: Connection, directive_id: int, kind: str, now: dt.datetime) -> bool:
        return bool(
            conn.execute(
                update(T)
                .where(T.c.directive_id == directive_id, T.c.kind == kind, T.c.sent_at.is_(None))
                .values(sent_at=now, error=None)
            ).rowcount
        )

    @classmethod
    @in_thread
    def deliver_to(
        cls,
        engine: Engine,
        directive_id: int,
        kind: str,
        person_ids: list[int],
        delivery_kind: str,
        now: dt.datetime,
    ) -> bool:
        """Plan one inbox delivery of ``delivery_kind`` per person and record the reminder
        done, in one transaction (so a restart never plans them twice); False (nothing
        planned) if it was done already. The delivery worker sends them, rendered by the
        part function registered for ``delivery_kind`` (``bot.directives.cards``)."""
        with engine.begin() as conn:
            if not cls._mark_sent(conn, directive_id, kind, now):
                return False
            for pid in sorted(person_ids):
                Delivery._insert(conn, directive_id, delivery_kind, person_id=pid)
        return True

    @classmethod
    @in_thread
    def mark_failed(cls, engine: Engine, directive_id: int, kind: str, error: str) -> None:
        with engine.begin() as conn:
            conn.execute(
                update(T)
                .where(T.c.directive_id == directive_id, T.c.kind == kind)
                .values(attempts=T.c.attempts + 1, error=error[:500])
            )
