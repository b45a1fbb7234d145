"""Posts to families end to end: the bot process on its file clock, a real Synapse, parents'
accounts registered through the admin API (as provisioning would make them) with their
``family_accounts`` rows, and a class room made here. Each parent's own /sync says what
reached them; time is moved by writing the clock file, never by sleeping."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from urllib.parse import quote

import pytest
from sqlalchemy import insert, select, text

from provisioning.db.models import FamilyAccount, MatrixMember, MatrixRoom, SchoolClass

from ..directory import families
from ..waiting import eventually, log_tail
from .test_bot_matrix import Setup
from .test_directives_matrix import MARKER, initial_sync, wait_all_sent
from .test_kinds_matrix import says, set_time, status, wait_until

VN = dt.timezone(dt.timedelta(hours=7))
START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=VN)
YEAR = "2025-2026"


class Family:
    """A parent's account: phone, user id, access token."""

    def __init__(self, setup: Setup, name: str) -> None:
        self.phone = f"+843{secrets.randbelow(10**8):08d}"  # 03x: a mobile prefix
        session = setup.synapse.register_user(
            f"ph{self.phone[1:]}", displayname=f"{name} · PH", admin=False
        )
        self.user_id, self.token = session.user_id, session.access_token
        self.name = name

    def local(self) -> str:
        return "0" + self.phone[3:]


def copies_seen(setup: Setup, parent: Family, code: str) -> list[tuple[str, dict]]:
    """(room id, content) of every copy of post ``code`` in the parent's own /sync."""
    synced = initial_sync(setup, parent.token)
    return [
        (room_id, event["content"])
        for room_id, room in synced.get("rooms", {}).get("join", {}).items()
        for event in room["timeline"]["events"]
        if event.get("content", {}).get(MARKER, {}).get("code") == code
    ]


@pytest.fixture(scope="module")
def setup(synapse, tmp_path_factory):
    """The district; 6A1 (GVCN gv1) with the siblings An and Bình (father, mother) and
    Cúc (her mother); 6A2 (GVCN gv2) with Dũng (his father); a class room for 6A1 holding
    its teacher and its three parents."""
    s = Setup(synapse, tmp_path_factory.mktemp("families"))
    d = s.district
    s.parents = {k: Family(s, k) for k in ("father", "mother", "cuc", "dung")}
    p = s.parents
    row, code, school = families.student, d.p, d.u("thcs1")
    ba, me = ("Trần Văn Ba", p["father"].local()), ("Lê Thị Mẹ", p["mother"].local())
    result = families.run(
        s.engine,
        s.folder,
        classes=[
            [d.u("thcs1"), YEAR, "6A1", "6", d.p("gv1")],
            [d.u("thcs1"), YEAR, "6A2", "6", d.p("gv2")],
        ],
        students=[
            row(code("hs1"), "Trần Minh An", school, "6A1", father=ba, mother=me),
            row(code("hs2"), "Trần Minh Bình", school, "6A1", father=ba, mother=me),
            row(code("hs3"), "Võ Thị Cúc", school, "6A1", mother=("Võ Thị Ngà", p["cuc"].local())),
            row(code("hs4"), "Đỗ Văn Dũng", school, "6A2", father=("Đỗ Đức", p["dung"].local())),
        ],
    )  # fmt: skip
    assert not [r for r in result.reports if r.rejected], result.report_lines()
    with s.engine.begin() as conn:
        conn.execute(
            insert(FamilyAccount),
            [{"phone": f.phone, "user_id": f.user_id, "created": True} for f in p.values()],
        )
    s.class_room = class_room(
        s, [s.user_id("gv1"), *(p[k].user_id for k in ("father", "mother", "cuc"))]
    )
    s.clock_file = s.folder / "clock"
    set_time(s, START)
    s.env["DIEUHANH_BOT_CLOCK_FILE"] = str(s.clock_file)
    s.env["DIEUHANH_BOT_SCHEDULER_INTERVAL_SECONDS"] = "0.5"
    s.bot.start(wait_for="initial sync done")
    yield s
    s.bot.stop()
    s.engine.dispose()


def class_room(setup: Setup, members: list[str]) -> str:
    """The class room of 6A1 as provisioning would make it: created by the admin, the bot
    and the members joined, mirrored under ``class/<id>``."""
    api, bot = setup.synapse.api, f"@{setup.config.bot.localpart}:{setup.synapse.server_name}"
    room_id = api(
        "POST", "/_matrix/client/v3/createRoom", {"name": "Lớp 6A1", "preset": "private_chat"}
    )["room_id"]
    for user in [bot, *members]:
        api("POST", f"/_synapse/admin/v1/join/{quote(room_id)}", {"user_id": user})
    with setup.engine.begin() as conn:
        klass = conn.scalar(select(SchoolClass.id).where(SchoolClass.name == "6A1"))
        key = f"class/{klass}"
        conn.execute(
            insert(MatrixRoom),
            [
                {
                    "key": key,
                    "room_id": room_id,
                    "purpose": "class",
                    "unit_code": setup.district.u("thcs1"),
                }
            ],
        )
        conn.execute(
            insert(MatrixMember), [{"room_key": key, "user_id": u} for u in [bot, *members]]
        )
    return room_id


def read_at(setup: Setup, code: str, user_id: str):
    with setup.engine.connect() as conn:
        return conn.scalar(
            text(
                "SELECT r.read_at FROM directive_family_recipients r JOIN directives d ON "
                "d.id = r.directive_id WHERE d.code = :c AND r.user_id = :u"
            ),
            {"c": code, "u": user_id},
        )


def test_a_teacher_s_class_message_reaches_exactly_that_class_s_parents(setup):
    [answer] = asyncio.run(says(setup, "gv1", "!gui phụ huynh: Họp phụ huynh lớp 6A1 sáng thứ Bảy"))
    assert "3 phụ huynh của 1 lớp (1 phòng nhóm, 0 hộp thư riêng)" in answer["body"], answer
    code = answer["vn.dieuhanh.sent"]["code"]
    wait_all_sent(setup, code)
    parents = setup.parents
    for key in ("father", "mother", "cuc"):  # the siblings' parents once each
        seen = copies_seen(setup, parents[key], code)
        assert [room for room, _ in seen] == [setup.class_room], (key, seen)
        assert "Họp phụ huynh lớp 6A1 sáng thứ Bảy" in seen[0][1]["body"]
    assert copies_seen(setup, parents["dung"], code) == []  # 6A2's parent: nothing
    # the father reads it: his public receipt in the class room
    [(room, _)] = copies_seen(setup, parents["father"], code)
    event_id = _event_id(setup, parents["father"], code)
    setup.synapse.api(
        "POST",
        f"/_matrix/client/v3/rooms/{quote(room)}/receipt/m.read/{quote(event_id)}",
        {},
        token=parents["father"].token,
    )
    eventually(
        lambda: read_at(setup, code, parents["father"].user_id) is not None,
        60,
        "the father's receipt to count as read",
        interval=0.2,
        diagnostic=log_tail(setup.bot.log_path),
    )
    [report] = asyncio.run(says(setup, "gv1", f"!baocao {code}"))
    assert "3 người nhận, 3 đã chuyển, 1 đã đọc" in report["body"], report["body"]
    assert "6A1: 1/3 đã đọc" in report["body"]
    assert report["vn.dieuhanh.report"]["families"]["read"] == 1
    # !nhacnho: the two who have not read it, each in their own inbox (not the class room)
    [reminded] = asyncio.run(says(setup, "gv1", f"!nhacnho {code}"))
    assert reminded["body"].startswith(f"Đang nhắc 2 người chưa đọc tin nhắn điều hành mã {code}")
    wait_all_reminders_sent(setup, code)
    for key, expected in (("father", 0), ("mother", 1), ("cuc", 1)):
        seen = copies_seen(setup, parents[key], code)
        reminders = [(r, c) for r, c in seen if c[MARKER].get("reminder")]
        assert len(reminders) == expected, (key, seen)
        for room, content in reminders:
            assert room != setup.class_room and content["body"].startswith("Nhắc việc:")
            assert f"Xem tin: https://matrix.to/#/{setup.class_room}/" in content["body"]


def unsent_reminders(setup: Setup, code: str) -> int:
    with setup.engine.connect() as conn:
        return conn.scalar(
            text(
                "SELECT count(*) FROM directive_deliveries d JOIN directives x ON x.id = "
                "d.directive_id WHERE x.code = :c AND d.kind = 'reminder' "
                "AND d.event_id IS NULL"
            ),
            {"c": code},
        )


def wait_all_reminders_sent(setup: Setup, code: str) -> None:
    eventually(
        lambda: unsent_reminders(setup, code) == 0,
        60,
        f"the reminders of {code} to be sent",
        interval=0.2,
        diagnostic=log_tail(setup.bot.log_path),
    )


def _event_id(setup: Setup, parent: Family, code: str) -> str:
    synced = initial_sync(setup, parent.token)
    return next(
        event["event_id"]
        for room in synced["rooms"]["join"].values()
        for event in room["timeline"]["events"]
        if event.get("content", {}).get(MARKER, {}).get("code") == code
    )


def test_a_principal_reaches_another_class_through_inboxes_and_a_teacher_is_refused(setup):
    refused, answer = asyncio.run(
        says(setup, "gv1", "!gui phụ huynh 6A2: Xin chào"),
    ) + asyncio.run(says(setup, "ht1", "!thongbao phụ huynh 6A2: Lịch kiểm tra"))
    assert refused["body"].startswith("Anh/Chị không phải giáo viên chủ nhiệm lớp 6A2")
    assert "1 phụ huynh của 1 lớp (0 phòng nhóm, 1 hộp thư riêng)" in answer["body"], answer
    code = answer["vn.dieuhanh.sent"]["code"]
    wait_all_sent(setup, code)
    seen = copies_seen(setup, setup.parents["dung"], code)
    assert len(seen) == 1 and seen[0][1]["body"].startswith(f"Thông báo · mã {code}")
    for key in ("father", "mother", "cuc"):
        assert copies_seen(setup, setup.parents[key], code) == []


def test_quiet_hours_hold_a_class_message_until_half_past_six(setup):
    set_time(setup, dt.datetime(2026, 12, 1, 21, 30, tzinfo=VN))
    held, urgent = asyncio.run(
        says(setup, "gv1", "!gui phụ huynh: Mai lớp nghỉ học", "!gui phụ huynh: Bão số 15 khẩn")
    )
    assert held["body"].startswith(
        "Đang trong giờ yên tĩnh (21:00–06:30): tin sẽ được gửi đến phụ huynh lúc 06:30 "
        "02/12/2026; tin khẩn thì gửi ngay"
    ), held["body"]
    code = held["vn.dieuhanh.sent"]["code"]
    assert held["vn.dieuhanh.sent"]["scheduled_for"] == "2026-12-01T23:30:00+00:00"
    wait_all_sent(setup, urgent["vn.dieuhanh.sent"]["code"])  # khẩn: at once
    assert status(setup, code) == "scheduled"
    # 06:29: a staff post due at 06:28 goes, so the scheduler has ticked; the held one waits
    [marker] = asyncio.run(says(setup, "ht1", "!gui tất cả GV: Mốc | lúc 06:28 02/12/2026"))
    set_time(setup, dt.datetime(2026, 12, 2, 6, 29, tzinfo=VN))
    wait_until(lambda: status(setup, marker["vn.dieuhanh.sent"]["code"]) == "sent", "06:28 marker")
    assert status(setup, code) == "scheduled"
    set_time(setup, dt.datetime(2026, 12, 2, 6, 30, tzinfo=VN))
    wait_until(lambda: status(setup, code) == "sent", "the held message went out at 06:30")
    for key in ("father", "mother", "cuc"):
        assert len(copies_seen(setup, setup.parents[key], code)) == 1
    assert copies_seen(setup, setup.parents["dung"], code) == []
