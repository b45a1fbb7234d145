"""Summaries of new marks to send to followers, one per (follower, child, change): stored
in the same transaction that records what the follower now knows, sent with a
transaction id of their own (a restart re-sends the same id: Synapse keeps one event)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Integer, String, Text, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import in_thread
from bot.db.follow import LearningFollow
from bot.db.seen import MarkKey, Seen
from provisioning.db.models import Base
from provisioning.db.types import UtcDateTime

PENDING, SENT, SKIPPED = "pending", "sent", "skipped"


class LearningNoticeTable(Base):
    """One summary of a child's new marks for one follower."""

    __tablename__ = "learning_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255))
    student_id: Mapped[int] = mapped_column(Integer)
    room_id: Mapped[str] = mapped_column(String(255))
    txn_id: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), index=True)  # pending, sent, skipped
    event_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


T = LearningNoticeTable.__table__


@dataclass(frozen=True)
class Seeing:
    """What a follower now knows of a child, and the summary to tell them (if any)."""

    student_id: int
    fingerprint: str
    marks: list[MarkKey]
    txn_id: str | None = None
    body: str = ""
    html: str = ""


@dataclass(frozen=True)
class LearningNotice:
    id: int
    user_id: str
    student_id: int
    room_id: str
    txn_id: str
    body: str
    html: str
    status: str
    event_id: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None

    @classmethod
    def _from_row(cls, row: Any) -> LearningNotice:
        return cls(**row._mapping)

    @classmethod
    @in_thread
    def record(
        cls,
        engine: Engine,
        follow: LearningFollow,
        seeing: Iterable[Seeing],
        now: dt.datetime,
        *,
        enable: bool = False,
    ) -> int:
        """Record what ``follow``'s account now knows and queue the summaries, at once
        (with ``enable``: turn the follow on too); the number of summaries queued."""
        queued = 0
        with engine.begin() as conn:
            if enable:
                LearningFollow._put(conn, follow.user_id, follow.room_id, True, now)
            for item in seeing:
                Seen._put(conn, follow.user_id, item.student_id, item.fingerprint, item.marks)
                if item.txn_id is None:
                    continue
                exists = conn.scalar(select(T.c.id).where(T.c.txn_id == item.txn_id))
                if exists is None:
                    conn.execute(
                        insert(T).values(
                            user_id=follow.user_id, student_id=item.student_id,
                            room_id=follow.room_id, txn_id=item.txn_id, body=item.body,
                            html=item.html, status=PENDING, created_at=now,
                        )
                    )  # fmt: skip
                    queued += 1
        return queued

    @classmethod
    @in_thread
    def pending(cls, engine: Engine, limit: int = 200) -> list[LearningNotice]:
        with engine.connect() as conn:
            rows = conn.execute(
                select(T).where(T.c.status == PENDING).order_by(T.c.id).limit(limit)
            )
            return [cls._from_row(r) for r in rows]

    @classmethod
    @in_thread
    def done(
        cls, engine: Engine, notice_id: int, status: str, event_id: str | None, now: dt.datetime
    ) -> None:
        with engine.begin() as conn:
            conn.execute(
                update(T)
                .where(T.c.id == notice_id)
                .values(status=status, event_id=event_id, sent_at=now)
            )

    @classmethod
    @in_thread
    def of_user(cls, engine: Engine, user_id: str) -> list[LearningNotice]:
        with engine.connect() as conn:
            rows = conn.execute(select(T).where(T.c.user_id == user_id).order_by(T.c.id))
            return [cls._from_row(r) for r in rows]
