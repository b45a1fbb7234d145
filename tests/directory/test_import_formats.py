"""File formats: CSV and XLSX give identical directories; unusable input is refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from dieuhanh.cli import app
from provisioning.db import open_directory
from provisioning.importer import UnusableInput, import_paths

from .conftest import (
    BASE_FIGURES,
    BASE_STAFF,
    BASE_UNITS,
    FIGURES_HEADER,
    STAFF_HEADER,
    UNIT_HEADER,
    snapshot,
    write_csv,
)

MESSY_STAFF = [
    *BASE_STAFF,
    # a bad row, so that the reports are compared too
    ["P009", "Ngô Thị Mai", "0912-34", "", "thcs-dvd", "GV", "", "", "", ""],
    ["P010", "Dương Văn Khoa", "0909000111", "", "khong-co", "GV", "", "", "", ""],
]


def as_excel(rows: list[list[str]], numeric: set[int] = frozenset(), dates: set[int] = frozenset()):
    """What Excel holds for these rows: phones as numbers (leading zero lost), real dates."""
    out = []
    for row in rows:
        cells: list[object] = []
        for index, value in enumerate(row):
            if index in numeric and value.isdigit():
                cells.append(int(value))
            elif index in dates and value:
                d, m, y = (int(x) for x in value.split("/"))
                cells.append(dt.datetime(y, m, d))
            elif value == "":
                cells.append(None)
            else:
                cells.append(value)
        out.append(cells)
    return out


def write_xlsx(path: Path) -> Path:
    book = Workbook()
    book.remove(book.active)
    sheets = [
        ("Đơn vị", UNIT_HEADER, as_excel(BASE_UNITS)),
        ("Nhân sự", STAFF_HEADER, as_excel(MESSY_STAFF, numeric={2}, dates={9})),
        ("Thống kê", FIGURES_HEADER, as_excel(BASE_FIGURES, numeric={2, 3})),
        ("Ghi chú", ["Tệp này do phòng Tổ chức lập"], []),
    ]
    for title, header, rows in sheets:
        sheet = book.create_sheet(title)
        sheet.append(header)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_csv_and_xlsx_give_identical_directories(engine, tmp_path):
    csv_files = [
        write_csv(tmp_path / "csv" / "don_vi.csv", UNIT_HEADER, BASE_UNITS),
        write_csv(tmp_path / "csv" / "nhan_su.csv", STAFF_HEADER, MESSY_STAFF),
        write_csv(tmp_path / "csv" / "thong_ke.csv", FIGURES_HEADER, BASE_FIGURES),
    ]
    from_csv = import_paths(engine, csv_files)
    other = open_directory(f"sqlite:///{tmp_path / 'xlsx.db'}")
    from_xlsx = import_paths(other, [write_xlsx(tmp_path / "danh_ba.xlsx")])
    assert snapshot(engine) == snapshot(other)
    assert [(r.row, r.column, r.reason) for r in from_csv.reports] == [
        (r.row, r.column, r.reason) for r in from_xlsx.reports
    ]
    assert {r.source for r in from_xlsx.reports} == {"danh_ba.xlsx[Nhân sự]"}
    assert len(from_csv.reports) == 2
    other.dispose()


def test_semicolon_csv_without_bom(engine, tmp_path):
    files = [write_csv(tmp_path / "don_vi.csv", UNIT_HEADER, BASE_UNITS, delimiter=";", bom=False)]
    result = import_paths(engine, files)
    assert result.reports == [] and result.units.added == len(BASE_UNITS)


def test_tables_are_recognised_by_headers_when_names_say_nothing(engine, tmp_path):
    files = [
        write_csv(tmp_path / "a.csv", UNIT_HEADER, BASE_UNITS),
        write_csv(tmp_path / "b.csv", STAFF_HEADER, BASE_STAFF),
    ]
    result = import_paths(engine, files)
    assert result.reports == [] and result.people.added == len(BASE_STAFF)


def test_a_folder_is_read_whole(engine, base_files):
    result = import_paths(engine, [base_files[0].parent])
    assert (result.units.added, result.people.added, result.figures.added) == (6, 8, 4)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "khong_co.csv", "không tìm thấy tệp"),
        (
            lambda d: write_csv(d / "nhan_su.csv", [h for h in STAFF_HEADER if h != "Chức vụ"], []),
            "thiếu cột bắt buộc 'Chức vụ'",
        ),
        (
            lambda d: write_csv(d / "don_vi.csv", ["Mã đơn vị", "Tên đơn vị"], []),
            "thiếu cột bắt buộc 'Loại đơn vị'",
        ),
        (lambda d: _write_bytes(d / "don_vi.csv", "Mã,Tên\n".encode("cp1252")), "không phải UTF-8"),
        (lambda d: _write_bytes(d / "x.xlsx", b"not a workbook"), "không mở được"),
        (lambda d: write_csv(d / "lung_tung.csv", ["Cột A"], [["1"]]), "không nhận ra bảng"),
        (lambda d: _write_bytes(d / "nhan_su.csv", b""), "tệp rỗng"),
    ],
)
def test_unusable_input(engine, tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(UnusableInput, match=message) as caught:
        import_paths(engine, [path])
    assert path.name in str(caught.value)


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_cli_exit_codes_and_report_lines(engine, tmp_path, base_files, monkeypatch):
    monkeypatch.setenv("DIEUHANH_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    clean = runner.invoke(app, ["import", *map(str, base_files)])
    assert clean.exit_code == 0, clean.output
    assert "Nhân sự: 8 thêm mới" in clean.output
    bad = write_csv(tmp_path / "bad" / "nhan_su.csv", STAFF_HEADER, MESSY_STAFF)
    reported = runner.invoke(app, ["import", str(bad)])
    assert reported.exit_code == 1
    assert 'nhan_su.csv:11, cột "Mã đơn vị": không tìm thấy đơn vị "khong-co" (bị loại)' in (
        reported.output
    )
    assert 'nhan_su.csv:10, cột "Số điện thoại"' in reported.output
    missing = runner.invoke(app, ["import", str(tmp_path / "khong_co.csv")])
    assert missing.exit_code == 2 and "không tìm thấy tệp" in missing.output
