"""Lịch công tác: a unit's schedule for one week (from Monday), its entries, and the
event that shows it in the unit's "Thông tin điều hành" room (edited in place when the
schedule changes)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Date, Engine, ForeignKey, String, Text, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import in_thread
from provisioning.db.models import Base
from provisioning.db.types import UtcDateTime


class WorkScheduleTable(Base):
    """One unit's schedule for one week."""

    __tablename__ = "work_schedules"

    # the primary key serves "a unit's week"; the index "every unit's schedule of a week"
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), primary_key=True)
    week_start: Mapped[dt.date] = mapped_column(Date, primary_key=True, index=True)  # Monday
    entries: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")  # JSON
    event_id: Mapped[str | None] = mapped_column(String(255))  # the posted schedule
    room_id: Mapped[str | None] = mapped_column(String(255))
    posted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


T = WorkScheduleTable.__table__


@dataclass
class WorkSchedule:
    unit_code: str
    week_start: dt.date
    entries: list[dict[str, Any]] = field(default_factory=list)
    event_id: str | None = None
    room_id: str | None = None
    posted_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @classmethod
    def _from_row(cls, row: Any) -> WorkSchedule | None:
        if row is None:
            return None
        data = dict(row._mapping)
        data["entries"] = json.loads(data["entries"] or "[]")
        return cls(**data)

    @classmethod
    @in_thread
    def get(cls, engine: Engine, unit_code: str, week_start: dt.date) -> WorkSchedule | None:
        with engine.connect() as conn:
            return cls._from_row(
                conn.execute(
                    select(T).where(T.c.unit_code == unit_code, T.c.week_start == week_start)
                ).first()
            )

    @classmethod
    @in_thread
    def save_entries(
        cls,
        engine: Engine,
        unit_code: str,
        week_start: dt.date,
        entries: list[dict[str, Any]],
        at: dt.datetime,
    ) -> None:
        """Replace a week's entries (creating the week)."""
        text = json.dumps(entries, ensure_ascii=False)
        with engine.begin() as conn:
            done = conn.execute(
                update(T)
                .where(T.c.unit_code == unit_code, T.c.week_start == week_start)
                .values(entries=text, updated_at=at)
            )
            if done.rowcount == 0:
                conn.execute(
                    insert(T).values(
                        unit_code=unit_code, week_start=week_start, entries=text, updated_at=at
                    )
                )

    @classmethod
    @in_thread
    def of_week(cls, engine: Engine, week_start: dt.date) -> list[WorkSchedule]:
        with engine.connect() as conn:
            rows = conn.execute(
                select(T).where(T.c.week_start == week_start).order_by(T.c.unit_code)
            )
            return [cls._from_row(row) for row in rows]
