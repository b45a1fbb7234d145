"""Synthetic families' tables (lop, hoc_sinh, diem, chuyen_can, ren_luyen) for THCS
schools, for tests and benchmarks (``make run``'s demo does not include them).

A seed always gives the same rows. Each student has a father and a mother with phones in
the spreadsheet forms the staff demo uses; one family in ``sibling_share`` has a second
child in the same school (the parents follow both).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from provisioning.demo.names import FAMILY, FEMALE_GIVEN, FEMALE_MIDDLE, MALE_GIVEN, MALE_MIDDLE

CLASS_HEADER = ("Mã đơn vị", "Năm học", "Tên lớp", "Khối", "GVCN")
STUDENT_HEADER = (
    "Mã học sinh", "Họ và tên", "Ngày sinh", "Giới tính", "Mã đơn vị", "Lớp",
    "Họ tên cha", "SĐT cha", "Họ tên mẹ", "SĐT mẹ",
    "Họ tên người giám hộ", "SĐT người giám hộ", "SĐT học sinh",
)  # fmt: skip
MARK_HEADER = ("Mã học sinh", "Năm học", "Học kỳ", "Môn", "Loại", "Điểm")
ABSENCE_HEADER = ("Mã học sinh", "Ngày", "Buổi", "Trạng thái")
RESULT_HEADER = (
    "Mã học sinh", "Năm học", "Học kỳ", "Kết quả rèn luyện", "Kết quả học tập", "Nhận xét",
)  # fmt: skip
SCORED = (
    "Toán", "Ngữ văn", "Tiếng Anh", "Khoa học tự nhiên", "Lịch sử và Địa lí",
    "Giáo dục công dân", "Công nghệ", "Tin học",
)  # fmt: skip
COMMENTED = ("Giáo dục thể chất", "Nghệ thuật")
YEAR = "2025-2026"
#: Mobile prefixes (after the 0) the numbers are drawn from.
_PREFIXES = ("90", "91", "93", "94", "96", "97", "98", "86", "88", "35", "36", "37", "38", "70")
_FAMILIES = tuple(FAMILY)
_FAMILY_WEIGHTS = tuple(FAMILY.values())


@dataclass
class FamilyTables:
    """The five tables' rows (headers as DATA-FORMAT.md spells them)."""

    classes: list[list] = field(default_factory=list)
    students: list[list] = field(default_factory=list)
    marks: list[list] = field(default_factory=list)
    absences: list[list] = field(default_factory=list)
    results: list[list] = field(default_factory=list)

    def tables(self) -> list[tuple[str, Sequence[str], list[list]]]:
        return [
            ("lop", CLASS_HEADER, self.classes),
            ("hoc_sinh", STUDENT_HEADER, self.students),
            ("diem", MARK_HEADER, self.marks),
            ("chuyen_can", ABSENCE_HEADER, self.absences),
            ("ren_luyen", RESULT_HEADER, self.results),
        ]


def generate_families(
    schools: Sequence[str],
    students_per_school: int,
    *,
    marks: bool = True,
    seed: int = 14,
    class_size: int = 40,
    sibling_share: float = 0.05,
) -> FamilyTables:
    """THCS classes (khối 6–9), students with two parents each and, with ``marks``, a year
    of marks (8 scored subjects: 4 TX, GK, CK a term; 2 comment subjects), a few absences
    and term results."""
    rng = random.Random(seed)
    out = FamilyTables()
    space = range(len(_PREFIXES) * 10_000_000)
    phones = iter(rng.sample(space, 3 * len(schools) * students_per_school))
    for s, school in enumerate(schools):
        names = [f"{6 + k * 4 // max(1, _classes(students_per_school, class_size))}A{k + 1}"
                 for k in range(_classes(students_per_school, class_size))]  # fmt: skip
        for name in names:
            out.classes.append([school, YEAR, name, name.split("A")[0], ""])
        family: tuple[list, list] | None = None
        for n in range(students_per_school):
            code = f"{s:04}{n:05}"
            klass = names[n * len(names) // students_per_school]
            if family is not None and rng.random() < sibling_share:
                father, mother = family  # a younger sibling: the same parents
            else:
                surname = rng.choices(_FAMILIES, _FAMILY_WEIGHTS)[0]
                father = [_name(rng, surname, False), _phone(next(phones), rng)]
                mother = [_name(rng, rng.choices(_FAMILIES, _FAMILY_WEIGHTS)[0], True),
                          _phone(next(phones), rng)]  # fmt: skip
                family = (father, mother)
            female = rng.random() < 0.49
            child = _name(rng, father[0].split()[0], female)
            born = f"{rng.randint(1, 28):02}/{rng.randint(1, 12):02}/{2014 - int(klass[0]) + 6}"
            out.students.append(
                [code, child, born, "Nữ" if female else "Nam", school, klass,
                 *father, *mother, "", "", ""]
            )  # fmt: skip
            if marks:
                _records(rng, code, out)
    return out


def _classes(students: int, size: int) -> int:
    return max(4, -(-students // size))


def _name(rng: random.Random, surname: str, female: bool) -> str:
    middle = rng.choice(FEMALE_MIDDLE if female else MALE_MIDDLE)
    given = rng.choice(FEMALE_GIVEN if female else MALE_GIVEN)
    return f"{surname} {middle} {given}"


def _phone(n: int, rng: random.Random) -> str:
    national = f"{_PREFIXES[n // 10_000_000]}{n % 10_000_000:07}"
    form = rng.random()
    if form < 0.7:
        return f"0{national}"
    if form < 0.85:
        return f"0{national[:3]}.{national[3:6]}.{national[6:]}"
    return f"+84{national}"


def _records(rng: random.Random, code: str, out: FamilyTables) -> None:
    """A year of marks, two absences and three term results for one student."""
    level = rng.gauss(7.0, 1.2)
    for term in (1, 2):
        for subject in SCORED:
            for kind in ("TX", "TX", "TX", "TX", "GK", "CK"):
                mark = min(10.0, max(0.0, round(rng.gauss(level, 1.0) * 2) / 2))
                out.marks.append([code, YEAR, term, subject, kind, f"{mark:.1f}".replace(".", ",")])
        for subject in COMMENTED:
            for kind in ("TX", "GK", "CK"):
                out.marks.append(
                    [code, YEAR, term, subject, kind, "Đ" if rng.random() < 0.95 else "CĐ"]
                )
    for day in rng.sample(range(1, 28), 2):
        out.absences.append([code, f"{day:02}/10/2025", rng.choice(("", "Sáng", "Chiều")),
                             rng.choice(("P", "P", "K"))])  # fmt: skip
    grade = "Tốt" if level >= 8 else "Khá" if level >= 6.5 else "Đạt"
    for term in ("1", "2", "CN"):
        out.results.append([code, YEAR, term, "Tốt", grade, ""])


def write_families(tables: FamilyTables, folder: Path) -> list[Path]:
    """The tables as CSV files (UTF-8 with BOM) in ``folder``; their paths."""
    import csv

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, header, rows in tables.tables():
        path = folder / f"{name}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
        paths.append(path)
    return paths
