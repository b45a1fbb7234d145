"""!gui to families without Matrix: the audience words, quiet hours (pure), and who a post
selects and how it is stored (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import delete, insert, select, update

from bot.commands import Incoming
from bot.db.delivery import DeliveryTable
from bot.db.directive import DirectiveTable
from bot.db.family_recipient import FamilyRecipientTable
from bot.directives.cover import NotInRoom
from bot.directives.families import (
    class_word,
    family_word,
    grade_word,
    quiet_until,
    verified_plan,
)
from bot.directives.when import VN
from bot.directives.worker import DeliveryWorker
from bot.directory import DirectoryCache
from bot.service import BotService
from provisioning.db.models import (
    DirectoryState,
    FamilyAccount,
    MatrixAccount,
    MatrixMember,
    MatrixRoom,
    Parent,
    Person,
    SchoolClass,
    Student,
)

from ..directory import families
from ..directory.conftest import BASE_STAFF
from .test_commands import EXTRA, uid

DIRECTIVES, DELIVERIES = DirectiveTable.__table__, DeliveryTable.__table__
FAMILY = FamilyRecipientTable.__table__
BOT_ID = "@dieuhanh:test"
DM = "!dm:test"
# the parents of families.STUDENTS: 6A1 (HS001) has a father and a mother; the mother
# also follows HS002 in 7B (another school); HS003 in 6A2 has a guardian
FATHER_6A1, MOTHER, GUARDIAN_6A2 = "+84911000001", "+84911000002", "+84911000003"
STUDENT_6A2 = "+84933000003"


def vn(hour: int, minute: int, day: int = 1) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=VN)


# ------------------------------------------------------------------------ pure


@pytest.mark.parametrize(
    ("typed", "who"),
    [
        ("phụ huynh", "parents"),
        ("Phụ Huynh", "parents"),
        ("phu huynh", "parents"),
        ("PH", "parents"),
        ("PHHS", "parents"),
        ("học sinh", "students"),
        ("hoc sinh", "students"),
        ("HS", "students"),
        ("HT", None),
        ("phụ", None),
    ],
)
def test_family_words_are_matched_without_accents_or_case(typed, who):
    assert family_word(typed) == who


@pytest.mark.parametrize(
    ("typed", "grade"),
    [("khối 6", "6"), ("Khoi 12", "12"), ("khối6", "6"), ("khối Lá", "la"), ("khối 13", None)],
)
def test_grades(typed, grade):
    assert grade_word(typed) == grade


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("6A1", "6A1"),
        ("6a1", "6A1"),
        ("10A2", "10A2"),
        ("lớp 6A1", "6A1"),
        ("lop 7b", "7B"),
        ("lớp Lá 2", "Lá 2"),
        ("lớp 6A1 phụ", None),  # the longest n-gram must not swallow the next word
        ("THCS", None),
        ("An", None),
    ],
)
def test_class_names(typed, name):
    assert class_word(typed) == name


@pytest.mark.parametrize(
    ("at", "until"),
    [
        (vn(20, 59), None),
        (vn(21, 0), vn(6, 30, day=2)),
        (vn(23, 59), vn(6, 30, day=2)),
        (vn(0, 0, day=2), vn(6, 30, day=2)),
        (vn(6, 29), vn(6, 30)),
        (vn(6, 30), None),
        (vn(12, 0), None),
    ],
)
def test_quiet_hours_end_at_half_past_six(at, until):
    assert quiet_until(at.astimezone(dt.UTC)) == (until.astimezone(dt.UTC) if until else None)


async def test_family_rooms_are_used_when_every_family_member_is_in_the_audience():
    rooms = {
        "class/1": ("!c1", frozenset({"@t1", "@a", "@b"})),  # teacher @t1 hosts
        "class/2": ("!c2", frozenset({"@t2", "@c", "@x"})),  # @x is not in the audience
        "parents/s": ("!p", frozenset({"@a", "@b", "@c", "@x"})),
    }
    plan, used = await verified_plan({"@a", "@b", "@c"}, rooms, {"@t1", "@t2"}, set(), None)
    assert plan.rooms == {"class/1": frozenset({"@a", "@b"})}
    assert plan.inboxes == frozenset({"@c"}) and used == {"class/1": "!c1"}


async def test_a_room_whose_real_members_differ_is_not_trusted():
    rooms = {"class/1": ("!c1", frozenset({"@a", "@b"}))}

    async def joined(room_id):
        return {"@a", "@b", "@stranger", BOT_ID}

    plan, _ = await verified_plan({"@a", "@b"}, rooms, set(), {BOT_ID}, joined)
    assert plan.rooms == {} and plan.inboxes == frozenset({"@a", "@b"})


async def test_a_room_the_bot_is_not_in_is_left_out_and_noted():
    rooms = {
        "class/1": ("!c1", frozenset({"@a", "@b", "@c"})),
        "class/2": ("!c2", frozenset({"@a", "@b"})),
    }

    async def joined(room_id):
        if room_id == "!c1":
            raise NotInRoom(room_id)
        return {"@a", "@b", BOT_ID}

    missing: dict[str, str] = {}
    plan, used = await verified_plan({"@a", "@b", "@c"}, rooms, set(), {BOT_ID}, joined, missing)
    assert plan.rooms == {"class/2": frozenset({"@a", "@b"})} and used == {"class/2": "!c2"}
    assert plan.inboxes == frozenset({"@c"}) and missing == {"class/1": "!c1"}


# ------------------------------------------------------------------------ with the database


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.at = now.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self.at


def family_user(phone: str) -> str:
    return f"@ph{phone.lstrip('+')}:test"


@pytest.fixture
def world(engine, tmp_path):
    """The base directory with classes, students and parents; every staff member and every
    parent and student phone with an account; P002 heads 6A1, P003 6A2."""
    families.run(
        engine,
        tmp_path,
        units=families.BASE_UNITS,
        staff=[*BASE_STAFF, *EXTRA],
        classes=families.CLASSES,
        students=families.STUDENTS,
    )
    with engine.begin() as conn:
        people = conn.execute(select(Person.id, Person.code, Person.phone)).all()
        conn.execute(
            insert(MatrixAccount),
            [
                {"person_id": p, "user_id": uid(c), "phone": ph, "created": True}
                for p, c, ph in people
            ],
        )
        phones = [*conn.scalars(select(Parent.phone)), STUDENT_6A2]
        conn.execute(
            insert(FamilyAccount),
            [{"phone": ph, "user_id": family_user(ph), "created": True} for ph in phones],
        )
        conn.execute(insert(DirectoryState), [{"key": "matrix.bot", "value": BOT_ID}])
    return engine


MORNING = vn(10, 0)


def service_at(engine, now: dt.datetime = MORNING) -> BotService:
    return BotService(DirectoryCache(engine, min_check_interval=0), clock=Clock(now))


async def say(service, who: str, text: str):
    return await service.handle(Incoming(uid(who), text, DM, f"$e{dt.datetime.now()}", direct=True))


def last_family(engine) -> tuple[dict, dict, dict]:
    """The last directive's row, its family recipients (user -> (role, classes, delivery
    id)), and its deliveries (id -> (kind, room key, user id))."""
    with engine.connect() as conn:
        directive = conn.execute(select(DIRECTIVES).order_by(DIRECTIVES.c.id.desc())).first()
        names = dict(conn.execute(select(SchoolClass.id, SchoolClass.name)).all())
        recipients = {
            r.user_id: (r.role, sorted(names[c] for c in json.loads(r.classes)), r.delivery_id)
            for r in conn.execute(select(FAMILY).where(FAMILY.c.directive_id == directive.id))
        }
        deliveries = {
            d.id: (d.kind, d.room_key, d.user_id)
            for d in conn.execute(
                select(DELIVERIES).where(DELIVERIES.c.directive_id == directive.id)
            )
        }
    return directive, recipients, deliveries


async def test_homeroom_teacher_reaches_exactly_their_class_parents(world):
    service = service_at(world)
    reply = await say(service, "P002", "!gui phụ huynh: Họp phụ huynh lớp 6A1 sáng thứ Bảy")
    assert "2 phụ huynh của 1 lớp" in reply.text, reply.text
    directive, recipients, deliveries = last_family(world)
    assert directive.status == "sending" and directive.scheduled_for is None
    assert recipients == {
        family_user(FATHER_6A1): ("parent", ["6A1"], recipients[family_user(FATHER_6A1)][2]),
        family_user(MOTHER): ("parent", ["6A1"], recipients[family_user(MOTHER)][2]),
    }
    assert sorted(deliveries.values()) == sorted(
        ("inbox", None, user) for user in recipients
    )  # no class room exists yet: one inbox each
    # the one-line form with the class named, the PH abbreviation, accents dropped
    reply = await say(service, "P002", "!gui PH lop 6A1: Nhắc nộp học phí")
    assert "2 phụ huynh của 1 lớp" in reply.text


async def test_a_teacher_is_refused_a_class_they_do_not_head(world):
    service = service_at(world)
    reply = await say(service, "P002", "!gui phụ huynh 6A2: Xin chào")
    assert reply.text == (
        "Anh/Chị không phải giáo viên chủ nhiệm lớp 6A2, nên không gửi được tin cho phụ "
        "huynh, học sinh lớp này."
    )
    reply = await say(service, "P011", "!gui phụ huynh: Xin chào")  # a teacher heading no class
    assert "dành cho cán bộ quản lý" in reply.text
    with world.connect() as conn:
        assert conn.scalar(select(DIRECTIVES.c.id)) is None


async def test_principal_by_grade_and_office_by_level_count_a_sibling_parent_once(world):
    service = service_at(world)
    reply = await say(service, "P001", "!gui phụ huynh khối 6: Lịch kiểm tra học kỳ")
    assert "3 phụ huynh của 2 lớp" in reply.text, reply.text  # 6A1 (two), 6A2 (one)
    reply = await say(service, "P001", "!gui phụ huynh 7B: Xin chào")  # another school's class
    assert reply.text.startswith("Không tìm thấy lớp 7B")
    reply = await say(service, "P009", "!gui phụ huynh THCS: Thông báo nghỉ lễ")  # the xã
    assert "3 phụ huynh của 3 lớp" in reply.text, reply.text
    _, recipients, _ = last_family(world)
    assert recipients[family_user(MOTHER)][:2] == ("parent", ["6A1", "7B"])  # once, two classes
    assert set(recipients) == {family_user(p) for p in (FATHER_6A1, MOTHER, GUARDIAN_6A2)}


async def test_a_left_student_s_parents_are_not_selected(world):
    with world.begin() as conn:
        conn.execute(update(Student).where(Student.code == "HS003").values(active=False))
    reply = await say(service_at(world), "P001", "!gui phụ huynh: Thông báo")
    assert "2 phụ huynh của 1 lớp" in reply.text, reply.text  # 6A2's guardian is gone


async def test_a_parent_who_is_staff_is_reached_on_their_staff_account_once(world):
    staff_phone = "+84903111222"  # P003, a teacher of thcs-dvd, is 6A2's guardian too
    with world.begin() as conn:
        conn.execute(delete(FamilyAccount).where(FamilyAccount.phone == GUARDIAN_6A2))
        conn.execute(update(Parent).where(Parent.phone == GUARDIAN_6A2).values(phone=staff_phone))
    service = service_at(world)
    reply = await say(service, "P001", "!gui phụ huynh 6A2: Họp")
    assert "1 phụ huynh của 1 lớp" in reply.text, reply.text
    assert set(last_family(world)[1]) == {uid("P003")}
    reply = await say(service, "P001", "!gui GV phụ huynh 6A2: Họp")  # reached as staff: once
    assert "cán bộ thuộc 1 đơn vị và 0 phụ huynh" in reply.text, reply.text
    assert last_family(world)[1] == {}


async def test_students_only_with_their_own_account(world):
    reply = await say(service_at(world), "P001", "!gui học sinh: Lịch thi")
    assert "1 học sinh của 1 lớp" in reply.text, reply.text
    _, recipients, _ = last_family(world)
    assert recipients == {family_user(STUDENT_6A2): ("student", ["6A2"], ANY_ID)}


class _AnyId:
    def __eq__(self, other) -> bool:
        return isinstance(other, int)


ANY_ID = _AnyId()


async def test_staff_and_families_together_and_classes_alone_are_refused(world):
    service = service_at(world)
    reply = await say(service, "P001", "!gui HT phụ huynh 6A1: Họp")
    assert "1 cán bộ thuộc 1 đơn vị và 2 phụ huynh của 1 lớp" in reply.text, reply.text
    for line in ("!gui tất cả phụ huynh: Họp", "!gui phụ huynh tất cả: Họp"):
        reply = await say(service, "P001", line)  # every parent of the school, no staff
        assert "đến 3 phụ huynh của 2 lớp (" in reply.text, reply.text
    reply = await say(service, "P001", "!gui 6A1: Họp")
    assert reply.text.startswith("Khối và lớp chỉ dùng khi gửi cho phụ huynh hoặc học sinh")
    reply = await say(service, "P001", "!yeucau phụ huynh: Nộp bản cam kết | 17:00 10/12/2026")
    assert reply.text.startswith("Yêu cầu báo cáo chỉ gửi cho cán bộ")
    reply = await say(
        service, "P002", "!thumoi phụ huynh: Họp phụ huynh | 08:00 12/12/2026 | P.6A1"
    )
    assert reply.text.startswith("Thư mời chỉ gửi cho cán bộ (phụ huynh, học sinh chưa trả lời")
    reply = await say(service, "P002", "!thongbao PH: Lịch nghỉ Tết")  # a notice goes
    assert reply.text.startswith("Đã lưu thông báo mã"), reply.text


def add_room(engine, key: str, members: list[str]) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(MatrixRoom),
            [{"key": key, "room_id": f"!{key}:test", "purpose": "class", "unit_code": "thcs-dvd"}],
        )
        conn.execute(
            insert(MatrixMember), [{"room_key": key, "user_id": u} for u in [BOT_ID, *members]]
        )


def class_id(engine, name: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(SchoolClass.id).where(SchoolClass.name == name))


class LeftClassRoom:
    """A transport whose class rooms refuse the bot (removed after the plan was made)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, room_id: str, content: dict, txn_id: str) -> str:
        if room_id.startswith("!class/"):
            raise NotInRoom(room_id)
        self.sent.append(room_id)
        return f"$e{len(self.sent)}"

    async def family_inbox(self, user_id: str) -> str:
        return f"!inbox-{user_id}"

    async def inbox(self, person_id: int) -> str:
        return f"!inbox{person_id}:test"

    async def reupload(self, attachment: dict) -> dict:
        return attachment

    async def upload(self, data: bytes, mimetype: str, filename: str) -> str:
        return "mxc://test/x"


async def test_a_class_room_the_bot_left_after_the_plan_goes_to_the_parents_inboxes(world):
    room = f"class/{class_id(world, '6A1')}"
    add_room(world, room, [uid("P002"), family_user(FATHER_6A1), family_user(MOTHER)])
    service = service_at(world)
    reply = await say(service, "P002", "!gui phụ huynh: Họp phụ huynh")
    assert "(1 phòng nhóm, 0 hộp thư riêng)" in reply.text, reply.text
    transport = LeftClassRoom()
    await DeliveryWorker(world, service.directory, transport).drain()
    parents = {family_user(FATHER_6A1), family_user(MOTHER)}
    assert sorted(transport.sent) == sorted(f"!inbox-{u}" for u in parents)
    _, recipients, deliveries = last_family(world)
    assert {deliveries[d] for _, _, d in recipients.values()} == {
        ("inbox", None, u) for u in parents
    }  # each parent's copy is now their inbox's
    with world.connect() as conn:
        given_up = conn.execute(
            select(DeliveryTable.error, DeliveryTable.event_id).where(DeliveryTable.kind == "room")
        ).one()
    assert given_up.event_id is None and given_up.error


async def test_class_room_is_used_for_the_whole_class_and_baocao_counts_it(world):
    room = f"class/{class_id(world, '6A1')}"
    add_room(world, room, [uid("P002"), family_user(FATHER_6A1), family_user(MOTHER)])
    service = service_at(world)
    reply = await say(service, "P002", "!gui phụ huynh: Họp phụ huynh")
    assert "(1 phòng nhóm, 0 hộp thư riêng)" in reply.text, reply.text
    _, recipients, deliveries = last_family(world)
    assert list(deliveries.values()) == [("room", room, None)]
    assert {d for _, _, d in recipients.values()} == set(deliveries)
    reply = await say(service, "P002", "!baocao")
    assert "2 người nhận, 0 đã chuyển" in reply.text, reply.text
    assert "Phụ huynh: 2 — 0 đã đọc" in reply.text and "  6A1: 0/2 đã đọc" in reply.text
    assert reply.extra["vn.dieuhanh.report"]["families"]["undelivered"] == 2
    reply = await say(service, "P002", "!nhacnho")  # nothing delivered yet: nobody to remind
    assert reply.text.startswith("Không còn ai chưa đọc")
    with world.begin() as conn:  # as if the worker had sent it
        conn.execute(update(DeliveryTable).values(room_id="!r:test", event_id="$sent"))
    reply = await say(service, "P002", "!nhacnho")
    assert reply.text.startswith("Đang nhắc 2 người chưa đọc"), reply.text
    _, _, deliveries = last_family(world)
    reminders = sorted(u for kind, _, u in deliveries.values() if kind == "reminder")
    assert reminders == sorted([family_user(FATHER_6A1), family_user(MOTHER)])
    # the principal to khối 6: 6A1's room holds its homeroom teacher (a host), 6A2 has none
    reply = await say(service, "P001", "!gui phụ huynh khối 6: Lịch thi")
    assert "3 phụ huynh của 2 lớp (1 phòng nhóm, 1 hộp thư riêng)" in reply.text, reply.text


async def test_a_class_room_holding_someone_outside_the_audience_is_not_used(world):
    room = f"class/{class_id(world, '6A1')}"
    add_room(world, room, [family_user(FATHER_6A1), family_user(MOTHER), family_user(STUDENT_6A2)])
    reply = await say(service_at(world), "P002", "!gui phụ huynh: Họp")
    assert "(0 phòng nhóm, 2 hộp thư riêng)" in reply.text, reply.text


async def test_quiet_hours_hold_a_post_to_families_until_half_past_six(world):
    reply = await say(service_at(world, vn(21, 0)), "P002", "!gui phụ huynh: Mai nghỉ học")
    assert reply.text.startswith(
        "Đang trong giờ yên tĩnh (21:00–06:30): tin sẽ được gửi đến phụ huynh lúc 06:30 "
        "02/12/2026; tin khẩn thì gửi ngay"
    ), reply.text
    assert "Gõ !huy" in reply.text
    directive, recipients, _ = last_family(world)
    assert directive.status == "scheduled" and recipients == {}
    assert directive.scheduled_for == vn(6, 30, day=2).astimezone(dt.UTC)
    # khẩn goes at once; 20:59 too; staff alone are not held
    reply = await say(service_at(world, vn(23, 0)), "P002", "!gui phụ huynh: Mưa bão khẩn")
    assert "giờ yên tĩnh" not in reply.text and last_family(world)[0].status == "sending"
    reply = await say(service_at(world, vn(20, 59)), "P002", "!gui phụ huynh: Nhắc lịch")
    assert last_family(world)[0].status == "sending"
    reply = await say(service_at(world, vn(22, 0)), "P001", "!gui GV THCS: Họp")
    assert "giờ yên tĩnh" not in reply.text and last_family(world)[0].status == "sending"


async def test_quiet_hours_hold_a_mixed_post_whole_and_say_so(world):
    reply = await say(service_at(world, vn(6, 29)), "P001", "!gui HT phụ huynh: Lịch họp")
    assert "lúc 06:30 01/12/2026 (cả phần gửi cán bộ" in reply.text, reply.text
    assert last_family(world)[0].status == "scheduled"


async def test_guided_flow_for_a_homeroom_teacher(world):
    service = service_at(world)
    await say(service, "P002", "!gui")
    await say(service, "P002", "thông báo")
    reply = await say(service, "P002", "6A1")
    assert reply.text.startswith("Đã chọn: lớp 6A1."), reply.text
    reply = await say(service, "P002", "phụ huynh")
    assert "Người nhận: lớp 6A1 — phụ huynh — 2 phụ huynh của 1 lớp." in reply.text, reply.text
    await say(service, "P002", "Kính gửi quý phụ huynh lớp 6A1")
    reply = await say(service, "P002", "xong")
    assert "Thông báo sẽ gửi đến 2 phụ huynh của 1 lớp" in reply.text, reply.text
    assert "\n  6A1 · THCS Đỗ Văn Dậy: 2\n" in reply.text
    assert reply.extra["vn.dieuhanh.preview"]["families"] == 2
    reply = await say(service, "P002", "gửi")
    assert reply.text.startswith("Đã lưu thông báo mã"), reply.text
