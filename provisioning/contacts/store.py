"""Write a planned correction into the directory, with its line of history.

One transaction: the person's row (or positions) changes, a ``contact_changes`` row
records who did it and when, and the directory's revision goes up so that the reconcile
loop (``provisioning.matrix.watch``) applies it to Matrix within seconds.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine, delete, insert, select, update

from provisioning.contacts.change import ACTIVE, PHONE, Change, ContactError
from provisioning.contacts.history import CHAT, Author, record
from provisioning.db.models import Person, PersonPosition
from provisioning.importer.merge import bump_revision

PEOPLE = Person.__table__
POSITIONS = PersonPosition.__table__


def save_change(engine: Engine, change: Change, by: Author, at: dt.datetime) -> None:
    """Apply ``change`` (planned from a snapshot) if the person still is as planned."""
    with engine.begin() as conn:
        row = conn.execute(
            select(PEOPLE.c.phone, PEOPLE.c.active).where(PEOPLE.c.id == change.person_id)
        ).first()
        held = conn.execute(
            select(POSITIONS.c.unit_id, POSITIONS.c.position).where(
                POSITIONS.c.person_id == change.person_id
            )
        ).all()
        moved = tuple(sorted(tuple(h) for h in held)) != change.held
        if row is None or not row.active or row.phone != change.phone or moved:
            raise ContactError(
                f"Thông tin của {change.full_name} vừa được thay đổi ở nơi khác; "
                "hãy gõ lại lệnh !capnhat để xem thông tin mới."
            )
        if change.field == PHONE:
            _set_phone(conn, change, at)
        elif change.field == ACTIVE:
            conn.execute(
                update(PEOPLE)
                .where(PEOPLE.c.id == change.person_id)
                .values(active=False, departed_at=at, updated_at=at)
            )
        else:
            _set_positions(conn, change, at)
        revision = bump_revision(conn)
        record(conn, change.person_id, change.field, change.old, change.new, by, CHAT, at, revision)


def _set_phone(conn: Connection, change: Change, at: dt.datetime) -> None:
    holder = conn.execute(
        select(PEOPLE.c.code, PEOPLE.c.full_name).where(
            PEOPLE.c.phone == change.new_phone,
            PEOPLE.c.active.is_(True),
            PEOPLE.c.id != change.person_id,
        )
    ).first()
    if holder is not None:
        raise ContactError(
            f"Số {change.new} đang là số của {holder.full_name} (mã {holder.code}); "
            "mỗi số chỉ dùng để đăng nhập cho một người."
        )
    conn.execute(
        update(PEOPLE)
        .where(PEOPLE.c.id == change.person_id)
        .values(phone=change.new_phone, phone_raw=None, updated_at=at)
    )


def _set_positions(conn: Connection, change: Change, at: dt.datetime) -> None:
    conn.execute(delete(POSITIONS).where(POSITIONS.c.person_id == change.person_id))
    conn.execute(
        insert(POSITIONS),
        [
            {"person_id": change.person_id, "unit_id": unit_id, "position": position}
            for unit_id, position in change.positions
        ],
    )
    conn.execute(update(PEOPLE).where(PEOPLE.c.id == change.person_id).values(updated_at=at))
