"""Every rule of the learning records' tables (diem, chuyen_can, ren_luyen), each bad
input with its report."""

from __future__ import annotations

import pytest

from .families import STUDENTS, YEAR, base, marks_of, only_report, query, run

MARKS = [
    ["HS001", YEAR, "1", "Toán", "TX", "8"],
    ["HS001", YEAR, "1", "Toán", "TX", "9"],
    ["HS001", YEAR, "1", "Toán", "GK", "7"],
    ["HS001", YEAR, "1", "Toán", "CK", "8,5"],
    ["HS001", YEAR, "1", "Giáo dục thể chất", "TX", "Đ"],
    ["HS001", YEAR, "1", "Giáo dục thể chất", "CK", "CĐ"],
    ["HS003", YEAR, "1", "Toán", "TX", "10"],
]


def revision(engine, key: str) -> str | None:
    rows = query(engine, "SELECT value FROM directory_state WHERE key = :k", k=key)
    return rows[0][0] if rows else None


def test_marks_are_stored_in_tenths_and_comments_as_passed(engine, tmp_path):
    base(engine, tmp_path)
    result = run(engine, tmp_path, marks=MARKS)
    assert result.reports == [] and result.marks.added == 7
    stored = marks_of(engine, "HS001")
    assert (YEAR, 1, "Toán", "CK", 1, 85, None) in stored
    assert (YEAR, 1, "Toán", "TX", 2, 90, None) in stored
    assert any(m[2:5] == ("Giáo dục thể chất", "CK", 1) and not m[6] for m in stored)
    assert len(result.records_changed) == 2
    assert revision(engine, "learning_revision") == "1"


def test_the_same_marks_file_twice_changes_nothing(engine, tmp_path):
    base(engine, tmp_path)
    run(engine, tmp_path, marks=MARKS)
    before = revision(engine, "revision")
    again = run(engine, tmp_path, marks=MARKS)
    assert again.reports == [] and again.marks.unchanged == 7
    assert (again.marks.added, again.marks.removed, again.records_changed) == (0, 0, set())
    assert revision(engine, "learning_revision") == "1" and revision(engine, "revision") == before


def test_a_marks_file_replaces_the_terms_it_contains_and_only_those(engine, tmp_path):
    base(engine, tmp_path)
    run(engine, tmp_path, marks=[*MARKS, ["HS001", YEAR, "2", "Toán", "TX", "6"]])
    result = run(engine, tmp_path, marks=[["HS001", YEAR, "1", "Toán", "TX", "5"]])
    assert result.reports == []
    stored = marks_of(engine, "HS001")
    assert [m for m in stored if m[1] == 1] == [(YEAR, 1, "Toán", "TX", 1, 50, None)]
    assert (YEAR, 2, "Toán", "TX", 1, 60, None) in stored  # term 2 was not in the file
    assert marks_of(engine, "HS003") == []  # same school and term: replaced (by nothing)
    assert result.records_changed == {
        query(engine, "SELECT id FROM students WHERE code = :c", c=c)[0][0]
        for c in ("HS001", "HS003")
    }


def test_marks_of_another_school_are_not_replaced(engine, tmp_path):
    base(engine, tmp_path)
    run(engine, tmp_path, marks=[*MARKS, ["HS002", YEAR, "1", "Toán", "TX", "6"]])
    run(engine, tmp_path, marks=MARKS[:1])  # thcs-dvd only
    assert marks_of(engine, "HS002") == [(YEAR, 1, "Toán", "TX", 1, 60, None)]


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (["HS001", YEAR, "1", "Toán", "TX", "11"], "Điểm", "ngoài khoảng 0 đến 10"),
        (["HS001", YEAR, "1", "Toán", "TX", "10,5"], "Điểm", "ngoài khoảng 0 đến 10"),
        (["HS001", YEAR, "1", "Toán", "TX", "-1"], "Điểm", "không hợp lệ"),
        (["HS001", YEAR, "1", "Toán", "TX", "8,25"], "Điểm", "quá một chữ số thập phân"),
        (["HS001", YEAR, "1", "Toán", "TX", "Giỏi"], "Điểm", "không hợp lệ"),
        (["HS001", YEAR, "1", "Toán", "TX", ""], "Điểm", "thiếu Điểm"),
        (["HS001", YEAR, "1", "Toán", "KT15", "8"], "Loại", 'Loại "KT15" không hợp lệ'),
        (["HS001", YEAR, "3", "Toán", "TX", "8"], "Học kỳ", 'Học kỳ "3" không hợp lệ'),
        (["HS001", "2025", "1", "Toán", "TX", "8"], "Năm học", "không hợp lệ"),
        (["HS001", YEAR, "1", "", "TX", "8"], "Môn", "thiếu Môn"),
        (["HS404", YEAR, "1", "Toán", "TX", "8"], "Mã học sinh", "không tìm thấy học sinh"),
        (["HS001", YEAR, "1", "Toán", "GK", "6"], "Loại", "đã có điểm GK môn Toán học kỳ 1"),
        (["HS001", YEAR, "1", "Toán", "TX", "Đ"], "Điểm", "đã được đánh giá bằng điểm số"),
        (["HS001", YEAR, "1", "Giáo dục thể chất", "GK", "7"], "Điểm", "bằng Đ/CĐ"),
    ],
)
def test_a_bad_mark_is_rejected(engine, tmp_path, row, column, reason):
    base(engine, tmp_path)
    result = run(engine, tmp_path, marks=[*MARKS, row])
    report = next(r for r in result.reports if r.rejected)
    assert (report.row, report.column) == (9, column), result.report_lines()
    assert reason in report.reason


def test_a_rejected_mark_keeps_the_students_term_as_it_was(engine, tmp_path):
    base(engine, tmp_path)
    run(engine, tmp_path, marks=MARKS)
    before = marks_of(engine, "HS001")
    result = run(engine, tmp_path, marks=[["HS001", YEAR, "1", "Toán", "TX", "12"], *MARKS[1:]])
    assert marks_of(engine, "HS001") == before
    kept = [r for r in result.reports if not r.rejected]
    assert len(kept) == 1 and "chưa được cập nhật" in kept[0].reason


def test_marks_accept_excel_numbers_and_dots(engine, tmp_path):
    base(engine, tmp_path)
    rows = [
        ["HS001", YEAR, "Học kỳ 1", "Toán", "tx", 7.5],
        ["HS001", YEAR, "HK1", "Toán", "Giữa kỳ", "6.0"],
    ]
    assert run(engine, tmp_path, marks=rows).reports == []
    assert {m[3:6] for m in marks_of(engine, "HS001")} == {("TX", 1, 75), ("GK", 1, 60)}


def test_marks_of_a_student_outside_the_scope_are_rejected(engine, tmp_path):
    base(engine, tmp_path)
    result = run(
        engine, tmp_path, marks=[["HS002", YEAR, "1", "Toán", "TX", "8"]], scope="thcs-dvd"
    )
    assert 'ngoài phạm vi nhập "thcs-dvd"' in only_report(result).reason


# --------------------------------------------------------------------------- chuyen_can

ABSENCES = [
    ["HS001", "06/10/2025", "", "P"],
    ["HS001", "07/10/2025", "Sáng", "K"],
    ["HS001", "07/10/2025", "Chiều", "P"],
    ["HS003", "20/10/2025", "", "K"],
]


def absences_of(engine, code: str) -> set[tuple]:
    rows = query(
        engine,
        "SELECT a.date, a.session, a.excused FROM attendance a "
        "JOIN students s ON s.id = a.student_id WHERE s.code = :c",
        c=code,
    )
    return {(str(d), s, bool(e)) for d, s, e in rows}


def test_absences_with_and_without_permission_by_session(engine, tmp_path):
    base(engine, tmp_path)
    result = run(engine, tmp_path, absences=ABSENCES)
    assert result.reports == [] and result.absences.added == 4
    assert absences_of(engine, "HS001") == {
        ("2025-10-06", "day", True),
        ("2025-10-07", "morning", False),
        ("2025-10-07", "afternoon", True),
    }
    again = run(engine, tmp_path, absences=ABSENCES)
    assert again.absences.unchanged == 4 and not again.records_changed


def test_an_attendance_file_is_complete_between_its_first_and_last_date(engine, tmp_path):
    base(engine, tmp_path)
    run(engine, tmp_path, absences=[*ABSENCES, ["HS001", "30/11/2025", "", "P"]])
    result = run(engine, tmp_path, absences=[["HS001", "06/10/2025", "", "K"], ABSENCES[3]])
    assert (result.absences.changed, result.absences.removed) == (1, 2)
    assert absences_of(engine, "HS001") == {
        ("2025-10-06", "day", False),
        ("2025-11-30", "day", True),  # after the file's last date: kept
    }


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (["HS001", "08/10/2025", "", "X"], "Trạng thái", 'Trạng thái "X" không hợp lệ'),
        (["HS001", "08/10/2025", "", ""], "Trạng thái", "thiếu Trạng thái"),
        (["HS001", "08/10/2025", "Tối", "P"], "Buổi", 'Buổi "Tối" không hợp lệ'),
        (["HS001", "31/02/2025", "", "P"], "Ngày", "không hợp lệ"),
        (["HS001", "", "", "P"], "Ngày", "thiếu Ngày"),
        (["HS404", "08/10/2025", "", "P"], "Mã học sinh", "không tìm thấy học sinh"),
        (["HS001", "07/10/2025", "", "P"], "Ngày", "đã có dòng 3 ghi nghỉ ngày 07/10/2025"),
        (["HS001", "06/10/2025", "Sáng", "P"], "Ngày", "đã có dòng 2"),
    ],
)
def test_a_bad_absence_is_rejected(engine, tmp_path, row, column, reason):
    base(engine, tmp_path)
    result = run(engine, tmp_path, absences=[*ABSENCES, row])
    report = only_report(result)
    assert (report.row, report.column, report.rejected) == (6, column, True)
    assert reason in report.reason


# --------------------------------------------------------------------------- ren_luyen

RESULTS = [
    ["HS001", YEAR, "1", "Tốt", "Khá", "Em chăm ngoan, cần cẩn thận hơn khi làm bài."],
    ["HS001", YEAR, "2", "Tốt", "Tốt", ""],
    ["HS001", YEAR, "CN", "Tốt", "Tốt", "Học sinh Xuất sắc"],
    ["HS003", YEAR, "1", "Đạt", "Chưa đạt", ""],
]


def test_term_results_for_each_term_and_the_whole_year(engine, tmp_path):
    base(engine, tmp_path)
    result = run(engine, tmp_path, results=RESULTS)
    assert result.reports == [] and result.term_results.added == 4
    rows = query(
        engine,
        "SELECT r.term, r.conduct, r.learning FROM term_results r "
        "JOIN students s ON s.id = r.student_id WHERE s.code = 'HS001' ORDER BY r.term",
    )
    assert rows == [("1", "good", "fair"), ("2", "good", "good"), ("CN", "good", "good")]
    changed = [["HS001", YEAR, "1", "Tốt", "Tốt", ""], *RESULTS[1:]]
    again = run(engine, tmp_path, results=changed)
    assert (again.term_results.changed, again.term_results.unchanged) == (1, 3)


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (["HS001", YEAR, "3", "Tốt", "", ""], "Học kỳ", 'Học kỳ "3" không hợp lệ'),
        (["HS001", YEAR, "2", "Giỏi", "", ""], "Kết quả rèn luyện", '"Giỏi" không hợp lệ'),
        (["HS001", YEAR, "2", "", "Xuất sắc", ""], "Kết quả học tập", "Tốt, Khá, Đạt"),
        (["HS404", YEAR, "1", "Tốt", "", ""], "Mã học sinh", "không tìm thấy học sinh"),
        (["HS001", YEAR, "1", "Khá", "", ""], "Mã học sinh", "trùng học sinh, năm học"),
    ],
)
def test_a_bad_term_result_is_rejected(engine, tmp_path, row, column, reason):
    base(engine, tmp_path)
    result = run(engine, tmp_path, results=[*RESULTS, row])
    report = only_report(result)
    assert (report.row, report.column, report.rejected) == (6, column, True)
    assert reason in report.reason


def test_all_five_tables_from_one_workbook(engine, tmp_path):
    from openpyxl import Workbook

    from provisioning.importer import import_paths

    from .conftest import BASE_STAFF, BASE_UNITS, STAFF_HEADER, UNIT_HEADER
    from .families import (
        ABSENCE_HEADER,
        CLASS_HEADER,
        CLASSES,
        MARK_HEADER,
        RESULT_HEADER,
        STUDENT_HEADER,
    )

    book = Workbook()
    book.remove(book.active)
    for title, header, rows in (
        ("Đơn vị", UNIT_HEADER, BASE_UNITS),
        ("Nhân sự", STAFF_HEADER, BASE_STAFF),
        ("Lớp", CLASS_HEADER, CLASSES),
        ("Học sinh", STUDENT_HEADER, STUDENTS),
        ("Điểm", MARK_HEADER, MARKS),
        ("Chuyên cần", ABSENCE_HEADER, ABSENCES),
        ("Rèn luyện", RESULT_HEADER, RESULTS),
    ):
        sheet = book.create_sheet(title)
        sheet.append(header)
        for row in rows:
            sheet.append(row)
    book.save(tmp_path / "truong.xlsx")
    result = import_paths(engine, [tmp_path / "truong.xlsx"])
    assert result.reports == [], result.report_lines()
    assert result.family_tables == ["classes", "students", "marks", "attendance", "term_results"]
    assert (result.students.added, result.marks.added, result.absences.added) == (4, 7, 4)


def test_roll_call_files_are_attendance_not_marks(engine, tmp_path):
    from provisioning.importer.sources import TableKind, read_tables

    from .conftest import write_csv
    from .families import ABSENCE_HEADER

    path = write_csv(tmp_path / "diem_danh_thang_10.csv", ABSENCE_HEADER, ABSENCES)
    assert [t.kind for t in read_tables([path])] == [TableKind.ATTENDANCE]
