"""Synthetic but realistic directory of a city's school system, for demos, tests and benchmarks.

The tree follows the organisation since 7/2025: the Sở GD&ĐT at the root, its cụm chuyên môn
grouping xã/phường, the xã/phường managing Mầm non, Tiểu học and THCS schools, and the Sở
managing THPT, Liên cấp and GDTX directly; some schools have tổ chuyên môn. Everything is
drawn from one ``random.Random(seed)``, so a seed always gives byte-identical files.

Files follow /work/shared/DATA-FORMAT.md: ``don_vi.csv``, ``nhan_su.csv``, ``thong_ke.csv``
(UTF-8 with BOM) or one ``danh_ba.xlsx`` with the same tables as sheets.

    python -m provisioning.demo OUT_DIR [--preset city] [--xlsx] [--seed N]
"""

from __future__ import annotations

import argparse
import bisect
import csv
import datetime as dt
import functools
import itertools
import random
import re
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from phonenumbers import PhoneMetadata

from provisioning.text import fold
from provisioning.vocab import Level, Ownership, Position, TrainingLevel, UnitKind, label

Cell = str | int
T = TypeVar("T")
Row = list[Cell]

UNIT_COLUMNS = (
    "Mã đơn vị",
    "Tên đơn vị",
    "Mã đơn vị cấp trên",
    "Loại đơn vị",
    "Cấp học",
    "Loại hình",
    "Cổng thông tin",
    "RSS",
)
STAFF_COLUMNS = (
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
)
STATS_COLUMNS = ("Mã đơn vị", "Năm học", "Số lớp", "Số học sinh")

#: (file name, sheet name, header) of the three tables, in DATA-FORMAT.md order.
TABLES = (
    ("don_vi.csv", "Đơn vị", UNIT_COLUMNS),
    ("nhan_su.csv", "Nhân sự", STAFF_COLUMNS),
    ("thong_ke.csv", "Thống kê", STATS_COLUMNS),
)
XLSX_NAME = "danh_ba.xlsx"
SCHOOL_YEARS = ("2024-2025", "2025-2026")
# Demo portals live under the reserved .invalid TLD (RFC 6761): realistic, yet never
# polled — a demo must not hit real schools' sites.
PORTAL_DOMAIN = "hcm-edu.invalid"

# Staff row columns, by index.
S_ID, S_NAME, S_PHONE, S_EMAIL, S_UNIT, S_POSITION = range(6)
S_TRAINING, S_SUBJECT, S_GENDER, S_BIRTH = range(6, 10)
# Unit row columns, by index.
U_CODE, U_NAME, U_PARENT, U_KIND, U_LEVEL, U_OWNERSHIP, U_PORTAL, U_RSS = range(8)

_REFERENCE_ORDINAL = dt.date(2025, 9, 5).toordinal()  # opening day of 2025-2026
_FIXED_ZIP_TIME = (2025, 9, 5, 0, 0, 0)


# --------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class Preset:
    """Default sizes of a preset; ``clusters`` lists each cụm's communes (None: all, 16 cụm)."""

    schools: int
    staff: int
    clusters: tuple[tuple[str, ...], ...] | None
    level_weights: tuple[tuple[Level, float], ...]


_CITY_MIX = (
    (Level.MN, 0.42),
    (Level.TH, 0.22),
    (Level.THCS, 0.16),
    (Level.THPT, 0.09),
    (Level.LC, 0.08),
    (Level.GDTX, 0.03),
)

PRESETS: dict[str, Preset] = {
    "demo": Preset(
        # dozens of schools of each main level, but few people per school, so that a
        # newcomer's first `dieuhanh up` provisions it into Matrix in a few minutes
        schools=76,
        staff=640,
        clusters=(("Sài Gòn", "Tân Định", "Bến Thành"), ("Gia Định", "Bình Thạnh", "Thạnh Mỹ Tây")),
        level_weights=(
            (Level.MN, 20),
            (Level.TH, 20),
            (Level.THCS, 20),
            (Level.THPT, 10),
            (Level.LC, 3),
            (Level.GDTX, 3),
        ),
    ),
    # the smallest tree with every kind of unit: for tests of the whole stack
    "mini": Preset(
        schools=6,
        staff=48,
        clusters=(("Tân Định", "Bến Thành"),),
        level_weights=((Level.MN, 2), (Level.TH, 1), (Level.THCS, 2), (Level.THPT, 1)),
    ),
    "district": Preset(
        schools=70,
        staff=2000,
        clusters=(
            ("Hạnh Thông", "An Nhơn", "Gò Vấp", "An Hội Đông", "Thông Tây Hội", "An Hội Tây"),
        ),
        level_weights=_CITY_MIX,
    ),
    "city": Preset(schools=3600, staff=150_000, clusters=None, level_weights=_CITY_MIX),
}

# --------------------------------------------------------------------------- geography

# The 168 xã, phường and đặc khu of Thành phố Hồ Chí Minh since 1/7/2025, in the order of
# the former districts and provinces ("P" phường, "X" xã, "Đ" đặc khu).
_COMMUNES_TEXT = """
P Sài Gòn, Tân Định, Bến Thành, Cầu Ông Lãnh, Bàn Cờ, Xuân Hòa, Nhiêu Lộc, Xóm Chiếu,
  Khánh Hội, Vĩnh Hội, Chợ Quán, An Đông, Chợ Lớn, Bình Tây, Bình Tiên, Bình Phú, Phú Lâm,
  Tân Thuận, Phú Thuận, Tân Mỹ, Tân Hưng, Chánh Hưng, Phú Định, Bình Đông, Diên Hồng,
  Vườn Lài, Hòa Hưng, Minh Phụng, Bình Thới, Hòa Bình, Phú Thọ, Đông Hưng Thuận,
  Trung Mỹ Tây, Tân Thới Hiệp, Thới An, An Phú Đông, An Lạc, Tân Tạo, Bình Tân,
  Bình Trị Đông, Bình Hưng Hòa, Gia Định, Bình Thạnh, Bình Lợi Trung, Thạnh Mỹ Tây,
  Bình Quới, Hạnh Thông, An Nhơn, Gò Vấp, An Hội Đông, Thông Tây Hội, An Hội Tây,
  Đức Nhuận, Cầu Kiệu, Phú Nhuận, Tân Sơn Hòa, Tân Sơn Nhất, Tân Hòa, Bảy Hiền, Tân Bình,
  Tân Sơn, Tây Thạnh, Tân Sơn Nhì, Phú Thọ Hòa, Tân Phú, Phú Thạnh, Hiệp Bình, Thủ Đức,
  Tam Bình, Linh Xuân, Tăng Nhơn Phú, Long Bình, Long Phước, Long Trường, Cát Lái,
  Bình Trưng, Phước Long, An Khánh
X Vĩnh Lộc, Tân Vĩnh Lộc, Bình Lợi, Tân Nhựt, Bình Chánh, Hưng Long, Bình Hưng,
  Bình Khánh, An Thới Đông, Cần Giờ, Thạnh An, Củ Chi, Tân An Hội, Thái Mỹ, An Nhơn Tây,
  Nhuận Đức, Phú Hòa Đông, Bình Mỹ, Đông Thạnh, Hóc Môn, Xuân Thới Sơn, Bà Điểm, Nhà Bè,
  Hiệp Phước
P Thủ Dầu Một, Phú Lợi, Bình Dương, Chánh Hiệp, Phú An, Dĩ An, Đông Hòa, Tân Đông Hiệp,
  Thuận An, Thuận Giao, Bình Hòa, Lái Thiêu, An Phú, Tân Uyên, Tân Hiệp, Tân Khánh,
  Vĩnh Tân, Bình Cơ, Bến Cát, Chánh Phú Hòa, Tây Nam, Long Nguyên, Thới Hòa, Hòa Lợi
X Bắc Tân Uyên, Thường Tân, Bàu Bàng, Trừ Văn Thố, Dầu Tiếng, Minh Thạnh, Long Hòa,
  Thanh An, Phú Giáo, Phước Thành, Phước Hòa, An Long
P Vũng Tàu, Tam Thắng, Rạch Dừa, Phước Thắng, Bà Rịa, Long Hương, Tam Long, Phú Mỹ,
  Tân Thành, Tân Phước, Tân Hải
X Long Sơn, Long Hải, Long Điền, Đất Đỏ, Phước Hải, Ngãi Giao, Kim Long, Bình Giã,
  Xuân Sơn, Nghĩa Thành, Châu Pha, Châu Đức, Xuyên Mộc, Hòa Hiệp, Bình Châu, Hồ Tràm,
  Bàu Lâm, Hòa Hội
Đ Côn Đảo
"""

_COMMUNE_KIND = {
    "P": ("Phường", "phường", "px"),
    "X": ("Xã", "xã", "xa"),
    "Đ": ("Đặc khu", "đặc khu", "dk"),
}


@dataclass(frozen=True)
class Commune:
    number: int  # 1-based position among the city's 168, used in school codes
    name: str  # "Tân Định"
    title: str  # "Phường Tân Định"
    lower: str  # "phường Tân Định", as written inside a sentence or a school's name
    code: str  # "px-tan-dinh"
    slug: str  # "tandinh"


def _parse_communes() -> list[Commune]:
    communes: list[Commune] = []
    for block in re.split(r"\n(?=\S)", _COMMUNES_TEXT.strip()):
        kind, names = block.split(" ", 1)
        title, lower, prefix = _COMMUNE_KIND[kind]
        for raw in names.split(","):
            name = " ".join(raw.split())
            slug = fold(name).replace(" ", "-")
            taken = {c.code for c in communes}
            if f"{prefix}-{slug}" in taken:  # Thạnh An and Thanh An fold alike
                slug = f"{slug}-{len(communes) + 1}"
            communes.append(
                Commune(
                    number=len(communes) + 1,
                    name=name,
                    title=f"{title} {name}",
                    lower=f"{lower} {name}",
                    code=f"{prefix}-{slug}",
                    slug=slug.replace("-", ""),
                )
            )
    return communes


COMMUNES: tuple[Commune, ...] = tuple(_parse_communes())
_COMMUNE_BY_NAME = {c.name: c for c in COMMUNES}
assert len(COMMUNES) == 168 and len(_COMMUNE_BY_NAME) == 168
assert len({c.code for c in COMMUNES}) == 168


# --------------------------------------------------------------------------- people


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    """A word list written as one string: ``_words("An Bình")`` → ("An", "Bình")."""
    return tuple(text.split(sep))


# Family names with their approximate share (per cent) in the South.
_FAMILY = {
    "Nguyễn": 38.0, "Trần": 11.0, "Lê": 9.5, "Phạm": 6.0, "Huỳnh": 3.6, "Hoàng": 2.2,
    "Phan": 4.4, "Võ": 3.6, "Vũ": 1.8, "Đặng": 2.0, "Bùi": 1.9, "Đỗ": 1.5, "Hồ": 1.4,
    "Ngô": 1.3, "Dương": 1.0, "Lý": 0.7, "Trương": 1.3, "Đinh": 0.6, "Lâm": 0.7, "Mai": 0.5,
    "Đào": 0.5, "Cao": 0.4, "Châu": 0.4, "Lương": 0.4, "Trịnh": 0.4, "Hà": 0.4, "Thái": 0.3,
    "Lưu": 0.3, "Tô": 0.3, "Tạ": 0.2, "Quách": 0.2, "Tăng": 0.2, "La": 0.2, "Kiều": 0.1,
    "Văn": 0.1, "Từ": 0.1,
}  # fmt: skip
_MALE_MIDDLE = _words(
    "Hữu Đức Minh Quốc Thanh Hoàng Công Ngọc Xuân Quang Duy Trọng Thành Tấn Hoài Gia Đình "
    "Anh Nhật Trung Phước Bảo Tuấn Hải Văn Thế Chí Kim Đăng Tiến Vĩnh"
)
_FEMALE_MIDDLE = _words(
    "Ngọc Thanh Thu Kim Hồng Minh Mỹ Bích Thúy Phương Hoàng Tuyết Diệu Khánh Như Bảo Hải "
    "Thảo Lan Quỳnh Yến Cẩm Ánh Tú Hoài Xuân Trúc Mai Thùy Vân"
)
_MALE_GIVEN = _words(
    "An Anh Bảo Bình Cường Dũng Duy Đạt Đức Hải Hiếu Hòa Hoàng Hùng Huy Khang Khánh Khoa "
    "Kiên Lâm Long Lộc Luân Minh Nam Nghĩa Nhân Phát Phong Phúc Quân Quang Sơn Tài Tâm Thành "
    "Thắng Thiện Thịnh Tiến Toàn Trí Trung Tuấn Tùng Việt Vinh Vũ Hưng Hậu Lợi Nhật Phước "
    "Sang Tín Tú Hiển Hiệp Định Công Chiến Danh Đông Hào Kha Lực Mạnh Nguyên Quý Tường Thái"
)
_FEMALE_GIVEN = _words(
    "An Anh Bích Châu Chi Diễm Dung Duyên Giang Hà Hạnh Hằng Hiền Hoa Hồng Huyền Hương Hường "
    "Lan Liên Linh Loan Mai My Nga Ngân Ngọc Nhung Nhi Như Oanh Phương Phượng Quyên Tâm "
    "Thảo Thanh Thu Thủy Thư Thùy Trâm Trang Trinh Tuyết Uyên Vân Vy Yến Xuân Kiều Trúc Diệp "
    "Quỳnh Ly Hậu Lệ Mận Nguyệt Nhàn Phúc Sương Thắm Thơ Tiên Trân Tú Vi Lài Đào Hạ Khuê"
)

# Mobile prefixes in use since the 2018 renumbering, weighted roughly by market share. Every
# number drawn is also checked against libphonenumber's pattern (099 is only partly valid).
# They are random, so some belong to real subscribers: never send real SMS to demo data.
_MOBILE_PREFIXES = {
    # Viettel
    **dict.fromkeys(["32", "33", "34", "35", "36", "37", "38", "39"], 3.0),
    **dict.fromkeys(["86", "96", "97", "98"], 4.5),
    # Vinaphone
    **dict.fromkeys(["81", "82", "83", "84", "85"], 2.2),
    **dict.fromkeys(["88", "91", "94"], 5.0),
    # MobiFone
    **dict.fromkeys(["70", "76", "77", "78", "79"], 2.2),
    **dict.fromkeys(["90", "93"], 5.5),
    # Vietnamobile, Gmobile, iTel
    **dict.fromkeys(["92", "56", "58"], 1.0),
    "99": 0.8,
    "59": 0.6,
    "87": 1.2,
}
#: libphonenumber's own pattern for a Vietnamese mobile national number.
_VN_MOBILE = re.compile(PhoneMetadata.metadata_for_region("VN").mobile.national_number_pattern)


def _phone_form(n: str, form: int) -> Cell:
    """Spreadsheet spelling number ``form`` (see _PHONE_FORM_WEIGHTS) of 9-digit number ``n``."""
    if form == 0:
        return f"0{n}"  # 0912345678
    if form == 1:
        return f"0{n[:3]}.{n[3:6]}.{n[6:]}"  # 0912.345.678
    if form == 2:
        return f"0{n[:3]} {n[3:6]} {n[6:]}"  # 0912 345 678
    if form == 3:
        return f"+84{n}"
    if form == 4:
        return f"84{n}"
    return int(n)  # Excel turned 0912345678 into the number 912345678


_PHONE_FORM_WEIGHTS = (74, 7, 6, 5, 3, 5)

_TRAINING = {
    TrainingLevel.DOCTORATE: label(TrainingLevel.DOCTORATE),
    TrainingLevel.MASTER: label(TrainingLevel.MASTER),
    TrainingLevel.BACHELOR: label(TrainingLevel.BACHELOR),
    TrainingLevel.COLLEGE: label(TrainingLevel.COLLEGE),
    TrainingLevel.VOCATIONAL: label(TrainingLevel.VOCATIONAL),
    TrainingLevel.OTHER: label(TrainingLevel.OTHER),
}


def _training(ts: float = 0, ths: float = 0, dh: float = 0, cd: float = 0, tc: float = 0,
              khac: float = 0, blank: float = 0) -> dict[str, float]:  # fmt: skip
    """Training-level distribution in per cent; "" is a blank cell."""
    pairs = {
        _TRAINING[TrainingLevel.DOCTORATE]: ts,
        _TRAINING[TrainingLevel.MASTER]: ths,
        _TRAINING[TrainingLevel.BACHELOR]: dh,
        _TRAINING[TrainingLevel.COLLEGE]: cd,
        _TRAINING[TrainingLevel.VOCATIONAL]: tc,
        _TRAINING[TrainingLevel.OTHER]: khac,
        "": blank,
    }
    return {k: v for k, v in pairs.items() if v}


_TEACHER_TRAINING = {
    Level.MN: _training(ths=1, dh=55, cd=33, tc=9, blank=2),
    Level.TH: _training(ths=4, dh=83, cd=10, tc=1.5, blank=1.5),
    Level.THCS: _training(ts=0.2, ths=10, dh=84, cd=4.8, blank=1),
    Level.THPT: _training(ts=1.5, ths=27, dh=70, blank=1.5),
    Level.LC: _training(ts=0.5, ths=14, dh=79, cd=5, blank=1.5),
    Level.GDTX: _training(ts=1, ths=22, dh=75, blank=2),
}
_MANAGER_TRAINING = {
    Level.MN: _training(ths=15, dh=83, cd=2),
    Level.TH: _training(ths=30, dh=70),
    Level.THCS: _training(ts=1, ths=40, dh=59),
    Level.THPT: _training(ts=5, ths=60, dh=35),
    Level.LC: _training(ts=3, ths=50, dh=47),
    Level.GDTX: _training(ts=3, ths=52, dh=45),
}
_SUPPORT_TRAINING = _training(dh=38, cd=24, tc=26, khac=6, blank=6)
_DEPARTMENT_TRAINING = _training(ts=8, ths=55, dh=37)
_LEADER_TRAINING = _training(ts=30, ths=60, dh=10)
_COMMUNE_TRAINING = _training(ths=30, dh=70)

_SUBJECTS = {
    Level.MN: {"Mẫu giáo": 78, "Nhà trẻ": 22},
    Level.TH: {
        "Dạy lớp": 70, "Tiếng Anh": 9, "Tin học": 5, "Giáo dục thể chất": 6,
        "Âm nhạc": 4, "Mĩ thuật": 4, "Công nghệ": 2,
    },
    Level.THCS: {
        "Toán": 18, "Ngữ văn": 17, "Tiếng Anh": 13, "Khoa học tự nhiên": 16,
        "Lịch sử và Địa lí": 10, "Giáo dục công dân": 4, "Công nghệ": 4, "Tin học": 5,
        "Giáo dục thể chất": 7, "Âm nhạc": 3, "Mĩ thuật": 3,
    },
    Level.THPT: {
        "Toán": 16, "Ngữ văn": 14, "Tiếng Anh": 12, "Vật lí": 8, "Hóa học": 8, "Sinh học": 6,
        "Lịch sử": 6, "Địa lí": 5, "Giáo dục kinh tế và pháp luật": 4, "Tin học": 5,
        "Công nghệ": 3, "Giáo dục thể chất": 6, "Giáo dục quốc phòng và an ninh": 3,
    },
}  # fmt: skip
_SUBJECTS[Level.LC] = {
    s: _SUBJECTS[Level.TH].get(s, 0) * 0.3
    + _SUBJECTS[Level.THCS].get(s, 0) * 0.4
    + _SUBJECTS[Level.THPT].get(s, 0) * 0.3
    for s in {**_SUBJECTS[Level.TH], **_SUBJECTS[Level.THCS], **_SUBJECTS[Level.THPT]}
}
_SUBJECTS[Level.GDTX] = {
    s: w for s, w in _SUBJECTS[Level.THPT].items() if s not in ("Giáo dục thể chất", "Công nghệ")
}

# Tổ chuyên môn per level: (name, subjects its leader may teach).
_TEAMS: dict[Level, tuple[tuple[str, tuple[str, ...]], ...]] = {
    Level.MN: (
        ("Tổ Nhà trẻ", ("Nhà trẻ",)),
        ("Tổ Mẫu giáo bé", ("Mẫu giáo",)),
        ("Tổ Mẫu giáo nhỡ", ("Mẫu giáo",)),
        ("Tổ Mẫu giáo lớn", ("Mẫu giáo",)),
    ),
    Level.TH: (
        *((f"Tổ khối {k}", ("Dạy lớp",)) for k in range(1, 6)),
        ("Tổ Bộ môn", ("Tiếng Anh", "Tin học", "Âm nhạc", "Mĩ thuật", "Giáo dục thể chất")),
    ),
    Level.THCS: (
        ("Tổ Toán", ("Toán", "Tin học")),
        ("Tổ Ngữ văn", ("Ngữ văn",)),
        ("Tổ Tiếng Anh", ("Tiếng Anh",)),
        ("Tổ Khoa học tự nhiên", ("Khoa học tự nhiên", "Công nghệ")),
        ("Tổ Khoa học xã hội", ("Lịch sử và Địa lí", "Giáo dục công dân")),
        ("Tổ Nghệ thuật và Thể chất", ("Âm nhạc", "Mĩ thuật", "Giáo dục thể chất")),
    ),
    Level.THPT: (
        ("Tổ Toán", ("Toán",)),
        ("Tổ Ngữ văn", ("Ngữ văn",)),
        ("Tổ Ngoại ngữ", ("Tiếng Anh",)),
        ("Tổ Vật lí và Công nghệ", ("Vật lí", "Công nghệ")),
        ("Tổ Hóa học và Sinh học", ("Hóa học", "Sinh học")),
        ("Tổ Lịch sử và Địa lí", ("Lịch sử", "Địa lí", "Giáo dục kinh tế và pháp luật")),
        ("Tổ Tin học", ("Tin học",)),
        ("Tổ Thể dục và Quốc phòng", ("Giáo dục thể chất", "Giáo dục quốc phòng và an ninh")),
    ),
}
_TEAMS[Level.LC] = _TEAMS[Level.THCS]
_TEAMS[Level.GDTX] = _TEAMS[Level.THPT][:6]
_TEAM_SHARE = {Level.MN: 0.15, Level.TH: 0.3, Level.THCS: 0.45, Level.THPT: 0.6,
               Level.LC: 0.4, Level.GDTX: 0.25}  # fmt: skip

# Support staff kinds in the order a school fills them; further ones are "Nhân viên".
_SUPPORT = {
    Level.MN: (Position.ACCOUNTANT, Position.NURSE, Position.STAFF, Position.CLERK),
    Level.GDTX: (Position.ACCOUNTANT, Position.CLERK, Position.EQUIPMENT, Position.LIBRARIAN),
}
_SUPPORT_DEFAULT = (
    Position.ACCOUNTANT,
    Position.CLERK,
    Position.NURSE,
    Position.LIBRARIAN,
    Position.EQUIPMENT,
)

# Share of women among teachers, managers and support staff, by level.
_FEMALE = {
    Level.MN: (0.985, 0.95, 0.75),
    Level.TH: (0.82, 0.65, 0.6),
    Level.THCS: (0.72, 0.5, 0.6),
    Level.THPT: (0.62, 0.35, 0.55),
    Level.LC: (0.75, 0.5, 0.6),
    Level.GDTX: (0.55, 0.35, 0.55),
}

# --------------------------------------------------------------------------- schools

_LEVEL_PREFIX = {Level.MN: "Mầm non", Level.TH: "Tiểu học", Level.THCS: "THCS", Level.THPT: "THPT"}
_LEVEL_SLUG = {Level.MN: "mn", Level.TH: "th", Level.THCS: "thcs", Level.THPT: "thpt",
               Level.LC: "lc", Level.GDTX: "gdtx"}  # fmt: skip
_FIGURES = _words(
    "Lê Quý Đôn, Nguyễn Du, Trần Hưng Đạo, Lê Lợi, Nguyễn Trãi, Chu Văn An, Nguyễn Bỉnh Khiêm, "
    "Lê Văn Tám, Võ Thị Sáu, Kim Đồng, Nguyễn Văn Trỗi, Phan Chu Trinh, Phan Bội Châu, "
    "Quang Trung, Hai Bà Trưng, Bà Triệu, Lý Thường Kiệt, Ngô Quyền, Đinh Tiên Hoàng, "
    "Lê Hồng Phong, Trần Phú, Nguyễn Thị Minh Khai, Lương Thế Vinh, Trần Đại Nghĩa, "
    "Mạc Đĩnh Chi, Đoàn Thị Điểm, Nguyễn Khuyến, Nguyễn Đình Chiểu, Tôn Đức Thắng, "
    "Võ Trường Toản, Hùng Vương, Trưng Vương, Nguyễn Hiền, Đỗ Văn Dậy, Nguyễn An Ninh, "
    "Nguyễn Văn Tố, Huỳnh Khương Ninh, Nguyễn Thái Học, Lý Tự Trọng, Trần Quốc Toản, "
    "Nguyễn Công Trứ, Hồ Xuân Hương, Cao Bá Quát, Phan Đình Phùng, Trương Định, "
    "Nguyễn Trung Trực, Thủ Khoa Huân, Võ Văn Tần, Nguyễn Văn Cừ, Hà Huy Tập, Lê Duẩn, "
    "Trần Văn Ơn, Nguyễn Thị Định, Bùi Thị Xuân, Lê Anh Xuân, Trần Quang Khải, "
    "Phạm Ngũ Lão, Yết Kiêu, Lê Thánh Tông, Nguyễn Huệ, Ngô Thời Nhiệm, Trương Vĩnh Ký, "
    "Huỳnh Thúc Kháng, Nguyễn Thượng Hiền, Phan Văn Trị, Tô Hiến Thành, Lương Định Của, "
    "Nguyễn Văn Linh, Phạm Văn Đồng, Võ Văn Kiệt, Trần Văn Giàu, Nguyễn Hữu Cảnh, "
    "Điện Biên, Bạch Đằng, Chương Dương, Đống Đa, Hòa Bình, Độc Lập, Thống Nhất, Bình Minh, "
    "Lê Đình Chinh, Nguyễn Văn Bé, Phan Văn Khỏe, Nguyễn Thị Thập, Lê Thị Hồng Gấm, "
    "Trần Cao Vân, Mạc Cửu, Nguyễn Hữu Thọ, Phú Thọ, Nguyễn Gia Thiều, Tạ Quang Bửu, "
    "Lê Minh Xuân, Nguyễn Thị Lựu, Phan Huy Ích, Ngô Sĩ Liên, Lạc Long Quân, An Dương Vương",
    sep=", ",
)
_MN_NAMES = _words(
    "Hoa Sen, Hoa Mai, Hoa Hồng, Sơn Ca, Họa Mi, Vàng Anh, Bông Sen, Tuổi Thơ, Hướng Dương, "
    "Hoa Cúc, Măng Non, Búp Bê, Rạng Đông, Thỏ Ngọc, Ánh Dương, Bình Minh, Sao Mai, Hoa Lan, "
    "Hoa Phượng, Ngôi Sao, Mầm Xanh, Ban Mai, Bạch Tuyết, Hoa Đào, Hoa Thiên Lý, "
    "Tuổi Ngọc, Hoa Quỳnh, Vành Khuyên, Chim Non, Sóc Nâu, Búp Sen Hồng, Hoa Lư, "
    "Rạng Ngọc, Anh Đào, Hoa Trà My, Tường Vi, Hoa Ban, Sen Hồng, Cây Xanh, Hoa Sữa",
    sep=", ",
)
_PRIVATE_NAMES = _words(
    "Việt Úc, Ngôi Sao, Á Châu, Nam Mỹ, Hoàng Gia, Tuệ Đức, Trí Tuệ Việt, Minh Đức, Hồng Hà, "
    "Vĩnh Viễn, Việt Mỹ, Việt Anh, Thái Bình Dương, Đinh Thiện Lý, Quốc Văn Sài Gòn, "
    "Ngọc Viễn Đông, Văn Lang, Việt Âu, Nam Việt, Hòa Bình, Thanh Bình, Trí Đức, Phương Nam, "
    "Emasi, Vạn Hạnh, Tân Phú, Bác Ái, Đức Trí, Trường Sơn, Mùa Xuân, Khai Minh, An Đông, "
    "Việt Nhật, Sao Việt, Tuổi Trẻ, Thiên Tân, Phùng Hưng, Hermann Gmeiner, Nguyễn Khuyến, "
    "Lương Thế Vinh, Sài Gòn Star, Trần Quốc Tuấn, Hoa Sen, Nhân Văn, Bách Việt",
    sep=", ",
)
_MN_PRIVATE_NAMES = _words(
    "Thiên Thần Nhỏ, Ngôi Nhà Hạnh Phúc, Cầu Vồng, Bông Mai, Sao Sáng, Mặt Trời Bé Con, Bé Yêu, "
    "Ánh Sao, Tuổi Hồng, Hạnh Phúc, Việt Mỹ, Hoa Anh Đào, Bầu Trời Xanh, Vườn Xanh, Bé Ngoan, "
    "Thế Giới Trẻ Thơ, Ngôi Sao Nhỏ, Hoa Mặt Trời, Tuổi Thần Tiên, Ánh Trăng, "
    "Kỳ Diệu, Hoa Bé Ngoan, Chú Ong Vàng, Thỏ Trắng, Ngôi Nhà Trẻ Thơ, Sen Vàng, Tí Hon",
    sep=", ",
)
_GDTX_NAMES = ("Chu Văn An", "Gia Định", "Lê Quý Đôn", "Thanh niên xung phong", "Tôn Đức Thắng")
_LC_FORMS = (
    ("Tiểu học và THCS", 3),
    ("THCS và THPT", 4),
    ("TH, THCS và THPT", 5),
)

# Classes (min, max) and pupils per class (min, max), public / non-public.
_CLASSES = {
    Level.MN: ((10, 20, 25, 30), (4, 12, 18, 26)),
    Level.TH: ((20, 40, 33, 38), (10, 25, 25, 32)),
    Level.THCS: ((25, 45, 38, 44), (10, 25, 30, 36)),
    Level.THPT: ((30, 45, 40, 45), (12, 30, 35, 40)),
    Level.LC: ((20, 40, 35, 40), (20, 50, 28, 35)),
    Level.GDTX: ((10, 25, 35, 42), (8, 15, 30, 38)),
}
_STAFF_PER_CLASS = {Level.MN: 2.2, Level.TH: 1.7, Level.THCS: 2.2, Level.THPT: 2.5,
                    Level.LC: 2.3, Level.GDTX: 1.8}  # fmt: skip
_OWNERSHIP = {
    Level.MN: ((Ownership.PUBLIC, 0.55), (Ownership.PRIVATE, 0.37), (Ownership.COMMUNITY, 0.08)),
    Level.TH: ((Ownership.PUBLIC, 0.88), (Ownership.PRIVATE, 0.12)),
    Level.THCS: ((Ownership.PUBLIC, 0.9), (Ownership.PRIVATE, 0.1)),
    Level.THPT: ((Ownership.PUBLIC, 0.74), (Ownership.PRIVATE, 0.26)),
    Level.LC: ((Ownership.PUBLIC, 0.1), (Ownership.PRIVATE, 0.9)),
    Level.GDTX: ((Ownership.PUBLIC, 1.0),),
}
_COMMUNE_LEVELS = (Level.MN, Level.TH, Level.THCS)  # managed by xã/phường since 7/2025
_DEPARTMENT_LEVELS = (Level.THPT, Level.LC, Level.GDTX)  # managed by the Sở
_LEVEL_ORDER = (Level.MN, Level.TH, Level.THCS, Level.THPT, Level.LC, Level.GDTX)

# --------------------------------------------------------------------------- helpers


class _Weighted(Generic[T]):
    """Fast weighted choice: one ``rng.random()`` and a bisect."""

    def __init__(self, weights: dict[T, float] | Iterable[tuple[T, float]]) -> None:
        pairs = list(weights.items()) if isinstance(weights, dict) else list(weights)
        self.values = [v for v, _ in pairs]
        self.cum = list(itertools.accumulate(w for _, w in pairs))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> T:
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.total)]


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    if total <= 0 or not weights:
        return [0] * len(weights)
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _choice(rng: random.Random, seq: Sequence[T]) -> T:
    """``rng.choice`` in one ``random()`` call (faster; the stream differs from choice)."""
    return seq[int(rng.random() * len(seq))]


@functools.cache
def _fold_word(word: str) -> str:
    return fold(word)


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", fold(text))


@dataclass
class DemoData:
    """The three tables as rows of cell values (str, or int for numbers), headers apart."""

    units: list[Row] = field(default_factory=list)
    staff: list[Row] = field(default_factory=list)
    stats: list[Row] = field(default_factory=list)

    def tables(self) -> tuple[tuple[str, str, tuple[str, ...], list[Row]], ...]:
        """(file name, sheet name, header, rows) of each table."""
        rows = (self.units, self.staff, self.stats)
        return tuple((f, s, h, r) for (f, s, h), r in zip(TABLES, rows, strict=True))

    def summary(self) -> dict[str, object]:
        """Counts for reports: units by kind, schools by level and ownership, people, rows."""
        kinds: dict[str, int] = {}
        levels: dict[str, int] = {}
        ownership: dict[str, int] = {}
        for row in self.units:
            kinds[str(row[U_KIND])] = kinds.get(str(row[U_KIND]), 0) + 1
            if row[U_LEVEL]:
                levels[str(row[U_LEVEL])] = levels.get(str(row[U_LEVEL]), 0) + 1
                ownership[str(row[U_OWNERSHIP])] = ownership.get(str(row[U_OWNERSHIP]), 0) + 1
        rows_per_person: dict[Cell, int] = {}
        for row in self.staff:
            rows_per_person[row[S_ID]] = rows_per_person.get(row[S_ID], 0) + 1
        return {
            "units": len(self.units),
            "unit_kinds": kinds,
            "schools": sum(levels.values()),
            "schools_by_level": levels,
            "schools_by_ownership": ownership,
            "people": len(rows_per_person),
            "staff_rows": len(self.staff),
            "people_with_several_rows": sum(n > 1 for n in rows_per_person.values()),
            "stats_rows": len(self.stats),
        }


# --------------------------------------------------------------------------- generator


@dataclass
class _School:
    code: str
    name: str
    level: Level
    ownership: Ownership
    parent: str
    commune: Commune
    classes: int
    people: int = 0
    rows: list[Row] = field(default_factory=list)  # its staff rows, in file order


class _Generator:
    def __init__(self, preset: Preset, schools: int, staff: int, seed: int) -> None:
        self.preset = preset
        self.n_schools = schools
        self.n_staff = staff
        self.rng = random.Random(seed)
        self.phones: set[str] = set()
        self.emails: set[str] = set()
        self.portals: set[str] = set()
        self.names: set[str] = set()
        self.person_seq = 0
        self.dual: set[str] = set()  # ids of people already holding two positions
        self.family = _Weighted(_FAMILY)
        self.prefixes = _Weighted(_MOBILE_PREFIXES)
        self.phone_form = _Weighted(enumerate(_PHONE_FORM_WEIGHTS))
        self.subjects = {lvl: _Weighted(w) for lvl, w in _SUBJECTS.items()}
        self.teacher_training = {lvl: _Weighted(w) for lvl, w in _TEACHER_TRAINING.items()}
        self.manager_training = {lvl: _Weighted(w) for lvl, w in _MANAGER_TRAINING.items()}
        self.support_training = _Weighted(_SUPPORT_TRAINING)
        self.data = DemoData()

    # ---- people

    def person(self, female: bool, age: tuple[int, int, int], training: _Weighted[str],
               email: float = 0.45) -> Row:  # fmt: skip
        """A new person as a staff row whose unit, position and subject are still blank."""
        rng = self.rng
        low, mode, high = age
        if female:
            high = min(high, 56)  # retirement age of women in 2025
            mode = min(mode, high - 1)
        years = rng.triangular(low, high, mode)
        birth = dt.date.fromordinal(_REFERENCE_ORDINAL - int(years * 365.25))
        name = self.full_name(female, birth.year)
        self.person_seq += 1
        return [
            f"NS{self.person_seq:07d}",
            name,
            self.phone(),
            self.email(name, birth.year) if rng.random() < email else "",
            "",
            "",
            training.pick(rng),
            "",
            "Nữ" if female else "Nam",
            f"{birth.day:02d}/{birth.month:02d}/{birth.year}",
        ]

    def full_name(self, female: bool, born: int) -> str:
        rng = self.rng
        family = self.family.pick(rng)
        old = born < 1985
        if female:
            if rng.random() < (0.6 if old else 0.3):
                middle = ["Thị"]
                if rng.random() < 0.3:
                    middle.append(_choice(rng, _FEMALE_MIDDLE))
            else:
                middle = [_choice(rng, _FEMALE_MIDDLE)]
                if rng.random() < 0.15:
                    middle.insert(0, _choice(rng, _FEMALE_MIDDLE))
            given_pool = _FEMALE_GIVEN
        else:
            if rng.random() < (0.45 if old else 0.2):
                middle = ["Văn"]
            else:
                middle = [_choice(rng, _MALE_MIDDLE)]
                if rng.random() < 0.05:
                    middle.insert(0, _choice(rng, _MALE_MIDDLE))
            given_pool = _MALE_GIVEN
        given = _choice(rng, given_pool)
        while given in middle:
            given = _choice(rng, given_pool)
        if len(middle) == 2 and middle[0] == middle[1]:
            middle.pop()
        return " ".join((family, *middle, given))

    def phone(self) -> Cell:
        rng = self.rng
        while True:
            national = f"{self.prefixes.pick(rng)}{int(rng.random() * 10_000_000):07d}"
            if national not in self.phones and _VN_MOBILE.fullmatch(national):
                self.phones.add(national)
                return _phone_form(national, self.phone_form.pick(rng))

    def email(self, name: str, born: int, domain: str | None = None) -> str:
        rng = self.rng
        words = [_fold_word(w) for w in name.split()]
        style = rng.random()
        if style < 0.4:
            local = words[-1] + "".join(w[0] for w in words[:-1])  # huongntt
        elif style < 0.7:
            local = "".join(words)  # nguyenthithanhhuong
        else:
            local = words[-1] + "." + words[0]  # huong.nguyen
        if domain is None:
            domain = "gmail.com" if rng.random() < 0.65 else PORTAL_DOMAIN
            if domain == "gmail.com" and rng.random() < 0.6:
                local += str(born % 100).zfill(2)
        email = f"{local}@{domain}"
        k = 1
        while email in self.emails:
            k += 1
            email = f"{local}{k}@{domain}"
        self.emails.add(email)
        return email

    # ---- units

    def unit(self, code: str, name: str, parent: str, kind: UnitKind, level: Level | None = None,
             ownership: Ownership | None = None, slug: str | None = None,
             portal_share: float = 0.0) -> Row:  # fmt: skip
        assert name not in self.names, name
        self.names.add(name)
        portal = rss = ""
        if slug is not None and self.rng.random() < portal_share:
            base, k = slug, 1
            while slug in self.portals:
                k += 1
                slug = f"{base}{k}"
            self.portals.add(slug)
            portal = f"https://{slug}.{PORTAL_DOMAIN}" if slug else f"https://{PORTAL_DOMAIN}"
            if self.rng.random() < 0.9:
                rss = f"{portal}/rss"
        row: Row = [code, name, parent, label(kind), "", "", portal, rss]
        if level is not None:
            row[U_LEVEL] = label(level)
        if ownership is not None:
            row[U_OWNERSHIP] = label(ownership)
        self.data.units.append(row)
        return row

    def office_staff(self, code: str, positions: Sequence[tuple[Position, int]],
                     training: _Weighted[str], female: float) -> None:  # fmt: skip
        for position, count in positions:
            for _ in range(count):
                senior = position is not Position.SPECIALIST
                age = (40, 50, 60) if senior else (25, 38, 58)
                row = self.person(self.rng.random() < female, age, training, email=0.0)
                if self.rng.random() < 0.9:
                    born = int(str(row[S_BIRTH])[-4:])
                    row[S_EMAIL] = self.email(str(row[S_NAME]), born, PORTAL_DOMAIN)
                row[S_UNIT] = code
                row[S_POSITION] = label(position)
                self.data.staff.append(row)

    def run(self) -> DemoData:
        rng = self.rng
        clusters = self.clusters()
        communes = [c for cluster in clusters for c in cluster]
        n_specialists = max(6, min(80, self.n_staff // 2000))
        dept_leaders = [
            (Position.DIRECTOR, 1),
            (Position.DEPUTY_DIRECTOR, 3 if self.n_staff < 20_000 else 5),
        ]
        dept_staff = [(Position.SPECIALIST, n_specialists)]
        commune_staff = [
            [(Position.HEAD, 1), (Position.DEPUTY_HEAD, int(rng.random() < 0.7)),
             (Position.SPECIALIST, rng.randint(1, 3))]
            for _ in communes
        ]  # fmt: skip
        office_people = sum(n for _, n in [*dept_leaders, *dept_staff]) + sum(
            n for staff in commune_staff for _, n in staff
        )

        self.unit("so", "Sở Giáo dục và Đào tạo Thành phố Hồ Chí Minh", "", UnitKind.DEPARTMENT,
                  slug="", portal_share=1.0)  # fmt: skip
        self.office_staff("so", dept_leaders, _Weighted(_LEADER_TRAINING), 0.35)
        self.office_staff("so", dept_staff, _Weighted(_DEPARTMENT_TRAINING), 0.55)
        commune_training = _Weighted(_COMMUNE_TRAINING)
        for k, cluster in enumerate(clusters, 1):
            self.unit(f"cum-{k}", f"Cụm chuyên môn {k}", "so", UnitKind.CLUSTER)
            for commune in cluster:
                self.unit(commune.code, commune.title, f"cum-{k}", UnitKind.COMMUNE,
                          slug=commune.slug, portal_share=0.8)  # fmt: skip
                staff = commune_staff[communes.index(commune)]
                self.office_staff(commune.code, staff, commune_training, 0.6)

        schools = self.plan_schools(communes)
        self.plan_staff(schools, self.n_staff - office_people)
        by_level: dict[tuple[Level, str], list[_School]] = {}
        for school in schools:
            by_level.setdefault((school.level, school.parent), []).append(school)
        for school in schools:
            self.school_unit(school)
            self.school_staff(school)
            self.school_stats(school)
        self.second_schools(schools, by_level)
        for school in schools:
            self.data.staff.extend(school.rows)
        return self.data

    def clusters(self) -> list[list[Commune]]:
        if self.preset.clusters is not None:
            return [[_COMMUNE_BY_NAME[n] for n in names] for names in self.preset.clusters]
        sizes = _apportion(len(COMMUNES), [1.0] * 16)
        it = iter(COMMUNES)
        return [[next(it) for _ in range(size)] for size in sizes]

    def plan_schools(self, communes: list[Commune]) -> list[_School]:
        """Levels, ownership, parents, sizes, codes and names of every school."""
        rng = self.rng
        levels, weights = zip(*self.preset.level_weights, strict=True)
        per_level = dict(zip(levels, _apportion(self.n_schools, weights), strict=True))
        commune_weight = [rng.uniform(0.6, 1.4) for _ in communes]
        planned: list[tuple[Level, Ownership, Commune | None]] = []
        for level in _LEVEL_ORDER:
            count = per_level.get(level, 0)
            kinds, shares = zip(*_OWNERSHIP[level], strict=True)
            owners = [o for o, n in zip(kinds, _apportion(count, shares), strict=True)
                      for _ in range(n)]  # fmt: skip
            rng.shuffle(owners)
            if level in _COMMUNE_LEVELS:
                homes = [c for c, n in zip(communes, _apportion(count, commune_weight),
                                           strict=True) for _ in range(n)]  # fmt: skip
            else:
                homes = [None] * count
            planned.extend(zip([level] * count, owners, homes, strict=True))
        # Group by parent: commune schools in commune order, then the Sở's schools.
        order = {c.code: i for i, c in enumerate(communes)}
        planned.sort(key=lambda p: order[p[2].code] if p[2] else len(order))
        serial: dict[str, int] = {}
        width = 3 if max([*_count_by_parent(planned).values(), 0]) < 1000 else 4
        schools = []
        for level, ownership, home in planned:
            parent = home.code if home else "so"
            serial[parent] = serial.get(parent, 0) + 1
            number = home.number if home else 0
            located = home or rng.choice(communes)
            lo, hi, *_ = _CLASSES[level][not ownership.is_public]
            schools.append(
                _School(
                    code=f"79{number:03d}{serial[parent]:0{width}d}",
                    name="",
                    level=level,
                    ownership=ownership,
                    parent=parent,
                    commune=located,
                    classes=rng.randint(lo, hi),
                )
            )
        return schools

    def plan_staff(self, schools: list[_School], budget: int) -> None:
        """People per school: a minimum, plus the budget's rest in proportion to classes."""
        minimum = [6 if s.level in (Level.TH, Level.THCS, Level.LC) else 5 for s in schools]
        weights = [s.classes * _STAFF_PER_CLASS[s.level] for s in schools]
        extra = _apportion(budget - sum(minimum), weights)
        for school, low, more in zip(schools, minimum, extra, strict=True):
            school.people = low + more

    def school_name(self, school: _School) -> tuple[str, str]:
        """A unique name and a portal slug for the school."""
        rng = self.rng
        level, commune, public = school.level, school.commune, school.ownership.is_public
        for _ in range(1000):
            prefix = _LEVEL_PREFIX.get(level, "")
            slug_prefix = _LEVEL_SLUG[level]
            if level is Level.GDTX:
                if rng.random() < 0.4:
                    head, base = "Trung tâm GDTX", rng.choice(_GDTX_NAMES)
                else:
                    head, base = "Trung tâm GDNN-GDTX", commune.name
                name = f"{head} {base}"
            elif level is Level.LC:
                form = _LC_FORMS[rng.randrange(len(_LC_FORMS))][0]
                base = commune.name if public else rng.choice(_PRIVATE_NAMES)
                name = f"Trường {form} {base}"
            elif level is Level.MN:
                roll = rng.random()
                if not public:
                    base = rng.choice(_MN_PRIVATE_NAMES if roll < 0.7 else _MN_NAMES)
                    tag = label(school.ownership) if rng.random() < 0.5 else ""
                    name = " ".join(filter(None, ("Trường Mầm non", tag, base)))
                else:
                    base = commune.name if roll < 0.15 else rng.choice(_MN_NAMES)
                    name = f"Trường Mầm non {base}"
            else:
                roll = rng.random()
                if not public:
                    base = rng.choice(_PRIVATE_NAMES)
                elif roll < 0.2:
                    base = commune.name
                else:
                    base = rng.choice(_FIGURES)
                name = f"Trường {prefix} {base}"
            slug = slug_prefix + _slug(base)
            if name in self.names:
                if base == commune.name:
                    continue  # another school named after the commune: draw again
                name = f"{name} ({commune.lower})"
                slug = f"{slug}-{commune.slug}"
            if name not in self.names:
                return name, slug
        raise RuntimeError(f"no free name for a {level} school in {commune.title}")

    def school_unit(self, school: _School) -> None:
        school.name, slug = self.school_name(school)
        share = 0.92 if school.ownership.is_public else 0.75
        self.unit(school.code, school.name, school.parent, UnitKind.SCHOOL, school.level,
                  school.ownership, slug=slug, portal_share=share)  # fmt: skip

    def school_staff(self, school: _School) -> None:
        rng = self.rng
        level, n = school.level, school.people
        f_teacher, f_manager, f_support = _FEMALE[level]
        pioneer = int(level in (Level.TH, Level.THCS, Level.LC))
        vice = 1 + (n >= 14) + (n >= 40)
        support = max(1, round(n * 0.14))
        teachers = n - 1 - vice - pioneer - support
        while teachers < 2 and (support > 1 or vice > 1):
            if support > 1:
                support -= 1
            else:
                vice -= 1
            teachers += 1
        head, deputy = (
            (Position.DIRECTOR, Position.DEPUTY_DIRECTOR)
            if level is Level.GDTX
            else (Position.PRINCIPAL, Position.VICE_PRINCIPAL)
        )
        manager_training = self.manager_training[level]
        teacher_training = self.teacher_training[level]
        subjects = self.subjects[level]
        rows = school.rows

        def add(row: Row, position: Position, subject: str = "") -> Row:
            row[S_UNIT], row[S_POSITION], row[S_SUBJECT] = school.code, label(position), subject
            rows.append(row)
            return row

        add(self.person(rng.random() < f_manager, (38, 48, 60), manager_training), head)
        for _ in range(vice):
            row = add(self.person(rng.random() < f_manager, (33, 45, 60), manager_training),
                      deputy)  # fmt: skip
            if rng.random() < 0.15 and level is not Level.GDTX:
                rows.append(self.second_position(row, school.code, Position.TEACHER,
                                                 str(subjects.pick(rng))))  # fmt: skip
        if pioneer:
            add(self.person(rng.random() < 0.6, (23, 30, 45), teacher_training),
                Position.PIONEER_LEADER)  # fmt: skip
        first_teacher = len(rows)
        for _ in range(teachers):
            add(self.person(rng.random() < f_teacher, (22, 38, 60), teacher_training),
                Position.TEACHER, str(subjects.pick(rng)))  # fmt: skip
        kinds = _SUPPORT.get(level, _SUPPORT_DEFAULT)
        for i in range(support):
            position = kinds[i] if i < len(kinds) else Position.STAFF
            row = add(self.person(rng.random() < f_support, (20, 36, 58), self.support_training),
                      position)  # fmt: skip
            if position is Position.ACCOUNTANT and support < 3 and rng.random() < 0.3:
                rows.append(self.second_position(row, school.code, Position.CLERK))
        self.school_teams(school, rows[first_teacher : first_teacher + teachers])

    def second_position(self, row: Row, unit: str, position: Position, subject: str = "") -> Row:
        self.dual.add(str(row[S_ID]))
        second = list(row)
        second[S_UNIT], second[S_POSITION], second[S_SUBJECT] = unit, label(position), subject
        return second

    def school_teams(self, school: _School, teachers: list[Row]) -> None:
        """Tổ chuyên môn under some schools, each led by one of the school's teachers."""
        rng = self.rng
        if rng.random() >= _TEAM_SHARE[school.level] or len(teachers) < 6:
            return
        templates = _TEAMS[school.level]
        count = min(rng.randint(2, 4), len(templates), len(teachers) // 3)
        free = list(teachers)
        rng.shuffle(free)
        short = school.name.removeprefix("Trường ")
        for k in sorted(rng.sample(range(len(templates)), count)):
            title, subjects = templates[k]
            code = f"{school.code}-{fold(title).removeprefix('to ').replace(' ', '-')}"
            self.unit(code, f"{title} – {short}", school.code, UnitKind.TEAM)
            roles = [Position.TEAM_LEADER]
            if len(free) > 3 and rng.random() < 0.3:
                roles.append(Position.TEAM_DEPUTY)
            for role in roles:
                match = next((r for r in free if r[S_SUBJECT] in subjects), free[0])
                free.remove(match)
                match[S_UNIT], match[S_POSITION] = code, label(role)
                if match[S_SUBJECT] not in subjects:
                    match[S_SUBJECT] = subjects[0]

    def second_schools(self, schools: list[_School],
                       by_level: dict[tuple[Level, str], list[_School]]) -> None:  # fmt: skip
        """About 1.2% of teachers also teach at a second school of the same level."""
        rng = self.rng
        teacher = label(Position.TEACHER)
        same_level: dict[Level, list[_School]] = {}
        for school in schools:
            same_level.setdefault(school.level, []).append(school)
        for school in schools:
            for row in list(school.rows):
                if row[S_POSITION] != teacher or row[S_ID] in self.dual:
                    continue
                if rng.random() >= 0.012 or school.level is Level.MN:
                    continue
                nearby = by_level[(school.level, school.parent)]
                pool = nearby if len(nearby) > 1 else same_level[school.level]
                if len(pool) < 2:
                    continue
                other = rng.choice(pool)
                while other is school:
                    other = rng.choice(pool)
                other.rows.append(self.second_position(row, other.code, Position.TEACHER,
                                                       str(row[S_SUBJECT])))  # fmt: skip

    def school_stats(self, school: _School) -> None:
        """Số lớp and Số học sinh for both years: the school's class size drifts a little."""
        rng = self.rng
        _, _, size_lo, size_hi = _CLASSES[school.level][not school.ownership.is_public]
        size = rng.uniform(size_lo, size_hi)
        classes = school.classes
        previous = max(1, classes + rng.randint(-2, 2))
        for year, n in zip(SCHOOL_YEARS, (previous, classes), strict=True):
            pupils = round(n * size * rng.uniform(0.97, 1.03))
            self.data.stats.append([school.code, year, n, pupils])


def _count_by_parent(planned: list[tuple[Level, Ownership, Commune | None]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, _, home in planned:
        key = home.code if home else "so"
        counts[key] = counts.get(key, 0) + 1
    return counts


# --------------------------------------------------------------------------- API


def generate(
    preset: str = "demo", *, schools: int | None = None, staff: int | None = None, seed: int = 2025
) -> DemoData:
    """The demo directory as rows; ``schools`` and ``staff`` (people) override the preset.

    ``staff`` counts distinct people, offices included; it is met exactly unless it is too
    small for the schools' minimum (head, deputy, two teachers, one support staff).
    """
    try:
        chosen = PRESETS[preset]
    except KeyError:
        raise ValueError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}") from None
    n_schools = chosen.schools if schools is None else schools
    n_staff = chosen.staff if staff is None else staff
    if n_schools < 0 or n_staff < 0:
        raise ValueError("schools and staff must be ≥ 0")
    return _Generator(chosen, n_schools, n_staff, seed).run()


def write_demo(
    out_dir: Path,
    preset: str = "demo",
    *,
    schools: int | None = None,
    staff: int | None = None,
    seed: int = 2025,
    xlsx: bool = False,
) -> list[Path]:
    """Write don_vi.csv, nhan_su.csv, thong_ke.csv (or danh_ba.xlsx) into ``out_dir``."""
    data = generate(preset, schools=schools, staff=staff, seed=seed)
    return write_data(data, out_dir, xlsx=xlsx)


def write_data(data: DemoData, out_dir: Path, *, xlsx: bool = False) -> list[Path]:
    """Write already generated tables as CSV files or one workbook; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if xlsx:
        path = out_dir / XLSX_NAME
        _write_xlsx(data, path)
        return [path]
    paths = []
    for file_name, _, header, rows in data.tables():
        path = out_dir / file_name
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
        paths.append(path)
    return paths


class _FixedTimeZip(zipfile.ZipFile):
    """A ZipFile stamping every member with one fixed time, so workbooks are reproducible."""

    def writestr(
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: bytes | str,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = zipfile.ZipInfo(zinfo_or_arcname, date_time=_FIXED_ZIP_TIME)
            zinfo_or_arcname.compress_type = self.compression
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(
        self,
        filename: str | Path,
        arcname: str | None = None,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        self.writestr(arcname or str(filename), Path(filename).read_bytes(), compress_type)


def _write_xlsx(data: DemoData, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook(write_only=True)
    fixed = dt.datetime(*_FIXED_ZIP_TIME)
    wb.properties.created = wb.properties.modified = fixed
    wb.properties.creator = "Điều hành"
    for _, sheet, header, rows in data.tables():
        ws = wb.create_sheet(sheet)
        ws.append(header)
        for row in rows:
            ws.append([None if cell == "" else cell for cell in row])  # blank, as Excel keeps it
    with _FixedTimeZip(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m provisioning.demo OUT_DIR [--preset P] [--xlsx]``: write and time."""
    parser = argparse.ArgumentParser(description="Write a synthetic school directory.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--preset", default="demo", choices=sorted(PRESETS))
    parser.add_argument("--schools", type=int)
    parser.add_argument("--staff", type=int)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--xlsx", action="store_true")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    data = generate(args.preset, schools=args.schools, staff=args.staff, seed=args.seed)
    generated = time.perf_counter()
    paths = write_data(data, args.out_dir, xlsx=args.xlsx)
    done = time.perf_counter()
    print(data.summary())
    print(f"generate {generated - start:.2f}s, write {done - generated:.2f}s, "
          f"total {done - start:.2f}s: {', '.join(map(str, paths))}")  # fmt: skip


if __name__ == "__main__":
    main()
