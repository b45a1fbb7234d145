"""!trienkhai without Matrix: counting, ordering, the row cap, a school's names, refusals —
over account_activity on SQLite and PostgreSQL; and !baocao / !nhacnho's "chưa đăng nhập"."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, select

from bot import rollout
from bot.commands import Incoming
from bot.commands.trienkhai import NO_DATA, UNITS_SHOWN
from bot.db.delivery import DeliveryTable
from bot.db.receipt import Receipt
from bot.db.recipient import RecipientTable
from bot.directory import DirectoryCache
from bot.service import NOT_ALLOWED, BotService
from provisioning.db.models import AccountActivity, AccountActivityCopy, MatrixAccount, Person
from provisioning.importer import import_paths

from ..directory.conftest import BASE_STAFF, STAFF_HEADER, UNIT_HEADER, write_csv
from .test_commands import EXTRA
from .test_gui import MORE, build_service, say

NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
SCHOOLS = 35  # more than UNITS_SHOWN
GIVEN = ("Ngô Thị An", "Trần Thị Bình", "Lê Văn Cường")  # the teachers of every school


class Fixed:
    def now(self) -> dt.datetime:
        return NOW


def uid(code: str) -> str:
    return f"@{code.lower()}:test"


# ------------------------------------------------------------------ the pure core


def test_tally_counts_each_account_once_and_rounds_percentages_down():
    t = rollout.tally("A", ["@a", "@b", "@c", "@a"], {"@a", "@b", "@z"}, {"@a"})
    assert (t.accounts, t.logged_in, t.active, t.never) == (3, 2, 1, 1)
    assert rollout.percent(2, 3) == "66%" and rollout.percent(199, 200) == "99%"
    assert rollout.percent(0, 0) == "—"


def test_furthest_behind_first_then_most_missing_then_name():
    rows = [
        rollout.Tally("C", 10, 5, 5),
        rollout.Tally("B", 2, 0, 0),
        rollout.Tally("A", 4, 0, 0),
        rollout.Tally("Z", 0, 0, 0),  # no account: not behind
        rollout.Tally("D", 4, 2, 1),
    ]
    assert [t.label for t in rollout.furthest_behind(rows)] == ["A", "B", "C", "D", "Z"]


# ------------------------------------------------------------------ a district


def _units() -> list[list[str]]:
    rows = [
        ["so", "Sở Giáo dục và Đào tạo", "", "Sở", "", "", "", ""],
        ["xa1", "Xã Tân Thới", "so", "Xã/Phường", "", "", "", ""],
        ["xa2", "Xã Bà Điểm", "so", "Xã/Phường", "", "", "", ""],
        ["b00", "Trường THCS Bà Điểm", "xa2", "Trường", "THCS", "CL", "", ""],
    ]
    for i in range(SCHOOLS):
        rows.append(
            [f"s{i:02d}", f"Trường Tiểu học Số {i:02d}", "xa1", "Trường", "TH", "CL", "", ""]
        )
    rows.append(["s01-toan", "Tổ Toán – TH Số 01", "s01", "Tổ", "", "", "", ""])
    return rows


def _staff() -> list[list[str]]:
    people: list[tuple[str, str, str, str]] = [
        ("gd", "Huỳnh Văn Phúc", "so", "Giám đốc"),
        ("tp", "Lý Văn Minh", "xa1", "Trưởng phòng"),
        ("cv", "Trương Thị Ngọc", "xa1", "Chuyên viên"),
        ("b00ht", "Võ Văn Tư", "b00", "Hiệu trưởng"),
    ]
    for i in range(SCHOOLS):
        people.append((f"s{i:02d}ht", f"Phạm Văn Hiệu {i:02d}", f"s{i:02d}", "Hiệu trưởng"))
        for j, name in enumerate(GIVEN):
            unit = "s01-toan" if (i, j) == (1, 2) else f"s{i:02d}"
            people.append((f"s{i:02d}gv{j}", name, unit, "Giáo viên"))
    return [
        [code, name, f"09{n:08d}", "", unit, position, "", "", "", ""]
        for n, (code, name, unit, position) in enumerate(people, start=10_000_001)
    ]


def activity(user_id: str, at: dt.datetime = NOW) -> dict:
    """An account_activity row: logged in and last seen ``at``."""
    return {
        "user_id": user_id,
        "first_login_at": at,
        "last_seen_at": at,
        "devices": 1,
        "checked_at": NOW,
    }


def logged_in_at(code: str) -> dt.datetime | None:
    """School i: its first i % 5 people (principal, then teachers) have logged in; the
    office's Trưởng phòng too, ten days ago (so not active in the last 7 days)."""
    if code == "tp":
        return NOW - dt.timedelta(days=10)
    if code.startswith("s") and len(code) > 4:
        i, rank = int(code[1:3]), ["ht", "gv0", "gv1", "gv2"].index(code[3:])
        return NOW - dt.timedelta(hours=1) if rank < i % 5 else None
    return None


@pytest.fixture
def service(engine, tmp_path):
    files = [
        write_csv(tmp_path / "don_vi.csv", UNIT_HEADER, _units()),
        write_csv(tmp_path / "nhan_su.csv", STAFF_HEADER, _staff()),
    ]
    assert import_paths(engine, files).exit_code == 0
    with engine.begin() as conn:
        people = conn.execute(select(Person.id, Person.code)).all()
        conn.execute(
            insert(MatrixAccount),
            [
                {"person_id": pid, "user_id": uid(code), "created": True, "deactivated": False}
                for pid, code in people
            ],
        )
        rows = [(code, logged_in_at(code.lower())) for _, code in people]
        conn.execute(
            insert(AccountActivity),
            [
                {
                    "user_id": uid(c),
                    "first_login_at": t,
                    "last_seen_at": t,
                    "devices": 1,
                    "checked_at": NOW,
                }
                for c, t in rows
                if t is not None
            ],
        )
    return BotService(DirectoryCache(engine, min_check_interval=0), clock=Fixed())


def copied(engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(AccountActivityCopy).values(id=1, copied_at=NOW))


async def ask(service, who: str, text: str):
    return await service.handle(Incoming(uid(who), text))


async def test_an_office_sees_its_schools_furthest_behind_first_within_the_cap(service, engine):
    copied(engine)
    reply = await ask(service, "tp", "!trienkhai")
    data = reply.extra["vn.dieuhanh.rollout"]
    units = data["units"]
    assert len(units) == UNITS_SHOWN
    shares = [u["logged_in"] / u["accounts"] for u in units]
    assert shares == sorted(shares) and shares[0] == 0
    # every school has 4 accounts, i % 5 logged in; plus the office's two officials (1 in)
    logged = sum(i % 5 for i in range(SCHOOLS)) + 1
    assert (data["accounts"], data["logged_in"]) == (SCHOOLS * 4 + 2, logged)
    assert data["active_7d"] == logged - 1  # the Trưởng phòng was last seen 10 days ago
    assert data["never"] == SCHOOLS * 4 + 2 - logged
    lines = reply.text.splitlines()
    assert lines[0].startswith(
        "Triển khai tại Xã Tân Thới (số liệu đăng nhập lúc 10:00 01/12/2026)"
    )
    assert lines[1].startswith("TH Số 00: 4 tài khoản, 0 đã đăng nhập (0%)")
    assert lines[-2].startswith(f"… {SCHOOLS + 1 - UNITS_SHOWN} đơn vị khác:")
    assert lines[-1].startswith(f"Tổng cộng: {SCHOOLS * 4 + 2} tài khoản, {logged} đã đăng nhập")
    assert "<table>" in reply.html and "Chưa đăng nhập lần nào" not in reply.text


async def test_the_so_sees_its_offices(service, engine):
    copied(engine)
    data = (await ask(service, "gd", "!trienkhai")).extra["vn.dieuhanh.rollout"]
    labels = ["Cán bộ tại Sở GD&ĐT", "Xã Bà Điểm", "Xã Tân Thới"]
    assert [u["label"] for u in data["units"]] == labels
    assert data["units"][1] == {
        "label": "Xã Bà Điểm",
        "accounts": 1,
        "logged_in": 0,
        "active_7d": 0,
    }


async def test_a_principal_sees_who_in_the_school_never_logged_in(service, engine):
    copied(engine)
    reply = await ask(service, "s01ht", "!trien khai")
    data = reply.extra["vn.dieuhanh.rollout"]
    assert (data["accounts"], data["logged_in"], data["never"]) == (4, 1, 3)
    assert data["units"] == []
    # in Vietnamese name order (given name first); the one in the school's tổ too
    assert reply.text.endswith(
        "Chưa đăng nhập lần nào (3 người): Ngô Thị An, Trần Thị Bình, Lê Văn Cường"
    )
    # an office official may narrow to one school, and sees the names too
    narrowed = await ask(service, "tp", "!trienkhai s01")
    assert narrowed.text.splitlines()[-1] == reply.text.splitlines()[-1]


async def test_bad_input_gets_one_sentence(service, engine):
    assert (await ask(service, "s01ht", "!trienkhai Tiểu học Số 02")).text == (
        "Đơn vị 'Trường Tiểu học Số 02' nằm ngoài phạm vi Anh/Chị phụ trách."
    )
    assert (await ask(service, "tp", "!trienkhai Trường Không Có")).text == (
        "Không tìm thấy đơn vị 'Trường Không Có'."
    )
    assert (await ask(service, "s01gv0", "!trienkhai")).text == NOT_ALLOWED.format(
        command="!trienkhai"
    )
    assert (await ask(service, "tp", "!trienkhai")).text == NO_DATA  # the copy never ran


# ------------------------------------------------------------------ !baocao and !nhacnho


async def test_baocao_tells_never_logged_in_from_unknown_and_unread(engine, base_files, tmp_path):
    service = build_service(engine, base_files, tmp_path, [*BASE_STAFF, *EXTRA, *MORE])
    sent = await say(service, "P008", "!gui THCS GV: Nộp kế hoạch dạy học.")
    code = sent.extra["vn.dieuhanh.sent"]["code"]
    before = (await say(service, "P008", f"!baocao {code}")).extra
    assert before["vn.dieuhanh.report"]["never"] == 0  # the copy has not run: nobody is "never"
    rec, dlv = RecipientTable.__table__, DeliveryTable.__table__
    with engine.begin() as conn:  # as if the worker had sent every delivery
        conn.execute(dlv.update().values(event_id="$sent", sent_at=NOW))
        users = sorted(conn.scalars(select(rec.c.user_id)))
        reader, public, quiet, *never = users
        conn.execute(
            rec.update().where(rec.c.user_id == reader).values(read_at=NOW, read_how="receipt")
        )
        conn.execute(
            insert(AccountActivity),
            [
                {
                    "user_id": u,
                    "first_login_at": NOW,
                    "last_seen_at": NOW,
                    "devices": 1,
                    "checked_at": NOW,
                }
                for u in (reader, public, quiet)
            ],
        )
    assert never  # at least one recipient never logged in
    await Receipt.record(engine, "!elsewhere:test", public, "$other", 1)  # a public receipt
    copied(engine)
    service.activity.max_age = 0  # read the table again
    report = await say(service, "P008", f"!baocao {code}")
    data = report.extra["vn.dieuhanh.report"]
    assert (data["read"], data["unread"], data["unknown"], data["never"]) == (1, 1, 1, len(never))
    assert f"{len(never)} chưa đăng nhập." in report.text.splitlines()[0]
    assert "Chưa đăng nhập lần nào (chưa thể đọc):" in report.text
    reminded = await say(service, "P008", f"!nhacnho {code}")
    assert reminded.extra["vn.dieuhanh.reminded"] == 2  # the unread and the unknown
    assert reminded.extra["vn.dieuhanh.never_logged_in"] == len(never)
    assert reminded.text.endswith(
        f"{len(never)} người chưa đăng nhập lần nào sẽ không nhận được lời nhắc "
        "(gõ !moi để mời họ đăng nhập qua SMS)."
    )
