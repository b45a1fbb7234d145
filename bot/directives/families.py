"""Posts to families: "phụ huynh" and "học sinh" as audiences next to chức vụ.

Who may reach which classes (the one rule, over provisioning's authority):

- a homeroom teacher (GVCN): the parents (and students) of the classes they head;
- a school's leaders (HT, PHT): every class of their school, narrowed by khối or lớp;
- an office (Phòng, xã/phường) or the Sở: every class of the schools under it (by cấp
  học too: "phụ huynh THCS").

Only open classes of each school's latest school year count; a parent follows an active
student of such a class and is active; a student is reached only with their own family
account. A parent of two children in the audience (siblings) is one recipient.

Exact delivery as for staff: a class room ``class/<id>`` or a school's parents room
``parents/<unit>`` is used when every family member in it belongs to the audience (staff
in such rooms — the homeroom teacher, the school's leaders — are its hosts: they see
what goes there, and are not recipients); everyone else is reached through an inbox.

Quiet hours: what reaches families between 21:00 and 06:30 (Vietnam) waits until 06:30
unless it is khẩn. A post to staff and families together waits whole (one code, one
report); the sender is told and may send the staff part separately.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Set
from dataclasses import dataclass, field

from sqlalchemy import Engine, and_, select

from bot.commands import CommandError
from bot.db.family_recipient import PARENT, STUDENT, FamilyPlanned
from bot.directives.cover import DeliveryPlan, NotInRoom, plan_delivery
from bot.directives.when import VN
from bot.directory import Asker, DirectorySnapshot
from provisioning.db.models import (
    FamilyAccount,
    MatrixAccount,
    Parent,
    SchoolClass,
    Student,
    StudentParent,
)
from provisioning.db.threads import in_thread
from provisioning.domain import school_of, short_unit_name
from provisioning.text import compact, fold, format_number
from provisioning.vocab import Level

PARENTS, STUDENTS = "parents", "students"
#: what a target list may say for each audience (compacted: accents and case ignored)
FAMILY_WORDS = {
    "phuhuynh": PARENTS,
    "ph": PARENTS,
    "phhs": PARENTS,
    "chame": PARENTS,
    "hocsinh": STUDENTS,
    "hs": STUDENTS,
}
FAMILY_LABEL = {PARENTS: "phụ huynh", STUDENTS: "học sinh"}
GRADE_WORDS = {"nhatre": "nha_tre", "mam": "mam", "choi": "choi", "la": "la"}
GRADE_LABEL = {"nha_tre": "Nhà trẻ", "mam": "Mầm", "choi": "Chồi", "la": "Lá"}
_GRADE = re.compile(r"^khoi(\d{1,2}|nhatre|mam|choi|la)$")
_CLASS = re.compile(r"^\d{1,2}[a-z][a-z0-9]*$")
_MN_CLASS = re.compile(r"^(nhatre|mam|choi|la)[0-9a-z]{1,3}$")
#: quiet hours for families (Vietnam's time): from 21:00 until 06:30
QUIET_FROM, QUIET_UNTIL = dt.time(21, 0), dt.time(6, 30)
#: rooms of families, by key prefix (provisioning: ``class/<id>``, ``parents/<unit>``)
FAMILY_ROOM_PREFIXES = ("class/", "parents/")
IN_CHUNK = 500

JoinedMembers = Callable[[str], Awaitable[set[str]]]


# ------------------------------------------------------------------------ words (pure)


def family_word(gram: str) -> str | None:
    """'phụ huynh', 'PH', 'phu huynh' → parents; 'học sinh', 'HS' → students."""
    return FAMILY_WORDS.get(compact(gram))


def grade_word(gram: str) -> str | None:
    """'khối 6' → '6', 'khối Lá' → 'la' (the stored ``classes.grade``)."""
    match = _GRADE.match(compact(gram))
    if match is None:
        return None
    value = match.group(1)
    if value.isdigit():
        return str(int(value)) if 1 <= int(value) <= 12 else None
    return GRADE_WORDS[value]


def class_word(gram: str) -> str | None:
    """A class as typed: '6A1', 'lớp 6A1', 'lớp Lá 2' → its name ('6A1', 'Lá 2')."""
    words = gram.split()
    if len(words) == 1:
        return gram.upper() if _CLASS.match(compact(gram)) else None
    if fold(words[0]) != "lop" or len(words) > 3:
        return None
    rest = words[1:]
    if len(rest) == 1 and (_CLASS.match(compact(rest[0])) or _MN_CLASS.match(compact(rest[0]))):
        return rest[0].upper() if _CLASS.match(compact(rest[0])) else rest[0]
    if len(rest) == 2 and compact(rest[0]) in GRADE_WORDS and len(rest[1]) <= 3:
        return " ".join(rest)
    return None


def grade_label(grade: str) -> str:
    return f"khối {GRADE_LABEL.get(grade, grade)}"


# ------------------------------------------------------------------------ quiet hours (pure)


def quiet_until(at: dt.datetime) -> dt.datetime | None:
    """When a post to families due ``at`` may go: 06:30 (Vietnam) when ``at`` falls in the
    quiet hours 21:00–06:30, else None (it goes at ``at``)."""
    local = at.astimezone(VN)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return None
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, QUIET_UNTIL, VN).astimezone(dt.UTC)


QUIET_NOTICE = (
    "Đang trong giờ yên tĩnh (21:00–06:30): tin sẽ được gửi đến phụ huynh lúc {at}{mixed}; "
    "tin khẩn thì gửi ngay (thêm 'khẩn')."
)
MIXED = " (cả phần gửi cán bộ; muốn cán bộ nhận ngay, hãy gửi riêng cho cán bộ)"


# ------------------------------------------------------------------------ classes in reach


@dataclass(frozen=True)
class ClassInfo:
    id: int
    unit_id: int
    name: str
    name_key: str
    grade: str
    homeroom: int | None


@in_thread
def classes_near(engine: Engine, snapshot: DirectorySnapshot, asker: Asker) -> list[ClassInfo]:
    """Open classes of each school's latest year the asker acts for, heads, or sees (the
    last only to say why a class is refused)."""
    units = asker.authority.managed_units | asker.visible_units
    pid = asker.person.id if asker.person else -1
    found: list[ClassInfo] = []
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                SchoolClass.id,
                SchoolClass.unit_id,
                SchoolClass.name,
                SchoolClass.name_key,
                SchoolClass.grade,
                SchoolClass.homeroom_person_id,
                SchoolClass.school_year,
            ).where(SchoolClass.active.is_(True))
        )
        latest: dict[int, str] = {}
        for row in rows:
            if row.unit_id in units or row.homeroom_person_id == pid:
                found.append(row)
                latest[row.unit_id] = max(latest.get(row.unit_id, ""), row.school_year)
    return [
        ClassInfo(r.id, r.unit_id, r.name, r.name_key, r.grade, r.homeroom_person_id)
        for r in found
        if r.school_year == latest[r.unit_id]
    ]


def _may_reach(asker: Asker, klass: ClassInfo) -> bool:
    heads = asker.person is not None and klass.homeroom == asker.person.id
    return heads or klass.unit_id in asker.authority.managed_units


def chosen_classes(
    snapshot: DirectorySnapshot, asker: Asker, selection, classes: list[ClassInfo]
) -> list[ClassInfo]:
    """The classes a selection names, within what the asker may reach; CommandError for a
    class outside it, unknown, or ambiguous."""
    pool = [c for c in classes if _may_reach(asker, c)]
    if selection.units or selection.levels:
        units = _selected_units(snapshot, asker, selection)
        pool = [c for c in pool if c.unit_id in units]
    if selection.grades:
        pool = [c for c in pool if c.grade in selection.grades]
    if not selection.classes:
        return pool
    chosen: dict[int, ClassInfo] = {}
    for name in selection.classes:
        for klass in _one_class(snapshot, asker, name, pool, classes):
            chosen[klass.id] = klass
    return list(chosen.values())


def _selected_units(snapshot: DirectorySnapshot, asker: Asker, selection) -> set[int]:
    allowed = asker.authority.managed_units
    units: set[int] = set()
    for code in selection.units:
        units |= snapshot.subtree(snapshot.view.unit(code).id) & allowed
    levels = {Level(v) for v in selection.levels}
    for unit_id in allowed if levels else ():
        school = school_of(snapshot.view, snapshot.view.units[unit_id])
        if school is not None and school.level in levels:
            units.add(unit_id)
    return units


def _one_class(
    snapshot: DirectorySnapshot,
    asker: Asker,
    name: str,
    pool: list[ClassInfo],
    near: list[ClassInfo],
) -> list[ClassInfo]:
    key = compact(name)
    matches = [c for c in pool if c.name_key == key]
    if not matches:
        if any(c.name_key == key for c in near):
            if asker.official:
                raise CommandError(f"Lớp {name} nằm ngoài phạm vi Anh/Chị được gửi tin.")
            raise CommandError(
                f"Anh/Chị không phải giáo viên chủ nhiệm lớp {name}, nên không gửi được tin "
                "cho phụ huynh, học sinh lớp này."
            )
        raise CommandError(f"Không tìm thấy lớp {name} trong phạm vi Anh/Chị được gửi tin.")
    schools = {c.unit_id for c in matches}
    if len(schools) > 1:
        names = "; ".join(sorted(short_unit_name(snapshot.view.units[u].name) for u in schools)[:5])
        raise CommandError(
            f"Có {len(schools)} trường có lớp {name} ({names}); hãy ghi thêm tên hoặc mã trường."
        )
    return matches


# ------------------------------------------------------------------------ who is reached


@dataclass
class FamilyAudience:
    """Family members reached: user id -> (phone, role, class ids)."""

    members: dict[str, tuple[str | None, str, set[int]]] = field(default_factory=dict)
    unreachable: int = 0  # phones in the audience without an account yet


@in_thread
def family_members(engine: Engine, class_ids: list[int], wanted: Set[str]) -> FamilyAudience:
    """Parents of active students of these classes (active parents), and/or the students
    themselves with a family account; by user id (one per phone, siblings once)."""
    by_phone: dict[str, tuple[str, set[int]]] = {}
    with engine.connect() as conn:
        for chunk in _chunks(class_ids):
            if PARENTS in wanted:
                rows = conn.execute(
                    select(Parent.phone, Student.class_id)
                    .join(StudentParent, StudentParent.parent_id == Parent.id)
                    .join(Student, Student.id == StudentParent.student_id)
                    .where(
                        Student.class_id.in_(chunk),
                        Student.active.is_(True),
                        Parent.active.is_(True),
                    )
                )
                for phone, class_id in rows:
                    by_phone.setdefault(phone, (PARENT, set()))[1].add(class_id)
            if STUDENTS in wanted:
                rows = conn.execute(
                    select(Student.phone, Student.class_id).where(
                        Student.class_id.in_(chunk),
                        Student.active.is_(True),
                        Student.phone.is_not(None),
                    )
                )
                for phone, class_id in rows:
                    by_phone.setdefault(phone, (STUDENT, set()))[1].add(class_id)
        users = _accounts(conn, by_phone)
    found = FamilyAudience()
    for phone, (role, classes) in by_phone.items():
        user = users.get((phone, role))
        if user is None:
            found.unreachable += 1
        else:
            found.members[user] = (phone, role, classes)
    return found


def _accounts(conn, by_phone: Mapping[str, tuple[str, set[int]]]) -> dict[tuple[str, str], str]:
    """(phone, role) -> user id: the family account, else (a parent only) the staff
    account of that phone."""
    found: dict[tuple[str, str], str] = {}
    phones = sorted(by_phone)
    for chunk in _chunks(phones):
        for phone, user in conn.execute(
            select(FamilyAccount.phone, FamilyAccount.user_id).where(
                FamilyAccount.phone.in_(chunk),
                FamilyAccount.created.is_(True),
                FamilyAccount.deactivated.is_(False),
            )
        ):
            found[(phone, by_phone[phone][0])] = user
        for phone, user in conn.execute(
            select(MatrixAccount.phone, MatrixAccount.user_id).where(
                and_(
                    MatrixAccount.phone.in_(chunk),
                    MatrixAccount.created.is_(True),
                    MatrixAccount.deactivated.is_(False),
                )
            )
        ):
            if by_phone[phone][0] == PARENT:
                found.setdefault((phone, PARENT), user)
    return found


def _chunks(items: list) -> Iterable[list]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]


# ------------------------------------------------------------------------ the plan


@dataclass
class FamilyPreview:
    """Who of the families a post reaches, through which rooms."""

    members: dict[str, tuple[str | None, str, set[int]]]
    plan: DeliveryPlan
    rooms: dict[str, str]  # room key -> room id of the rooms the plan uses
    classes: dict[int, str]  # class id -> "6A1 · THCS Đỗ Văn Dậy" for every chosen class
    unreachable: int = 0
    missing: dict[str, str] = field(default_factory=dict)  # rooms the bot is not in

    def count(self, role: str) -> int:
        return sum(1 for _, r, _ in self.members.values() if r == role)

    @property
    def reached_classes(self) -> int:
        return len({c for _, _, classes in self.members.values() for c in classes})

    def summary(self) -> str:
        """'12 phụ huynh, 3 học sinh của 2 lớp'."""
        n = format_number
        who = [
            f"{n(self.count(role))} {label}"
            for role, label in ((PARENT, "phụ huynh"), (STUDENT, "học sinh"))
            if self.count(role)
        ]
        return f"{', '.join(who) or '0 phụ huynh'} của {n(self.reached_classes)} lớp"

    def class_lines(self, limit: int = 12) -> list[str]:
        """'6A1 · THCS Đỗ Văn Dậy: 2' per class, the largest first."""
        counts: dict[int, int] = defaultdict(int)
        for _, _, classes in self.members.values():
            for class_id in classes:
                counts[class_id] += 1
        ranked = sorted(counts, key=lambda c: (-counts[c], self.classes.get(c, "")))
        lines = [f"{self.classes.get(c, '?')}: {format_number(counts[c])}" for c in ranked[:limit]]
        if len(ranked) > limit:
            lines.append(f"… và {len(ranked) - limit} lớp khác")
        return lines

    def planned(self) -> FamilyPlanned:
        return FamilyPlanned(
            rooms={k: (self.rooms[k], sorted(m)) for k, m in self.plan.rooms.items()},
            inboxes=sorted(self.plan.inboxes),
            members={u: (p, r, sorted(c)) for u, (p, r, c) in self.members.items()},
        )


async def family_preview(
    engine: Engine,
    snapshot: DirectorySnapshot,
    asker: Asker,
    selection,
    *,
    staff_users: Set[str] = frozenset(),
    joined_members: JoinedMembers | None = None,
) -> FamilyPreview:
    """The families a selection reaches (minus those reached as staff already) and the
    exact plan over the family rooms."""
    near = await classes_near(engine, snapshot, asker)
    classes = chosen_classes(snapshot, asker, selection, near)
    found = await family_members(engine, sorted(c.id for c in classes), set(selection.families))
    members = {u: m for u, m in found.members.items() if u not in staff_users}
    rooms = {
        key: (room_id, room_members)
        for key, (_, room_id, room_members) in snapshot.rooms.items()
        if key.startswith(FAMILY_ROOM_PREFIXES)
    }
    missing: dict[str, str] = {}
    plan, used = await verified_plan(
        set(members),
        rooms,
        set(snapshot.person_of_user),
        snapshot.service_users,
        joined_members,
        missing,
    )
    names = {
        c.id: f"{c.name} · {short_unit_name(snapshot.view.units[c.unit_id].name)}" for c in classes
    }
    return FamilyPreview(members, plan, used, names, found.unreachable, missing)


async def verified_plan(
    audience: set[str],
    rooms: dict[str, tuple[str, frozenset[str]]],
    staff: Set[str],
    service_users: Set[str],
    joined_members: JoinedMembers | None,
    missing: dict[str, str] | None = None,
) -> tuple[DeliveryPlan, dict[str, str]]:
    """Cover ``audience`` with rooms (staff not in it are hosts, not members); with
    ``joined_members`` each room the plan uses is checked against Synapse and the plan
    redone until it relies only on rooms whose real members it knows. A room the bot is
    not in is left out (its people go by their inboxes) and noted in ``missing`` (key →
    room id)."""
    verified: set[str] = set()
    hosts = staff - audience
    while True:
        plan = plan_delivery(audience, {k: m - hosts for k, (_, m) in rooms.items()})
        unchecked = [k for k in plan.rooms if k not in verified]
        if joined_members is None or not unchecked:
            return plan, {k: rooms[k][0] for k in plan.rooms}
        for key in unchecked:
            room_id, members = rooms[key]
            verified.add(key)
            try:
                actual = frozenset((await joined_members(room_id)) - service_users)
            except NotInRoom:
                actual = frozenset()  # never usable: the plan is redone without it
                if missing is not None:
                    missing[key] = room_id
            if actual != members:
                rooms[key] = (room_id, actual)


# ------------------------------------------------------------------------ !baocao


def class_counts(rows: Iterable, names: Mapping[int, str]) -> list[str]:
    """'6A1: 5/12 phụ huynh đã đọc' per class (a parent counts in each of their classes)."""
    total: dict[int, int] = defaultdict(int)
    read: dict[int, int] = defaultdict(int)
    for row in rows:
        for class_id in row.classes:
            total[class_id] += 1
            read[class_id] += row.read_at is not None
    n = format_number
    return [
        f"{names.get(c, '?')}: {n(read[c])}/{n(total[c])} đã đọc"
        for c in sorted(total, key=lambda c: names.get(c, "?"))
    ]


@in_thread
def class_names(engine: Engine, class_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(class_ids))
    names: dict[int, str] = {}
    with engine.connect() as conn:
        for chunk in _chunks(ids):
            query = select(SchoolClass.id, SchoolClass.name).where(SchoolClass.id.in_(chunk))
            names.update((row.id, row.name) for row in conn.execute(query))
    return names


# ------------------------------------------------------------------------ inboxes


def family_inbox_code(user_id: str) -> str:
    """What names a family account's inbox (``inbox/family:<user id>``)."""
    return f"family:{user_id}"


@in_thread
def family_display_name(engine: Engine, user_id: str) -> str:
    """The account's display name ("Trần Thị Hoa · PH em An 6A1"), else its user id."""
    with engine.connect() as conn:
        name = conn.scalar(
            select(FamilyAccount.displayname).where(FamilyAccount.user_id == user_id)
        )
    return name or user_id
