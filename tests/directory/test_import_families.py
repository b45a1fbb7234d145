"""Every rule of DATA-FORMAT.md's "Students, parents and learning records": classes,
students and parents; each bad input with its report."""

from __future__ import annotations

import pytest

from provisioning.families.counts import family_counts
from provisioning.importer import MassDepartureRefused, UnusableInput

from .conftest import BASE_STAFF, BASE_UNITS
from .families import (
    CLASSES,
    STUDENTS,
    YEAR,
    base,
    children,
    only_report,
    parent_active,
    query,
    run,
    student,
)

HUNG, HOA, DUNG, MAI = "+84911000001", "+84911000002", "+84911000003", "+84911000004"


def test_a_clean_import_links_each_parent_once_across_siblings_and_schools(engine, tmp_path):
    result = base(engine, tmp_path)
    assert (result.classes.added, result.students.added, result.parents.added) == (4, 4, 4)
    assert children(engine, HOA) == {("HS001", "mother"), ("HS002", "mother")}
    assert children(engine, HUNG) == {("HS001", "father")}
    assert children(engine, DUNG) == {("HS003", "guardian")}
    assert query(engine, "SELECT phone FROM students WHERE code = 'HS003'") == [("+84933000003",)]
    assert family_counts(engine) == {"classes": 4, "students": 4, "parents": 4}
    assert any(line.startswith("Học sinh: 4 thêm mới") for line in result.summary_lines())


def test_importing_the_same_files_again_changes_nothing(engine, tmp_path):
    first = base(engine, tmp_path)
    again = run(engine, tmp_path, classes=CLASSES, students=STUDENTS)
    assert again.reports == [] and not again.changed
    assert (again.classes.unchanged, again.students.unchanged) == (4, 4)
    assert again.revision is None and first.revision is not None


# --------------------------------------------------------------------------- lop


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (["thcs-xx", YEAR, "6A3", "6", ""], "Mã đơn vị", 'không tìm thấy trường "thcs-xx"'),
        (["hocmon", YEAR, "6A3", "6", ""], "Mã đơn vị", "không phải là trường học"),
        (["thcs-dvd", "2025-2027", "6A3", "6", ""], "Năm học", "không hợp lệ"),
        (["thcs-dvd", YEAR, "", "6", ""], "Tên lớp", "thiếu Tên lớp"),
        (["thcs-dvd", YEAR, "6A3", "13", ""], "Khối", 'khối "13" không hợp lệ'),
        (["thcs-dvd", YEAR, "6A3", "Mầm", ""], "Khối", 'khối "Mầm" không có ở trường'),
        (["thcs-dvd", YEAR, "3A", "3", ""], "Khối", "khối 6–9"),
        (["mn-hs", YEAR, "Lá 3", "5", ""], "Khối", "Nhà trẻ, Mầm, Chồi, Lá"),
        (["thcs-dvd", YEAR, "6 a1", "6", ""], "Tên lớp", "trùng với dòng 2"),
    ],
)
def test_a_bad_class_row_is_rejected(engine, tmp_path, row, column, reason):
    base(engine, tmp_path)
    result = run(engine, tmp_path, classes=[CLASSES[0], row])
    report = only_report(result)
    assert (report.row, report.column, report.rejected) == (3, column, True)
    assert reason in report.reason


def test_class_names_are_unique_per_school_and_year_only(engine, tmp_path):
    base(engine, tmp_path)
    rows = [*CLASSES, ["thcs-dvd", "2024-2025", "6A1", "6", ""], ["thcs-tt", YEAR, "6A1", "6", ""]]
    result = run(engine, tmp_path, classes=rows)
    assert result.reports == [] and result.classes.added == 2


def test_preschool_grades_are_accepted_by_their_names(engine, tmp_path):
    base(engine, tmp_path)
    rows = [
        ["mn-hs", YEAR, n, g, ""] for n, g in (("NT1", "Nhà trẻ"), ("M1", "mầm"), ("C1", "Chồi"))
    ]
    result = run(engine, tmp_path, classes=[*CLASSES, *rows])
    assert result.reports == []
    grades = query(engine, "SELECT grade FROM classes WHERE name IN ('NT1', 'M1', 'C1')")
    assert sorted(grades) == [("choi",), ("mam",), ("nha_tre",)]


@pytest.mark.parametrize(
    ("teacher", "reason"),
    [
        ("P404", 'không tìm thấy nhân sự đang công tác có Mã định danh "P404"'),
        ("P004", '"P004" không phải nhân sự của trường "thcs-dvd"'),
    ],
)
def test_a_homeroom_teacher_from_elsewhere_is_reported_and_the_class_kept(
    engine, tmp_path, teacher, reason
):
    base(engine, tmp_path)
    result = run(engine, tmp_path, classes=[["thcs-dvd", YEAR, "6A9", "6", teacher], *CLASSES])
    report = only_report(result)
    assert (report.column, report.rejected) == ("GVCN", False)
    assert reason in report.reason and "chưa có GVCN" in report.reason
    assert query(engine, "SELECT homeroom_person_id FROM classes WHERE name = '6A9'") == [(None,)]


def test_a_bad_homeroom_teacher_keeps_the_one_the_class_has(engine, tmp_path):
    base(engine, tmp_path)
    result = run(engine, tmp_path, classes=[["thcs-dvd", YEAR, "6A1", "6", "P404"], *CLASSES[1:]])
    assert "giữ GVCN đang có" in only_report(result).reason
    held = query(
        engine,
        "SELECT p.code FROM classes c JOIN people p ON p.id = c.homeroom_person_id "
        "WHERE c.name = '6A1'",
    )
    assert held == [("P002",)]


def test_a_class_the_file_no_longer_lists_is_closed_unless_its_row_was_rejected(engine, tmp_path):
    base(engine, tmp_path)
    rows = [CLASSES[0], ["thcs-dvd", YEAR, "6A2", "khối mười", ""], *CLASSES[2:]]
    result = run(engine, tmp_path, classes=rows)
    assert result.classes.removed == 0 and only_report(result).rejected
    result = run(engine, tmp_path, classes=[CLASSES[0], *CLASSES[2:]])
    assert result.classes.removed == 1
    assert query(engine, "SELECT active FROM classes WHERE name = '6A2'") in ([(False,)], [(0,)])


# --------------------------------------------------------------------------- hoc_sinh


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (student("HS009", "Đỗ Văn Tý", "thcs-xx", "6A1"), "Mã đơn vị", "không tìm thấy trường"),
        (student("HS009", "Đỗ Văn Tý", "thcs-dvd", "6A9"), "Lớp", 'không tìm thấy lớp "6A9"'),
        (student("HS009", "Đỗ Văn Tý", "thpt-a", "10A1"), "Lớp", "chưa có lớp nào"),
        (student("HS009", "", "thcs-dvd", "6A1"), "Họ và tên", "thiếu Họ và tên"),
        (student("", "Đỗ Văn Tý", "thcs-dvd", "6A1"), "Mã học sinh", "thiếu Mã học sinh"),
        (student("HS009", "Đỗ Văn Tý", "thcs-dvd", ""), "Lớp", "thiếu Lớp"),
        (student("HS001", "Đỗ Văn Tý", "thcs-dvd", "6A1"), "Mã học sinh", "trùng với dòng 2"),
    ],
)
def test_a_bad_student_row_is_rejected(engine, tmp_path, row, column, reason):
    base(engine, tmp_path)
    result = run(engine, tmp_path, students=[*STUDENTS, row])
    report = next(r for r in result.reports if r.row == 6 and r.rejected)
    assert (report.column, report.rejected) == (column, True), result.report_lines()
    assert reason in report.reason


def test_a_class_is_looked_up_in_the_schools_latest_year(engine, tmp_path):
    base(engine, tmp_path)
    run(engine, tmp_path, classes=[*CLASSES, ["thcs-dvd", "2026-2027", "7A1", "7", "P002"]])
    result = run(engine, tmp_path, students=STUDENTS)
    reasons = {r.row: r.reason for r in result.reports if r.rejected}
    assert 'không tìm thấy lớp "6A1" của trường "thcs-dvd" năm học 2026-2027' in reasons[2]


@pytest.mark.parametrize("form", ["84911000001", "0911 000 001", "(+84) 911.000.001", 911000001.0])
def test_a_parent_phone_in_any_spreadsheet_form_is_the_same_parent(engine, tmp_path, form):
    base(engine, tmp_path)
    sibling = student(
        "HS005", "Nguyễn Minh Châu", "thcs-dvd", "6A2", father=("Nguyễn Văn Hùng", form)
    )
    result = run(engine, tmp_path, students=[*STUDENTS, sibling])
    assert result.reports == [] and result.parents.added == 0
    assert children(engine, HUNG) == {("HS001", "father"), ("HS005", "father")}


def test_an_unusable_parent_phone_is_reported_and_the_student_kept(engine, tmp_path):
    base(engine, tmp_path)
    father, mother = ("Nguyễn Văn Tư", "02838299999"), ("Lê Thị Sáu", "0911000006")
    row = student("HS005", "Nguyễn Minh Châu", "thcs-dvd", "6A2", father=father, mother=mother)
    result = run(engine, tmp_path, students=[*STUDENTS, row])
    report = only_report(result)
    assert (report.row, report.column, report.rejected) == (6, "SĐT cha", False)
    assert "không phải số di động" in report.reason and "chưa được liên kết" in report.reason
    assert children(engine, "+84911000006") == {("HS005", "mother")}


def test_a_student_without_any_usable_parent_phone_is_reported(engine, tmp_path):
    base(engine, tmp_path)
    row = student("HS005", "Nguyễn Minh Châu", "thcs-dvd", "6A2", father=("Nguyễn Văn Tư", ""))
    result = run(engine, tmp_path, students=[*STUDENTS, row])
    assert "chưa có số điện thoại phụ huynh nào dùng được" in only_report(result).reason
    assert query(engine, "SELECT active FROM students WHERE code = 'HS005'") in ([(True,)], [(1,)])


def test_one_phone_with_two_names_is_one_parent_and_reported(engine, tmp_path):
    base(engine, tmp_path)
    row = student("HS005", "Nguyễn Minh Châu", "thcs-dvd", "6A2", mother=("Trần Thị Hồng", HOA))
    result = run(engine, tmp_path, students=[*STUDENTS, row])
    report = only_report(result)
    assert (report.column, report.rejected) == ("Họ tên mẹ", False)
    assert 'đã ghi cho phụ huynh "Trần Thị Hoa" ở dòng 2' in report.reason
    assert query(engine, "SELECT full_name FROM parents WHERE phone = :p", p=HOA) == [
        ("Trần Thị Hoa",)
    ]


def test_a_student_absent_from_the_snapshot_has_left_and_parents_keep_other_children(
    engine, tmp_path
):
    base(engine, tmp_path)
    result = run(engine, tmp_path, students=[STUDENTS[2]], scope="thcs-dvd")  # HS001 has left
    assert result.students.removed == 1 and result.reports == []
    assert query(engine, "SELECT active, left_at IS NOT NULL FROM students WHERE code = 'HS001'")[
        0
    ] in ((False, True), (0, 1))
    assert children(engine, HOA) == {("HS002", "mother")}  # the sibling in another school
    assert parent_active(engine, HOA)
    assert children(engine, HUNG) == set() and not parent_active(engine, HUNG)
    assert result.parents.removed == 1
    assert family_counts(engine) == {"classes": 4, "students": 3, "parents": 3}


def test_the_snapshot_covers_only_the_schools_it_names(engine, tmp_path):
    base(engine, tmp_path)
    result = run(engine, tmp_path, students=[STUDENTS[1]])  # thcs-tt only
    assert result.students.removed == 0 and result.students_covered == 1


def test_a_student_who_returns_brings_the_parent_back(engine, tmp_path):
    base(engine, tmp_path)
    run(engine, tmp_path, students=[STUDENTS[2]], scope="thcs-dvd")
    result = run(engine, tmp_path, students=[STUDENTS[0], STUDENTS[2]], scope="thcs-dvd")
    assert (result.students.returned, result.parents.returned) == (1, 1)
    assert parent_active(engine, HUNG) and children(engine, HUNG) == {("HS001", "father")}


def test_a_rejected_row_does_not_make_its_student_leave(engine, tmp_path):
    base(engine, tmp_path)
    broken = [*STUDENTS[0][:5], "6A7", *STUDENTS[0][6:]]
    result = run(engine, tmp_path, students=[broken, STUDENTS[2]], scope="thcs-dvd")
    assert result.students.removed == 0 and only_report(result).rejected
    assert children(engine, HUNG) == {("HS001", "father")}


def test_a_scoped_file_rejects_rows_of_other_schools(engine, tmp_path):
    base(engine, tmp_path)
    result = run(engine, tmp_path, students=STUDENTS[:3], scope="thcs-dvd")
    report = only_report(result)
    assert (report.row, report.column) == (3, "Mã đơn vị")
    assert 'nằm ngoài phạm vi nhập "thcs-dvd"' in report.reason
    assert children(engine, HOA) == {("HS001", "mother"), ("HS002", "mother")}


def test_a_truncated_student_file_is_refused_whole(engine, tmp_path):
    base(engine, tmp_path)
    many = [student(f"HT{n:03}", f"Học Sinh {n}", "thcs-dvd", "6A1") for n in range(30)]
    run(engine, tmp_path, students=[*STUDENTS, *many])
    before = query(engine, "SELECT code, active FROM students ORDER BY code")
    with pytest.raises(MassDepartureRefused, match="tệp học sinh sẽ đánh dấu"):
        run(engine, tmp_path, classes=CLASSES, students=[STUDENTS[0]], scope="thcs-dvd")
    assert query(engine, "SELECT code, active FROM students ORDER BY code") == before
    result = run(
        engine, tmp_path, students=[STUDENTS[0]], scope="thcs-dvd", allow_mass_removal=True
    )
    assert result.students.removed == 31


def test_a_move_to_another_class_follows_the_file(engine, tmp_path):
    base(engine, tmp_path)
    moved = [*STUDENTS[0][:5], "6A2", *STUDENTS[0][6:]]
    result = run(engine, tmp_path, students=[moved, *STUDENTS[1:]])
    assert result.students.changed == 1
    rows = query(
        engine,
        "SELECT c.name FROM students s JOIN classes c ON c.id = s.class_id WHERE s.code = 'HS001'",
    )
    assert rows == [("6A2",)]


def test_a_parent_dropped_from_a_childs_row_stops_following_that_child(engine, tmp_path):
    base(engine, tmp_path)
    no_father = student("HS001", "Nguyễn Minh An", "thcs-dvd", "6A1", mother=("Trần Thị Hoa", HOA))
    run(engine, tmp_path, students=[no_father, *STUDENTS[1:]])
    assert children(engine, HUNG) == set() and not parent_active(engine, HUNG)


@pytest.mark.parametrize(
    ("own", "reason"),
    [
        ("0911000002", "trùng SĐT mẹ"),
        ("0933000003", "trùng với học sinh HS003"),
        ("0912345678", "trùng với nhân sự Nguyễn Văn An"),
        ("12345", "số điện thoại không hợp lệ"),
    ],
)
def test_a_students_own_phone_that_cannot_be_their_login_is_reported(engine, tmp_path, own, reason):
    base(engine, tmp_path)
    first = [*STUDENTS[0][:-1], own]
    result = run(engine, tmp_path, students=[first, *STUDENTS[1:]])
    report = next(r for r in result.reports if r.row == 2)
    assert (report.column, report.rejected) == ("SĐT học sinh", False)
    assert reason in report.reason, report.reason


def test_a_failing_student_table_writes_nothing_else(engine, tmp_path):
    run(engine, tmp_path, units=BASE_UNITS, staff=BASE_STAFF)
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "hoc_sinh.csv").write_text("Mã học sinh,Họ và tên,Mã đơn vị\nHS1,An,thcs-dvd\n")
    from .conftest import write_csv
    from .families import CLASS_HEADER

    lop = write_csv(folder / "lop.csv", CLASS_HEADER, CLASSES)
    from provisioning.importer import import_paths

    with pytest.raises(UnusableInput, match="thiếu cột bắt buộc 'Lớp'"):
        import_paths(engine, [lop, folder / "hoc_sinh.csv"])
    assert query(engine, "SELECT count(*) FROM classes") == [(0,)]


def test_cli_import_and_status_show_classes_students_and_parents(engine, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from dieuhanh.cli import app

    from .conftest import STAFF_HEADER, UNIT_HEADER, write_csv
    from .families import CLASS_HEADER, STUDENT_HEADER

    monkeypatch.setenv("DIEUHANH_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "truong"
    files = [
        write_csv(folder / "don_vi.csv", UNIT_HEADER, BASE_UNITS),
        write_csv(folder / "nhan_su.csv", STAFF_HEADER, BASE_STAFF),
        write_csv(folder / "lop.csv", CLASS_HEADER, CLASSES),
        write_csv(folder / "hoc_sinh.csv", STUDENT_HEADER, STUDENTS),
    ]
    runner = CliRunner()
    imported = runner.invoke(app, ["import", *map(str, files)])
    assert imported.exit_code == 0, imported.output
    assert "Lớp: 4 thêm mới" in imported.output and "Phụ huynh: 4 thêm mới" in imported.output
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    assert "Lớp: 4 · Học sinh đang học: 4 · Phụ huynh (có con đang học): 4" in status.output
