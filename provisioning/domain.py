"""Rules of the domain every package shares (pure, over a DirectoryView): who manages
what, a school of a unit, the position a person is known by, short unit names.

Provisioning's Matrix layout, the bot's commands and the bridge's pages all read these;
they belong to the directory, not to any one of them.
"""

from __future__ import annotations

import functools
import re

from provisioning.view import DirectoryView, PersonView, UnitView
from provisioning.vocab import GROUP_ORDER, Position, UnitKind

#: Units that manage others: the Sở, an office, a xã/phường, a cụm chuyên môn.
MANAGING_KINDS = frozenset(
    {UnitKind.DEPARTMENT, UnitKind.OFFICE, UnitKind.COMMUNE, UnitKind.CLUSTER}
)
#: Positions that lead a unit (a school, an office, the Sở).
MANAGER_POSITIONS = frozenset(
    {
        Position.DIRECTOR,
        Position.DEPUTY_DIRECTOR,
        Position.HEAD,
        Position.DEPUTY_HEAD,
        Position.PRINCIPAL,
        Position.VICE_PRINCIPAL,
    }
)
#: Positions that lead a tổ chuyên môn.
TEAM_MANAGER_POSITIONS = frozenset({Position.TEAM_LEADER, Position.TEAM_DEPUTY})

#: Management before teaching before staff; within a group, the order of ``Position``.
_RANK = {p: (GROUP_ORDER.index(p.group), i) for i, p in enumerate(Position)}


def school_of(view: DirectoryView, unit: UnitView) -> UnitView | None:
    """The school a unit belongs to (itself, or the school above a tổ)."""
    if unit.kind is UnitKind.SCHOOL:
        return unit
    return next((u for u in view.ancestors(unit.id) if u.kind is UnitKind.SCHOOL), None)


def managing_unit(view: DirectoryView, school: UnitView) -> UnitView | None:
    """The nearest unit above a school that manages it (office, xã/phường, cụm or the Sở)."""
    return next((u for u in view.ancestors(school.id) if u.kind in MANAGING_KINDS), None)


def primary_position(view: DirectoryView, person: PersonView) -> tuple[Position, UnitView] | None:
    """The position a person is best known by: management first, then teaching, then staff."""
    held = [
        (pos, view.units[unit_id])
        for unit_id, pos in person.positions
        if unit_id in view.units and view.units[unit_id].active
    ]
    if not held:
        return None
    return min(held, key=lambda h: _RANK[h[0]])


@functools.cache
def short_unit_name(name: str) -> str:
    """ "Trường THCS Đỗ Văn Dậy" → "THCS Đỗ Văn Dậy"; "Trường Mầm non Hoa Sen" → "MN Hoa Sen"."""
    text = re.sub(r"^Trường\s+", "", name)
    for long, abbr in (
        ("Mầm non", "MN"),
        ("Tiểu học", "TH"),
        ("Trung học cơ sở", "THCS"),
        ("Trung học phổ thông", "THPT"),
        ("Sở Giáo dục và Đào tạo", "Sở GD&ĐT"),
        ("Phòng Giáo dục và Đào tạo", "Phòng GD&ĐT"),
        ("Giáo dục thường xuyên", "GDTX"),
    ):
        if text.startswith(long):
            return abbr + text[len(long) :]
    return text
