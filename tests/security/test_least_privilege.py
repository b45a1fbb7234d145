"""Low finding: the full server-admin token sat in the network-facing bridge and in the bot.

Whoever took over either process could do anything on the homeserver (create admins, read
every room, deactivate anyone). Now the admin token stays with provisioning (a file named by
``homeserver.admin_token_file``, never in config.yaml, never in the services' environment),
and the bot and the bridge hold only their own credentials. What they still need is
offered by our Synapse module (provisioning/identity/service_access.py), scoped:

- the bot may complete a person's join into an *inbox* it created, that holds nobody but
  itself, and to which it invited that person;
- the bridge (its appservice) may have its own portal users invited into a unit's
  "Thông tin điều hành" (where news is posted) with the power posting a message needs
  there, 10 — not the managers' 50 that renaming, kicking and redacting need (they then
  join by themselves), and set their names ("Cổng TTĐT …");

and everything else is refused (403) — tried here with the bot's, the bridge's and a
staff member's own tokens against the real Synapse.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import os
import secrets
import sys
import textwrap
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import yaml

from bridge.ghosts import ghost_user_id
from bridge.service import BridgeService
from dieuhanh.config import load_config
from dieuhanh.db import open_database
from dieuhanh.embedded import accounts
from dieuhanh.embedded.datadir import init_data_dir, store_admin_token
from dieuhanh.embedded.ports import free_port
from provisioning.matrix.layout import TAG_EVENT
from provisioning.matrix.mirror import load_mirror

from ..bot.test_bot_matrix import Setup
from ..bot.test_directives_matrix import MARKER, open_dm, say, wait_all_sent
from ..provisioning.conftest import World, make_district
from .test_no_staff_password import code_login

INBOX_JOIN = "/_dieuhanh/service/v1/inbox/join"
NEWS_ADMIT = "/_dieuhanh/service/v1/news/admit"
GHOST_NAME = "/_dieuhanh/service/v1/ghost/displayname"
ADMIN_ENV = (
    "DIEUHANH_HOMESERVER_ADMIN_TOKEN",
    "DIEUHANH_HOMESERVER_ADMIN_TOKEN_FILE",
    "DIEUHANH_HOMESERVER_REGISTRATION_SHARED_SECRET",
)


def call(synapse, method: str, path: str, body: dict | None, token: str | None) -> tuple[int, dict]:
    """One request with exactly this token (none: no Authorization header)."""
    try:
        return 200, accounts.call(synapse.base_url, method, path, body, token=token)
    except accounts.MatrixError as exc:
        return exc.status, {"errcode": exc.errcode, "error": str(exc)}


def joined(synapse, room_id: str) -> set[str]:
    return set(synapse.api("GET", f"/_synapse/admin/v1/rooms/{quote(room_id)}/members")["members"])


def state(synapse, room_id: str, event_type: str, key: str = "") -> dict:
    """A state event's content, read through the admin API (the admin is in no inbox)."""
    found = synapse.api("GET", f"/_synapse/admin/v1/rooms/{quote(room_id)}/state")["state"]
    return next(e["content"] for e in found if e["type"] == event_type and e["state_key"] == key)


def membership(synapse, room_id: str, user_id: str) -> str | None:
    found = synapse.api("GET", f"/_synapse/admin/v1/rooms/{quote(room_id)}/state")["state"]
    return next(
        (
            e["content"].get("membership")
            for e in found
            if e["type"] == "m.room.member" and e["state_key"] == user_id
        ),
        None,
    )


def creator(synapse, room_id: str) -> str:
    found = synapse.api("GET", f"/_synapse/admin/v1/rooms/{quote(room_id)}/state")["state"]
    return next(e["sender"] for e in found if e["type"] == "m.room.create")


# ------------------------------------------------------------------ the credentials themselves


def test_config_yaml_holds_no_admin_credential(tmp_path: Path) -> None:
    setup = init_data_dir(tmp_path / "data", free_port())
    token = "syt_" + secrets.token_urlsafe(24)
    store_admin_token(setup, token)  # what `up` does once the admin account exists
    again = init_data_dir(tmp_path / "data", setup.synapse.port)  # the next start
    text = again.data.config_path.read_text(encoding="utf-8")
    shared = (again.data.secrets_dir / "registration_shared_secret").read_text().strip()
    assert token not in text, "config.yaml (read by the bot and the bridge) holds the admin token"
    assert shared not in text, "config.yaml holds the registration shared secret (admin-equal)"
    config = load_config(again.data.config_path, environ={})
    assert config.homeserver.admin_token == ""
    # provisioning finds it through the file the setting names, and the variable still wins
    assert config.homeserver.resolve_admin_token() == token
    assert (again.data.admin_token_path.stat().st_mode & 0o777) == 0o600
    overridden = load_config(again.data.config_path, {"DIEUHANH_HOMESERVER_ADMIN_TOKEN": "x"})
    assert overridden.homeserver.resolve_admin_token() == "x"


async def test_up_starts_the_bot_and_the_bridge_without_admin_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dieuhanh.embedded import up
    from dieuhanh.embedded.supervisor import Supervisor

    setup = init_data_dir(tmp_path / "data", free_port())
    store_admin_token(setup, "syt_" + secrets.token_urlsafe(24))
    for name in ADMIN_ENV:  # an operator who exported them for `dieuhanh apply`
        monkeypatch.setenv(name, "leaked-" + secrets.token_hex(8))
    probe = textwrap.dedent(f"""
        import json, os, sys
        from dieuhanh.config import load_config
        hs = load_config(sys.argv[-1]).homeserver
        env = sorted(k for k in os.environ if k in {ADMIN_ENV!r} and os.environ[k])
        token, secret = hs.resolve_admin_token(), hs.registration_shared_secret
        print(json.dumps({{"env": env, "token": token, "secret": secret}}), flush=True)
    """)
    supervisor = Supervisor(console=open(os.devnull, "w"))  # noqa: SIM115
    try:
        for service in ("bot", "bridge"):
            spec = up.service_spec(setup, service)
            assert spec.argv[1:4] == ["-m", "dieuhanh", service]
            child = await supervisor.start(
                dataclasses.replace(
                    spec, argv=[sys.executable, "-c", probe, "--config", spec.argv[-1]]
                )
            )
            await asyncio.wait_for(child.wait_until(lambda c: bool(c.output)), 30)
            seen = json.loads(child.output[0])
            assert seen == {"env": [], "token": "", "secret": ""}, (service, seen)
    finally:
        await supervisor.stop_all()


# ------------------------------------------------------------------ the bot, without it


@pytest.fixture(scope="module")
def bot(synapse, tmp_path_factory):
    folder = tmp_path_factory.mktemp("least-privilege-bot")
    s = Setup(synapse, folder)  # provisioning (apply) runs with the admin token, legitimately
    for name in ADMIN_ENV:
        s.env.pop(name, None)
    raw = yaml.safe_load(synapse.config_path.read_text(encoding="utf-8"))
    for key in ("admin_token", "admin_token_file", "registration_shared_secret"):
        raw["homeserver"].pop(key, None)
    config_path = folder / "config.yaml"
    config_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    s.bot.config_path = config_path
    assert synapse.admin_token not in config_path.read_text(encoding="utf-8")
    assert not [k for k in s.bot.env if k in ADMIN_ENV]
    s.bot.start(wait_for="initial sync done")
    yield s
    s.bot.stop()
    s.engine.dispose()


def bot_token(synapse) -> str:
    config = synapse.setup.config
    return accounts.login(synapse.base_url, config.bot.localpart, config.bot.password).access_token


def test_a_directive_reaches_an_inbox_the_bot_made_without_the_admin_token(bot, synapse):
    async def compose() -> str:
        client = await bot.client("ht1")
        try:
            dm = await open_dm(bot, client)
            await say(bot, client, dm, "!gui")
            await say(bot, client, dm, "tin nhắn")
            await say(bot, client, dm, "tất cả")
            await say(bot, client, dm, "Trần Thị Bình")
            await say(bot, client, dm, "Đề nghị cô nộp kế hoạch bài dạy tuần 3.")
            preview = await say(bot, client, dm, "xong")
            assert preview["vn.dieuhanh.preview"]["inboxes"] == 1, preview
            sent = await say(bot, client, dm, "gửi")
            return sent["vn.dieuhanh.sent"]["code"]
        finally:
            await client.close()

    code = asyncio.run(compose())
    wait_all_sent(bot, code)
    inbox = load_mirror(bot.engine).rooms[f"inbox/{bot.district.p('gv1')}"].room_id
    bot_id = f"@{bot.config.bot.localpart}:{synapse.server_name}"
    assert joined(synapse, inbox) == {bot_id, bot.user_id("gv1")}
    assert creator(synapse, inbox) == bot_id  # the bot's own room, not the admin's
    assert state(synapse, inbox, TAG_EVENT)["purpose"] == "inbox"
    page = synapse.api("GET", f"/_synapse/admin/v1/rooms/{quote(inbox)}/messages?dir=b&limit=50")
    assert [e for e in page["chunk"] if e["content"].get(MARKER, {}).get("code") == code]


def test_the_bot_cannot_pull_anyone_into_a_shared_room(bot, synapse):
    token = bot_token(synapse)
    target = bot.user_id("gv2")
    room = bot.room(f"unit/{bot.district.u('thcs2')}/announcements")  # gv2 is not a member
    synapse.api(
        "POST", f"/_matrix/client/v3/rooms/{quote(room)}/invite", {"user_id": target}, token
    )
    status, answer = call(synapse, "POST", INBOX_JOIN, {"room_id": room, "user_id": target}, token)
    assert status == 403, answer
    assert membership(synapse, room, target) == "invite"  # the bot's invite, nothing more


def test_the_bot_cannot_add_a_second_person_to_an_inbox(bot, synapse):
    token = bot_token(synapse)
    inbox = bot.room(f"inbox/{bot.district.p('gv1')}")  # made by the directive test
    target = bot.user_id("gv2")
    synapse.api(
        "POST", f"/_matrix/client/v3/rooms/{quote(inbox)}/invite", {"user_id": target}, token
    )
    status, answer = call(synapse, "POST", INBOX_JOIN, {"room_id": inbox, "user_id": target}, token)
    assert status == 403, answer
    assert target not in joined(synapse, inbox)


def test_the_bot_cannot_join_someone_it_did_not_invite_or_into_a_room_not_its_own(bot, synapse):
    token = bot_token(synapse)
    target = bot.user_id("gv2")
    tag = {"type": TAG_EVENT, "state_key": "", "content": {"key": "x", "purpose": "inbox"}}
    body = {"preset": "private_chat", "initial_state": [tag]}
    own = synapse.api("POST", "/_matrix/client/v3/createRoom", body, token)["room_id"]
    status, answer = call(synapse, "POST", INBOX_JOIN, {"room_id": own, "user_id": target}, token)
    assert status == 403, answer  # not invited
    # a staff member's room dressed up as an inbox, with the bot invited and joined
    staff = code_login(synapse, bot.phone("ht2"))["access_token"]
    fake = synapse.api("POST", "/_matrix/client/v3/createRoom", body, staff)["room_id"]
    bot_id = f"@{bot.config.bot.localpart}:{synapse.server_name}"
    synapse.api(
        "POST", f"/_matrix/client/v3/rooms/{quote(fake)}/invite", {"user_id": bot_id}, staff
    )
    synapse.api("POST", f"/_matrix/client/v3/join/{quote(fake)}", {}, token)
    synapse.api("POST", f"/_matrix/client/v3/rooms/{quote(fake)}/leave", {}, staff)
    synapse.api(
        "POST", f"/_matrix/client/v3/rooms/{quote(fake)}/invite", {"user_id": target}, token
    )
    status, answer = call(synapse, "POST", INBOX_JOIN, {"room_id": fake, "user_id": target}, token)
    assert status == 403, answer  # not created by the bot
    assert target not in joined(synapse, own) | joined(synapse, fake)


# ------------------------------------------------------------------ the bridge, without it

HOOK_TOKEN = "cong-thu-" + "y" * 30


@pytest.fixture(scope="module")
def portal_world(synapse, tmp_path_factory):
    folder = tmp_path_factory.mktemp("least-privilege-bridge")
    db_url = f"sqlite:///{folder / 'directory.db'}"
    engine = open_database(db_url)
    config = copy.deepcopy(synapse.setup.config)
    config.homeserver.url = synapse.base_url
    config.homeserver.admin_token = synapse.admin_token
    world = World(engine, config, make_district(f"lp{secrets.token_hex(3)}-"), synapse, folder)
    world.load()
    world.apply()  # provisioning, with the admin token
    yield world, db_url
    engine.dispose()


async def _webhook(world: World, db_url: str, unit: str) -> dict[str, Any]:
    config = copy.deepcopy(world.config)
    config.homeserver.admin_token = ""
    config.homeserver.admin_token_file = ""
    config.database.url = db_url
    config.bridge.webhook_tokens = {world.district.u(unit): HOOK_TOKEN}
    config.web.listen_port = free_port()
    engine = open_database(db_url)
    service = BridgeService(config, engine)
    await service.start(poll=False)
    try:
        url = f"http://127.0.0.1:{config.web.listen_port}/_dieuhanh/api/tin-tuc"
        item = {
            "id": f"lp-{time.time_ns()}",
            "title": "Thông báo tuyển sinh lớp 6",
            "link": "https://thcs1.hcm.edu.vn/tin/1",
            "summary": "Nội dung tóm tắt.",
            "published": "2025-09-05T07:30:00+07:00",
        }
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Bearer {HOOK_TOKEN}"}
            body = {"items": [item], "targets": [world.district.u(unit)]}
            async with http.post(url, json=body, headers=headers) as resp:
                assert resp.status == 200, await resp.text()
                return await resp.json()
    finally:
        await service.stop()
        engine.dispose()


def test_a_portal_item_reaches_its_news_room_without_the_admin_token(portal_world, synapse):
    world, db_url = portal_world
    answer = asyncio.run(_webhook(world, db_url, "thcs1"))
    assert len(answer["delivered"]) == 1 and not answer["failed"], answer
    room = world.unit_room("thcs1", "announcements")
    ghost = ghost_user_id(
        world.config.bridge.user_prefix, world.district.u("thcs1"), synapse.server_name
    )
    event = synapse.api(
        "GET",
        f"/_matrix/client/v3/rooms/{quote(room)}/event/{quote(answer['delivered'][0]['event_id'])}",
    )
    assert event["sender"] == ghost
    assert ghost in joined(synapse, room)
    assert state(synapse, room, "m.room.power_levels")["users"][ghost] == 10
    profile = synapse.api("GET", f"/_matrix/client/v3/profile/{quote(ghost)}")
    assert profile["displayname"] == "Cổng TTĐT Trường THCS Đỗ Văn Dậy"


def test_a_portal_user_posts_news_and_nothing_else_in_thong_tin_dieu_hanh(portal_world, synapse):
    """A taken-over bridge, acting as its portal user in a school's "Thông tin điều hành":
    it can post (what news needs) but not rename the room, redact a principal's
    directive, kick or invite — as it could at the managers' power 50."""
    world, db_url = portal_world
    asyncio.run(_webhook(world, db_url, "thcs1"))  # the portal user is in, with its power
    room = world.unit_room("thcs1", "announcements")
    ghost = ghost_user_id(
        world.config.bridge.user_prefix, world.district.u("thcs1"), synapse.server_name
    )
    as_token = synapse.appservice.as_token
    principal = code_login(synapse, "+84" + world.district.row("ht1")[2][1:])["access_token"]
    directive = call(
        synapse,
        "PUT",
        f"/_matrix/client/v3/rooms/{quote(room)}/send/m.room.message/t{time.time_ns()}",
        {"msgtype": "m.text", "body": "Họp hội đồng lúc 14 giờ."},
        principal,
    )
    assert directive[0] == 200, directive

    def as_ghost(method: str, path: str, body: dict) -> int:
        joiner = "&" if "?" in path else "?"
        return call(synapse, method, f"{path}{joiner}user_id={quote(ghost)}", body, as_token)[0]

    base = f"/_matrix/client/v3/rooms/{quote(room)}"
    assert as_ghost("PUT", f"{base}/send/m.room.message/g{time.time_ns()}", {
        "msgtype": "m.text", "body": "Tin tức mới."
    }) == 200  # fmt: skip
    name = state(synapse, room, "m.room.name")
    assert as_ghost("PUT", f"{base}/state/m.room.name/", {"name": "Phòng của cổng"}) == 403
    assert as_ghost("PUT", f"{base}/state/m.room.topic/", {"topic": "Đã đổi"}) == 403
    redact = f"{base}/redact/{quote(directive[1]['event_id'])}/r{time.time_ns()}"
    assert as_ghost("PUT", redact, {"reason": "xoá"}) == 403
    gv1 = world.user_id("gv1")
    assert as_ghost("POST", f"{base}/kick", {"user_id": gv1, "reason": "thử"}) == 403
    assert as_ghost("POST", f"{base}/invite", {"user_id": world.user_id("gv3")}) == 403
    assert state(synapse, room, "m.room.name") == name
    assert gv1 in joined(synapse, room)
    event = synapse.api("GET", f"{base}/event/{quote(directive[1]['event_id'])}")
    assert event["content"]["body"] == "Họp hội đồng lúc 14 giờ."  # not redacted


def test_the_bridge_is_confined_to_its_ghosts_and_news_rooms(portal_world, synapse):
    world, _ = portal_world
    as_token = synapse.appservice.as_token
    prefix, server = world.config.bridge.user_prefix, synapse.server_name
    ghost = ghost_user_id(prefix, world.district.u("mn1"), server)
    accounts.call(
        synapse.base_url,
        "POST",
        "/_matrix/client/v3/register?kind=user",
        {
            "type": "m.login.application_service",
            "username": ghost[1:].split(":")[0],
            "inhibit_login": True,
        },
        token=as_token,
    )
    discussion = world.unit_room("mn1", "discussion")
    status, answer = call(
        synapse, "POST", NEWS_ADMIT, {"room_id": discussion, "user_id": ghost}, as_token
    )
    assert status == 403, answer  # not a room news is posted in
    assert membership(synapse, discussion, ghost) is None

    staff = world.user_id("gv4")
    news = world.unit_room("thcs2", "announcements")  # gv4 (at mn1) is not a member
    status, answer = call(
        synapse, "POST", NEWS_ADMIT, {"room_id": news, "user_id": staff}, as_token
    )
    assert status == 403, answer  # not the appservice's user
    assert membership(synapse, news, staff) is None

    name = synapse.api("GET", f"/_matrix/client/v3/profile/{quote(staff)}")["displayname"]
    status, answer = call(
        synapse, "POST", GHOST_NAME, {"user_id": staff, "displayname": "Cổng TTĐT Sở"}, as_token
    )
    assert status == 403, answer
    status, answer = call(
        synapse, "POST", GHOST_NAME, {"user_id": ghost, "displayname": name}, as_token
    )
    assert status == 403, answer  # a portal user passing itself off as a person
    assert synapse.api("GET", f"/_matrix/client/v3/profile/{quote(staff)}")["displayname"] == name


def test_staff_and_strangers_get_nothing_from_the_service_endpoints(portal_world, synapse):
    world, _ = portal_world
    staff = code_login(synapse, "+84" + world.district.row("gv5")[2][1:])["access_token"]
    me = world.user_id("gv5")
    news = world.unit_room("thcs1", "announcements")  # gv5 works at thpt1: not a member
    assert me not in joined(synapse, news)
    cases = [
        (INBOX_JOIN, {"room_id": news, "user_id": me}),
        (NEWS_ADMIT, {"room_id": news, "user_id": me}),
        (GHOST_NAME, {"user_id": me, "displayname": "Cổng TTĐT Sở GD&ĐT"}),
    ]
    bot = bot_token(synapse)
    as_token = synapse.appservice.as_token
    for path, body in cases:
        assert call(synapse, "POST", path, body, staff)[0] == 403, path
        assert call(synapse, "POST", path, body, None)[0] == 401, path
        assert call(synapse, "POST", path + "/", body, staff)[0] in (403, 404), path
    # each service only on its own endpoints
    assert call(synapse, "POST", NEWS_ADMIT, cases[1][1], bot)[0] == 403
    assert call(synapse, "POST", GHOST_NAME, cases[2][1], bot)[0] == 403
    assert call(synapse, "POST", INBOX_JOIN, cases[0][1], as_token)[0] == 403
    assert me not in joined(synapse, news)
    profile = synapse.api("GET", f"/_matrix/client/v3/profile/{quote(me)}")
    assert "Cổng" not in profile["displayname"]


def test_the_module_reads_the_tags_provisioning_writes() -> None:
    from provisioning.identity import service_access
    from provisioning.matrix.layout import Purpose

    assert service_access.TAG_EVENT == TAG_EVENT
    from provisioning.identity import service_api
    from provisioning.matrix.layout import PORTAL_POST_LEVEL

    assert (service_access.INBOX, service_access.NEWS_PURPOSE) == (
        Purpose.INBOX,
        Purpose.ANNOUNCEMENTS,
    )
    assert service_api.POST_LEVEL == PORTAL_POST_LEVEL
