"""A room delivery that can never go (the bot is not in the room: removed from it, or not
joined yet) handed to the inboxes of the people it was to reach, in one transaction: the
room delivery is given up with the reason, and each of its recipients — staff and family
accounts — gets an inbox delivery of their own, which the worker sends next."""

from __future__ import annotations

from sqlalchemy import Engine, select, update

from bot.db.base import in_thread
from bot.db.delivery import Delivery
from bot.db.delivery import T as DELIVERIES
from bot.db.family_recipient import T as FAMILY_RECIPIENTS
from bot.db.recipient import T as RECIPIENTS


@in_thread
def to_inboxes(engine: Engine, delivery_id: int, error: str) -> int:
    """Give up ``delivery_id`` (a room's) and plan an inbox delivery for each of its
    recipients; how many were planned."""
    with engine.begin() as conn:
        directive_id = conn.execute(
            select(DELIVERIES.c.directive_id).where(DELIVERIES.c.id == delivery_id)
        ).scalar_one()
        conn.execute(
            update(DELIVERIES)
            .where(DELIVERIES.c.id == delivery_id)
            .values(attempts=Delivery.MAX_ATTEMPTS, error=error[:500])
        )
        people = (
            conn.execute(
                select(RECIPIENTS.c.person_id).where(RECIPIENTS.c.delivery_id == delivery_id)
            )
            .scalars()
            .all()
        )
        for person_id in people:
            inbox = Delivery._insert(conn, directive_id, "inbox", person_id=person_id)
            conn.execute(
                update(RECIPIENTS)
                .where(
                    RECIPIENTS.c.directive_id == directive_id,
                    RECIPIENTS.c.person_id == person_id,
                )
                .values(delivery_id=inbox)
            )
        accounts = (
            conn.execute(
                select(FAMILY_RECIPIENTS.c.user_id).where(
                    FAMILY_RECIPIENTS.c.delivery_id == delivery_id
                )
            )
            .scalars()
            .all()
        )
        for user_id in accounts:
            inbox = Delivery._insert(conn, directive_id, "inbox", user_id=user_id)
            conn.execute(
                update(FAMILY_RECIPIENTS)
                .where(
                    FAMILY_RECIPIENTS.c.directive_id == directive_id,
                    FAMILY_RECIPIENTS.c.user_id == user_id,
                )
                .values(delivery_id=inbox)
            )
    return len(people) + len(accounts)
