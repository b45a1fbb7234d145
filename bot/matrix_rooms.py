"""What the bot knows of its rooms without an initial sync (bench/city_bot.py: a city's
28,000 rooms cost Synapse minutes to put in an initial sync, and the bot needs none of it).

- The very first sync blocks every room (``FIRST_SYNC_FILTER``): Synapse answers it at
  once, whatever the number of rooms, with the token the bot syncs on from then on.
- Invites that came before that first start are found with one sliding-sync request
  (rooms where the bot is invited, nothing else).
- A room nio has not seen with its state (joined before the first start, or before a
  restart: nio keeps no rooms) is loaded when the bot needs to know it — whether it is
  encrypted, who is in it — from the room's current state, once.
"""

from __future__ import annotations

import logging

from nio import (
    AsyncClient,
    Event,
    MatrixRoom,
    RoomEncryptionEvent,
    RoomGetStateResponse,
    RoomMemberEvent,
)

from provisioning.matrix.client import MatrixClient, MatrixError

log = logging.getLogger(__name__)

#: the first sync: no room at all (its token, to-device messages and device lists only)
FIRST_SYNC_FILTER = {
    "room": {"rooms": []},
    "presence": {"not_types": ["*"]},
}

#: MSC3848's error code for "not in the room" (Synapse sends it when the MSC is enabled)
NOT_JOINED = "ORG.MATRIX.MSC3848.NOT_JOINED"

SLIDING_SYNC = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"
#: invites looked up at the first start (more would be answered on the next invite)
PENDING_INVITES = 1000


async def pending_invites(http: MatrixClient, user_id: str) -> dict[str, str | None]:
    """Rooms where ``user_id`` is invited, with who invited it (None if not shown)."""
    body = {
        "lists": {
            "invites": {
                "ranges": [[0, PENDING_INVITES - 1]],
                "timeline_limit": 0,
                "required_state": [],
                "filters": {"is_invite": True},
            }
        }
    }
    try:
        found = await http.request("POST", SLIDING_SYNC, body, params={"timeout": "0"})
    except MatrixError as exc:
        log.warning("invites from before the first start not looked up: %s", exc)
        return {}
    invites: dict[str, str | None] = {}
    for room_id, room in found.get("rooms", {}).items():
        invites[room_id] = next(
            (
                event.get("sender")
                for event in room.get("invite_state", [])
                if event.get("type") == "m.room.member" and event.get("state_key") == user_id
            ),
            None,
        )
    return invites


async def load_room(client: AsyncClient, room_id: str) -> MatrixRoom | None:
    """The room with its current state and members (fetched, once); None if not readable."""
    response = await client.room_get_state(room_id)
    if not isinstance(response, RoomGetStateResponse):
        log.warning("state of %s not read: %s", room_id, response)
        return client.rooms.get(room_id)
    room = client.rooms.get(room_id)
    if room is None:
        room = MatrixRoom(room_id, client.user_id, room_id in client.encrypted_rooms)
        client.rooms[room_id] = room
    for source in response.events:
        event = Event.parse_event(source)
        if isinstance(event, RoomEncryptionEvent):
            room.encrypted = True
            if room_id not in client.encrypted_rooms:
                client.encrypted_rooms.add(room_id)
                if client.store:
                    client.store.save_encrypted_rooms([room_id])
        if isinstance(event, RoomMemberEvent):
            room.handle_membership(event)
        elif isinstance(event, Event):
            room.handle_event(event)
    room.members_synced = True
    if room.encrypted and client.olm is not None:
        client.olm.update_tracked_users(room)
    return room


def not_in_room(errcode: str | None, message: str) -> bool:
    """Whether a 403 to a send says the bot is not in the room (Synapse: "User … not in
    room …"; M_FORBIDDEN, or MSC3848's NOT_JOINED), rather than that it may not post."""
    return errcode == NOT_JOINED or (errcode == "M_FORBIDDEN" and "not in room" in message)


def knows_members(room: MatrixRoom | None) -> bool:
    """Whether nio can count the room's members (a summary from a sync, or all members)."""
    if room is None:
        return False
    summary = room.summary
    counted = (
        summary is not None
        and summary.joined_member_count is not None
        and summary.invited_member_count is not None
    )
    return counted or room.members_synced
