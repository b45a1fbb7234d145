"""Statistics of the schools of one level under one unit (pure; see DATA-FORMAT.md).

``compute`` returns exactly the JSON object of the statistics contract; the CLI's
``dieuhanh stats --json`` and the bot's ``!thongke`` both print what it returns.
"""

from __future__ import annotations

from typing import Any

from provisioning import vocab
from provisioning.text import format_number
from provisioning.view import DirectoryView, UnitView
from provisioning.vocab import GROUP_ORDER, Level, PositionGroup, TrainingLevel

_TRAINING_KEYS = {
    TrainingLevel.DOCTORATE: "tien_si",
    TrainingLevel.MASTER: "thac_si",
    TrainingLevel.BACHELOR: "dai_hoc",
    TrainingLevel.COLLEGE: "cao_dang",
    TrainingLevel.VOCATIONAL: "trung_cap",
    TrainingLevel.OTHER: "khac",
}
_RANK = {
    TrainingLevel.DOCTORATE: 5,
    TrainingLevel.MASTER: 4,
    TrainingLevel.BACHELOR: 3,
    TrainingLevel.COLLEGE: 2,
    TrainingLevel.VOCATIONAL: 1,
    TrainingLevel.OTHER: 0,
}


def standard_for(level: Level) -> tuple[TrainingLevel, TrainingLevel]:
    """(minimum that meets the standard, minimum above it) — Luật Giáo dục 2019, Điều 72."""
    if level is Level.MN:
        return TrainingLevel.COLLEGE, TrainingLevel.BACHELOR
    return TrainingLevel.BACHELOR, TrainingLevel.MASTER


def default_scope(view: DirectoryView) -> UnitView | None:
    """The single root of the directory, or None when there are several (or none)."""
    roots = view.roots()
    return roots[0] if len(roots) == 1 else None


def compute(view: DirectoryView, level: Level, unit: UnitView | None = None) -> dict[str, Any]:
    """The statistics contract for the schools of ``level`` under ``unit`` (all when None)."""
    if unit is None:
        unit = default_scope(view)
    schools = view.schools(unit.id if unit is not None else None, level)
    public = sum(1 for s in schools if s.ownership is not None and s.ownership.is_public)
    non_public = sum(1 for s in schools if s.ownership is not None and not s.ownership.is_public)

    figures = [view.latest_figures[s.id] for s in schools if s.id in view.latest_figures]
    school_year = max((f.school_year for f in figures), default=None)

    # staff of those schools and of the units inside them (tổ chuyên môn)
    unit_ids = {u.id for s in schools for u in view.subtree(s.id)}
    counted = {g: 0 for g in GROUP_ORDER}
    training = dict.fromkeys(_TRAINING_KEYS.values(), 0)
    meets, above = standard_for(level)
    meeting = above_count = 0
    for person_id, positions in view.active_people_in(unit_ids).items():
        groups = {p.group for p in positions}
        group = next(g for g in GROUP_ORDER if g in groups)
        counted[group] += 1
        if group is not PositionGroup.TEACHING:
            continue
        held = view.people[person_id].training_level or TrainingLevel.OTHER
        training[_TRAINING_KEYS[held]] += 1
        if _RANK[held] >= _RANK[meets]:
            meeting += 1
        if _RANK[held] >= _RANK[above]:
            above_count += 1

    return {
        "cap_hoc": level.value,
        "don_vi": unit.code if unit is not None else None,
        "nam_hoc": school_year,
        "so_truong": {"tong": len(schools), "cong_lap": public, "ngoai_cong_lap": non_public},
        "so_lop": sum(f.classes for f in figures),
        "so_hoc_sinh": sum(f.pupils for f in figures),
        "can_bo_quan_ly": counted[PositionGroup.MANAGEMENT],
        "giao_vien": counted[PositionGroup.TEACHING],
        "nhan_vien": counted[PositionGroup.STAFF],
        "giao_vien_trinh_do": training,
        "giao_vien_dat_chuan_tro_len": meeting,
        "giao_vien_tren_chuan": above_count,
    }


def level_counts(view: DirectoryView, unit: UnitView | None = None) -> dict[Level, int]:
    """Number of active schools of each level under ``unit``."""
    if unit is None:
        unit = default_scope(view)
    counts = dict.fromkeys(Level, 0)
    for school in view.schools(unit.id if unit is not None else None):
        if school.level is not None:
            counts[school.level] += 1
    return counts


def _percent(part: int, whole: int) -> str:
    return f"{format_number(100 * part / whole, 1)}%" if whole else "—"


def table_rows(stats: dict[str, Any]) -> list[tuple[str, str]]:
    """The figures as (label, value) rows in Vietnamese, for tables in the CLI and the bot."""
    n = format_number
    schools = stats["so_truong"]
    teachers = stats["giao_vien"]
    training = stats["giao_vien_trinh_do"]
    return [
        ("Năm học", stats["nam_hoc"] or "chưa có số liệu"),
        ("Số trường", n(schools["tong"])),
        ("  Công lập", n(schools["cong_lap"])),
        ("  Ngoài công lập", n(schools["ngoai_cong_lap"])),
        ("Số lớp", n(stats["so_lop"])),
        ("Số học sinh", n(stats["so_hoc_sinh"])),
        ("Cán bộ quản lý", n(stats["can_bo_quan_ly"])),
        ("Giáo viên", n(teachers)),
        ("Nhân viên", n(stats["nhan_vien"])),
        ("Giáo viên theo trình độ", ""),
        ("  Tiến sĩ", n(training["tien_si"])),
        ("  Thạc sĩ", n(training["thac_si"])),
        ("  Đại học", n(training["dai_hoc"])),
        ("  Cao đẳng", n(training["cao_dang"])),
        ("  Trung cấp", n(training["trung_cap"])),
        ("  Khác / chưa rõ", n(training["khac"])),
        (
            "Giáo viên đạt chuẩn trở lên",
            f"{n(stats['giao_vien_dat_chuan_tro_len'])} "
            f"({_percent(stats['giao_vien_dat_chuan_tro_len'], teachers)})",
        ),
        (
            "Giáo viên trên chuẩn",
            f"{n(stats['giao_vien_tren_chuan'])} "
            f"({_percent(stats['giao_vien_tren_chuan'], teachers)})",
        ),
        (
            "Giáo viên chưa đạt chuẩn",
            f"{n(teachers - stats['giao_vien_dat_chuan_tro_len'])} "
            f"({_percent(teachers - stats['giao_vien_dat_chuan_tro_len'], teachers)})",
        ),
    ]


def title(stats: dict[str, Any], view: DirectoryView) -> str:
    level = Level(stats["cap_hoc"])
    where = view.by_code[stats["don_vi"]].name if stats["don_vi"] in view.by_code else "toàn bộ"
    return f"Thống kê {vocab.label(level)} — {where}"
