"""!ketqua against the real Synapse: a parent's account (made with the admin API, its
``family_accounts`` row inserted as provisioning writes it) opens a DM with the bot,
asks, and reads their THCS child's record — as Element shows it."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from nio import AsyncClient
from sqlalchemy import insert

from provisioning.db.models import FamilyAccount

from ..directory.conftest import write_csv
from ..directory.families import (
    ABSENCE_HEADER,
    CLASS_HEADER,
    MARK_HEADER,
    RESULT_HEADER,
    STUDENT_HEADER,
    YEAR,
    student,
)
from ..waiting import eventually_async
from .test_bot_matrix import Setup, send

ABSENCES = [["HS1", "13/10/2025", "Sáng", "P"]]
RESULTS = [["HS1", YEAR, "1", "Tốt", "Khá", ""]]
PARENT_PHONE = "0919" + f"{secrets.randbelow(10**6):06d}"


@pytest.fixture(scope="module")
def setup(synapse, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ketqua")
    s = Setup(synapse, folder)
    d = s.district
    school = d.u("thcs1")
    from provisioning.importer import import_paths

    marks = [
        ["HS1", YEAR, "1", "Toán", "TX", "8"], ["HS1", YEAR, "1", "Toán", "TX", "9"],
        ["HS1", YEAR, "1", "Toán", "GK", "7"], ["HS1", YEAR, "1", "Toán", "CK", "8,5"],
        ["HS1", YEAR, "1", "Ngữ văn", "TX", "7"], ["HS1", YEAR, "1", "Ngữ văn", "GK", "6,5"],
        ["HS1", YEAR, "1", "Ngữ văn", "CK", "7"],
        ["HS1", YEAR, "1", "Giáo dục thể chất", "TX", "Đ"],
        ["HS1", YEAR, "1", "Giáo dục thể chất", "GK", "Đ"],
        ["HS1", YEAR, "1", "Giáo dục thể chất", "CK", "Đ"],
        ["HS2", YEAR, "1", "Toán", "TX", "3"], ["HS2", YEAR, "1", "Toán", "GK", "3"],
        ["HS2", YEAR, "1", "Toán", "CK", "3"],
    ]  # fmt: skip
    students = [
        student("HS1", "Nguyễn Minh An", school, "6A1", mother=("Trần Thị Hoa", PARENT_PHONE)),
        student("HS2", "Lê Thị Cúc", school, "6A1", mother=("Lê Thị Hạnh", "0919999001")),
    ]
    result = import_paths(
        s.engine,
        [
            write_csv(folder / "lop.csv", CLASS_HEADER, [[school, YEAR, "6A1", "6", ""]]),
            write_csv(folder / "hoc_sinh.csv", STUDENT_HEADER, students),
            write_csv(folder / "diem.csv", MARK_HEADER, marks),
            write_csv(folder / "chuyen_can.csv", ABSENCE_HEADER, ABSENCES),
            write_csv(folder / "ren_luyen.csv", RESULT_HEADER, RESULTS),
        ],
    )  # fmt: skip
    assert result.reports == [], result.report_lines()
    account = synapse.register_user(f"ph{secrets.token_hex(4)}", displayname="Trần Thị Hoa")
    with s.engine.begin() as conn:
        conn.execute(
            insert(FamilyAccount).values(
                phone="+84" + PARENT_PHONE[1:], user_id=account.user_id, created=True,
                displayname="Trần Thị Hoa · PH em Nguyễn Minh An 6A1", deactivated=False,
            )
        )  # fmt: skip
    clock = folder / "clock"
    clock.write_text("2025-12-01T10:00:00+07:00")
    s.env["DIEUHANH_BOT_CLOCK_FILE"] = str(clock)
    s.bot.env = s.env
    s.bot.start(wait_for="initial sync done")
    s.parent = account
    yield s
    s.bot.stop()
    s.engine.dispose()


def test_a_parent_asks_in_a_dm_and_reads_the_thcs_record(setup):
    bot = f"@{setup.config.bot.localpart}:{setup.synapse.server_name}"

    async def run() -> tuple[dict, dict]:
        client = AsyncClient(setup.synapse.base_url, setup.parent.user_id)
        client.restore_login(setup.parent.user_id, "PARENT", setup.parent.access_token)
        try:
            created = await client.room_create(is_direct=True, invite=[bot])
            room_id = created.room_id

            async def joined() -> bool:
                await client.sync(timeout=1000)
                room = client.rooms.get(room_id)
                return room is not None and bot in room.users

            await eventually_async(joined, 60, "the bot to accept the parent's invite", interval=0)
            asked = await send(client, room_id, "!ketqua")
            record = await asyncio.to_thread(setup.wait_reply, room_id, asked)
            attack = await send(client, room_id, "!ketqua Cúc")
            refused = await asyncio.to_thread(setup.wait_reply, room_id, attack)
            return record, refused
        finally:
            await client.close()

    record, refused = asyncio.run(run())
    body = record["body"]
    print("\n--- transcript: !ketqua ---\n" + body)
    assert body.startswith("Kết quả học tập — Nguyễn Minh An, lớp 6A1, Trường THCS Đỗ Văn Dậy")
    assert "• Toán: TX 8,0; 9,0 · GK 7,0 · CK 8,5 · ĐTBmhk 8,1" in body
    assert "Kết quả rèn luyện: Tốt · Kết quả học tập: Khá" in body
    assert record["format"] == "org.matrix.custom.html" and "<table>" in record["formatted_body"]
    assert refused["body"].startswith("Không tìm thấy con nào của Anh/Chị khớp với 'Cúc'")
    assert "3,0" not in refused["body"]
