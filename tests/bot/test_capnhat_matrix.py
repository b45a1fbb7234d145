"""!capnhat against the real Synapse: a principal's phone correction reaches the login
within a minute (the new number logs in, the old one is refused), and a move to another
school changes room memberships, both through the reconcile loop (`apply --watch`)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys

import pytest
from nio import AsyncClient
from typer.testing import CliRunner

from dieuhanh.cli import app
from provisioning.matrix.client import q

from ..identity.test_login import (
    code_for,
    login,
    national,
    new_phone,
    request_code,
    sms_sink_settled,
    sms_to,
)
from ..waiting import eventually, eventually_async, log_tail
from .test_bot_matrix import ROOT, Setup, send

WATCH = [sys.executable, "-m", "dieuhanh", "apply", "--watch"]


class Watch:
    """``dieuhanh apply --watch`` as production runs it, checking every second."""

    def __init__(self, setup: Setup) -> None:
        self.log_path = setup.folder / "watch.log"
        env = {
            **setup.env,
            "DIEUHANH_HOMESERVER_ADMIN_TOKEN": setup.synapse.admin_token,
            "DIEUHANH_PROVISIONING_WATCH_INTERVAL_SECONDS": "1",
        }
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*WATCH, "--config", str(setup.synapse.config_path)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="module")
def setup(synapse, tmp_path_factory):
    s = Setup(synapse, tmp_path_factory.mktemp("capnhat"))
    s.bot.start(wait_for="initial sync done")
    s.watch = Watch(s)
    yield s
    s.watch.stop()
    s.bot.stop()
    s.engine.dispose()


async def open_dm(client: AsyncClient, bot: str) -> str:
    """An unencrypted DM with the bot, once the bot has joined it."""
    room_id = (await client.room_create(is_direct=True, invite=[bot])).room_id

    async def joined() -> bool:
        await client.sync(timeout=1000)
        room = client.rooms.get(room_id)
        return room is not None and bot in room.users

    await eventually_async(joined, 60, "the bot to join the DM", interval=0)
    return room_id


def correct(setup: Setup, who: str, command: str) -> str:
    """Type ``command`` in a DM with the bot, confirm it; the bot's last answer."""

    async def run() -> str:
        client = await setup.client(who)
        bot = f"@{setup.config.bot.localpart}:{setup.synapse.server_name}"
        try:
            room_id = await open_dm(client, bot)
            preview = setup.wait_reply(room_id, await send(client, room_id, command))
            assert "Gõ 'đồng ý' để lưu" in preview["body"], preview
            return setup.wait_reply(room_id, await send(client, room_id, "đồng ý"))["body"]
        finally:
            await client.close()

    return asyncio.run(run())


def holder(setup: Setup, phone: str) -> str | None:
    """The account Synapse has this msisdn bound to (what the login module looks up)."""
    try:
        found = setup.synapse.api(
            "GET", f"/_synapse/admin/v1/threepid/msisdn/users/{phone.lstrip('+')}"
        )
    except Exception:
        return None
    return found.get("user_id")


def test_a_phone_change_by_the_principal_reaches_the_login_within_a_minute(setup):
    synapse, d = setup.synapse, setup.district
    user_id, old, new = setup.user_id("gv1"), setup.phone("gv1"), new_phone()
    old_code = code_for(synapse, old)  # asked for before the change
    answer = correct(setup, "ht1", f"!capnhat {d.p('gv1')} sdt {national(new)}")
    assert answer.startswith("Đã lưu.") and "trong vòng một phút" in answer
    eventually(
        lambda: holder(setup, new) == user_id and holder(setup, old) is None,
        60,
        "the new phone bound and the old one freed",
        diagnostic=log_tail(setup.watch.log_path),
    )
    status, body = login(synapse, {"type": "m.id.user", "user": national(old)}, old_code)
    assert status == 403, body  # the old number no longer reaches the account
    sent_before = len(sms_to(synapse, old))
    assert request_code(synapse, old)[0] == 200  # the same answer as for any number…
    sms_sink_settled(synapse)
    assert len(sms_to(synapse, old)) == sent_before  # …but no code goes to it
    status, body = login(
        synapse, {"type": "m.id.user", "user": national(new)}, code_for(synapse, new)
    )
    assert status == 200 and body["user_id"] == user_id, body
    shown = CliRunner().invoke(
        app, ["lichsu", d.p("gv1"), "--json"], env={"DIEUHANH_DATABASE_URL": setup.db_url}
    )
    assert shown.exit_code == 0, shown.output
    newest = json.loads(shown.output)[0]
    assert (newest["field"], newest["new"], newest["source"]) == (
        "phone",
        f"0{new[3:6]} {new[6:9]} {new[9:]}",
        "chat",
    )
    assert newest["by"] == "Nguyễn Văn An"


def test_a_move_to_another_school_changes_rooms_after_the_loop_runs(setup):
    synapse, d = setup.synapse, setup.district
    user_id = setup.user_id("gv2")
    here = setup.room(f"unit/{d.u('thcs1')}/announcements")
    there = setup.room(f"unit/{d.u('thcs2')}/announcements")

    def rooms() -> set[str]:
        path = f"/_synapse/admin/v1/users/{q(user_id)}/joined_rooms"
        return set(synapse.api("GET", path)["joined_rooms"])

    assert here in rooms() and there not in rooms()
    answer = correct(setup, "tp", f"!capnhat {d.p('gv2')} donvi {d.u('thcs2')}")
    assert "Đơn vị: Trường THCS Đỗ Văn Dậy → Trường THCS Ánh Dương" in answer
    eventually(
        lambda: there in rooms() and here not in rooms(),
        60,
        "gv2 in the new school's rooms and out of the old one's",
        diagnostic=log_tail(setup.watch.log_path),
    )


def test_a_teachers_own_request_reaches_the_principals_inbox_and_is_approved(setup):
    synapse, d = setup.synapse, setup.district
    user_id, new = setup.user_id("gv3"), new_phone()
    bot = f"@{setup.config.bot.localpart}:{synapse.server_name}"

    async def ask() -> str:
        client = await setup.client("gv3")
        try:
            room_id = await open_dm(client, bot)
            event_id = await send(client, room_id, f"!capnhat sdt {national(new)}")
            return setup.wait_reply(room_id, event_id)["body"]
        finally:
            await client.close()

    answer = asyncio.run(ask())
    assert answer.startswith("Đã gửi đề nghị") and "Phạm Thị Dung" in answer, answer
    assert holder(setup, new) is None  # nothing before the principal decides

    def request_in_inbox() -> str | None:
        inbox = setup.inbox("ht2")
        if inbox is None:
            return None
        page = synapse.api("GET", f"/_synapse/admin/v1/rooms/{inbox}/messages?dir=b&limit=50")
        for event in page["chunk"]:
            body = event.get("content", {}).get("body", "")
            if event["sender"] == bot and "!capnhat duyet" in body and d.p("gv3") in body:
                return body.split("!capnhat duyet ")[1].split()[0]
        return None

    code = eventually(request_in_inbox, 60, "the request in the principal's inbox")

    async def approve() -> str:
        client = await setup.client("ht2")
        try:
            inbox = setup.inbox("ht2")
            return setup.wait_reply(inbox, await send(client, inbox, f"!capnhat duyet {code}"))[
                "body"
            ]
        finally:
            await client.close()

    assert asyncio.run(approve()).startswith("Đã duyệt.")
    eventually(
        lambda: holder(setup, new) == user_id,
        60,
        "the approved phone bound",
        diagnostic=log_tail(setup.watch.log_path),
    )
