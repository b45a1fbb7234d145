"""Inbox rooms: one per person, the bot and them, created only when first needed.

Creating 150,000 rooms up front would cost hours; a directive that no shared room covers
exactly reaches the rest of its audience here. The bot creates the room itself, with its
own token (tagged, with a deterministic alias, so a retry or a lost mirror finds it
again): as the creator it is all-powerful there (room version 12). It invites the person
and asks our Synapse module to complete the join, which the module does only for a room
the bot created, tagged as an inbox, holding nobody but the bot, for someone the bot
invited (provisioning/identity/service_access.py). The person is free to reply (replies
acknowledge a directive).
"""

from __future__ import annotations

import asyncio
import hashlib

from sqlalchemy import Engine, select

from provisioning.identity.service_api import join_inbox
from provisioning.matrix.apply import create_room_body, room_row
from provisioning.matrix.client import MatrixClient, MatrixError
from provisioning.matrix.layout import TAG_EVENT, Power, Purpose, RoomSpec
from provisioning.matrix.mirror import MEMBERS, ROOMS, MirrorWriter, RoomRow
from provisioning.matrix.plan import digest, power_content


def inbox_key(person_code: str) -> str:
    return f"inbox/{person_code}"


def inbox_spec(person_code: str, full_name: str, unit_code: str) -> RoomSpec:
    alias = "dh.hopthu." + hashlib.sha256(person_code.encode()).hexdigest()[:16]
    return RoomSpec(
        key=inbox_key(person_code),
        purpose=Purpose.INBOX,
        unit_code=unit_code,
        name=f"Điều hành · {full_name}",
        topic="Tin nhắn điều hành gửi riêng cho Anh/Chị. Trả lời tại đây để xác nhận đã đọc.",
        is_space=False,
        join_rule="invite",
        parent_key=None,
        alias=alias,
        power=Power(0, ()),  # the bot is the creator: never listed (room version 12)
    )


async def ensure_inbox(
    client: MatrixClient,
    engine: Engine,
    *,
    person_code: str,
    full_name: str,
    unit_code: str,
    user_id: str,
    bot_user_id: str,
    server_name: str,
) -> str:
    """The person's inbox room id, creating it (and joining them) the first time.

    ``client`` carries the bot's own access token. The database is read and written in a
    worker thread: the caller's event loop keeps serving.
    """
    key = inbox_key(person_code)
    row, members = await asyncio.to_thread(_mirrored, engine, key)
    writer = MirrorWriter(engine)
    if row is None or row.room_id is None:
        spec = inbox_spec(person_code, full_name, unit_code)
        power = power_content(spec.power, {}, bot_user_id)
        row = room_row(spec)
        try:
            row.room_id = await client.create_room(create_room_body(spec, power))
            row.name, row.power_digest = spec.name, digest(power)
            members = {bot_user_id}
        except MatrixError as exc:
            if exc.errcode != "M_ROOM_IN_USE":
                raise
            row.room_id = await _adopt(client, spec, server_name)
            members = await client.joined_members(row.room_id)
        writer.room(row)
        writer.members(key, members)
        await asyncio.to_thread(writer.flush)
    if user_id not in members:
        await client.invite(row.room_id, user_id)
        await join_inbox(client, row.room_id, user_id)
        writer.joined(key, user_id)
        await asyncio.to_thread(writer.flush)
    return row.room_id


def _mirrored(engine: Engine, key: str) -> tuple[RoomRow | None, set[str]]:
    """The mirror's row of one room and its members (not the whole mirror of a city)."""
    with engine.connect() as conn:
        found = conn.execute(select(ROOMS).where(ROOMS.c.key == key)).first()
        members = set(conn.scalars(select(MEMBERS.c.user_id).where(MEMBERS.c.room_key == key)))
    return (RoomRow(**found._mapping) if found else None), members


async def _adopt(client: MatrixClient, spec: RoomSpec, server_name: str) -> str:
    room_id = await client.resolve_alias(f"#{spec.alias}:{server_name}")
    tag = await client.get_state(room_id, TAG_EVENT) if room_id else None
    if not room_id or not tag or tag.get("key") != spec.key:
        raise MatrixError(
            409, "M_ROOM_IN_USE", f"alias of {spec.key} held by another room", "POST", "/createRoom"
        )
    return room_id


__all__ = ["RoomRow", "ensure_inbox", "inbox_key", "inbox_spec"]
