"""The families' layout rules (pure, over a small imported directory): accounts, display
names, room keys, members and powers; the plan's family operations."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from provisioning.db import open_directory
from provisioning.families.view import load_families
from provisioning.matrix.family_layout import (
    add_families,
    class_room_key,
    parent_displayname,
    parents_room_key,
    student_displayname,
)
from provisioning.matrix.layout import BOT, MAX_DISPLAYNAME, Layout, Purpose, build_layout
from provisioning.matrix.mirror import Mirror
from provisioning.matrix.plan import compute_plan
from provisioning.view import load_view

from ..directory.conftest import BASE_STAFF, BASE_UNITS
from ..directory.families import CLASSES, STUDENTS, query, run, student

HOA, HUNG, DUNG, CUC = "+84911000002", "+84911000001", "+84911000003", "+84933000003"


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = open_directory(f"sqlite:///{tmp_path / 'directory.db'}")
    yield engine
    engine.dispose()


def imported(engine: Engine, tmp_path: Path, students=STUDENTS, staff=BASE_STAFF) -> None:
    result = run(
        engine, tmp_path, units=BASE_UNITS, staff=staff, classes=CLASSES, students=students
    )
    assert not [r for r in result.reports if r.rejected], result.report_lines()


def layout_of(engine: Engine, students_in: tuple[str, ...] = ()) -> Layout:
    view = load_view(engine)
    layout = build_layout(view)
    add_families(layout, view, load_families(engine), students_in)
    return layout


def class_id(engine: Engine, unit: str, name: str) -> int:
    return query(
        engine,
        "SELECT c.id FROM classes c JOIN units u ON u.id = c.unit_id "
        "WHERE u.code = :u AND c.name = :n",
        u=unit,
        n=name,
    )[0][0]


# ------------------------------------------------------------------ display names


def test_parent_display_names_say_whose_parent_briefly():
    assert (
        parent_displayname("Trần Thị Hoa", [("Nguyễn Minh An", "6A1")])
        == "Trần Thị Hoa · PH em Nguyễn Minh An 6A1"
    )
    assert (
        parent_displayname("Trần Thị Hoa", [("Nguyễn Minh An", "6A1"), ("Lê Văn Bình", "3A2")])
        == "Trần Thị Hoa · PH em An 6A1, em Bình 3A2"
    )
    five = [(f"Nguyễn Văn {c}", f"{i}A") for i, c in enumerate("ABCDE", start=1)]
    assert parent_displayname("Hoa", five) == "Hoa · PH em A 1A, em B 2A, em C 3A, +2 em"
    assert parent_displayname(None, [("Nguyễn Minh An", "6A1")]) == (
        "Phụ huynh em Nguyễn Minh An 6A1"
    )
    assert parent_displayname("Trần Thị Hoa", []) == "Trần Thị Hoa"
    long = parent_displayname("Hoa" * 100, [("Nguyễn Minh An", "6A1")])
    assert len(long) == MAX_DISPLAYNAME and long.endswith("… · PH em Nguyễn Minh An 6A1")


def test_student_display_name():
    assert (
        student_displayname("Nguyễn Minh An", "9A1", "THCS Đỗ Văn Dậy")
        == "Nguyễn Minh An · HS 9A1 · THCS Đỗ Văn Dậy"
    )
    assert student_displayname("An", None, "THCS X") == "An · HS · THCS X"


# ------------------------------------------------------------------ layout


def test_one_account_per_family_phone_with_readable_names(engine, tmp_path):
    imported(engine, tmp_path)
    layout = layout_of(engine)
    hoa = layout.accounts[f"family:{HOA}"]
    # siblings in two schools share their mother's one account
    assert hoa.displayname == "Trần Thị Hoa · PH em An 6A1, em Bảo 7B"
    assert hoa.active and hoa.phone == HOA and hoa.full_name == "Trần Thị Hoa"
    assert layout.accounts[f"family:{HUNG}"].displayname == (
        "Nguyễn Văn Hùng · PH em Nguyễn Minh An 6A1"
    )
    cuc = layout.accounts[f"family:{CUC}"]  # a student's own phone
    assert cuc.displayname == "Lê Thị Cúc · HS 6A2 · THCS Đỗ Văn Dậy" and cuc.active
    family = [k for k in layout.accounts if k.startswith("family:")]
    assert len(family) == 5  # Hùng, Hoa, Dũng, Mai, and Cúc's own


def test_class_and_parents_rooms_members_and_power(engine, tmp_path):
    imported(engine, tmp_path)
    layout = layout_of(engine)
    a1 = class_room_key(class_id(engine, "thcs-dvd", "6A1"))
    room = layout.rooms[a1]
    assert room.name == "Lớp 6A1 · THCS Đỗ Văn Dậy" and room.purpose is Purpose.CLASS
    assert room.join_rule == "invite" and room.parent_key is None and not room.is_space
    assert room.power.events_default == 0
    assert dict(room.power.users) == {BOT: 100, "P002": 50}  # the homeroom teacher
    assert layout.members[a1] == {BOT, "P002", f"family:{HUNG}", f"family:{HOA}"}

    school = layout.rooms[parents_room_key("thcs-dvd")]
    assert school.name == "Phụ huynh · THCS Đỗ Văn Dậy" and school.purpose is Purpose.PARENTS
    assert school.power.events_default == 50  # only the leaders (and the bot) post
    assert dict(school.power.users) == {BOT: 100, "P001": 50}
    assert layout.members[parents_room_key("thcs-dvd")] == {
        BOT,
        "P001",
        f"family:{HUNG}",
        f"family:{HOA}",
        f"family:{DUNG}",
    }
    # Hoa is in the other school's parents room too; no school without families has one
    assert f"family:{HOA}" in layout.members[parents_room_key("thcs-tt")]
    assert parents_room_key("thpt-a") not in layout.rooms
    # the student is not in the class room unless the school says so
    a2 = class_room_key(class_id(engine, "thcs-dvd", "6A2"))
    assert f"family:{CUC}" not in layout.members[a2]
    assert f"family:{CUC}" in layout_of(engine, ("hocmon",)).members[a2]
    assert f"family:{CUC}" not in layout_of(engine, ("thcs-tt",)).members[a2]


def test_a_staff_members_number_uses_the_staff_account(engine, tmp_path):
    # the father of An is Lê Văn Cường, a teacher of the school (P003, 0903111222)
    students = [
        student(
            "HS001",
            "Nguyễn Minh An",
            "thcs-dvd",
            "6A1",
            father=("Lê Văn Cường", "0903111222"),
            mother=("Trần Thị Hoa", "0911000002"),
        ),
        *STUDENTS[1:],
    ]
    imported(engine, tmp_path, students=students)
    layout = layout_of(engine)
    assert not layout.accounts["family:+84903111222"].active
    a1 = class_room_key(class_id(engine, "thcs-dvd", "6A1"))
    assert "P003" in layout.members[a1] and "family:+84903111222" not in layout.members[a1]
    assert layout.accounts["P003"].displayname == "Lê Văn Cường · GV · THCS Đỗ Văn Dậy"


def test_last_child_leaving_deactivates_the_parent_as_departed(engine, tmp_path):
    imported(engine, tmp_path)
    imported(engine, tmp_path, students=[s for s in STUDENTS if s[0] != "HS003"])
    spec = layout_of(engine).accounts[f"family:{DUNG}"]
    assert not spec.active and spec.departed
    assert not layout_of(engine).accounts[f"family:{CUC}"].active  # the student left too


def test_plan_counts_family_operations(engine, tmp_path):
    imported(engine, tmp_path)
    plan = compute_plan(
        layout_of(engine),
        Mirror(),
        server_name="x",
        bot_user_id="@bot:x",
        admin_user_id="@admin:x",
        bot_exists=True,
        localpart_base=lambda name: "".join(c for c in name.lower() if c.isalpha()) or "x",
    )
    family = plan.family_counts()
    assert family["create_user"] == 5
    # four class rooms and three schools' parents rooms
    assert family["create_room"] == 7
    assert plan.counts()["create_user"] == 8 + 5
    users = {op.person: op.user_id for op in plan.ops if op.kind == "create_user"}
    assert not any(c.isdigit() for c in users[f"family:{HOA}"])  # never from the phone
    assert plan.to_json()["family_counts"] == family


def test_plan_table_shows_the_family_share(engine, tmp_path):
    from rich.console import Console

    from dieuhanh.cli.matrix import _plan_table

    imported(engine, tmp_path)
    plan = compute_plan(
        layout_of(engine),
        Mirror(),
        server_name="x",
        bot_user_id="@bot:x",
        admin_user_id="@admin:x",
        bot_exists=True,
        localpart_base=lambda name: "u",
    )
    console = Console(width=200, record=True)
    console.print(_plan_table(plan))
    text = console.export_text()
    assert "Trong đó phụ huynh, học sinh" in text
    row = next(line for line in text.splitlines() if "Tạo tài khoản " in line)
    assert "13" in row and "5" in row
