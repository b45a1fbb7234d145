"""Merge the student table (``hoc_sinh``): students, their parents and who follows whom.

The table is a snapshot of the schools it names: an active student of those schools whom
it no longer lists has left (kept, ``active`` false, ``left_at`` set) and their parents
stop following them. A parent is one row per mobile number, whatever the children and
schools; a parent none of whose children is still active is deactivated.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from provisioning.db.models import Parent, Person, SchoolClass, Student, StudentParent
from provisioning.importer.family_rows import StudentRecord
from provisioning.importer.merge import Directory, MergeOutcome
from provisioning.importer.rows import cell_text
from provisioning.importer.schools import chunks, reject, school_problem, warn
from provisioning.importer.sources import Table
from provisioning.text import fold

STUDENTS = Student.__table__
PARENTS = Parent.__table__
LINKS = StudentParent.__table__
_FIELDS = ("full_name", "name_key", "birth_date", "gender", "unit_id", "class_id")
_FIELDS += ("phone", "phone_raw")


@dataclass(slots=True)
class _Accepted:
    rec: StudentRecord
    unit_id: int
    class_id: int


@dataclass
class _Families:
    """What the merge of one student table works on."""

    accepted: dict[str, _Accepted] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)  # student code -> id
    covered: set[int] = field(default_factory=set)  # school ids the snapshot speaks for
    left: set[int] = field(default_factory=set)  # student ids marked left now


def merge_students(
    conn: Connection,
    table: Table,
    records: list[StudentRecord],
    rejected_cells: list[dict[str, Any]],
    directory: Directory,
    scope: str | None,
    out: MergeOutcome,
) -> None:
    now = dt.datetime.now(dt.UTC)
    held = {row.code: row for row in conn.execute(select(STUDENTS))}
    families = _Families()
    families.accepted = _accept_rows(conn, table, records, directory, scope, out)
    families.covered = _covered_schools(records, rejected_cells, directory, scope)
    families.ids = _write_students(conn, families.accepted, held, now, out)
    mentioned = {r.code for r in records} | {cell_text(c.get("code")) for c in rejected_cells}
    families.left = _mark_left(conn, held, mentioned, families.covered, now, out)
    touched = _write_links(conn, table, families, now, out)
    _settle_parents(conn, touched, now, out)
    _report_shared_phones(conn, table, families, out)


def _current_classes(conn: Connection) -> tuple[dict[tuple[int, str], int], dict[int, str]]:
    """(school id, class key) -> class id in each school's latest Năm học, and that year."""
    rows = conn.execute(
        select(SchoolClass.id, SchoolClass.unit_id, SchoolClass.school_year, SchoolClass.name_key)
        .where(SchoolClass.active.is_(True))
    ).all()  # fmt: skip
    latest: dict[int, str] = {}
    for row in rows:
        latest[row.unit_id] = max(latest.get(row.unit_id, ""), row.school_year)
    current = {
        (row.unit_id, row.name_key): row.id
        for row in rows
        if latest[row.unit_id] == row.school_year
    }
    return current, latest


def _accept_rows(
    conn: Connection,
    table: Table,
    records: list[StudentRecord],
    directory: Directory,
    scope: str | None,
    out: MergeOutcome,
) -> dict[str, _Accepted]:
    """The rows whose school and class exist (the first row of each Mã học sinh)."""
    classes, latest = _current_classes(conn)
    accepted: dict[str, _Accepted] = {}
    for rec in records:
        reason = school_problem(rec.unit_code, directory, scope)
        if reason is not None:
            reject(out.reports, table, rec.row, "unit", reason)
            continue
        if rec.code in accepted:
            first = accepted[rec.code].rec.row
            reject(
                out.reports,
                table,
                rec.row,
                "code",
                f'Mã học sinh "{rec.code}" trùng với dòng {first}',
            )
            continue
        unit_id = directory.units[rec.unit_code].id
        class_id = classes.get((unit_id, rec.class_key))
        if class_id is None:
            reject(out.reports, table, rec.row, "class", _no_class(rec, latest.get(unit_id)))
            continue
        accepted[rec.code] = _Accepted(rec, unit_id, class_id)
    return accepted


def _no_class(rec: StudentRecord, year: str | None) -> str:
    if year is None:
        return f'trường "{rec.unit_code}" chưa có lớp nào (hãy nhập bảng Lớp của trường trước)'
    return f'không tìm thấy lớp "{rec.class_name}" của trường "{rec.unit_code}" năm học {year}'


def _covered_schools(
    records: list[StudentRecord],
    rejected_cells: list[dict[str, Any]],
    directory: Directory,
    scope: str | None,
) -> set[int]:
    """The schools the snapshot speaks for: every school a row names (within the scope),
    and the scope itself when it is a school."""
    codes = {r.unit_code for r in records} | {cell_text(c.get("unit")) for c in rejected_cells}
    if scope is not None:
        codes.add(scope)
    return {
        directory.units[code].id
        for code in codes
        if code in directory.units and school_problem(code, directory, scope) is None
    }


def _write_students(
    conn: Connection,
    accepted: dict[str, _Accepted],
    held: dict[str, Any],
    now: dt.datetime,
    out: MergeOutcome,
) -> dict[str, int]:
    """Insert the new students, update the others; student code -> id."""
    ids = {code: row.id for code, row in held.items()}
    new_rows: list[dict[str, Any]] = []
    for code, row in accepted.items():
        rec, existing = row.rec, held.get(code)
        values = {
            "full_name": rec.name,
            "name_key": fold(rec.name),
            "birth_date": rec.birth_date,
            "gender": rec.gender,
            "unit_id": row.unit_id,
            "class_id": row.class_id,
            "phone": rec.phone,
            "phone_raw": rec.phone_raw,
        }
        if rec.phone is None and existing is not None and existing.phone is not None:
            values["phone"], values["phone_raw"] = existing.phone, existing.phone_raw  # kept
        if existing is None:
            new_rows.append({"code": code, "active": True, "created_at": now} | values)
            continue
        changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
        if not existing.active:
            out.students.returned += 1
            changed.update(active=True, left_at=None)
        elif changed:
            out.students.changed += 1
        else:
            out.students.unchanged += 1
            continue
        conn.execute(
            update(STUDENTS).where(STUDENTS.c.id == existing.id).values(updated_at=now, **changed)
        )
    if new_rows:
        inserted = conn.execute(
            insert(STUDENTS).returning(
                STUDENTS.c.id, STUDENTS.c.code, sort_by_parameter_order=True
            ),
            [row | {"updated_at": now} for row in new_rows],
        )
        ids.update((code, new_id) for new_id, code in inserted)
        out.students.added += len(new_rows)
    return ids


def _mark_left(
    conn: Connection,
    held: dict[str, Any],
    mentioned: set[str],
    covered: set[int],
    now: dt.datetime,
    out: MergeOutcome,
) -> set[int]:
    """Active students of the covered schools whom the file does not list have left."""
    left: list[int] = []
    for code, row in held.items():
        if row.active and row.unit_id in covered:
            out.students_covered += 1
            if code not in mentioned:
                left.append(row.id)
    for batch in chunks(left):
        conn.execute(
            update(STUDENTS)
            .where(STUDENTS.c.id.in_(batch))
            .values(active=False, left_at=now, updated_at=now)
        )
    out.students.removed += len(left)
    return set(left)


def _write_links(
    conn: Connection, table: Table, families: _Families, now: dt.datetime, out: MergeOutcome
) -> set[int]:
    """Make each listed student followed by exactly the parents of their row, and nobody
    follow a student who left; the ids of every parent whose children changed."""
    parent_ids = _write_parents(conn, table, families, now, out)
    student_ids = {families.ids[code] for code in families.accepted} | families.left
    held: dict[int, dict[int, str]] = defaultdict(dict)
    for batch in chunks(student_ids):
        for row in conn.execute(select(LINKS).where(LINKS.c.student_id.in_(batch))):
            held[row.student_id][row.parent_id] = row.relation
    wanted: dict[int, dict[int, str]] = {}
    for code, row in families.accepted.items():
        links = wanted[families.ids[code]] = {}
        for guardian in row.rec.guardians:
            links.setdefault(parent_ids[guardian.phone], guardian.relation)
    touched: set[int] = set()
    to_add, to_drop = [], []
    for student_id in student_ids:
        now_links, want = held.get(student_id, {}), wanted.get(student_id, {})
        for parent_id, relation in want.items():
            if now_links.get(parent_id) != relation:
                if parent_id in now_links:
                    to_drop.append((student_id, parent_id))
                to_add.append(
                    {"student_id": student_id, "parent_id": parent_id, "relation": relation}
                )
                touched.add(parent_id)
        for parent_id in now_links.keys() - want.keys():
            to_drop.append((student_id, parent_id))
            touched.add(parent_id)
    for student_id, parent_id in to_drop:
        conn.execute(
            delete(LINKS).where(
                and_(LINKS.c.student_id == student_id, LINKS.c.parent_id == parent_id)
            )
        )
    if to_add:
        conn.execute(insert(LINKS), to_add)
    return touched


def _write_parents(
    conn: Connection, table: Table, families: _Families, now: dt.datetime, out: MergeOutcome
) -> dict[str, int]:
    """One parent per phone of the file (created or renamed); phone -> parent id."""
    names: dict[str, tuple[str | None, int]] = {}  # phone -> (name, row it came from)
    for row in families.accepted.values():
        for g in row.rec.guardians:
            first = names.get(g.phone)
            if first is None or (first[0] is None and g.name):
                names[g.phone] = (g.name, row.rec.row)
            elif g.name and fold(g.name) != fold(first[0] or g.name):
                warn(
                    out.reports,
                    table,
                    row.rec.row,
                    f"{g.relation}_name",
                    f'số {g.phone} đã ghi cho phụ huynh "{first[0]}" ở dòng {first[1]}; '
                    f"một số điện thoại là một phụ huynh, dùng tên ở dòng {first[1]}",
                )
    existing = {}
    for batch in chunks(names):
        for row in conn.execute(select(PARENTS).where(PARENTS.c.phone.in_(batch))):
            existing[row.phone] = row
    elsewhere = _followed_elsewhere(conn, [p.id for p in existing.values()], families.covered)
    for phone, parent in existing.items():
        name = names[phone][0]
        if name and name != parent.full_name and parent.id not in elsewhere:
            conn.execute(
                update(PARENTS)
                .where(PARENTS.c.id == parent.id)
                .values(full_name=name, updated_at=now)
            )
            out.parents.changed += 1
    ids = {phone: parent.id for phone, parent in existing.items()}
    new_rows = [
        {"phone": phone, "full_name": name, "active": True, "created_at": now, "updated_at": now}
        for phone, (name, _) in names.items()
        if phone not in existing
    ]
    if new_rows:
        inserted = conn.execute(
            insert(PARENTS).returning(PARENTS.c.id, PARENTS.c.phone, sort_by_parameter_order=True),
            new_rows,
        )
        ids.update((phone, new_id) for new_id, phone in inserted)
        out.parents.added += len(new_rows)
    return ids


def _followed_elsewhere(conn: Connection, parent_ids: list[int], covered: set[int]) -> set[int]:
    """Parents who follow an active child outside the snapshot's schools: their name as
    another school wrote it is kept."""
    found: set[int] = set()
    for batch in chunks(parent_ids):
        found.update(
            conn.scalars(
                select(LINKS.c.parent_id)
                .join(STUDENTS, STUDENTS.c.id == LINKS.c.student_id)
                .where(
                    LINKS.c.parent_id.in_(batch),
                    STUDENTS.c.active.is_(True),
                    STUDENTS.c.unit_id.not_in(covered or {0}),
                )
            )
        )
    return found


def _settle_parents(
    conn: Connection, touched: set[int], now: dt.datetime, out: MergeOutcome
) -> None:
    """A parent is active while they follow at least one active student."""
    for batch in chunks(touched):
        following = set(
            conn.scalars(
                select(LINKS.c.parent_id)
                .join(STUDENTS, STUDENTS.c.id == LINKS.c.student_id)
                .where(LINKS.c.parent_id.in_(batch), STUDENTS.c.active.is_(True))
            )
        )
        for parent_id, active in conn.execute(
            select(PARENTS.c.id, PARENTS.c.active).where(PARENTS.c.id.in_(batch))
        ):
            if active == (parent_id in following):
                continue
            conn.execute(
                update(PARENTS)
                .where(PARENTS.c.id == parent_id)
                .values(active=not active, updated_at=now)
            )
            if active:
                out.parents.removed += 1
            else:
                out.parents.returned += 1


def _report_shared_phones(
    conn: Connection, table: Table, families: _Families, out: MergeOutcome
) -> None:
    """A student's own number that another active student, a parent or a member of staff
    also has is reported: it cannot be the student's login until one is fixed."""
    rows: dict[str, list[StudentRecord]] = defaultdict(list)
    for accepted in families.accepted.values():
        if accepted.rec.phone:
            rows[accepted.rec.phone].append(accepted.rec)
    holders: dict[str, list[str]] = defaultdict(list)
    for batch in chunks(rows):
        for row in conn.execute(
            select(STUDENTS.c.phone, STUDENTS.c.code, STUDENTS.c.full_name).where(
                STUDENTS.c.phone.in_(batch), STUDENTS.c.active.is_(True)
            )
        ):
            holders[row.phone].append(f"học sinh {row.code} ({row.full_name})")
        for phone, name in conn.execute(
            select(PARENTS.c.phone, PARENTS.c.full_name).where(PARENTS.c.phone.in_(batch))
        ):
            holders[phone].append(f"phụ huynh {name or phone}")
        for phone, name in conn.execute(
            select(Person.phone, Person.full_name).where(
                Person.phone.in_(batch), Person.active.is_(True)
            )
        ):
            holders[phone].append(f"nhân sự {name}")
    for phone, owners in holders.items():
        for rec in rows[phone]:
            others = [o for o in owners if not o.startswith(f"học sinh {rec.code} (")]
            if not others:
                continue
            warn(
                out.reports,
                table,
                rec.row,
                "phone",
                f"số {phone} trùng với {', '.join(others)}; học sinh chưa có tài khoản "
                "riêng bằng số này cho đến khi sửa",
            )
