"""Answers to invitations (thư mời): tham dự (yes) or vắng (no), perhaps with who attends
instead, by a reaction or by ``!thamdu``. One row per directive and person: the last
answer counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, ForeignKey, String, Text, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import in_thread
from provisioning.db.models import Base
from provisioning.db.types import UtcDateTime


class AnswerTable(Base):
    """A person's current answer to an invitation."""

    __tablename__ = "directive_answers"

    # the primary key serves "the answers to a directive" (its first column)
    directive_id: Mapped[int] = mapped_column(
        ForeignKey("directives.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    answer: Mapped[str] = mapped_column(String(8))  # yes | no
    deputy: Mapped[str | None] = mapped_column(Text)  # người dự thay
    how: Mapped[str] = mapped_column(String(16))  # reaction | command
    answered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


T = AnswerTable.__table__


@dataclass
class Answer:
    directive_id: int
    person_id: int
    answer: str
    deputy: str | None
    how: str
    answered_at: dt.datetime

    @classmethod
    def _from_row(cls, row: Any) -> Answer | None:
        return None if row is None else cls(**row._mapping)

    @classmethod
    @in_thread
    def record(
        cls,
        engine: Engine,
        directive_id: int,
        person_id: int,
        answer: str,
        *,
        how: str,
        at: dt.datetime,
        deputy: str | None = None,
    ) -> None:
        """Keep this as the person's answer (replacing an earlier one)."""
        values = {"answer": answer, "deputy": deputy, "how": how, "answered_at": at}
        with engine.begin() as conn:
            done = conn.execute(
                update(T)
                .where(T.c.directive_id == directive_id, T.c.person_id == person_id)
                .values(**values)
            )
            if done.rowcount == 0:
                conn.execute(
                    insert(T).values(directive_id=directive_id, person_id=person_id, **values)
                )

    @classmethod
    @in_thread
    def of_directive(cls, engine: Engine, directive_id: int) -> list[Answer]:
        with engine.connect() as conn:
            rows = conn.execute(select(T).where(T.c.directive_id == directive_id))
            return [cls._from_row(row) for row in rows]
