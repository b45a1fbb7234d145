"""A small school of families for the bot's tests: the directory's families fixture
(tests/directory/families.py) with marks, absences, results, staff and family accounts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import Engine, insert, select

from bot.commands import Incoming
from bot.directives.cover import NotInRoom
from bot.directory import DirectoryCache
from bot.service import BotService
from provisioning.db.models import FamilyAccount, MatrixAccount, Person

from ..directory.families import STUDENTS, YEAR, base, run, student

# a second "Nguyễn Minh An" (another school, another parent) and a student whose own phone
# is a parent's number (Phạm Thị Mai's): neither may ever reach the wrong account
EXTRA_STUDENTS = [
    student("HS005", "Nguyễn Minh An", "thcs-tt", "7B", father=("Đỗ Văn Tư", "0911000005")),
    [*student("HS006", "Trần Văn Sáu", "thcs-dvd", "6A2",
              father=("Trần Văn Bảy", "0911000006"))[:-1], "0911000004"],
]  # fmt: skip

MARKS = [
    ["HS001", YEAR, "1", "Toán", "TX", "8"],
    ["HS001", YEAR, "1", "Toán", "TX", "9"],
    ["HS001", YEAR, "1", "Toán", "GK", "7"],
    ["HS001", YEAR, "1", "Toán", "CK", "8,5"],
    ["HS001", YEAR, "1", "Ngữ văn", "TX", "7"],
    ["HS001", YEAR, "1", "Ngữ văn", "GK", "6,5"],
    ["HS001", YEAR, "1", "Ngữ văn", "CK", "7"],
    ["HS001", YEAR, "1", "Giáo dục thể chất", "TX", "Đ"],
    ["HS001", YEAR, "1", "Giáo dục thể chất", "GK", "Đ"],
    ["HS001", YEAR, "1", "Giáo dục thể chất", "CK", "Đ"],
    ["HS002", YEAR, "1", "Toán", "TX", "5"],
    ["HS002", YEAR, "1", "Toán", "GK", "6"],
    ["HS002", YEAR, "1", "Toán", "CK", "7"],
    ["HS003", YEAR, "1", "Toán", "TX", "10"],
    ["HS003", YEAR, "1", "Toán", "GK", "9"],
    ["HS003", YEAR, "1", "Toán", "CK", "9"],
    ["HS005", YEAR, "1", "Toán", "TX", "4"],
    ["HS005", YEAR, "1", "Toán", "GK", "4"],
    ["HS005", YEAR, "1", "Toán", "CK", "4"],
    ["HS006", YEAR, "1", "Toán", "TX", "3"],
    ["HS006", YEAR, "1", "Toán", "GK", "3"],
    ["HS006", YEAR, "1", "Toán", "CK", "3"],
]
ABSENCES = [
    ["HS001", "13/10/2025", "Sáng", "P"],
    ["HS001", "20/11/2025", "", "K"],
    ["HS001", "10/02/2026", "Chiều", "P"],
    ["HS003", "14/10/2025", "", "P"],
]
RESULTS = [
    ["HS001", YEAR, "1", "Tốt", "Khá", "Chăm ngoan, cần luyện thêm Ngữ văn."],
    ["HS003", YEAR, "1", "Tốt", "Tốt", "Xuất sắc."],
]

# family accounts by phone (E.164)
HUNG, HOA, DUNG = "+84911000001", "+84911000002", "+84911000003"
MAI, TU = "+84911000004", "+84911000005"
CUC_OWN = "+84933000003"


def fuid(phone: str) -> str:
    return f"@ph{phone[1:]}:test"


def uid(code: str) -> str:
    return f"@{code.lower()}:test"


class FixedClock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def now(self) -> dt.datetime:
        return self.at


#: 01/12/2025 10:00 in Vietnam: Học kỳ 1 of 2025-2026
DECEMBER = dt.datetime(2025, 12, 1, 3, 0, tzinfo=dt.UTC)


def school(engine: Engine, tmp_path: Path) -> None:
    """Directory, families, records; staff and family accounts."""
    base(engine, tmp_path)
    result = run(engine, tmp_path, students=[*STUDENTS, *EXTRA_STUDENTS])
    assert [line for line in result.report_lines() if "trùng với phụ huynh" not in line] == []
    result = run(engine, tmp_path, marks=MARKS, absences=ABSENCES, results=RESULTS)
    assert result.reports == [], result.report_lines()
    with engine.begin() as conn:
        people = conn.execute(select(Person.id, Person.code)).all()
        conn.execute(
            insert(MatrixAccount),
            [{"person_id": p, "user_id": uid(c), "created": True, "deactivated": False}
             for p, c in people],
        )  # fmt: skip
        conn.execute(
            insert(FamilyAccount),
            [{"phone": p, "user_id": fuid(p), "created": True, "deactivated": False}
             for p in (HUNG, HOA, DUNG, MAI, TU, CUC_OWN, "+84911000006")],
        )  # fmt: skip


def make_service(engine: Engine, at: dt.datetime = DECEMBER) -> BotService:
    service = BotService(DirectoryCache(engine, min_check_interval=0), clock=FixedClock(at))
    service.families.min_check_interval = 0
    return service


async def ask(service: BotService, who: str, text: str, *, direct: bool = True, room: str = ""):
    """The reply to ``text`` typed by ``who`` (a user id) in their DM (or a shared room)."""
    room = room or f"!dm-{who}"
    return await service.handle(Incoming(who, text, room_id=room, direct=direct))


def scheduler_of(
    service: BotService, sent: list, members: dict[str, set[str] | None] | None = None
):
    """What the summaries' task needs of the scheduler, with a transport that records;
    ``members`` None for a room: the bot is not in it (the real bot's NotInRoom)."""

    class Transport:
        async def send(self, room_id: str, content: dict, txn_id: str) -> str:
            sent.append((room_id, content, txn_id))
            return f"$e{len(sent)}"

    async def joined(room_id: str) -> set[str]:
        if members and room_id in members:
            found = members[room_id]
            if found is None:
                raise NotInRoom(room_id)
            return found
        return {"@dieuhanh:test", room_id.removeprefix("!dm-")}

    return SimpleNamespace(
        engine=service.engine, directory=service.directory, transport=Transport(),
        joined_members=joined,
    )  # fmt: skip
