"""Answered events: the messages the bot has answered, so a replayed sync never answers
twice. Kept for 30 days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Engine, String, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import in_thread, utcnow
from provisioning.db.models import Base
from provisioning.db.types import UtcDateTime


class AnsweredEventTable(Base):
    """A message event the bot has answered."""

    __tablename__ = "bot_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))
    handled_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


T = AnsweredEventTable.__table__


@dataclass(frozen=True)
class AnsweredEvent:
    event_id: str
    room_id: str
    handled_at: dt.datetime

    KEEP: ClassVar[dt.timedelta] = dt.timedelta(days=30)

    @classmethod
    def _from_row(cls, row: Any) -> AnsweredEvent | None:
        return None if row is None else cls(**row._mapping)

    @classmethod
    @in_thread
    def get(cls, engine: Engine, event_id: str) -> AnsweredEvent | None:
        with engine.connect() as conn:
            return cls._from_row(conn.execute(select(T).where(T.c.event_id == event_id)).first())

    @classmethod
    @in_thread
    def record(cls, engine: Engine, room_id: str, event_id: str) -> None:
        """Remember an answered event (once) and forget those older than :attr:`KEEP`."""
        now = utcnow()
        try:
            with engine.begin() as conn:
                conn.execute(insert(T).values(event_id=event_id, room_id=room_id, handled_at=now))
                conn.execute(delete(T).where(T.c.handled_at < now - cls.KEEP))
        except IntegrityError:
            pass  # answered already (a replay that raced the first answer)
