"""Who follows their children's new marks (``!theodoi bat|tat``), and the DM where the
summaries go (the room the parent typed it in)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Connection, Engine, String, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import in_thread
from provisioning.db.models import Base
from provisioning.db.types import UtcDateTime


class LearningFollowTable(Base):
    """An account that asked for a summary of new marks."""

    __tablename__ = "learning_follows"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


T = LearningFollowTable.__table__


@dataclass(frozen=True)
class LearningFollow:
    user_id: str
    room_id: str
    enabled: bool
    updated_at: dt.datetime

    @classmethod
    def _from_row(cls, row: Any) -> LearningFollow | None:
        return None if row is None else cls(**row._mapping)

    @classmethod
    @in_thread
    def get(cls, engine: Engine, user_id: str) -> LearningFollow | None:
        with engine.connect() as conn:
            return cls._from_row(conn.execute(select(T).where(T.c.user_id == user_id)).first())

    @classmethod
    @in_thread
    def enabled_ones(cls, engine: Engine) -> list[LearningFollow]:
        with engine.connect() as conn:
            rows = conn.execute(select(T).where(T.c.enabled.is_(True)).order_by(T.c.user_id))
            return [cls(**row._mapping) for row in rows]

    @classmethod
    def _put(
        cls, conn: Connection, user_id: str, room_id: str, enabled: bool, now: dt.datetime
    ) -> None:
        values = {"room_id": room_id, "enabled": enabled, "updated_at": now}
        done = conn.execute(update(T).where(T.c.user_id == user_id).values(**values))
        if done.rowcount == 0:
            conn.execute(insert(T).values(user_id=user_id, **values))

    @classmethod
    @in_thread
    def stop(cls, engine: Engine, user_id: str, now: dt.datetime) -> bool:
        """Turn the summaries off; False when they were not on."""
        with engine.begin() as conn:
            done = conn.execute(
                update(T)
                .where(T.c.user_id == user_id, T.c.enabled.is_(True))
                .values(enabled=False, updated_at=now)
            )
            return done.rowcount > 0
