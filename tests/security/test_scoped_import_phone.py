"""Finding (low): a scoped import must not hand out another unit's person's phone.

``dieuhanh import --scope CODE`` lets an office import its own staff file alone. Such a
file could give one of its people the phone number of an active person outside the
scope (both then shared it, so the outsider lost their login), or put an outsider's
Mã định danh on one of its rows with a new number (and take over their account). Both
rows are now rejected, reported on the "Số điện thoại" column; the rest is imported.
"""

from __future__ import annotations

from provisioning.view import load_view

from ..directory.conftest import BASE_STAFF
from ..directory.test_import_rules import base, person, positions_of, run, staff_row

SCHOOL = "thcs-tt"  # Trường THCS Tư thục Ánh Dương: P004 (HT), P005 (GV)
SCHOOL_STAFF = [r for r in BASE_STAFF if r[4] == SCHOOL]
DIRECTOR_PHONE = "0344777888"  # P008, Giám đốc at the Sở: outside the school's scope


def login_phone(engine, code: str) -> str | None:
    view = load_view(engine)
    return view.login_phone(next(p for p in view.people.values() if p.code == code))


def phone_reports(result) -> list:
    return [r for r in result.reports if r.column == "Số điện thoại"]


def test_a_scoped_row_cannot_take_the_phone_of_someone_outside_the_scope(engine, tmp_path):
    base(engine, tmp_path)
    thief = staff_row(code="P200", unit=SCHOOL, phone=DIRECTOR_PHONE)
    result = run(engine, tmp_path, staff=[*SCHOOL_STAFF, thief], scope=SCHOOL)
    assert login_phone(engine, "P008") == "+84344777888"  # the director keeps the login
    [report] = phone_reports(result)
    assert report.rejected and report.row == len(SCHOOL_STAFF) + 2
    assert "ngoài phạm vi" in report.reason and "P008" in report.reason
    assert report.line().startswith('nhan_su.csv:4, cột "Số điện thoại":')
    assert result.exit_code == 1
    assert person(engine, "P004").active and person(engine, "P005").active  # rest imported


def test_a_scoped_row_cannot_change_the_phone_of_someone_outside_the_scope(engine, tmp_path):
    base(engine, tmp_path)
    hijack = staff_row(code="P008", name="Bùi Thị Lan", unit=SCHOOL, phone="0911000999")
    second = staff_row(code="P008", name="Bùi Thị Lan", unit=SCHOOL, phone="", position="PHT")
    result = run(engine, tmp_path, staff=[*SCHOOL_STAFF, hijack, second], scope=SCHOOL)
    assert person(engine, "P008").phone == "+84344777888"
    assert positions_of(engine, "P008") == {("so", "director")}  # no foothold in the school
    [report] = phone_reports(result)
    assert report.rejected and "ngoài phạm vi" in report.reason
    assert [(r.row, r.column, r.rejected) for r in result.reports] == [
        (4, "Số điện thoại", True),
        (5, "Mã định danh", True),
    ]
    assert person(engine, "P004").active and person(engine, "P005").active


def test_phones_move_freely_inside_the_scope(engine, tmp_path):
    base(engine, tmp_path)
    # P005 leaves the school; a newcomer gets the number; P004 changes hers
    newcomer = staff_row(code="P201", unit=SCHOOL, phone="0977333444")
    p004 = list(SCHOOL_STAFF[0])
    p004[2] = "0911222333"
    result = run(engine, tmp_path, staff=[p004, newcomer], scope=SCHOOL)
    assert result.reports == [], result.report_lines()
    assert not person(engine, "P005").active
    assert login_phone(engine, "P201") == "+84977333444"
    assert login_phone(engine, "P004") == "+84911222333"


def test_someone_working_outside_the_scope_may_join_with_the_same_phone(engine, tmp_path):
    base(engine, tmp_path)
    director = staff_row(code="P008", name="Bùi Thị Lan", unit=SCHOOL, phone=DIRECTOR_PHONE)
    result = run(engine, tmp_path, staff=[*SCHOOL_STAFF, director], scope=SCHOOL)
    assert result.reports == [], result.report_lines()
    assert positions_of(engine, "P008") == {("so", "director"), (SCHOOL, "teacher")}
    assert login_phone(engine, "P008") == "+84344777888"


def test_a_full_import_still_reports_a_shared_phone_on_both_rows(engine, tmp_path):
    base(engine, tmp_path)
    staff = [*BASE_STAFF, staff_row(code="P200", unit=SCHOOL, phone=DIRECTOR_PHONE)]
    result = run(engine, tmp_path, staff=staff)
    reports = phone_reports(result)
    assert len(reports) == 2 and not any(r.rejected for r in reports)
    assert login_phone(engine, "P008") is None and login_phone(engine, "P200") is None
