"""Per follower and child, the marks the follower was last told about (or saw when they
turned the summaries on): the next summary says what is new since."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Integer, String, Text, delete, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import in_thread
from provisioning.db.models import Base

MarkKey = tuple  # (school_year, term, subject, kind, seq, score, passed)


class LearningSeenTable(Base):
    """The marks of one child as one follower last knew them."""

    __tablename__ = "learning_seen"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    student_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    fingerprint: Mapped[str] = mapped_column(String(64))
    marks: Mapped[str] = mapped_column(Text)  # JSON list of MarkKey


T = LearningSeenTable.__table__


@dataclass(frozen=True)
class Seen:
    user_id: str
    student_id: int
    fingerprint: str
    marks: list[MarkKey]

    @classmethod
    @in_thread
    def of_user(cls, engine: Engine, user_id: str) -> dict[int, Seen]:
        with engine.connect() as conn:
            rows = conn.execute(select(T).where(T.c.user_id == user_id))
            return {
                r.student_id: cls(
                    r.user_id, r.student_id, r.fingerprint, [tuple(m) for m in json.loads(r.marks)]
                )
                for r in rows
            }

    @classmethod
    def _put(
        cls,
        conn: Connection,
        user_id: str,
        student_id: int,
        fingerprint: str,
        marks: Iterable[MarkKey],
    ) -> None:
        conn.execute(delete(T).where(T.c.user_id == user_id, T.c.student_id == student_id))
        conn.execute(
            insert(T).values(
                user_id=user_id,
                student_id=student_id,
                fingerprint=fingerprint,
                marks=json.dumps([list(m) for m in marks], ensure_ascii=False),
            )
        )
