"""The directory's tables: units, people, their positions, school figures.

Codes from the domain (``vocab``) are stored as short strings, so the database stays
readable with any SQL client and a new position needs no migration.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from provisioning.db.types import UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Unit(Base):
    """A node of the tree: Sở, office, commune, cluster, school, team."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(8))
    ownership: Mapped[str | None] = mapped_column(String(16))
    portal_url: Mapped[str | None] = mapped_column(String(500))
    rss_url: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, server_default=func.now())


class Person(Base):
    """A member of staff, identified by the Mã định danh of the staff file."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str] = mapped_column(String(255), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    phone_raw: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(255))
    training_level: Mapped[str | None] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(100))
    gender: Mapped[str | None] = mapped_column(String(8))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    departed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, server_default=func.now())


class PersonPosition(Base):
    """One chức vụ of one person in one unit."""

    __tablename__ = "positions"
    __table_args__ = (
        UniqueConstraint("person_id", "unit_id", "position"),
        Index("ix_positions_unit_id_position", "unit_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    position: Mapped[str] = mapped_column(String(32))


class SchoolFigures(Base):
    """Classes and pupils of one school in one school year."""

    __tablename__ = "school_figures"
    __table_args__ = (UniqueConstraint("unit_id", "school_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    school_year: Mapped[str] = mapped_column(String(9))
    classes: Mapped[int] = mapped_column(Integer)
    pupils: Mapped[int] = mapped_column(Integer)


class DirectoryState(Base):
    """Key/value facts about the directory as a whole (its revision, last import)."""

    __tablename__ = "directory_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


# --------------------------------------------------------------------------- contact updates
# Corrections made in chat (!capnhat) and changes brought by imports, kept as a history;
# staff members' own requests waiting for their principal.


class ContactChange(Base):
    """One change of a person's phone, position, unit or standing, with who made it."""

    __tablename__ = "contact_changes"
    __table_args__ = (Index("ix_contact_changes_person_id_at", "person_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(16))  # phone, position, unit, active
    old_value: Mapped[str | None] = mapped_column(String(500))
    new_value: Mapped[str | None] = mapped_column(String(500))
    by_user_id: Mapped[str | None] = mapped_column(String(255))  # chat: the Matrix user
    by_person_code: Mapped[str | None] = mapped_column(String(64))
    by_name: Mapped[str] = mapped_column(String(255))  # as shown: a name, or the file
    source: Mapped[str] = mapped_column(String(8))  # chat, import
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # the directory's revision when it was made (orders chat against imports, whatever
    # the clocks say)
    revision: Mapped[int] = mapped_column(Integer)


class PersonImport(Base):
    """The digest of a person's rows in the last staff file of one scope that listed them:
    an import changes what chat corrected only when those rows changed."""

    __tablename__ = "person_imports"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)  # "" for the whole city
    digest: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revision: Mapped[int] = mapped_column(Integer)  # the directory's, before that import


class ContactRequest(Base):
    """A staff member's request to change their own phone, until their principal decides."""

    __tablename__ = "contact_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # typed in !capnhat duyet
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(255))
    requested_by: Mapped[str] = mapped_column(String(255))  # Matrix user id
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # approved, rejected
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


# --------------------------------------------------------------------------- SMS outreach
# Every SMS sent to a person on the bot's or the CLI's behalf (invitations to log in, the
# fallback of urgent directives), and each unit's monthly budget in use (provisioning.outreach).


class SmsMessage(Base):
    """One SMS to one person: queued (its budget reserved), then sent or failed."""

    __tablename__ = "sms_messages"
    __table_args__ = (
        # a directive's fallback reaches each person once (invitations have no ref: NULLs
        # never collide)
        UniqueConstraint("kind", "ref", "person_id"),
        # "invited in the last 7 days"
        Index("ix_sms_messages_person_id_kind_created_at", "person_id", "kind", "created_at"),
        Index("ix_sms_messages_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # invitation, fallback
    ref: Mapped[str | None] = mapped_column(String(32), index=True)  # the directive's code
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    # the unit whose budget pays: the person's school, or their office
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # "2026-12", in Vietnam
    phone: Mapped[str] = mapped_column(String(20))  # E.164, as sent to
    text: Mapped[str] = mapped_column(String(500))  # never logged; sent once
    segments: Mapped[int] = mapped_column(Integer, default=1)  # what the budget counts
    # queued -> sending -> accepted | failed; sending -> unknown when its sender stopped
    status: Mapped[str] = mapped_column(String(16), default="queued")
    result: Mapped[str | None] = mapped_column(String(255))  # "HTTP 200", the error
    by: Mapped[str] = mapped_column(String(255))  # who asked: a user id, or the CLI
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # -> sending
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # the gateway answered


class SmsBudgetUsage(Base):
    """SMS counted against one unit's budget in one month (failed ones given back). Its row
    is also the lock that serialises concurrent reservations for the unit."""

    __tablename__ = "sms_budget_usage"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    used: Mapped[int] = mapped_column(Integer, default=0)


# --------------------------------------------------------------------------- families
# Classes, students, their parents and learning records (DATA-FORMAT.md, "Students,
# parents and learning records"). Codes are short English strings, as above.


class SchoolClass(Base):
    """A class (lớp, or nhóm/lớp in Mầm non) of one school in one school year."""

    __tablename__ = "classes"
    __table_args__ = (
        UniqueConstraint("unit_id", "school_year", "name_key"),
        Index("ix_classes_homeroom_person_id", "homeroom_person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    school_year: Mapped[str] = mapped_column(String(9))
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64))  # compact(name): "6A1" = "6 a1"
    grade: Mapped[str] = mapped_column(String(8))  # "1".."12", nha_tre, mam, choi, la
    homeroom_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL")
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, server_default=func.now())


class Student(Base):
    """A pupil, identified by the sector database's Mã học sinh."""

    __tablename__ = "students"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str] = mapped_column(String(255), index=True)
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(8))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    class_id: Mapped[int | None] = mapped_column(
        ForeignKey("classes.id", ondelete="SET NULL"), index=True
    )
    phone: Mapped[str | None] = mapped_column(String(20), index=True)  # the student's own
    phone_raw: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    left_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, server_default=func.now())


class Parent(Base):
    """A parent or guardian: one per mobile number, whatever children and schools."""

    __tablename__ = "parents"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164
    full_name: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # follows an active child
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, server_default=func.now())


class StudentParent(Base):
    """A parent following a child: father, mother or guardian."""

    __tablename__ = "student_parents"
    __table_args__ = (Index("ix_student_parents_parent_id", "parent_id"),)

    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    parent_id: Mapped[int] = mapped_column(
        ForeignKey("parents.id", ondelete="CASCADE"), primary_key=True
    )
    relation: Mapped[str] = mapped_column(String(16))  # father, mother, guardian


class Mark(Base):
    """One mark (Thông tư 22/2021): a score in tenths, or Đ/CĐ for comment subjects."""

    __tablename__ = "marks"
    __table_args__ = (
        Index("ix_marks_student_id_school_year_term", "student_id", "school_year", "term"),
        Index("ix_marks_unit_id_school_year_term", "unit_id", "school_year", "term"),
        CheckConstraint("(score IS NULL) <> (passed IS NULL)", name="score_or_passed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    school_year: Mapped[str] = mapped_column(String(9))
    term: Mapped[int] = mapped_column(Integer)  # 1 or 2
    subject: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(2))  # TX, GK, CK
    seq: Mapped[int] = mapped_column(Integer)  # order among the same kind (TX1, TX2, …)
    score: Mapped[int | None] = mapped_column(Integer)  # tenths: 85 = 8,5
    passed: Mapped[bool | None] = mapped_column(Boolean)  # Đ = True, CĐ = False


class Absence(Base):
    """A day or half-day a student missed, with or without permission."""

    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("student_id", "date", "session"),
        Index("ix_attendance_unit_id_date", "unit_id", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    session: Mapped[str] = mapped_column(String(9))  # day, morning, afternoon
    excused: Mapped[bool] = mapped_column(Boolean)  # P = True, K = False


class TermResult(Base):
    """Kết quả rèn luyện / học tập and the homeroom teacher's comment for a term or year."""

    __tablename__ = "term_results"
    __table_args__ = (UniqueConstraint("student_id", "school_year", "term"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    school_year: Mapped[str] = mapped_column(String(9))
    term: Mapped[str] = mapped_column(String(2))  # "1", "2", "CN"
    conduct: Mapped[str | None] = mapped_column(String(16))  # good, fair, pass, fail
    learning: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)


# --------------------------------------------------------------------------- Matrix mirror
# What provisioning has applied to Synapse, so that planning needs no HTTP call.


class MatrixAccount(Base):
    """A person's Matrix account as last applied."""

    __tablename__ = "matrix_accounts"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(255), unique=True)
    # False until Synapse confirmed the account exists (the localpart is reserved first)
    created: Mapped[bool] = mapped_column(Boolean, default=False)
    displayname: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(20))
    deactivated: Mapped[bool] = mapped_column(Boolean, default=False)


class FamilyAccount(Base):
    """The Matrix account of a family member's phone: a parent's (siblings in any school
    share it) or a student's own. A number that is also a staff member's uses the staff
    account (``matrix_accounts.phone``) and has no row here. Who the account is — whose
    parent, which student — is read from ``parents`` and ``students`` by ``phone``."""

    __tablename__ = "family_accounts"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)  # E.164
    user_id: Mapped[str] = mapped_column(String(255), unique=True)
    # False until Synapse confirmed the account exists (the localpart is reserved first)
    created: Mapped[bool] = mapped_column(Boolean, default=False)
    displayname: Mapped[str | None] = mapped_column(String(255))
    deactivated: Mapped[bool] = mapped_column(Boolean, default=False)


class AccountActivity(Base):
    """Who has logged in, and when an account was last seen: copied from Synapse (its
    devices) every few minutes by our module, so that commands never ask Synapse. No
    row, or no ``first_login_at``: the person has never logged in."""

    __tablename__ = "account_activity"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    first_login_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, index=True)
    devices: Mapped[int] = mapped_column(Integer, default=0)  # current sessions
    checked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class AccountActivityCopy(Base):
    """When the copy into ``account_activity`` last finished a round: one row (``id`` 1),
    none before the first round. A table of its own, beside ``account_activity``, so that
    the database role Synapse's module uses needs no other table (no ``directory_state``)."""

    __tablename__ = "account_activity_copy"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, default=1)
    copied_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class MatrixRoom(Base):
    """A room or space provisioning manages, found again by its key (and its alias/tag)."""

    __tablename__ = "matrix_rooms"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    unit_code: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str | None] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(8))
    ownership: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(255))
    power_digest: Mapped[str | None] = mapped_column(String(64))
    parent_key: Mapped[str | None] = mapped_column(String(255))


class MatrixMember(Base):
    """A user joined to a managed room, as last applied or observed."""

    __tablename__ = "matrix_members"

    room_key: Mapped[str] = mapped_column(
        ForeignKey("matrix_rooms.key", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class ApplyLock(Base):
    """At most one ``apply`` per homeserver, whichever machine or process starts it."""

    __tablename__ = "apply_locks"

    homeserver: Mapped[str] = mapped_column(String(255), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
