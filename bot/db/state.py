"""The bot's own key/value state (its sync token).

It lived in the directory's ``directory_state`` under ``bot.sync_token`` until migration
0005 moved it here: the directory's table holds facts about the directory, and the bot
wrote to it on every sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Engine, String, Text, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import in_thread
from provisioning.db.models import Base


class BotStateTable(Base):
    """One named value of the bot's state."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


T = BotStateTable.__table__


@dataclass(frozen=True)
class BotState:
    key: str
    value: str

    #: The token of the last sync whose every event was handled.
    SYNC_TOKEN: ClassVar[str] = "sync_token"

    @classmethod
    def _from_row(cls, row: Any) -> BotState | None:
        return None if row is None else cls(**row._mapping)

    @classmethod
    @in_thread
    def get(cls, engine: Engine, key: str) -> BotState | None:
        with engine.connect() as conn:
            return cls._from_row(conn.execute(select(T).where(T.c.key == key)).first())

    @classmethod
    @in_thread
    def put(cls, engine: Engine, key: str, value: str) -> None:
        with engine.begin() as conn:
            done = conn.execute(update(T).where(T.c.key == key).values(value=value))
            if done.rowcount == 0:
                conn.execute(insert(T).values(key=key, value=value))
