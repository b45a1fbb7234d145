"""A person's history of contact changes: chat corrections and imports alike."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, insert, select

from provisioning.db.models import ContactChange, Person

CHANGES = ContactChange.__table__
PEOPLE = Person.__table__
CHAT, IMPORT = "chat", "import"


@dataclass(frozen=True)
class Author:
    """Who made a change: a Matrix user and their person (chat), or a file (import)."""

    name: str
    user_id: str | None = None
    person_code: str | None = None


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    field: str
    old: str | None
    new: str | None
    by: str
    source: str


def record(
    conn: Connection,
    person_id: int,
    field: str,
    old: str | None,
    new: str | None,
    by: Author,
    source: str,
    at: dt.datetime,
    revision: int,
) -> None:
    """One line of a person's history (``revision``: the directory's, as it made it)."""
    conn.execute(
        insert(CHANGES).values(
            person_id=person_id,
            field=field,
            old_value=old,
            new_value=new,
            by_user_id=by.user_id,
            by_person_code=by.person_code,
            by_name=by.name,
            source=source,
            at=at,
            revision=revision,
        )
    )


def history(engine: Engine, person_code: str) -> list[HistoryEntry] | None:
    """A person's changes, newest first; None when no person has this code."""
    with engine.connect() as conn:
        person_id = conn.scalar(select(PEOPLE.c.id).where(PEOPLE.c.code == person_code))
        if person_id is None:
            return None
        rows = conn.execute(
            select(CHANGES)
            .where(CHANGES.c.person_id == person_id)
            .order_by(CHANGES.c.at.desc(), CHANGES.c.id.desc())
        )
        return [
            HistoryEntry(r.at, r.field, r.old_value, r.new_value, r.by_name, r.source) for r in rows
        ]
