"""Reads of the learning records (``marks``, ``attendance``, ``term_results``) for the
bot, off its event loop. Only ever called for a student the asker may see
(``bot.families.access``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, select

from bot.db.base import in_thread
from provisioning.db.models import Absence, DirectoryState, Mark, TermResult


@dataclass(frozen=True)
class MarkRow:
    student_id: int
    school_year: str
    term: int
    subject: str
    kind: str
    seq: int
    score: int | None
    passed: bool | None


@dataclass(frozen=True)
class ResultRow:
    school_year: str
    term: str  # "1", "2", "CN"
    conduct: str | None  # good, fair, pass, fail
    learning: str | None
    comment: str | None


@dataclass(frozen=True)
class AbsenceRow:
    date: dt.date
    session: str  # day, morning, afternoon
    excused: bool


_MARK_COLUMNS = (
    Mark.student_id,
    Mark.school_year,
    Mark.term,
    Mark.subject,
    Mark.kind,
    Mark.seq,
    Mark.score,
    Mark.passed,
)


@in_thread
def marks_of(engine: Engine, student_ids: Collection[int], school_year: str) -> list[MarkRow]:
    """The marks of these students in a school year, in the order they were imported."""
    if not student_ids:
        return []
    query = (
        select(*_MARK_COLUMNS)
        .where(Mark.student_id.in_(list(student_ids)), Mark.school_year == school_year)
        .order_by(Mark.id)
    )
    with engine.connect() as conn:
        return [MarkRow(*row) for row in conn.execute(query)]


@dataclass(frozen=True)
class Record:
    """One student's marks and term results of one school year."""

    school_year: str
    past: bool  # an earlier year than asked: the asked one has no records yet
    marks: list[MarkRow]
    results: list[ResultRow]


def _latest_year(conn: Connection, student_id: int) -> str | None:
    """The latest school year with marks or term results for this student."""
    marks = conn.scalar(select(func.max(Mark.school_year)).where(Mark.student_id == student_id))
    results = conn.scalar(
        select(func.max(TermResult.school_year)).where(TermResult.student_id == student_id)
    )
    years = [y for y in (marks, results) if y]
    return max(years) if years else None


def _results(conn: Connection, student_id: int, school_year: str) -> list[ResultRow]:
    query = select(
        TermResult.school_year,
        TermResult.term,
        TermResult.conduct,
        TermResult.learning,
        TermResult.comment,
    ).where(TermResult.student_id == student_id, TermResult.school_year == school_year)
    return sorted((ResultRow(*row) for row in conn.execute(query)), key=lambda r: r.term)


@in_thread
def record_of(engine: Engine, student_id: int, school_year: str, *, marks: bool = True) -> Record:
    """The student's record of ``school_year`` — or of their latest year with records when
    that one has none yet (September shows last year's) — in one trip off the loop."""
    with engine.connect() as conn:
        latest = _latest_year(conn, student_id)
        past = latest is not None and latest < school_year
        year = latest if past else school_year
        rows = []
        if marks:
            query = (
                select(*_MARK_COLUMNS)
                .where(Mark.student_id == student_id, Mark.school_year == year)
                .order_by(Mark.id)
            )
            rows = [MarkRow(*row) for row in conn.execute(query)]
        return Record(year, past, rows, _results(conn, student_id, year))


@in_thread
def absences_of(engine: Engine, student_id: int, first: dt.date, last: dt.date) -> list[AbsenceRow]:
    """The student's absences from ``first`` to ``last`` (inclusive), by date."""
    query = (
        select(Absence.date, Absence.session, Absence.excused)
        .where(Absence.student_id == student_id, Absence.date.between(first, last))
        .order_by(Absence.date, Absence.session)
    )
    with engine.connect() as conn:
        return [AbsenceRow(*row) for row in conn.execute(query)]


@in_thread
def fingerprints(engine: Engine, student_ids: Collection[int]) -> dict[int, str]:
    """Per student, a string that changes whenever their marks change (the importer
    replaces a changed student-term's rows: new ids; an unchanged one keeps its rows)."""
    found: dict[int, str] = {}
    ids = sorted(set(student_ids))
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            query = (
                select(Mark.student_id, func.count(), func.max(Mark.id))
                .where(Mark.student_id.in_(ids[start : start + 500]))
                .group_by(Mark.student_id)
            )
            for student_id, count, top in conn.execute(query):
                found[student_id] = f"{count}:{top}"
    return found


@in_thread
def all_marks(engine: Engine, student_id: int) -> list[MarkRow]:
    """Every mark of a student, every year (the notifier's comparison)."""
    query = select(*_MARK_COLUMNS).where(Mark.student_id == student_id).order_by(Mark.id)
    with engine.connect() as conn:
        return [MarkRow(*row) for row in conn.execute(query)]


@in_thread
def learning_revision(engine: Engine) -> str | None:
    """The directory's counter of changes to marks, absences and results."""
    with engine.connect() as conn:
        return conn.scalar(
            select(DirectoryState.value).where(DirectoryState.key == "learning_revision")
        )
