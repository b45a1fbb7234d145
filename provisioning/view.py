"""An in-memory, read-only view of the directory: the tree, people, positions, figures.

Loaded with a handful of queries (no per-unit or per-person round trips) so that the
statistics, the bot's searches and the provisioning planner work on plain data.
At city scale (3,600 schools, 150,000 staff) it loads in about a second and is reused
until the directory's revision changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, select

from provisioning.db.models import DirectoryState, Person, PersonPosition, SchoolFigures, Unit
from provisioning.vocab import Level, Ownership, Position, TrainingLevel, UnitKind


@dataclass(slots=True)
class UnitView:
    id: int
    code: str
    name: str
    parent_id: int | None
    kind: UnitKind
    level: Level | None
    ownership: Ownership | None
    portal_url: str | None
    rss_url: str | None
    active: bool
    children: list[int] = field(default_factory=list)


@dataclass(slots=True)
class PersonView:
    id: int
    code: str
    full_name: str
    name_key: str
    phone: str | None
    phone_raw: str | None  # set only for a number that could not be used
    email: str | None
    training_level: TrainingLevel | None
    active: bool
    positions: list[tuple[int, Position]] = field(default_factory=list)  # (unit id, position)


@dataclass(slots=True)
class Figures:
    school_year: str
    classes: int
    pupils: int


class UnknownUnit(LookupError):
    """A unit code that is not in the directory."""


class DirectoryView:
    """The directory as plain objects, with the tree walks everything else needs."""

    def __init__(
        self,
        units: Iterable[UnitView],
        people: Iterable[PersonView],
        latest_figures: dict[int, Figures],
        revision: int = 0,
    ) -> None:
        self.units: dict[int, UnitView] = {u.id: u for u in units}
        self.by_code: dict[str, UnitView] = {u.code: u for u in self.units.values()}
        for unit in self.units.values():
            if unit.parent_id is not None and unit.parent_id in self.units:
                self.units[unit.parent_id].children.append(unit.id)
        self.people: dict[int, PersonView] = {p.id: p for p in people}
        self.latest_figures = latest_figures
        self.revision = revision
        self.people_by_unit: dict[int, list[int]] = defaultdict(list)
        self._ancestors: dict[int, tuple[UnitView, ...]] = {}
        self._phone_holders: dict[str, int] = defaultdict(int)
        for person in self.people.values():
            for unit_id, _ in person.positions:
                self.people_by_unit[unit_id].append(person.id)
            if person.active and person.phone:
                self._phone_holders[person.phone] += 1

    # ------------------------------------------------------------------ tree

    def unit(self, code: str) -> UnitView:
        try:
            return self.by_code[code]
        except KeyError:
            raise UnknownUnit(code) from None

    def roots(self) -> list[UnitView]:
        return [u for u in self.units.values() if u.parent_id is None and u.active]

    def subtree(self, unit_id: int, *, active_only: bool = True) -> Iterator[UnitView]:
        """The unit and every unit below it (depth first)."""
        stack = [unit_id]
        while stack:
            unit = self.units[stack.pop()]
            if active_only and not unit.active:
                continue
            yield unit
            stack.extend(reversed(unit.children))

    def ancestors(self, unit_id: int) -> tuple[UnitView, ...]:
        """Parents of the unit, nearest first (computed once per unit)."""
        chain = self._ancestors.get(unit_id)
        if chain is None:
            found, seen = [], {unit_id}
            parent = self.units[unit_id].parent_id
            while parent is not None and parent not in seen and parent in self.units:
                seen.add(parent)
                found.append(self.units[parent])
                parent = self.units[parent].parent_id
            chain = self._ancestors[unit_id] = tuple(found)
        return chain

    def schools(self, under: int | None = None, level: Level | None = None) -> list[UnitView]:
        """Active schools under ``under`` (everywhere when None), of ``level`` if given."""
        units = (
            self.subtree(under)
            if under is not None
            else (u for u in self.units.values() if u.active)
        )
        return [
            u for u in units if u.kind is UnitKind.SCHOOL and (level is None or u.level is level)
        ]

    # ---------------------------------------------------------------- people

    def login_phone(self, person: PersonView) -> str | None:
        """The number this person logs in with: their phone, unless another active
        person holds the same one (then neither gets it until the files are fixed)."""
        if not person.active or not person.phone:
            return None
        return person.phone if self._phone_holders[person.phone] == 1 else None

    def active_people_in(self, unit_ids: Iterable[int]) -> dict[int, list[Position]]:
        """Active people holding a position in any of ``unit_ids``, with those positions."""
        found: dict[int, list[Position]] = defaultdict(list)
        wanted = set(unit_ids)
        for unit_id in wanted:
            for person_id in self.people_by_unit.get(unit_id, ()):
                person = self.people[person_id]
                if not person.active:
                    continue
                for held_unit, position in person.positions:
                    if held_unit == unit_id:
                        found[person_id].append(position)
        return found


#: The units' columns, in UnitView's order (the importer reads the same ones).
UNIT_COLUMNS = (
    Unit.id,
    Unit.code,
    Unit.name,
    Unit.parent_id,
    Unit.kind,
    Unit.level,
    Unit.ownership,
    Unit.portal_url,
    Unit.rss_url,
    Unit.active,
)


def load_view(engine: Engine) -> DirectoryView:
    """Read the whole directory into a DirectoryView."""
    with engine.connect() as conn:
        units = _load_units(conn)
        people = _load_people(conn)
        latest = _latest_figures(conn)
        revision = conn.scalar(select(DirectoryState.value).where(DirectoryState.key == "revision"))
    return DirectoryView(units, people.values(), latest, int(revision or 0))


def _load_units(conn: Connection) -> list[UnitView]:
    return [
        UnitView(
            row.id,
            row.code,
            row.name,
            row.parent_id,
            UnitKind(row.kind),
            Level(row.level) if row.level else None,
            Ownership(row.ownership) if row.ownership else None,
            row.portal_url,
            row.rss_url,
            row.active,
        )
        for row in conn.execute(select(*UNIT_COLUMNS))
    ]


def _load_people(conn: Connection) -> dict[int, PersonView]:
    """Every person with their positions, in the order they were recorded."""
    people = {
        row.id: PersonView(
            row.id,
            row.code,
            row.full_name,
            row.name_key,
            row.phone,
            row.phone_raw,
            row.email,
            TrainingLevel(row.training_level) if row.training_level else None,
            row.active,
        )
        for row in conn.execute(
            select(
                Person.id,
                Person.code,
                Person.full_name,
                Person.name_key,
                Person.phone,
                Person.phone_raw,
                Person.email,
                Person.training_level,
                Person.active,
            )
        )
    }
    positions = {p.value: p for p in Position}
    for person_id, unit_id, position in conn.execute(
        select(PersonPosition.person_id, PersonPosition.unit_id, PersonPosition.position).order_by(
            PersonPosition.id
        )
    ):
        people[person_id].positions.append((unit_id, positions[position]))
    return people


def _latest_figures(conn: Connection) -> dict[int, Figures]:
    """unit id -> its figures of the latest school year."""
    latest: dict[int, Figures] = {}
    for unit_id, year, classes, pupils in conn.execute(
        select(
            SchoolFigures.unit_id,
            SchoolFigures.school_year,
            SchoolFigures.classes,
            SchoolFigures.pupils,
        )
    ):
        held = latest.get(unit_id)
        if held is None or year > held.school_year:
            latest[unit_id] = Figures(year, classes, pupils)
    return latest
