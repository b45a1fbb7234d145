"""Who has logged in, and when each account was last seen: copied from Synapse's own
tables into the directory's ``account_activity``, by the phone-login module.

Why a module and not the admin API: the admin API would need the server-admin token in
whatever process polls it (the bot, or a timer), and one call per user (``GET
/_synapse/admin/v2/users/<id>/devices``) — 100,000 calls a round for a city. The module
already runs inside Synapse: it reads the ``devices`` and ``user_ips`` tables in one
grouped query each (``run_db_interaction``) and writes only the rows that changed, with
no token anywhere. It also records the moment a code login succeeds, so a first login
shows at once, before the next round.

Three parts:

- :func:`read_synapse` — a transaction body for ``ModuleApi.run_db_interaction``
  (Synapse's cursor takes ``?`` on SQLite and PostgreSQL alike);
- :func:`changes` — pure: the directory's rows as they are and what Synapse says, in;
  the rows to write, out;
- :class:`ActivityCopy` — the directory side (SQLAlchemy, blocking: the module runs it
  with ``defer_to_thread``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: The one row of ``account_activity_copy``: when the last round finished. The bot shows
#: it, and treats "never logged in" as unknown while it is missing (the copy is not
#: running). These two tables are all the module touches: in the production profile its
#: database role may use nothing else (dieuhanh/deploy/bootstrap.py).
COPY_ROW_ID = 1


@dataclass(frozen=True)
class Seen:
    """One local account as Synapse knows it."""

    devices: int  # current sessions (hidden cross-signing "devices" excluded)
    first_ms: int | None  # earliest sign of use still on record (user_ips), if any
    last_ms: int | None  # latest request made with any of its sessions, if any


@dataclass(frozen=True)
class Row:
    """``account_activity`` without ``checked_at``."""

    first_login_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    devices: int


def read_synapse(txn: Any) -> dict[str, Seen]:
    """Every local account with a session or a request on record: two grouped queries."""
    txn.execute(
        "SELECT user_id, COUNT(*), MAX(last_seen) FROM devices WHERE hidden = '0' GROUP BY user_id"
    )
    devices = {user_id: (int(n), last) for user_id, n, last in txn.fetchall()}
    txn.execute("SELECT user_id, MIN(last_seen), MAX(last_seen) FROM user_ips GROUP BY user_id")
    ips = {user_id: (first, last) for user_id, first, last in txn.fetchall()}
    seen: dict[str, Seen] = {}
    for user_id in devices.keys() | ips.keys():
        count, device_last = devices.get(user_id, (0, None))
        first, ip_last = ips.get(user_id, (None, None))
        lasts = [int(x) for x in (device_last, ip_last) if x is not None]
        seen[user_id] = Seen(
            count, int(first) if first is not None else None, max(lasts, default=None)
        )
    return seen


def _time(ms: int | None) -> dt.datetime | None:
    return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def changes(
    current: Mapping[str, Row], seen: Mapping[str, Seen], now: dt.datetime
) -> dict[str, Row]:
    """The rows to write so that ``account_activity`` says what Synapse says.

    A first login is kept once known (logging out everywhere does not undo it); for an
    account seen before the copy ran, it is the earliest use on record, else now. An
    account no longer in Synapse's tables keeps its row with no sessions.
    """
    out: dict[str, Row] = {}
    for user_id, s in seen.items():
        old = current.get(user_id)
        used = s.devices > 0 or s.last_ms is not None
        first = old.first_login_at if old else None
        if first is None and used:
            first = min(_time(s.first_ms) or now, now)
        last = _time(s.last_ms)
        if (
            old is not None
            and old.last_seen_at is not None
            and (last is None or last < old.last_seen_at)
        ):
            last = old.last_seen_at
        row = Row(first, last, s.devices)
        if row != old:
            out[user_id] = row
    for user_id, old in current.items():
        if user_id not in seen and old.devices:
            out[user_id] = Row(old.first_login_at, old.last_seen_at, 0)
    return out


class ActivityCopy:
    """The directory's side: read the table, write the changed rows (blocking calls)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._engine: Any = None

    @property
    def engine(self) -> Any:
        if self._engine is None:  # imported here: SQLAlchemy is not needed at Synapse's start
            from provisioning.db.engine import make_engine

            self._engine = make_engine(self.database_url)
        return self._engine

    def current(self) -> dict[str, Row]:
        from sqlalchemy import select

        from provisioning.db.models import AccountActivity as A

        with self.engine.connect() as conn:
            query = select(A.user_id, A.first_login_at, A.last_seen_at, A.devices)
            return {u: Row(first, last, n or 0) for u, first, last, n in conn.execute(query)}

    def write(self, rows: Mapping[str, Row], now: dt.datetime, *, round_done: bool) -> None:
        """Upsert ``rows`` (and, after a full round, the time it finished) in one transaction."""
        from provisioning.db.models import AccountActivity, AccountActivityCopy

        values = [
            {
                "user_id": user_id,
                "first_login_at": row.first_login_at,
                "last_seen_at": row.last_seen_at,
                "devices": row.devices,
                "checked_at": now,
            }
            for user_id, row in rows.items()
        ]
        with self.engine.begin() as conn:
            for chunk in _chunks(values, 500):
                conn.execute(_upsert(conn, AccountActivity.__table__, chunk, ["user_id"]))
            if round_done:
                mark = [{"id": COPY_ROW_ID, "copied_at": now}]
                conn.execute(_upsert(conn, AccountActivityCopy.__table__, mark, ["id"]))

    def record_login(self, user_id: str, now: dt.datetime) -> None:
        """A code login succeeded: the first one is remembered now, not at the next round."""
        from sqlalchemy import select

        from provisioning.db.models import AccountActivity as A

        with self.engine.connect() as conn:
            known = conn.execute(
                select(A.first_login_at, A.last_seen_at, A.devices).where(A.user_id == user_id)
            ).first()
        if known is not None and known[0] is not None:
            return
        last, devices = (known[1], known[2]) if known is not None else (None, 0)
        self.write({user_id: Row(now, last, devices)}, now, round_done=False)

    def round(self, seen: Mapping[str, Seen], now: dt.datetime) -> int:
        """One round of the copy; how many rows changed."""
        rows = changes(self.current(), seen, now)
        self.write(rows, now, round_done=True)
        return len(rows)


def _chunks(items: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _upsert(conn: Any, table: Any, rows: list[dict[str, Any]], keys: list[str]) -> Any:
    """INSERT … ON CONFLICT DO UPDATE of every other column, on SQLite or PostgreSQL."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table).values(rows)
    from sqlalchemy import func

    values = {c: statement.excluded[c] for c in rows[0] if c not in keys}
    if "first_login_at" in values:  # the first login, once known, never moves
        values["first_login_at"] = func.coalesce(table.c.first_login_at, values["first_login_at"])
    return statement.on_conflict_do_update(index_elements=keys, set_=values)
