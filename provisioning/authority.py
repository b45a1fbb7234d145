"""Who may see and act for which units: the one rule the bot and the bridge both apply.

Pure, over a :class:`~provisioning.view.DirectoryView`. For every position a person holds
in an active unit:

================================================  ====================  ==================
position held                                     acts for (statistics,  looks up people in
                                                  directives, news)
================================================  ====================  ==================
management (GĐ, PGĐ, TP, PTP) or Chuyên viên at   the unit's subtree    the unit's subtree
a managing unit (Sở, Phòng, xã/phường, cụm)
any other position at a managing unit             —                     the unit itself
(Nhân viên, Kế toán, Văn thư…)                                          (and its tổ)
Hiệu trưởng / Phó Hiệu trưởng of a school         the school            the school
anyone else at a school or one of its tổ          —                     their school
================================================  ====================  ==================

"Acts for" covers ``!thongke``, ``!gui`` / ``!baocao`` / ``!nhacnho`` and the news admin
page; "looks up" covers ``!danhba``. A person's authority is the union over their
positions. Everything a command shows is filtered by it: callers never search the whole
directory and filter afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from provisioning.domain import MANAGER_POSITIONS, MANAGING_KINDS, school_of
from provisioning.view import DirectoryView, PersonView, UnitView
from provisioning.vocab import Position, UnitKind

#: Positions that act for a managing unit's whole subtree.
OFFICE_ACTING_POSITIONS = MANAGER_POSITIONS | {Position.SPECIALIST}

Subtree = Callable[[int], frozenset[int]]


@dataclass(frozen=True)
class Authority:
    """What one person may act for and look up."""

    #: the units they act for, none inside another, the widest first
    managed: tuple[UnitView, ...] = ()
    #: every unit id in those subtrees
    managed_units: frozenset[int] = frozenset()
    #: unit ids whose people they may look up (includes ``managed_units``)
    visible_units: frozenset[int] = frozenset()

    @property
    def official(self) -> bool:
        """Acts for at least one unit (statistics, directives, news)."""
        return bool(self.managed)

    def manages(self, unit_id: int) -> bool:
        return unit_id in self.managed_units

    def sees(self, unit_id: int) -> bool:
        return unit_id in self.visible_units


NOBODY = Authority()


def view_subtree(view: DirectoryView) -> Subtree:
    """A subtree function over ``view`` (uncached; the bot passes its cached one)."""
    return lambda unit_id: frozenset(u.id for u in view.subtree(unit_id))


def authority_of(
    view: DirectoryView, person: PersonView | None, subtree: Subtree | None = None
) -> Authority:
    """The authority of ``person`` (none for an unknown or departed person)."""
    if person is None or not person.active:
        return NOBODY
    subtree = subtree or view_subtree(view)
    tops: dict[int, UnitView] = {}
    visible: set[int] = set()
    for unit_id, position in person.positions:
        unit = view.units.get(unit_id)
        if unit is None or not unit.active:
            continue
        acts_for = _acts_for(view, unit, position)
        if acts_for is not None:
            tops[acts_for.id] = acts_for
        visible |= _looks_up(view, unit, subtree)
    managed = _outermost(view, tops, subtree)
    managed_units = frozenset().union(*(subtree(u.id) for u in managed))
    return Authority(managed, managed_units, frozenset(visible | managed_units))


def _acts_for(view: DirectoryView, unit: UnitView, position: Position) -> UnitView | None:
    """The unit a position acts for, if any."""
    if unit.kind in MANAGING_KINDS:
        return unit if position in OFFICE_ACTING_POSITIONS else None
    if position not in MANAGER_POSITIONS:
        return None
    return school_of(view, unit)


def _looks_up(view: DirectoryView, unit: UnitView, subtree: Subtree) -> frozenset[int]:
    """Units whose people someone working in ``unit`` may look up by position alone."""
    if unit.kind in MANAGING_KINDS:
        return own_teams(view, unit)
    school = school_of(view, unit)
    return subtree(school.id) if school is not None else frozenset({unit.id})


def own_teams(view: DirectoryView, unit: UnitView) -> frozenset[int]:
    """The unit and the tổ inside it (not the schools or offices below it)."""
    found, stack = {unit.id}, [unit.id]
    while stack:
        for child_id in view.units[stack.pop()].children:
            child = view.units[child_id]
            if child.active and child.kind is UnitKind.TEAM:
                found.add(child.id)
                stack.append(child.id)
    return frozenset(found)


def _outermost(
    view: DirectoryView, tops: dict[int, UnitView], subtree: Subtree
) -> tuple[UnitView, ...]:
    """The tops that lie inside no other top, the widest first."""
    outer = [u for u in tops.values() if not any(a.id in tops for a in view.ancestors(u.id))]
    return tuple(sorted(outer, key=lambda u: (-len(subtree(u.id)), u.name)))


def unit_codes(view: DirectoryView, unit_ids: Iterable[int]) -> set[str]:
    return {view.units[i].code for i in unit_ids}
