"""Statistics of the schools of one level under one unit (pure; see DATA-FORMAT.md).

``compute`` returns exactly the JSON object of the statistics contract; the CLI's
``dieuhanh stats --json`` and the bot's ``!thongke`` both print what it returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from weakref import WeakKeyDictionary

from provisioning import vocab
from provisioning.text import format_number
from provisioning.view import DirectoryView, UnitView
from provisioning.vocab import (
    GROUP_ORDER,
    Level,
    Position,
    PositionGroup,
    TrainingLevel,
    UnitKind,
)

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
    meets, above = standard_for(level)
    tallies = _tallies(view)
    if tallies is None:
        counted, by_training = _count_slowly(view, schools)
    else:
        counted, by_training = tallies.count(schools)
    training = {_TRAINING_KEYS[t]: by_training[t] for t in _TRAINING_KEYS}
    meeting = sum(n for t, n in by_training.items() if _RANK[t] >= _RANK[meets])
    above_count = sum(n for t, n in by_training.items() if _RANK[t] >= _RANK[above])

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


def _group_of(positions: Iterable[Position]) -> PositionGroup:
    groups = {p.group for p in positions}
    return next(g for g in GROUP_ORDER if g in groups)


def _empty() -> tuple[dict[PositionGroup, int], dict[TrainingLevel, int]]:
    return dict.fromkeys(GROUP_ORDER, 0), dict.fromkeys(_TRAINING_KEYS, 0)


def _count_slowly(
    view: DirectoryView, schools: list[UnitView]
) -> tuple[dict[PositionGroup, int], dict[TrainingLevel, int]]:
    """Staff of ``schools`` by group, and teachers by training, walking every position."""
    counted, training = _empty()
    unit_ids = {u.id for s in schools for u in view.subtree(s.id)}
    for person_id, positions in view.active_people_in(unit_ids).items():
        group = _group_of(positions)
        counted[group] += 1
        if group is PositionGroup.TEACHING:
            training[view.people[person_id].training_level or TrainingLevel.OTHER] += 1
    return counted, training


class _Tallies:
    """Per-school staff counts of one view, so that a whole city's statistics add up
    3,600 small tallies instead of walking 150,000 people on every ``!thongke``.

    A person counts once per query, by their highest group among the positions inside
    the chosen schools; people working in one school are tallied under it, the few in
    several schools are kept apart and counted at query time.
    """

    def __init__(self, view: DirectoryView, school_of: dict[int, int]) -> None:
        self.groups: dict[int, dict[PositionGroup, int]] = {}
        self.training: dict[int, dict[TrainingLevel, int]] = {}
        self.shared: list[tuple[TrainingLevel, dict[int, list[Position]]]] = []
        for person in view.people.values():
            if not person.active:
                continue
            by_school: dict[int, list[Position]] = {}
            for unit_id, position in person.positions:
                school = school_of.get(unit_id)
                if school is not None:
                    by_school.setdefault(school, []).append(position)
            if not by_school:
                continue
            held = person.training_level or TrainingLevel.OTHER
            if len(by_school) > 1:
                self.shared.append((held, by_school))
                continue
            ((school, positions),) = by_school.items()
            if school not in self.groups:
                self.groups[school], self.training[school] = _empty()
            group = _group_of(positions)
            self.groups[school][group] += 1
            if group is PositionGroup.TEACHING:
                self.training[school][held] += 1

    def count(
        self, schools: list[UnitView]
    ) -> tuple[dict[PositionGroup, int], dict[TrainingLevel, int]]:
        counted, training = _empty()
        chosen = {s.id for s in schools}
        for school in chosen:
            if school in self.groups:
                for group, n in self.groups[school].items():
                    counted[group] += n
                for level, n in self.training[school].items():
                    training[level] += n
        for held, by_school in self.shared:
            positions = [p for s, ps in by_school.items() if s in chosen for p in ps]
            if positions:
                group = _group_of(positions)
                counted[group] += 1
                if group is PositionGroup.TEACHING:
                    training[held] += 1
        return counted, training


_TALLIES: WeakKeyDictionary[DirectoryView, _Tallies | None] = WeakKeyDictionary()


def _tallies(view: DirectoryView) -> _Tallies | None:
    """The view's per-school tallies, built on first use; None when a school lies
    inside another school (then the slow walk gives the exact answer)."""
    if view in _TALLIES:
        return _TALLIES[view]
    school_of: dict[int, int] = {}
    nested = False
    for school in view.schools():
        for unit in view.subtree(school.id):
            if unit.id in school_of or (unit.id != school.id and unit.kind is UnitKind.SCHOOL):
                nested = True
            school_of[unit.id] = school.id
    _TALLIES[view] = result = None if nested else _Tallies(view, school_of)
    return result


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
