"""Finding 5: only management positions and Chuyên viên at a managing unit act for its
subtree. A Nhân viên or Kế toán at an office, xã, cụm or the Sở used to get statistics,
!gui over the whole subtree, the city's phone book and the news admin page."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from bot.directory import DirectoryCache
from bot.service import BotService
from bridge import authority as bridge_authority
from provisioning.db.models import MatrixAccount, Person
from provisioning.importer import import_paths
from provisioning.phone import format_local
from provisioning.view import load_view

from ..bot.test_commands import ask
from ..directory.conftest import BASE_STAFF, STAFF_HEADER, write_csv

CLERKS = [
    ["P101", "Đỗ Thị Kế", "0909555001", "", "hocmon", "Kế toán", "", "", "", ""],
    ["P102", "Mai Văn Viên", "0909555002", "", "so", "Nhân viên", "", "", "", ""],
    ["P103", "Lâm Thị Thư", "0909555003", "", "so", "Văn thư", "", "", "", ""],
]
SPECIALIST = ["P104", "Trương Thị Ngọc", "0909555004", "", "hocmon", "Chuyên viên", "", "", "", ""]
CLERK_CODES = [row[0] for row in CLERKS]


@pytest.fixture
def service(engine, base_files, tmp_path):
    staff = write_csv(
        tmp_path / "more" / "nhan_su.csv", STAFF_HEADER, [*BASE_STAFF, *CLERKS, SPECIALIST]
    )
    assert import_paths(engine, [base_files[0], staff, base_files[2]]).exit_code == 0
    with engine.begin() as conn:
        people = conn.execute(select(Person.id, Person.code)).all()
        conn.execute(
            insert(MatrixAccount),
            [
                {"person_id": pid, "user_id": f"@{code.lower()}:test", "created": True}
                for pid, code in people
            ],
        )
    return BotService(DirectoryCache(engine, min_check_interval=0))


@pytest.mark.parametrize("clerk", CLERK_CODES)
@pytest.mark.parametrize(
    "command", ["!thongke THCS", "!thongke", "!gui THCS: Họp khẩn", "!baocao", "!nhacnho"]
)
async def test_clerks_at_offices_neither_see_statistics_nor_send(service, clerk, command):
    reply = await ask(service, clerk, command)
    assert "vn.dieuhanh.stats" not in reply.extra
    assert "vn.dieuhanh.sent" not in reply.extra
    assert "dành cho cán bộ quản lý" in reply.text, reply.text


@pytest.mark.parametrize("clerk", CLERK_CODES)
@pytest.mark.parametrize("query", ["thcs-dvd", "Nguyễn Văn An", "Trần Thị Bình", "THCS"])
async def test_clerks_at_offices_find_no_school_staff(service, clerk, query):
    reply = await ask(service, clerk, f"!danhba {query}")
    school_phones = [format_local("+84" + row[2][1:]) for row in BASE_STAFF[:7]]
    assert not any(phone in reply.text for phone in school_phones), reply.text


async def test_a_clerk_finds_their_own_colleagues(service):
    reply = await ask(service, "P102", "!danhba Lâm Thị Thư")
    assert reply.extra["vn.dieuhanh.people"] == ["P103"]


async def test_a_specialist_acts_for_the_subtree(service):
    reply = await ask(service, "P104", "!thongke THCS")
    assert reply.extra["vn.dieuhanh.stats"]["so_truong"]["tong"] == 2
    reply = await ask(service, "P104", "!danhba Trần Thị Bình")
    assert reply.extra["vn.dieuhanh.people"] == ["P002"]


def test_clerks_get_no_news_admin_page(service, engine):
    view = load_view(engine)
    by_code = {p.code: p for p in view.people.values()}
    for clerk in CLERK_CODES:
        assert bridge_authority.person_scope(view, by_code[clerk]) == set()
    assert bridge_authority.person_scope(view, by_code["P104"]) >= {"hocmon", "thcs-dvd"}
