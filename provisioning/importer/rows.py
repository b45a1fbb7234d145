"""Validate one row at a time: cells in, a clean record and the row's reports out (pure).

A rejected row yields no record. A row with a fixable problem (a bad phone number, an
unknown training level) yields a record and a report, so nothing valid is lost.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from provisioning import vocab
from provisioning.importer.report import Report
from provisioning.importer.sources import Table
from provisioning.mojibake import classify
from provisioning.phone import normalize_phone
from provisioning.text import compact, nfc
from provisioning.vocab import Level, Ownership, Position, TrainingLevel, UnitKind


@dataclass(slots=True)
class UnitRecord:
    row: int
    code: str
    name: str
    parent_code: str | None
    kind: UnitKind
    level: Level | None
    ownership: Ownership | None
    portal_url: str | None
    rss_url: str | None


@dataclass(slots=True)
class StaffRecord:
    row: int
    code: str
    name: str
    phone: str | None
    phone_raw: str | None
    phone_problem: str | None  # why a non-empty phone cell was unusable
    email: str | None
    unit_code: str
    position: Position
    training_level: TrainingLevel | None
    subject: str | None
    gender: str | None
    birth_date: dt.date | None


@dataclass(slots=True)
class FigureRecord:
    row: int
    unit_code: str
    school_year: str
    classes: int
    pupils: int


def cell_text(value: Any) -> str:
    """A cell as clean text: Excel's 912345678.0 becomes "912345678", dates dd/mm/yyyy.

    Strings arrive NFC-normalised from ``sources``; here only whitespace is tidied.
    """
    if value.__class__ is str:
        text = value.strip()
        if "  " in text or "\t" in text or "\n" in text or "\xa0" in text:
            text = nfc(text)
        return text
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return nfc(str(value))


#: Longest text each column may hold (the database's limits); codes and names beyond it
#: reject the row, optional columns are dropped with a report.
MAX_LENGTH = {
    "code": 64,
    "unit": 64,
    "parent": 64,
    "name": 255,
    "email": 255,
    "subject": 100,
    "phone": 100,
    "portal": 500,
    "rss": 500,
    "class": 64,
    "student": 64,
    "teacher": 64,
    "father_name": 255,
    "mother_name": 255,
    "guardian_name": 255,
    "father_phone": 100,
    "mother_phone": 100,
    "guardian_phone": 100,
}
_OPTIONAL = {
    "email",
    "subject",
    "phone",
    "portal",
    "rss",
    "teacher",
    "father_name",
    "mother_name",
    "guardian_name",
    "father_phone",
    "mother_phone",
    "guardian_phone",
}


def legacy_name(value: str) -> str:
    return (
        f'"{value}" có vẻ là chữ mã TCVN3/VNI cũ, không phải Unicode; '
        "hãy chuyển mã sang Unicode (ví dụ bằng Unikey) rồi nhập lại"
    )


class _Row:
    """Collects the reports of one row while its cells are read."""

    def __init__(self, table: Table, row: int, cells: dict[str, Any]) -> None:
        self.table, self.row, self.cells = table, row, cells
        self.texts = {field: cell_text(value) for field, value in cells.items()}
        self.reports: list[Report] = []
        for field, text in self.texts.items():
            limit = MAX_LENGTH.get(field)
            if limit is not None and len(text) > limit:
                what = f"{table.header(field)} dài {len(text)} ký tự, tối đa {limit}"
                if field in _OPTIONAL:
                    self.warn(field, f"{what}; đã bỏ qua")
                    self.texts[field] = ""
                    self.cells = {**self.cells, field: None}
                else:
                    self.reject(field, what)

    def text(self, field: str) -> str:
        return self.texts.get(field, "")

    def report(self, field: str, reason: str, *, rejected: bool) -> None:
        column = self.table.header(field) if field else ""
        self.reports.append(Report(self.table.source, self.row, column, reason, rejected))

    def reject(self, field: str, reason: str) -> None:
        self.report(field, reason, rejected=True)

    def warn(self, field: str, reason: str) -> None:
        self.report(field, reason, rejected=False)

    @property
    def rejected(self) -> bool:
        return any(r.rejected for r in self.reports)

    def required(self, field: str) -> str:
        value = self.text(field)
        if not value:
            self.reject(field, f"thiếu {self.table.header(field)}")
        return value

    def name(self, field: str) -> str:
        value = self.required(field)
        evidence = classify(value) if value else None
        if evidence == "legacy":
            self.reject(field, legacy_name(value))
        elif evidence == "foreign":  # the importer rejects it after all in a legacy file
            self.warn(
                field,
                f'"{value}" có chữ cái không có trong tiếng Việt; đã nhập như tên nước '
                "ngoài — nếu thật ra là chữ mã TCVN3/VNI cũ, hãy chuyển sang Unicode",
            )
        return value

    def vocab(self, field: str, kind: type, what: str, *, rejected: bool):
        raw = self.text(field)
        if not raw:
            return None
        member = vocab.parse(kind, raw)
        if member is None:
            accepted = ", ".join(vocab.spellings(kind))
            self.report(
                field,
                f'{what} "{raw}" không được nhận diện. Chấp nhận: {accepted}',
                rejected=rejected,
            )
        return member

    def url(self, field: str) -> str | None:
        raw = self.text(field)
        if not raw:
            return None
        candidate = raw if "://" in raw else f"https://{raw}"
        parts = urlsplit(candidate)
        if parts.scheme not in ("http", "https") or "." not in parts.netloc or " " in raw:
            self.warn(field, f'địa chỉ "{raw}" không hợp lệ, đã bỏ qua')
            return None
        return candidate


def parse_unit(
    table: Table, row: int, cells: dict[str, Any]
) -> tuple[UnitRecord | None, list[Report]]:
    r = _Row(table, row, cells)
    code = r.required("code")
    name = r.name("name")
    kind_raw = r.text("kind")
    kind = r.vocab("kind", UnitKind, "Loại đơn vị", rejected=True)
    if not kind_raw:
        r.reject("kind", f"thiếu {table.header('kind')}")
    level = r.vocab("level", Level, "Cấp học", rejected=False)
    ownership = r.vocab("ownership", Ownership, "Loại hình", rejected=False)
    if kind is UnitKind.SCHOOL:
        if not r.text("level"):
            r.warn("level", "trường chưa có Cấp học; trường sẽ không được tính trong thống kê")
        if not r.text("ownership"):
            r.warn(
                "ownership",
                "trường chưa có Loại hình; trường sẽ không được tính "
                "trong thống kê công lập / ngoài công lập",
            )
    portal, rss = r.url("portal"), r.url("rss")
    parent = r.text("parent") or None
    if parent is not None and parent == code:
        r.reject("parent", "đơn vị không thể là cấp trên của chính nó")
    if r.rejected:
        return None, r.reports
    return UnitRecord(row, code, name, parent, kind, level, ownership, portal, rss), r.reports


_GENDERS = {
    "nam": "male",
    "nu": "female",
    "male": "male",
    "female": "female",
    "m": "male",
    "f": "female",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def parse_staff(
    table: Table, row: int, cells: dict[str, Any]
) -> tuple[StaffRecord | None, list[Report]]:
    r = _Row(table, row, cells)
    code = r.required("code")
    name = r.name("name")
    unit_code = r.required("unit")
    position_raw = r.required("position")
    position = r.vocab("position", Position, "Chức vụ", rejected=True) if position_raw else None
    phone_raw = r.text("phone") or None
    phone = normalize_phone(cells.get("phone"))  # reported per person by the merge
    training = None
    if r.text("training"):
        training = r.vocab("training", TrainingLevel, "Trình độ đào tạo", rejected=False)
        if training is None:
            r.reports[-1] = Report(
                table.source,
                row,
                table.header("training"),
                r.reports[-1].reason + '; tính là "Khác"',
                False,
            )
            training = TrainingLevel.OTHER
    email = r.text("email") or None
    if email and not _EMAIL.match(email):
        r.warn("email", f'email "{email}" không hợp lệ, đã bỏ qua')
        email = None
    gender = None
    if r.text("gender"):
        gender = _GENDERS.get(compact(r.text("gender")))
        if gender is None:
            r.warn(
                "gender", f'giới tính "{r.text("gender")}" không hợp lệ (Nam hoặc Nữ), đã bỏ qua'
            )
    birth = _parse_date(cells.get("birth_date"))
    if birth is False:
        r.warn(
            "birth_date", f'ngày sinh "{r.text("birth_date")}" không hợp lệ (dd/mm/yyyy), đã bỏ qua'
        )
        birth = None
    if r.rejected or position is None:
        return None, r.reports
    record = StaffRecord(
        row,
        code,
        name,
        phone.e164,
        phone_raw,
        phone.problem,
        email,
        unit_code,
        position,
        training,
        r.text("subject") or None,
        gender,
        birth,
    )
    return record, r.reports


def _parse_date(value: Any) -> dt.date | bool | None:
    """A birth date from a cell; None when empty, False when unreadable or implausible."""
    date = read_date(value)
    if isinstance(date, dt.date) and not 1930 <= date.year <= dt.date.today().year - 14:
        return False
    return date


def read_date(value: Any) -> dt.date | bool | None:
    """A date from a cell (dd/mm/yyyy, ISO, an Excel date or serial number); None when
    empty, False when unreadable."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        date = value.date()
    elif isinstance(value, dt.date):
        date = value
    elif isinstance(value, (int, float)):
        # an Excel serial day number that reached a CSV
        try:
            date = dt.date(1899, 12, 30) + dt.timedelta(days=int(value))
        except OverflowError:
            return False
    else:
        text = str(value).strip()
        match = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", text)
        iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?", text)
        try:
            if match:
                date = dt.date(int(match[3]), int(match[2]), int(match[1]))
            elif iso:
                date = dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
            else:
                return False
        except ValueError:
            return False
    return date


_YEAR = re.compile(r"(\d{4})\s*[-–/]\s*(\d{4})")
_GROUPED = re.compile(r"\d{1,3}(?:[.,\s]\d{3})+")


def parse_figures(
    table: Table, row: int, cells: dict[str, Any]
) -> tuple[FigureRecord | None, list[Report]]:
    r = _Row(table, row, cells)
    unit_code = r.required("unit")
    year_raw = r.required("year")
    year = None
    if year_raw:
        m = _YEAR.fullmatch(year_raw)
        if not m or int(m[2]) != int(m[1]) + 1 or not 2000 <= int(m[1]) <= 2100:
            r.reject("year", f'năm học "{year_raw}" không hợp lệ (ví dụ: 2025-2026)')
        else:
            year = f"{m[1]}-{m[2]}"
    classes = _count(r, "classes")
    pupils = _count(r, "pupils")
    if r.rejected or year is None or classes is None or pupils is None:
        return None, r.reports
    return FigureRecord(row, unit_code, year, classes, pupils), r.reports


def _count(r: _Row, field: str) -> int | None:
    value = r.cells.get(field)
    text = r.text(field)
    if not text:
        r.reject(field, f"thiếu {r.table.header(field)}")
        return None
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float):
        number = int(value) if value.is_integer() else None
    elif text.lstrip("-").isdigit():
        number = int(text)
    elif _GROUPED.fullmatch(text):
        number = int(re.sub(r"\D", "", text))  # 17.350 — Vietnamese thousands separator
    if number is None or number < 0:
        r.reject(field, f'{r.table.header(field)} "{text}" phải là số nguyên không âm')
        return None
    return number
