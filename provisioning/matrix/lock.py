"""One ``apply`` at a time per homeserver, whoever starts it (CLI, ``up``, another machine).

The lock is a row in the directory database, kept alive by a heartbeat; a holder that
died (SIGKILL, power cut) is taken over once its heartbeat is older than ``stale_after``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import socket
from collections.abc import AsyncIterator

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from provisioning.db.models import ApplyLock

LOCKS = ApplyLock.__table__


class ApplyLocked(RuntimeError):
    """Another apply holds the lock (the message says who and since when, in Vietnamese)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def try_acquire(engine: Engine, homeserver: str, holder: str, stale_after: float) -> str | None:
    """Take the lock; None on success, else a description of the current holder."""
    now = _now()
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(LOCKS).values(
                    homeserver=homeserver, holder=holder, acquired_at=now, heartbeat_at=now
                )
            )
        return None
    except IntegrityError:
        pass
    with engine.begin() as conn:
        row = conn.execute(select(LOCKS).where(LOCKS.c.homeserver == homeserver)).first()
        if row is None:
            return "?"  # released in between: the caller tries again
        if (now - row.heartbeat_at).total_seconds() > stale_after or _dead(row.holder):
            taken = conn.execute(
                update(LOCKS)
                .where(
                    LOCKS.c.homeserver == homeserver,
                    LOCKS.c.holder == row.holder,
                    LOCKS.c.heartbeat_at == row.heartbeat_at,
                )
                .values(holder=holder, acquired_at=now, heartbeat_at=now)
            )
            if taken.rowcount == 1:
                return None
        since = row.acquired_at.astimezone(dt.timezone(dt.timedelta(hours=7)))
        return f"{row.holder}, từ {since:%H:%M:%S %d/%m/%Y}"


def _dead(holder: str) -> bool:
    """True when the holder is a process of this machine that no longer exists."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextlib.asynccontextmanager
async def apply_lock(
    engine: Engine,
    homeserver: str,
    *,
    wait: bool = False,
    stale_after: float = 60.0,
    heartbeat: float = 10.0,
) -> AsyncIterator[None]:
    holder = f"{socket.gethostname()}:{os.getpid()}"
    while True:
        current = await asyncio.to_thread(try_acquire, engine, homeserver, holder, stale_after)
        if current is None:
            break
        if not wait:
            raise ApplyLocked(
                f"Một lần áp dụng khác đang chạy trên máy chủ {homeserver} ({current}). "
                "Hãy chờ nó xong, hoặc chạy lại với --wait để tự chờ."
            )
        await asyncio.sleep(1.0)

    async def beat() -> None:
        while True:
            await asyncio.sleep(heartbeat)
            with engine.begin() as conn:
                conn.execute(
                    update(LOCKS)
                    .where(LOCKS.c.homeserver == homeserver, LOCKS.c.holder == holder)
                    .values(heartbeat_at=_now())
                )

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with engine.begin() as conn:
            conn.execute(
                delete(LOCKS).where(LOCKS.c.homeserver == homeserver, LOCKS.c.holder == holder)
            )
