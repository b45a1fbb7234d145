"""A small async client for Synapse's admin and client-server APIs, with retries.

Rate limits (429) are waited out as Synapse asks; 5xx answers and dropped connections are
retried with exponential backoff; any other error is permanent and raised at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)


class MatrixError(RuntimeError):
    """An error answer from the homeserver (after retries, for transient ones)."""

    def __init__(
        self,
        status: int,
        errcode: str,
        message: str,
        method: str,
        path: str,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{method} {path}: {status} {errcode} {message}")
        self.status, self.errcode, self.message = status, errcode, message
        self.data = data or {}  # the whole error body (the flows of a 401, our module's "reason")


def q(value: str) -> str:
    """Quote one path segment (user ids, room ids, aliases)."""
    return quote(value, safe="")


class MatrixClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        retries: int = 6,
        backoff: float = 0.25,
        timeout: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.retries = retries
        self.backoff = backoff
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout),
            connector=aiohttp.TCPConnector(limit=64),
        )
        self.calls = 0

    async def close(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> MatrixClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        params: dict[str, str] | None = None,
        token: str | None = None,
        wait_rate_limit: bool = True,
    ) -> dict[str, Any]:
        """One request, retried as the module says; ``wait_rate_limit=False`` raises a 429
        at once (for a caller with a faster way round the limit)."""
        headers = {"Authorization": f"Bearer {token or self.token}"}
        delay = self.backoff
        for attempt in range(self.retries + 1):
            self.calls += 1
            try:
                async with self._session.request(
                    method, self.base_url + path, json=body, params=params, headers=headers
                ) as resp:
                    data = await _json(resp)
                    if resp.status < 400:
                        return data
                    errcode = data.get("errcode", "M_UNKNOWN")
                    message = data.get("error", "")
                    if resp.status == 429 and wait_rate_limit and attempt < self.retries:
                        wait = data.get("retry_after_ms") or resp.headers.get("Retry-After")
                        wait_s = (
                            float(wait) / 1000 if "retry_after_ms" in data else float(wait or delay)
                        )
                        log.debug("rate limited on %s %s, waiting %.2f s", method, path, wait_s)
                        await asyncio.sleep(max(wait_s, 0.05))
                        continue
                    if resp.status >= 500 and attempt < self.retries:
                        log.warning("%s %s answered %s, retrying", method, path, resp.status)
                        await asyncio.sleep(delay * (1 + random.random() / 2))
                        delay = min(delay * 2, 10)
                        continue
                    raise MatrixError(resp.status, errcode, message, method, path, data)
            except (TimeoutError, aiohttp.ClientConnectionError) as exc:
                if attempt >= self.retries:
                    raise MatrixError(
                        0, "M_CONNECTION", str(exc) or type(exc).__name__, method, path
                    ) from exc
                log.warning("%s %s failed (%s), retrying", method, path, exc)
                await asyncio.sleep(delay * (1 + random.random() / 2))
                delay = min(delay * 2, 10)
        raise AssertionError("unreachable")

    # ---------------------------------------------------------------- admin: users

    async def whoami(self) -> str:
        return (await self.request("GET", "/_matrix/client/v3/account/whoami"))["user_id"]

    async def get_user(self, user_id: str) -> dict[str, Any] | None:
        try:
            return await self.request("GET", f"/_synapse/admin/v2/users/{q(user_id)}")
        except MatrixError as exc:
            if exc.status == 404:
                return None
            raise

    async def put_user(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.request("PUT", f"/_synapse/admin/v2/users/{q(user_id)}", body)

    async def user_by_external_id(self, provider: str, external_id: str) -> str | None:
        try:
            found = await self.request(
                "GET", f"/_synapse/admin/v1/auth_providers/{q(provider)}/users/{q(external_id)}"
            )
        except MatrixError as exc:
            if exc.status == 404:
                return None
            raise
        return found["user_id"]

    async def deactivate(self, user_id: str) -> None:
        await self.request("POST", f"/_synapse/admin/v1/deactivate/{q(user_id)}", {"erase": False})

    async def lift_rate_limits(self, user_id: str) -> None:
        await self.request(
            "POST",
            f"/_synapse/admin/v1/users/{q(user_id)}/override_ratelimit",
            {"messages_per_second": 0, "burst_count": 0},
        )

    # ---------------------------------------------------------------- rooms

    async def create_room(self, body: dict[str, Any]) -> str:
        return (await self.request("POST", "/_matrix/client/v3/createRoom", body))["room_id"]

    async def resolve_alias(self, alias: str) -> str | None:
        try:
            found = await self.request("GET", f"/_matrix/client/v3/directory/room/{q(alias)}")
        except MatrixError as exc:
            if exc.status == 404:
                return None
            raise
        return found["room_id"]

    async def put_state(
        self, room_id: str, event_type: str, content: dict[str, Any], state_key: str = ""
    ) -> None:
        await self.request(
            "PUT",
            f"/_matrix/client/v3/rooms/{q(room_id)}/state/{q(event_type)}/{q(state_key)}",
            content,
        )

    async def get_state(self, room_id: str, event_type: str, state_key: str = "") -> dict | None:
        try:
            return await self.request(
                "GET",
                f"/_matrix/client/v3/rooms/{q(room_id)}/state/{q(event_type)}/{q(state_key)}",
            )
        except MatrixError as exc:
            if exc.status == 404:
                return None
            raise

    async def members(self, room_id: str) -> set[str]:
        found = await self.request("GET", f"/_synapse/admin/v1/rooms/{q(room_id)}/members")
        return set(found["members"])

    async def joined_members(self, room_id: str) -> set[str]:
        """Who is joined, asked as a member (client API, no admin needed)."""
        found = await self.request("GET", f"/_matrix/client/v3/rooms/{q(room_id)}/joined_members")
        return set(found["joined"])

    async def invite(self, room_id: str, user_id: str) -> None:
        """Invite ``user_id``; already being invited or in the room is success."""
        try:
            await self.request(
                "POST", f"/_matrix/client/v3/rooms/{q(room_id)}/invite", {"user_id": user_id}
            )
        except MatrixError as exc:
            if exc.status == 403 and "already in the room" in exc.message:
                return
            raise

    async def send_event(
        self, room_id: str, content: dict[str, Any], txn_id: str, event_type: str = "m.room.message"
    ) -> str:
        """Send as this client's device; the same ``txn_id`` again returns the same event."""
        found = await self.request(
            "PUT",
            f"/_matrix/client/v3/rooms/{q(room_id)}/send/{q(event_type)}/{q(txn_id)}",
            content,
        )
        return found["event_id"]

    async def force_join(self, room_id: str, user_id: str) -> None:
        """Join ``user_id`` to the room (admin API); already being there is success.

        On Synapse's worker profile the admin API, on the main process, sometimes does not
        see an invite-only room's join rule (a current-state cache filled before the event
        persister's write reached it; seen here for one room of 40 created at once, in two
        runs of five) and so joins without inviting: "You are not invited to this room", on
        every retry. Then the admin, the room's creator, invites through the client API
        first and the join is tried once more.
        """
        try:
            await self._admin_join(room_id, user_id)
        except MatrixError as exc:
            if not _invite_race(exc):
                raise
            log.info("join of %s into %s found no invite: inviting first", user_id, room_id)
            try:
                await self.invite(room_id, user_id)
            except MatrixError:
                raise exc from None
            await self._admin_join(room_id, user_id)

    async def _admin_join(self, room_id: str, user_id: str) -> None:
        try:
            await self.request(
                "POST", f"/_synapse/admin/v1/join/{q(room_id)}", {"user_id": user_id}
            )
        except MatrixError as exc:
            if exc.status == 403 and "already in the room" in exc.message:
                return
            raise

    async def kick(self, room_id: str, user_id: str, reason: str) -> None:
        """Remove ``user_id`` from the room; not being there is success."""
        try:
            await self.request(
                "POST",
                f"/_matrix/client/v3/rooms/{q(room_id)}/kick",
                {"user_id": user_id, "reason": reason},
            )
        except MatrixError as exc:
            if exc.status == 403 and "not in the room" in exc.message:
                return
            raise


def _invite_race(exc: MatrixError) -> bool:
    """The admin join refused for want of an invite it should have sent itself."""
    return exc.status == 403 and "not invited" in exc.message


async def _json(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        data = await resp.json(content_type=None)
    except ValueError:
        text = await resp.text()
        return {"error": text[:200]}
    return data if isinstance(data, dict) else {"data": data}
