"""The Synapse module: what the bot and the bridge may do beyond a user, and nothing more.

Loaded by Synapse next to the phone login (``modules:`` in homeserver.yaml; ``dieuhanh
up`` writes it). The server-admin token stays with provisioning; the two network-facing
services keep only their own credentials and ask this module, with them, for the few
privileged steps their work needs (paths in ``service_api``):

- **the bot** (``bot_user_id``, its own access token) completes a person's join into an
  inbox: a room the bot created, tagged ``purpose: inbox``, in which nobody but the bot
  is joined and to which the bot invited that person. So it can reach a person alone
  with itself, never pull anyone into a room where others are.
- **the bridge** (the appservice ``appservice_id``, its as_token) has one of its portal
  users (``ghost_user_regex``, the appservice's user namespace) invited into a room
  tagged ``purpose: announcements`` (a unit's "Thông tin điều hành", where news is
  posted) by the room's creator, with the power posting a message there needs
  (``post_level``, 10: not the managers' 50 that renaming, redacting and kicking need)
  (the portal user then joins by itself: appservice joins are not rate-limited, joins
  made through the module API are); and names its portal users, always "Cổng TTĐT …"
  (``ghost_name_prefix``), so that a portal can never pass for a person.

Every refusal is a 403 with an English ``error`` and a ``reason``; every decision is
logged (user and room ids, never a token).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from synapse.module_api import (
    DirectServeJsonResource,
    ModuleApi,
    Requester,
    UserID,
    parse_json_object_from_request,
)
from synapse.module_api.errors import ConfigError

from provisioning.identity import service_api
from provisioning.identity.module_config import parse_dataclass

log = logging.getLogger(__name__)

#: provisioning.matrix.layout.TAG_EVENT and its purposes (not imported: that module pulls
#: in the directory's database layer, a second of Synapse's start-up).
TAG_EVENT = "vn.dieuhanh.room"
INBOX = "inbox"
NEWS_PURPOSE = "announcements"  # news is posted in a unit's "Thông tin điều hành"
MAX_DISPLAYNAME = 256


@dataclass(frozen=True)
class ServiceAccessConfig:
    bot_user_id: str
    appservice_id: str
    ghost_user_regex: str
    ghost_name_prefix: str = service_api.GHOST_NAME_PREFIX
    post_level: int = service_api.POST_LEVEL


class Refused(Exception):
    """The policy says no (403; 400 for a malformed request); ``reason`` is a short key,
    ``error`` the English why."""

    def __init__(self, reason: str, error: str, status: int = 403) -> None:
        super().__init__(error)
        self.reason, self.error, self.status = reason, error, status


class ServiceAccess:
    @staticmethod
    def parse_config(config: dict[str, Any]) -> ServiceAccessConfig:
        parsed = parse_dataclass(ServiceAccessConfig, config, "dieuhanh service access")
        if not re.fullmatch(r"@[^:]+:.+", str(parsed.bot_user_id)):
            raise ConfigError("dieuhanh service access: `bot_user_id` must be a full user id")
        if not parsed.appservice_id or not parsed.ghost_name_prefix.strip():
            raise ConfigError(
                "dieuhanh service access: `appservice_id` and `ghost_name_prefix` are required"
            )
        try:
            re.compile(parsed.ghost_user_regex)
        except (re.error, TypeError) as exc:
            raise ConfigError(f"dieuhanh service access: bad `ghost_user_regex`: {exc}") from None
        return parsed

    def __init__(self, config: ServiceAccessConfig, api: ModuleApi) -> None:
        self.config = config
        self.api = api
        self.ghosts = re.compile(config.ghost_user_regex)
        for path, action in (
            (service_api.INBOX_JOIN_PATH, self.join_inbox),
            (service_api.NEWS_ADMIT_PATH, self.admit_to_news_room),
            (service_api.GHOST_NAME_PATH, self.set_ghost_name),
        ):
            api.register_web_resource(path, ServiceResource(self, path, action))

    # ------------------------------------------------------------------ who is asking

    def _bot(self, requester: Requester) -> None:
        if requester.app_service_id is not None or requester.user.to_string() != (
            self.config.bot_user_id
        ):
            raise Refused("not_the_bot", "only the bot may join people into inboxes")

    def _bridge(self, requester: Requester) -> None:
        if requester.app_service_id != self.config.appservice_id:
            raise Refused("not_the_bridge", "only the bridge's appservice may do this")

    async def _ghost(self, user_id: str) -> None:
        """A registered user of the bridge's own namespace."""
        if not self.ghosts.fullmatch(user_id) or not self.api.is_mine(user_id):
            raise Refused("not_a_ghost", f"{user_id} is not in the bridge's user namespace")
        if await self.api.get_userinfo_by_id(user_id) is None:
            raise Refused("not_registered", f"{user_id} is not registered")

    # ------------------------------------------------------------------ the bot

    async def join_inbox(self, requester: Requester, body: dict[str, Any]) -> dict[str, Any]:
        self._bot(requester)
        room_id, user_id = _room_id(body), _user_id(body)
        bot = self.config.bot_user_id
        if user_id == bot or not self.api.is_mine(user_id):
            raise Refused("bad_target", f"{user_id} cannot be joined into an inbox")
        create, tag = await self._create_and_tag(room_id)
        if create is None or create.sender != bot or create.content.get("additional_creators"):
            raise Refused("not_the_bots_room", f"{room_id} was not created by the bot alone")
        if tag.get("purpose") != INBOX:
            raise Refused("not_an_inbox", f"{room_id} is not tagged as an inbox")
        members = await self.api.get_room_state(room_id, [("m.room.member", None)])
        joined = {key for (_, key), e in members.items() if _membership(e) == "join"}
        if user_id in joined and joined <= {bot, user_id}:
            return {"room_id": room_id, "user_id": user_id, "joined": False}
        if joined != {bot}:
            raise Refused("not_alone", f"{room_id} has members other than the bot")
        invite = members.get(("m.room.member", user_id))
        if invite is None or _membership(invite) != "invite" or invite.sender != bot:
            raise Refused("not_invited", f"{user_id} was not invited to {room_id} by the bot")
        await self.api.update_room_membership(user_id, user_id, room_id, "join")
        return {"room_id": room_id, "user_id": user_id, "joined": True}

    # ------------------------------------------------------------------ the bridge

    async def admit_to_news_room(
        self, requester: Requester, body: dict[str, Any]
    ) -> dict[str, Any]:
        """Invite the ghost (as the room's creator) and give it the posting level; the
        bridge then joins it itself, as an appservice that Synapse does not rate-limit."""
        self._bridge(requester)
        room_id, user_id = _room_id(body), _user_id(body)
        await self._ghost(user_id)
        create, tag = await self._create_and_tag(room_id)
        if create is None or tag.get("purpose") != NEWS_PURPOSE:
            raise Refused("not_a_news_room", f"{room_id} is not a room news is posted in")
        creator = create.sender
        state = await self.api.get_room_state(
            room_id,
            [("m.room.power_levels", ""), ("m.room.member", user_id), ("m.room.member", creator)],
        )
        power = _content(state.get(("m.room.power_levels", "")))
        needed = _level((power.get("events") or {}).get("m.room.message"), power, "events_default")
        if needed > self.config.post_level:
            raise Refused(service_api.NEEDS_POWER, f"posting in {room_id} needs power {needed}")
        was = _membership(state.get(("m.room.member", user_id)))
        if was == "ban":
            raise Refused("banned", f"{user_id} is banned from {room_id}")
        invite = was not in ("join", "invite")
        users = dict(power.get("users") or {})
        raise_power = _level(users.get(user_id), power, "users_default") < self.config.post_level
        creator_in = _membership(state.get(("m.room.member", creator))) == "join"
        if (invite or raise_power) and not (self.api.is_mine(creator) and creator_in):
            raise Refused("no_inviter", f"the creator of {room_id} is not in it to act")
        if raise_power:
            users[user_id] = self.config.post_level
            await self.api.create_and_send_event_into_room(
                {
                    "type": "m.room.power_levels",
                    "room_id": room_id,
                    "sender": creator,  # touches no one else's level
                    "state_key": "",
                    "content": {**power, "users": users},
                }
            )
        if invite:
            await self.api.update_room_membership(creator, user_id, room_id, "invite")
        return {"room_id": room_id, "user_id": user_id, "was": was, "power_raised": raise_power}

    async def set_ghost_name(self, requester: Requester, body: dict[str, Any]) -> dict[str, Any]:
        self._bridge(requester)
        user_id = _user_id(body)
        name = body.get("displayname")
        await self._ghost(user_id)
        prefix = self.config.ghost_name_prefix
        if (
            not isinstance(name, str)
            or not name.startswith(prefix)
            or not name[len(prefix) :].strip()
            or len(name) > MAX_DISPLAYNAME
        ):
            raise Refused("bad_name", f"a portal user's name must start with {prefix!r}")
        profile = await self.api.get_profile_for_user(UserID.from_string(user_id).localpart)
        if profile.display_name == name:
            return {"user_id": user_id, "changed": False}
        await self.api.set_displayname(UserID.from_string(user_id), name)
        return {"user_id": user_id, "changed": True}

    # ------------------------------------------------------------------ rooms

    async def _create_and_tag(self, room_id: str) -> tuple[Any, dict[str, Any]]:
        """The room's m.room.create event (None if unknown here) and its tag's content."""
        state = await self.api.get_room_state(room_id, [("m.room.create", ""), (TAG_EVENT, "")])
        return state.get(("m.room.create", "")), _content(state.get((TAG_EVENT, "")))


Action = Callable[[Requester, dict[str, Any]], Awaitable[dict[str, Any]]]


class ServiceResource(DirectServeJsonResource):
    """POST with the caller's access token and a JSON body; 200, or 403 with the reason."""

    def __init__(self, module: ServiceAccess, path: str, action: Action) -> None:
        super().__init__()
        self.module, self.path, self.action = module, path, action

    async def _async_render_POST(self, request: Any) -> tuple[int, dict[str, Any]]:
        requester = await self.module.api.get_user_by_req(request)  # 401 without a token
        caller = requester.app_service_id or requester.user.to_string()
        body = parse_json_object_from_request(request)
        target = {k: body.get(k) for k in ("room_id", "user_id") if isinstance(body.get(k), str)}
        try:
            result = await self.action(requester, body)
        except Refused as exc:
            log.warning("%s refused to %s %s: %s", self.path, caller, target, exc.error)
            errcode = "M_FORBIDDEN" if exc.status == 403 else "M_INVALID_PARAM"
            return exc.status, {"errcode": errcode, "error": exc.error, "reason": exc.reason}
        log.info("%s done for %s %s: %s", self.path, caller, target, result)
        return 200, result


def _room_id(body: dict[str, Any]) -> str:
    room_id = body.get("room_id")
    if not isinstance(room_id, str) or not room_id.startswith("!"):
        raise Refused("bad_request", "`room_id` must be a room id", 400)
    return room_id


def _user_id(body: dict[str, Any]) -> str:
    user_id = body.get("user_id")
    if not isinstance(user_id, str) or not UserID.is_valid(user_id):
        raise Refused("bad_request", "`user_id` must be a user id", 400)
    return user_id


def _content(event: Any) -> dict[str, Any]:
    """A state event's content as plain (mutable) JSON values; {} when there is none."""
    return _thaw(event.content) if event is not None else {}


def _thaw(value: Any) -> Any:
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


def _level(value: Any, power: dict[str, Any], default_key: str) -> int:
    """A power level from the content, else the content's default for it, else 0."""
    for candidate in (value, power.get(default_key), 0):
        if candidate is not None:
            try:
                return int(candidate)
            except (TypeError, ValueError):
                continue
    return 0


def _membership(event: Any) -> str | None:
    return event.content.get("membership") if event is not None else None
