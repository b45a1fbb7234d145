"""Invites to the bot against the real Synapse: someone provisioned after the bot loaded
its directory (it checks for changes only every ``bot.directory_check_seconds``, an hour
here) opens a DM with it and is answered, because an invite from someone unknown makes it
look at the directory again before declining; a stranger is still declined."""

from __future__ import annotations

import asyncio

import pytest

from provisioning.importer import import_paths
from provisioning.matrix.apply import apply

from ..directory.conftest import STAFF_HEADER, UNIT_HEADER, write_csv
from ..waiting import eventually, log_tail
from .test_bot_city_sync import member
from .test_bot_matrix import Setup
from .test_directives_matrix import bot_id, open_dm, say


@pytest.fixture(scope="module")
def setup(synapse, tmp_path_factory):
    s = Setup(synapse, tmp_path_factory.mktemp("invites"))
    s.bot.env["DIEUHANH_BOT_DIRECTORY_CHECK_SECONDS"] = "3600"
    s.bot.start(wait_for="initial sync done")
    yield s
    s.bot.stop()
    s.engine.dispose()


def provision_newcomer(setup: Setup) -> None:
    """A teacher added to the directory (an import, then an apply) while the bot runs."""
    d = setup.district
    phone = f"0{int(d.staff[0][2]) + 500}"
    d.staff.append([d.p("moi"), "Phan Văn Mới", phone, "", d.u("thcs1"), "Giáo viên"] + [""] * 4)
    folder = setup.folder / "newcomer"
    files = [
        write_csv(folder / "don_vi.csv", UNIT_HEADER, d.units),
        write_csv(folder / "nhan_su.csv", STAFF_HEADER, d.staff),
    ]
    assert import_paths(setup.engine, files).exit_code == 0
    result = asyncio.run(apply(setup.engine, setup.config))
    assert not result.failures, result.failures


def test_someone_provisioned_after_the_bot_loaded_its_directory_is_answered(setup):
    async def known_first() -> None:  # the bot loads its directory to answer a principal
        client = await setup.client("ht1")
        try:
            dm = await open_dm(setup, client)
            assert "lệnh" in (await say(setup, client, dm, "!trogiup"))["body"].lower()
        finally:
            await client.close()

    asyncio.run(known_first())
    provision_newcomer(setup)

    async def invite() -> str:
        client = await setup.client("moi")
        try:
            return await open_dm(setup, client)
        finally:
            await client.close()

    dm = asyncio.run(invite())
    eventually(
        lambda: member(setup, dm, bot_id(setup)) == "join",
        30,
        "the bot to join the newcomer's DM",
        diagnostic=log_tail(setup.bot.log_path),
    )

    async def ask() -> dict:
        client = await setup.client("moi")
        try:
            return await say(setup, client, dm, "!danhba Phan Văn Mới")
        finally:
            await client.close()

    assert "Phan Văn Mới" in asyncio.run(ask())["body"]


def test_a_stranger_is_still_declined(setup):
    stranger = setup.synapse.register_user()
    room_id = setup.synapse.api(
        "POST",
        "/_matrix/client/v3/createRoom",
        {"invite": [bot_id(setup)], "is_direct": True},
        token=stranger.access_token,
    )["room_id"]
    eventually(
        lambda: member(setup, room_id, bot_id(setup)) == "leave",
        60,
        "the bot to decline the stranger's invite",
        diagnostic=log_tail(setup.bot.log_path),
    )
