"""Directives in the database: written whole before the first send, then marked as sent.

A directive, every planned delivery (a covering room or an inbox) and every recipient
(with the delivery that reaches them) are inserted in one transaction; the sender worker
only fills in event ids. So a bot killed at any point resumes exactly where it stopped.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, bindparam, func, insert, select, update

from bot.db.models import (
    Directive,
    DirectiveDelivery,
    DirectiveDraft,
    DirectiveRecipient,
    RoomReceipt,
)

DIRECTIVES = Directive.__table__
DELIVERIES = DirectiveDelivery.__table__
RECIPIENTS = DirectiveRecipient.__table__
RECEIPTS = RoomReceipt.__table__
DRAFTS = DirectiveDraft.__table__

#: Codes people read aloud and type: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass
class NewDirective:
    sender_person_id: int
    sender_user_id: str
    origin_room_id: str | None
    body: str
    html: str | None
    attachments: list[dict[str, Any]]
    selection: dict[str, Any]
    rooms: dict[str, tuple[str, list[int]]]  # room key -> (room id, person ids it reaches)
    inboxes: list[int]  # person ids reached through their inbox
    user_of: dict[int, str]  # person id -> user id


def create_directive(engine: Engine, new: NewDirective) -> tuple[int, str]:
    """Store the directive with all its deliveries and recipients; (id, code)."""
    with engine.begin() as conn:
        code = _free_code(conn)
        directive_id = conn.execute(
            insert(DIRECTIVES)
            .values(
                code=code,
                sender_person_id=new.sender_person_id,
                sender_user_id=new.sender_user_id,
                origin_room_id=new.origin_room_id,
                body=new.body,
                html=new.html,
                attachments=json.dumps(new.attachments),
                selection=json.dumps(new.selection, ensure_ascii=False),
                status="sending",
                created_at=now(),
            )
            .returning(DIRECTIVES.c.id)
        ).scalar_one()
        recipients: list[dict[str, Any]] = []
        for key, (room_id, people) in sorted(new.rooms.items()):
            delivery = conn.execute(
                insert(DELIVERIES)
                .values(
                    directive_id=directive_id,
                    kind="room",
                    room_key=key,
                    room_id=room_id,
                    attempts=0,
                )
                .returning(DELIVERIES.c.id)
            ).scalar_one()
            recipients += [
                {
                    "directive_id": directive_id,
                    "person_id": pid,
                    "user_id": new.user_of[pid],
                    "delivery_id": delivery,
                }
                for pid in people
            ]
        for pid in sorted(new.inboxes):
            delivery = conn.execute(
                insert(DELIVERIES)
                .values(directive_id=directive_id, kind="inbox", person_id=pid, attempts=0)
                .returning(DELIVERIES.c.id)
            ).scalar_one()
            recipients.append(
                {
                    "directive_id": directive_id,
                    "person_id": pid,
                    "user_id": new.user_of[pid],
                    "delivery_id": delivery,
                }
            )
        if recipients:
            conn.execute(insert(RECIPIENTS), recipients)
    return directive_id, code


def _free_code(conn) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(5))
        if conn.scalar(select(DIRECTIVES.c.id).where(DIRECTIVES.c.code == code)) is None:
            return code


def add_reminders(engine: Engine, directive_id: int, person_ids: list[int]) -> int:
    """Plan reminder deliveries (one inbox event each); how many."""
    with engine.begin() as conn:
        for pid in sorted(person_ids):
            conn.execute(
                insert(DELIVERIES).values(
                    directive_id=directive_id, kind="reminder", person_id=pid, attempts=0
                )
            )
    return len(person_ids)


def pending(engine: Engine, limit: int = 2000) -> list[Any]:
    """Deliveries not yet sent, oldest first, with their directive."""
    with engine.connect() as conn:
        return conn.execute(
            select(
                DELIVERIES,
                DIRECTIVES.c.code,
                DIRECTIVES.c.body,
                DIRECTIVES.c.html,
                DIRECTIVES.c.attachments,
                DIRECTIVES.c.sender_person_id,
                DIRECTIVES.c.created_at.label("directive_created"),
            )
            .join(DIRECTIVES, DIRECTIVES.c.id == DELIVERIES.c.directive_id)
            .where(DELIVERIES.c.event_id.is_(None), DELIVERIES.c.attempts < 20)
            .order_by(DELIVERIES.c.id)
            .limit(limit)
        ).all()


def mark_sent_many(engine: Engine, sent: list[tuple[int, str, str]]) -> None:
    """Record several sent deliveries (id, room id, event id) in one transaction."""
    at = now()
    with engine.begin() as conn:
        conn.execute(
            update(DELIVERIES)
            .where(DELIVERIES.c.id == bindparam("delivery_id"))
            .values(
                room_id=bindparam("sent_room"),
                event_id=bindparam("sent_event"),
                sent_at=at,
                error=None,
            ),
            [{"delivery_id": d, "sent_room": r, "sent_event": e} for d, r, e in sent],
        )


def mark_failed(engine: Engine, delivery_id: int, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(DELIVERIES)
            .where(DELIVERIES.c.id == delivery_id)
            .values(attempts=DELIVERIES.c.attempts + 1, error=error[:500])
        )


def save_attachments(engine: Engine, directive_id: int, attachments: list[dict]) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(DIRECTIVES)
            .where(DIRECTIVES.c.id == directive_id)
            .values(attachments=json.dumps(attachments))
        )


def finished(engine: Engine) -> list[Any]:
    """Directives still 'sending' whose deliveries (not reminders) are all sent."""
    unsent = (
        select(func.count())
        .select_from(DELIVERIES)
        .where(
            DELIVERIES.c.directive_id == DIRECTIVES.c.id,
            DELIVERIES.c.event_id.is_(None),
            DELIVERIES.c.kind != "reminder",
        )
        .scalar_subquery()
    )
    with engine.connect() as conn:
        return conn.execute(
            select(DIRECTIVES).where(DIRECTIVES.c.status == "sending", unsent == 0)
        ).all()


def set_status(engine: Engine, directive_id: int, status: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(DIRECTIVES).where(DIRECTIVES.c.id == directive_id).values(status=status)
        )


def by_code(engine: Engine, code: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            select(DIRECTIVES).where(func.upper(DIRECTIVES.c.code) == code.upper())
        ).first()


def latest_of(engine: Engine, sender_user_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            select(DIRECTIVES)
            .where(DIRECTIVES.c.sender_user_id == sender_user_id)
            .order_by(DIRECTIVES.c.id.desc())
            .limit(1)
        ).first()


def recipients(engine: Engine, directive_id: int) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(
            select(RECIPIENTS, DELIVERIES.c.room_id, DELIVERIES.c.event_id, DELIVERIES.c.kind)
            .join(DELIVERIES, DELIVERIES.c.id == RECIPIENTS.c.delivery_id, isouter=True)
            .where(RECIPIENTS.c.directive_id == directive_id)
        ).all()


# ------------------------------------------------------------------------------ reads


def record_receipt(engine: Engine, room_id: str, user_id: str, event_id: str, ts: int) -> None:
    """Keep the latest public read receipt of a user in a room."""
    with engine.begin() as conn:
        done = conn.execute(
            update(RECEIPTS)
            .where(
                RECEIPTS.c.room_id == room_id, RECEIPTS.c.user_id == user_id, RECEIPTS.c.ts <= ts
            )
            .values(event_id=event_id, ts=ts)
        )
        if done.rowcount == 0:
            exists = conn.scalar(
                select(RECEIPTS.c.ts).where(
                    RECEIPTS.c.room_id == room_id, RECEIPTS.c.user_id == user_id
                )
            )
            if exists is None:
                conn.execute(
                    insert(RECEIPTS).values(
                        room_id=room_id, user_id=user_id, event_id=event_id, ts=ts
                    )
                )


def unread_in_room(engine: Engine, room_id: str, user_id: str) -> list[Any]:
    """Deliveries in this room that ``user_id`` has not read yet."""
    with engine.connect() as conn:
        return conn.execute(
            select(
                RECIPIENTS.c.directive_id,
                RECIPIENTS.c.person_id,
                DELIVERIES.c.event_id,
                DELIVERIES.c.sent_at,
            )
            .join(DELIVERIES, DELIVERIES.c.id == RECIPIENTS.c.delivery_id)
            .where(
                DELIVERIES.c.room_id == room_id,
                RECIPIENTS.c.user_id == user_id,
                RECIPIENTS.c.read_at.is_(None),
                DELIVERIES.c.event_id.is_not(None),
            )
        ).all()


def mark_read(engine: Engine, directive_id: int, person_id: int, how: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(RECIPIENTS)
            .where(
                RECIPIENTS.c.directive_id == directive_id,
                RECIPIENTS.c.person_id == person_id,
                RECIPIENTS.c.read_at.is_(None),
            )
            .values(read_at=now(), read_how=how)
        )


def acknowledge(engine: Engine, room_id: str, event_id: str, user_id: str, how: str) -> bool:
    """A reply or reaction to a delivered directive counts as read by its author."""
    with engine.begin() as conn:
        delivery = conn.execute(
            select(DELIVERIES.c.id, DELIVERIES.c.directive_id).where(
                DELIVERIES.c.room_id == room_id, DELIVERIES.c.event_id == event_id
            )
        ).first()
        if delivery is None:
            return False
        done = conn.execute(
            update(RECIPIENTS)
            .where(
                and_(
                    RECIPIENTS.c.directive_id == delivery.directive_id,
                    RECIPIENTS.c.user_id == user_id,
                    RECIPIENTS.c.read_at.is_(None),
                )
            )
            .values(read_at=now(), read_how=how)
        )
        return done.rowcount > 0


def public_receipt_users(engine: Engine, user_ids: set[str]) -> set[str]:
    """Those of ``user_ids`` whose clients send public read receipts (seen at least once)."""
    found: set[str] = set()
    users = sorted(user_ids)
    with engine.connect() as conn:
        for start in range(0, len(users), 500):
            found.update(
                conn.scalars(
                    select(RECEIPTS.c.user_id)
                    .where(RECEIPTS.c.user_id.in_(users[start : start + 500]))
                    .distinct()
                )
            )
    return found


# ------------------------------------------------------------------------------ drafts


def load_draft(engine: Engine, user_id: str, room_id: str) -> tuple[dict, dt.datetime] | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(DRAFTS.c.state, DRAFTS.c.updated_at).where(
                DRAFTS.c.user_id == user_id, DRAFTS.c.room_id == room_id
            )
        ).first()
    return (json.loads(row.state), aware(row.updated_at)) if row else None


def save_draft(engine: Engine, user_id: str, room_id: str, state: dict) -> None:
    text = json.dumps(state, ensure_ascii=False)
    with engine.begin() as conn:
        done = conn.execute(
            update(DRAFTS)
            .where(DRAFTS.c.user_id == user_id, DRAFTS.c.room_id == room_id)
            .values(state=text, updated_at=now())
        )
        if done.rowcount == 0:
            conn.execute(
                insert(DRAFTS).values(
                    user_id=user_id, room_id=room_id, state=text, updated_at=now()
                )
            )


def drop_draft(engine: Engine, user_id: str, room_id: str) -> None:
    from sqlalchemy import delete

    with engine.begin() as conn:
        conn.execute(delete(DRAFTS).where(DRAFTS.c.user_id == user_id, DRAFTS.c.room_id == room_id))


def expired_drafts(engine: Engine, older_than: dt.timedelta) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(
            select(DRAFTS.c.user_id, DRAFTS.c.room_id).where(
                DRAFTS.c.updated_at < now() - older_than
            )
        ).all()
