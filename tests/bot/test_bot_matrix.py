"""The bot process against the real Synapse, with real Matrix clients (nio) as officials
who logged in with their phone number and a one-time code."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from nio import AsyncClient, AsyncClientConfig, RoomMessageNotice
from typer.testing import CliRunner

from dieuhanh.cli import app
from dieuhanh.db import open_database
from provisioning.matrix.apply import apply
from provisioning.matrix.inbox import inbox_key
from provisioning.matrix.mirror import load_mirror

from ..directory.conftest import STAFF_HEADER, UNIT_HEADER, write_csv
from ..identity.test_login import code_for, national
from ..provisioning.conftest import make_district
from ..waiting import eventually, eventually_async, log_tail

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    def __init__(self, env: dict[str, str], config_path: Path, log_path: Path) -> None:
        self.env, self.config_path, self.log_path = env, config_path, log_path
        self.process: subprocess.Popen | None = None

    def start(self, *, wait_for: str | None = None) -> None:
        """Start the bot; with ``wait_for``, until its log says so (e.g. its first sync)."""
        self.log = self.log_path.open("ab")
        offset = self.log_path.stat().st_size
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dieuhanh", "bot", "--config", str(self.config_path)],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if wait_for:
            eventually(
                lambda: self.logged(wait_for, offset),
                60,
                f"the bot to log {wait_for!r}",
                diagnostic=log_tail(self.log_path),
            )

    def logged(self, text: str, offset: int = 0) -> bool:
        """Whether the log holds ``text`` past ``offset``; fails if the bot died before."""
        if text in self.log_path.read_bytes()[offset:].decode("utf-8", "replace"):
            return True
        assert self.process.poll() is None, self.log_path.read_text()[-3000:]
        return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        self.log.close()


class Setup:
    """A provisioned district, the bot running on it, and helpers to talk to it."""

    def __init__(self, synapse: Any, folder: Path, extra_staff: int = 0) -> None:
        self.synapse = synapse
        self.folder = folder
        self.district = make_district(f"b{os.getpid() % 1000}{time.time_ns() % 10**6}-")
        d = self.district
        for i in range(extra_staff):  # more teachers at the first school
            d.staff.append(
                [
                    d.p(f"x{i}"),
                    f"Nguyễn Văn Phụ {i}",
                    f"0{int(d.staff[0][2]) + 100 + i}",
                    "",
                    d.u("thcs1"),
                    "GV",
                    "",
                    "",
                    "",
                    "",
                ]
            )
        self.db_url = f"sqlite:///{folder / 'directory.db'}"
        self.engine = open_database(self.db_url)
        from provisioning.importer import import_paths

        import_paths(
            self.engine,
            [
                write_csv(folder / "don_vi.csv", UNIT_HEADER, self.district.units),
                write_csv(folder / "nhan_su.csv", STAFF_HEADER, self.district.staff),
            ],
        )
        self.config = copy.deepcopy(synapse.setup.config)
        self.config.homeserver.url = synapse.base_url
        self.config.homeserver.admin_token = synapse.admin_token
        result = asyncio.run(apply(self.engine, self.config))
        assert not result.failures, result.failures
        self.env = {
            **os.environ,
            "DIEUHANH_DATABASE_URL": self.db_url,
            "DIEUHANH_BOT_STORE_PATH": str(folder / "bot"),
            "DIEUHANH_HOMESERVER_URL": synapse.base_url,
        }
        self.bot = BotProcess(self.env, synapse.config_path, folder / "bot.log")
        self.sessions: dict[str, tuple[str, str, str]] = {}

    def user_id(self, person: str) -> str:
        return load_mirror(self.engine).accounts[self.district.p(person)].user_id

    def room(self, key: str) -> str:
        return load_mirror(self.engine).rooms[key].room_id

    def inbox(self, person: str) -> str | None:
        """The room id of ``person``'s inbox, once the bot has made it."""
        room = load_mirror(self.engine).rooms.get(inbox_key(self.district.p(person)))
        return room.room_id if room else None

    def phone(self, person: str) -> str:
        return "+84" + self.district.row(person)[2][1:]

    def stats_json(self, level: str, unit: str) -> dict:
        result = CliRunner().invoke(
            app,
            ["stats", level, "--unit", self.district.u(unit), "--json"],
            env={"DIEUHANH_DATABASE_URL": self.db_url},
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    async def client(self, person: str, *, encrypted: bool = False) -> AsyncClient:
        """A client logged in like Element Android: the phone as username, a code by SMS.

        Unencrypted sessions are reused between tests (codes are capped per number)."""
        phone = self.phone(person)
        store = self.folder / f"client-{person}-{'e2e' if encrypted else 'plain'}"
        store.mkdir(exist_ok=True)
        client = AsyncClient(
            self.synapse.base_url,
            national(phone),
            store_path=str(store),
            config=AsyncClientConfig(encryption_enabled=encrypted, store_sync_tokens=True),
        )
        saved = None if encrypted else self.sessions.get(person)
        if saved:
            client.restore_login(*saved)
        else:
            response = await client.login(
                code_for(self.synapse, phone), device_name="Element (thử)"
            )
            assert client.user_id == self.user_id(person), response
            if not encrypted:
                self.sessions[person] = (client.user_id, client.device_id, client.access_token)
        await client.sync(timeout=0, full_state=True)
        await keys(client)
        return client

    def replies(self, room_id: str) -> dict[str, list[dict]]:
        """Bot replies in an unencrypted room, by the event id they answer."""
        page = self.synapse.api(
            "GET", f"/_synapse/admin/v1/rooms/{room_id}/messages?dir=b&limit=200"
        )
        found: dict[str, list[dict]] = {}
        bot = f"@{self.config.bot.localpart}:{self.synapse.server_name}"
        for event in page["chunk"]:
            if event["type"] != "m.room.message" or event["sender"] != bot:
                continue
            target = event["content"].get("m.relates_to", {}).get("m.in_reply_to", {})
            found.setdefault(target.get("event_id"), []).append(event["content"])
        return found

    def answers_in(self, room_id: str) -> dict[str, list[dict]]:
        """Bot answers in an inbox, by the event id (typed in a shared room) they answer."""
        page = self.synapse.api(
            "GET", f"/_synapse/admin/v1/rooms/{room_id}/messages?dir=b&limit=200"
        )
        found: dict[str, list[dict]] = {}
        for event in page["chunk"]:
            target = event["content"].get("vn.dieuhanh.answer_to", {}).get("event_id")
            if event["type"] == "m.room.message" and target:
                found.setdefault(target, []).append(event["content"])
        return found

    def wait_reply(
        self, room_id: str, event_id: str, timeout: float = 60, person: str | None = None
    ) -> dict:
        """The bot's answer to a command: in the room, or in the asker's inbox when the
        command was typed in a shared room (then the room holds a pointer to it). A
        reaction or reply to a post is answered in ``person``'s inbox without a pointer."""

        def answer() -> dict | None:
            answers = self.replies(room_id).get(event_id)
            if answers and "vn.dieuhanh.answered_in" not in answers[0]:
                return answers[0]
            inbox = self.inbox(person) if person else None  # made with the first answer
            if answers or inbox:
                where = answers[0]["vn.dieuhanh.answered_in"] if answers else inbox
                private = self.answers_in(where).get(event_id)
                if private:
                    return private[0]
            return None

        return eventually(
            answer,
            timeout,
            f"the bot's reply to {event_id}",
            interval=0.2,
            diagnostic=log_tail(self.bot.log_path),
        )


async def keys(client: AsyncClient, room_id: str | None = None) -> None:
    """What Element does between syncs: publish our keys, learn and reach the others'."""
    if not client.olm:
        return
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        await client.keys_query()
    missing = client.get_missing_sessions(room_id) if room_id else {}
    if client.should_claim_keys or missing:
        await client.keys_claim(missing or client.get_users_for_key_claiming())


async def open_encrypted_dm(client: AsyncClient, bot: str) -> str:
    """What Element does for "Start chat" with the bot: an encrypted DM, the bot invited;
    the room id once the bot has joined and the keys to reach it are known."""
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
    room_id = created.room_id

    async def joined() -> bool:
        await client.sync(timeout=1000)
        room = client.rooms.get(room_id)
        return room is not None and bot in room.users

    await eventually_async(joined, 60, "the bot to accept the invite", interval=0)
    assert client.rooms[room_id].encrypted
    await keys(client, room_id)
    return room_id


async def send(client: AsyncClient, room_id: str, text: str) -> str:
    response = await client.room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": text},
        ignore_unverified_devices=True,
    )
    return response.event_id


@pytest.fixture(scope="module")
def setup(synapse, tmp_path_factory):
    s = Setup(synapse, tmp_path_factory.mktemp("bot"))
    s.bot.start(wait_for="initial sync done")  # on its first start it answers nothing older
    yield s
    s.bot.stop()
    s.engine.dispose()


def test_thongke_in_unencrypted_rooms_equals_stats_json_per_scope(setup):
    d = setup.district
    cases = [  # who, where, what they type, the scope their figures must cover
        ("ht1", f"role/{d.u('xa')}/head/THCS/public", "!thongke THCS", "thcs1"),
        ("tp", f"unit/{d.u('xa')}/announcements", "!thong ke thcs", "xa"),
        (
            "gd",
            f"unit/{d.u('so')}/announcements",
            unicodedata.normalize("NFD", "!THỐNG KÊ Trung học cơ sở"),
            "so",
        ),
    ]

    async def run() -> None:
        for who, room_key, text, scope in cases:
            client = await setup.client(who)
            try:
                room_id = setup.room(room_key)
                event_id = await send(client, room_id, text)
                reply = setup.wait_reply(room_id, event_id)
                assert reply["vn.dieuhanh.stats"] == setup.stats_json("THCS", scope), who
                assert reply["format"] == "org.matrix.custom.html"
                assert "<table>" in reply["formatted_body"] and "Số trường" in reply["body"]
            finally:
                await client.close()

    asyncio.run(run())
    figures = [setup.stats_json("THCS", scope)["so_truong"]["tong"] for *_, scope in cases]
    assert figures == [1, 2, 2]  # principal: own school; xã and Sở: both THCS schools


def test_thongke_in_an_encrypted_dm(setup):
    async def run() -> dict:
        client = await setup.client("ht1", encrypted=True)
        bot = f"@{setup.config.bot.localpart}:{setup.synapse.server_name}"
        try:
            room_id = await open_encrypted_dm(client, bot)
            event_id = await send(client, room_id, "!thống kê THCS")

            async def reply() -> dict | None:
                response = await client.sync(timeout=1000)
                await keys(client)
                for event in (
                    response.rooms.join.get(room_id, None).timeline.events
                    if (room_id in response.rooms.join)
                    else []
                ):
                    if isinstance(event, RoomMessageNotice) and event.sender == bot:
                        content = event.source["content"]
                        replied = content["m.relates_to"]["m.in_reply_to"]["event_id"]
                        assert replied == event_id
                        assert event.decrypted  # it was encrypted on the wire
                        return content
                return None

            return await eventually_async(
                reply,
                60,
                "a decrypted reply",
                interval=0,
                diagnostic=log_tail(setup.bot.log_path),
            )
        finally:
            await client.close()

    content = asyncio.run(run())
    assert content["vn.dieuhanh.stats"] == setup.stats_json("THCS", "thcs1")


def test_danhba_finds_accent_free_and_hides_outside_scope(setup):
    d = setup.district

    async def ask(who: str, room_key: str, text: str) -> dict:
        client = await setup.client(who)
        try:
            room_id = setup.room(room_key)
            return setup.wait_reply(room_id, await send(client, room_id, text))
        finally:
            await client.close()

    found = asyncio.run(ask("gd", f"unit/{d.u('so')}/announcements", "!danhba nguyen an"))
    assert found["vn.dieuhanh.people"] == [d.p("ht1")]
    assert "Nguyễn Văn An" in found["body"] and setup.user_id("ht1") in found["formatted_body"]
    hidden = asyncio.run(ask("ht2", f"role/{d.u('xa')}/head/THCS/non_public", "!danhba nguyen an"))
    assert "Không tìm thấy" in hidden["body"] and "vn.dieuhanh.people" not in hidden


def test_restart_answers_what_came_while_down_once_and_nothing_old_again(setup):
    d = setup.district
    room_id = setup.room(f"role/{d.u('xa')}/head/THCS/public")

    async def run() -> str:
        client = await setup.client("ht1")
        try:
            setup.bot.stop()
            event_id = await send(client, room_id, "!danhba Bình")  # while the bot is down
        finally:
            await client.close()
        return event_id

    async def typed() -> str:
        client = await setup.client("ht1")
        try:
            return await send(client, room_id, "!danhba Bình")
        finally:
            await client.close()

    earlier = asyncio.run(typed())  # answered before the restart: never to be answered again
    setup.wait_reply(room_id, earlier)
    before = {k: len(v) for k, v in setup.replies(room_id).items()}
    assert earlier in before and all(n == 1 for n in before.values())
    event_id = asyncio.run(run())
    assert event_id not in setup.replies(room_id)  # stop() returned: nobody can answer
    setup.bot.start()
    reply = setup.wait_reply(room_id, event_id)
    assert "Trần Thị Bình" in reply["body"]
    # The bot handles its syncs' events one after another, in timeline order: once it
    # answered a command typed after that reply, a wrong replay of anything older (the
    # catch-up or the earlier commands) would have happened already.
    later = asyncio.run(typed())
    assert "Trần Thị Bình" in setup.wait_reply(room_id, later)["body"]
    after = {k: len(v) for k, v in setup.replies(room_id).items()}
    assert after == {**before, event_id: 1, later: 1}
