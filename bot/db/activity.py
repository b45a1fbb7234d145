"""Who has logged in, and when each account was last seen: the directory's
``account_activity`` (written by the login module inside Synapse, identity/activity.py),
read by ``!trienkhai`` and ``!baocao``.

Read whole, off the event loop, at most once a minute (:class:`ActivityCache`): a command
never asks Synapse, and never waits for more than one read of this table.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass, field

from sqlalchemy import Engine, or_, select

from provisioning.db.models import AccountActivity, AccountActivityCopy
from provisioning.db.threads import in_thread

#: how long a read of the table is used before the next
MAX_AGE_SECONDS = 60.0


@dataclass(frozen=True)
class Activity:
    """The table as of one read."""

    #: user id -> (first login, last seen), for accounts that have logged in
    logins: dict[str, tuple[dt.datetime, dt.datetime | None]] = field(default_factory=dict)
    #: when the login module last finished a round; None: it never has (not running)
    copied_at: dt.datetime | None = None
    #: seen_since's answers, by ``since`` (one pass over a city's logins each)
    _seen: dict[dt.datetime, frozenset[str]] = field(default_factory=dict, repr=False)

    @property
    def logged_in_users(self) -> frozenset[str]:
        """Every account that has logged in (built once per read)."""
        return self.seen_since(dt.datetime.min.replace(tzinfo=dt.UTC))

    @property
    def known(self) -> bool:
        """Whether "never logged in" can be told at all (the copy has run)."""
        return self.copied_at is not None

    def logged_in(self, user_id: str) -> bool:
        return user_id in self.logins

    def seen_since(self, since: dt.datetime) -> frozenset[str]:
        """Every account seen at or after ``since`` (kept for the next caller)."""
        found = self._seen.get(since)
        if found is None:
            found = frozenset(
                user_id
                for user_id, (first, last) in self.logins.items()
                if max(first, last or first) >= since
            )
            if len(self._seen) > 4:
                self._seen.clear()
            self._seen[since] = found
        return found


@in_thread
def load(engine: Engine) -> Activity:
    """Every account that has logged in, and when the copy last ran."""
    a = AccountActivity
    with engine.connect() as conn:
        logins = {
            user_id: (first or last, last)
            for user_id, first, last in conn.execute(
                select(a.user_id, a.first_login_at, a.last_seen_at).where(
                    or_(a.first_login_at.is_not(None), a.last_seen_at.is_not(None))
                )
            )
        }
        copied = conn.scalar(select(AccountActivityCopy.copied_at))
    return Activity(logins, copied)


class ActivityCache:
    """Hands out the table as read at most :data:`MAX_AGE_SECONDS` ago (one read shared by
    every caller that asks meanwhile)."""

    def __init__(self, engine: Engine, max_age: float = MAX_AGE_SECONDS) -> None:
        self.engine = engine
        self.max_age = max_age
        self._value: Activity | None = None
        self._read_at = 0.0
        self._refresh: asyncio.Task[Activity] | None = None

    async def get(self) -> Activity:
        now = time.monotonic()
        if self._value is not None and now - self._read_at < self.max_age:
            return self._value
        if self._refresh is None:
            self._refresh = asyncio.create_task(self._read(now))
        return await asyncio.shield(self._refresh)

    async def _read(self, started: float) -> Activity:
        try:
            self._value = await load(self.engine)
            self._read_at = started
            return self._value
        finally:
            self._refresh = None
