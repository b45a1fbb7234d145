"""Low finding: the bot answered lookups in any room, so !danhba output with phone numbers
landed in group rooms. A command typed in a shared room is now answered in the asker's
inbox (bot and them), with a one-line pointer in the room."""

from __future__ import annotations

import asyncio

import pytest

from provisioning.phone import format_local

from ..bot.test_bot_matrix import Setup, send


@pytest.fixture(scope="module")
def setup(synapse, tmp_path_factory):
    s = Setup(synapse, tmp_path_factory.mktemp("bot-dm"))
    s.bot.start(wait_for="initial sync done")
    yield s
    s.bot.stop()
    s.engine.dispose()


def test_a_lookup_in_a_group_room_is_answered_privately(setup):
    d = setup.district
    room_id = setup.room(f"unit/{d.u('so')}/announcements")
    phone = format_local(setup.phone("ht1"))

    async def ask() -> str:
        client = await setup.client("gd")
        try:
            return await send(client, room_id, "!danhba nguyen an")
        finally:
            await client.close()

    event_id = asyncio.run(ask())
    answer = setup.wait_reply(room_id, event_id)  # follows the pointer to the inbox
    assert answer["vn.dieuhanh.people"] == [d.p("ht1")] and phone in answer["body"]
    assert answer["vn.dieuhanh.answer_to"] == {"room_id": room_id, "event_id": event_id}

    in_room = setup.replies(room_id)[event_id]
    assert len(in_room) == 1
    pointer = in_room[0]
    assert "phòng nhắn riêng" in pointer["body"]
    assert phone not in pointer["body"] and "vn.dieuhanh.people" not in pointer
    inbox = pointer["vn.dieuhanh.answered_in"]
    assert inbox == setup.room(f"inbox/{d.p('gd')}") and inbox != room_id
