"""The domain's closed vocabularies: unit kinds, levels, ownership, positions, training.

Each value has an English code (stored in the database), a Vietnamese label (shown to
people) and the spellings and abbreviations accepted on input. Input is matched
with :func:`provisioning.text.compact`, so accents, case and spacing never matter.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from provisioning.text import compact


class UnitKind(StrEnum):
    DEPARTMENT = "department"
    OFFICE = "office"
    COMMUNE = "commune"
    CLUSTER = "cluster"
    SCHOOL = "school"
    TEAM = "team"


class Level(StrEnum):
    """Cấp học; the value is the abbreviation officials use."""

    MN = "MN"
    TH = "TH"
    THCS = "THCS"
    THPT = "THPT"
    LC = "LC"
    GDTX = "GDTX"


class Ownership(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    COMMUNITY = "community"
    NON_PUBLIC = "non_public"  # "Ngoài công lập" given without saying which

    @property
    def is_public(self) -> bool:
        return self is Ownership.PUBLIC


class PositionGroup(StrEnum):
    MANAGEMENT = "management"
    TEACHING = "teaching"
    STAFF = "staff"


class Position(StrEnum):
    DIRECTOR = "director"
    DEPUTY_DIRECTOR = "deputy_director"
    HEAD = "head"
    DEPUTY_HEAD = "deputy_head"
    PRINCIPAL = "principal"
    VICE_PRINCIPAL = "vice_principal"
    TEACHER = "teacher"
    TEAM_LEADER = "team_leader"
    TEAM_DEPUTY = "team_deputy"
    PIONEER_LEADER = "pioneer_leader"
    STAFF = "staff"
    SPECIALIST = "specialist"
    ACCOUNTANT = "accountant"
    CLERK = "clerk"
    NURSE = "nurse"
    LIBRARIAN = "librarian"
    EQUIPMENT = "equipment"

    @property
    def group(self) -> PositionGroup:
        return POSITION_GROUP[self]


class TrainingLevel(StrEnum):
    DOCTORATE = "doctorate"
    MASTER = "master"
    BACHELOR = "bachelor"
    COLLEGE = "college"
    VOCATIONAL = "vocational"
    OTHER = "other"


POSITION_GROUP: dict[Position, PositionGroup] = {
    **dict.fromkeys(
        [
            Position.DIRECTOR,
            Position.DEPUTY_DIRECTOR,
            Position.HEAD,
            Position.DEPUTY_HEAD,
            Position.PRINCIPAL,
            Position.VICE_PRINCIPAL,
        ],
        PositionGroup.MANAGEMENT,
    ),
    **dict.fromkeys(
        [
            Position.TEACHER,
            Position.TEAM_LEADER,
            Position.TEAM_DEPUTY,
            Position.PIONEER_LEADER,
        ],
        PositionGroup.TEACHING,
    ),
    **dict.fromkeys(
        [
            Position.STAFF,
            Position.SPECIALIST,
            Position.ACCOUNTANT,
            Position.CLERK,
            Position.NURSE,
            Position.LIBRARIAN,
            Position.EQUIPMENT,
        ],
        PositionGroup.STAFF,
    ),
}

#: Order in which a person with several positions is counted (DATA-FORMAT.md).
GROUP_ORDER = (PositionGroup.MANAGEMENT, PositionGroup.TEACHING, PositionGroup.STAFF)

# label first, then short form (if any), then other accepted spellings
_LABELS: dict[StrEnum, tuple[str, ...]] = {
    UnitKind.DEPARTMENT: ("Sở", "Sở GD&ĐT", "Sở Giáo dục và Đào tạo"),
    UnitKind.OFFICE: ("Phòng", "Phòng GD&ĐT", "Phòng Giáo dục và Đào tạo"),
    UnitKind.COMMUNE: (
        "Xã/Phường",
        "Xã",
        "Phường",
        "Đặc khu",
        "UBND xã",
        "UBND phường",
        "Phòng Văn hóa – Xã hội",
        "Phòng VH-XH",
    ),
    UnitKind.CLUSTER: ("Cụm", "Cụm chuyên môn"),
    UnitKind.SCHOOL: (
        "Trường",
        "Trường học",
        "Nhóm trẻ",
        "Lớp mẫu giáo độc lập",
        "Trung tâm GDTX",
        "Trung tâm GDNN-GDTX",
    ),
    UnitKind.TEAM: ("Tổ", "Tổ chuyên môn", "Tổ văn phòng"),
    Level.MN: ("Mầm non", "MN", "Mẫu giáo", "Nhà trẻ"),
    Level.TH: ("Tiểu học", "TH"),
    Level.THCS: ("THCS", "THCS", "Trung học cơ sở"),
    Level.THPT: ("THPT", "THPT", "Trung học phổ thông"),
    Level.LC: ("Liên cấp", "LC"),
    Level.GDTX: ("GDTX", "GDTX", "Giáo dục thường xuyên", "GDNN-GDTX"),
    Ownership.PUBLIC: ("Công lập", "CL"),
    Ownership.PRIVATE: ("Tư thục", "TT"),
    Ownership.COMMUNITY: ("Dân lập", "DL"),
    Ownership.NON_PUBLIC: ("Ngoài công lập", "NCL"),
    Position.DIRECTOR: ("Giám đốc", "GĐ"),
    Position.DEPUTY_DIRECTOR: ("Phó Giám đốc", "PGĐ"),
    Position.HEAD: ("Trưởng phòng", "TP"),
    Position.DEPUTY_HEAD: ("Phó Trưởng phòng", "PTP"),
    Position.PRINCIPAL: ("Hiệu trưởng", "HT"),
    Position.VICE_PRINCIPAL: ("Phó Hiệu trưởng", "PHT"),
    Position.TEACHER: ("Giáo viên", "GV", "GVCN", "Giáo viên chủ nhiệm", "Giáo viên bộ môn"),
    Position.TEAM_LEADER: ("Tổ trưởng chuyên môn", "TTCM", "Tổ trưởng"),
    Position.TEAM_DEPUTY: ("Tổ phó chuyên môn", "TPCM", "Tổ phó"),
    Position.PIONEER_LEADER: ("Tổng phụ trách Đội", "TPT", "TPT Đội", "Tổng phụ trách"),
    Position.STAFF: ("Nhân viên", "NV"),
    Position.SPECIALIST: ("Chuyên viên", "CV"),
    Position.ACCOUNTANT: ("Kế toán",),
    Position.CLERK: ("Văn thư",),
    Position.NURSE: ("Y tế", "Nhân viên y tế"),
    Position.LIBRARIAN: ("Thư viện", "Nhân viên thư viện"),
    Position.EQUIPMENT: ("Thiết bị", "Nhân viên thiết bị"),
    TrainingLevel.DOCTORATE: ("Tiến sĩ", "TS"),
    TrainingLevel.MASTER: ("Thạc sĩ", "ThS"),
    TrainingLevel.BACHELOR: ("Đại học", "ĐH", "Cử nhân", "Kỹ sư"),
    TrainingLevel.COLLEGE: ("Cao đẳng", "CĐ"),
    TrainingLevel.VOCATIONAL: ("Trung cấp", "TC"),
    TrainingLevel.OTHER: ("Khác",),
}

#: Short forms shown in display names ("Nguyễn Văn An · GV · THCS Đỗ Văn Dậy").
_SHORT: dict[StrEnum, str] = {
    member: labels[1]
    for member, labels in _LABELS.items()
    if len(labels) > 1 and labels[1].upper() == labels[1]
}

E = TypeVar("E", bound=StrEnum)

_LOOKUP: dict[type, dict[str, StrEnum]] = {}
for _member, _labels in _LABELS.items():
    table = _LOOKUP.setdefault(type(_member), {})
    for _spelling in (*_labels, _member.value):
        table[compact(_spelling)] = _member


_PARSED: dict[tuple[type, str], StrEnum | None] = {}


def parse(kind: type[E], raw: str) -> E | None:
    """The member of ``kind`` that ``raw`` names, or None. Accent-, case- and space-blind."""
    try:
        return _PARSED[kind, raw]  # type: ignore[return-value]
    except KeyError:
        pass
    member = _LOOKUP[kind].get(compact(raw)) if raw else None
    if len(_PARSED) < 10_000:  # spellings repeat on every row; free text must not grow this
        _PARSED[kind, raw] = member
    return member  # type: ignore[return-value]


def label(member: StrEnum) -> str:
    """Vietnamese label with diacritics: Position.PRINCIPAL → "Hiệu trưởng"."""
    return _LABELS[member][0]


def short(member: StrEnum) -> str:
    """Short form where one is customary (HT, GV, THCS, CL), else the label."""
    return _SHORT.get(member, _LABELS[member][0])


def spellings(kind: type[StrEnum]) -> list[str]:
    """Labels of every member of ``kind``, for error messages listing what is accepted."""
    return [label(m) for m in kind]  # type: ignore[arg-type]
