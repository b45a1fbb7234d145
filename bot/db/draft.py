"""!gui drafts: a guided conversation in progress, one per person and room (it survives
a restart, and expires politely)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, String, Text, delete, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import in_thread, utcnow
from provisioning.db.models import Base
from provisioning.db.types import UtcDateTime


class DraftTable(Base):
    """A guided !gui conversation in progress."""

    __tablename__ = "directive_drafts"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str] = mapped_column(Text)  # JSON
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


T = DraftTable.__table__


@dataclass
class Draft:
    user_id: str
    room_id: str
    state: dict[str, Any]
    updated_at: dt.datetime

    @classmethod
    def _from_row(cls, row: Any) -> Draft | None:
        if row is None:
            return None
        data = dict(row._mapping)
        data["state"] = json.loads(data["state"])
        return cls(**data)

    @classmethod
    @in_thread
    def get(cls, engine: Engine, user_id: str, room_id: str) -> Draft | None:
        with engine.connect() as conn:
            return cls._from_row(
                conn.execute(
                    select(T).where(T.c.user_id == user_id, T.c.room_id == room_id)
                ).first()
            )

    @classmethod
    @in_thread
    def save(
        cls,
        engine: Engine,
        user_id: str,
        room_id: str,
        state: dict[str, Any],
        at: dt.datetime | None = None,
    ) -> None:
        """Keep the draft's state, touched ``at`` (the bot's clock; the machine's if None)."""
        text = json.dumps(state, ensure_ascii=False)
        at = at or utcnow()
        with engine.begin() as conn:
            done = conn.execute(
                update(T)
                .where(T.c.user_id == user_id, T.c.room_id == room_id)
                .values(state=text, updated_at=at)
            )
            if done.rowcount == 0:
                conn.execute(
                    insert(T).values(user_id=user_id, room_id=room_id, state=text, updated_at=at)
                )

    @classmethod
    @in_thread
    def drop(cls, engine: Engine, user_id: str, room_id: str) -> None:
        with engine.begin() as conn:
            conn.execute(delete(T).where(T.c.user_id == user_id, T.c.room_id == room_id))

    @classmethod
    @in_thread
    def expired(
        cls, engine: Engine, older_than: dt.timedelta, now: dt.datetime | None = None
    ) -> list[Draft]:
        """Drafts untouched for longer than ``older_than`` at ``now``."""
        with engine.connect() as conn:
            rows = conn.execute(select(T).where(T.c.updated_at < (now or utcnow()) - older_than))
            return [cls._from_row(row) for row in rows]
