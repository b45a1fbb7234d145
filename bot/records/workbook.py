"""The export's rows as an XLSX workbook (openpyxl's write-only mode: rows stream to disk,
so 20,000 recipients cost seconds and little memory).

Sheets: "Văn bản đi-đến" (one row per directive) and "Người nhận" (one per directive and
recipient). Times are Excel date-times in Vietnam (Asia/Ho_Chi_Minh), shown DD/MM/YYYY
HH:MM; a cell with no time says why ("chưa đọc", "chưa rõ", …).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from bot.directives.when import VN
from bot.records.export import Counts, DirectiveRow, Export, RecipientRow

DIRECTIVES_SHEET = "Văn bản đi-đến"
RECIPIENTS_SHEET = "Người nhận"
TIME_FORMAT = "DD/MM/YYYY HH:MM"
DIRECTIVE_COLUMNS = (
    ("Mã", 9),
    ("Loại", 18),
    ("Người gửi", 24),
    ("Đơn vị gửi", 30),
    ("Thời gian gửi", 17),
    ("Đối tượng nhận", 40),
    ("Nội dung", 60),
    ("Số hiệu", 18),
    ("Chi tiết", 40),
    ("Trạng thái", 14),
    ("Khẩn", 6),
    ("Người nhận", 11),
    ("Đã đọc", 9),
    ("Chưa đọc", 9),
    ("Chưa rõ", 9),
    ("Chưa chuyển", 11),
    ("Tham dự", 9),
    ("Vắng", 9),
    ("Đã nộp", 9),
    ("Nộp muộn", 9),
)
RECIPIENT_COLUMNS = (
    ("Mã", 9),
    ("Mã người nhận", 14),
    ("Họ và tên", 24),
    ("Đơn vị", 30),
    ("Chuyển lúc", 17),
    ("Đọc lúc", 17),
    ("Trả lời thư mời", 14),
    ("Người dự thay", 22),
    ("Nộp báo cáo lúc", 17),
    ("Đúng hạn", 10),
    ("Nội dung báo cáo", 40),
    ("Tệp báo cáo", 40),
    ("Tệp đã lưu", 50),
)


def local(at: dt.datetime | None) -> dt.datetime | None:
    """An aware time as Excel keeps it: naive, in Vietnam, to the second."""
    return at.astimezone(VN).replace(tzinfo=None, microsecond=0) if at is not None else None


def directive_cells(row: DirectiveRow) -> list[Any]:
    c: Counts = row.counts
    return [
        row.code,
        row.kind,
        row.sender,
        row.sender_unit,
        local(row.sent_at),
        row.audience,
        row.text,
        row.number,
        row.details,
        row.status,
        "khẩn" if row.urgent else "",
        c.recipients,
        c.read,
        c.unread,
        c.unknown,
        c.undelivered,
        c.yes,
        c.no,
        c.submitted,
        c.late,
    ]


def recipient_cells(row: RecipientRow, missing: set[str] = frozenset()) -> list[Any]:
    """The row's cells; ``missing``: paths of files that could not be fetched."""
    on_time = "" if row.late is None else ("nộp muộn" if row.late else "đúng hạn")
    saved = [f.path + (" (không tải được)" if f.path in missing else "") for f in row.files]
    return [
        row.code,
        row.person_code,
        row.name,
        row.unit,
        local(row.delivered_at) or "chưa chuyển",
        local(row.read_at) or row.read_state,
        row.answer,
        row.deputy,
        local(row.submitted_at) or ("chưa nộp" if row.report else ""),
        on_time,
        row.report_text,
        "\n".join(f.name for f in row.files),
        "\n".join(saved),
    ]


def write(export: Export, path: Path, missing: set[str] = frozenset()) -> None:
    """Write the workbook (``missing``: file paths marked as not fetched)."""
    book = Workbook(write_only=True)
    directives = book.create_sheet(DIRECTIVES_SHEET)
    _header(directives, DIRECTIVE_COLUMNS)
    for row in export.directives:
        directives.append(_cells(directives, directive_cells(row)))
    recipients = book.create_sheet(RECIPIENTS_SHEET)
    _header(recipients, RECIPIENT_COLUMNS)
    for row in export.recipients:
        recipients.append(_cells(recipients, recipient_cells(row, missing)))
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def _header(sheet: WriteOnlyWorksheet, columns: tuple[tuple[str, int], ...]) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    for i, (_title, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    cells = []
    for title, _width in columns:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)


def _cells(sheet: WriteOnlyWorksheet, values: list[Any]) -> list[Any]:
    """Times as formatted date-time cells, empty text as no cell; anything else as it is."""
    out: list[Any] = []
    for value in values:
        if value == "":
            out.append(None)
        elif isinstance(value, dt.datetime):
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = TIME_FORMAT
            out.append(cell)
        else:
            out.append(value)
    return out
