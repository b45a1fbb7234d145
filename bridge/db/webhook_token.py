"""``bridge_webhook_tokens``: the tokens a portal's CMS pushes news with (only their sha256
is kept; ``dieuhanh webhook token|revoke`` makes and revokes them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from sqlalchemy import Engine, Row, String, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bridge.db import columns
from provisioning.db.models import Base
from provisioning.db.threads import in_thread
from provisioning.db.types import UtcDateTime


class BridgeWebhookToken(Base):
    """A portal's webhook token (only its sha256 is kept)."""

    __tablename__ = "bridge_webhook_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(64), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


TOKENS = BridgeWebhookToken.__table__


@dataclass(slots=True)
class WebhookToken:
    id: int
    unit_code: str
    token_hash: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @classmethod
    def _from_row(cls, row: Row) -> WebhookToken:
        return cls(**columns(row, TOKENS, _FIELDS))

    @classmethod
    @in_thread
    def active(cls, engine: Engine, token_hash: str) -> WebhookToken | None:
        """The token with this hash, unless it was revoked."""
        with engine.connect() as conn:
            row = conn.execute(
                select(TOKENS).where(
                    TOKENS.c.token_hash == token_hash, TOKENS.c.revoked_at.is_(None)
                )
            ).first()
        return cls._from_row(row) if row else None

    @classmethod
    @in_thread
    def add(
        cls,
        engine: Engine,
        unit_code: str,
        token_hash: str,
        now: dt.datetime,
        *,
        revoke_others: bool,
    ) -> int:
        """Store a token's hash; with ``revoke_others``, the unit's older tokens stop working.
        The number of tokens revoked."""
        with engine.begin() as conn:
            revoked = 0
            if revoke_others:
                revoked = conn.execute(_revoke(unit_code, now)).rowcount
            conn.execute(
                insert(TOKENS).values(unit_code=unit_code, token_hash=token_hash, created_at=now)
            )
        return revoked

    @classmethod
    @in_thread
    def revoke_all(cls, engine: Engine, unit_code: str, now: dt.datetime) -> int:
        """Revoke the unit's tokens still in force; how many they were."""
        with engine.begin() as conn:
            return conn.execute(_revoke(unit_code, now)).rowcount


_FIELDS = [f.name for f in fields(WebhookToken)]


def _revoke(unit_code: str, now: dt.datetime):
    return (
        update(TOKENS)
        .where(TOKENS.c.unit_code == unit_code, TOKENS.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
