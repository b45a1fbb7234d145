"""The bot's tables: answered events, directives with their deliveries and recipients, read
receipts, !gui drafts. The bot owns them and their migrations (bot/db/migrations/)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from provisioning.db.models import Base


class BotEvent(Base):
    """A message event the bot has answered (so that a replayed sync never answers twice)."""

    __tablename__ = "bot_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))
    handled_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


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
