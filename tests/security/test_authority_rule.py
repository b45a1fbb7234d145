"""The one authority rule (provisioning.authority), table-driven over a small tree.

so (Sở) ── hocmon (xã) ── thcs (school) ── to-toan (tổ)
  │           └───────── mn (school)
  ├── cum1 (cụm)
  └── thpt (school)
"""

from __future__ import annotations

import pytest

from provisioning.authority import authority_of
from provisioning.view import DirectoryView, PersonView, UnitView
from provisioning.vocab import Level, Position, UnitKind

TREE = [
    # code, parent, kind, level
    ("so", None, UnitKind.DEPARTMENT, None),
    ("vp-so", "so", UnitKind.TEAM, None),
    ("hocmon", "so", UnitKind.COMMUNE, None),
    ("thcs", "hocmon", UnitKind.SCHOOL, Level.THCS),
    ("to-toan", "thcs", UnitKind.TEAM, None),
    ("mn", "hocmon", UnitKind.SCHOOL, Level.MN),
    ("cum1", "so", UnitKind.CLUSTER, None),
    ("thpt", "so", UnitKind.SCHOOL, Level.THPT),
    ("closed", "hocmon", UnitKind.SCHOOL, Level.TH),
]
IDS = {code: i for i, (code, *_) in enumerate(TREE, start=1)}


def make_view() -> DirectoryView:
    units = [
        UnitView(
            IDS[code],
            code,
            f"Đơn vị {code}",
            IDS[parent] if parent else None,
            kind,
            level,
            None,
            None,
            None,
            code != "closed",
        )
        for code, parent, kind, level in TREE
    ]
    return DirectoryView(units, [], {})


def person(*positions: tuple[str, Position], active: bool = True) -> PersonView:
    return PersonView(
        1, "P1", "Người Thử", "nguoi thu", None, None, None, None, active,
        [(IDS[code], pos) for code, pos in positions],
    )  # fmt: skip


def codes(view: DirectoryView, ids) -> set[str]:
    return {view.units[i].code for i in ids}


SUBTREE = {
    "so": {"so", "vp-so", "hocmon", "thcs", "to-toan", "mn", "cum1", "thpt"},
    "hocmon": {"hocmon", "thcs", "to-toan", "mn"},
    "thcs": {"thcs", "to-toan"},
}

P = Position
TABLE = [
    # positions held; acts for (tops); acts for (all units); looks up
    ([("so", P.DIRECTOR)], ["so"], SUBTREE["so"], SUBTREE["so"]),
    ([("so", P.DEPUTY_DIRECTOR)], ["so"], SUBTREE["so"], SUBTREE["so"]),
    ([("so", P.SPECIALIST)], ["so"], SUBTREE["so"], SUBTREE["so"]),
    ([("so", P.STAFF)], [], set(), {"so", "vp-so"}),
    ([("so", P.ACCOUNTANT)], [], set(), {"so", "vp-so"}),
    ([("so", P.CLERK)], [], set(), {"so", "vp-so"}),
    ([("hocmon", P.HEAD)], ["hocmon"], SUBTREE["hocmon"], SUBTREE["hocmon"]),
    ([("hocmon", P.DEPUTY_HEAD)], ["hocmon"], SUBTREE["hocmon"], SUBTREE["hocmon"]),
    ([("hocmon", P.SPECIALIST)], ["hocmon"], SUBTREE["hocmon"], SUBTREE["hocmon"]),
    ([("hocmon", P.STAFF)], [], set(), {"hocmon"}),
    ([("hocmon", P.TEACHER)], [], set(), {"hocmon"}),
    ([("cum1", P.SPECIALIST)], ["cum1"], {"cum1"}, {"cum1"}),
    ([("cum1", P.NURSE)], [], set(), {"cum1"}),
    ([("thcs", P.PRINCIPAL)], ["thcs"], SUBTREE["thcs"], SUBTREE["thcs"]),
    ([("thcs", P.VICE_PRINCIPAL)], ["thcs"], SUBTREE["thcs"], SUBTREE["thcs"]),
    ([("thcs", P.TEACHER)], [], set(), SUBTREE["thcs"]),
    ([("thcs", P.SPECIALIST)], [], set(), SUBTREE["thcs"]),  # a school's CV acts for nothing
    ([("thcs", P.ACCOUNTANT)], [], set(), SUBTREE["thcs"]),
    ([("to-toan", P.TEAM_LEADER)], [], set(), SUBTREE["thcs"]),
    ([("to-toan", P.TEACHER)], [], set(), SUBTREE["thcs"]),
    ([("mn", P.TEACHER)], [], set(), {"mn"}),
    # several positions: the union; a top inside another one is dropped
    ([("thcs", P.PRINCIPAL), ("hocmon", P.SPECIALIST)], ["hocmon"], SUBTREE["hocmon"],
     SUBTREE["hocmon"]),
    ([("thcs", P.PRINCIPAL), ("thpt", P.TEACHER)], ["thcs"], SUBTREE["thcs"],
     SUBTREE["thcs"] | {"thpt"}),
    ([("so", P.STAFF), ("mn", P.TEACHER)], [], set(), {"so", "vp-so", "mn"}),
    ([("thpt", P.PRINCIPAL), ("thcs", P.PRINCIPAL)], ["thcs", "thpt"],
     SUBTREE["thcs"] | {"thpt"}, SUBTREE["thcs"] | {"thpt"}),
    # a closed unit gives nothing
    ([("closed", P.PRINCIPAL)], [], set(), set()),
]  # fmt: skip


@pytest.mark.parametrize(("held", "tops", "acts", "looks"), TABLE)
def test_authority_table(held, tops, acts, looks):
    view = make_view()
    authority = authority_of(view, person(*held))
    assert sorted(u.code for u in authority.managed) == sorted(tops)
    assert codes(view, authority.managed_units) == acts
    assert codes(view, authority.visible_units) == looks
    assert authority.official == bool(tops)


def test_the_widest_unit_comes_first():
    view = make_view()
    held = [("thcs", P.PRINCIPAL), ("cum1", P.SPECIALIST), ("thpt", P.VICE_PRINCIPAL)]
    assert [u.code for u in authority_of(view, person(*held)).managed] == ["thcs", "cum1", "thpt"]


def test_nobody_and_departed_people_have_no_authority():
    view = make_view()
    assert not authority_of(view, None).visible_units
    departed = person(("so", P.DIRECTOR), active=False)
    assert authority_of(view, departed) == authority_of(view, None)
