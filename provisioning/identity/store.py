"""Login codes and code requests, in Synapse's own database (shared by all its workers).

Each function is a transaction body for ``ModuleApi.run_db_interaction``: Synapse's
cursor takes ``?`` placeholders on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS dieuhanh_login_codes (
        phone TEXT PRIMARY KEY,
        code_hash TEXT NOT NULL,
        expires_ts BIGINT NOT NULL,
        attempts INTEGER NOT NULL,
        used SMALLINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS dieuhanh_code_requests (
        ts BIGINT NOT NULL,
        phone_key TEXT NOT NULL,
        ip TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS dieuhanh_code_requests_ts ON dieuhanh_code_requests (ts)",
)

HOUR_MS = 3_600_000


def create_tables(txn: Any) -> None:
    for statement in SCHEMA:
        txn.execute(statement)


def active_user_by_phone(txn: Any, msisdn: str) -> str | None:
    """The active account whose bound msisdn (digits, no plus) is ``msisdn``."""
    txn.execute(
        "SELECT t.user_id FROM user_threepids AS t JOIN users AS u ON u.name = t.user_id"
        " WHERE t.medium = 'msisdn' AND t.address = ? AND u.deactivated = 0",
        (msisdn,),
    )
    row = txn.fetchone()
    return row[0] if row else None


def admit_request(
    txn: Any, now_ms: int, phone_key: str, ip: str, limits: dict[str, int]
) -> str | None:
    """Count a code request against the hourly caps; the cap hit, or None (then recorded).

    Requests for unknown numbers count exactly like the others, so that the caps
    reveal nothing about who is registered.
    """
    since = now_ms - HOUR_MS
    for cap, column, value in (
        ("per_phone_per_hour", "phone_key", phone_key),
        ("per_ip_per_hour", "ip", ip),
        ("global_per_hour", None, None),
    ):
        if column is None:
            txn.execute("SELECT count(*) FROM dieuhanh_code_requests WHERE ts > ?", (since,))
        else:
            txn.execute(
                f"SELECT count(*) FROM dieuhanh_code_requests WHERE ts > ? AND {column} = ?",
                (since, value),
            )
        if txn.fetchone()[0] >= limits[cap]:
            return cap
    txn.execute(
        "INSERT INTO dieuhanh_code_requests (ts, phone_key, ip) VALUES (?, ?, ?)",
        (now_ms, phone_key, ip),
    )
    txn.execute("DELETE FROM dieuhanh_code_requests WHERE ts < ?", (now_ms - 24 * HOUR_MS,))
    return None


def store_code(txn: Any, phone: str, code_hash: str, expires_ms: int) -> None:
    """A new code replaces the number's previous one (and its attempt count)."""
    txn.execute("DELETE FROM dieuhanh_login_codes WHERE phone = ?", (phone,))
    txn.execute(
        "INSERT INTO dieuhanh_login_codes (phone, code_hash, expires_ts, attempts, used)"
        " VALUES (?, ?, ?, 0, 0)",
        (phone, code_hash, expires_ms),
    )


def use_code(txn: Any, phone: str, code_hash: str, now_ms: int, max_attempts: int) -> bool:
    """Spend the code if it is right, fresh, unused and not worn out by wrong tries.

    One UPDATE decides, so two logins racing with the same code cannot both win.
    A wrong try counts against the number's current code.
    """
    txn.execute(
        "UPDATE dieuhanh_login_codes SET used = 1 WHERE phone = ? AND code_hash = ?"
        " AND used = 0 AND expires_ts >= ? AND attempts < ?",
        (phone, code_hash, now_ms, max_attempts),
    )
    if txn.rowcount == 1:
        return True
    txn.execute(
        "UPDATE dieuhanh_login_codes SET attempts = attempts + 1 WHERE phone = ? AND used = 0",
        (phone,),
    )
    return False
