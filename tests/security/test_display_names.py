"""Low finding: staff could change their display names, and titles are part of them.

"Nguyễn Văn An · HT · THCS Đỗ Văn Dậy" tells every reader who speaks with which authority;
a teacher renaming themselves "… · Giám đốc · Sở GD&ĐT" would borrow it. Synapse now
refuses display-name changes from users (``enable_set_displayname: false``) and strips
per-room names from member events (``allow_per_room_profiles: false``); provisioning
(the admin API) still sets them, and so does the bridge for its portal users (module API).
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

import pytest

from dieuhanh.db import open_database

from ..provisioning.conftest import World, make_district
from .test_no_staff_password import code_login

FAKE = "Nguyễn Văn An · GĐ · Sở GD&ĐT"


@pytest.fixture(scope="module")
def world(synapse, tmp_path_factory):
    import copy

    folder = tmp_path_factory.mktemp("display-names")
    engine = open_database(f"sqlite:///{folder / 'directory.db'}")
    config = copy.deepcopy(synapse.setup.config)
    config.homeserver.url = synapse.base_url
    config.homeserver.admin_token = synapse.admin_token
    w = World(engine, config, make_district(f"dn{secrets.token_hex(3)}-"), synapse, folder)
    w.load()
    w.apply()
    yield w
    engine.dispose()


def phone(world: World, person: str) -> str:
    return "+84" + world.district.row(person)[2][1:]


def profile_name(world: World, user_id: str) -> str | None:
    found = world.synapse.api("GET", f"/_matrix/client/v3/profile/{quote(user_id)}")
    return found.get("displayname")


def member_name(world: World, room_id: str, user_id: str) -> str | None:
    event = world.synapse.api(
        "GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/m.room.member/{quote(user_id)}"
    )
    return event.get("displayname")


def call(world: World, method: str, path: str, body: dict, token: str) -> int:
    from dieuhanh.embedded import accounts

    try:
        accounts.call(world.synapse.base_url, method, path, body, token=token)
    except accounts.MatrixError as exc:
        return exc.status
    return 200


def provisioned_name(world: World, person: str) -> str:
    from provisioning.matrix.mirror import load_mirror

    return load_mirror(world.engine).accounts[world.district.p(person)].displayname


def test_staff_cannot_change_their_global_display_name(world):
    user_id = world.user_id("gv1")
    name = provisioned_name(world, "gv1")
    assert name.endswith("· GV · THCS Đỗ Văn Dậy") and profile_name(world, user_id) == name
    token = code_login(world.synapse, phone(world, "gv1"))["access_token"]
    path = f"/_matrix/client/v3/profile/{quote(user_id)}/displayname"
    status = call(world, "PUT", path, {"displayname": FAKE}, token)
    assert status == 403, f"a staff member renamed themselves (answer {status})"
    assert call(world, "PUT", path, {"displayname": ""}, token) == 403
    assert profile_name(world, user_id) == name


def test_staff_cannot_give_themselves_another_name_in_a_room(world):
    user_id = world.user_id("nv1")
    name = provisioned_name(world, "nv1")
    room_id = world.unit_room("thcs1", "announcements")
    assert member_name(world, room_id, user_id) == name
    token = code_login(world.synapse, phone(world, "nv1"))["access_token"]
    path = f"/_matrix/client/v3/rooms/{quote(room_id)}/state/m.room.member/{quote(user_id)}"
    status = call(world, "PUT", path, {"membership": "join", "displayname": FAKE}, token)
    assert status in (200, 403), status
    assert member_name(world, room_id, user_id) == name  # stripped: the global name stays
    members = world.synapse.api("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/joined_members")[
        "joined"
    ]
    assert members[user_id]["display_name"] == name


def test_provisioning_still_sets_names_and_the_bot_keeps_its_own(world):
    row = world.district.row("gv2")
    row[5] = "Phó Hiệu trưởng"  # promoted: the title in the name follows
    world.load()
    world.apply()
    user_id = world.user_id("gv2")
    name = provisioned_name(world, "gv2")
    assert name.endswith("· PHT · THCS Đỗ Văn Dậy"), name
    assert profile_name(world, user_id) == name
    assert member_name(world, world.unit_room("thcs1", "announcements"), user_id) == name
    bot = f"@{world.config.bot.localpart}:{world.synapse.server_name}"
    assert profile_name(world, bot) == world.config.bot.display_name
