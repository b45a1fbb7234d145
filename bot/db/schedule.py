"""Lịch công tác: a unit's schedule for one week (from Monday), its entries, and the
event that shows it in the unit's "Thông tin điều hành" room (edited in place when the
schedule changes)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Date,
    Engine,
    ForeignKey,
    String,
    Text,
    and_,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
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
    # when the event last came to show the entries (first post or latest edit), never
    # before the shown version's updated_at: a later updated_at means "edit the post"
    posted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # only moves forward


T = WorkScheduleTable.__table__
TICK = dt.timedelta(microseconds=1)


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
    def change(
        cls,
        engine: Engine,
        unit_code: str,
        week_start: dt.date,
        edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
        at: dt.datetime,
    ) -> list[dict[str, Any]]:
        """Replace a week's entries with ``edit(current entries)`` (creating the week), in
        one transaction that holds the row; what ``edit`` raises leaves it unchanged.

        ``updated_at`` always moves forward, past the shown version too, so that a change
        made at the same instant as the post (a stopped test clock, or the import's clock
        behind the bot's) is still seen as newer than what the room shows."""
        for attempt in range(2):
            try:
                with engine.begin() as conn:
                    return cls._change(conn, unit_code, week_start, edit, at)
            except IntegrityError:  # the week was created meanwhile: edit that one
                if attempt:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def _change(cls, conn, unit_code, week_start, edit, at) -> list[dict[str, Any]]:
        where = (T.c.unit_code == unit_code, T.c.week_start == week_start)
        row = conn.execute(
            select(T.c.entries, T.c.updated_at, T.c.posted_at).where(*where).with_for_update()
        ).first()
        entries = edit(json.loads(row.entries or "[]") if row else [])
        text = json.dumps(entries, ensure_ascii=False)
        if row is None:
            conn.execute(
                insert(T).values(
                    unit_code=unit_code, week_start=week_start, entries=text, updated_at=at
                )
            )
            return entries
        floor = max(row.updated_at, row.posted_at or row.updated_at)
        stamp = at if at > floor else floor + TICK
        conn.execute(update(T).where(*where).values(entries=text, updated_at=stamp))
        return entries

    @classmethod
    async def save_entries(
        cls,
        engine: Engine,
        unit_code: str,
        week_start: dt.date,
        entries: list[dict[str, Any]],
        at: dt.datetime,
    ) -> None:
        """Replace a week's entries (creating the week)."""
        await cls.change(engine, unit_code, week_start, lambda _old: entries, at)

    @classmethod
    @in_thread
    def of_week(cls, engine: Engine, week_start: dt.date) -> list[WorkSchedule]:
        with engine.connect() as conn:
            rows = conn.execute(
                select(T).where(T.c.week_start == week_start).order_by(T.c.unit_code)
            )
            return [cls._from_row(row) for row in rows]

    @classmethod
    @in_thread
    def unshown(cls, engine: Engine, week_start: dt.date) -> list[WorkSchedule]:
        """The week's schedules whose room does not show them as they are: never posted
        (and not empty), or changed since they were posted or last edited."""
        with engine.connect() as conn:
            rows = conn.execute(
                select(T)
                .where(
                    T.c.week_start == week_start,
                    or_(
                        and_(T.c.event_id.is_(None), T.c.entries != "[]"),
                        and_(T.c.event_id.is_not(None), T.c.updated_at > T.c.posted_at),
                    ),
                )
                .order_by(T.c.unit_code)
            )
            return [cls._from_row(row) for row in rows]

    @classmethod
    @in_thread
    def mark_shown(
        cls,
        engine: Engine,
        shown: WorkSchedule,
        event_id: str,
        room_id: str,
        at: dt.datetime,
    ) -> bool:
        """Record that ``event_id`` in ``room_id`` now shows the version ``shown`` (posted
        or edited ``at``); False when the schedule changed meanwhile (the event id is kept
        and the newer version is shown on the next tick)."""
        where = (T.c.unit_code == shown.unit_code, T.c.week_start == shown.week_start)
        with engine.begin() as conn:
            done = conn.execute(
                update(T)
                .where(*where, T.c.updated_at == shown.updated_at)
                .values(event_id=event_id, room_id=room_id, posted_at=max(at, shown.updated_at))
            )
            if done.rowcount:
                return True
            conn.execute(
                update(T)
                .where(*where)
                .values(event_id=event_id, room_id=room_id, posted_at=shown.updated_at)
            )
            return False
