"""Provisioning against a real Synapse: a district, its changes, and the safety nets."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from dieuhanh.cli import app
from provisioning.importer import MassDepartureRefused
from provisioning.matrix import lock
from provisioning.matrix.apply import MassRemovalRefused, apply
from provisioning.matrix.estimate import load_rates
from provisioning.matrix.layout import TAG_EVENT
from provisioning.matrix.lock import ApplyLocked, apply_lock, try_acquire
from provisioning.matrix.mirror import forget, load_mirror

from ..waiting import eventually, eventually_async, log_tail


def test_district_provisions_and_second_apply_is_a_no_op(world):
    world.load()
    first = world.apply()
    assert first.counts["create_user"] == 14
    assert world.plan().total == 0
    # the rates it measured (kinds of 20 operations or more in a stage) for the next estimate
    rates = load_rates(world.engine, world.config.homeserver.server_name)
    assert rates.measured_at is not None and rates.per_kind["join"] > 0
    again = world.apply()
    assert again.done == 0

    d = world.district
    ht1, gv1, tt1 = world.user_id("ht1"), world.user_id("gv1"), world.user_id("tt1")
    # stable, readable localparts, never the phone
    assert ht1.startswith("@nguyenvanan")
    assert not ht1[1:].split(":")[0].isdigit()
    user = world.user(ht1)
    assert user["displayname"] == "Nguyễn Văn An · HT · THCS Đỗ Văn Dậy"
    assert world.phones(ht1) == ["84" + d.row("ht1")[2][1:]]
    assert world.user(tt1)["displayname"] == "Phạm Văn Dũng · TTCM · THCS Đỗ Văn Dậy"

    bot = world.config.bot.localpart
    announcements = world.unit_room("thcs1", "announcements")
    members = world.members(announcements)
    # the school's staff, the tổ's members too, the bot; nobody from elsewhere
    school = {world.user_id(p) for p in ("ht1", "gv1", "gv2", "tt1", "nv1")}
    assert school <= members
    assert world.user_id("gv3") not in members
    assert any(m.startswith(f"@{bot}:") for m in members)
    # role group: THCS teachers (public) of the xã, exactly
    group = world.room_id(f"role/{d.u('xa')}/teacher/THCS/public")
    assert world.members(group) - {world.synapse.admin_user_id} == {
        gv1,
        world.user_id("gv2"),
        tt1,
        f"@{bot}:{world.synapse.server_name}",
    }
    name = world.state(group, "m.room.name")["name"]
    assert name == "Giáo viên · THCS công lập · Xã Hóc Môn"
    # discussion rooms are restricted to the space, not forced
    discussion = world.unit_room("thcs1", "discussion")
    assert world.state(discussion, "m.room.join_rules")["join_rule"] == "restricted"
    assert gv1 not in world.members(discussion)
    # spaces nest like the tree, and carry the machine tag
    space = world.unit_room("thcs1", "space")
    assert world.state(space, "m.space.parent", world.unit_room("xa", "space"))["canonical"]
    assert world.state(world.unit_room("xa", "space"), "m.space.child", space)["via"]
    tag = world.state(announcements, TAG_EVENT)
    assert tag == {
        "key": f"unit/{d.u('thcs1')}/announcements",
        "unit": d.u("thcs1"),
        "purpose": "announcements",
    }


def test_power_levels_teacher_cannot_post_principal_and_bot_can(world):
    world.load()
    world.apply()
    room = world.unit_room("thcs1", "announcements")
    power = world.state(room, "m.room.power_levels")
    assert power["events_default"] == 50
    assert power["users"][world.user_id("ht1")] == 50
    assert world.user_id("gv1") not in power["users"]
    assert power["events"]["m.reaction"] == 0

    def send(person: str, body: str) -> int:
        token = world.synapse.api(
            "POST", f"/_synapse/admin/v1/users/{world.user_id(person)}/login", {}
        )["access_token"]
        try:
            world.synapse.api(
                "PUT",
                f"/_matrix/client/v3/rooms/{room}/send/m.room.message/t{time.monotonic_ns()}",
                {"msgtype": "m.text", "body": body},
                token=token,
            )
        except Exception as exc:  # MatrixError from the sync helper
            return getattr(exc, "status", 0)
        return 200

    assert send("gv1", "Em xin phép đăng") == 403
    assert send("ht1", "Kính gửi quý thầy cô") == 200
    bot_token = world.synapse.api(
        "POST",
        f"/_synapse/admin/v1/users/@{world.config.bot.localpart}:{world.synapse.server_name}/login",
        {},
    )["access_token"]
    world.synapse.api(
        "PUT",
        f"/_matrix/client/v3/rooms/{room}/send/m.room.message/b1",
        {"msgtype": "m.text", "body": "Thông báo"},
        token=bot_token,
    )


def test_changes_move_exactly_the_right_memberships_and_phones(world):
    d = world.district
    world.load()
    world.apply()
    gv1 = world.user_id("gv1")
    old_phone = world.phones(gv1)

    # a teacher moves from a public THCS to a private one
    d.row("gv1")[4] = d.u("thcs2")
    # a new position: a teacher also becomes Phó Hiệu trưởng
    d.staff.append(
        [
            d.p("gv2"),
            "Lê Văn Cường",
            d.row("gv2")[2],
            "",
            d.u("thcs1"),
            "Phó Hiệu trưởng",
            "Đại học",
            "",
            "",
            "",
        ]
    )
    # a changed phone and a changed name
    d.row("gv3")[2] = "0" + str(int(d.row("gv3")[2]) + 1)
    d.row("gv4")[1] = "Ngô Thị Mai Anh"
    # a renamed unit
    d.unit_row("mn1")[1] = "Trường Mầm non Hoa Hồng"
    world.load()
    plan = world.plan()
    counts = plan.counts()
    assert counts["update_displayname"] >= 3  # gv1 (new school), gv2 (PHT), gv4 (name), mn staff
    assert counts["rename_room"] == 3  # space, announcements, discussion of mn1
    world.apply()
    assert world.plan().total == 0

    # gv1: out of thcs1's rooms and the public THCS group, into thcs2's and the private one
    thcs1 = world.unit_room("thcs1", "announcements")
    thcs2 = world.unit_room("thcs2", "announcements")
    public_group = world.room_id(f"role/{d.u('xa')}/teacher/THCS/public")
    private_group = world.room_id(f"role/{d.u('xa')}/teacher/THCS/non_public")
    assert gv1 not in world.members(thcs1) and gv1 not in world.members(public_group)
    assert gv1 in world.members(thcs2) and gv1 in world.members(private_group)
    assert world.phones(gv1) == old_phone  # nothing else about gv1 changed
    assert world.user(gv1)["displayname"] == "Trần Thị Bình · GV · THCS Ánh Dương"
    # gv2: joins the deputies' group, stays a teacher, gets power in the announcements room
    gv2 = world.user_id("gv2")
    assert gv2 in world.members(world.room_id(f"role/{d.u('xa')}/deputy/THCS/public"))
    assert gv2 in world.members(public_group)
    assert world.state(thcs1, "m.room.power_levels")["users"][gv2] == 50
    # gv3: the new number replaces the old one
    assert world.phones(world.user_id("gv3")) == ["84" + d.row("gv3")[2][1:]]
    # gv4: renamed display name; mn1: renamed rooms
    assert world.user(world.user_id("gv4"))["displayname"].startswith("Ngô Thị Mai Anh · GV")
    assert world.state(world.unit_room("mn1", "announcements"), "m.room.name")["name"] == (
        "Thông tin điều hành · MN Hoa Hồng"
    )


def test_phone_moves_between_people_in_two_steps(world):
    d = world.district
    world.load()
    world.apply()
    # gv5 leaves; her number goes to a newcomer at the same school
    phone = d.row("gv5")[2]
    d.staff.remove(d.row("gv5"))
    d.staff.append([d.p("new"), "Tạ Văn Quang", phone, "", d.u("thpt1"), "GV", "", "", "", ""])
    world.load()
    world.apply()
    newcomer = world.user_id("new")
    assert world.phones(newcomer) == ["84" + phone[1:]]
    assert world.user(world.user_id("gv5"))["deactivated"] is True


def test_departure_deactivates_and_return_reactivates(world):
    d = world.district
    world.load()
    world.apply()
    gv2 = world.user_id("gv2")
    row = d.row("gv2")
    d.staff.remove(row)
    world.load()
    world.apply()
    user = world.user(gv2)
    assert user["deactivated"] is True and not user.get("erased")
    # Synapse parts a deactivated user from their rooms in the background
    eventually(lambda: world.joined_rooms(gv2) == set(), 30, "gv2 to leave every room")
    assert world.plan().total == 0
    d.staff.append(row)
    world.load()
    world.apply()
    assert world.user_id("gv2") == gv2  # the same account, not a new one
    user = world.user(gv2)
    assert user["deactivated"] is False
    assert world.phones(gv2) == ["84" + row[2][1:]]
    assert world.unit_room("thcs1", "announcements") in world.joined_rooms(gv2)


def test_guard_refuses_a_mass_removal_unless_allowed(world):
    d = world.district
    world.load()
    world.apply()
    before = load_mirror(world.engine)
    truncated = d.staff[:3]
    d.staff, full = truncated, d.staff
    with pytest.raises(MassDepartureRefused, match="--allow-mass-removal"):
        world.load()  # the import refuses a truncated staff file itself
    d.staff = full
    for code in ("gv1", "nv1", "gv4", "gv5"):  # many moves: many memberships removed
        d.row(code)[4] = d.u("thcs2")
    world.load()
    with pytest.raises(MassRemovalRefused, match="--allow-mass-removal"):
        world.apply()
    after = load_mirror(world.engine)
    assert after.accounts == before.accounts and after.members == before.members
    gv5 = world.user_id("gv5")
    assert world.unit_room("thpt1", "announcements") in world.joined_rooms(gv5)  # untouched
    world.apply(allow_mass_removal=True)
    assert world.unit_room("thpt1", "announcements") not in world.joined_rooms(gv5)
    d.staff = truncated
    world.load(allow_mass_removal=True)  # confirmed departures: no apply guard for them
    world.apply()
    assert world.user(gv5)["deactivated"] is True


def test_losing_the_mappings_then_applying_readopts_rooms_and_accounts(world):
    world.load()
    world.apply()
    rooms = sorted(world.managed_rooms_on_server())
    accounts = {code: a.user_id for code, a in load_mirror(world.engine).accounts.items()}
    forget(world.engine)
    result = world.apply()
    assert result.adopted >= len(rooms)
    assert sorted(world.managed_rooms_on_server()) == rooms  # no duplicate room
    again = {code: a.user_id for code, a in load_mirror(world.engine).accounts.items()}
    assert again == accounts  # no duplicate account
    assert world.plan().total == 0


def test_one_apply_at_a_time(world, monkeypatch):
    world.load()
    refusals: list[str] = []

    def watched(*args: object) -> str | None:
        """The lock's own try_acquire, each refusal noted (the held lock's description)."""
        current = try_acquire(*args)
        if current is not None:
            refusals.append(current)
        return current

    monkeypatch.setattr(lock, "try_acquire", watched)

    async def refused_twice() -> bool:
        return len(refusals) >= 2

    async def scenario() -> None:
        async with apply_lock(world.engine, world.config.homeserver.server_name):
            with pytest.raises(ApplyLocked, match="đang chạy"):
                await apply(world.engine, world.config)
            refusals.clear()
            waiting = asyncio.create_task(apply(world.engine, world.config, wait=True))
            # refused twice: it took the first refusal as "wait and try again", not as an
            # error, and it did not go ahead without the lock
            await eventually_async(refused_twice, 30, "two refusals of the lock")
            assert not waiting.done()  # it waits for the first
        result = await waiting
        assert result.done > 0

    asyncio.run(scenario())


def test_cli_plan_json_and_status(world, monkeypatch):
    world.load()
    monkeypatch.setenv("DIEUHANH_DATABASE_URL", str(world.engine.url))
    monkeypatch.setenv("DIEUHANH_HOMESERVER_ADMIN_TOKEN", world.config.homeserver.admin_token)
    monkeypatch.setenv("DIEUHANH_HOMESERVER_URL", world.config.homeserver.url)
    runner = CliRunner()
    config = ["--config", str(world.synapse.config_path)]
    planned = runner.invoke(app, ["plan", "--json", *config])
    assert planned.exit_code == 0, planned.output
    data = json.loads(planned.output)
    assert data["total"] == len(data["operations"]) == sum(data["counts"].values())
    assert data["counts"]["create_user"] == 14
    assert data["estimate"]["seconds"] > 0 and data["estimate"]["rates_measured_at"] is None
    shown = runner.invoke(app, ["plan", *config]).output
    assert "Ước tính thời gian: khoảng" in shown and "theo tốc độ mặc định" in shown
    status = runner.invoke(app, ["status", *config])
    assert "Chưa có tài khoản (lần áp dụng tới sẽ tạo)" in status.output
    applied = runner.invoke(app, ["apply", *config])
    assert applied.exit_code == 0, applied.output
    assert "Đã thực hiện" in applied.output
    # not a terminal: the plan announced with its estimate, then progress lines
    total = f"{data['total']}"
    assert f"Sẽ thực hiện {total} thao tác (tạo không gian (space): " in applied.output
    assert "Ước tính: khoảng" in applied.output
    assert f"Đồng bộ Matrix: {total}/{total} thao tác (100 %)." in applied.output
    status = runner.invoke(app, ["status", *config])
    assert "Có tài khoản" in status.output and "14" in status.output
    assert runner.invoke(app, ["plan", *config]).output.startswith("Không có gì cần thay đổi")


def test_apply_killed_midway_then_rerun_converges_without_duplicates(world, tmp_path):
    d = world.district
    # a bigger district, so that there is a "midway"
    for i in range(60):
        d.staff.append(
            [
                d.p(f"x{i}"),
                f"Nguyễn Văn Phụ {i}",
                f"0{int(d.staff[0][2]) + 100 + i}",
                "",
                d.u(["thcs1", "thcs2", "mn1", "thpt1"][i % 4]),
                "GV",
                "",
                "",
                "",
                "",
            ]
        )
    world.load()
    env = {
        **os.environ,
        "DIEUHANH_DATABASE_URL": str(world.engine.url),
        "DIEUHANH_HOMESERVER_ADMIN_TOKEN": world.config.homeserver.admin_token,
        "DIEUHANH_PROVISIONING_CONCURRENCY": "4",
    }
    log_path = tmp_path / "apply.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dieuhanh",
                "apply",
                "--config",
                str(world.synapse.config_path),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def midway() -> bool:
        with world.engine.connect() as conn:
            joined = conn.scalar(text("SELECT count(*) FROM matrix_members"))
        assert proc.poll() is None, log_path.read_text()[-3000:]  # it must still be running
        return joined >= 60

    eventually(
        midway,
        120,
        "apply to record 60 memberships",
        interval=0.05,
        diagnostic=log_tail(log_path),
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert world.plan().total > 0  # it really was midway
    world.apply()
    assert world.plan().total == 0
    # no duplicate rooms, no duplicate accounts, everyone where they belong
    rooms = world.managed_rooms_on_server()
    assert len(rooms) == len(set(rooms)) == len(load_mirror(world.engine).rooms)
    names = [
        world.synapse.api("GET", f"/_synapse/admin/v1/rooms/{r}")["canonical_alias"] for r in rooms
    ]
    assert len(names) == len(set(names))
    accounts = load_mirror(world.engine).accounts
    assert len({a.user_id for a in accounts.values()}) == len(accounts) == len(d.staff)
    external = {
        world.synapse.api("GET", f"/_synapse/admin/v1/auth_providers/dieuhanh/users/{code}")[
            "user_id"
        ]
        for code in accounts
    }
    assert external == {a.user_id for a in accounts.values()}
    announcements = world.unit_room("thcs1", "announcements")
    assert world.user_id("x0") in world.members(announcements)


def test_a_permanent_error_on_one_item_is_reported_and_the_rest_goes_on(world):
    d = world.district
    # someone took the alias of one of our rooms for a room of their own
    alias = f"dh.{d.u('thcs1')}.thongtin"
    foreign = world.synapse.api(
        "POST", "/_matrix/client/v3/createRoom", {"name": "Phòng riêng", "room_alias_name": alias}
    )["room_id"]
    world.load()
    result = asyncio.run(apply(world.engine, world.config, concurrency=8))
    failed = {(f.op.kind.value, f.op.room) for f in result.failures}
    key = f"unit/{d.u('thcs1')}/announcements"
    assert ("create_room", key) in failed
    assert all(room == key for _, room in failed)  # only that room's operations failed
    assert any("thuộc một phòng khác" in f.error for f in result.failures)
    assert world.members(foreign) == {world.synapse.admin_user_id}  # left alone
    mirror = load_mirror(world.engine)
    assert sum(a.created for a in mirror.accounts.values()) == len(d.staff)
    assert world.user_id("gv1") in world.members(world.unit_room("thcs1", "space"))
    assert world.plan().counts() == {
        "create_room": 1,
        "join": 6,
        "link_space_child": 1,
    }


def test_display_names_fit_synapse_limit(world):
    d = world.district
    d.row("gv5")[1] = "Nguyễn " + "Thị " * 60 + "Lan"
    world.load()
    world.apply()
    name = world.user(world.user_id("gv5"))["displayname"]
    assert len(name) <= 256 and name.endswith(" · GV · THPT Nguyễn Hữu Cầu")
