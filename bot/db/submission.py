"""Submissions to report requests (yêu cầu báo cáo): every reply a recipient sent, with its
text and files. A person's submission time is that of their first."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, ForeignKey, Index, String, Text, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import in_thread
from provisioning.db.models import Base
from provisioning.db.types import UtcDateTime


class SubmissionTable(Base):
    """One reply to a report request."""

    __tablename__ = "directive_submissions"
    # "the submissions to a directive", and a person's among them
    __table_args__ = (
        Index("ix_directive_submissions_directive_id_person_id", "directive_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    directive_id: Mapped[int] = mapped_column(ForeignKey("directives.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    room_id: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str] = mapped_column(String(255), unique=True)  # a replay is kept once
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    files: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")  # JSON
    submitted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


T = SubmissionTable.__table__


@dataclass
class Submission:
    id: int
    directive_id: int
    person_id: int
    room_id: str
    event_id: str
    body: str
    files: list[dict[str, Any]] = field(default_factory=list)  # {mxc, name, mimetype, size}
    submitted_at: dt.datetime | None = None

    @classmethod
    def _from_row(cls, row: Any) -> Submission | None:
        if row is None:
            return None
        data = dict(row._mapping)
        data["files"] = json.loads(data["files"] or "[]")
        return cls(**data)

    @classmethod
    @in_thread
    def add(
        cls,
        engine: Engine,
        directive_id: int,
        person_id: int,
        *,
        room_id: str,
        event_id: str,
        body: str,
        files: list[dict[str, Any]],
        at: dt.datetime,
    ) -> bool:
        """Keep a reply; False when this event was kept already (a replayed sync)."""
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(T).values(
                        directive_id=directive_id,
                        person_id=person_id,
                        room_id=room_id,
                        event_id=event_id,
                        body=body,
                        files=json.dumps(files, ensure_ascii=False),
                        submitted_at=at,
                    )
                )
        except IntegrityError:
            return False
        return True

    @classmethod
    @in_thread
    def by_event(cls, engine: Engine, event_id: str) -> Submission | None:
        with engine.connect() as conn:
            return cls._from_row(conn.execute(select(T).where(T.c.event_id == event_id)).first())

    @classmethod
    @in_thread
    def of_directive(cls, engine: Engine, directive_id: int) -> list[Submission]:
        """Every reply to a directive, in the order they came."""
        with engine.connect() as conn:
            rows = conn.execute(
                select(T).where(T.c.directive_id == directive_id).order_by(T.c.submitted_at, T.c.id)
            )
            return [cls._from_row(row) for row in rows]

    @classmethod
    @in_thread
    def firsts(cls, engine: Engine, directive_id: int) -> dict[int, dt.datetime]:
        """Each submitter's first submission time (what counts for on time / late)."""
        with engine.connect() as conn:
            rows = conn.execute(
                select(T.c.person_id, func.min(T.c.submitted_at))
                .where(T.c.directive_id == directive_id)
                .group_by(T.c.person_id)
            )
            return dict(rows.all())

    @classmethod
    @in_thread
    def open_requests(cls, engine: Engine, user_id: str, limit: int = 5) -> list[str]:
        """Codes of the report requests sent to this user and not closed, newest first
        (what they may submit to)."""
        from bot.db.directive import Directive, DirectiveTable
        from bot.db.recipient import RecipientTable

        directives, recipients = DirectiveTable.__table__, RecipientTable.__table__
        with engine.connect() as conn:
            return list(
                conn.execute(
                    select(directives.c.code)
                    .join(recipients, recipients.c.directive_id == directives.c.id)
                    .where(
                        recipients.c.user_id == user_id,
                        directives.c.kind == "report_request",
                        directives.c.status.in_([Directive.SENDING, Directive.SENT]),
                        directives.c.cancelled_at.is_(None),
                    )
                    .order_by(directives.c.id.desc())
                    .limit(limit)
                ).scalars()
            )
