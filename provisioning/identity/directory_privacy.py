"""Who finds whom in Element's user search (Synapse's user directory), for families.

Synapse lists, to any searcher, the users of the public rooms and those sharing a
private room with the searcher (``user_directory.search_all_users`` is off). The staff's
spaces are public, so every member of staff would be found by anyone — parents and
students too. Our spam checker's ``check_username_for_spam`` hides a result when:

- the searcher is a family account (a parent's or a student's phone) and the result is
  not a moderator (power 50 or more) of a private room they share: a family finds the
  homeroom teachers of their children's class rooms, their schools' leaders (the parents
  rooms) and the bot, never the rest of the staff (a teacher who is also a parent sits
  in the rooms at power 0) nor other families;
- the searcher is anyone else (staff, the admin) and the result is a family account
  sharing no private room with them: a homeroom teacher finds the parents of their
  class, a principal those of the school, nobody else finds families.

A family account is one whose external id (auth provider ``dieuhanh``) starts with
``family:`` (provisioning.families.accounts): provisioning sets it; users cannot.
Sharing a private room is Synapse's own ``users_who_share_private_rooms``, which its user
directory keeps up to date in the background (as it does for the search itself).

Each function is a transaction body for ``ModuleApi.run_db_interaction``.
"""

from __future__ import annotations

import json
from typing import Any

from provisioning.families.accounts import FAMILY_PREFIX

#: The auth provider of our external ids (provisioning.matrix.apply.EXTERNAL_PROVIDER).
PROVIDER = "dieuhanh"
#: The power a homeroom teacher has in a class room, a leader in a parents room.
MODERATOR = 50


def hidden(txn: Any, searcher: str, found: str) -> bool:
    """Whether ``found`` must not appear in ``searcher``'s user search."""
    if searcher == found:
        return False
    txn.execute(
        "SELECT user_id FROM user_external_ids WHERE auth_provider = ?"
        " AND user_id IN (?, ?) AND external_id LIKE ?",
        (PROVIDER, searcher, found, FAMILY_PREFIX + "%"),
    )
    families = {row[0] for row in txn.fetchall()}
    if searcher in families:
        return found in families or not _moderates_a_shared_room(txn, searcher, found)
    return found in families and not _share_private_room(txn, searcher, found)


def _moderates_a_shared_room(txn: Any, searcher: str, found: str) -> bool:
    """Whether ``found`` has power 50 or more in a private room ``searcher`` shares."""
    txn.execute(
        "SELECT j.json FROM users_who_share_private_rooms AS s"
        " JOIN current_state_events AS c ON c.room_id = s.room_id"
        " AND c.type = 'm.room.power_levels' AND c.state_key = ''"
        " JOIN event_json AS j ON j.event_id = c.event_id"
        " WHERE s.user_id = ? AND s.other_user_id = ?",
        (searcher, found),
    )
    for (raw,) in txn.fetchall():
        users = (json.loads(raw).get("content") or {}).get("users") or {}
        level = users.get(found, 0)
        if isinstance(level, int) and level >= MODERATOR:
            return True
    return False


def _share_private_room(txn: Any, user_id: str, other: str) -> bool:
    txn.execute(
        "SELECT 1 FROM users_who_share_private_rooms WHERE user_id = ? AND other_user_id = ?"
        " LIMIT 1",
        (user_id, other),
    )
    return txn.fetchone() is not None
