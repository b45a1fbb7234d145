"""From a selection to a stored directive: audience, the exact plan, the preview, the save."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Engine, select

from bot.commands import CommandError
from bot.db.directive import Directive, NewDirective, Planned
from bot.directives.audience import Selection, audience
from bot.directives.cover import DeliveryPlan
from bot.directives.families import FamilyPreview, family_preview, verified_plan
from bot.directives.kinds import reminders_of, search_text
from bot.directory import Asker, DirectorySnapshot
from provisioning.db.models import MatrixRoom
from provisioning.db.threads import in_thread
from provisioning.domain import short_unit_name
from provisioning.text import format_number

#: Rooms a directive may be delivered through (never discussion rooms).
DELIVERY_PURPOSES = {"announcements", "role"}

JoinedMembers = Callable[[str], Awaitable[set[str]]]


@dataclass
class Preview:
    people: set[int]  # the audience that can be reached (has an account)
    unreachable: list[int]  # in the audience but without an account
    plan: DeliveryPlan  # over user ids
    rooms: dict[str, str]  # room key -> room id for the chosen rooms
    units: Counter[str]  # unit name -> people reached there
    families: FamilyPreview | None = None  # parents and students, when chosen
    missing: dict[str, str] = field(default_factory=dict)  # rooms the bot is not in

    @property
    def missing_rooms(self) -> dict[str, str]:
        """Room key -> room id of the rooms left out because the bot is not in them."""
        return {**self.missing, **(self.families.missing if self.families else {})}

    @property
    def reached(self) -> int:
        """Everyone the post reaches: staff and family members."""
        return len(self.people) + (len(self.families.members) if self.families else 0)

    @property
    def rooms_count(self) -> int:
        return len(self.plan.rooms) + (len(self.families.plan.rooms) if self.families else 0)

    @property
    def inboxes_count(self) -> int:
        return len(self.plan.inboxes) + (len(self.families.plan.inboxes) if self.families else 0)

    def summary(self) -> str:
        n = format_number
        who = []
        if self.people or not self.families:
            who.append(f"{n(len(self.people))} cán bộ thuộc {n(len(self.units))} đơn vị")
        if self.families:
            who.append(self.families.summary())
        return (
            f"{' và '.join(who)} ({n(self.rooms_count)} phòng nhóm, "
            f"{n(self.inboxes_count)} hộp thư riêng)"
        )

    def unit_lines(self, limit: int = 12) -> list[str]:
        lines = [f"{name}: {count}" for name, count in self.units.most_common(limit)]
        if len(self.units) > limit:
            lines.append(f"… và {len(self.units) - limit} đơn vị khác")
        return lines


async def preview(
    snapshot: DirectorySnapshot,
    asker: Asker,
    selection: Selection,
    joined_members: JoinedMembers | None = None,
    engine: Engine | None = None,
) -> Preview:
    """Who would receive it and through which rooms.

    The rooms' members come from provisioning's mirror; with ``joined_members`` every room
    the plan uses is checked against Synapse and the plan redone until it only relies on
    rooms whose real members it knows (someone who left or was invited by hand). A room the
    bot is not in is left out (``Preview.missing_rooms``): its people go by their inboxes.
    """
    chosen = audience(snapshot, asker, _staff_part(selection)) if selection.staff_wanted else set()
    reachable = {pid for pid in chosen if pid in snapshot.user_of}
    users = {snapshot.user_of[pid] for pid in reachable}
    rooms = snapshot.delivery_rooms(DELIVERY_PURPOSES)
    missing: dict[str, str] = {}
    plan, used = await verified_plan(
        users, rooms, set(), snapshot.service_users, joined_members, missing
    )
    units: Counter[str] = Counter()
    for pid in reachable:
        primary = snapshot.primary(snapshot.view.people[pid])
        units[short_unit_name(primary[1].name) if primary else "?"] += 1
    found = Preview(reachable, sorted(chosen - reachable), plan, used, units, missing=missing)
    if selection.families or selection.classes or selection.grades:
        found.families = await _families(engine, snapshot, asker, selection, users, joined_members)
    return found


async def missing_note(engine: Engine | None, found: Preview) -> str | None:
    """The sentence telling the sender which rooms the bot is not in; None if none."""
    missing = found.missing_rooms
    if not missing:
        return None
    names = await room_names(engine, sorted(missing)) if engine is not None else {}
    shown = [f"«{names.get(key) or room_id}»" for key, room_id in sorted(missing.items())]
    more = f" và {len(shown) - 5} phòng khác" if len(shown) > 5 else ""
    those = "các phòng đó" if len(shown) > 1 else "phòng đó"
    return (
        f"Bot chưa ở trong phòng {', '.join(shown[:5])}{more} nên không gửi vào {those}; "
        f"người nhận trong {those} sẽ nhận qua hộp thư riêng. Hãy báo quản trị viên thêm bot "
        "vào phòng."
    )


@in_thread
def room_names(engine: Engine, keys: list[str]) -> dict[str, str]:
    """The names provisioning gave these rooms (key -> name)."""
    with engine.connect() as conn:
        return dict(
            conn.execute(
                select(MatrixRoom.key, MatrixRoom.name).where(
                    MatrixRoom.key.in_(keys), MatrixRoom.name.is_not(None)
                )
            ).all()
        )


def _staff_part(selection: Selection) -> Selection:
    """With families, a chức vụ without units means the sender's whole scope ("HT phụ
    huynh": the leaders and the parents of everything the sender reaches)."""
    if selection.families and not (selection.units or selection.levels or selection.everyone):
        return replace(selection, everyone=True)
    return selection


async def _families(
    engine: Engine | None,
    snapshot: DirectorySnapshot,
    asker: Asker,
    selection: Selection,
    staff_users: set[str],
    joined_members: JoinedMembers | None,
) -> FamilyPreview:
    if not selection.families:
        raise CommandError(
            "Khối và lớp chỉ dùng khi gửi cho phụ huynh hoặc học sinh; ví dụ !gui phụ huynh 6A1: …"
        )
    assert engine is not None, "a post to families needs the database"
    return await family_preview(
        engine,
        snapshot,
        asker,
        selection,
        staff_users=staff_users,
        joined_members=joined_members,
    )


def planned(snapshot: DirectorySnapshot, found: Preview, reminders: list | None = None) -> Planned:
    """The deliveries and recipients of a preview, by person id."""
    person_of = {user: person.id for user, person in snapshot.person_of_user.items()}
    return Planned(
        rooms={
            key: (found.rooms[key], sorted(person_of[u] for u in members))
            for key, members in found.plan.rooms.items()
        },
        inboxes=sorted(person_of[u] for u in found.plan.inboxes),
        user_of=dict(snapshot.user_of),
        reminders=list(reminders or []),
        families=found.families.planned() if found.families else None,
    )


async def save(
    engine: Engine,
    snapshot: DirectorySnapshot,
    asker: Asker,
    selection: Selection,
    found: Preview,
    *,
    body: str,
    html: str | None,
    attachments: list[dict],
    origin_room_id: str | None,
    kind: str = "message",
    fields: dict[str, Any] | None = None,
    urgent: bool = False,
    scheduled_for: dt.datetime | None = None,
    now: dt.datetime | None = None,
    sms_fallback_at: dt.datetime | None = None,
) -> tuple[int, str]:
    """Store the directive, and unless it is scheduled every delivery (before anything is
    sent) and its reminders; its SMS fallback (at ``sms_fallback_at``) in any case; (id,
    code)."""
    fields = fields or {}
    sent_at = now or dt.datetime.now(dt.UTC)
    new = NewDirective(
        sender_person_id=asker.person.id,
        sender_user_id=asker.user_id,
        origin_room_id=origin_room_id,
        body=body,
        html=html,
        attachments=attachments,
        selection=selection.to_json(),
        planned=None
        if scheduled_for is not None
        else planned(snapshot, found, reminders_of(kind, fields, sent_at)),
        kind=kind,
        fields=fields,
        urgent=urgent,
        scheduled_for=scheduled_for,
        search_text=search_text(body, fields),
        created_at=now,
        sms_fallback_at=sms_fallback_at,
    )
    return await Directive.insert(engine, new)
