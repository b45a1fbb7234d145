"""Import the directory from the CSV files or XLSX workbook that offices keep.

``import_paths`` reads, validates and merges in one transaction; every problem is
reported as file:row, column and a Vietnamese reason (see DATA-FORMAT.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from provisioning.bulk import cyclic_gc_paused
from provisioning.config import MAX_REMOVAL_SHARE, exceeds_removal_share
from provisioning.importer.classes import merge_classes
from provisioning.importer.family_rows import (
    parse_absence,
    parse_class,
    parse_mark,
    parse_student,
    parse_term_result,
)
from provisioning.importer.learning import merge_attendance, merge_marks, merge_term_results
from provisioning.importer.merge import (
    Directory,
    MergeOutcome,
    bump_revision,
    check_scope,
    merge_figures,
    merge_staff,
    merge_units,
)
from provisioning.importer.report import Report, UnusableInput
from provisioning.importer.rows import (
    cell_text,
    legacy_name,
    parse_figures,
    parse_staff,
    parse_unit,
)
from provisioning.importer.sources import FAMILY_KINDS, Table, TableKind, read_tables
from provisioning.importer.students import merge_students
from provisioning.mojibake import classify
from provisioning.text import format_number

__all__ = [
    "ImportResult",
    "MassDepartureRefused",
    "Report",
    "UnusableInput",
    "import_paths",
    "import_tables",
]


class MassDepartureRefused(UnusableInput):
    """The staff file would mark too many people departed at once, or the student file too
    many students left; nothing was imported."""


_PARSERS: dict[TableKind, Callable[[Table, int, dict[str, Any]], tuple[Any, list[Report]]]] = {
    TableKind.UNITS: parse_unit,
    TableKind.STAFF: parse_staff,
    TableKind.FIGURES: parse_figures,
    TableKind.CLASSES: parse_class,
    TableKind.STUDENTS: parse_student,
    TableKind.MARKS: parse_mark,
    TableKind.ATTENDANCE: parse_absence,
    TableKind.TERM_RESULTS: parse_term_result,
}
_FAMILY_MERGES = {
    TableKind.CLASSES: merge_classes,
    TableKind.STUDENTS: merge_students,
    TableKind.MARKS: merge_marks,
    TableKind.ATTENDANCE: merge_attendance,
    TableKind.TERM_RESULTS: merge_term_results,
}


@dataclass(frozen=True)
class DepartureGuard:
    """How many departures one import may make: ``share`` of the people it covers."""

    share: float = MAX_REMOVAL_SHARE
    allowed: bool = False  # --allow-mass-removal


@dataclass
class ImportResult(MergeOutcome):
    rows_read: int = 0
    revision: int | None = None

    @property
    def exit_code(self) -> int:
        """0 when nothing was reported, 1 when rows were reported but the rest imported."""
        return 1 if self.reports else 0

    def report_lines(self) -> list[str]:
        return [r.line() for r in self.reports]


def import_paths(
    engine: Engine,
    paths: list[Path],
    *,
    scope: str | None = None,
    max_removal_share: float = MAX_REMOVAL_SHARE,
    allow_mass_removal: bool = False,
) -> ImportResult:
    """Import every table found in ``paths``. Raises UnusableInput (exit status 2), and
    MassDepartureRefused when more than ``max_removal_share`` of the people the staff
    table covers would be marked departed (unless ``allow_mass_removal``)."""
    guard = DepartureGuard(max_removal_share, allow_mass_removal)
    with cyclic_gc_paused():  # reading builds one dict per row too
        return _import_tables(engine, read_tables([Path(p) for p in paths]), scope, guard)


def import_tables(
    engine: Engine,
    tables: list[Table],
    *,
    scope: str | None = None,
    max_removal_share: float = MAX_REMOVAL_SHARE,
    allow_mass_removal: bool = False,
) -> ImportResult:
    guard = DepartureGuard(max_removal_share, allow_mass_removal)
    with cyclic_gc_paused():
        return _import_tables(engine, tables, scope, guard)


def _import_tables(
    engine: Engine, tables: list[Table], scope: str | None, guard: DepartureGuard
) -> ImportResult:
    by_kind = {t.kind: t for t in tables}
    result = ImportResult()
    parsed = {}
    rejected_people: set[str] = set()  # Mã định danh of staff rows that were rejected
    rejected_rows: dict[TableKind, list[dict[str, Any]]] = {k: [] for k in FAMILY_KINDS}
    for kind, parse in _PARSERS.items():
        table = by_kind.get(kind)
        if table is not None:
            parsed[kind] = _parse_table(table, parse, result, rejected_people, rejected_rows)
    with engine.begin() as conn:
        _merge(conn, by_kind, parsed, rejected_people, scope, guard, result)
        _merge_families(conn, by_kind, parsed, rejected_rows, scope, guard, result)
    result.reports.sort(key=lambda r: (_source_order(r, tables), r.row))
    return result


def _parse_table(
    table: Table,
    parse: Callable[[Table, int, dict[str, Any]], tuple[Any, list[Report]]],
    result: ImportResult,
    rejected_people: set[str],
    rejected_rows: dict[TableKind, list[dict[str, Any]]],
) -> list[Any]:
    """The table's valid records; every row's reports go into ``result``. The cells of a
    families' table's rejected rows go into ``rejected_rows`` (what they might stand for
    is kept)."""
    kind = table.kind
    records = []
    named = kind in (TableKind.UNITS, TableKind.STAFF, TableKind.STUDENTS)
    name_header = table.header("name") if named else None
    legacy_seen, foreign = False, {}  # foreign: row -> (Mã định danh, name)
    foreign_cells: list[dict[str, Any]] = []
    for row_no, cells in table.rows:
        record, reports = parse(table, row_no, cells)
        result.reports.extend(reports)
        result.rows_read += 1
        named = any(r.column == name_header for r in reports)  # only then look again
        evidence = classify(cell_text(cells.get("name"))) if named else None
        legacy_seen |= evidence == "legacy"
        if record is not None:
            records.append(record)
            if evidence == "foreign":
                foreign[row_no] = (cell_text(cells.get("code")), cell_text(cells.get("name")))
                foreign_cells.append(cells)
        elif kind is TableKind.STAFF and (code := cell_text(cells.get("code"))):
            rejected_people.add(code)
        elif kind in rejected_rows:
            rejected_rows[kind].append(cells)
    if legacy_seen and foreign:
        # a file with legacy-encoded names: its "foreign" names are legacy ones too
        records = [r for r in records if r.row not in foreign]
        result.reports = [_as_legacy(r, table, foreign) for r in result.reports]
        if kind is TableKind.STAFF:
            rejected_people.update(code for code, _ in foreign.values() if code)
        elif kind in rejected_rows:
            rejected_rows[kind].extend(foreign_cells)
    return records


def _merge(
    conn: Connection,
    by_kind: dict[TableKind, Table],
    parsed: dict[TableKind, list[Any]],
    rejected_people: set[str],
    scope: str | None,
    guard: DepartureGuard,
    result: ImportResult,
) -> None:
    """Merge the parsed tables in one transaction: units, then staff, then figures."""
    directory = Directory(conn)
    check_scope(directory, scope, {r.code for r in parsed.get(TableKind.UNITS, [])})
    if TableKind.UNITS in parsed:
        units = by_kind[TableKind.UNITS]
        merge_units(conn, units, parsed[TableKind.UNITS], directory, scope, result)
    if TableKind.STAFF in parsed:
        staff = by_kind[TableKind.STAFF]
        merge_staff(conn, staff, parsed[TableKind.STAFF], rejected_people, directory, scope, result)
        _check_departures(result, scope, guard)  # raising rolls the whole import back
    if TableKind.FIGURES in parsed:
        figures = by_kind[TableKind.FIGURES]
        merge_figures(conn, figures, parsed[TableKind.FIGURES], directory, scope, result)


def _merge_families(
    conn: Connection,
    by_kind: dict[TableKind, Table],
    parsed: dict[TableKind, list[Any]],
    rejected_rows: dict[TableKind, list[dict[str, Any]]],
    scope: str | None,
    guard: DepartureGuard,
    result: ImportResult,
) -> None:
    """Merge classes, students (and parents), then the learning records; bump the
    revisions (``revision`` for what provisioning applies, ``learning_revision`` for
    records)."""
    directory = Directory(conn)  # after the units' merge: it sees the new schools
    for kind, merge in _FAMILY_MERGES.items():
        if kind not in parsed:
            continue
        result.family_tables.append(kind.value)
        merge(conn, by_kind[kind], parsed[kind], rejected_rows[kind], directory, scope, result)
        if kind is TableKind.STUDENTS:
            _check_students_left(result, scope, guard)
    if result.changed:
        result.revision = bump_revision(conn)
    if result.records_changed:
        bump_revision(conn, "learning_revision")


def _check_departures(result: ImportResult, scope: str | None, guard: DepartureGuard) -> None:
    """Refuse a staff snapshot that marks too many people departed (a truncated file?)."""
    departed, covered = result.people.removed, result.people_covered
    if guard.allowed or not exceeds_removal_share(departed, covered, guard.share):
        return
    where = f' trong phạm vi "{scope}"' if scope else ""
    raise MassDepartureRefused(
        f"tệp nhân sự sẽ đánh dấu nghỉ việc {format_number(departed)} trên "
        f"{format_number(covered)} người đang công tác{where} ({departed / covered:.0%}), "
        f"vượt ngưỡng {guard.share:.0%} (provisioning.max_removal_share), nên chưa nhập gì. "
        "Hãy kiểm tra tệp nhân sự (có bị thiếu dòng?); nếu đúng là chừng ấy người đã nghỉ, "
        "chạy lại với --allow-mass-removal."
    )


def _check_students_left(result: ImportResult, scope: str | None, guard: DepartureGuard) -> None:
    """Refuse a student snapshot that marks too many students left (a truncated file?)."""
    left, covered = result.students.removed, result.students_covered
    if guard.allowed or not exceeds_removal_share(left, covered, guard.share):
        return
    where = f' trong phạm vi "{scope}"' if scope else ""
    raise MassDepartureRefused(
        f"tệp học sinh sẽ đánh dấu thôi học/chuyển đi {format_number(left)} trên "
        f"{format_number(covered)} học sinh đang học ở các trường của tệp{where} "
        f"({left / covered:.0%}), vượt ngưỡng {guard.share:.0%} "
        "(provisioning.max_removal_share), nên chưa nhập gì. Hãy kiểm tra tệp học sinh "
        "(có bị thiếu dòng?); nếu đúng là vậy, chạy lại với --allow-mass-removal."
    )


def _as_legacy(report: Report, table: Table, rows: dict[int, tuple[str, str]]) -> Report:
    """The foreign-name warning of one of ``rows`` of ``table``, as a legacy-name reject."""
    if report.source != table.source or report.row not in rows or report.rejected:
        return report
    if report.column != table.header("name"):
        return report
    return Report(report.source, report.row, report.column, legacy_name(rows[report.row][1]), True)


def _source_order(report: Report, tables: list[Table]) -> int:
    for index, table in enumerate(tables):
        if table.source == report.source:
            return index
    return len(tables)
