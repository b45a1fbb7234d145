"""Who may send news where (pure, over a DirectoryView).

- A portal's webhook token belongs to a unit U: its items may go to U and to the units in
  U's subtree (an office pushes to its schools; a school only to itself).
- A person on the admin page manages: their school, if they are its Hiệu trưởng or Phó
  Hiệu trưởng; the whole subtree of an office, xã/phường, cụm or the Sở they work at (the
  same rule as the bot's). They see the feeds of, and send to, those units only.
"""

from __future__ import annotations

from provisioning.matrix.layout import MANAGER_POSITIONS, MANAGING_KINDS
from provisioning.view import DirectoryView, PersonView, UnitView
from provisioning.vocab import UnitKind


def subtree_codes(view: DirectoryView, unit_code: str) -> set[str]:
    """The active unit and the active units below it ({} for an unknown or inactive unit)."""
    unit = view.by_code.get(unit_code)
    if unit is None or not unit.active:
        return set()
    return {u.code for u in view.subtree(unit.id)}


def token_scope(view: DirectoryView, unit_code: str) -> set[str]:
    """Where a portal's webhook may deliver."""
    return subtree_codes(view, unit_code)


def managed_units(view: DirectoryView, person: PersonView) -> list[UnitView]:
    """The units a person manages news for (the tops of their subtrees), widest first."""
    if not person.active:
        return []
    tops: dict[int, UnitView] = {}
    for unit_id, position in person.positions:
        unit = view.units.get(unit_id)
        if unit is None or not unit.active:
            continue
        if unit.kind in MANAGING_KINDS or (
            unit.kind is UnitKind.SCHOOL and position in MANAGER_POSITIONS
        ):
            tops[unit.id] = unit
    # drop a top that lies inside another one
    inside = set()
    for unit in tops.values():
        if any(a.id in tops for a in view.ancestors(unit.id)):
            inside.add(unit.id)
    units = [u for u in tops.values() if u.id not in inside]
    return sorted(units, key=lambda u: (-sum(1 for _ in view.subtree(u.id)), u.name))


def person_scope(view: DirectoryView, person: PersonView) -> set[str]:
    """Every unit code a person may read feeds of and send news to."""
    scope: set[str] = set()
    for unit in managed_units(view, person):
        scope |= subtree_codes(view, unit.code)
    return scope


def outside(scope: set[str], targets: list[str]) -> list[str]:
    """The targets not in ``scope``, in the order given, once each."""
    seen, out = set(), []
    for code in targets:
        if code not in scope and code not in seen:
            seen.add(code)
            out.append(code)
    return out


def tree_order(view: DirectoryView, codes: set[str]) -> list[UnitView]:
    """The units of ``codes`` in tree order (depth first from the roots), with their depth
    available through ``depth``."""
    ordered: list[UnitView] = []
    for root in sorted(view.roots(), key=lambda u: u.name):
        for unit in view.subtree(root.id):
            if unit.code in codes:
                ordered.append(unit)
    return ordered


def depth(view: DirectoryView, unit: UnitView, within: set[str]) -> int:
    """How many of ``unit``'s ancestors are in ``within`` (for indenting a list)."""
    return sum(1 for a in view.ancestors(unit.id) if a.code in within)
