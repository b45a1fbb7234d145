"""Validate one row of the families' tables (lop, hoc_sinh, diem, chuyen_can, ren_luyen).

Pure, like ``rows``: cells in, a clean record (or None when the row is rejected) and the
row's reports out. Whatever needs the directory (does the school, class, student exist?)
is checked by the merge.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any

from provisioning.importer.report import Report
from provisioning.importer.rows import _GENDERS, _YEAR, _Row, read_date
from provisioning.importer.sources import Table
from provisioning.phone import normalize_phone
from provisioning.text import compact

#: Khối of Mầm non, by every spelling schools use (compacted) → stored value.
PRESCHOOL_GRADES = {
    "nhatre": "nha_tre",
    "nt": "nha_tre",
    "mam": "mam",
    "maugiaobe": "mam",
    "mgbe": "mam",
    "choi": "choi",
    "maugiaonho": "choi",
    "mgnho": "choi",
    "la": "la",
    "maugiaolon": "la",
    "mglon": "la",
}
GRADE_LABEL = {"nha_tre": "Nhà trẻ", "mam": "Mầm", "choi": "Chồi", "la": "Lá"} | {
    str(n): str(n) for n in range(1, 13)
}
RELATIONS = (("father", "cha"), ("mother", "mẹ"), ("guardian", "người giám hộ"))
MARK_KINDS = {
    "tx": "TX",
    "thuongxuyen": "TX",
    "ddgtx": "TX",
    "gk": "GK",
    "giuaky": "GK",
    "ddggk": "GK",
    "ck": "CK",
    "cuoiky": "CK",
    "ddgck": "CK",
}
COMMENT_MARKS = {"d": True, "dat": True, "cd": False, "chuadat": False}
TERMS = {"1": 1, "hk1": 1, "hocky1": 1, "i": 1, "2": 2, "hk2": 2, "hocky2": 2, "ii": 2}
RESULT_TERMS = {**{k: str(v) for k, v in TERMS.items()}, "cn": "CN", "canam": "CN"}
SESSIONS = {"": "day", "cangay": "day", "sang": "morning", "s": "morning"} | {
    "chieu": "afternoon",
    "c": "afternoon",
}
STATUSES = {"p": True, "cophep": True, "nghicophep": True} | {
    "k": False,
    "kp": False,
    "khongphep": False,
    "nghikhongphep": False,
}
RESULTS = {"tot": "good", "kha": "fair", "dat": "pass", "chuadat": "fail"}
_MARK = re.compile(r"(\d{1,2})(?:[.,](\d+))?")
_GRADE = re.compile(r"(?:khoi|lop)?(\d{1,2})")
MAX_CLASS_NAME = 64
#: ``compact`` memoised: a marks file repeats a few dozen spellings over 100,000s of rows
key_of = functools.lru_cache(maxsize=65536)(compact)


@dataclass(slots=True)
class ClassRecord:
    row: int
    unit_code: str
    school_year: str
    name: str
    name_key: str
    grade: str
    teacher_code: str | None


@dataclass(slots=True)
class Guardian:
    """A parent named on a student's row, with a usable mobile number."""

    relation: str  # father, mother, guardian
    name: str | None
    phone: str
    column: str  # the phone column's header, for reports


@dataclass(slots=True)
class StudentRecord:
    row: int
    code: str
    name: str
    birth_date: dt.date | None
    gender: str | None
    unit_code: str
    class_name: str
    class_key: str
    guardians: list[Guardian]
    phone: str | None
    phone_raw: str | None  # kept only when the number could not be used


@dataclass(slots=True)
class MarkRecord:
    row: int
    student_code: str
    school_year: str
    term: int
    subject: str
    kind: str  # TX, GK, CK
    score: int | None  # tenths
    passed: bool | None


@dataclass(slots=True)
class AbsenceRecord:
    row: int
    student_code: str
    date: dt.date
    session: str  # day, morning, afternoon
    excused: bool


@dataclass(slots=True)
class TermResultRecord:
    row: int
    student_code: str
    school_year: str
    term: str  # "1", "2", "CN"
    conduct: str | None
    learning: str | None
    comment: str | None


def school_year(r: _Row, field: str = "year") -> str | None:
    """A required Năm học as "2025-2026"; None (and the row rejected) otherwise."""
    raw = r.required(field)
    if not raw:
        return None
    year = _school_year(raw)
    if year is None:
        r.reject(field, f'năm học "{raw}" không hợp lệ (ví dụ: 2025-2026)')
    return year


@functools.lru_cache(maxsize=1024)
def _school_year(raw: str) -> str | None:
    m = _YEAR.fullmatch(raw)
    if not m or int(m[2]) != int(m[1]) + 1 or not 2000 <= int(m[1]) <= 2100:
        return None
    return f"{m[1]}-{m[2]}"


def _lookup(r: _Row, field: str, values: dict[str, Any], accepted: str) -> Any:
    """The value ``field``'s text stands for in ``values``; rejects the row when unknown."""
    raw = r.text(field)
    key = key_of(raw)
    if key not in values:
        r.reject(field, f'{r.table.header(field)} "{raw}" không hợp lệ (chấp nhận: {accepted})')
        return None
    return values[key]


def parse_grade(raw: str) -> str | None:
    """Khối as stored ("1".."12", nha_tre, mam, choi, la), or None when unrecognised."""
    key = compact(raw)
    if key in PRESCHOOL_GRADES:
        return PRESCHOOL_GRADES[key]
    m = _GRADE.fullmatch(key)
    if m and 1 <= int(m[1]) <= 12:
        return str(int(m[1]))
    return None


def parse_class(
    table: Table, row: int, cells: dict[str, Any]
) -> tuple[ClassRecord | None, list[Report]]:
    r = _Row(table, row, cells)
    unit = r.required("unit")
    year = school_year(r)
    name = r.required("name")
    if len(name) > MAX_CLASS_NAME:
        r.reject("name", f"{table.header('name')} dài {len(name)} ký tự, tối đa {MAX_CLASS_NAME}")
    grade_raw = r.required("grade")
    grade = parse_grade(grade_raw) if grade_raw else None
    if grade_raw and grade is None:
        r.reject(
            "grade",
            f'khối "{grade_raw}" không hợp lệ (chấp nhận: 1 đến 12; '
            "Nhà trẻ, Mầm, Chồi, Lá cho Mầm non)",
        )
    if r.rejected or year is None or grade is None:
        return None, r.reports
    teacher = r.text("teacher") or None
    return ClassRecord(row, unit, year, name, compact(name), grade, teacher), r.reports


def parse_student(
    table: Table, row: int, cells: dict[str, Any]
) -> tuple[StudentRecord | None, list[Report]]:
    r = _Row(table, row, cells)
    code = r.required("code")
    name = r.name("name")
    unit = r.required("unit")
    class_name = r.required("class")
    gender = None
    if r.text("gender"):
        gender = _GENDERS.get(compact(r.text("gender")))
        if gender is None:
            r.warn(
                "gender", f'giới tính "{r.text("gender")}" không hợp lệ (Nam hoặc Nữ), đã bỏ qua'
            )
    birth = read_date(cells.get("birth_date"))
    if birth is False or (isinstance(birth, dt.date) and birth.year < 1900):
        r.warn("birth_date", f'ngày sinh "{r.text("birth_date")}" không hợp lệ, đã bỏ qua')
        birth = None
    elif isinstance(birth, dt.date) and birth > dt.date.today():
        r.warn("birth_date", f'ngày sinh "{r.text("birth_date")}" ở tương lai, đã bỏ qua')
        birth = None
    guardians = _guardians(r)
    phone, phone_raw = _own_phone(r, guardians)
    if r.rejected:
        return None, r.reports
    record = StudentRecord(
        row,
        code,
        name,
        birth if isinstance(birth, dt.date) else None,
        gender,
        unit,
        class_name,
        compact(class_name),
        guardians,
        phone,
        phone_raw,
    )
    return record, r.reports


def _guardians(r: _Row) -> list[Guardian]:
    """The parents of a row with a usable number (one per number); others reported."""
    guardians: list[Guardian] = []
    for relation, _ in RELATIONS:
        name = r.text(f"{relation}_name") or None
        phone = normalize_phone(r.cells.get(f"{relation}_phone"))
        if phone.problem:
            r.warn(
                f"{relation}_phone",
                f'{phone.problem}: "{r.text(f"{relation}_phone")}"; phụ huynh này chưa được '
                "liên kết với học sinh (chưa đăng nhập được) cho đến khi sửa",
            )
        if phone.e164 and all(g.phone != phone.e164 for g in guardians):
            header = r.table.header(f"{relation}_phone")
            guardians.append(Guardian(relation, name, phone.e164, header))
    if not guardians and any(f"{rel}_phone" in r.table.headers for rel, _ in RELATIONS):
        r.warn(
            "",
            "học sinh chưa có số điện thoại phụ huynh nào dùng được: "
            "chưa phụ huynh nào theo dõi được em",
        )
    return guardians


def _own_phone(r: _Row, guardians: list[Guardian]) -> tuple[str | None, str | None]:
    """The student's own mobile (reported when unusable or a parent's number)."""
    raw = r.text("phone")
    phone = normalize_phone(r.cells.get("phone"))
    if phone.problem:
        r.warn(
            "phone", f'{phone.problem}: "{raw}"; học sinh chưa có tài khoản riêng cho đến khi sửa'
        )
        return None, raw
    for guardian in guardians:
        if guardian.phone == phone.e164:
            r.warn(
                "phone",
                f"trùng {guardian.column}: số {phone.e164} là tài khoản của phụ huynh, "
                "học sinh chưa có tài khoản riêng",
            )
            return None, raw
    return phone.e164, None


def parse_mark(
    table: Table, row: int, cells: dict[str, Any]
) -> tuple[MarkRecord | None, list[Report]]:
    r = _Row(table, row, cells)
    student = r.required("student")
    year = school_year(r)
    term = _lookup(r, "term", TERMS, "1, 2") if r.required("term") else None
    subject = r.required("subject")
    kind = _lookup(r, "kind", MARK_KINDS, "TX, GK, CK") if r.required("kind") else None
    score, passed = _mark_value(r) if r.required("value") else (None, None)
    if r.rejected or year is None:
        return None, r.reports
    return MarkRecord(row, student, year, term, subject, kind, score, passed), r.reports


def _mark_value(r: _Row) -> tuple[int | None, bool | None]:
    """A mark as tenths (8,5 → 85), or Đ/CĐ as True/False; the row rejected otherwise."""
    raw = r.text("value")
    score, passed, problem = read_mark(raw)
    if problem is not None:
        r.reject("value", problem)
    return score, passed


@functools.lru_cache(maxsize=4096)
def read_mark(raw: str) -> tuple[int | None, bool | None, str | None]:
    """(tenths, None, None) for a score, (None, passed, None) for Đ/CĐ, else a reason."""
    key = compact(raw)
    if key in COMMENT_MARKS:
        return None, COMMENT_MARKS[key], None
    m = _MARK.fullmatch(raw.replace(" ", ""))
    if m is None:
        return None, None, f'điểm "{raw}" không hợp lệ (số từ 0 đến 10, hoặc Đ / CĐ)'
    decimals = (m[2] or "").rstrip("0")  # 8,50 is 8,5
    if len(decimals) > 1:
        return None, None, f'điểm "{raw}" có quá một chữ số thập phân'
    tenths = int(m[1]) * 10 + int(decimals or 0)
    if tenths > 100:
        return None, None, f'điểm "{raw}" ngoài khoảng 0 đến 10'
    return tenths, None, None


def parse_absence(
    table: Table, row: int, cells: dict[str, Any]
) -> tuple[AbsenceRecord | None, list[Report]]:
    r = _Row(table, row, cells)
    student = r.required("student")
    date = read_date(cells.get("date")) if r.required("date") else None
    if date is False or (isinstance(date, dt.date) and not 2000 <= date.year <= 2100):
        r.reject("date", f'ngày "{r.text("date")}" không hợp lệ (dd/mm/yyyy)')
    session = _lookup(r, "session", SESSIONS, "Sáng, Chiều, hoặc để trống")
    status = _lookup(r, "status", STATUSES, "P, K") if r.required("status") else None
    if r.rejected or not isinstance(date, dt.date):
        return None, r.reports
    return AbsenceRecord(row, student, date, session, status), r.reports


def parse_term_result(
    table: Table, row: int, cells: dict[str, Any]
) -> tuple[TermResultRecord | None, list[Report]]:
    r = _Row(table, row, cells)
    student = r.required("student")
    year = school_year(r)
    term = _lookup(r, "term", RESULT_TERMS, "1, 2, CN") if r.required("term") else None
    accepted = "Tốt, Khá, Đạt, Chưa đạt"
    conduct = _lookup(r, "conduct", RESULTS, accepted) if r.text("conduct") else None
    learning = _lookup(r, "learning", RESULTS, accepted) if r.text("learning") else None
    comment = r.text("comment") or None
    if r.rejected or year is None:
        return None, r.reports
    return TermResultRecord(row, student, year, term, conduct, learning, comment), r.reports
