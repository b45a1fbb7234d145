"""How the demo city's people and schools are spread: phone prefixes and spellings,
training, subjects, tổ chuyên môn, support staff, women's share, sizes and ownership."""

from __future__ import annotations

from provisioning.vocab import Level, Ownership, Position, TrainingLevel, label

# Mobile prefixes in use since the 2018 renumbering, weighted roughly by market share. Every
# number drawn is also checked against libphonenumber's pattern (099 is only partly valid).
# They are random, so some belong to real subscribers: never send real SMS to demo data.
MOBILE_PREFIXES = {
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

# How often each spelling of a number is found in a file: 0912345678, 0912.345.678,
# 0912 345 678, +84912345678, 84912345678, and 912345678 (Excel dropped the 0).
PHONE_FORM_WEIGHTS = (74, 7, 6, 5, 3, 5)

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


TEACHER_TRAINING = {
    Level.MN: _training(ths=1, dh=55, cd=33, tc=9, blank=2),
    Level.TH: _training(ths=4, dh=83, cd=10, tc=1.5, blank=1.5),
    Level.THCS: _training(ts=0.2, ths=10, dh=84, cd=4.8, blank=1),
    Level.THPT: _training(ts=1.5, ths=27, dh=70, blank=1.5),
    Level.LC: _training(ts=0.5, ths=14, dh=79, cd=5, blank=1.5),
    Level.GDTX: _training(ts=1, ths=22, dh=75, blank=2),
}
MANAGER_TRAINING = {
    Level.MN: _training(ths=15, dh=83, cd=2),
    Level.TH: _training(ths=30, dh=70),
    Level.THCS: _training(ts=1, ths=40, dh=59),
    Level.THPT: _training(ts=5, ths=60, dh=35),
    Level.LC: _training(ts=3, ths=50, dh=47),
    Level.GDTX: _training(ts=3, ths=52, dh=45),
}
SUPPORT_TRAINING = _training(dh=38, cd=24, tc=26, khac=6, blank=6)
DEPARTMENT_TRAINING = _training(ts=8, ths=55, dh=37)
LEADER_TRAINING = _training(ts=30, ths=60, dh=10)
COMMUNE_TRAINING = _training(ths=30, dh=70)

SUBJECTS = {
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
SUBJECTS[Level.LC] = {
    s: SUBJECTS[Level.TH].get(s, 0) * 0.3
    + SUBJECTS[Level.THCS].get(s, 0) * 0.4
    + SUBJECTS[Level.THPT].get(s, 0) * 0.3
    for s in {**SUBJECTS[Level.TH], **SUBJECTS[Level.THCS], **SUBJECTS[Level.THPT]}
}
SUBJECTS[Level.GDTX] = {
    s: w for s, w in SUBJECTS[Level.THPT].items() if s not in ("Giáo dục thể chất", "Công nghệ")
}

# Tổ chuyên môn per level: (name, subjects its leader may teach).
TEAMS: dict[Level, tuple[tuple[str, tuple[str, ...]], ...]] = {
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
TEAMS[Level.LC] = TEAMS[Level.THCS]
TEAMS[Level.GDTX] = TEAMS[Level.THPT][:6]
TEAM_SHARE = {Level.MN: 0.15, Level.TH: 0.3, Level.THCS: 0.45, Level.THPT: 0.6,
               Level.LC: 0.4, Level.GDTX: 0.25}  # fmt: skip

# Support staff kinds in the order a school fills them; further ones are "Nhân viên".
SUPPORT = {
    Level.MN: (Position.ACCOUNTANT, Position.NURSE, Position.STAFF, Position.CLERK),
    Level.GDTX: (Position.ACCOUNTANT, Position.CLERK, Position.EQUIPMENT, Position.LIBRARIAN),
}
SUPPORT_DEFAULT = (
    Position.ACCOUNTANT,
    Position.CLERK,
    Position.NURSE,
    Position.LIBRARIAN,
    Position.EQUIPMENT,
)

# Share of women among teachers, managers and support staff, by level.
FEMALE = {
    Level.MN: (0.985, 0.95, 0.75),
    Level.TH: (0.82, 0.65, 0.6),
    Level.THCS: (0.72, 0.5, 0.6),
    Level.THPT: (0.62, 0.35, 0.55),
    Level.LC: (0.75, 0.5, 0.6),
    Level.GDTX: (0.55, 0.35, 0.55),
}

# --------------------------------------------------------------------------- schools

# Classes (min, max) and pupils per class (min, max), public / non-public.
CLASSES = {
    Level.MN: ((10, 20, 25, 30), (4, 12, 18, 26)),
    Level.TH: ((20, 40, 33, 38), (10, 25, 25, 32)),
    Level.THCS: ((25, 45, 38, 44), (10, 25, 30, 36)),
    Level.THPT: ((30, 45, 40, 45), (12, 30, 35, 40)),
    Level.LC: ((20, 40, 35, 40), (20, 50, 28, 35)),
    Level.GDTX: ((10, 25, 35, 42), (8, 15, 30, 38)),
}
STAFF_PER_CLASS = {Level.MN: 2.2, Level.TH: 1.7, Level.THCS: 2.2, Level.THPT: 2.5,
                    Level.LC: 2.3, Level.GDTX: 1.8}  # fmt: skip
OWNERSHIP = {
    Level.MN: ((Ownership.PUBLIC, 0.55), (Ownership.PRIVATE, 0.37), (Ownership.COMMUNITY, 0.08)),
    Level.TH: ((Ownership.PUBLIC, 0.88), (Ownership.PRIVATE, 0.12)),
    Level.THCS: ((Ownership.PUBLIC, 0.9), (Ownership.PRIVATE, 0.1)),
    Level.THPT: ((Ownership.PUBLIC, 0.74), (Ownership.PRIVATE, 0.26)),
    Level.LC: ((Ownership.PUBLIC, 0.1), (Ownership.PRIVATE, 0.9)),
    Level.GDTX: ((Ownership.PUBLIC, 1.0),),
}
COMMUNE_LEVELS = (Level.MN, Level.TH, Level.THCS)  # managed by xã/phường since 7/2025
LEVEL_ORDER = (Level.MN, Level.TH, Level.THCS, Level.THPT, Level.LC, Level.GDTX)
