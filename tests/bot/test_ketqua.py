"""!ketqua, !chuyencan, !renluyen on the directory (SQLite, and PostgreSQL in CI): what a
parent, a student, a homeroom teacher and a leader see — and what nobody else does."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from bot.families import access
from bot.families.card import CN
from bot.families.identity import Child, pick
from bot.families.terms import TermDates
from provisioning.db.models import FamilyAccount

from .families import (
    CUC_OWN,
    DUNG,
    HOA,
    HUNG,
    MAI,
    TU,
    ask,
    fuid,
    make_service,
    school,
    uid,
)


@pytest.fixture
def service(engine, tmp_path):
    school(engine, tmp_path)
    return make_service(engine)


# ------------------------------------------------------------------ pure


def _child(i: int, code: str, name: str) -> Child:
    return Child(i, code, name, 1, "Trường THCS X", None, "6A1", "thcs")


def test_pick_by_number_code_and_accent_free_name():
    kids = [_child(1, "HS1", "Nguyễn Minh An"), _child(2, "HS2", "Nguyễn Anh Tuấn")]
    assert [c.code for c in pick(kids, "2")] == ["HS2"]
    assert [c.code for c in pick(kids, "hs1")] == ["HS1"]
    assert [c.code for c in pick(kids, "an")] == ["HS1"]  # the given name said whole wins
    assert [c.code for c in pick(kids, "NGUYEN")] == ["HS1", "HS2"]
    assert [c.code for c in pick(kids, "Tuấn")] == ["HS2"]
    assert pick(kids, "3") == [] and pick(kids, "Bình") == []


def test_a_term_is_read_from_the_arguments():
    assert access.split_term("An hk1") == ("an", 1, "hk1")
    assert access.split_term("Học kỳ 2") == ("", 2, "hoc ky 2")
    assert access.split_term("Bảo cả năm")[:2] == ("bao", CN)
    assert access.split_term("Minh An") == ("minh an", None, "")


def test_term_dates_default_and_the_summer():
    terms = TermDates.parse()
    assert terms.term_of(dt.date(2025, 12, 1)) == ("2025-2026", 1)
    assert terms.term_of(dt.date(2026, 1, 16)) == ("2025-2026", 2)
    assert terms.term_of(dt.date(2026, 7, 1)) == ("2025-2026", 2)  # summer: the year's end
    assert terms.term_of(dt.date(2026, 9, 5)) == ("2026-2027", 1)
    assert terms.span("2025-2026", 1) == (dt.date(2025, 9, 5), dt.date(2026, 1, 15))
    with pytest.raises(ValueError, match="dd/mm"):
        TermDates.parse("05/09-15/01")
    with pytest.raises(ValueError):
        TermDates.parse("31/02-15/01, 16/01-31/05")


# ------------------------------------------------------------------ parents


async def test_a_parent_of_one_child_gets_the_record(service):
    reply = await ask(service, fuid(HUNG), "!ketqua")
    text = reply.text
    assert text.startswith("Kết quả học tập — Nguyễn Minh An, lớp 6A1, Trường THCS Đỗ Văn Dậy")
    assert "Năm học 2025-2026 · Học kỳ 1" in text
    assert "• Toán: TX 8,0; 9,0 · GK 7,0 · CK 8,5 · ĐTBmhk 8,1" in text
    assert "• Ngữ văn: TX 7,0 · GK 6,5 · CK 7,0 · ĐTBmhk 6,8" in text
    assert "• Giáo dục thể chất: TX Đ · GK Đ · CK Đ · Kết quả Đạt" in text
    assert "Kết quả rèn luyện: Tốt · Kết quả học tập: Khá" in text
    assert "<table>" in reply.html and "<td>8,1</td>" in reply.html
    assert reply.extra["vn.dieuhanh.student"] == "HS001"


async def test_a_parent_of_two_children_is_asked_which_and_answers(service):
    question = await ask(service, fuid(HOA), "!ketqua")
    assert question.extra["vn.dieuhanh.choose"] == ["HS001", "HS002"]
    assert "1. Nguyễn Minh An — lớp 6A1, Trường THCS Đỗ Văn Dậy" in question.text
    assert "2. Nguyễn Minh Bảo — lớp 7B, Trường THCS Tư thục Ánh Dương" in question.text
    second = await ask(service, fuid(HOA), "2")
    assert second.extra["vn.dieuhanh.student"] == "HS002" and "ĐTBmhk 6,3" in second.text
    assert await ask(service, fuid(HOA), "2") is None  # the question was answered
    await ask(service, fuid(HOA), "!ketqua")
    assert (await ask(service, fuid(HOA), "an")).extra["vn.dieuhanh.student"] == "HS001"
    by_name = await ask(service, fuid(HOA), "!ketqua BAO hk1")
    assert by_name.extra["vn.dieuhanh.student"] == "HS002"


async def test_a_student_asks_about_themself(service):
    reply = await ask(service, fuid(CUC_OWN), "!ketqua")
    assert reply.extra["vn.dieuhanh.student"] == "HS003" and "ĐTBmhk 9,2" in reply.text
    guardian = await ask(service, fuid(DUNG), "!ketqua")
    assert guardian.extra["vn.dieuhanh.student"] == "HS003"


async def test_year_view_and_a_term_asked_for(service):
    reply = await ask(service, fuid(HUNG), "!ketqua cả năm")
    assert "Cả năm" in reply.text and "• Toán: HK1 8,1 · HK2 — · Cả năm —" in reply.text
    hk2 = await ask(service, fuid(HUNG), "!ketqua hk2")
    assert "Học kỳ 2" in hk2.text and "• Toán: TX — · GK — · CK — · ĐTBmhk —" in hk2.text


async def test_chuyencan_counts_this_terms_absences(service):
    reply = await ask(service, fuid(HUNG), "!chuyencan")
    assert "Từ 05/09/2025 đến 15/01/2026" in reply.text
    assert "Nghỉ có phép (P): 1 lần · Nghỉ không phép (K): 1 lần" in reply.text
    assert "• 13/10/2025 (thứ Hai), buổi sáng — có phép" in reply.text
    assert "• 20/11/2025 (thứ Năm), cả ngày — không phép" in reply.text
    assert "10/02/2026" not in reply.text  # Học kỳ 2
    hk2 = await ask(service, fuid(HUNG), "!chuyencan hk2")
    assert "• 10/02/2026 (thứ Ba), buổi chiều — có phép" in hk2.text


async def test_renluyen_shows_results_and_the_comment(service):
    reply = await ask(service, fuid(HUNG), "!renluyen")
    assert "• Học kỳ 1: rèn luyện Tốt · học tập Khá. Nhận xét: Chăm ngoan" in reply.text
    empty = await ask(service, fuid(TU), "!renluyen")
    assert "chưa cập nhật" in empty.text


async def test_september_shows_last_years_results_until_new_marks(engine, tmp_path):
    school(engine, tmp_path)
    service = make_service(engine, dt.datetime(2026, 9, 20, 3, tzinfo=dt.UTC))
    reply = await ask(service, fuid(HUNG), "!ketqua")
    assert "Năm học 2025-2026 · Học kỳ 2" in reply.text


# ------------------------------------------------------------------ privacy (attacks)

SECRET = ("9,2", "Lê Thị Cúc", "6,3", "Nguyễn Minh Bảo", "4,0", "Trần Văn Sáu")


def _leaks(text: str, *secrets: str) -> list[str]:
    return [s for s in secrets if s in text]


@pytest.mark.parametrize(
    "query",
    ["Cúc", "Lê Thị Cúc", "HS003", "hs002", "Bảo", "HS005", "HS006", "Sáu", "2", "6A2", "7B"],
)
async def test_a_parent_never_sees_another_childs_record(service, query):
    reply = await ask(service, fuid(HUNG), f"!ketqua {query}")
    assert reply.text.startswith("Không tìm thấy con nào của Anh/Chị khớp với")
    assert _leaks(reply.text.replace(query, ""), *SECRET) == []  # the query is echoed
    # the same answer for a child that exists elsewhere and for one that does not
    nobody = await ask(service, fuid(HUNG), "!ketqua Zzz")
    assert reply.text.replace(f"'{query}'", "'Zzz'") == nobody.text
    for cmd in ("chuyencan", "renluyen"):
        other = await ask(service, fuid(HUNG), f"!{cmd} {query}")
        assert other.text.startswith("Không tìm thấy con nào")
        assert not _leaks(other.text.replace(query, ""), *SECRET)


async def test_a_name_shared_with_another_child_finds_only_ones_own(service):
    mine = await ask(service, fuid(HUNG), "!ketqua Nguyễn Minh An")
    assert mine.extra["vn.dieuhanh.student"] == "HS001" and "lớp 6A1" in mine.text
    theirs = await ask(service, fuid(TU), "!ketqua Nguyễn Minh An")
    assert theirs.extra["vn.dieuhanh.student"] == "HS005" and "lớp 7B" in theirs.text
    assert "8,1" not in theirs.text


async def test_a_student_phone_equal_to_a_parents_gives_no_record(service):
    # HS006's own number is Phạm Thị Mai's: her account sees her child only, never HS006
    reply = await ask(service, fuid(MAI), "!ketqua")
    assert reply.extra["vn.dieuhanh.student"] == "HS004"
    assert _leaks((await ask(service, fuid(MAI), "!ketqua Sáu")).text, "3,0", "6A2") == []


async def test_another_parents_answer_cannot_pick_from_someone_elses_question(service):
    await ask(service, fuid(HOA), "!ketqua")  # Hoa is asked which child
    assert await ask(service, fuid(HUNG), "2", room=f"!dm-{fuid(HOA)}") is None
    assert await ask(service, fuid(HUNG), "2") is None


async def test_records_never_in_a_group_room(service):
    for who, text in (
        (fuid(HUNG), "!ketqua"),
        (uid("P002"), "!ketqua 6A1"),
        (fuid(HOA), "!chuyencan"),
    ):
        reply = await ask(service, who, text, direct=False, room="!lop6a1")
        assert reply.text.startswith("Kết quả học tập chỉ được trả lời trong phòng nhắn riêng")
        assert _leaks(reply.text, "8,1", "Nguyễn Minh An", "Toán") == []
    # an answer to "which child?" typed in a shared room is not taken either
    await ask(service, fuid(HOA), "!ketqua")
    assert await ask(service, fuid(HOA), "1", direct=False, room=f"!dm-{fuid(HOA)}") is None


async def test_an_unknown_or_deactivated_account_gets_nothing(service, engine):
    stranger = await ask(service, "@someone:test", "!ketqua HS001")
    assert stranger.text == access.NOT_FAMILY
    with engine.begin() as conn:
        conn.execute(
            update(FamilyAccount).where(FamilyAccount.phone == HUNG).values(deactivated=True)
        )
    assert (await ask(service, fuid(HUNG), "!ketqua")).text == access.NOT_FAMILY
    # other commands stay for staff only
    assert "không có trong danh bạ" in (await ask(service, fuid(HOA), "!thongke THCS")).text


# ------------------------------------------------------------------ staff


async def test_a_homeroom_teacher_sees_their_class_and_its_students(service):
    table = await ask(service, uid("P002"), "!ketqua 6A1")
    assert table.text.startswith("Kết quả học tập lớp 6A1 — Trường THCS Đỗ Văn Dậy")
    assert "1. Nguyễn Minh An: Toán 8,1 · Ngữ văn 6,8 · Giáo dục thể chất Đạt" in table.text
    assert "<th>Toán</th>" in table.html
    assert (await ask(service, uid("P002"), "!ketqua")).text == table.text  # their one class
    one = await ask(service, uid("P002"), "!ketqua Minh An")
    assert one.extra["vn.dieuhanh.student"] == "HS001"
    for other in ("6A2", "Cúc", "HS003", "7B"):
        refused = await ask(service, uid("P002"), f"!ketqua {other}")
        assert refused.text.startswith("Không tìm thấy lớp hay học sinh")
        assert _leaks(refused.text.replace(other, ""), *SECRET) == []


async def test_a_principal_sees_every_class_of_the_school_only(service):
    table = await ask(service, uid("P001"), "!ketqua 6a2")
    assert "Lê Thị Cúc: Toán 9,2" in table.text
    one = await ask(service, uid("P001"), "!ketqua Cúc")
    assert one.extra["vn.dieuhanh.student"] == "HS003"
    assert (await ask(service, uid("P001"), "!ketqua 7B")).text.startswith("Không tìm thấy")
    assert (await ask(service, uid("P001"), "!ketqua Bảo")).text.startswith("Không tìm thấy")


async def test_offices_and_other_staff_never_see_a_childs_record(service):
    assert (await ask(service, uid("P008"), "!ketqua An")).text == access.OFFICE
    plain = await ask(service, uid("P007"), "!ketqua An")  # kế toán, no class
    assert plain.text.startswith("Lệnh !ketqua dành cho phụ huynh")


async def test_trogiup_shows_a_family_the_commands_open_to_them(service):
    reply = await ask(service, fuid(HOA), "!trogiup")
    names = reply.extra["vn.dieuhanh.commands"]
    assert {"ketqua", "chuyencan", "renluyen", "theodoi"} <= set(names)
    assert "gui" not in names and "thongke" not in names
