"""News is posted in "Thông tin điều hành": a deployment's old "Tin tức" rooms are retired
whole by apply (one operation per room, nobody removed), against a real Synapse."""

from __future__ import annotations

import asyncio
from urllib.parse import quote as q

from provisioning.matrix.apply import create_room_body
from provisioning.matrix.client import MatrixClient
from provisioning.matrix.layout import BOT, Power, Purpose, RoomSpec, room_alias, unit_room_key
from provisioning.matrix.mirror import MirrorWriter, RoomRow, load_mirror
from provisioning.matrix.plan import Kind, power_content
from provisioning.matrix.retire import RETIRED_NOTICE, Retirement, retire_room

NEWS_UNITS = ("thcs1", "xa")


def old_news_room(world, unit: str) -> tuple[str, set[str]]:
    """The unit's "Tin tức" room as apply made it before 2026-12 — tagged, in the unit's
    space, the announcements room's people joined, in the mirror: (room id, members)."""
    code = world.district.u(unit)
    key = unit_room_key(code, Purpose.NEWS)
    mirror = load_mirror(world.engine)
    spec = RoomSpec(
        key=key,
        purpose=Purpose.NEWS,
        unit_code=code,
        name="Tin tức · thử",
        topic="Tin tức từ cổng thông tin điện tử.",
        is_space=False,
        join_rule="invite",
        parent_key=unit_room_key(code, Purpose.SPACE),
        alias=room_alias(code, "tintuc"),
        power=Power(50, ((BOT, 100),)),
    )
    power = power_content(spec.power, {}, mirror.bot_user_id)
    api = world.synapse.api
    room_id = api("POST", "/_matrix/client/v3/createRoom", create_room_body(spec, power))["room_id"]
    space = mirror.rooms[spec.parent_key].room_id
    path = f"/_matrix/client/v3/rooms/{q(space)}/state/m.space.child/{q(room_id)}"
    api("PUT", path, {"via": [world.synapse.server_name], "suggested": True})
    people = mirror.members[unit_room_key(code, Purpose.ANNOUNCEMENTS)] - {
        world.synapse.admin_user_id
    }
    for user_id in sorted(people):
        api("POST", f"/_synapse/admin/v1/join/{q(room_id)}", {"user_id": user_id})
    writer = MirrorWriter(world.engine)
    writer.room(RoomRow(key, room_id, Purpose.NEWS.value, code, parent_key=spec.parent_key))
    writer.members(key, people | {world.synapse.admin_user_id})
    writer.flush()
    return room_id, people


def messages(world, room_id: str) -> list[dict]:
    page = world.synapse.api(
        "GET", f"/_synapse/admin/v1/rooms/{q(room_id)}/messages?dir=b&limit=100"
    )
    return [e for e in page["chunk"] if e["type"] == "m.room.message"]


def test_old_news_rooms_are_retired_whole_and_news_goes_to_announcements(world):
    world.load()
    world.apply()
    layout_keys = {k for k in load_mirror(world.engine).rooms if k.endswith("/news")}
    assert not layout_keys  # the layout has no news rooms any more
    old = {unit: old_news_room(world, unit) for unit in NEWS_UNITS}

    plan = world.plan()
    assert plan.counts() == {"retire_room": 2}  # one per room: no member is removed
    assert plan.mass_removal(0.10) is None
    replacements = {op.room: op.value for op in plan.ops if op.kind is Kind.RETIRE_ROOM}
    for unit in NEWS_UNITS:
        code = world.district.u(unit)
        assert replacements[f"unit/{code}/news"] == f"unit/{code}/announcements"
    world.apply()
    assert world.plan().total == 0

    mirror = load_mirror(world.engine)
    for unit, (room_id, people) in old.items():
        code = world.district.u(unit)
        announcements = world.unit_room(unit, "announcements")
        assert f"unit/{code}/news" not in mirror.rooms and f"unit/{code}/news" not in mirror.members
        assert people <= world.members(room_id)  # everyone keeps the room and its history
        tombstone = world.state(room_id, "m.room.tombstone")
        assert tombstone["replacement_room"] == announcements
        assert world.state(room_id, "m.room.power_levels")["events_default"] == 100
        space = world.unit_room(unit, "space")
        assert world.state(space, "m.space.child", room_id) == {}  # out of the space
        notice = messages(world, room_id)[0]["content"]
        assert notice["msgtype"] == "m.notice" and notice["body"].startswith(RETIRED_NOTICE)
        assert announcements in notice["body"]
        # the room that replaces it now says the portal posts there
        assert "cổng thông tin điện tử" in world.state(announcements, "m.room.topic")["topic"]


def test_retiring_again_after_a_killed_apply_says_it_once(world):
    world.load()
    world.apply()
    room_id, _ = old_news_room(world, "thcs1")
    mirror = load_mirror(world.engine)
    code = world.district.u("thcs1")
    retirement = Retirement(
        key=f"unit/{code}/news",
        room_id=room_id,
        space_id=mirror.rooms[f"unit/{code}/space"].room_id,
        replacement_id=mirror.rooms[f"unit/{code}/announcements"].room_id,
    )

    async def twice() -> None:
        async with MatrixClient(world.synapse.base_url, world.synapse.admin_token) as client:
            for _ in range(2):  # the first as far as a killed apply got, then all again
                await retire_room(client, retirement, world.synapse.server_name)

    asyncio.run(twice())
    world.apply()  # the mirror still had it: retired once more, then forgotten
    notices = [e for e in messages(world, room_id) if e["content"].get("msgtype") == "m.notice"]
    assert len(notices) == 1
    assert world.state(room_id, "m.room.tombstone")["replacement_room"] == retirement.replacement_id
    assert f"unit/{code}/news" not in load_mirror(world.engine).rooms


def test_a_news_room_never_created_is_only_forgotten(world):
    world.load()
    world.apply()
    code = world.district.u("mn1")
    writer = MirrorWriter(world.engine)
    writer.room(RoomRow(f"unit/{code}/news", None, Purpose.NEWS.value, code))
    writer.flush()
    assert world.plan().counts() == {"retire_room": 1}
    world.apply()
    assert f"unit/{code}/news" not in load_mirror(world.engine).rooms
    assert world.plan().total == 0
