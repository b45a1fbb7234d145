"""Merge the class table (``lop``): a snapshot of each (school, Năm học) it names.

A class of such a pair that the file no longer lists is closed (kept, not deleted; its
marks stay). A rejected row keeps the class it might stand for open.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, insert, select, update

from provisioning.db.models import Person, PersonPosition, SchoolClass
from provisioning.importer.family_rows import GRADE_LABEL, PRESCHOOL_GRADES, ClassRecord
from provisioning.importer.merge import Directory, MergeOutcome
from provisioning.importer.rows import cell_text
from provisioning.importer.schools import reject, school_of, school_problem, warn
from provisioning.importer.sources import Table
from provisioning.text import compact
from provisioning.vocab import Level

CLASSES = SchoolClass.__table__
_PRESCHOOL = set(PRESCHOOL_GRADES.values())
_NUMBERED = {str(n) for n in range(1, 13)}
#: Khối each cấp học teaches; GDTX takes any numbered khối, Liên cấp (and a school whose
#: cấp học is not known) any khối at all.
_LEVEL_GRADES = {
    Level.MN: _PRESCHOOL,
    Level.TH: {str(n) for n in range(1, 6)},
    Level.THCS: {str(n) for n in range(6, 10)},
    Level.THPT: {str(n) for n in range(10, 13)},
}
_LEVEL_SHOWN = {Level.MN: "Nhà trẻ, Mầm, Chồi, Lá", Level.TH: "1–5", Level.THCS: "6–9"} | {
    Level.THPT: "10–12"
}


def merge_classes(
    conn: Connection,
    table: Table,
    records: list[ClassRecord],
    rejected_cells: list[dict[str, Any]],
    directory: Directory,
    scope: str | None,
    out: MergeOutcome,
) -> None:
    existing = {
        (row.unit_id, row.school_year, row.name_key): row for row in conn.execute(select(CLASSES))
    }
    teachers = _teachers(conn, {r.teacher_code for r in records if r.teacher_code}, directory)
    seen: dict[tuple[int, str, str], int] = {}
    new_rows: list[dict[str, Any]] = []
    now = dt.datetime.now(dt.UTC)
    for rec in records:
        unit_id = _accept(rec, table, directory, scope, seen, out)
        if unit_id is None:
            continue
        key = (unit_id, rec.school_year, rec.name_key)
        seen[key] = rec.row
        held = existing.get(key)
        teacher = _homeroom(rec, unit_id, teachers, held, table, out)
        values = {"name": rec.name, "grade": rec.grade, "homeroom_person_id": teacher}
        if held is None:
            new_rows.append(
                {"unit_id": unit_id, "school_year": rec.school_year, "name_key": rec.name_key}
                | values
                | {"active": True, "created_at": now, "updated_at": now}
            )
        else:
            _update(conn, held, values, now, out)
    if new_rows:
        conn.execute(insert(CLASSES), new_rows)
        out.classes.added += len(new_rows)
    kept = _kept_by_rejected_rows(rejected_cells, directory)
    pairs = {(unit_id, year) for unit_id, year, _ in seen}
    for key, held in existing.items():
        if held.active and key[:2] in pairs and key not in seen and (key[0], key[2]) not in kept:
            conn.execute(update(CLASSES).where(CLASSES.c.id == held.id).values(active=False))
            out.classes.removed += 1


def _accept(
    rec: ClassRecord,
    table: Table,
    directory: Directory,
    scope: str | None,
    seen: dict[tuple[int, str, str], int],
    out: MergeOutcome,
) -> int | None:
    """The school's id when the row can be taken; else the row is reported, None."""
    reason = school_problem(rec.unit_code, directory, scope)
    if reason is not None:
        reject(out.reports, table, rec.row, "unit", reason)
        return None
    unit = directory.units[rec.unit_code]
    key = (unit.id, rec.school_year, rec.name_key)
    if key in seen:
        reason = f'lớp "{rec.name}" trùng với dòng {seen[key]} (cùng trường, cùng năm học)'
        reject(out.reports, table, rec.row, "name", reason)
        return None
    level = Level(unit.level) if unit.level else None
    allowed = None if level in (None, Level.LC) else _LEVEL_GRADES.get(level, _NUMBERED)
    if allowed is not None and rec.grade not in allowed:
        reject(
            out.reports,
            table,
            rec.row,
            "grade",
            f'khối "{GRADE_LABEL[rec.grade]}" không có ở trường "{rec.unit_code}" '
            f"(cấp học {level}: khối {_LEVEL_SHOWN.get(level, '1–12')})",
        )
        return None
    return unit.id


def _homeroom(
    rec: ClassRecord,
    unit_id: int,
    teachers: dict[str, tuple[int, set[int]]],
    held: Any,
    table: Table,
    out: MergeOutcome,
) -> int | None:
    """The homeroom teacher's person id; an unusable GVCN is reported, the class kept."""
    current = held.homeroom_person_id if held is not None else None
    if rec.teacher_code is None:
        return None
    found = teachers.get(rec.teacher_code)
    if found is not None and unit_id in found[1]:
        return found[0]
    if found is None:
        why = f'không tìm thấy nhân sự đang công tác có Mã định danh "{rec.teacher_code}"'
    else:
        why = f'"{rec.teacher_code}" không phải nhân sự của trường "{rec.unit_code}"'
    outcome = "giữ GVCN đang có" if current is not None else "lớp được nhập, chưa có GVCN"
    warn(out.reports, table, rec.row, "teacher", f"GVCN: {why}; {outcome}")
    return current


def _teachers(
    conn: Connection, codes: set[str], directory: Directory
) -> dict[str, tuple[int, set[int]]]:
    """Active staff among ``codes``: code -> (person id, the schools they work in)."""
    found: dict[str, tuple[int, set[int]]] = {}
    if not codes:
        return found
    schools: dict[str, set[int]] = defaultdict(set)
    ids: dict[str, int] = {}
    for row in conn.execute(
        select(Person.code, Person.id, PersonPosition.unit_id)
        .join(PersonPosition, PersonPosition.person_id == Person.id)
        .where(Person.active.is_(True), Person.code.in_(sorted(codes)))
    ):
        ids[row.code] = row.id
        school = school_of(row.unit_id, directory)
        if school is not None:
            schools[row.code].add(school)
    for code, person_id in ids.items():
        found[code] = (person_id, schools[code])
    return found


def _update(
    conn: Connection, held: Any, values: dict[str, Any], now: dt.datetime, out: MergeOutcome
) -> None:
    changed = {k: v for k, v in values.items() if getattr(held, k) != v}
    if not held.active:
        out.classes.returned += 1
        changed["active"] = True
    elif changed:
        out.classes.changed += 1
    else:
        out.classes.unchanged += 1
        return
    conn.execute(update(CLASSES).where(CLASSES.c.id == held.id).values(updated_at=now, **changed))


def _kept_by_rejected_rows(
    rejected_cells: list[dict[str, Any]], directory: Directory
) -> set[tuple[int, str]]:
    """(school id, class key) of every rejected row: those classes are not closed."""
    kept = set()
    for cells in rejected_cells:
        unit = directory.units.get(cell_text(cells.get("unit")))
        name = compact(cell_text(cells.get("name")))
        if unit is not None and name:
            kept.add((unit.id, name))
    return kept
