"""The bot's sync at city scale (bot.matrix_rooms, bench/city_bot.py): its first start
asks Synapse for no room, yet joins the DMs people opened before it ever ran, answers
them encrypted (before and after a restart), answers a command typed in a shared room in
the asker's inbox, and keeps no record of the talk in shared rooms."""

from __future__ import annotations

import asyncio
import logging

import pytest
from nio import AsyncClient, AsyncClientConfig, RoomMessageNotice
from sqlalchemy import select

from bot.db.event import AnsweredEventTable
from bot.matrix_rooms import pending_invites
from provisioning.matrix.client import MatrixClient

from ..waiting import eventually, eventually_async, log_tail
from .test_bot_matrix import Setup, keys, send


def member(setup: Setup, room_id: str, user_id: str) -> str | None:
    """``user_id``'s membership in the room, read as the admin."""
    state = setup.synapse.api("GET", f"/_synapse/admin/v1/rooms/{room_id}/state")["state"]
    for event in state:
        if event["type"] == "m.room.member" and event["state_key"] == user_id:
            return event["content"]["membership"]
    return None


async def encrypted_dm(client, bot: str) -> str:
    """What Element's "Start chat" makes: an encrypted room with the bot invited."""
    created = await client.room_create(
        is_direct=True,
        invite=[bot],
        initial_state=[
            {
                "type": "m.room.encryption",
                "state_key": "",
                "content": {"algorithm": "m.megolm.v1.aes-sha2"},
            }
        ],
    )
    return created.room_id


@pytest.fixture(scope="module")
def early(synapse, tmp_path_factory):
    """A district whose bot has never run; a principal opened an encrypted DM with it and
    a stranger invited it, both before its first start. Then the bot starts."""
    s = Setup(synapse, tmp_path_factory.mktemp("bot-city"))
    s.bot_user = f"@{s.config.bot.localpart}:{synapse.server_name}"

    async def invite() -> str:
        client = await s.client("ht1", encrypted=True)
        s.device = (client.user_id, client.device_id, client.access_token)
        try:
            return await encrypted_dm(client, s.bot_user)
        finally:
            await client.close()

    s.dm = asyncio.run(invite())
    stranger = synapse.register_user()
    s.stranger_room = synapse.api(
        "POST",
        "/_matrix/client/v3/createRoom",
        {"invite": [s.bot_user], "is_direct": True},
        token=stranger.access_token,
    )["room_id"]
    s.bot.start(wait_for="initial sync done")
    yield s
    s.bot.stop()
    s.engine.dispose()


def ask_encrypted(setup: Setup, text: str) -> dict:
    """``text`` sent in the principal's encrypted DM; the bot's decrypted reply."""

    async def run() -> dict:
        client = AsyncClient(
            setup.synapse.base_url,
            setup.device[0],
            store_path=str(setup.folder / "client-ht1-e2e"),
            config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True),
        )
        client.restore_login(*setup.device)  # the same device: codes are capped per number
        try:
            await client.sync(timeout=0, full_state=True)
            await keys(client, setup.dm)
            event_id = await send(client, setup.dm, text)

            async def reply() -> dict | None:
                response = await client.sync(timeout=1000)
                await keys(client)
                room = getattr(response, "rooms", None)
                joined = room.join.get(setup.dm) if room else None
                for event in joined.timeline.events if joined else []:
                    if isinstance(event, RoomMessageNotice) and event.sender == setup.bot_user:
                        replied = event.source["content"]["m.relates_to"]["m.in_reply_to"]
                        if replied["event_id"] == event_id:
                            assert event.decrypted  # encrypted on the wire
                            return event.source["content"]
                return None

            return await eventually_async(
                reply, 60, "a decrypted reply", interval=0, diagnostic=log_tail(setup.bot.log_path)
            )
        finally:
            await client.close()

    return asyncio.run(run())


def test_first_start_joins_the_dm_opened_before_and_declines_a_stranger(early):
    eventually(lambda: member(early, early.dm, early.bot_user) == "join", 60, "the bot joins")
    rooms = early.synapse.api("GET", f"/_synapse/admin/v1/users/{early.bot_user}/joined_rooms")
    assert f"initial sync done: in {rooms['total']} rooms" in early.bot.log_path.read_text()
    eventually(
        lambda: member(early, early.stranger_room, early.bot_user) == "leave",
        60,
        "the bot declines the stranger's invite",
    )
    assert "lệnh" in ask_encrypted(early, "!trogiup")["body"].lower()


def test_after_a_restart_the_encrypted_dm_is_answered_encrypted(early):
    early.bot.stop()
    early.bot.start()
    assert "lệnh" in ask_encrypted(early, "!trogiup")["body"].lower()


def test_shared_room_talk_is_not_recorded_and_commands_there_go_to_the_inbox(early):
    d = early.district
    room_id = early.room(f"unit/{d.u('so')}/announcements")

    async def talk() -> tuple[str, str]:
        client = await early.client("gd")
        try:
            chat = await send(client, room_id, "Chào cả nhà, chiều nay họp lúc 14 giờ.")
            return chat, await send(client, room_id, "!danhba nguyen an")
        finally:
            await client.close()

    chat, command = asyncio.run(talk())
    answer = early.wait_reply(room_id, command)  # follows the pointer to the inbox
    assert answer["vn.dieuhanh.answer_to"] == {"room_id": room_id, "event_id": command}
    assert "vn.dieuhanh.answered_in" in early.replies(room_id)[command][0]
    assert chat not in early.replies(room_id)
    with early.engine.connect() as conn:
        recorded = set(conn.execute(select(AnsweredEventTable.event_id)).scalars())
    assert command in recorded and chat not in recorded


def test_invites_not_looked_up_are_logged_and_nothing_else_happens(synapse, caplog):
    async def run() -> dict:
        async with MatrixClient(synapse.base_url, "not-a-token", retries=0) as http:
            return await pending_invites(http, synapse.user_id("dieuhanh"))

    with caplog.at_level(logging.WARNING, logger="bot.matrix_rooms"):
        assert asyncio.run(run()) == {}
    assert "invites from before the first start not looked up" in caplog.text
