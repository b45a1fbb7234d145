"""Who may send news where (pure, over a DirectoryView).

- A portal's webhook token belongs to a unit U: its items may go to U and to the units in
  U's subtree (an office pushes to its schools; a school only to itself).
- A person on the admin page acts for the units ``provisioning.authority`` gives them (the
  one rule the bot applies too): their school as its Hiệu trưởng or Phó Hiệu trưởng; the
  whole subtree of an office, xã/phường, cụm or the Sở where they lead or are Chuyên viên.
  They see the feeds of, and send to, those units only.
"""

from __future__ import annotations

from provisioning.authority import authority_of, unit_codes
from provisioning.view import DirectoryView, PersonView, UnitView


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
    return list(authority_of(view, person).managed)


def person_scope(view: DirectoryView, person: PersonView) -> set[str]:
    """Every unit code a person may read feeds of and send news to."""
    return unit_codes(view, authority_of(view, person).managed_units)


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
