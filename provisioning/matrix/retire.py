"""Retiring a room the layout no longer has a purpose for (the "Tin tức" rooms, whose
news now goes to the unit's "Thông tin điều hành"), as the admin who created it.

Nobody is removed: people keep the room's history and may leave it when they like. The
room says where its news went (a notice, then ``m.room.tombstone``, which Element shows
as "this room has been replaced" with a link), takes no more messages (events_default
100), and leaves its unit's space. The replacement's topic is set to the layout's, which
now names the portal among those who post. Every step is idempotent (the notice has a
fixed transaction id; state events are set to the same content), so a killed apply
retires the room again from the start.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from provisioning.matrix.client import MatrixClient

#: What the members read last in a retired news room.
RETIRED_NOTICE = (
    "Từ nay tin tức từ cổng thông tin điện tử được đăng trong phòng “Thông tin điều hành” "
    "của đơn vị. Phòng này không nhận tin mới, chỉ còn để xem lại tin cũ; bạn có thể rời "
    "phòng khi không cần nữa."
)
TOMBSTONE_BODY = "Tin tức nay được đăng trong phòng Thông tin điều hành của đơn vị."
LOCKED = 100


@dataclass(frozen=True)
class Retirement:
    """What retiring one room needs: its id, its space's and its replacement's (if any)."""

    key: str
    room_id: str
    space_id: str | None
    replacement_id: str | None
    replacement_topic: str | None = None


async def retire_room(client: MatrixClient, retirement: Retirement, server_name: str) -> None:
    """Notice, lock, tombstone, the replacement's topic, out of the space — in that order
    (a tombstone last but for the space: clients stop showing a replaced room's composer)."""
    r = retirement
    txn = "retire-" + hashlib.sha256(r.key.encode()).hexdigest()[:24]
    await client.send_event(r.room_id, _notice(r.replacement_id, server_name), txn)
    power = await client.get_state(r.room_id, "m.room.power_levels") or {}
    if power.get("events_default") != LOCKED:
        await client.put_state(
            r.room_id, "m.room.power_levels", {**power, "events_default": LOCKED}
        )
    if r.replacement_id is not None:
        await client.put_state(
            r.room_id,
            "m.room.tombstone",
            {"body": TOMBSTONE_BODY, "replacement_room": r.replacement_id},
        )
        if r.replacement_topic is not None:
            await client.put_state(r.replacement_id, "m.room.topic", {"topic": r.replacement_topic})
    if r.space_id is not None:
        await client.put_state(r.space_id, "m.space.child", {}, r.room_id)


def _notice(replacement_id: str | None, server_name: str) -> dict[str, str]:
    body = RETIRED_NOTICE
    if replacement_id is None:
        return {"msgtype": "m.notice", "body": body}
    link = f"https://matrix.to/#/{replacement_id}?via={server_name}"
    return {
        "msgtype": "m.notice",
        "body": f"{body}\n{link}",
        "format": "org.matrix.custom.html",
        "formatted_body": f'{body}<br><a href="{link}">Mở phòng Thông tin điều hành</a>',
    }
