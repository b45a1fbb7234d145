"""Read receipts: the latest public read receipt of each user in each room the bot is in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Engine, String, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import in_thread
from provisioning.db.models import Base


class ReceiptTable(Base):
    """The latest public read receipt of a user in a room the bot is in."""

    __tablename__ = "room_receipts"

    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255))
    ts: Mapped[int] = mapped_column(BigInteger)


T = ReceiptTable.__table__


@dataclass(frozen=True)
class Receipt:
    room_id: str
    user_id: str
    event_id: str
    ts: int  # milliseconds, as Matrix gives it

    @classmethod
    def _from_row(cls, row: Any) -> Receipt | None:
        return None if row is None else cls(**row._mapping)

    @classmethod
    @in_thread
    def record(cls, engine: Engine, room_id: str, user_id: str, event_id: str, ts: int) -> None:
        """Keep the latest public read receipt of a user in a room."""
        with engine.begin() as conn:
            done = conn.execute(
                update(T)
                .where(T.c.room_id == room_id, T.c.user_id == user_id, T.c.ts <= ts)
                .values(event_id=event_id, ts=ts)
            )
            if done.rowcount == 0:
                exists = conn.scalar(
                    select(T.c.ts).where(T.c.room_id == room_id, T.c.user_id == user_id)
                )
                if exists is None:
                    conn.execute(
                        insert(T).values(room_id=room_id, user_id=user_id, event_id=event_id, ts=ts)
                    )

    @classmethod
    @in_thread
    def users_sending_public(cls, engine: Engine, user_ids: set[str]) -> set[str]:
        """Those of ``user_ids`` whose clients send public read receipts (seen at least once)."""
        found: set[str] = set()
        users = sorted(user_ids)
        with engine.connect() as conn:
            for start in range(0, len(users), 500):
                found.update(
                    conn.scalars(
                        select(T.c.user_id)
                        .where(T.c.user_id.in_(users[start : start + 500]))
                        .distinct()
                    )
                )
        return found
