"""Reads of the families' directory tables (``family_accounts``, ``parents``,
``students``, ``classes``) for the bot: who an account is, a class, a school's students.

Provisioning writes these tables; the bot only reads them, off its event loop.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, and_, func, or_, select

from bot.db.base import in_thread
from bot.families.identity import Child, Family
from provisioning.db.models import (
    FamilyAccount,
    Parent,
    SchoolClass,
    Student,
    StudentParent,
    Unit,
)


@dataclass(frozen=True)
class ClassRow:
    """A class as the bot shows it."""

    id: int
    name: str
    unit_id: int
    unit_name: str
    school_year: str
    homeroom_person_id: int | None


def _child_query():
    return (
        select(
            Student.id,
            Student.code,
            Student.full_name,
            Student.unit_id,
            Unit.name,
            Student.class_id,
            func.coalesce(SchoolClass.name, ""),
            Unit.level,
        )
        .join(Unit, Unit.id == Student.unit_id)
        .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
        .where(Student.active.is_(True))
    )


def _children(conn: Connection, query) -> list[Child]:
    return [Child(*row) for row in conn.execute(query.order_by(Student.name_key, Student.code))]


def _account_phone(conn: Connection, user_id: str) -> str | None:
    return conn.scalar(
        select(FamilyAccount.phone).where(
            FamilyAccount.user_id == user_id, FamilyAccount.deactivated.is_(False)
        )
    )


def _own_student(conn: Connection, phone: str) -> Child | None:
    """The student whose own number this is — only when nobody else holds it: a number
    shared with another student or with a parent gives no student's record (the import
    reports the conflict and keeps it visible)."""
    holders = _children(conn, _child_query().where(Student.phone == phone))
    parent = conn.scalar(select(Parent.id).where(Parent.phone == phone, Parent.active.is_(True)))
    return holders[0] if len(holders) == 1 and parent is None else None


@in_thread
def family_of(engine: Engine, user_id: str, staff_phone: str | None = None) -> Family:
    """The account's family identity: through ``family_accounts``, or through the staff
    member's own phone (``staff_phone``) when the account is a staff account."""
    with engine.connect() as conn:
        phone = staff_phone or _account_phone(conn, user_id)
        if phone is None:
            return Family(user_id, None)
        children = _children(
            conn,
            _child_query()
            .join(StudentParent, StudentParent.student_id == Student.id)
            .join(
                Parent,
                and_(Parent.id == StudentParent.parent_id, Parent.phone == phone),
            ),
        )
        itself = None if staff_phone else _own_student(conn, phone)
    return Family(user_id, phone, tuple(children), itself)


@in_thread
def is_family_account(engine: Engine, user_id: str) -> bool:
    """Whether ``user_id`` is an active family account (a parent's or a student's)."""
    with engine.connect() as conn:
        return _account_phone(conn, user_id) is not None


@in_thread
def classes_in(
    engine: Engine, *, homeroom_of: int | None = None, schools: Collection[int] = ()
) -> list[ClassRow]:
    """Active classes whose homeroom teacher is ``homeroom_of``, and every active class
    of ``schools`` (their leaders)."""
    conditions = []
    if homeroom_of is not None:
        conditions.append(SchoolClass.homeroom_person_id == homeroom_of)
    if schools:
        conditions.append(SchoolClass.unit_id.in_(list(schools)))
    if not conditions:
        return []
    query = (
        select(
            SchoolClass.id,
            SchoolClass.name,
            SchoolClass.unit_id,
            Unit.name,
            SchoolClass.school_year,
            SchoolClass.homeroom_person_id,
        )
        .join(Unit, Unit.id == SchoolClass.unit_id)
        .where(SchoolClass.active.is_(True), or_(*conditions))
        .order_by(SchoolClass.unit_id, SchoolClass.name_key)
    )
    with engine.connect() as conn:
        return [ClassRow(*row) for row in conn.execute(query)]


@in_thread
def students_of_classes(engine: Engine, class_ids: Collection[int]) -> list[Child]:
    """The active students of these classes, in name order."""
    if not class_ids:
        return []
    with engine.connect() as conn:
        return _children(conn, _child_query().where(Student.class_id.in_(list(class_ids))))


@in_thread
def children_by_id(engine: Engine, student_ids: Collection[int]) -> list[Child]:
    """Active students by id (the notifier's children of followers)."""
    if not student_ids:
        return []
    with engine.connect() as conn:
        return _children(conn, _child_query().where(Student.id.in_(list(student_ids))))
