"""A room delivery that can never go (the bot is not in the room: removed from it, or not
joined yet) handed to the inboxes of the people it was to reach, in one transaction: the
room delivery is given up with the reason, and each of its recipients — staff and family
accounts — gets an inbox delivery of their own, which the worker sends next."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, Table, select, update

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
        return _inboxes(conn, RECIPIENTS, "person_id", directive_id, delivery_id) + _inboxes(
            conn, FAMILY_RECIPIENTS, "user_id", directive_id, delivery_id
        )


def _inboxes(
    conn: Connection, recipients: Table, who: str, directive_id: int, delivery_id: int
) -> int:
    """An inbox delivery for each row of ``recipients`` (keyed by its column ``who``: a
    person id or a family account's user id) that ``delivery_id`` was to reach."""
    column = recipients.c[who]
    found = conn.execute(select(column).where(recipients.c.delivery_id == delivery_id)).scalars()
    planned = 0
    for key in found.all():
        inbox = Delivery._insert(conn, directive_id, "inbox", **{who: key})
        conn.execute(
            update(recipients)
            .where(recipients.c.directive_id == directive_id, column == key)
            .values(delivery_id=inbox)
        )
        planned += 1
    return planned
