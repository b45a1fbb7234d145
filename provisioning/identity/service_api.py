"""The scoped service endpoints that stand in for the server-admin token, caller's side.

The Synapse module ``provisioning.identity.service_access.ServiceAccess`` serves them on
the homeserver; the bot and the bridge call them with their own access tokens (the bot's
login, the bridge's appservice token). Each answers 200 with a small JSON object, or 403
``{"errcode": "M_FORBIDDEN", "error": …, "reason": …}`` when the policy refuses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provisioning.matrix.client import MatrixClient

#: The bot: complete a person's join into an inbox it made and invited them to.
INBOX_JOIN_PATH = "/_dieuhanh/service/v1/inbox/join"
#: The bridge: have one of its portal users invited into a unit's "Thông tin điều hành"
#: room, where news is posted, with power to post.
NEWS_ADMIT_PATH = "/_dieuhanh/service/v1/news/admit"
#: The bridge: name one of its portal users ("Cổng TTĐT …").
GHOST_NAME_PATH = "/_dieuhanh/service/v1/ghost/displayname"

#: Every portal user's name starts so: it can never pass for a person.
GHOST_NAME_PREFIX = "Cổng TTĐT "
#: The power a portal user gets in a unit's "Thông tin điều hành" room: what posting a
#: message there needs (layout.PORTAL_POST_LEVEL), below the managers' 50 that renaming,
#: redacting, kicking and inviting need.
POST_LEVEL = 10

#: ``reason`` of a refusal when the room asks more power to post than POST_LEVEL.
NEEDS_POWER = "needs_power"


async def join_inbox(client: MatrixClient, room_id: str, user_id: str) -> None:
    """As the bot: join ``user_id`` (invited by the bot) into the bot's inbox room."""
    await client.request("POST", INBOX_JOIN_PATH, {"room_id": room_id, "user_id": user_id})


async def admit_to_news_room(client: MatrixClient, room_id: str, user_id: str) -> None:
    """As the bridge: its portal user invited into a unit's "Thông tin điều hành" room,
    where news is posted (unless already in it), with power POST_LEVEL there; the portal
    user then joins by itself."""
    await client.request("POST", NEWS_ADMIT_PATH, {"room_id": room_id, "user_id": user_id})


async def set_ghost_name(client: MatrixClient, user_id: str, displayname: str) -> None:
    """As the bridge: set its portal user's display name."""
    await client.request("POST", GHOST_NAME_PATH, {"user_id": user_id, "displayname": displayname})
