"""``bridge_admin_sessions``: who is logged in to the "Gửi thông báo" page (only the
cookie's sha256 is kept, with the session's CSRF token and expiry)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields

from sqlalchemy import Engine, Integer, Row, String, delete, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from bridge.db import columns
from provisioning.db.models import Base
from provisioning.db.threads import in_thread
from provisioning.db.types import UtcDateTime


class BridgeAdminSession(Base):
    """A logged-in admin of the "Gửi thông báo" page (only the cookie's sha256 is kept)."""

    __tablename__ = "bridge_admin_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255))
    person_id: Mapped[int] = mapped_column(Integer)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


SESSIONS = BridgeAdminSession.__table__


@dataclass(slots=True)
class AdminSession:
    token_hash: str
    user_id: str
    person_id: int
    csrf_token: str
    created_at: dt.datetime
    expires_at: dt.datetime

    @classmethod
    def _from_row(cls, row: Row) -> AdminSession:
        return cls(**columns(row, SESSIONS, _FIELDS))

    @classmethod
    @in_thread
    def valid(cls, engine: Engine, token_hash: str, now: dt.datetime) -> AdminSession | None:
        """The session of this cookie hash, unless it expired."""
        with engine.connect() as conn:
            row = conn.execute(
                select(SESSIONS).where(
                    SESSIONS.c.token_hash == token_hash, SESSIONS.c.expires_at > now
                )
            ).first()
        return cls._from_row(row) if row else None

    @in_thread
    def insert(self, engine: Engine) -> None:
        """Store this new session (and forget those expired by its start)."""
        with engine.begin() as conn:
            conn.execute(delete(SESSIONS).where(SESSIONS.c.expires_at < self.created_at))
            conn.execute(insert(SESSIONS).values(asdict(self)))

    @classmethod
    @in_thread
    def end(cls, engine: Engine, token_hash: str) -> None:
        """Forget the session of this cookie hash (logged out)."""
        with engine.begin() as conn:
            conn.execute(delete(SESSIONS).where(SESSIONS.c.token_hash == token_hash))


_FIELDS = [f.name for f in fields(AdminSession)]
