"""A delivery room the bot is not in (it was removed, or provisioning has not joined it
yet), against the real Synapse: the bot reads a room's state only when it must, so it
learns this when it asks Synapse. A !gui preview and a send say so and reach those people
through their inboxes; a delivery planned there earlier is given up with the reason and
its people get the directive in their inboxes instead, before it is announced."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest
from sqlalchemy import text

from bot.directives.audience import Selection, parse_targets
from bot.directives.compose import preview, save
from bot.directory import DirectoryCache
from bot.matrix_rooms import NOT_JOINED, not_in_room

from .test_bot_matrix import Setup
from .test_directives_matrix import MARKER, bot_id, copies, open_dm, say, wait_all_sent, wait_notice

#: the room the bot is taken out of: the xã's public THCS principals (Nguyễn Văn An)
LEFT = "role/{xa}/head/THCS/public"
NOT_IN = "Bot chưa ở trong phòng"


@pytest.fixture(scope="module")
def setup(synapse, tmp_path_factory):
    """A district whose bot runs, then leaves one delivery room (as if removed from it);
    the directory's mirror still counts it in."""
    s = Setup(synapse, tmp_path_factory.mktemp("not-in-room"))
    s.bot.start(wait_for="initial sync done")
    room_id = left_room(s)
    bot = quote(bot_id(s))
    token = synapse.api("POST", f"/_synapse/admin/v1/users/{bot}/login", {})["access_token"]
    synapse.api("POST", f"/_matrix/client/v3/rooms/{quote(room_id)}/leave", {}, token=token)
    members = synapse.api("GET", f"/_synapse/admin/v1/rooms/{quote(room_id)}/members")
    assert bot_id(s) not in members["members"]
    yield s
    s.bot.stop()
    s.engine.dispose()


def left_room(setup: Setup) -> str:
    return setup.room(LEFT.format(xa=setup.district.u("xa")))


def room_name(setup: Setup, key: str) -> str:
    with setup.engine.connect() as conn:
        return conn.scalar(text("SELECT name FROM matrix_rooms WHERE key = :k"), {"k": key})


def stale_directive(setup: Setup, origin: str) -> str:
    """A directive from the Sở's director to the THCS principals planned on the mirror
    alone (as before the bot was taken out): one delivery into the room it left; its code."""

    async def run() -> str:
        snapshot = await DirectoryCache(setup.engine, min_check_interval=0).get()
        asker = snapshot.asker(setup.user_id("gd"))
        selection = Selection()
        parse_targets("THCS HT", snapshot, asker, selection, step=0)
        found = await preview(snapshot, asker, selection, engine=setup.engine)
        assert left_room(setup) in found.rooms.values()
        _, code = await save(
            setup.engine, snapshot, asker, selection, found,
            body="Kế hoạch tuần đã lập trước.", html=None, attachments=[],
            origin_room_id=origin,
        )  # fmt: skip
        return code

    return asyncio.run(run())


def deliveries_of(setup: Setup, code: str) -> list[tuple]:
    with setup.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT d.kind, d.room_id, d.event_id, d.attempts, d.error FROM "
                "directive_deliveries d JOIN directives x ON x.id = d.directive_id "
                "WHERE x.code = :c ORDER BY d.id"
            ),
            {"c": code},
        ).all()


def texts(setup: Setup, person: str, code: str) -> list[dict]:
    seen = asyncio.run(copies(setup, person, code))
    return [c for c in seen if not c[MARKER].get("attachment")]


def test_preview_and_send_reach_its_people_through_their_inboxes(setup):
    name = room_name(setup, LEFT.format(xa=setup.district.u("xa")))

    async def run() -> tuple[dict, dict, dict]:
        client = await setup.client("gd")  # the Sở's director
        try:
            dm = await open_dm(setup, client)
            await say(setup, client, dm, "!gui")
            await say(setup, client, dm, "tin nhắn")
            await say(setup, client, dm, "THCS")
            await say(setup, client, dm, "HT")
            await say(setup, client, dm, "Mời các thầy cô hiệu trưởng họp giao ban.")
            shown = await say(setup, client, dm, "xong")
            guided = await say(setup, client, dm, "gửi")
            one_line = await say(setup, client, dm, "!gui THCS HT: Nộp báo cáo tháng 12.")
            return shown, guided, one_line
        finally:
            await client.close()

    shown, guided, one_line = asyncio.run(run())
    assert f"{NOT_IN} «{name}»" in shown["body"], shown["body"]
    assert shown["vn.dieuhanh.preview"]["people"] == 2
    assert shown["vn.dieuhanh.preview"]["inboxes"] >= 1  # Nguyễn Văn An's, at least
    for sent in (guided, one_line):
        assert "vn.dieuhanh.sent" in sent, sent["body"]
        assert f"{NOT_IN} «{name}»" in sent["body"]
        code = sent["vn.dieuhanh.sent"]["code"]
        wait_all_sent(setup, code)
        assert left_room(setup) not in {room for _, room, *_ in deliveries_of(setup, code)}
        for person in ("ht1", "ht2"):
            assert len(texts(setup, person, code)) == 1, person


def test_a_delivery_planned_there_goes_to_its_peoples_inboxes_instead(setup):
    async def open_sender_dm() -> str:
        client = await setup.client("gd")
        try:
            return await open_dm(setup, client)
        finally:
            await client.close()

    dm = asyncio.run(open_sender_dm())
    code = stale_directive(setup, dm)

    async def wake_and_wait() -> str:
        client = await setup.client("gd")
        try:  # a post of its own wakes the delivery worker at once
            await say(setup, client, dm, "!gui THCS HT: Lịch trực tết.")
            return await wait_notice(setup, client, dm, f"Đã gửi tin nhắn điều hành mã {code}")
        finally:
            await client.close()

    announced = asyncio.run(wake_and_wait())
    rows = deliveries_of(setup, code)
    given_up = [r for r in rows if r[1] == left_room(setup)]
    assert len(given_up) == 1 and given_up[0][2] is None  # the room: never sent…
    assert "bot chưa ở trong phòng" in given_up[0][4].lower()  # …and why
    inboxes = [r for r in rows if r[0] == "inbox"]
    assert inboxes and all(r[2] is not None for r in inboxes)  # its people's, all sent
    assert all(r[2] is not None for r in rows if r[1] != left_room(setup))
    assert "chưa nhận được" not in announced, announced
    assert len(texts(setup, "ht1", code)) == 1 and len(texts(setup, "ht2", code)) == 1
    with setup.engine.connect() as conn:  # !baocao's recipients now point at the inbox copy
        undelivered = conn.scalar(
            text(
                "SELECT count(*) FROM directive_recipients r JOIN directives x"
                " ON x.id = r.directive_id JOIN directive_deliveries d ON d.id = r.delivery_id"
                " WHERE x.code = :c AND d.event_id IS NULL"
            ),
            {"c": code},
        )
    assert undelivered == 0


@pytest.mark.parametrize(
    ("errcode", "message", "expected"),
    [
        ("M_FORBIDDEN", "User @dieuhanh:x not in room !r:x", True),
        (NOT_JOINED, "User not in room", True),
        ("M_FORBIDDEN", "You don't have permission to post that to the room.", False),
        ("M_LIMIT_EXCEEDED", "not in room", False),
    ],
)
def test_which_refusals_mean_the_bot_is_not_in_the_room(errcode, message, expected):
    assert not_in_room(errcode, message) is expected
