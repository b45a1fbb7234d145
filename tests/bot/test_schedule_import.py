"""The lịch công tác an office keeps in Excel: read (headers, merged day cells, time
cells) and every bad input reported by sheet, row and column with nothing saved; and
``dieuhanh lich import`` end to end on a database."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from bot.db.schedule import WorkSchedule
from bot.schedule.entries import Entry
from bot.schedule.xlsx import ScheduleFileError, read_schedule, role_of
from dieuhanh.cli import app
from provisioning.importer import import_paths

from ..directory.conftest import BASE_UNITS, UNIT_HEADER, write_csv

D = dt.date
TODAY = D(2026, 12, 3)
HEADER = ["STT", "Thứ/Ngày", "Giờ", "Nội dung", "Địa điểm", "Thành phần/Chủ trì"]


def workbook(path: Path, rows: list[list], *, title: str = "Tuần 50", merge=(), before=()):
    """An .xlsx with an optional title above the header, ``rows`` under it, and merged
    ranges (e.g. "B4:B6")."""
    book = Workbook()
    ws = book.active
    ws.title = title
    for line in before:
        ws.append(line)
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    for cells in merge:
        ws.merge_cells(cells)
    book.save(path)
    return path


def test_headers_are_matched_without_accents_or_case():
    assert role_of("THỨ / NGÀY") == "day" and role_of("thu ngay") == "day"
    assert role_of("Ngày tháng") == "day" and role_of("Thời gian") == "time"
    assert role_of("NỘI DUNG CÔNG VIỆC") == "content" and role_of("Địa điểm tổ chức") == "place"
    assert role_of("Lãnh đạo chủ trì") == "attendees" and role_of("Thành phần tham dự")
    assert role_of("STT") is None and role_of("Ghi chú") is None


def test_a_week_with_merged_day_cells_title_rows_and_time_cells(tmp_path):
    path = workbook(
        tmp_path / "lich.xlsx",
        [
            [1, "Thứ Hai\n07/12/2026", "7h00", "Chào cờ đầu tuần", "Sân trường", "Toàn trường"],
            [2, None, dt.time(9, 30), "Họp Ban giám hiệu", "Phòng họp", "BGH"],
            [3, None, "Chiều", "Kiểm tra hồ sơ chuyên môn", None, "Tổ trưởng"],
            [4, "Thứ Tư", "14:00 - 16:30", "Dự giờ lớp 9A1", "Phòng 9A1", None],
            [None, None, None, None, None, None],
            [5, dt.datetime(2026, 12, 12), None, "Hội thao giáo viên", "Nhà thi đấu", None],
        ],
        before=[["LỊCH CÔNG TÁC TUẦN 50"], ["Trường THCS Đỗ Văn Dậy"]],
        merge=["B4:B6"],
    )
    week = read_schedule(path, week=None, today=TODAY)
    assert (week.week_start, week.sheet) == (D(2026, 12, 7), "Tuần 50")
    assert week.entries == [
        Entry(D(2026, 12, 7), "Chào cờ đầu tuần", "07:00", "Sân trường", "Toàn trường"),
        Entry(D(2026, 12, 7), "Họp Ban giám hiệu", "09:30", "Phòng họp", "BGH"),
        Entry(D(2026, 12, 7), "Kiểm tra hồ sơ chuyên môn", "Chiều", "", "Tổ trưởng"),
        Entry(D(2026, 12, 9), "Dự giờ lớp 9A1", "14:00–16:30", "Phòng 9A1", ""),
        Entry(D(2026, 12, 12), "Hội thao giáo viên", "", "Nhà thi đấu", ""),
    ]


def test_weekdays_alone_take_the_given_week_and_day_heading_rows_work(tmp_path):
    book = Workbook()
    ws = book.active
    ws.append(["thứ", "buổi", "giờ", "nội dung", "chủ trì", "thành phần"])
    ws.append(["THỨ HAI", None, None, None, None, None])  # a heading row across the sheet
    ws.append([None, "Sáng", "7h30", "Giao ban", "Hiệu trưởng", "Tổ trưởng"])
    ws.append(["T3", "Chiều", None, "Sinh hoạt tổ", None, "Giáo viên"])
    book.save(tmp_path / "lich.xlsx")
    week = read_schedule(tmp_path / "lich.xlsx", week=D(2026, 12, 10), today=TODAY)
    assert week.week_start == D(2026, 12, 7)
    assert week.entries == [
        Entry(
            D(2026, 12, 7), "Giao ban", "07:30", "", "chủ trì: Hiệu trưởng · thành phần: Tổ trưởng"
        ),
        Entry(D(2026, 12, 8), "Sinh hoạt tổ", "Chiều", "", "Giáo viên"),
    ]


def problems(path: Path, week: D | None = None) -> list[str]:
    with pytest.raises(ScheduleFileError) as caught:
        read_schedule(path, week=week, today=TODAY)
    return caught.value.problems


def test_a_missing_column_is_named(tmp_path):
    book = Workbook()
    book.active.title = "Lịch"
    book.active.append(["Thứ/Ngày", "Giờ", "Địa điểm"])
    book.active.append(["Thứ Hai 07/12/2026", "7h", "Sân"])
    book.save(tmp_path / "a.xlsx")
    assert problems(tmp_path / "a.xlsx") == [
        "Trang tính 'Lịch', dòng 1: thiếu cột 'Nội dung'. Các cột: Thứ/Ngày và Nội dung (bắt "
        "buộc); Giờ, Địa điểm, Thành phần/Chủ trì (nếu có)."
    ]


def test_an_impossible_date_and_a_bad_time_are_reported_by_row_and_column(tmp_path):
    path = workbook(
        tmp_path / "b.xlsx",
        [
            [1, "07/12/2026", "7h", "Chào cờ", None, None],
            [2, "31/11/2026", "8h", "Họp", None, None],
            [3, None, "9h", "Dưới ngày sai: không báo lại", None, None],
            [4, "Thứ Ba", "25h", "Giờ sai", None, None],
            [5, "Thứ Tư", "8h", None, "Phòng họp", None],
        ],
    )
    assert problems(path) == [
        "Trang tính 'Tuần 50', dòng 3, cột 'Thứ/Ngày': Ngày 31/11/2026 không có thật; hãy "
        "kiểm tra lại ngày tháng.",
        "Trang tính 'Tuần 50', dòng 5, cột 'Giờ': Giờ 25:00 không có thật; giờ viết từ 00:00 "
        "đến 23:59.",
        "Trang tính 'Tuần 50', dòng 6, cột 'Nội dung': trống; hãy ghi nội dung công việc.",
    ]


def test_a_date_outside_the_week_is_refused(tmp_path):
    path = workbook(
        tmp_path / "c.xlsx",
        [
            [1, "07/12/2026", None, "Chào cờ", None, None],
            [2, "15/12/2026", None, "Họp", None, None],
        ],
    )
    [problem] = problems(path)
    assert problem == (
        "Trang tính 'Tuần 50', dòng 3, cột 'Thứ/Ngày': ngày 15/12/2026 không thuộc tuần "
        "07/12 – 13/12/2026; hãy sửa ngày, hoặc chỉ đúng tuần bằng --tuan dd/mm/yyyy."
    )
    assert problems(
        workbook(tmp_path / "d.xlsx", [[1, "07/12", None, "Họp", None, None]]), D(2026, 12, 14)
    )[0].endswith(
        "ngày 07/12/2026 không thuộc tuần 14/12 – 20/12/2026; hãy sửa ngày, hoặc chỉ đúng "
        "tuần bằng --tuan dd/mm/yyyy."
    )


def test_empty_files_and_files_that_are_not_xlsx(tmp_path):
    Workbook().save(tmp_path / "empty.xlsx")
    assert problems(tmp_path / "empty.xlsx") == [
        "Tệp empty.xlsx trống: không trang tính nào có dữ liệu."
    ]
    assert problems(workbook(tmp_path / "header.xlsx", [])) == [
        "Tệp header.xlsx, trang tính 'Tuần 50': không có mục lịch nào dưới dòng tiêu đề."
    ]
    (tmp_path / "fake.xlsx").write_text("Thứ,Nội dung\nT2,Họp\n")
    assert problems(tmp_path / "fake.xlsx") == [
        "Không đọc được tệp fake.xlsx: đây không phải tệp Excel .xlsx (hãy mở bằng Excel và "
        "lưu lại dưới dạng .xlsx)."
    ]
    weekdays = workbook(tmp_path / "noweek.xlsx", [[1, "Thứ Hai", None, "Họp", None, None]])
    assert problems(weekdays)[0].endswith("hoặc chỉ tuần bằng --tuan dd/mm/yyyy.")
    book = Workbook()
    book.active.append(["Họ tên", "Điện thoại"])
    book.active.append(["Nguyễn Văn An", "0912345678"])
    book.save(tmp_path / "other.xlsx")
    assert problems(tmp_path / "other.xlsx")[0].startswith(
        "Trang tính 'Sheet': không tìm thấy dòng tiêu đề có cột Thứ/Ngày và Nội dung"
    )


# ------------------------------------------------------------------ dieuhanh lich import


@pytest.fixture
def db(engine, tmp_path):
    import_paths(engine, [write_csv(tmp_path / "don_vi.csv", UNIT_HEADER, BASE_UNITS)])
    return engine


def run(engine, *args: str, clock: Path | None = None):
    env = {"DIEUHANH_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    if clock is not None:
        env["DIEUHANH_BOT_CLOCK_FILE"] = str(clock)
    return CliRunner().invoke(app, ["lich", "import", *args], env=env)


def test_the_import_replaces_the_week_and_says_so(db, tmp_path):
    clock = tmp_path / "clock"
    clock.write_text("2026-12-04T09:00:00+07:00")
    old = [Entry(D(2026, 12, 7), "cũ").to_json()]
    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    asyncio.run(WorkSchedule.save_entries(db, "thcs-dvd", D(2026, 12, 7), old, at))
    path = workbook(
        tmp_path / "lich.xlsx",
        [[1, "Thứ Hai", "7h", "Chào cờ", "Sân", None], [2, "Thứ Sáu", "Sáng", "Họp", None, None]],
    )
    result = run(db, str(path), "--unit", "thcs-dvd", "--tuan", "09/12/2026", clock=clock)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "Đã nhập 2 mục lịch công tác tuần 07/12 – 13/12/2026 của Trường THCS Đỗ Văn Dậy từ "
        "trang tính 'Tuần 50', thay cho 1 mục trước đó."
    )
    saved = asyncio.run(WorkSchedule.get(db, "thcs-dvd", D(2026, 12, 7)))
    assert [Entry.from_json(e) for e in saved.entries] == [
        Entry(D(2026, 12, 7), "Chào cờ", "07:00", "Sân"),
        Entry(D(2026, 12, 11), "Họp", "Sáng"),
    ]
    assert saved.updated_at == dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC)  # the clock's


def test_the_import_refuses_bad_input_and_saves_nothing(db, tmp_path):
    bad = workbook(tmp_path / "bad.xlsx", [[1, "31/11/2026", None, "Họp", None, None]])
    result = run(db, str(bad), "--unit", "thcs-dvd")
    assert result.exit_code == 1
    assert "dòng 2, cột 'Thứ/Ngày': Ngày 31/11/2026 không có thật" in result.output
    assert "Chưa nhập gì: hãy sửa tệp rồi nhập lại." in result.output
    good = workbook(tmp_path / "good.xlsx", [[1, "07/12/2026", None, "Họp", None, None]])
    unknown = run(db, str(good), "--unit", "khong-co")
    assert unknown.exit_code == 1
    assert "Không có đơn vị đang hoạt động mã 'khong-co' trong danh bạ." in unknown.output
    week = run(db, str(good), "--unit", "thcs-dvd", "--tuan", "31/11/2026")
    assert week.exit_code == 2
    assert "--tuan '31/11/2026' không phải một ngày có thật dạng dd/mm/yyyy." in week.output
    missing = run(db, str(tmp_path / "khong.xlsx"), "--unit", "thcs-dvd")
    assert missing.exit_code == 2 and "Không tìm thấy tệp" in missing.output
    assert asyncio.run(WorkSchedule.of_week(db, D(2026, 12, 7))) == []
