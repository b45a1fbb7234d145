"""The per-school tallies behind ``stats.compute`` give exactly what walking every
position gives, on random directories with people in several schools, inactive units
and departed staff (and a school inside a school, where the walk is used)."""

from __future__ import annotations

import random

import pytest

from provisioning import stats
from provisioning.view import DirectoryView, PersonView, UnitView
from provisioning.vocab import Level, Ownership, Position, TrainingLevel, UnitKind


def _random_view(seed: int, *, nested: bool = False) -> DirectoryView:
    rng = random.Random(seed)

    def active(closed: float) -> bool:  # everything open when testing a nested school
        return nested or rng.random() > closed

    units = [UnitView(1, "so", "Sở", None, UnitKind.DEPARTMENT, None, None, None, None, True)]
    next_id = 2
    schools: list[int] = []
    for office in range(3):
        office_id = next_id
        next_id += 1
        units.append(
            UnitView(
                office_id,
                f"p{office}",
                f"Phòng {office}",
                1,
                UnitKind.OFFICE,
                None,
                None,
                None,
                None,
                active(0.1),
            )
        )
        for _ in range(rng.randint(2, 8)):
            school_id = next_id
            next_id += 1
            schools.append(school_id)
            units.append(
                UnitView(
                    school_id,
                    f"s{school_id}",
                    f"Trường {school_id}",
                    office_id,
                    UnitKind.SCHOOL,
                    rng.choice(list(Level)),
                    rng.choice(list(Ownership)),
                    None,
                    None,
                    active(0.15),
                )
            )
            for _ in range(rng.randint(0, 2)):
                units.append(
                    UnitView(
                        next_id,
                        f"t{next_id}",
                        f"Tổ {next_id}",
                        school_id,
                        UnitKind.TEAM,
                        None,
                        None,
                        None,
                        None,
                        active(0.2),
                    )
                )
                next_id += 1
    if nested:
        units.append(
            UnitView(
                next_id,
                "inner",
                "Trường trong trường",
                schools[0],
                UnitKind.SCHOOL,
                Level.TH,
                Ownership.PUBLIC,
                None,
                None,
                True,
            )
        )
    ids = [u.id for u in units]
    people = []
    for pid in range(1, 400):
        positions = [
            (rng.choice(ids if rng.random() < 0.3 else schools), rng.choice(list(Position)))
            for _ in range(rng.choice((1, 1, 1, 2, 3)))
        ]
        people.append(
            PersonView(
                pid,
                f"P{pid}",
                f"Người {pid}",
                f"nguoi {pid}",
                None,
                None,
                None,
                rng.choice([*TrainingLevel, None]),
                active(0.1),
                positions,
            )
        )
    return DirectoryView(units, people, {})


def _walked(view: DirectoryView, level: Level, unit: UnitView | None) -> dict:
    stats._TALLIES[view] = None  # force the walk over every position
    try:
        return stats.compute(view, level, unit)
    finally:
        del stats._TALLIES[view]


@pytest.mark.parametrize("seed", range(12))
def test_tallies_equal_the_walk(seed):
    view = _random_view(seed)
    assert stats._tallies(view) is not None
    shared = stats._tallies(view).shared
    for unit in [None, *view.units.values()]:
        for level in Level:
            assert stats.compute(view, level, unit) == _walked(view, level, unit), (unit, level)
    assert shared, "some people should work in several schools"


def test_a_school_inside_a_school_uses_the_walk():
    view = _random_view(1, nested=True)
    assert stats._tallies(view) is None
    for level in Level:
        assert stats.compute(view, level) == _walked(view, level, None)
