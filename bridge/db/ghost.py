"""``bridge_ghosts`` and ``bridge_ghost_rooms``: the Matrix user that speaks for each
portal, and the rooms it was made ready to post in."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields

from sqlalchemy import Boolean, Engine, Row, String, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bridge.db import columns
from provisioning.db.models import Base
from provisioning.db.threads import in_thread
from provisioning.db.types import UtcDateTime


class BridgeGhost(Base):
    """The Matrix user that speaks for one unit's portal ("Cổng TTĐT …")."""

    __tablename__ = "bridge_ghosts"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(64), unique=True)
    displayname: Mapped[str | None] = mapped_column(String(255))
    device_ready: Mapped[bool] = mapped_column(Boolean, default=False)


class BridgeGhostRoom(Base):
    """A room the ghost was joined to and given power to post in."""

    __tablename__ = "bridge_ghost_rooms"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    ready_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


GHOSTS = BridgeGhost.__table__
GHOST_ROOMS = BridgeGhostRoom.__table__


@dataclass(slots=True)
class Ghost:
    user_id: str
    unit_code: str
    displayname: str | None
    device_ready: bool

    @classmethod
    def _from_row(cls, row: Row) -> Ghost:
        return cls(**columns(row, GHOSTS, _GHOST_FIELDS))

    @classmethod
    @in_thread
    def get(cls, engine: Engine, user_id: str) -> Ghost | None:
        with engine.connect() as conn:
            row = conn.execute(select(GHOSTS).where(GHOSTS.c.user_id == user_id)).first()
        return cls._from_row(row) if row else None

    @in_thread
    def save(self, engine: Engine) -> None:
        """Insert or update this ghost's row."""
        values = asdict(self)
        user_id = values.pop("user_id")
        with engine.begin() as conn:
            done = conn.execute(update(GHOSTS).where(GHOSTS.c.user_id == user_id).values(values))
            if done.rowcount == 0:
                conn.execute(insert(GHOSTS).values(user_id=user_id, **values))


@dataclass(slots=True)
class GhostRoom:
    user_id: str
    room_id: str
    ready_at: dt.datetime

    @classmethod
    def _from_row(cls, row: Row) -> GhostRoom:
        return cls(**columns(row, GHOST_ROOMS, _ROOM_FIELDS))

    @classmethod
    @in_thread
    def of_ghost(cls, engine: Engine, user_id: str) -> list[GhostRoom]:
        with engine.connect() as conn:
            rows = conn.execute(select(GHOST_ROOMS).where(GHOST_ROOMS.c.user_id == user_id))
            return [cls._from_row(r) for r in rows]

    @in_thread
    def insert(self, engine: Engine) -> None:
        """Remember this room as ready (once: a second insert changes nothing)."""
        try:
            with engine.begin() as conn:
                conn.execute(insert(GHOST_ROOMS).values(asdict(self)))
        except IntegrityError:
            pass

    @classmethod
    @in_thread
    def forget(cls, engine: Engine, user_id: str, room_id: str) -> None:
        with engine.begin() as conn:
            conn.execute(
                delete(GHOST_ROOMS).where(
                    GHOST_ROOMS.c.user_id == user_id, GHOST_ROOMS.c.room_id == room_id
                )
            )


_GHOST_FIELDS = [f.name for f in fields(Ghost)]
_ROOM_FIELDS = [f.name for f in fields(GhostRoom)]
