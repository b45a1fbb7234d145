"""Diff the layout the directory asks for against the mirror of Synapse (pure).

The plan is a list of operations in tiers (``order.py``: accounts, the officials' rooms,
the rest), each in the order that avoids conflicts: spaces top-down, rooms, links and
names, accounts, phone moves (remove, then add), joins, one power-levels event per room,
then leaves, retired rooms and deactivations.

A room whose purpose the layout has dropped (``RETIRED_PURPOSES``: the "Tin tức" rooms,
whose news now goes to "Thông tin điều hành") is retired as a whole — one operation per
room, not a leave per member: it is locked, points to its replacement and leaves its
space, and the mirror forgets it; its members keep its history.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from provisioning.config import exceeds_removal_share
from provisioning.families.accounts import is_family_key
from provisioning.matrix.layout import (
    BOT,
    NEWS_POSTED_IN,
    TAG_EVENT,
    AccountSpec,
    Layout,
    Power,
    Purpose,
    RoomSpec,
    unit_room_key,
)
from provisioning.matrix.mirror import AccountRow, Mirror

if TYPE_CHECKING:
    from provisioning.matrix.estimate import Estimate


class Kind(StrEnum):
    CREATE_SPACE = "create_space"
    CREATE_ROOM = "create_room"
    LINK_SPACE_CHILD = "link_space_child"
    RENAME_ROOM = "rename_room"
    CREATE_BOT = "create_bot"
    CREATE_USER = "create_user"
    REACTIVATE_USER = "reactivate_user"
    UPDATE_DISPLAYNAME = "update_displayname"
    REMOVE_PHONE = "remove_phone"
    SET_PHONE = "set_phone"
    JOIN = "join"
    SET_POWER_LEVELS = "set_power_levels"
    LEAVE = "leave"
    RETIRE_ROOM = "retire_room"
    DEACTIVATE_USER = "deactivate_user"


class Phase(IntEnum):
    SPACES = 0
    ROOMS = 1
    LINKS = 2
    ACCOUNTS = 3
    PHONES_FREED = 4
    PHONES_BOUND = 5
    JOINS = 6
    POWER = 7
    LEAVES = 8
    DEACTIVATIONS = 9


PHASE_OF = {
    Kind.CREATE_SPACE: Phase.SPACES,
    Kind.CREATE_ROOM: Phase.ROOMS,
    Kind.LINK_SPACE_CHILD: Phase.LINKS,
    Kind.RENAME_ROOM: Phase.LINKS,
    Kind.CREATE_BOT: Phase.ACCOUNTS,
    Kind.CREATE_USER: Phase.ACCOUNTS,
    Kind.REACTIVATE_USER: Phase.ACCOUNTS,
    Kind.UPDATE_DISPLAYNAME: Phase.ACCOUNTS,
    Kind.REMOVE_PHONE: Phase.PHONES_FREED,
    Kind.SET_PHONE: Phase.PHONES_BOUND,
    Kind.JOIN: Phase.JOINS,
    Kind.SET_POWER_LEVELS: Phase.POWER,
    Kind.LEAVE: Phase.LEAVES,
    Kind.RETIRE_ROOM: Phase.LEAVES,
    Kind.DEACTIVATE_USER: Phase.DEACTIVATIONS,
}

#: How `dieuhanh plan` names each kind.
KIND_LABEL = {
    Kind.CREATE_SPACE: "Tạo không gian (space)",
    Kind.CREATE_ROOM: "Tạo phòng",
    Kind.LINK_SPACE_CHILD: "Gắn phòng vào không gian",
    Kind.RENAME_ROOM: "Đổi tên phòng",
    Kind.CREATE_BOT: "Tạo tài khoản bot",
    Kind.CREATE_USER: "Tạo tài khoản",
    Kind.REACTIVATE_USER: "Mở lại tài khoản",
    Kind.UPDATE_DISPLAYNAME: "Đổi tên hiển thị",
    Kind.REMOVE_PHONE: "Gỡ số điện thoại",
    Kind.SET_PHONE: "Gắn số điện thoại",
    Kind.JOIN: "Thêm vào phòng",
    Kind.SET_POWER_LEVELS: "Đặt quyền trong phòng",
    Kind.LEAVE: "Đưa ra khỏi phòng",
    Kind.RETIRE_ROOM: "Ngừng dùng phòng (chỉ còn để xem lại)",
    Kind.DEACTIVATE_USER: "Khoá tài khoản (nghỉ việc, hết con theo học)",
}

#: Room keys of the families' rooms (family_layout.py).
FAMILY_ROOM_PREFIXES = ("class/", "parents/")


class Op(NamedTuple):
    """One operation of a plan (a tuple: a city's plan holds about a million of them)."""

    kind: Kind
    room: str | None = None  # room key
    person: str | None = None  # person code
    user_id: str | None = None
    value: str | None = None  # new name, phone, parent key …
    phone: str | None = None  # a new account's phone, bound at creation when free

    @property
    def phase(self) -> Phase:
        return PHASE_OF[self.kind]

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self._asdict().items() if v is not None}


@dataclass
class Plan:
    ops: list[Op] = field(default_factory=list)
    user_of: dict[str, str] = field(default_factory=dict)  # person code -> user id (new too)
    accounts_before: int = 0  # active accounts in the mirror
    memberships_before: int = 0
    departures: set[str] = field(default_factory=set)  # person codes deactivated as departed
    estimate: Estimate | None = None  # how long it will take (set by apply, for progress)

    @property
    def total(self) -> int:
        return len(self.ops)

    def counts(self) -> dict[str, int]:
        counted = Counter(op.kind for op in self.ops)
        return {kind.value: counted[kind] for kind in Kind if counted[kind]}

    def family_counts(self) -> dict[str, int]:
        """Of ``counts()``, the operations on families: their accounts (``family:`` keys)
        and their rooms (class and parents rooms), for `dieuhanh plan`."""
        counted = Counter(
            op.kind
            for op in self.ops
            if is_family_key(op.person) or (op.room or "").startswith(FAMILY_ROOM_PREFIXES)
        )
        return {kind.value: counted[kind] for kind in Kind if counted[kind]}

    def departures_only(self) -> Plan:
        """The deactivations of people an import marked departed: confirmed by that import
        (and its own guard), they are carried out even when ``mass_removal`` refuses the rest."""
        wanted = self.departures
        ops = [op for op in self.ops if op.kind is Kind.DEACTIVATE_USER and op.person in wanted]
        return Plan(ops, dict(self.user_of), self.accounts_before, self.memberships_before)

    def removals(self) -> tuple[int, int]:
        """(accounts to deactivate, memberships to remove)."""
        counted = Counter(op.kind for op in self.ops)
        return counted[Kind.DEACTIVATE_USER], counted[Kind.LEAVE]

    def mass_removal(self, share: float) -> str | None:
        """Why this plan removes too much at once (a truncated staff file?), or None."""
        accounts, memberships = self.removals()
        reasons = []
        if exceeds_removal_share(accounts, self.accounts_before, share):
            reasons.append(f"khoá {accounts} trên {self.accounts_before} tài khoản")
        if exceeds_removal_share(memberships, self.memberships_before, share):
            reasons.append(
                f"đưa {memberships} trên {self.memberships_before} lượt thành viên ra khỏi phòng"
            )
        if not reasons:
            return None
        return (
            f"Kế hoạch sẽ {' và '.join(reasons)}, vượt ngưỡng {share:.0%}. Hãy kiểm tra "
            "tệp nhân sự (có bị thiếu dòng?); nếu thay đổi là đúng, chạy lại với "
            "--allow-mass-removal."
        )

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "total": self.total,
            "counts": self.counts(),
            "family_counts": self.family_counts(),
        }
        if self.estimate is not None:
            found["estimate"] = {
                "seconds": round(self.estimate.seconds),
                "rates_measured_at": self.estimate.measured_at,  # None: the default rates
            }
        return found | {"operations": [op.to_json() for op in self.ops]}


def power_content(power: Power, user_of: dict[str, str], bot: str) -> dict[str, Any]:
    """The m.room.power_levels content for a room (the creator is never listed: v12)."""
    users = {}
    for who, level in power.users:
        user_id = bot if who == BOT else user_of.get(who)
        if user_id is not None:
            users[user_id] = level
    events = {
        "m.room.name": 50,
        "m.room.topic": 50,
        "m.room.avatar": 50,
        "m.room.canonical_alias": 100,
        "m.room.power_levels": 100,
        "m.room.history_visibility": 100,
        "m.room.encryption": 100,
        "m.room.server_acl": 100,
        "m.room.tombstone": 100,
        "m.room.join_rules": 100,
        "m.space.child": 100,
        "m.space.parent": 100,
        TAG_EVENT: 100,
        "m.reaction": 0,
        "m.room.redaction": 0,
    }
    if power.message_level is not None:
        events["m.room.message"] = power.message_level
    return {
        "users": dict(sorted(users.items())),
        "users_default": 0,
        "events_default": power.events_default,
        "state_default": 100,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 50,
        "events": events,
        "notifications": {"room": 50},
    }


def digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def assign_localpart(
    base: str, taken: set[str], server_name: str, tried: dict[str, int] | None = None
) -> str:
    """The first free ``base``, ``base2``, ``base3`` … as a full user id; reserves it.

    ``tried`` remembers, per stem, where the search stopped last time (a city has hundreds
    of "nguyenthithu": without it the search would be quadratic).
    """
    n = tried.get(base, 1) if tried is not None else 1
    while True:
        candidate = f"@{base}{n if n > 1 else ''}:{server_name}"
        if candidate not in taken:
            taken.add(candidate)
            if tried is not None:
                tried[base] = n + 1
            return candidate
        n += 1


def compute_plan(
    layout: Layout,
    mirror: Mirror,
    *,
    server_name: str,
    bot_user_id: str,
    admin_user_id: str,
    bot_exists: bool,
    localpart_base,
) -> Plan:
    plan = Plan()
    if not bot_exists:
        plan.ops.append(Op(Kind.CREATE_BOT, user_id=bot_user_id))
    accounts = _AccountPlanner(
        plan, mirror, mirror.user_ids() | {bot_user_id, admin_user_id}, server_name, localpart_base
    )
    accounts.run(layout)
    _plan_rooms(plan.ops, layout, mirror)
    gone = {plan.user_of[c] for c in accounts.deactivating}  # deactivation leaves every room
    _plan_members(plan, layout, mirror, accounts.live, gone, bot_user_id, admin_user_id)
    from provisioning.matrix.order import Priority, order_ops  # built on this module's kinds

    plan.ops = order_ops(plan.ops, Priority.of(layout), bot_user_id)
    return plan


class _AccountPlanner:
    """The account operations of a plan; which people will have a usable account."""

    def __init__(
        self, plan: Plan, mirror: Mirror, taken: set[str], server_name: str, localpart_base
    ) -> None:
        self.plan, self.ops, self.mirror = plan, plan.ops, mirror
        self.taken = taken
        self.tried: dict[str, int] = {}  # see assign_localpart
        self.server_name, self.localpart_base = server_name, localpart_base
        self.live: set[str] = set()  # person codes whose account is (or will be) usable
        self.deactivating: set[str] = set()
        self.phone_holder = {
            a.phone: code for code, a in mirror.accounts.items() if a.phone and not a.deactivated
        }

    def run(self, layout: Layout) -> None:
        for code in sorted(layout.accounts):
            spec = layout.accounts[code]
            account = self.mirror.accounts.get(code)
            if account is not None and account.created and not account.deactivated:
                self.plan.accounts_before += 1
            if account is None or not account.created:
                self._create(code, spec, account)
            else:
                self._update(code, spec, account)
        # a departing account's phone wanted by someone else is freed before it is bound
        wanted_phone = {
            spec.phone: code for code, spec in layout.accounts.items() if spec.phone and spec.active
        }
        for code in self.deactivating:
            account = self.mirror.accounts[code]
            if account.phone and wanted_phone.get(account.phone) not in (None, code):
                self.ops.append(
                    Op(Kind.REMOVE_PHONE, person=code, user_id=account.user_id, value=account.phone)
                )

    def _create(self, code: str, spec: AccountSpec, account: AccountRow | None) -> None:
        """An account not created yet: created for an active person with a phone."""
        if not spec.active or spec.phone is None:
            return
        user_id = (
            account.user_id
            if account
            else assign_localpart(
                self.localpart_base(spec.full_name), self.taken, self.server_name, self.tried
            )
        )
        # bind the phone at creation unless another account still holds it
        free = self.phone_holder.get(spec.phone) in (None, code)
        self.ops.append(
            Op(
                Kind.CREATE_USER,
                person=code,
                user_id=user_id,
                value=spec.displayname,
                phone=spec.phone if free else None,
            )
        )
        if not free:
            self.ops.append(Op(Kind.SET_PHONE, person=code, user_id=user_id, value=spec.phone))
        self.plan.user_of[code] = user_id
        self.live.add(code)

    def _update(self, code: str, spec: AccountSpec, account: AccountRow) -> None:
        """An existing account: deactivated, reactivated, renamed, its phone moved."""
        ops, user_id = self.ops, account.user_id
        self.plan.user_of[code] = user_id
        if not spec.active:
            if not account.deactivated:
                ops.append(Op(Kind.DEACTIVATE_USER, person=code, user_id=user_id))
                self.deactivating.add(code)
                if spec.departed:
                    self.plan.departures.add(code)
            return
        self.live.add(code)
        current_phone = None if account.deactivated else account.phone
        if account.deactivated:
            ops.append(
                Op(Kind.REACTIVATE_USER, person=code, user_id=user_id, value=spec.displayname)
            )
        elif account.displayname != spec.displayname:
            ops.append(
                Op(Kind.UPDATE_DISPLAYNAME, person=code, user_id=user_id, value=spec.displayname)
            )
        if current_phone != spec.phone:
            if current_phone is not None:
                ops.append(Op(Kind.REMOVE_PHONE, person=code, user_id=user_id, value=current_phone))
            if spec.phone is not None:
                ops.append(Op(Kind.SET_PHONE, person=code, user_id=user_id, value=spec.phone))


def _plan_rooms(ops: list[Op], layout: Layout, mirror: Mirror) -> None:
    """Spaces top-down, then rooms: created, renamed, linked to their parent."""
    spaces = [s for s in layout.rooms.values() if s.is_space]
    depth = {s.key: _depth(s, layout) for s in spaces}
    for spec in sorted(spaces, key=lambda s: (depth[s.key], s.key)):
        _room_ops(spec, mirror, ops, Kind.CREATE_SPACE)
    for spec in sorted((s for s in layout.rooms.values() if not s.is_space), key=lambda s: s.key):
        _room_ops(spec, mirror, ops, Kind.CREATE_ROOM)


#: Purposes the layout no longer has, and the purpose of the unit's room that replaces each.
RETIRED_PURPOSES = {Purpose.NEWS.value: NEWS_POSTED_IN}


def retiring(layout: Layout, mirror: Mirror) -> set[str]:
    """Mirrored rooms of a retired purpose that the layout does not ask for."""
    return {
        key
        for key, row in mirror.rooms.items()
        if row.purpose in RETIRED_PURPOSES and key not in layout.rooms
    }


def _plan_retired(ops: list[Op], layout: Layout, mirror: Mirror, keys: set[str]) -> None:
    """One RETIRE_ROOM per room; ``value``: the replacement's key, if the layout has it."""
    for key in sorted(keys):
        row = mirror.rooms[key]
        replacement = unit_room_key(row.unit_code, RETIRED_PURPOSES[row.purpose])
        ops.append(
            Op(
                Kind.RETIRE_ROOM,
                room=key,
                value=replacement if replacement in layout.rooms else None,
            )
        )


def _plan_members(
    plan: Plan,
    layout: Layout,
    mirror: Mirror,
    live: set[str],
    gone: set[str],
    bot_user_id: str,
    admin_user_id: str,
) -> None:
    """Joins and leaves per room (inboxes are the bot's), and power levels that changed."""
    ops, user_of = plan.ops, plan.user_of
    lazy = {k for k, row in mirror.rooms.items() if row.purpose == "inbox"}
    retired = retiring(layout, mirror)  # retired whole: members stay, nobody is removed
    _plan_retired(ops, layout, mirror, retired)
    for key in sorted((set(layout.rooms) | set(mirror.rooms)) - lazy - retired):
        wanted: dict[str, str | None] = {}  # user id -> person code
        for who in layout.members.get(key, ()):
            if who == BOT:
                wanted[bot_user_id] = None
            elif who in live:
                wanted[user_of[who]] = who
        have = mirror.members.get(key, set())
        plan.memberships_before += len(have - {admin_user_id, bot_user_id})
        for user_id in sorted(set(wanted) - have):
            ops.append(Op(Kind.JOIN, room=key, user_id=user_id, person=wanted[user_id]))
        for user_id in sorted(have - set(wanted) - {admin_user_id, bot_user_id} - gone):
            ops.append(Op(Kind.LEAVE, room=key, user_id=user_id))
        spec = layout.rooms.get(key)
        row = mirror.rooms.get(key)
        # a room being created gets its power levels with it
        if spec is not None and row is not None and row.room_id is not None:
            want = digest(power_content(spec.power, user_of, bot_user_id))
            if row.power_digest != want:
                ops.append(Op(Kind.SET_POWER_LEVELS, room=key, value=want))


def _room_ops(spec: RoomSpec, mirror: Mirror, ops: list[Op], create: Kind) -> None:
    row = mirror.rooms.get(spec.key)
    if row is None or row.room_id is None:
        ops.append(Op(create, room=spec.key, value=spec.name))
        if spec.parent_key:
            ops.append(Op(Kind.LINK_SPACE_CHILD, room=spec.key, value=spec.parent_key))
        return
    if row.name != spec.name:
        ops.append(Op(Kind.RENAME_ROOM, room=spec.key, value=spec.name))
    if spec.parent_key and row.parent_key != spec.parent_key:
        ops.append(Op(Kind.LINK_SPACE_CHILD, room=spec.key, value=spec.parent_key))


def _depth(spec: RoomSpec, layout: Layout) -> int:
    depth, parent, seen = 0, spec.parent_key, {spec.key}
    while parent and parent in layout.rooms and parent not in seen:
        seen.add(parent)
        depth += 1
        parent = layout.rooms[parent].parent_key
    return depth
