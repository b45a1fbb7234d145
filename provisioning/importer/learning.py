"""Merge the learning records: marks (``diem``), attendance (``chuyen_can``) and term
results (``ren_luyen``).

- Marks: a file replaces the marks of every (school, Năm học, Học kỳ) it contains,
  compared student by student, so importing it twice changes nothing.
- Attendance: a file is complete for each school from its first to its last date.
- Term results: each row sets one (student, Năm học, Học kỳ/CN); rows absent are kept.

A student with a rejected row keeps what the directory holds for the term (marks) or the
dates (absences) that row might have changed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from provisioning.db.models import Absence, Mark, TermResult
from provisioning.importer.family_rows import (
    TERMS,
    AbsenceRecord,
    MarkRecord,
    TermResultRecord,
    key_of,
)
from provisioning.importer.merge import Directory, MergeOutcome
from provisioning.importer.report import Report
from provisioning.importer.rows import _YEAR, cell_text
from provisioning.importer.schools import (
    KnownStudent,
    chunks,
    known_students,
    reject,
    student_problem,
)
from provisioning.importer.sources import Table

MARKS = Mark.__table__
ABSENCES = Absence.__table__
RESULTS = TermResult.__table__
_SESSION_LABEL = {"day": "cả ngày", "morning": "buổi sáng", "afternoon": "buổi chiều"}

MarkKey = tuple[int, str, int]  # student id, Năm học, Học kỳ


def _students_of(
    conn: Connection, records: list[Any], rejected_cells: list[dict[str, Any]]
) -> dict[str, KnownStudent]:
    codes = {r.student_code for r in records}
    codes |= {cell_text(c.get("student")) for c in rejected_cells}
    return known_students(conn, codes)


# --------------------------------------------------------------------------- marks


def merge_marks(
    conn: Connection,
    table: Table,
    records: list[MarkRecord],
    rejected_cells: list[dict[str, Any]],
    directory: Directory,
    scope: str | None,
    out: MergeOutcome,
) -> None:
    students = _students_of(conn, records, rejected_cells)
    wanted, protected, rows = _wanted_marks(table, records, students, directory, scope, out)
    protected |= _protected_terms(rejected_cells, students)
    by_id = students_by_id(students)
    pairs = {(by_id[k[0]].unit_id, k[1], k[2]) for k in wanted}
    held = _held_marks(conn, pairs)
    to_insert: list[dict[str, Any]] = []
    to_delete: list[int] = []
    for key in wanted.keys() | held.keys():
        if key in protected or (key[0], None, None) in protected:
            if key in rows:
                _report_kept(table, rows[key], key, out)
            continue
        new, old = sorted(wanted.get(key, [])), held.get(key, {})
        if new == sorted(old):
            out.marks.unchanged += len(new)
            continue
        out.records_changed.add(key[0])
        to_delete.extend(old.values())
        to_insert.extend(_mark_row(key, by_id[key[0]].unit_id, mark) for mark in new)
        out.marks.removed += len(old)
        out.marks.added += len(new)
    for batch in chunks(to_delete):
        conn.execute(delete(MARKS).where(MARKS.c.id.in_(batch)))
    if to_insert:
        conn.execute(insert(MARKS), to_insert)


def _report_kept(table: Table, row: int, key: MarkKey, out: MergeOutcome) -> None:
    out.reports.append(
        Report(
            table.source,
            row,
            "",
            f"điểm học kỳ {key[2]} năm học {key[1]} của học sinh này chưa được cập nhật vì "
            "có dòng bị loại; sửa dòng đó rồi nhập lại",
            False,
        )
    )


def students_by_id(students: dict[str, KnownStudent]) -> dict[int, KnownStudent]:
    return {s.id: s for s in students.values()}


_Mark = tuple[str, str, int, int | None, bool | None]  # subject, kind, seq, score, passed


def _mark_row(key: MarkKey, unit_id: int, mark: _Mark) -> dict[str, Any]:
    subject, kind, seq, score, passed = mark
    return {
        "student_id": key[0],
        "unit_id": unit_id,
        "school_year": key[1],
        "term": key[2],
        "subject": subject,
        "kind": kind,
        "seq": seq,
        "score": score,
        "passed": passed,
    }


def _wanted_marks(
    table: Table,
    records: list[MarkRecord],
    students: dict[str, KnownStudent],
    directory: Directory,
    scope: str | None,
    out: MergeOutcome,
) -> tuple[dict[MarkKey, list[_Mark]], set[Any], dict[MarkKey, int]]:
    """The file's marks per student and term, the terms of students with a bad row, and
    the first row of each student and term."""
    wanted: dict[MarkKey, list[_Mark]] = defaultdict(list)
    rows: dict[MarkKey, int] = {}
    protected: set[Any] = set()
    count: dict[tuple, int] = defaultdict(int)  # (key, subject, kind) -> marks so far
    graded: dict[tuple, tuple[bool, int]] = {}  # (key, subject) -> (comment?, first row)
    first_row: dict[tuple, int] = {}
    for rec in records:
        reason = student_problem(rec.student_code, students, directory, scope)
        if reason is not None:
            reject(out.reports, table, rec.row, "student", reason)
            continue
        key = (students[rec.student_code].id, rec.school_year, rec.term)
        rows.setdefault(key, rec.row)
        subject = " ".join(rec.subject.split())
        comment = rec.passed is not None
        kind_of_subject = graded.setdefault((key, key_of(subject)), (comment, rec.row))
        slot = (key, key_of(subject), rec.kind)
        reason = _mark_problem(rec, comment, kind_of_subject, count[slot], first_row.get(slot))
        if reason is not None:
            reject(out.reports, table, rec.row, reason[0], reason[1])
            protected.add(key)
            continue
        count[slot] += 1
        first_row.setdefault(slot, rec.row)
        wanted[key].append((subject, rec.kind, count[slot], rec.score, rec.passed))
    return wanted, protected, rows


def _mark_problem(
    rec: MarkRecord, comment: bool, first: tuple[bool, int], count: int, slot_row: int | None
) -> tuple[str, str] | None:
    """Why a mark cannot join the others of its subject and term: (column, reason)."""
    if first[0] != comment:
        held = "Đ/CĐ" if first[0] else "điểm số"
        return (
            "value",
            f"môn {rec.subject} của học sinh này đã được đánh giá bằng {held} ở dòng "
            f"{first[1]}; một môn không trộn điểm số với Đ/CĐ",
        )
    if rec.kind in ("GK", "CK") and count:
        return (
            "kind",
            f"đã có điểm {rec.kind} môn {rec.subject} học kỳ {rec.term} ở dòng {slot_row}",
        )
    return None


def _protected_terms(
    rejected_cells: list[dict[str, Any]], students: dict[str, KnownStudent]
) -> set[Any]:
    """(student id, year, term) of each rejected row of a known student; (id, None, None)
    when the row's year or term is unreadable (all that student's terms are kept)."""
    protected: set[Any] = set()
    for cells in rejected_cells:
        student = students.get(cell_text(cells.get("student")))
        if student is None:
            continue
        year = _YEAR.fullmatch(cell_text(cells.get("year")))
        term = TERMS.get(key_of(cell_text(cells.get("term"))))
        if year and term:
            protected.add((student.id, f"{year[1]}-{year[2]}", term))
        else:
            protected.add((student.id, None, None))
    return protected


def _held_marks(conn: Connection, pairs: set[tuple[int, str, int]]) -> dict[MarkKey, dict]:
    """The marks the directory holds for ``pairs`` (school, year, term): mark -> id."""
    held: dict[MarkKey, dict[_Mark, int]] = defaultdict(dict)
    for unit_id, year, term in pairs:
        for row in conn.execute(
            select(MARKS).where(
                MARKS.c.unit_id == unit_id, MARKS.c.school_year == year, MARKS.c.term == term
            )
        ):
            mark = (row.subject, row.kind, row.seq, row.score, row.passed)
            held[(row.student_id, year, term)][mark] = row.id
    return held


# --------------------------------------------------------------------------- attendance


def merge_attendance(
    conn: Connection,
    table: Table,
    records: list[AbsenceRecord],
    rejected_cells: list[dict[str, Any]],
    directory: Directory,
    scope: str | None,
    out: MergeOutcome,
) -> None:
    students = _students_of(conn, records, rejected_cells)
    wanted, protected = _wanted_absences(table, records, students, directory, scope, out)
    protected |= {students[c].id for c in _codes(rejected_cells) if c in students}
    spans: dict[int, tuple[dt.date, dt.date]] = {}
    by_id = students_by_id(students)
    for student_id, date, _ in wanted:
        unit_id = by_id[student_id].unit_id
        low, high = spans.get(unit_id, (date, date))
        spans[unit_id] = (min(low, date), max(high, date))
    held: dict[tuple[int, dt.date, str], tuple[int, bool]] = {}
    for unit_id, (low, high) in spans.items():
        for row in conn.execute(
            select(ABSENCES).where(
                ABSENCES.c.unit_id == unit_id, ABSENCES.c.date.between(low, high)
            )
        ):
            held[(row.student_id, row.date, row.session)] = (row.id, row.excused)
    _apply_absences(conn, wanted, held, protected, by_id, out)


def _codes(rejected_cells: list[dict[str, Any]]) -> set[str]:
    return {cell_text(c.get("student")) for c in rejected_cells}


def _wanted_absences(
    table: Table,
    records: list[AbsenceRecord],
    students: dict[str, KnownStudent],
    directory: Directory,
    scope: str | None,
    out: MergeOutcome,
) -> tuple[dict[tuple[int, dt.date, str], bool], set[int]]:
    """(student id, date, session) -> excused, for the rows that can be taken; and the
    students with a row that could not (their other absences are kept)."""
    wanted: dict[tuple[int, dt.date, str], bool] = {}
    protected: set[int] = set()
    rows: dict[tuple[int, dt.date], dict[str, int]] = defaultdict(dict)
    for rec in records:
        reason = student_problem(rec.student_code, students, directory, scope)
        if reason is not None:
            reject(out.reports, table, rec.row, "student", reason)
            continue
        student_id = students[rec.student_code].id
        day = rows[(student_id, rec.date)]
        clash = day.get(rec.session) or day.get("day") or (rec.session == "day" and day)
        if clash:
            first = clash if isinstance(clash, int) else min(day.values())
            reason = f"học sinh này đã có dòng {first} ghi nghỉ ngày {rec.date:%d/%m/%Y}"
            reject(out.reports, table, rec.row, "date", reason)
            protected.add(student_id)
            continue
        day[rec.session] = rec.row
        wanted[(student_id, rec.date, rec.session)] = rec.excused
    return wanted, protected


def _apply_absences(
    conn: Connection,
    wanted: dict[tuple[int, dt.date, str], bool],
    held: dict[tuple[int, dt.date, str], tuple[int, bool]],
    protected: set[int],
    by_id: dict[int, KnownStudent],
    out: MergeOutcome,
) -> None:
    to_insert = []
    for key, excused in wanted.items():
        current = held.get(key)
        if current is None:
            unit_id = by_id[key[0]].unit_id
            to_insert.append(
                {"student_id": key[0], "unit_id": unit_id, "date": key[1], "session": key[2]}
                | {"excused": excused}
            )
            out.absences.added += 1
        elif current[1] != excused:
            conn.execute(
                update(ABSENCES).where(ABSENCES.c.id == current[0]).values(excused=excused)
            )
            out.absences.changed += 1
        else:
            out.absences.unchanged += 1
            continue
        out.records_changed.add(key[0])
    gone = [(k, v[0]) for k, v in held.items() if k not in wanted and k[0] not in protected]
    for batch in chunks([row_id for _, row_id in gone]):
        conn.execute(delete(ABSENCES).where(ABSENCES.c.id.in_(batch)))
    out.absences.removed += len(gone)
    out.records_changed.update(k[0] for k, _ in gone)
    if to_insert:
        conn.execute(insert(ABSENCES), to_insert)


# --------------------------------------------------------------------------- term results


def merge_term_results(
    conn: Connection,
    table: Table,
    records: list[TermResultRecord],
    rejected_cells: list[dict[str, Any]],
    directory: Directory,
    scope: str | None,
    out: MergeOutcome,
) -> None:
    students = _students_of(conn, records, rejected_cells)
    seen: dict[tuple[int, str, str], int] = {}
    held: dict[tuple[int, str, str], Any] = {}
    for batch in chunks({s.id for s in students.values()}):
        for row in conn.execute(select(RESULTS).where(RESULTS.c.student_id.in_(batch))):
            held[(row.student_id, row.school_year, row.term)] = row
    to_insert = []
    for rec in records:
        reason = student_problem(rec.student_code, students, directory, scope)
        key = (students[rec.student_code].id, rec.school_year, rec.term) if not reason else None
        if key is not None and key in seen:
            reason = f"trùng học sinh, năm học và học kỳ với dòng {seen[key]}"
        if reason is not None or key is None:
            reject(out.reports, table, rec.row, "student", reason or "")
            continue
        seen[key] = rec.row
        values = {"conduct": rec.conduct, "learning": rec.learning, "comment": rec.comment}
        current = held.get(key)
        if current is None:
            to_insert.append({"student_id": key[0], "school_year": key[1], "term": key[2]} | values)
            out.term_results.added += 1
        elif all(getattr(current, k) == v for k, v in values.items()):
            out.term_results.unchanged += 1
            continue
        else:
            conn.execute(update(RESULTS).where(RESULTS.c.id == current.id).values(**values))
            out.term_results.changed += 1
        out.records_changed.add(key[0])
    if to_insert:
        conn.execute(insert(RESULTS), to_insert)
