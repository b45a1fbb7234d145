"""Login codes and the counters behind the login limits, in Synapse's own database
(shared by all its workers).

Each function is a transaction body for ``ModuleApi.run_db_interaction``: Synapse's
cursor takes ``?`` placeholders on SQLite and PostgreSQL alike.

Every limit is decided by one atomic statement, never by a read followed by a write:

- a try on a code is one conditional ``UPDATE … SET attempts = attempts + 1 WHERE
  attempts < max``, which takes the row's lock;
- a counter (requests per number, per address and overall per hour; wrong codes per
  number per day) is one ``INSERT … ON CONFLICT DO UPDATE … WHERE events < cap``: it either
  counts and answers one row, or changes nothing;
- storing a code is one upsert (two first requests for a number cannot collide).

On PostgreSQL these transactions run at READ COMMITTED, where a statement blocked by
another transaction's lock re-checks its condition on the committed row (so the counts
hold exactly, and nothing is retried). Synapse's default REPEATABLE READ would keep them
exact too, by failing the later transaction with a serialization error that Synapse
retries — at most five times, which a burst of requests on one counter can exhaust.
SQLite runs one transaction at a time.
"""

from __future__ import annotations

import hmac
from typing import Any

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS dieuhanh_login_codes (
        phone TEXT PRIMARY KEY,
        code_hash TEXT NOT NULL,
        expires_ts BIGINT NOT NULL,
        attempts INTEGER NOT NULL,
        used SMALLINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS dieuhanh_login_counters (
        counter TEXT PRIMARY KEY,
        window_ts BIGINT NOT NULL,
        events INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS dieuhanh_login_counters_ts ON dieuhanh_login_counters (window_ts)",
    # before 2026-12: one row per request, counted by a SELECT (racy)
    "DROP TABLE IF EXISTS dieuhanh_code_requests",
)

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

#: The request caps, in the order their counters are taken (always the same order, so
#: that two transactions never wait for each other's rows crosswise).
REQUEST_CAPS = ("per_phone_per_hour", "per_ip_per_hour", "global_per_hour")


def create_tables(txn: Any) -> None:
    for statement in SCHEMA:
        txn.execute(statement)


def read_committed(txn: Any) -> None:
    """On PostgreSQL, run this transaction at READ COMMITTED (see the module's notes).

    Must be the transaction's first statement; SQLite needs nothing.
    """
    engine = getattr(txn, "database_engine", None)
    if engine is None:
        return
    from synapse.storage.engines import PostgresEngine

    if isinstance(engine, PostgresEngine):
        txn.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")


def active_user_by_phone(txn: Any, msisdn: str) -> str | None:
    """The active account whose bound msisdn (digits, no plus) is ``msisdn``."""
    txn.execute(
        "SELECT t.user_id FROM user_threepids AS t JOIN users AS u ON u.name = t.user_id"
        " WHERE t.medium = 'msisdn' AND t.address = ? AND u.deactivated = 0",
        (msisdn,),
    )
    row = txn.fetchone()
    return row[0] if row else None


# ------------------------------------------------------------------ counters


def take(txn: Any, counter: str, now_ms: int, window_ms: int, cap: int) -> bool:
    """Count one event on ``counter`` if its window holds fewer than ``cap``; whether it did.

    A window starts with its first event and lasts ``window_ms``; the next event after it
    starts a new one. One statement, which locks the counter's row until the end of the
    transaction.
    """
    expired = now_ms - window_ms
    txn.execute(
        "INSERT INTO dieuhanh_login_counters (counter, window_ts, events) VALUES (?, ?, 1)"
        " ON CONFLICT (counter) DO UPDATE SET"
        " events = CASE WHEN dieuhanh_login_counters.window_ts <= ? THEN 1"
        " ELSE dieuhanh_login_counters.events + 1 END,"
        " window_ts = CASE WHEN dieuhanh_login_counters.window_ts <= ? THEN excluded.window_ts"
        " ELSE dieuhanh_login_counters.window_ts END"
        " WHERE dieuhanh_login_counters.window_ts <= ? OR dieuhanh_login_counters.events < ?",
        (counter, now_ms, expired, expired, expired, cap),
    )
    return txn.rowcount == 1


def _give_back(txn: Any, counter: str) -> None:
    """Undo this transaction's ``take`` (its row is still locked by us)."""
    txn.execute(
        "UPDATE dieuhanh_login_counters SET events = events - 1 WHERE counter = ? AND events > 0",
        (counter,),
    )


def admit_request(
    txn: Any, now_ms: int, phone_key: str, ip_key: str, limits: dict[str, int]
) -> str | None:
    """Count a code request against the hourly caps; the cap hit (nothing counted), or None.

    Requests for unknown numbers count exactly like the others, so that the caps
    reveal nothing about who is registered.
    """
    read_committed(txn)
    counters = dict(zip(REQUEST_CAPS, (f"phone:{phone_key}", f"ip:{ip_key}", "all"), strict=True))
    taken: list[str] = []
    for cap in REQUEST_CAPS:
        if not take(txn, counters[cap], now_ms, HOUR_MS, limits[cap]):
            for counter in taken:
                _give_back(txn, counter)
            return cap
        taken.append(counters[cap])
    return None


def forget_old_counters(txn: Any, now_ms: int) -> None:
    """Drop counters whose window ended a day ago or more (run now and then)."""
    txn.execute("DELETE FROM dieuhanh_login_counters WHERE window_ts < ?", (now_ms - 2 * DAY_MS,))


# ------------------------------------------------------------------ codes


def store_code(txn: Any, phone: str, code_hash: str, expires_ms: int) -> None:
    """A new code replaces the number's previous one (and its tries), in one upsert."""
    read_committed(txn)
    txn.execute(
        "INSERT INTO dieuhanh_login_codes (phone, code_hash, expires_ts, attempts, used)"
        " VALUES (?, ?, ?, 0, 0) ON CONFLICT (phone) DO UPDATE SET"
        " code_hash = excluded.code_hash, expires_ts = excluded.expires_ts,"
        " attempts = 0, used = 0",
        (phone, code_hash, expires_ms),
    )


def use_code(
    txn: Any, phone: str, code_hash: str, now_ms: int, max_attempts: int, max_failures: int
) -> bool:
    """Spend the code if it is right, fresh, unused, not worn out by wrong tries, and the
    number has not had ``max_failures`` wrong codes within a day.

    The try is taken first (one conditional UPDATE, which locks the code's row), then a
    failure is counted in advance against the day's cap; only then is the code compared.
    A right code is marked used and forgets the number's failures. However many guesses
    arrive at once, at most ``max_attempts`` of them are ever compared with one code.
    """
    read_committed(txn)
    txn.execute(
        "UPDATE dieuhanh_login_codes SET attempts = attempts + 1 WHERE phone = ? AND used = 0"
        " AND expires_ts >= ? AND attempts < ?",
        (phone, now_ms, max_attempts),
    )
    if txn.rowcount != 1:
        return False
    failures = f"failed:{phone}"
    if not take(txn, failures, now_ms, DAY_MS, max_failures):
        return False
    txn.execute("SELECT code_hash FROM dieuhanh_login_codes WHERE phone = ?", (phone,))
    row = txn.fetchone()
    if row is None or not hmac.compare_digest(str(row[0]), code_hash):
        return False
    txn.execute("UPDATE dieuhanh_login_codes SET used = 1 WHERE phone = ?", (phone,))
    txn.execute("DELETE FROM dieuhanh_login_counters WHERE counter = ?", (failures,))
    return True
