"""The mirror: what provisioning last applied to (or observed on) Synapse, in our database.

Planning reads only this, so ``plan`` costs no HTTP call; ``apply`` writes it as each
operation succeeds. Losing it is not fatal: rooms are found again by their alias and tag,
accounts by their external id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from provisioning.db.models import (
    DirectoryState,
    FamilyAccount,
    MatrixAccount,
    MatrixMember,
    MatrixRoom,
    Person,
)
from provisioning.families.accounts import family_key, is_family_key, phone_of
from provisioning.matrix.layout import LAYOUT_VERSION

ACCOUNTS = MatrixAccount.__table__
FAMILY_ACCOUNTS = FamilyAccount.__table__
ROOMS = MatrixRoom.__table__
MEMBERS = MatrixMember.__table__

APPLIED_REVISION = "matrix.applied_revision"
APPLIED_LAYOUT = "matrix.applied_layout"  # the LAYOUT_VERSION that revision was applied with
ADMIN_KEY = "matrix.admin"  # the account that created (and so owns) every managed room
BOT_KEY = "matrix.bot"  # the bot account, once created


@dataclass
class AccountRow:
    """A staff account (by person) or a family account (``person_code`` is its
    ``family:<phone>`` key, ``person_id`` 0; its phone is bound unless deactivated)."""

    person_id: int
    person_code: str
    user_id: str
    created: bool
    displayname: str | None
    phone: str | None
    deactivated: bool


@dataclass
class RoomRow:
    key: str
    room_id: str | None
    purpose: str
    unit_code: str
    role: str | None = None
    level: str | None = None
    ownership: str | None = None
    name: str | None = None
    power_digest: str | None = None
    parent_key: str | None = None


@dataclass
class Mirror:
    accounts: dict[str, AccountRow] = field(default_factory=dict)  # by person code
    rooms: dict[str, RoomRow] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    admin_user_id: str | None = None
    bot_user_id: str | None = None

    def user_ids(self) -> set[str]:
        return {a.user_id for a in self.accounts.values()}


def member_rows(conn: Connection) -> Iterator[tuple[str, str]]:
    """Every (room key, user id) of the mirror, straight from the driver's cursor: at city
    scale (≈ 775,000 rows) SQLAlchemy's row objects would triple the time."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(f"SELECT room_key, user_id FROM {MEMBERS.name}")
        yield from cursor
    finally:
        cursor.close()


def load_mirror(engine: Engine) -> Mirror:
    mirror = Mirror()
    with engine.connect() as conn:
        for row in conn.execute(
            select(
                ACCOUNTS.c.person_id,
                Person.code,
                ACCOUNTS.c.user_id,
                ACCOUNTS.c.created,
                ACCOUNTS.c.displayname,
                ACCOUNTS.c.phone,
                ACCOUNTS.c.deactivated,
            ).join(Person, Person.id == ACCOUNTS.c.person_id)
        ):
            mirror.accounts[row.code] = AccountRow(
                row.person_id,
                row.code,
                row.user_id,
                bool(row.created),
                row.displayname,
                row.phone,
                bool(row.deactivated),
            )
        _load_family_accounts(conn, mirror)
        for row in conn.execute(select(ROOMS)):
            mirror.rooms[row.key] = RoomRow(**row._mapping)
        for key, user_id in member_rows(conn):
            mirror.members[key].add(user_id)
        state = dict(
            conn.execute(
                select(DirectoryState.key, DirectoryState.value).where(
                    DirectoryState.key.in_([ADMIN_KEY, BOT_KEY])
                )
            ).all()
        )
    mirror.admin_user_id = state.get(ADMIN_KEY)
    mirror.bot_user_id = state.get(BOT_KEY)
    return mirror


def _load_family_accounts(conn: Connection, mirror: Mirror) -> None:
    for phone, user_id, created, displayname, deactivated in conn.execute(
        select(
            FAMILY_ACCOUNTS.c.phone,
            FAMILY_ACCOUNTS.c.user_id,
            FAMILY_ACCOUNTS.c.created,
            FAMILY_ACCOUNTS.c.displayname,
            FAMILY_ACCOUNTS.c.deactivated,
        )
    ):
        key = family_key(phone)
        mirror.accounts[key] = AccountRow(
            0,
            key,
            user_id,
            bool(created),
            displayname,
            None if deactivated or not created else phone,
            bool(deactivated),
        )


class MirrorWriter:
    """Buffered writes of applied changes; ``flush`` commits them in one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pending: list[tuple[str, Any]] = []

    def __len__(self) -> int:
        return len(self._pending)

    def account(self, row: AccountRow) -> None:
        self._pending.append(("account", row))

    def room(self, row: RoomRow) -> None:
        self._pending.append(("room", row))

    def joined(self, key: str, user_id: str) -> None:
        self._pending.append(("join", (key, user_id)))

    def left(self, key: str, user_id: str) -> None:
        self._pending.append(("leave", (key, user_id)))

    def left_everywhere(self, user_id: str) -> None:
        self._pending.append(("leave_all", user_id))

    def forget_room(self, key: str) -> None:
        """A retired room: its row and its members' rows go."""
        self._pending.append(("forget_room", key))

    def members(self, key: str, user_ids: set[str]) -> None:
        """Replace a room's member list with what Synapse reported."""
        self._pending.append(("members", (key, frozenset(user_ids))))

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        with self.engine.begin() as conn:
            joins: list[dict[str, str]] = []
            for kind, value in pending:
                if kind == "join":
                    joins.append({"room_key": value[0], "user_id": value[1]})
                    continue
                _flush_joins(conn, joins)
                joins = []
                if kind == "account":
                    _upsert_account(conn, value)
                elif kind == "room":
                    _upsert_room(conn, value)
                elif kind == "leave":
                    conn.execute(
                        delete(MEMBERS).where(
                            MEMBERS.c.room_key == value[0], MEMBERS.c.user_id == value[1]
                        )
                    )
                elif kind == "forget_room":
                    conn.execute(delete(MEMBERS).where(MEMBERS.c.room_key == value))
                    conn.execute(delete(ROOMS).where(ROOMS.c.key == value))
                elif kind == "leave_all":
                    conn.execute(delete(MEMBERS).where(MEMBERS.c.user_id == value))
                elif kind == "members":
                    conn.execute(delete(MEMBERS).where(MEMBERS.c.room_key == value[0]))
                    if value[1]:
                        conn.execute(
                            insert(MEMBERS),
                            [{"room_key": value[0], "user_id": u} for u in sorted(value[1])],
                        )
            _flush_joins(conn, joins)


def _flush_joins(conn: Connection, joins: list[dict[str, str]]) -> None:
    if not joins:
        return
    unique = list({(j["room_key"], j["user_id"]): j for j in joins}.values())
    existing = set()
    keys = {j["room_key"] for j in unique}
    for start in range(0, len(keys), 500):
        chunk = sorted(keys)[start : start + 500]
        existing.update(
            tuple(row)
            for row in conn.execute(
                select(MEMBERS.c.room_key, MEMBERS.c.user_id).where(MEMBERS.c.room_key.in_(chunk))
            )
        )
    fresh = [j for j in unique if (j["room_key"], j["user_id"]) not in existing]
    if fresh:
        conn.execute(insert(MEMBERS), fresh)


def _upsert_account(conn: Connection, row: AccountRow) -> None:
    if is_family_key(row.person_code):
        _upsert_family_account(conn, row)
        return
    values = {
        "user_id": row.user_id,
        "created": row.created,
        "displayname": row.displayname,
        "phone": row.phone,
        "deactivated": row.deactivated,
    }
    done = conn.execute(
        update(ACCOUNTS).where(ACCOUNTS.c.person_id == row.person_id).values(**values)
    )
    if done.rowcount == 0:
        conn.execute(insert(ACCOUNTS).values(person_id=row.person_id, **values))


def _upsert_family_account(conn: Connection, row: AccountRow) -> None:
    table, phone = FAMILY_ACCOUNTS, phone_of(row.person_code)
    values = {
        "user_id": row.user_id,
        "created": row.created,
        "displayname": row.displayname,
        "deactivated": row.deactivated,
    }
    done = conn.execute(update(table).where(table.c.phone == phone).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(table).values(phone=phone, **values))


def _upsert_room(conn: Connection, row: RoomRow) -> None:
    values = {k: v for k, v in row.__dict__.items() if k != "key"}
    done = conn.execute(update(ROOMS).where(ROOMS.c.key == row.key).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(ROOMS).values(key=row.key, **values))


def applied_revision(engine: Engine) -> int | None:
    """The directory revision last applied in full — None if none was, or if it was
    applied with another version of the layout (``LAYOUT_VERSION``)."""
    with engine.connect() as conn:
        found = dict(
            conn.execute(
                select(DirectoryState.key, DirectoryState.value).where(
                    DirectoryState.key.in_([APPLIED_REVISION, APPLIED_LAYOUT])
                )
            ).all()
        )
    value = found.get(APPLIED_REVISION)
    if value is None or found.get(APPLIED_LAYOUT) != str(LAYOUT_VERSION):
        return None
    return int(value)


def set_applied(engine: Engine, revision: int) -> None:
    """Record ``revision`` as applied in full, with this code's layout version."""
    set_state(engine, APPLIED_REVISION, str(revision))
    set_state(engine, APPLIED_LAYOUT, str(LAYOUT_VERSION))


def get_state(engine: Engine, key: str) -> str | None:
    """One directory_state fact, or None."""
    with engine.connect() as conn:
        return conn.scalar(select(DirectoryState.value).where(DirectoryState.key == key))


def set_state(engine: Engine, key: str, value: str) -> None:
    """Write one directory_state fact (applied revision, service accounts)."""
    with engine.begin() as conn:
        done = conn.execute(
            update(DirectoryState).where(DirectoryState.key == key).values(value=value)
        )
        if done.rowcount == 0:
            conn.execute(insert(DirectoryState).values(key=key, value=value))


def forget(engine: Engine) -> None:
    """Drop the whole mirror (the next apply finds rooms and accounts again on Synapse)."""
    with engine.begin() as conn:
        conn.execute(delete(MEMBERS))
        conn.execute(delete(ROOMS))
        conn.execute(delete(ACCOUNTS))
        conn.execute(delete(FAMILY_ACCOUNTS))
        conn.execute(delete(DirectoryState).where(DirectoryState.key.in_([ADMIN_KEY, BOT_KEY])))
