"""Directory fixtures: every test here runs on SQLite, and also on PostgreSQL when
``DIEUHANH_TEST_POSTGRES_URL`` names a server (CI sets it)."""

from __future__ import annotations

import csv
import datetime as dt
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from dieuhanh.db import open_database

POSTGRES_URL = os.environ.get("DIEUHANH_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty directory, migrated to the newest schema."""
    if request.param == "sqlite":
        engine = open_database(f"sqlite:///{tmp_path / 'directory.db'}")
        yield engine
        engine.dispose()
        return
    assert POSTGRES_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = POSTGRES_URL + ("&" if "?" in POSTGRES_URL else "?") + f"options=-csearch_path%3D{schema}"
    engine = open_database(url)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


UNIT_HEADER = [
    "Mã đơn vị",
    "Tên đơn vị",
    "Mã đơn vị cấp trên",
    "Loại đơn vị",
    "Cấp học",
    "Loại hình",
    "Cổng thông tin",
    "RSS",
]
STAFF_HEADER = [
    "Mã định danh",
    "Họ và tên",
    "Số điện thoại",
    "Email",
    "Mã đơn vị",
    "Chức vụ",
    "Trình độ đào tạo",
    "Môn dạy",
    "Giới tính",
    "Ngày sinh",
]
FIGURES_HEADER = ["Mã đơn vị", "Năm học", "Số lớp", "Số học sinh"]

BASE_UNITS = [
    ["so", "Sở Giáo dục và Đào tạo", "", "Sở", "", "", "", ""],
    ["hocmon", "Xã Hóc Môn", "so", "Xã/Phường", "", "", "", ""],
    [
        "thcs-dvd",
        "Trường THCS Đỗ Văn Dậy",
        "hocmon",
        "Trường",
        "THCS",
        "Công lập",
        "https://thcsdovanday.hcm.edu.vn",
        "https://thcsdovanday.hcm.edu.vn/rss",
    ],
    ["thcs-tt", "Trường THCS Tư thục Ánh Dương", "hocmon", "Trường", "THCS", "Tư thục", "", ""],
    ["mn-hs", "Trường Mầm non Hoa Sen", "hocmon", "Trường", "MN", "CL", "", ""],
    ["thpt-a", "Trường THPT Nguyễn Hữu Cầu", "so", "Trường", "THPT", "CL", "", ""],
]
BASE_STAFF = [
    [
        "P001",
        "Nguyễn Văn An",
        "0912345678",
        "an@example.vn",
        "thcs-dvd",
        "Hiệu trưởng",
        "Thạc sĩ",
        "Toán",
        "Nam",
        "01/02/1975",
    ],
    [
        "P002",
        "Trần Thị Bình",
        "0987654321",
        "",
        "thcs-dvd",
        "Giáo viên",
        "Đại học",
        "Văn",
        "Nữ",
        "15/08/1988",
    ],
    ["P003", "Lê Văn Cường", "0903111222", "", "thcs-dvd", "GV", "Cao đẳng", "Lý", "Nam", ""],
    ["P004", "Phạm Thị Dung", "0938222333", "", "thcs-tt", "HT", "Đại học", "", "Nữ", ""],
    ["P005", "Hoàng Văn Em", "0977333444", "", "thcs-tt", "Giáo viên", "", "Hóa", "Nam", ""],
    ["P006", "Võ Thị Hoa", "0966444555", "", "mn-hs", "Giáo viên", "Cao đẳng", "", "Nữ", ""],
    ["P007", "Đặng Văn Hùng", "0355666777", "", "thcs-dvd", "Kế toán", "Đại học", "", "Nam", ""],
    ["P008", "Bùi Thị Lan", "0344777888", "", "so", "Giám đốc", "Tiến sĩ", "", "Nữ", ""],
]
BASE_FIGURES = [
    ["thcs-dvd", "2024-2025", "30", "1200"],
    ["thcs-dvd", "2025-2026", "32", "1310"],
    ["thcs-tt", "2025-2026", "10", "350"],
    ["mn-hs", "2025-2026", "12", "320"],
]


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    delimiter: str = ",",
    bom: bool = True,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def base_files(tmp_path: Path) -> list[Path]:
    """A small, valid directory: a Sở, a xã, three schools, eight people, figures."""
    folder = tmp_path / "base"
    return [
        write_csv(folder / "don_vi.csv", UNIT_HEADER, BASE_UNITS),
        write_csv(folder / "nhan_su.csv", STAFF_HEADER, BASE_STAFF),
        write_csv(folder / "thong_ke.csv", FIGURES_HEADER, BASE_FIGURES),
    ]


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Everything the directory holds, minus ids and timestamps, for comparisons."""
    with engine.connect() as conn:
        units = conn.execute(
            text(
                "SELECT u.code, u.name, p.code, u.kind, u.level, u.ownership, u.portal_url, "
                "u.rss_url, u.active FROM units u LEFT JOIN units p ON p.id = u.parent_id"
            )
        ).all()
        people = conn.execute(
            text(
                "SELECT code, full_name, name_key, phone, phone_raw, email, training_level, "
                "subject, "
                "gender, birth_date, active FROM people"
            )
        ).all()
        positions = conn.execute(
            text(
                "SELECT p.code, u.code, q.position FROM positions q "
                "JOIN people p ON p.id = q.person_id "
                "JOIN units u ON u.id = q.unit_id"
            )
        ).all()
        figures = conn.execute(
            text(
                "SELECT u.code, f.school_year, f.classes, f.pupils FROM school_figures f "
                "JOIN units u ON u.id = f.unit_id"
            )
        ).all()

    def plain(row) -> tuple:
        # SQLite hands dates back as text and booleans as 0/1: compare like with like
        return tuple(
            v.isoformat() if isinstance(v, dt.date) else int(v) if isinstance(v, bool) else v
            for v in row
        )

    return {
        "units": sorted(map(plain, units), key=repr),
        "people": sorted(map(plain, people), key=repr),
        "positions": sorted(map(tuple, positions)),
        "figures": sorted(map(tuple, figures)),
    }
