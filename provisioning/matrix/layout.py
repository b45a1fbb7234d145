"""The Matrix layout the directory asks for (pure): spaces, rooms, role groups, accounts,
memberships and power — expressed with person codes, before any Matrix ID exists.

- A space per active unit, nested like the tree.
- In each unit's space: "Thông tin điều hành" (only the unit's managers, the bot and the
  unit's portal post: news from the portal is part of Thông tin điều hành) and "Trao đổi"
  (discussion; restricted to the space, joined on first use, not forced). Until 2026-12 news
  had a "Tin tức" room of its own: one more join per person per unit, ≈150,000 joins of a
  city's first apply; apply retires those rooms (``Purpose.NEWS``, kept for that).
- Role groups in the space of each managing unit (Sở, office, xã/phường, cụm): one per
  (chức vụ group × cấp học × loại hình) among the schools it manages directly, holding
  exactly the people in that role — so that a directive can be delivered to the room
  instead of to each person.
- People join the announcement rooms of their units (a tổ's members also those
  of its school), their role groups, the spaces of their units and the spaces above them
  up to the unit that manages theirs. Spaces higher up (cụm chuyên môn, the Sở) are
  public and joined on demand: forcing a whole city into one room makes every join into
  it slower (measured: a 1,437-member space dominated a district's provisioning time).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from provisioning import vocab
from provisioning.domain import (
    MANAGER_POSITIONS,
    MANAGING_KINDS,
    TEAM_MANAGER_POSITIONS,
    managing_unit,
    primary_position,
    school_of,
    short_unit_name,
)
from provisioning.text import fold
from provisioning.view import DirectoryView, PersonView, UnitView
from provisioning.vocab import Level, Position, PositionGroup, UnitKind

#: Custom state event carrying each managed room's identity (found again without our DB).
TAG_EVENT = "vn.dieuhanh.room"
#: The member list and power map refer to the bot with this placeholder.
BOT = "@bot"
#: The layout's version: an apply records it beside the revision it applied, and a
#: different one counts as not applied, so the reconcile loop brings a deployment to a new
#: layout when the code changes, without waiting for the directory to. 2: news in "Thông
#: tin điều hành", old "Tin tức" rooms retired, portal users at PORTAL_POST_LEVEL.
LAYOUT_VERSION = 2
#: What posting a message in a unit's "Thông tin điều hành" needs: the level the bridge's
#: portal users get there (``service_api.POST_LEVEL``), so that a portal can post news and
#: nothing else — not rename the room, redact, kick or invite, which need the managers' 50.
PORTAL_POST_LEVEL = 10

MAX_DISPLAYNAME = 256


class Purpose(StrEnum):
    SPACE = "space"
    ANNOUNCEMENTS = "announcements"
    DISCUSSION = "discussion"
    NEWS = "news"  # retired: news is posted in ANNOUNCEMENTS (apply retires these rooms)
    ROLE = "role"
    INBOX = "inbox"  # bot ↔ one person, created when first needed (not by apply)
    CLASS = "class"  # a class's homeroom teacher and parents (family_layout.py)
    PARENTS = "parents"  # a school's announcements to its parents (family_layout.py)


#: The room of a unit its portal's news is posted in (the bridge, apply, retiring "Tin tức").
NEWS_POSTED_IN = Purpose.ANNOUNCEMENTS


class Role(StrEnum):
    """Role groups: what a directive's "chức vụ" filter can target with one room."""

    HEAD = "head"  # Hiệu trưởng (Giám đốc of a GDTX centre)
    DEPUTY = "deputy"  # Phó Hiệu trưởng
    TEACHER = "teacher"  # Giáo viên, Tổ trưởng/phó, Tổng phụ trách Đội
    STAFF = "staff"  # Nhân viên of every kind


class OwnershipClass(StrEnum):
    PUBLIC = "public"
    NON_PUBLIC = "non_public"
    UNKNOWN = "unknown"


PURPOSE_LABEL = {
    Purpose.ANNOUNCEMENTS: "Thông tin điều hành",
    Purpose.DISCUSSION: "Trao đổi",
}
ROLE_LABEL = {
    Role.HEAD: "Hiệu trưởng",
    Role.DEPUTY: "Phó Hiệu trưởng",
    Role.TEACHER: "Giáo viên",
    Role.STAFF: "Nhân viên",
}
OWNERSHIP_LABEL = {
    OwnershipClass.PUBLIC: "công lập",
    OwnershipClass.NON_PUBLIC: "ngoài công lập",
    OwnershipClass.UNKNOWN: "chưa rõ loại hình",
}
_LEVEL_NAME = {
    Level.MN: "Mầm non",
    Level.TH: "Tiểu học",
    Level.THCS: "THCS",
    Level.THPT: "THPT",
    Level.LC: "Liên cấp",
    Level.GDTX: "GDTX",
}


@dataclass(frozen=True, slots=True)
class Power:
    """Who may do what in a room: events_default and the people above the default;
    ``message_level``, when set, what posting a message needs (below events_default)."""

    events_default: int
    users: tuple[tuple[str, int], ...]  # (person code or BOT, level), sorted
    is_space: bool = False
    message_level: int | None = None


@dataclass(frozen=True, slots=True)
class RoomSpec:
    key: str
    purpose: Purpose
    unit_code: str
    name: str
    topic: str
    is_space: bool
    join_rule: str  # invite | restricted | public
    parent_key: str | None
    alias: str  # localpart of the room's canonical alias
    power: Power
    role: Role | None = None
    level: Level | None = None
    ownership: OwnershipClass | None = None

    def tag(self) -> dict[str, str]:
        content = {"key": self.key, "unit": self.unit_code, "purpose": self.purpose.value}
        if self.role is not None:
            content["role"] = self.role.value
        if self.level is not None:
            content["level"] = self.level.value
        if self.ownership is not None:
            content["ownership"] = self.ownership.value
        return content


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """An account: a staff member's (keyed by person code) or a family phone's (keyed by
    ``family:<phone>``, person_id 0; provisioning.families.accounts)."""

    person_id: int
    person_code: str
    full_name: str
    displayname: str
    phone: str | None  # the login number, None when missing, broken or shared
    active: bool
    departed: bool = False  # marked departed by an import (not merely without a position)


@dataclass
class Layout:
    rooms: dict[str, RoomSpec] = field(default_factory=dict)
    accounts: dict[str, AccountSpec] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: the officials' rooms, provisioned before the others (plan order): every room of a
    #: managing unit (Sở, cụm, office, xã/phường), the role groups of school leaders, and
    #: the spaces above them
    first: set[str] = field(default_factory=set)


# ------------------------------------------------------------------------------ naming


def localpart_base(full_name: str) -> str:
    """A readable, stable localpart stem from a name: "Nguyễn Văn An" → "nguyenvanan".

    Never all digits (Synapse would read it as a phone), never empty.
    """
    stem = re.sub(r"[^a-z]", "", fold(full_name))[:40]
    return stem or "canbo"


def room_alias(unit_code: str, *parts: str) -> str:
    """Alias localpart for a managed room; a lossy code gets a short hash to stay unique."""
    clean = re.sub(r"[^a-z0-9_-]+", "-", fold(unit_code)).strip("-") or "u"
    if clean != unit_code:
        clean += "-" + hashlib.sha1(unit_code.encode()).hexdigest()[:6]
    return ".".join(["dh", clean, *parts])


# ------------------------------------------------------------------------------ layout


def displayname(
    view: DirectoryView, person: PersonView, primary: tuple[Position, UnitView] | None = None
) -> str:
    """ "Nguyễn Văn An · GV · THCS Đỗ Văn Dậy"."""
    primary = primary or primary_position(view, person)
    if primary is None:
        return person.full_name
    position, unit = primary
    if unit.kind is UnitKind.TEAM:
        school = school_of(view, unit)
        unit = school or unit
    suffix = f" · {vocab.short(position)} · {short_unit_name(unit.name)}"
    name = person.full_name
    if len(name) + len(suffix) > MAX_DISPLAYNAME:  # Synapse refuses longer in member events
        name = name[: max(MAX_DISPLAYNAME - len(suffix) - 1, 1)].rstrip() + "…"
    return (name + suffix)[:MAX_DISPLAYNAME]


def role_of(position: Position) -> Role:
    if position in (Position.PRINCIPAL, Position.DIRECTOR):
        return Role.HEAD
    if position.group is PositionGroup.MANAGEMENT:
        return Role.DEPUTY
    if position.group is PositionGroup.TEACHING:
        return Role.TEACHER
    return Role.STAFF


_ROLES = {p: role_of(p) for p in Position}


def ownership_class(unit: UnitView) -> OwnershipClass:
    if unit.ownership is None:
        return OwnershipClass.UNKNOWN
    return OwnershipClass.PUBLIC if unit.ownership.is_public else OwnershipClass.NON_PUBLIC


def unit_room_key(unit_code: str, purpose: Purpose) -> str:
    return f"unit/{unit_code}/{purpose}"  # StrEnum: formats as its value, without .value's cost


def role_room_key(unit_code: str, role: Role, level: Level, ownership: OwnershipClass) -> str:
    return f"role/{unit_code}/{role}/{level}/{ownership}"


def build_layout(view: DirectoryView, max_role_group: int | None = None) -> Layout:
    """Everything the directory asks of Matrix, keyed by room key and person code."""
    layout = Layout()
    roots = {u.id for u in view.roots()}
    managers = _managers(view)
    for unit in view.units.values():
        if unit.active:
            _unit_rooms(view, unit, layout, sorted(set(managers[unit.id])), unit.id in roots)
    groups = _RoleGroups(view)
    for person in view.people.values():
        primary = primary_position(view, person)
        layout.accounts[person.code] = AccountSpec(
            person.id,
            person.code,
            person.full_name,
            displayname(view, person, primary) if primary else person.full_name,
            view.login_phone(person),
            person.active and primary is not None,
            not person.active,
        )
        if not person.active or primary is None:
            continue
        for unit_id, _ in person.positions:
            unit = view.units[unit_id]
            if unit.active:
                _join_unit(view, unit, person.code, layout, roots)
        groups.place(person)
    groups.add_rooms(layout, max_role_group or MAX_ROLE_GROUP)
    _mark_first(view, layout)
    return layout


#: Role groups provisioned with the officials' rooms: those of the schools' leaders.
FIRST_ROLES = frozenset({Role.HEAD, Role.DEPUTY})


def _mark_first(view: DirectoryView, layout: Layout) -> None:
    """The officials' rooms (``Layout.first``) and the spaces they hang from."""
    managing = {u.code for u in view.units.values() if u.kind in MANAGING_KINDS}
    first = set()
    for key, spec in layout.rooms.items():
        if spec.purpose is Purpose.ROLE:
            if spec.role in FIRST_ROLES:
                first.add(key)
        elif spec.unit_code in managing:
            first.add(key)
    for key in list(first):
        parent = layout.rooms[key].parent_key
        while parent is not None and parent in layout.rooms and parent not in first:
            first.add(parent)
            parent = layout.rooms[parent].parent_key
    layout.first = first


def _managers(view: DirectoryView) -> dict[int, list[str]]:
    """unit id -> codes of the active people managing it (with repeats)."""
    managers: dict[int, list[str]] = defaultdict(list)
    for person in view.people.values():
        if not person.active:
            continue
        for unit_id, pos in person.positions:
            unit = view.units.get(unit_id)
            if unit is None:
                continue
            wanted = TEAM_MANAGER_POSITIONS if unit.kind is UnitKind.TEAM else MANAGER_POSITIONS
            if pos in wanted:
                managers[unit_id].append(person.code)
    return managers


class _RoleGroups:
    """The role groups people fall into, by the school they work in and its managing unit."""

    def __init__(self, view: DirectoryView) -> None:
        self.view = view
        # key -> school code -> people in that role there
        self.members: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.specs: dict[str, tuple[UnitView, Role, Level, OwnershipClass]] = {}
        self._managing: dict[int, UnitView | None] = {}  # school id -> its managing unit

    def place(self, person: PersonView) -> None:
        """Put an active person in the group of each role they hold.

        One role group per role: someone teaching in two schools is in the group of the
        first only, so that groups of one role never overlap and a directive to a whole
        segment can use every one of them (overlapping groups would each be skipped).
        """
        view, placed = self.view, set()
        for unit_id, pos in person.positions:
            unit = view.units[unit_id]
            if not unit.active:
                continue
            school = school_of(view, unit)
            if school is None or school.level is None:
                continue
            if school.id not in self._managing:
                self._managing[school.id] = managing_unit(view, school)
            manager = self._managing[school.id]
            if manager is None or not manager.active:
                continue
            role, ownership = _ROLES[pos], ownership_class(school)
            if role in placed:
                continue
            placed.add(role)
            key = role_room_key(manager.code, role, school.level, ownership)
            self.specs[key] = (manager, role, school.level, ownership)
            self.members[key][school.code].add(person.code)

    def add_rooms(self, layout: Layout, cap: int) -> None:
        """The groups' rooms and members, a group over ``cap`` people split in parts."""
        for key, (manager, role, level, ownership) in self.specs.items():
            split = _split(key, self.members[key], cap)
            parts = len(split)
            for part, (part_key, members) in enumerate(split, start=1):
                _role_room(
                    layout,
                    part_key,
                    manager,
                    role,
                    level,
                    ownership,
                    (part, parts) if parts > 1 else None,
                )
                layout.members[part_key] = members | {BOT}


#: A role group larger than this is split (by school, stably): Synapse's cost of a private
#: room grows with the square of its members (user directory), and a city's role groups
#: managed by the Sở itself would otherwise hold tens of thousands of people.
MAX_ROLE_GROUP = 500


def _split(key: str, by_school: dict[str, set[str]], cap: int) -> list[tuple[str, set[str]]]:
    """The room(s) of a role group: one, or 2**n parts by a hash of the school code, so a
    school stays in its part as others come and go (parts change only when n does)."""
    total = sum(len(m) for m in by_school.values())
    if total <= cap:
        return [(key, set().union(*by_school.values()))]
    count = 2 ** math.ceil(math.log2(total / cap * 1.25))
    home: dict[str, str] = {}  # a person in two schools of the group goes with the first
    for school in sorted(by_school):
        for member in by_school[school]:
            home.setdefault(member, school)
    parts: list[set[str]] = [set() for _ in range(count)]
    for member, school in home.items():
        parts[int(hashlib.sha1(school.encode()).hexdigest(), 16) % count].add(member)
    return [(f"{key}/{i + 1}-{count}", members) for i, members in enumerate(parts) if members]


def _role_room(
    layout: Layout,
    key: str,
    manager: UnitView,
    role: Role,
    level: Level,
    ownership: OwnershipClass,
    part: tuple[int, int] | None,
) -> None:
    role_name = "Giám đốc" if role is Role.HEAD and level is Level.GDTX else ROLE_LABEL[role]
    suffix = f" (nhóm {part[0]}/{part[1]})" if part else ""
    extra = (f"nhom{part[0]}-{part[1]}",) if part else ()
    layout.rooms[key] = RoomSpec(
        key=key,
        purpose=Purpose.ROLE,
        unit_code=manager.code,
        name=f"{role_name} · {_LEVEL_NAME[level]} {OWNERSHIP_LABEL[ownership]}"
        f" · {short_unit_name(manager.name)}{suffix}",
        topic=f"Nhóm {ROLE_LABEL[role].lower()} các trường {_LEVEL_NAME[level]} "
        f"{OWNERSHIP_LABEL[ownership]} thuộc {manager.name}{suffix}.",
        is_space=False,
        join_rule="invite",
        parent_key=unit_room_key(manager.code, Purpose.SPACE),
        alias=room_alias(manager.code, "nhom", role.value, level.value.lower(), ownership, *extra),
        power=Power(0, ((BOT, 100),)),
        role=role,
        level=level,
        ownership=ownership,
    )


def _unit_rooms(
    view: DirectoryView, unit: UnitView, layout: Layout, managers: list[str], is_root: bool
) -> None:
    parent = view.units.get(unit.parent_id) if unit.parent_id is not None else None
    space_key = unit_room_key(unit.code, Purpose.SPACE)
    staff_power = tuple(sorted([(BOT, 100), *((code, 50) for code in managers)]))
    layout.rooms[space_key] = RoomSpec(
        key=space_key,
        purpose=Purpose.SPACE,
        unit_code=unit.code,
        name=unit.name,
        topic=f"Không gian của {unit.name}.",
        is_space=True,
        # spaces hold no messages: public, so that Synapse's user directory handles their
        # members linearly (a private room costs it the square of its members) and staff can
        # open the spaces above their own on demand
        join_rule="public",
        parent_key=(
            unit_room_key(parent.code, Purpose.SPACE)
            if parent is not None and parent.active
            else None
        ),
        alias=room_alias(unit.code),
        power=Power(100, ((BOT, 100),), is_space=True),
    )
    layout.members[space_key].add(BOT)
    purposes = [Purpose.ANNOUNCEMENTS, Purpose.DISCUSSION]
    short = short_unit_name(unit.name)
    for purpose in purposes:
        key = unit_room_key(unit.code, purpose)
        layout.rooms[key] = RoomSpec(
            key=key,
            purpose=purpose,
            unit_code=unit.code,
            name=f"{PURPOSE_LABEL[purpose]} · {short}",
            topic=_TOPICS[purpose].format(unit=unit.name),
            is_space=False,
            join_rule="restricted" if purpose is Purpose.DISCUSSION else "invite",
            parent_key=space_key,
            alias=room_alias(unit.code, _ALIAS_PART[purpose]),
            power=(
                Power(0, staff_power)
                if purpose is Purpose.DISCUSSION
                else Power(50, staff_power, message_level=PORTAL_POST_LEVEL)
            ),
        )
        layout.members[key].add(BOT)


_TOPICS = {
    Purpose.ANNOUNCEMENTS: "Tin nhắn điều hành và tin tức của {unit}. Chỉ lãnh đạo đơn vị "
    "và cổng thông tin điện tử đăng tin; mọi người đọc và bày tỏ cảm xúc.",
    Purpose.DISCUSSION: "Trao đổi chung của {unit}.",
}
_ALIAS_PART = {
    Purpose.ANNOUNCEMENTS: "thongtin",
    Purpose.DISCUSSION: "traodoi",
}


def _join_unit(
    view: DirectoryView, unit: UnitView, code: str, layout: Layout, roots: set[int]
) -> None:
    """Memberships that come with a position in ``unit``."""
    home = [unit]
    if unit.kind is UnitKind.TEAM:
        school = school_of(view, unit)
        if school is not None:
            home.append(school)
    for member_of in home:
        layout.members[unit_room_key(member_of.code, Purpose.ANNOUNCEMENTS)].add(code)
    layout.members[unit_room_key(unit.code, Purpose.SPACE)].add(code)
    if unit.kind in MANAGING_KINDS:
        return
    # the spaces above, up to the unit that manages this one (where its role groups are);
    # beyond it (cụm, the Sở) spaces are public and joined on demand: forcing the whole
    # city into one room would make every join in it slower for everyone
    for above in view.ancestors(unit.id):
        if above.id in roots or not above.active:
            break
        layout.members[unit_room_key(above.code, Purpose.SPACE)].add(code)
        if above.kind in MANAGING_KINDS:
            break
