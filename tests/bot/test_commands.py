"""The bot's commands without Matrix: parsing, permissions, scopes, answers."""

from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import insert, select

from bot.commands import REGISTRY, Incoming, command, parse
from bot.directory import DirectoryCache
from bot.service import BotService
from provisioning import stats
from provisioning.db.models import MatrixAccount, Person
from provisioning.importer import import_paths
from provisioning.view import load_view
from provisioning.vocab import Level

from ..directory.conftest import BASE_STAFF, STAFF_HEADER, write_csv

EXTRA = [
    ["P009", "Lý Văn Minh", "0909111222", "", "hocmon", "Trưởng phòng", "", "", "", ""],
    ["P010", "Trương Thị Ngọc", "0909111333", "", "hocmon", "Chuyên viên", "", "", "", ""],
    ["P011", "Nguyễn Văn Ánh", "0909111444", "", "thcs-tt", "GV", "", "", "", ""],
    ["P012", "Ngô Thị Mai", "0909111555", "", "thpt-a", "Hiệu trưởng", "", "", "", ""],
]


def uid(code: str) -> str:
    return f"@{code.lower()}:test"


@pytest.fixture
def service(engine, base_files, tmp_path):
    staff = write_csv(tmp_path / "more" / "nhan_su.csv", STAFF_HEADER, [*BASE_STAFF, *EXTRA])
    assert import_paths(engine, [base_files[0], staff, base_files[2]]).exit_code == 0
    with engine.begin() as conn:
        people = conn.execute(select(Person.id, Person.code)).all()
        conn.execute(
            insert(MatrixAccount),
            [
                {"person_id": pid, "user_id": uid(code), "created": True, "deactivated": False}
                for pid, code in people
            ],
        )
    return BotService(DirectoryCache(engine, min_check_interval=0))


async def ask(service, who: str, text: str):
    sender = uid(who) if not who.startswith("@") else who
    return await service.handle(Incoming(sender, text))


SO, OFFICE, PRINCIPAL, TEACHER = "P008", "P009", "P001", "P002"


@pytest.mark.parametrize(
    ("who", "unit"),
    [(SO, "so"), (OFFICE, "hocmon"), ("P010", "hocmon"), (PRINCIPAL, "thcs-dvd")],
)
async def test_thongke_scope_follows_the_directory(service, engine, who, unit):
    reply = await ask(service, who, "!thongke THCS")
    view = load_view(engine)
    assert reply.extra["vn.dieuhanh.stats"] == stats.compute(view, Level.THCS, view.unit(unit))
    assert reply.html.startswith("<p><strong>Thống kê THCS —")
    assert "Số trường" in reply.text


async def test_scopes_differ_between_sở_office_and_principal(service):
    figures = {
        who: (await ask(service, who, "!thongke THCS")).extra["vn.dieuhanh.stats"]
        for who in (SO, OFFICE, PRINCIPAL)
    }
    assert [figures[w]["so_truong"]["tong"] for w in (SO, OFFICE, PRINCIPAL)] == [2, 2, 1]
    thpt = {
        who: (await ask(service, who, "!thongke THPT")).extra["vn.dieuhanh.stats"]
        for who in (SO, OFFICE)
    }
    assert thpt[SO]["so_truong"]["tong"] == 1  # THPT is under the Sở, not the xã
    assert thpt[OFFICE]["so_truong"]["tong"] == 0


@pytest.mark.parametrize(
    "text",
    [
        "!thongke THCS",
        "!THONGKE thcs",
        "!thống kê THCS",
        "!Thống Kê trung học cơ sở",
        unicodedata.normalize("NFD", "!thống kê THCS"),
        "  !tk thcs ",
        "！thongke THCS",
    ],
)
async def test_accent_free_nfd_and_any_case(service, engine, text):
    reply = await ask(service, SO, text)
    view = load_view(engine)
    assert reply.extra["vn.dieuhanh.stats"] == stats.compute(view, Level.THCS)


async def test_thongke_for_a_unit_by_name_within_scope_and_refused_outside(service, engine):
    reply = await ask(service, SO, "!thongke thcs do van day")
    assert reply.extra["vn.dieuhanh.stats"]["don_vi"] == "thcs-dvd"
    outside = await ask(service, PRINCIPAL, "!thongke THCS Ánh Dương")
    assert "ngoài phạm vi" in outside.text and "vn.dieuhanh.stats" not in outside.extra
    unknown = await ask(service, SO, "!thongke THCS Không Có Trường Này")
    assert "Không tìm thấy đơn vị" in unknown.text


async def test_thongke_alone_lists_levels_with_school_counts(service):
    reply = await ask(service, SO, "!thongke")
    assert reply.extra["vn.dieuhanh.level_counts"]["THCS"] == 2
    assert "Mầm non" in reply.text and "Tổng cộng" in reply.text


async def test_wrong_level_gets_the_usage(service):
    reply = await ask(service, SO, "!thongke THCX")
    assert "Không tìm thấy cấp học 'THCX'" in reply.text
    assert "Cách dùng: !thongke <cấp học> [đơn vị]" in reply.text


async def test_teacher_gets_a_polite_refusal_for_statistics(service):
    reply = await ask(service, TEACHER, "!thongke THCS")
    assert reply.text.startswith("Xin lỗi, lệnh !thongke dành cho cán bộ quản lý")
    assert "vn.dieuhanh.stats" not in reply.extra


async def test_danhba_finds_by_accent_free_words_in_any_order(service):
    reply = await ask(service, SO, "!danhba nguyen an")
    assert reply.extra["vn.dieuhanh.people"][:1] == ["P001"]
    assert "Nguyễn Văn An" in reply.text
    assert 'href="tel:+84912345678"' in reply.html
    assert 'href="https://matrix.to/#/@p001:test"' in reply.html
    again = await ask(service, SO, "!danh bạ AN NGUYỄN")
    assert again.extra["vn.dieuhanh.people"][:1] == ["P001"]


async def test_danhba_sorts_by_given_name_and_hides_people_outside_scope(service):
    everyone = await ask(service, SO, "!danhba nguyễn")
    assert everyone.extra["vn.dieuhanh.people"] == ["P001", "P011"]  # An before Ánh
    principal = await ask(service, PRINCIPAL, "!danhba nguyễn")  # thcs-dvd only
    assert principal.extra["vn.dieuhanh.people"] == ["P001"]
    teacher = await ask(service, TEACHER, "!danhba mai")  # P012 is at another school
    assert "Không tìm thấy" in teacher.text


async def test_danhba_by_unit(service):
    reply = await ask(service, OFFICE, "!danhba THCS Ánh Dương")
    assert set(reply.extra["vn.dieuhanh.people"]) == {"P004", "P005", "P011"}


async def test_danhba_asks_which_unit_when_several_match(service):
    """It used to list the first of the matching units' staff as if it were the answer."""
    reply = await ask(service, OFFICE, "!danhba THCS")
    assert reply.text.startswith("Có ") and "đơn vị khớp với 'THCS'" in reply.text
    assert "vn.dieuhanh.people" not in reply.extra


async def test_trogiup_lists_only_what_this_person_may_use(service):
    official = await ask(service, OFFICE, "!trogiup")
    assert {"thongke", "danhba", "trogiup"} <= set(official.extra["vn.dieuhanh.commands"])
    teacher = await ask(service, TEACHER, "!trợ giúp")
    assert "thongke" not in teacher.extra["vn.dieuhanh.commands"]
    detail = await ask(service, OFFICE, "!trogiup thống kê")
    assert "Cách dùng: !thongke" in detail.text and "Ví dụ" in detail.text


async def test_unknown_command_suggests_the_closest(service):
    reply = await ask(service, SO, "!thongek THCS")
    assert reply.text.startswith("Không có lệnh '!thongek'. Có phải Anh/Chị muốn dùng !thongke?")


async def test_people_outside_the_directory_get_one_line(service):
    reply = await ask(service, "@stranger:test", "!thongke THCS")
    assert reply.text.startswith("Tài khoản này không có trong danh bạ") and "\n" not in reply.text
    assert await ask(service, SO, "chào bot") is None  # not a command: no answer


async def test_a_failing_command_apologises_with_a_reference(service, caplog):
    @command("hong", spoken="hỏng", usage="!hong", summary="Lệnh thử lỗi.")
    def broken(ctx, args):
        raise RuntimeError("boom")

    try:
        reply = await ask(service, SO, "!hong")
    finally:
        REGISTRY.pop("hong")
    assert reply.text.startswith("Xin lỗi, bot gặp lỗi khi xử lý lệnh !hong. Mã tham chiếu:")
    ref = reply.text.split("Mã tham chiếu: ")[1][:8]
    assert ref in caplog.text and "boom" in caplog.text


def test_parse_keeps_arguments_as_typed():
    parsed = parse("!thống kê Mầm non Hóc Môn")
    assert parsed.command.name == "thongke" and parsed.args == "Mầm non Hóc Môn"
    assert parse("thongke") is None
