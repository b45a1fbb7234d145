"""What the families' merges share: is a unit a school the import may write, which school
a staff member works in, which students a file names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from provisioning.db.models import Student
from provisioning.importer.merge import Directory
from provisioning.importer.report import Report
from provisioning.importer.sources import Table
from provisioning.vocab import UnitKind

CHUNK = 500  # ids or codes per IN (…) list


def school_problem(unit_code: str, directory: Directory, scope: str | None) -> str | None:
    """Why a row cannot belong to school ``unit_code``, or None."""
    unit = directory.units.get(unit_code)
    if unit is None:
        return f'không tìm thấy trường "{unit_code}"'
    if unit.kind != UnitKind.SCHOOL:
        return f'đơn vị "{unit_code}" không phải là trường học'
    if not unit.active:
        return f'trường "{unit_code}" đã ngừng hoạt động'
    if not directory.within(unit_code, scope):
        return f'trường "{unit_code}" nằm ngoài phạm vi nhập "{scope}"'
    return None


def school_of(unit_id: int, directory: Directory) -> int | None:
    """The school a unit is or belongs to (a tổ chuyên môn's school), or None."""
    seen: set[int] = set()
    current: int | None = unit_id
    while current is not None and current not in seen:
        seen.add(current)
        unit = directory.units[directory.code_of[current]]
        if unit.kind == UnitKind.SCHOOL:
            return unit.id
        current = unit.parent_id
    return None


def chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True, slots=True)
class KnownStudent:
    id: int
    unit_id: int
    active: bool


def known_students(conn: Connection, codes: Iterable[str]) -> dict[str, KnownStudent]:
    """The students the directory holds among ``codes``."""
    found: dict[str, KnownStudent] = {}
    for batch in chunks(set(codes)):
        for row in conn.execute(
            select(Student.code, Student.id, Student.unit_id, Student.active).where(
                Student.code.in_(batch)
            )
        ):
            found[row.code] = KnownStudent(row.id, row.unit_id, row.active)
    return found


def student_problem(
    code: str, students: dict[str, KnownStudent], directory: Directory, scope: str | None
) -> str | None:
    """Why a record row cannot be about student ``code``, or None."""
    student = students.get(code)
    if student is None:
        return f'không tìm thấy học sinh có Mã học sinh "{code}"'
    school = directory.code_of[student.unit_id]
    if not directory.within(school, scope):
        return f'học sinh "{code}" học ở trường "{school}", ngoài phạm vi nhập "{scope}"'
    return None


def reject(reports: list[Report], table: Table, row: int, field: str, reason: str) -> None:
    reports.append(Report(table.source, row, table.header(field), reason, True))


def warn(reports: list[Report], table: Table, row: int, field: str, reason: str) -> None:
    reports.append(Report(table.source, row, table.header(field), reason, False))
