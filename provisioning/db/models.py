"""The directory's tables: units, people, their positions, school figures.

Codes from the domain (``vocab``) are stored as short strings, so the database stays
readable with any SQL client and a new position needs no migration.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
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
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


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
    departed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


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
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class BotEvent(Base):
    """A message event the bot has answered (so that a replayed sync never answers twice)."""

    __tablename__ = "bot_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))
    handled_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


# --------------------------------------------------------------------------- directives
# Tin nhắn điều hành: stored with every planned delivery before the first send.


class Directive(Base):
    """One directive as its sender confirmed it."""

    __tablename__ = "directives"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    sender_person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    sender_user_id: Mapped[str] = mapped_column(String(255))
    origin_room_id: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    selection: Mapped[str] = mapped_column(Text, default="{}")  # JSON: what was chosen
    status: Mapped[str] = mapped_column(String(16), default="sending")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class DirectiveDelivery(Base):
    """One event (plus its attachments) into one room: a covering room or an inbox."""

    __tablename__ = "directive_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    directive_id: Mapped[int] = mapped_column(
        ForeignKey("directives.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # room | inbox | reminder
    room_key: Mapped[str | None] = mapped_column(String(255))
    room_id: Mapped[str | None] = mapped_column(String(255), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    event_id: Mapped[str | None] = mapped_column(String(255), index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class DirectiveRecipient(Base):
    """A person the directive is for, the delivery that reaches them, and whether they read."""

    __tablename__ = "directive_recipients"

    directive_id: Mapped[int] = mapped_column(
        ForeignKey("directives.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("directive_deliveries.id"))
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    read_how: Mapped[str | None] = mapped_column(String(16))  # receipt | reply | reaction


class RoomReceipt(Base):
    """The latest public read receipt of a user in a room the bot is in."""

    __tablename__ = "room_receipts"

    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255))
    ts: Mapped[int] = mapped_column(BigInteger)


class DirectiveDraft(Base):
    """A guided !gui conversation in progress (survives a bot restart)."""

    __tablename__ = "directive_drafts"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str] = mapped_column(Text)  # JSON
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
