"""Small, valid families' tables on top of conftest's base directory, and helpers."""

from __future__ import annotations

import itertools
from pathlib import Path

from sqlalchemy import Engine, text

from provisioning.importer import ImportResult, import_paths

from .conftest import BASE_STAFF, BASE_UNITS, STAFF_HEADER, UNIT_HEADER, write_csv

CLASS_HEADER = ["Mã đơn vị", "Năm học", "Tên lớp", "Khối", "GVCN"]
STUDENT_HEADER = [
    "Mã học sinh", "Họ và tên", "Ngày sinh", "Giới tính", "Mã đơn vị", "Lớp",
    "Họ tên cha", "SĐT cha", "Họ tên mẹ", "SĐT mẹ",
    "Họ tên người giám hộ", "SĐT người giám hộ", "SĐT học sinh",
]  # fmt: skip
MARK_HEADER = ["Mã học sinh", "Năm học", "Học kỳ", "Môn", "Loại", "Điểm"]
ABSENCE_HEADER = ["Mã học sinh", "Ngày", "Buổi", "Trạng thái"]
RESULT_HEADER = [
    "Mã học sinh", "Năm học", "Học kỳ", "Kết quả rèn luyện", "Kết quả học tập", "Nhận xét",
]  # fmt: skip
YEAR = "2025-2026"

CLASSES = [
    ["thcs-dvd", YEAR, "6A1", "6", "P002"],
    ["thcs-dvd", YEAR, "6A2", "6", "P003"],
    ["thcs-tt", YEAR, "7B", "7", "P005"],
    ["mn-hs", YEAR, "Lá 2", "Lá", "P006"],
]


def student(code, name, unit, klass, *, father=("", ""), mother=("", ""), guardian=("", "")):
    """A hoc_sinh row; ``own`` phone last (empty)."""
    return [code, name, "", "", unit, klass, *father, *mother, *guardian, ""]


STUDENTS = [
    student("HS001", "Nguyễn Minh An", "thcs-dvd", "6A1",
            father=("Nguyễn Văn Hùng", "0911000001"), mother=("Trần Thị Hoa", "0911000002")),
    student("HS002", "Nguyễn Minh Bảo", "thcs-tt", "7B", mother=("Trần Thị Hoa", "091.100.0002")),
    [*student("HS003", "Lê Thị Cúc", "thcs-dvd", "6A2",
              guardian=("Lê Văn Dũng", "0911000003"))[:-1], "0933000003"],
    student("HS004", "Phạm Gia Bảo", "mn-hs", "Lá 2", mother=("Phạm Thị Mai", "0911000004")),
]  # fmt: skip

_runs = itertools.count()


def run(
    engine: Engine,
    tmp_path: Path,
    *,
    units=None,
    staff=None,
    classes=None,
    students=None,
    marks=None,
    absences=None,
    results=None,
    scope: str | None = None,
    allow_mass_removal: bool = False,
) -> ImportResult:
    folder = tmp_path / f"fam{next(_runs)}"
    paths = []
    for name, header, rows in (
        ("don_vi", UNIT_HEADER, units),
        ("nhan_su", STAFF_HEADER, staff),
        ("lop", CLASS_HEADER, classes),
        ("hoc_sinh", STUDENT_HEADER, students),
        ("diem", MARK_HEADER, marks),
        ("chuyen_can", ABSENCE_HEADER, absences),
        ("ren_luyen", RESULT_HEADER, results),
    ):
        if rows is not None:
            paths.append(write_csv(folder / f"{name}.csv", header, rows))
    return import_paths(engine, paths, scope=scope, allow_mass_removal=allow_mass_removal)


def base(engine: Engine, tmp_path: Path) -> ImportResult:
    """The base directory with its classes and students, imported without a report."""
    result = run(
        engine, tmp_path, units=BASE_UNITS, staff=BASE_STAFF, classes=CLASSES, students=STUDENTS
    )
    assert result.reports == [], result.report_lines()
    return result


def query(engine: Engine, sql: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def children(engine: Engine, phone: str) -> set[tuple[str, str]]:
    """(Mã học sinh, relation) of every child the parent with ``phone`` follows."""
    rows = query(
        engine,
        "SELECT s.code, l.relation FROM student_parents l JOIN parents p ON p.id = l.parent_id "
        "JOIN students s ON s.id = l.student_id WHERE p.phone = :phone",
        phone=phone,
    )
    return set(rows)


def parent_active(engine: Engine, phone: str) -> bool:
    return bool(query(engine, "SELECT active FROM parents WHERE phone = :p", p=phone)[0][0])


def marks_of(engine: Engine, code: str) -> list[tuple]:
    return sorted(
        query(
            engine,
            "SELECT m.school_year, m.term, m.subject, m.kind, m.seq, m.score, m.passed "
            "FROM marks m JOIN students s ON s.id = m.student_id WHERE s.code = :c",
            c=code,
        ),
        key=repr,
    )


def only_report(result: ImportResult):
    assert len(result.reports) == 1, result.report_lines()
    return result.reports[0]
