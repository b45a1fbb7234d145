"""Find the directory's tables in CSV files and XLSX workbooks and map their headers.

A table is recognised by its file or sheet name ("don_vi.csv", sheet "Đơn vị") or, failing
that, by its headers. Header names are matched regardless of accents, case, spacing and
Unicode normalisation; unknown columns are ignored and column order is free.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from provisioning.importer.report import UnusableInput
from provisioning.text import compact


class TableKind(StrEnum):
    UNITS = "units"
    STAFF = "staff"
    FIGURES = "figures"
    CLASSES = "classes"
    STUDENTS = "students"
    MARKS = "marks"
    ATTENDANCE = "attendance"
    TERM_RESULTS = "term_results"


#: The tables of students, parents and learning records, in the order they are merged.
FAMILY_KINDS = (
    TableKind.CLASSES,
    TableKind.STUDENTS,
    TableKind.MARKS,
    TableKind.ATTENDANCE,
    TableKind.TERM_RESULTS,
)


TABLE_LABEL = {
    TableKind.UNITS: "Đơn vị",
    TableKind.STAFF: "Nhân sự",
    TableKind.FIGURES: "Thống kê",
    TableKind.CLASSES: "Lớp",
    TableKind.STUDENTS: "Học sinh",
    TableKind.MARKS: "Điểm",
    TableKind.ATTENDANCE: "Chuyên cần",
    TableKind.TERM_RESULTS: "Rèn luyện",
}

_TABLE_NAMES = {
    TableKind.UNITS: {"donvi", "danhmucdonvi", "units"},
    TableKind.STAFF: {"nhansu", "canbo", "danhsachnhansu", "staff"},
    TableKind.FIGURES: {"thongke", "solieu", "figures"},
    # attendance before marks: "diemdanh" (roll call) starts like "diem"
    TableKind.ATTENDANCE: {"chuyencan", "diemdanh", "attendance"},
    TableKind.TERM_RESULTS: {"renluyen", "ketquarenluyen", "termresults"},
    TableKind.STUDENTS: {"hocsinh", "danhsachhocsinh", "students"},
    TableKind.MARKS: {"diem", "bangdiem", "marks"},
    TableKind.CLASSES: {"lop", "danhsachlop", "classes"},
}


@dataclass(frozen=True)
class Column:
    """A column of a table: its field name, its header as documented, other accepted headers."""

    field: str
    header: str
    required: bool = False
    aliases: tuple[str, ...] = ()


COLUMNS: dict[TableKind, tuple[Column, ...]] = {
    TableKind.UNITS: (
        Column("code", "Mã đơn vị", True),
        Column("name", "Tên đơn vị", True),
        Column("parent", "Mã đơn vị cấp trên", aliases=("Mã cấp trên", "Đơn vị cấp trên")),
        Column("kind", "Loại đơn vị", True),
        Column("level", "Cấp học", aliases=("Khối",)),
        Column("ownership", "Loại hình"),
        Column("portal", "Cổng thông tin", aliases=("Cổng thông tin điện tử", "Website")),
        Column("rss", "RSS", aliases=("Nguồn tin RSS", "RSS feed", "Atom")),
    ),
    TableKind.STAFF: (
        Column("code", "Mã định danh", True, aliases=("Mã cán bộ", "Mã nhân sự")),
        Column("name", "Họ và tên", True, aliases=("Họ tên",)),
        Column("phone", "Số điện thoại", True, aliases=("SĐT", "Điện thoại", "Số di động")),
        Column("email", "Email", aliases=("Thư điện tử", "E-mail")),
        Column("unit", "Mã đơn vị", True),
        Column("position", "Chức vụ", True),
        Column("training", "Trình độ đào tạo", aliases=("Trình độ", "Trình độ chuyên môn")),
        Column("subject", "Môn dạy", aliases=("Môn giảng dạy",)),
        Column("gender", "Giới tính"),
        Column("birth_date", "Ngày sinh"),
    ),
    TableKind.FIGURES: (
        Column("unit", "Mã đơn vị", True),
        Column("year", "Năm học", True),
        Column("classes", "Số lớp", True, aliases=("Số nhóm/lớp", "Số nhóm lớp")),
        Column("pupils", "Số học sinh", True, aliases=("Số trẻ", "Số học sinh/trẻ")),
    ),
    TableKind.CLASSES: (
        Column("unit", "Mã đơn vị", True, aliases=("Mã trường",)),
        Column("year", "Năm học", True),
        Column("name", "Tên lớp", True, aliases=("Lớp", "Tên nhóm/lớp", "Nhóm/lớp")),
        Column("grade", "Khối", True, aliases=("Khối lớp", "Độ tuổi")),
        Column(
            "teacher",
            "GVCN",
            aliases=("Giáo viên chủ nhiệm", "Mã GVCN", "Mã định danh GVCN"),
        ),
    ),
    TableKind.STUDENTS: (
        Column("code", "Mã học sinh", True, aliases=("Mã HS", "Mã định danh học sinh")),
        Column("name", "Họ và tên", True, aliases=("Họ tên", "Họ tên học sinh")),
        Column("birth_date", "Ngày sinh"),
        Column("gender", "Giới tính"),
        Column("unit", "Mã đơn vị", True, aliases=("Mã trường",)),
        Column("class", "Lớp", True, aliases=("Tên lớp",)),
        Column("father_name", "Họ tên cha", aliases=("Họ và tên cha", "Tên cha")),
        Column("father_phone", "SĐT cha", aliases=("Số điện thoại cha", "Điện thoại cha")),
        Column("mother_name", "Họ tên mẹ", aliases=("Họ và tên mẹ", "Tên mẹ")),
        Column("mother_phone", "SĐT mẹ", aliases=("Số điện thoại mẹ", "Điện thoại mẹ")),
        Column(
            "guardian_name",
            "Họ tên người giám hộ",
            aliases=("Họ và tên người giám hộ", "Người giám hộ"),
        ),
        Column(
            "guardian_phone",
            "SĐT người giám hộ",
            aliases=("Số điện thoại người giám hộ", "Điện thoại người giám hộ"),
        ),
        Column("phone", "SĐT học sinh", aliases=("Số điện thoại học sinh",)),
    ),
    TableKind.MARKS: (
        Column("student", "Mã học sinh", True, aliases=("Mã HS",)),
        Column("year", "Năm học", True),
        Column("term", "Học kỳ", True, aliases=("HK",)),
        Column("subject", "Môn", True, aliases=("Môn học",)),
        Column("kind", "Loại", True, aliases=("Loại điểm",)),
        Column("value", "Điểm", True, aliases=("Điểm số",)),
    ),
    TableKind.ATTENDANCE: (
        Column("student", "Mã học sinh", True, aliases=("Mã HS",)),
        Column("date", "Ngày", True, aliases=("Ngày nghỉ",)),
        Column("session", "Buổi"),
        Column("status", "Trạng thái", True, aliases=("Phép",)),
    ),
    TableKind.TERM_RESULTS: (
        Column("student", "Mã học sinh", True, aliases=("Mã HS",)),
        Column("year", "Năm học", True),
        Column("term", "Học kỳ", True, aliases=("HK",)),
        Column("conduct", "Kết quả rèn luyện", aliases=("Rèn luyện", "Hạnh kiểm")),
        Column("learning", "Kết quả học tập", aliases=("Học tập", "Học lực")),
        Column("comment", "Nhận xét", aliases=("Nhận xét của GVCN",)),
    ),
}

_HEADER_INDEX: dict[TableKind, dict[str, Column]] = {
    kind: {compact(name): col for col in cols for name in (col.header, *col.aliases)}
    for kind, cols in COLUMNS.items()
}

#: A header that only one table has, used when the file or sheet name says nothing.
_SIGNATURE = {
    "tenlop": TableKind.CLASSES,
    "trangthai": TableKind.ATTENDANCE,
    "ketquarenluyen": TableKind.TERM_RESULTS,
    "diem": TableKind.MARKS,
    "mahocsinh": TableKind.STUDENTS,
    "madinhdanh": TableKind.STAFF,
    "namhoc": TableKind.FIGURES,
    "tendonvi": TableKind.UNITS,
}


@dataclass
class Table:
    """One table found in the input, with its rows as ``(row number, {field: cell})``."""

    kind: TableKind
    source: str
    headers: dict[str, str]  # field -> header as written in the file
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def header(self, field_name: str) -> str:
        """The column's header as the file spells it (for reports), else as documented."""
        if field_name in self.headers:
            return self.headers[field_name]
        return next(c.header for c in COLUMNS[self.kind] if c.field == field_name)


def read_tables(paths: list[Path]) -> list[Table]:
    """Every table in ``paths`` (files or folders holding them). Raises UnusableInput."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.iterdir()
                if p.suffix.lower() in (".csv", ".xlsx") and not p.name.startswith(("~$", "."))
            )
            if not found:
                raise UnusableInput(f"{path}: thư mục không có tệp .csv hoặc .xlsx nào")
            files.extend(found)
        elif not path.exists():
            raise UnusableInput(f"{path}: không tìm thấy tệp")
        else:
            files.append(path)
    tables: list[Table] = []
    for file in files:
        suffix = file.suffix.lower()
        if suffix == ".csv":
            tables.append(_read_csv(file))
        elif suffix == ".xlsx":
            tables.extend(_read_xlsx(file))
        else:
            raise UnusableInput(f"{file}: chỉ nhận tệp .csv (UTF-8) hoặc .xlsx")
    seen: dict[TableKind, str] = {}
    for table in tables:
        if table.kind in seen:
            raise UnusableInput(
                f"{table.source}: bảng {TABLE_LABEL[table.kind]} đã có trong {seen[table.kind]}; "
                "mỗi lần nhập chỉ nhận một bảng mỗi loại"
            )
        seen[table.kind] = table.source
    return tables


def _kind_of(name: str, headers: list[str], source: str) -> TableKind:
    key = compact(name)
    for kind, names in _TABLE_NAMES.items():
        if key in names or any(key.startswith(n) for n in names):
            return kind
    compacted = {compact(h) for h in headers}
    for header, kind in _SIGNATURE.items():
        if header in compacted:
            return kind
    raise UnusableInput(
        f"{source}: không nhận ra bảng (tên tệp/trang tính nên là don_vi, nhan_su, thong_ke, "
        "lop, hoc_sinh, diem, chuyen_can hoặc ren_luyen, hoặc có cột Mã định danh / Năm học / "
        "Tên đơn vị / Tên lớp / Mã học sinh)"
    )


def _map_headers(kind: TableKind, headers: list[Any], source: str) -> dict[str, int]:
    index = _HEADER_INDEX[kind]
    mapping: dict[str, int] = {}
    written: dict[str, str] = {}
    for position, header in enumerate(headers):
        if header is None:
            continue
        col = index.get(compact(str(header)))
        if col is None:
            continue
        if col.field in mapping:
            raise UnusableInput(
                f'{source}: cột "{col.header}" xuất hiện hai lần '
                f'("{written[col.field]}" và "{header}")'
            )
        mapping[col.field] = position
        written[col.field] = str(header).strip()
    missing = [c.header for c in COLUMNS[kind] if c.required and c.field not in mapping]
    if missing:
        raise UnusableInput(
            f"{source}: thiếu cột bắt buộc {', '.join(repr(m) for m in missing)} "
            f"của bảng {TABLE_LABEL[kind]}"
        )
    return mapping


def _build(kind: TableKind, source: str, headers: list[Any], rows: Iterator[tuple[int, list]]):
    mapping = _map_headers(kind, headers, source)
    table = Table(kind, source, {f: str(headers[i]).strip() for f, i in mapping.items()})
    for row_no, cells in rows:
        if not any(c not in (None, "") and str(c).strip() for c in cells):
            continue  # blank line
        table.rows.append(
            (row_no, {f: cells[i] if i < len(cells) else None for f, i in mapping.items()})
        )
    return table


def _read_csv(path: Path) -> Table:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnusableInput(
            f"{path.name}: tệp không phải UTF-8 (byte {exc.start}); "
            'trong Excel hãy lưu bằng "CSV UTF-8 (Comma delimited)"'
        ) from None
    text = unicodedata.normalize("NFC", text)  # once for the whole file, not per cell
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headers = next(reader)
    except StopIteration:
        raise UnusableInput(f"{path.name}: tệp rỗng") from None
    kind = _kind_of(path.stem, headers, path.name)
    # rows are numbered as Excel shows them (header = 1), the same for CSV and XLSX
    try:
        return _build(kind, path.name, headers, enumerate(reader, start=2))
    except csv.Error as exc:
        raise UnusableInput(f"{path.name}: CSV hỏng gần dòng {reader.line_num}: {exc}") from None


def _read_xlsx(path: Path) -> list[Table]:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise UnusableInput(f"{path.name}: không mở được bảng tính XLSX ({exc})") from None
    tables = []
    try:
        for sheet in book.worksheets:
            values = sheet.iter_rows(values_only=True)
            headers = next(values, None)
            if headers is None or not any(h not in (None, "") for h in headers):
                continue  # an empty sheet (notes, instructions) is not a table
            source = f"{path.name}[{sheet.title}]"
            try:
                kind = _kind_of(sheet.title, [str(h) for h in headers if h is not None], source)
            except UnusableInput:
                continue  # a sheet that is none of ours (a cover page, a pivot table)
            numbered = (
                (n, [unicodedata.normalize("NFC", c) if isinstance(c, str) else c for c in cells])
                for n, cells in enumerate(values, start=2)
            )
            tables.append(_build(kind, source, list(headers), numbered))
    finally:
        book.close()
    if not tables:
        raise UnusableInput(
            f"{path.name}: không có trang tính nào của danh bạ "
            f"({', '.join(repr(label) for label in TABLE_LABEL.values())})"
        )
    return tables
