"""The demo's three tables as the importer reads them: its column names and sheet names
(provisioning.importer.sources, never a copy), the file names of DATA-FORMAT.md, and the
rows generated for them."""

from __future__ import annotations

from dataclasses import dataclass, field

from provisioning.importer.sources import COLUMNS, TABLE_LABEL, TableKind

Cell = str | int
Row = list[Cell]

#: Each table's header: the importer's documented column names, in its order.
UNIT_COLUMNS = tuple(column.header for column in COLUMNS[TableKind.UNITS])
STAFF_COLUMNS = tuple(column.header for column in COLUMNS[TableKind.STAFF])
STATS_COLUMNS = tuple(column.header for column in COLUMNS[TableKind.FIGURES])

#: (file name, sheet name, header) of the three tables, in DATA-FORMAT.md order.
TABLES = (
    ("don_vi.csv", TABLE_LABEL[TableKind.UNITS], UNIT_COLUMNS),
    ("nhan_su.csv", TABLE_LABEL[TableKind.STAFF], STAFF_COLUMNS),
    ("thong_ke.csv", TABLE_LABEL[TableKind.FIGURES], STATS_COLUMNS),
)
XLSX_NAME = "danh_ba.xlsx"


def _positions(kind: TableKind) -> dict[str, int]:
    """Where each of the importer's fields sits in a row of that table."""
    return {column.field: i for i, column in enumerate(COLUMNS[kind])}


_UNIT, _STAFF, _STATS = map(_positions, (TableKind.UNITS, TableKind.STAFF, TableKind.FIGURES))
# Unit row columns, by index.
U_CODE, U_NAME, U_PARENT, U_KIND = _UNIT["code"], _UNIT["name"], _UNIT["parent"], _UNIT["kind"]
U_LEVEL, U_OWNERSHIP, U_PORTAL, U_RSS = (_UNIT[f] for f in ("level", "ownership", "portal", "rss"))
# Staff row columns, by index.
S_ID, S_NAME, S_PHONE, S_EMAIL = (_STAFF[f] for f in ("code", "name", "phone", "email"))
S_UNIT, S_POSITION, S_TRAINING = _STAFF["unit"], _STAFF["position"], _STAFF["training"]
S_SUBJECT, S_GENDER, S_BIRTH = _STAFF["subject"], _STAFF["gender"], _STAFF["birth_date"]
# Stats row columns, by index.
F_UNIT, F_YEAR, F_CLASSES, F_PUPILS = (_STATS[f] for f in ("unit", "year", "classes", "pupils"))


def blank_row(kind: TableKind) -> Row:
    """A row of that table with every cell empty."""
    return [""] * len(COLUMNS[kind])


@dataclass
class DemoData:
    """The three tables as rows of cell values (str, or int for numbers), headers apart."""

    units: list[Row] = field(default_factory=list)
    staff: list[Row] = field(default_factory=list)
    stats: list[Row] = field(default_factory=list)

    def tables(self) -> tuple[tuple[str, str, tuple[str, ...], list[Row]], ...]:
        """(file name, sheet name, header, rows) of each table."""
        rows = (self.units, self.staff, self.stats)
        return tuple((f, s, h, r) for (f, s, h), r in zip(TABLES, rows, strict=True))

    def summary(self) -> dict[str, object]:
        """Counts for reports: units by kind, schools by level and ownership, people, rows."""
        kinds: dict[str, int] = {}
        levels: dict[str, int] = {}
        ownership: dict[str, int] = {}
        for row in self.units:
            kinds[str(row[U_KIND])] = kinds.get(str(row[U_KIND]), 0) + 1
            if row[U_LEVEL]:
                levels[str(row[U_LEVEL])] = levels.get(str(row[U_LEVEL]), 0) + 1
                ownership[str(row[U_OWNERSHIP])] = ownership.get(str(row[U_OWNERSHIP]), 0) + 1
        rows_per_person: dict[Cell, int] = {}
        for row in self.staff:
            rows_per_person[row[S_ID]] = rows_per_person.get(row[S_ID], 0) + 1
        return {
            "units": len(self.units),
            "unit_kinds": kinds,
            "schools": sum(levels.values()),
            "schools_by_level": levels,
            "schools_by_ownership": ownership,
            "people": len(rows_per_person),
            "staff_rows": len(self.staff),
            "people_with_several_rows": sum(n > 1 for n in rows_per_person.values()),
            "stats_rows": len(self.stats),
        }
