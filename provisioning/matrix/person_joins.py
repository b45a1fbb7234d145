"""Apply's joins made as the person, through the client API.

Synapse's admin join API runs on the main process only. Measured on the worker profile
(``bench/joins.py``), the main process spent ≈ 48–56 ms of CPU per admin join whatever
the number of event persisters: one process capped a city's apply at ≈ 20 joins/s, and
more persisters could not raise it. A join the person makes
through the client API is routed by nginx to a generic worker (``deploy.routes``), and
its event to the room's persister; the main process is left ≈ 19–27 ms of bookkeeping
(replication, room statistics, user directory) per join, the person's token included.

So provisioning invites (the admin, the rooms' creator, through the client API), then
joins as the person with a short-lived token Synapse's admin API issues for them ("log in
as user": no device, expiring, counted against the admin's lifted rate limits). Tokens
live in this object only, are never logged, and are logged out when apply is done.

Synapse's per-room limits on joins and invites (``rc_joins_per_room``, ``rc_invites``:
a school joining its room at once) do not lift for an admin's tokens; the admin join API
is exempt from them. So where the client API answers 429, the join is made with the admin
API instead of waiting — a big room's joins go no slower than before. The admin API is
also the fallback where a join keeps answering "not invited" or "No known servers" (a
generic worker that has not yet seen the invite, or the room, another one made) or where
no token can be had.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter

from provisioning.matrix.client import MatrixClient, MatrixError, q

log = logging.getLogger(__name__)

#: a token lasts the longest stage of a city's apply; expired ones are simply renewed
TOKEN_LIFETIME_SECONDS = 6 * 3600
#: waits before retrying a join answered "not invited" (the invite still replicating)
NOT_INVITED_RETRIES = (0.1, 0.3, 1.0)
LOGOUT_CONCURRENCY = 16


class PersonJoins:
    """Joins people into rooms as themselves; ``stats`` counts how each join was made."""

    def __init__(self, client: MatrixClient) -> None:
        self.client = client
        self._tokens: dict[str, asyncio.Future[str | None]] = {}
        self.stats: Counter[str] = Counter()

    async def join(self, room_id: str, user_id: str) -> None:
        """``user_id`` invited into ``room_id`` and joined; already there is success."""
        try:
            if not await self._invite(room_id, user_id):
                self.stats["already"] += 1
                return
            await self._join_as(room_id, user_id)
            self.stats["client"] += 1
            return
        except _Fallback as why:
            self.stats[str(why)] += 1
        await self.client.force_join(room_id, user_id)

    async def _invite(self, room_id: str, user_id: str) -> bool:
        """The admin's invite; False if the person is already in the room."""
        try:
            await self.client.request(
                "POST",
                f"/_matrix/client/v3/rooms/{q(room_id)}/invite",
                {"user_id": user_id},
                wait_rate_limit=False,
            )
        except MatrixError as exc:
            if exc.status == 403 and "already in the room" in exc.message:
                return False
            if exc.status == 429:
                raise _Fallback("rate-limited") from None
            raise
        return True

    async def _join_as(self, room_id: str, user_id: str) -> None:
        """The person's own join, retried while the invite replicates."""
        path = f"/_matrix/client/v3/rooms/{q(room_id)}/join"
        waits = list(NOT_INVITED_RETRIES)
        renewed = False
        while True:
            token = await self._token(user_id)
            try:
                await self.client.request("POST", path, {}, token=token, wait_rate_limit=False)
                return
            except MatrixError as exc:
                if exc.status == 401 and not renewed:  # expired: one new token
                    self._tokens.pop(user_id, None)
                    renewed = True
                    continue
                if exc.status == 429:
                    raise _Fallback("rate-limited") from None
                if _not_replicated_yet(exc) and waits:
                    await asyncio.sleep(waits.pop(0))
                    continue
                if _not_replicated_yet(exc):
                    raise _Fallback("not-invited") from None
                raise

    async def _token(self, user_id: str) -> str:
        """The person's token, asked for once (concurrent joins of one person share it)."""
        pending = self._tokens.get(user_id)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._tokens[user_id] = pending
            try:
                pending.set_result(await self._login(user_id))
            except BaseException:
                self._tokens.pop(user_id, None)
                pending.set_result(None)
                raise
        token = await asyncio.shield(pending)
        if token is None:
            raise _Fallback("no-token")
        return token

    async def _login(self, user_id: str) -> str:
        until = int((time.time() + TOKEN_LIFETIME_SECONDS) * 1000)
        try:
            found = await self.client.request(
                "POST", f"/_synapse/admin/v1/users/{q(user_id)}/login", {"valid_until_ms": until}
            )
        except MatrixError as exc:
            log.warning("no token to join as %s: %s", user_id, exc.message)
            raise _Fallback("no-token") from None
        return found["access_token"]

    async def close(self) -> None:
        """Log every token out (expired ones are gone already)."""
        tokens = [f.result() for f in self._tokens.values() if f.done() and f.result() is not None]
        self._tokens.clear()
        limit = asyncio.Semaphore(LOGOUT_CONCURRENCY)

        async def logout(token: str) -> None:
            # expired, or the server going away: the token dies by itself
            async with limit:
                with contextlib.suppress(MatrixError):
                    await self.client.request("POST", "/_matrix/client/v3/logout", {}, token=token)

        await asyncio.gather(*(logout(t) for t in tokens))
        if self.stats:
            log.info("joins: %s", ", ".join(f"{k} {v}" for k, v in sorted(self.stats.items())))


def _not_replicated_yet(exc: MatrixError) -> bool:
    """The worker serving the join has not seen the invite yet: "not invited", or, if it
    has not seen the room at all, a join over federation that finds "No known servers"
    (both seen on the worker profile under load)."""
    return (exc.status == 403 and "not invited" in exc.message) or (
        exc.status == 404 and "No known servers" in exc.message
    )


class _Fallback(Exception):
    """This join goes through the admin API; the reason names the counter."""
