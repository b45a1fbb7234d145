"""One ghost user per portal: ``@<user_prefix><unit code>:<server>``, "Cổng TTĐT <unit>".

A ghost is registered through the appservice API (as_token, ``m.login.application_service``)
and given one device (``DEVICE_ID``), so that its sends with a transaction id are
de-duplicated by Synapse for 24 h, across restarts (DESIGN.md: appservice senders without
a device are de-duplicated only in memory).

The bridge holds no server-admin token. What a ghost needs beyond a user, it asks our
Synapse module for, with the appservice's own token (provisioning/identity/service_access.py,
which refuses anything else): its display name, always "Cổng TTĐT …" (users cannot set
names on this server), and, before its first post into a unit's "Thông tin điều hành"
(invite-only, created by provisioning; posting a message needs power 10, everything else
the managers' 50), an invitation from the room's creator with power 10 there; the ghost
then joins by itself. The module admits ghosts of this appservice into rooms tagged
``purpose: announcements`` only. Done pairs are remembered in
``bridge_ghost_rooms``; if a send is refused later (provisioning rewrote the power
levels, someone kicked the ghost), the pair is forgotten and done again once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re

from mautrix.api import Method, Path
from mautrix.appservice import AppService, IntentAPI
from mautrix.appservice.api.intent import IntentError
from mautrix.errors import MatrixRequestError, MUserInUse
from mautrix.types import RoomID, UserID
from sqlalchemy import Engine

from bridge import post
from bridge.db.ghost import Ghost, GhostRoom
from provisioning.db.threads import utcnow
from provisioning.identity import service_api
from provisioning.matrix.client import MatrixClient, MatrixError
from provisioning.text import fold

log = logging.getLogger(__name__)

DEVICE_ID = "DIEUHANH_BRIDGE"
POST_LEVEL = service_api.POST_LEVEL


class GhostError(RuntimeError):
    """A ghost cannot be made ready to post in a room (reason in Vietnamese as ``message``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason)
        self.message = message


def ghost_localpart(prefix: str, unit_code: str) -> str:
    """``cong_`` + the unit code made a valid localpart; a lossy code gets a short hash."""
    clean = re.sub(r"[^a-z0-9._=-]+", "-", fold(unit_code)).strip("-") or "u"
    if clean != unit_code:
        clean += "-" + hashlib.sha1(unit_code.encode()).hexdigest()[:6]
    return f"{prefix}{clean}"


def ghost_user_id(prefix: str, unit_code: str, server_name: str) -> str:
    return f"@{ghost_localpart(prefix, unit_code)}:{server_name}"


class Ghosts:
    def __init__(
        self,
        appservice: AppService,
        homeserver: MatrixClient,
        engine: Engine,
        *,
        server_name: str,
        user_prefix: str,
    ) -> None:
        self.az = appservice
        self.homeserver = homeserver  # with the appservice's token: our module's endpoints
        self.engine = engine
        self.server_name = server_name
        self.user_prefix = user_prefix
        self._ready: set[str] = set()  # ghosts registered, named and with a device this run
        self._rooms: dict[str, set[str]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def user_id(self, unit_code: str) -> str:
        return ghost_user_id(self.user_prefix, unit_code, self.server_name)

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def intent(self, unit_code: str, unit_name: str) -> IntentAPI:
        """The ghost of ``unit_code``: registered, named after the unit, with its device."""
        user_id = self.user_id(unit_code)
        intent = self.az.intent.user(UserID(user_id))
        if user_id in self._ready:
            return intent
        async with self._lock(user_id):
            if user_id in self._ready:
                return intent
            known = await Ghost.get(self.engine, user_id)
            displayname = post.ghost_displayname(unit_name)
            if known is None:
                await self._register(intent)
            if known is None or known.displayname != displayname:
                await service_api.set_ghost_name(self.homeserver, user_id, displayname)
                log.info("ghost %s is now %r", user_id, displayname)
            if not (known and known.device_ready):
                await self._make_device(intent)
            await Ghost(user_id, unit_code, displayname, True).save(self.engine)
            self._ready.add(user_id)
        return intent

    async def _register(self, intent: IntentAPI) -> None:
        try:
            await intent.api.request(
                Method.POST,
                Path.v3.register,
                {
                    "type": "m.login.application_service",
                    "username": intent.localpart,
                    "inhibit_login": True,
                },
                query_params={"kind": "user"},
            )
            log.info("registered ghost %s", intent.mxid)
        except MUserInUse:
            pass
        await self.az.state_store.registered(intent.mxid)

    async def _make_device(self, intent: IntentAPI) -> None:
        """Log the ghost in once with a fixed device id (the token is not needed after)."""
        await intent.api.request(
            Method.POST,
            Path.v3.login,
            {
                "type": "m.login.application_service",
                "identifier": {"type": "m.id.user", "user": intent.mxid},
                "device_id": DEVICE_ID,
                "initial_device_display_name": "Điều hành bridge",
            },
        )

    # ------------------------------------------------------------------ rooms

    async def ensure_in_room(self, intent: IntentAPI, room_id: str) -> None:
        """Joined and able to post in ``room_id`` (admitted by our module, then joined)."""
        user_id = str(intent.mxid)
        if user_id not in self._rooms:
            rooms = await GhostRoom.of_ghost(self.engine, user_id)
            self._rooms.setdefault(user_id, {r.room_id for r in rooms})
        if room_id in self._rooms[user_id]:
            return
        async with self._lock(f"{user_id}|{room_id}"):
            if room_id in self._rooms[user_id]:
                return
            try:
                await service_api.admit_to_news_room(self.homeserver, room_id, user_id)
            except MatrixError as exc:
                if exc.status != 403:
                    raise
                raise GhostError(str(exc), _refusal_message(exc)) from None
            await intent.join_room_by_id(RoomID(room_id))
            await self.az.state_store.joined(RoomID(room_id), UserID(user_id))
            # what the ghost may do there now (mautrix checks it before each send)
            await intent.get_power_levels(RoomID(room_id), ignore_cache=True, ensure_joined=False)
            await GhostRoom(user_id, room_id, utcnow()).insert(self.engine)
            self._rooms[user_id].add(room_id)
            log.info("ghost %s joined %s with power %d", user_id, room_id, POST_LEVEL)

    async def forget_room(self, intent: IntentAPI, room_id: str) -> None:
        """Forget that the ghost is ready in a room (a send was refused): redo it next time."""
        user_id = str(intent.mxid)
        self._rooms.get(user_id, set()).discard(room_id)
        await GhostRoom.forget(self.engine, user_id, room_id)


def _refusal_message(exc: MatrixError) -> str:
    if exc.data.get("reason") == service_api.NEEDS_POWER:
        return "phòng yêu cầu quyền đăng tin cao hơn mức dành cho cổng thông tin"
    return "cổng thông tin không được phép đăng tin vào phòng này"


def is_refusal(exc: BaseException) -> bool:
    """A send refused because the ghost is not (or no longer) allowed in the room."""
    if isinstance(exc, IntentError):
        return True
    return isinstance(exc, MatrixRequestError) and getattr(exc, "http_status", 0) == 403
