"""The lịch công tác an office keeps in Excel (.xlsx), read into one week's entries.

The first sheet that has a header row (within its first 15 rows) is read. Headers are
matched without accents or case (docs/lich-cong-tac.md lists them):

- **Thứ/Ngày** (required; also "Thứ", "Ngày", "Thứ, ngày", "Ngày tháng"): "Thứ Hai",
  "T2", "07/12/2026", "Thứ Hai 07/12", or a date cell. A day spans the rows below it
  while their day cell is empty — merged cells work the same;
- **Giờ** (also "Thời gian", "Buổi"): "07:30", "7h30", "14:00 - 16:30", "Sáng", a time cell;
- **Nội dung** (required; also "Nội dung công việc", "Nội dung công tác", "Công việc");
- **Địa điểm** (also "Địa điểm tổ chức");
- **Thành phần/Chủ trì** (also "Thành phần", "Chủ trì", "Thành phần tham dự",
  "Người chủ trì", "Lãnh đạo chủ trì"; several such columns are joined).

Other columns (STT, Ghi chú…) are ignored. The week is the one given, else that of the
first date in the file; every day must fall in it. Any problem is reported by sheet, row
and column (every one of them, up to 20), and nothing of the file is kept.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from bot.commands import CommandError
from bot.schedule.days import contains_date, monday, parse_day, parse_time, week_label
from bot.schedule.entries import Entry, clean, ordered
from provisioning.text import compact, nfc

HEADER_ROWS = 15
MAX_PROBLEMS = 20
DAY, TIME, CONTENT, PLACE, ATTENDEES = "day", "time", "content", "place", "attendees"
LABELS = {
    DAY: "Thứ/Ngày",
    TIME: "Giờ",
    CONTENT: "Nội dung",
    PLACE: "Địa điểm",
    ATTENDEES: "Thành phần/Chủ trì",
}
#: the compacted header that names a column exactly, or starts its name
_EXACT = {
    DAY: ("thu", "ngay", "thungay", "ngaythang", "thungaythang"),
    TIME: ("gio", "thoigian", "buoi", "giobatdau"),
    CONTENT: ("noidung", "congviec", "noidungcongviec", "noidungcongtac"),
    PLACE: ("diadiem", "noitochuc"),
    ATTENDEES: ("thanhphan", "chutri", "nguoichutri", "lanhdaochutri", "thanhphanthamdu"),
}
_PREFIX = {
    DAY: ("thungay", "ngaythang"),
    TIME: ("thoigian", "gio"),
    CONTENT: ("noidung",),
    PLACE: ("diadiem",),
    ATTENDEES: ("thanhphan", "chutri", "nguoichutri", "lanhdao"),
}
COLUMNS_HINT = (
    "Các cột: Thứ/Ngày và Nội dung (bắt buộc); Giờ, Địa điểm, Thành phần/Chủ trì (nếu có)."
)


class ScheduleFileError(Exception):
    """What is wrong with the file: one Vietnamese sentence per problem."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"… và {len(problems) - MAX_PROBLEMS} lỗi khác.")
        super().__init__("\n".join(shown))
        self.problems = shown


@dataclass
class ImportedWeek:
    week_start: dt.date
    entries: list[Entry]
    sheet: str


@dataclass
class _Sheet:
    """A sheet's header: the row it is on and the columns of each role."""

    ws: Worksheet
    row: int
    columns: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # (column, header)


def role_of(header: str) -> str | None:
    """The role a header names ("Thứ/Ngày" → day), or None for other columns."""
    key = compact(header)
    if not key:
        return None
    for role, names in _EXACT.items():
        if key in names:
            return role
    for role, starts in _PREFIX.items():
        if key.startswith(starts):
            return role
    return None


def read_schedule(path: Path, *, week: dt.date | None, today: dt.date) -> ImportedWeek:
    """The week ``path`` holds (``week``: any day of it, when given)."""
    try:
        book = load_workbook(path, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ScheduleFileError(
            [
                f"Không đọc được tệp {path.name}: đây không phải tệp Excel .xlsx (hãy mở bằng "
                "Excel và lưu lại dưới dạng .xlsx)."
            ]
        ) from None
    try:
        sheet = _find_sheet(book.worksheets, path.name)
        return _read(sheet, path.name, week, today)
    finally:
        book.close()


def _find_sheet(sheets: list[Worksheet], name: str) -> _Sheet:
    """The first sheet with a header row naming the day and the content columns."""
    problems = []
    for ws in sheets:
        if ws.max_row <= 1 and ws.max_column <= 1 and ws.cell(1, 1).value is None:
            continue  # an empty sheet
        best: _Sheet | None = None
        for row in range(1, min(ws.max_row, HEADER_ROWS) + 1):
            found = _Sheet(ws, row)
            for col in range(1, ws.max_column + 1):
                header = _text(ws.cell(row, col).value)
                role = role_of(header)
                if role is not None:
                    found.columns.setdefault(role, []).append((col, header))
            if DAY in found.columns and CONTENT in found.columns:
                return found
            if best is None or len(found.columns) > len(best.columns):
                best = found
        problems.append(_missing(ws.title, best))
    if not problems:
        raise ScheduleFileError([f"Tệp {name} trống: không trang tính nào có dữ liệu."])
    raise ScheduleFileError(problems)


def _missing(title: str, best: _Sheet | None) -> str:
    if best is None or not best.columns:
        return (
            f"Trang tính '{title}': không tìm thấy dòng tiêu đề có cột Thứ/Ngày và Nội dung "
            f"trong {HEADER_ROWS} dòng đầu. {COLUMNS_HINT}"
        )
    absent = [LABELS[r] for r in (DAY, CONTENT) if r not in best.columns]
    names = " và ".join(f"'{a}'" for a in absent)
    return f"Trang tính '{title}', dòng {best.row}: thiếu cột {names}. {COLUMNS_HINT}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return nfc(str(value))


def _merged_values(ws: Worksheet, after: int) -> dict[tuple[int, int], Any]:
    """(row, column) → the value of the merged range it lies in (below the header), for
    every row of the range in its first column."""
    filled: dict[tuple[int, int], Any] = {}
    for merged in ws.merged_cells.ranges:
        if merged.max_row <= after:
            continue
        value = ws.cell(merged.min_row, merged.min_col).value
        for row in range(max(merged.min_row, after + 1), merged.max_row + 1):
            filled[(row, merged.min_col)] = value
    return filled


def _read(sheet: _Sheet, name: str, week: dt.date | None, today: dt.date) -> ImportedWeek:
    ws = sheet.ws
    rows = _rows(sheet)
    if not rows:
        raise ScheduleFileError(
            [f"Tệp {name}, trang tính '{ws.title}': không có mục lịch nào dưới dòng tiêu đề."]
        )
    start = monday(week) if week is not None else _first_week(sheet, rows, today)
    if start is None:
        raise ScheduleFileError(
            [
                f"Tệp {name}, trang tính '{ws.title}': cột Thứ/Ngày không ghi ngày cụ thể nào; "
                "hãy ghi ngày (ví dụ Thứ Hai 07/12/2026) hoặc chỉ tuần bằng --tuan dd/mm/yyyy."
            ]
        )
    entries, problems = _entries(sheet, rows, start)
    if problems:
        raise ScheduleFileError(problems)
    if not entries:
        raise ScheduleFileError(
            [f"Tệp {name}, trang tính '{ws.title}': không có mục lịch nào có nội dung."]
        )
    return ImportedWeek(start, ordered(entries), ws.title)


def _rows(sheet: _Sheet) -> list[tuple[int, dict[str, list[Any]]]]:
    """The non-empty rows below the header: row number → each role's cell values."""
    ws, merged = sheet.ws, _merged_values(sheet.ws, sheet.row)
    found = []
    for row in range(sheet.row + 1, ws.max_row + 1):
        values = {
            role: [merged.get((row, col), ws.cell(row, col).value) for col, _ in columns]
            for role, columns in sheet.columns.items()
        }
        if any(_text(v) for cells in values.values() for v in cells):
            found.append((row, values))
    return found


def _day_text(cells: list[Any]) -> str | dt.date:
    """A day column's value: a date cell as a date, else the texts joined."""
    for value in cells:
        if isinstance(value, dt.datetime | dt.date):
            return value.date() if isinstance(value, dt.datetime) else value
    return " ".join(t for t in map(_text, cells) if t)


def _first_week(sheet: _Sheet, rows: list[tuple[int, dict[str, list[Any]]]], today: dt.date):
    """The Monday of the first day written as a date (when no week was given); a wrong
    date met before any right one is the file's problem."""
    wrong = None
    for row, values in rows:
        day = _day_text(values.get(DAY, []))
        if isinstance(day, dt.date):
            return monday(day)
        if day and contains_date(day):
            try:
                return monday(parse_day(day, today))
            except CommandError as exc:
                wrong = wrong or f"{_where(sheet, row)(DAY)}: {exc}"
    if wrong:
        raise ScheduleFileError([wrong])
    return None


def _day(value: str | dt.date, start: dt.date) -> dt.date:
    """The day a cell names, which must fall in the week from ``start``."""
    if isinstance(value, dt.date):
        day = value
    else:  # a date without a year: the one nearest the week
        day = parse_day(value, start + dt.timedelta(days=3), week=start)
    if not start <= day <= start + dt.timedelta(days=6):
        raise CommandError(
            f"ngày {day:%d/%m/%Y} không thuộc tuần {week_label(start)}; hãy sửa ngày, hoặc "
            "chỉ đúng tuần bằng --tuan dd/mm/yyyy."
        )
    return day


def _time_text(cells: list[Any]) -> str:
    """A time column's value as text: time cells as "07:30", texts as they are."""
    parts = []
    for value in cells:
        if isinstance(value, dt.datetime):
            value = value.time()
        elif isinstance(value, float) and 0 <= value < 1:  # a fraction of a day
            minutes = round(value * 24 * 60)
            value = dt.time(minutes // 60 % 24, minutes % 60)
        parts.append(f"{value:%H:%M}" if isinstance(value, dt.time) else _text(value))
    return " ".join(p for p in parts if p)


def _joined(sheet: _Sheet, role: str, cells: list[Any]) -> str:
    """A role's columns as one text ("Chủ trì: … · Thành phần: …" for several)."""
    texts = [(header, _text(v)) for (_, header), v in zip(sheet.columns[role], cells, strict=True)]
    texts = [(h, t) for h, t in texts if t]
    if len(texts) == 1:
        return texts[0][1]
    return " · ".join(f"{h}: {t}" for h, t in texts)


def _entries(
    sheet: _Sheet, rows: list[tuple[int, dict[str, list[Any]]]], start: dt.date
) -> tuple[list[Entry], list[str]]:
    """Each row's entry, and every problem found (by sheet, row and column)."""
    entries: list[Entry] = []
    problems: list[str] = []
    day: dt.date | None = None
    bad_day = False  # the day above was wrong: its rows are not reported again
    for row, values in rows:
        where = _where(sheet, row)
        raw_day = _day_text(values[DAY])
        if raw_day:
            try:
                day, bad_day = _day(raw_day, start), False
            except CommandError as exc:
                problems.append(f"{where(DAY)}: {exc}")
                day, bad_day = None, True
                continue
        text = {r: _joined(sheet, r, values[r]) for r in (CONTENT, PLACE, ATTENDEES) if r in values}
        time = _time_text(values.get(TIME, []))
        if not text.get(CONTENT):
            if time or text.get(PLACE) or text.get(ATTENDEES):
                problems.append(f"{where(CONTENT)}: trống; hãy ghi nội dung công việc.")
            continue  # a row with only the day: the heading of the rows below it
        if day is None:
            if not bad_day:
                problems.append(f"{where(DAY)}: trống; hãy ghi thứ hoặc ngày của mục này.")
            continue
        try:
            entries.append(_entry(sheet, row, day, time, text))
        except CommandError as exc:
            problems.append(str(exc))
    return entries, problems


def _where(sheet: _Sheet, row: int):
    """``where(role)``: "Trang tính 'X', dòng 7, cột 'Giờ'" for that role's column."""

    def where(role: str) -> str:
        columns = sheet.columns.get(role)
        header = columns[0][1] if columns else LABELS[role]
        return f"Trang tính '{sheet.ws.title}', dòng {row}, cột '{header}'"

    return where


def _entry(sheet: _Sheet, row: int, day: dt.date, time: str, text: dict[str, str]) -> Entry:
    where = _where(sheet, row)
    fields = {}
    for role, label in ((CONTENT, "Nội dung"), (PLACE, "Địa điểm"), (ATTENDEES, "Thành phần")):
        try:
            fields[role] = clean(text.get(role, ""), label)
        except CommandError as exc:
            raise CommandError(f"{where(role)}: {exc}") from None
    try:
        shown_time = parse_time(time)
    except CommandError as exc:
        raise CommandError(f"{where(TIME)}: {exc}") from None
    return Entry(day, fields[CONTENT], shown_time, fields[PLACE], fields[ATTENDEES])
