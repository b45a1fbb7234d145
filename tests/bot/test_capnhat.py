"""!capnhat without Matrix: the confirmation step, who may correct whom, every bad input
as one sentence with nothing changed, and a teacher's own request decided by the
principal."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db.draft import DraftTable
from provisioning.contacts.history import history
from provisioning.db.models import ContactRequest, Person
from provisioning.view import load_view

from ..directory.conftest import BASE_STAFF
from .test_commands import EXTRA
from .test_gui import build_service, say

DRAFTS = DraftTable.__table__


@pytest.fixture
def service(engine, base_files, tmp_path):
    service = build_service(engine, base_files, tmp_path, [*BASE_STAFF, *EXTRA])
    service.told = []

    async def tell(person_id: int, text: str) -> None:
        service.told.append((person_id, text))

    service.tell_person = tell
    return service


def state(engine) -> tuple:
    """Everything !capnhat could change."""
    view = load_view(engine)
    people = sorted((p.code, p.phone, p.active, sorted(p.positions)) for p in view.people.values())
    return people, view.revision


def phone_of(engine, code: str) -> str | None:
    with engine.connect() as conn:
        return conn.scalar(select(Person.phone).where(Person.code == code))


async def test_the_principal_sees_the_change_and_saves_it_with_dong_y(service, engine):
    reply = await say(service, "P001", "!cập nhật Trần Thị Bình sđt 0911 222 333")
    assert reply.text == (
        "Cập nhật thông tin của Trần Thị Bình (mã P002):\n"
        "Số điện thoại: 0987 654 321 → 0911 222 333\n"
        "Gõ 'đồng ý' để lưu, 'huỷ' để bỏ."
    )
    assert phone_of(engine, "P002") == "+84987654321"  # nothing before the confirmation
    service.directory._snapshot = None  # a restart: the draft is in the database
    reply = await say(service, "P001", "Đồng ý")
    assert reply.text.startswith("Đã lưu. Trần Thị Bình (mã P002): Số điện thoại: ")
    assert "trong vòng một phút" in reply.text
    assert phone_of(engine, "P002") == "+84911222333"
    [entry] = history(engine, "P002")
    assert (entry.by, entry.source, entry.new) == ("Nguyễn Văn An", "chat", "0911 222 333")
    with engine.connect() as conn:
        assert conn.execute(select(DRAFTS)).first() is None


async def test_huy_changes_nothing(service, engine):
    before = state(engine)
    await say(service, "P001", "!capnhat P002 chuc vu PHT")
    reply = await say(service, "P001", "huỷ")
    assert reply.text == "Đã huỷ; không có gì thay đổi."
    assert state(engine) == before and history(engine, "P002") == []


async def test_an_office_officer_moves_a_teacher_and_marks_a_departure(service, engine):
    reply = await say(service, "P010", "!capnhat P002 đơn vị thcs-tt")  # the xã's Chuyên viên
    assert "Đơn vị: Trường THCS Đỗ Văn Dậy → Trường THCS Tư thục Ánh Dương" in reply.text
    await say(service, "P010", "ok")
    await say(service, "P010", "!capnhat Lê Văn Cường nghỉ việc")
    reply = await say(service, "P010", "đồng ý")
    assert "Tình trạng: đang công tác → nghỉ việc" in reply.text
    view = load_view(engine)
    moved = next(p for p in view.people.values() if p.code == "P002")
    assert [view.units[u].code for u, _ in moved.positions] == ["thcs-tt"]
    assert not next(p for p in view.people.values() if p.code == "P003").active


@pytest.mark.parametrize(
    ("who", "text", "sentence"),
    [
        ("P001", "!capnhat P002 sdt 0123", "Số điện thoại '0123' không hợp lệ"),
        ("P001", "!capnhat P002 sdt 0903111222", "đang là số của Lê Văn Cường (mã P003)"),
        ("P001", "!capnhat P005 sdt 0911000111", "Hoàng Văn Em (mã P005) không thuộc phạm vi"),
        ("P001", "!capnhat Hoàng Văn Em sdt 0911000111", "không thuộc phạm vi Anh/Chị phụ trách"),
        ("P001", "!capnhat P002 chucvu phó giám thị", "Không có chức vụ 'phó giám thị'"),
        ("P001", "!capnhat P002 donvi xyz", "Không tìm thấy đơn vị có mã 'xyz'"),
        ("P001", "!capnhat Không Ai sdt 0911000111", "Không tìm thấy ai tên hoặc mã 'Không Ai'"),
        ("P002", "!capnhat P003 sdt 0911000111", "chỉ có thể đề nghị đổi số điện thoại"),
        ("P002", "!capnhat chucvu HT", "chỉ có thể đề nghị đổi số điện thoại của chính mình"),
        ("P002", "!capnhat sdt 0903111222", "đang là số của Lê Văn Cường (mã P003)"),
    ],
)
async def test_bad_input_is_one_sentence_and_nothing_changes(service, engine, who, text, sentence):
    before = state(engine)
    reply = await say(service, who, text)
    assert sentence in reply.text and "\n" not in reply.text
    assert state(engine) == before
    with engine.connect() as conn:
        assert conn.execute(select(DRAFTS)).first() is None
        assert conn.execute(select(ContactRequest)).first() is None
    assert service.told == []


async def test_confirmation_only_in_a_dm(service, engine):
    reply = await say(service, "P001", "!capnhat P002 sdt 0911222333", room="!r:test", direct=False)
    assert "tin nhắn trực tiếp" in reply.text
    assert phone_of(engine, "P002") == "+84987654321"


async def test_a_teachers_own_phone_goes_to_the_principal_who_approves(service, engine):
    reply = await say(service, "P002", "!capnhat sdt 0911 222 333")
    assert "Đã gửi đề nghị đổi số điện thoại sang 0911 222 333 đến Nguyễn Văn An" in reply.text
    assert phone_of(engine, "P002") == "+84987654321"
    [(principal, text)] = service.told
    view = load_view(engine)
    assert view.people[principal].code == "P001"
    code = text.split("!capnhat duyet ")[1].split()[0]
    assert "Trần Thị Bình (mã P002) đề nghị đổi số điện thoại: 0987 654 321 → 0911 222 333" in text
    refused = await say(service, "P004", f"!capnhat duyet {code}")  # another school's HT
    assert "không thuộc phạm vi" in refused.text
    assert phone_of(engine, "P002") == "+84987654321"
    reply = await say(service, "P001", f"!capnhat duyệt {code.lower()}", room="!inbox:test")
    assert reply.text.startswith("Đã duyệt. Trần Thị Bình (mã P002)")
    assert phone_of(engine, "P002") == "+84911222333"
    assert (
        "đã được duyệt" in service.told[-1][1] and view.people[service.told[-1][0]].code == "P002"
    )
    again = await say(service, "P001", f"!capnhat duyet {code}")
    assert again.text == f"Không có đề nghị nào đang chờ duyệt với mã '{code}'."
    assert [e.by for e in history(engine, "P002")] == ["Nguyễn Văn An"]


async def test_the_principal_rejects_a_request(service, engine):
    await say(service, "P002", "!capnhat sdt 0911 222 333")
    code = service.told[0][1].split("!capnhat tuchoi ")[1].split()[0]
    reply = await say(service, "P001", f"!capnhat tu choi {code}")
    assert reply.text == f"Đã từ chối đề nghị {code} của Trần Thị Bình."
    assert "bị từ chối" in service.told[-1][1]
    assert phone_of(engine, "P002") == "+84987654321" and history(engine, "P002") == []


async def test_a_principal_changes_their_own_phone_directly(service, engine):
    reply = await say(service, "P001", "!capnhat sdt 0911 222 333")
    assert reply.text.startswith("Cập nhật thông tin của Nguyễn Văn An (mã P001)")
    await say(service, "P001", "đồng ý")
    assert phone_of(engine, "P001") == "+84911222333" and service.told == []


async def test_a_name_shared_by_two_people_asks_for_the_code(service, engine):
    reply = await say(service, "P009", "!capnhat Văn sdt 0911222333")  # the xã's head
    assert reply.text.startswith("Có ") and "hãy gõ mã định danh" in reply.text
    assert "(mã P003)" in reply.text and "\n" not in reply.text
    with engine.connect() as conn:
        assert conn.execute(select(DRAFTS)).first() is None
