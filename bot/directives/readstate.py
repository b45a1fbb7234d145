"""Recipients by read state (pure but for two reads): read, unread, unknown, never,
undelivered — what !baocao shows and what the SMS fallback acts on.

Read = a public read receipt at or after the directive in the room that carried it, or a
reply or reaction to it. People who have never logged in (account_activity) are "never":
they cannot have read it. People who have, but whose clients have never sent a public
receipt the bot could see (private receipts) are "unknown", not "unread".
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Engine

from bot.db.activity import Activity
from bot.db.family_recipient import FamilyRecipient
from bot.db.receipt import Receipt
from bot.db.recipient import Recipient

#: read | unread | unknown | never (never logged in) | undelivered
STATES = ("read", "unread", "unknown", "never", "undelivered")
#: who has not opened a post that reached them: the SMS fallback's recipients
NOT_OPENED = ("unread", "unknown", "never")
_Row = TypeVar("_Row", Recipient, FamilyRecipient)


async def by_state(engine: Engine, activity: Activity, rows: list[_Row]) -> dict[str, list[_Row]]:
    """``rows`` (staff or family recipients) in :data:`STATES`. "never" stays empty while
    the login module has not copied who logged in (they are then "unknown")."""
    public = await Receipt.users_sending_public(engine, {r.user_id for r in rows})
    groups: dict[str, list[_Row]] = {k: [] for k in STATES}
    for row in rows:
        if row.read_at is not None:
            groups["read"].append(row)
        elif row.event_id is None:
            groups["undelivered"].append(row)
        elif activity.known and not activity.logged_in(row.user_id):
            groups["never"].append(row)
        elif row.user_id in public:
            groups["unread"].append(row)
        else:
            groups["unknown"].append(row)
    return groups
