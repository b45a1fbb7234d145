"""The families' part of the Matrix layout (pure): their accounts, class rooms and each
school's parents room, added to the staff layout of ``layout.build_layout``.

- **Accounts.** One per family phone: a parent's (siblings in any school share it) or a
  student's own number when it gives a login (not a parent's, another active student's
  or a staff member's). Keyed ``family:<phone>`` (provisioning.families.accounts). A
  number that is also a staff member's login uses the staff account: no family account,
  the staff account gets the family memberships. A parent whose last child left, a
  student who left, is deactivated like departed staff (``departed``: the import that
  marked them had its own guard).
- **Class rooms** ``class/<classes.id>``, "Lớp 6A1 · THCS Đỗ Văn Dậy", for the open
  classes of each school's latest school year: the homeroom teacher (moderator, 50), the
  parents of the class's active students, the bot (100) — and the class's students with
  an account when ``provisioning.families.students_in_class_rooms`` names the school (or
  a unit above it). Anyone may write (a class's conversation).
- **Parents rooms** ``parents/<school code>``, "Phụ huynh · THCS Đỗ Văn Dậy", for every
  school with families: the parents of its active students, its leaders (HT, PHT: 50) and
  the bot (100); only they post (events_default 50), parents read and react.
- Both are invite-only, outside every space (the staff spaces are public: a family room
  linked there would show its name to the whole city) and unencrypted like staff rooms.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from provisioning.domain import MANAGER_POSITIONS, short_unit_name
from provisioning.families.accounts import family_key, is_family_key
from provisioning.families.view import ClassView, FamilyView, ParentView, StudentView
from provisioning.matrix.layout import (
    BOT,
    MAX_DISPLAYNAME,
    AccountSpec,
    Layout,
    Power,
    Purpose,
    RoomSpec,
    room_alias,
)
from provisioning.view import DirectoryView, UnitView
from provisioning.vocab import UnitKind

#: Children named in a parent's display name; more are counted ("+2 em").
MAX_CHILDREN_NAMED = 3
#: The name of a parent the files give no name for.
UNNAMED_PARENT = "Phụ huynh"


def class_room_key(class_id: int) -> str:
    return f"class/{class_id}"


def parents_room_key(school_code: str) -> str:
    return f"parents/{school_code}"


# ------------------------------------------------------------------ display names


def _given_name(full_name: str) -> str:
    """ "Nguyễn Minh An" → "An" (how a school calls a pupil among siblings)."""
    parts = full_name.split()
    return parts[-1] if parts else full_name


def _fit(name: str, suffix: str) -> str:
    """``name + suffix`` within Synapse's limit, the name shortened first."""
    if len(name) + len(suffix) > MAX_DISPLAYNAME:
        name = name[: max(MAX_DISPLAYNAME - len(suffix) - 1, 1)].rstrip() + "…"
    return (name + suffix)[:MAX_DISPLAYNAME]


def parent_displayname(name: str | None, children: list[tuple[str, str]]) -> str:
    """ "Trần Thị Hoa · PH em Nguyễn Minh An 6A1"; with several children their given
    names: "Trần Thị Hoa · PH em An 6A1, em Bình 3A2" (at most three, then "+N em").

    ``children`` are (full name, class or school) of the active children, in order.
    """
    if not children:
        return _fit(name or UNNAMED_PARENT, "")
    if len(children) == 1:
        who = [f"em {children[0][0]} {children[0][1]}"]
    else:
        who = [f"em {_given_name(n)} {where}" for n, where in children[:MAX_CHILDREN_NAMED]]
        if len(children) > MAX_CHILDREN_NAMED:
            who.append(f"+{len(children) - MAX_CHILDREN_NAMED} em")
    text = "PH " + ", ".join(who)
    if not name:
        return _fit("Phụ huynh " + text[3:], "")
    return _fit(name, f" · {text}")


def student_displayname(name: str, klass: str | None, school: str) -> str:
    """ "Nguyễn Minh An · HS 9A1 · THCS Đỗ Văn Dậy"."""
    return _fit(name, f" · HS {klass} · {school}" if klass else f" · HS · {school}")


# ------------------------------------------------------------------ building


@dataclass
class _Families:
    """One build's lookups."""

    view: DirectoryView
    families: FamilyView
    layout: Layout
    classes: dict[int, ClassView]  # current classes
    staff_phone: dict[str, str]  # login phone -> person code of a live staff account
    parents_of: dict[int, list[ParentView]]  # student id -> parents following them
    students_in: Collection[str]  # unit codes whose schools put students in class rooms

    def where(self, student: StudentView) -> str:
        """A child's class ("6A1"), or their school's short name without a class."""
        klass = self.classes.get(student.class_id) if student.class_id else None
        if klass is not None:
            return klass.name
        return short_unit_name(self.view.units[student.unit_id].name)

    def member(self, phone: str) -> str:
        """The layout member of a family phone: the staff account's code, or its own."""
        return self.staff_phone.get(phone) or family_key(phone)


def add_families(
    layout: Layout,
    view: DirectoryView,
    families: FamilyView,
    students_in_class_rooms: Collection[str] = (),
) -> None:
    """Add the families' accounts, rooms and memberships to a staff ``layout``."""
    staff_phone = {
        spec.phone: code
        for code, spec in layout.accounts.items()
        if spec.active and spec.phone and not is_family_key(code)
    }
    parents_of: dict[int, list[ParentView]] = defaultdict(list)
    for parent in families.parents.values():
        if parent.active:
            for student_id in dict.fromkeys(parent.children):
                parents_of[student_id].append(parent)
    build = _Families(
        view,
        families,
        layout,
        families.current_classes(),
        staff_phone,
        parents_of,
        frozenset(students_in_class_rooms),
    )
    student_logins = _student_logins(view, families, staff_phone)
    _parent_accounts(build)
    _student_accounts(build, student_logins)
    _class_rooms(build, student_logins)
    _parents_rooms(build)


def _student_logins(
    view: DirectoryView, families: FamilyView, staff_phone: dict[str, str]
) -> dict[int, str]:
    """student id -> their own phone, for active students whose number gives a login:
    no parent's (whatever their state: the key would be shared), no staff member's, no
    other active student's (DATA-FORMAT: such a conflict is reported and gives no login)."""
    parent_phones = {p.phone for p in families.parents.values()}
    staff_phones = set(staff_phone) | {
        p.phone for p in view.people.values() if p.active and p.phone
    }
    holders: dict[str, int] = defaultdict(int)
    for student in families.students.values():
        if student.active and student.phone:
            holders[student.phone] += 1
    return {
        s.id: s.phone
        for s in families.students.values()
        if s.active
        and s.phone
        and holders[s.phone] == 1
        and s.phone not in parent_phones
        and s.phone not in staff_phones
    }


def _parent_accounts(build: _Families) -> None:
    """Every parent's account spec (inactive ones too, so that the plan deactivates)."""
    for parent in build.families.parents.values():
        children = build.families.active_children(parent) if parent.active else []
        name = parent.full_name or UNNAMED_PARENT
        display = parent_displayname(
            parent.full_name, [(c.full_name, build.where(c)) for c in children]
        )
        key = family_key(parent.phone)
        build.layout.accounts[key] = AccountSpec(
            0,
            key,
            name,
            display,
            parent.phone,
            parent.active and bool(children) and parent.phone not in build.staff_phone,
            not parent.active,
        )


def _student_accounts(build: _Families, logins: dict[int, str]) -> None:
    """Students with their own number: active with a login, or deactivated when not."""
    accounts = build.layout.accounts
    for student in build.families.students.values():
        if not student.phone:
            continue
        key = family_key(student.phone)
        held = accounts.get(key)
        if held is not None and (held.active or student.id not in logins):
            continue  # a parent's number, or another student's: never this student's
        school = build.view.units.get(student.unit_id)
        klass = build.classes.get(student.class_id) if student.class_id else None
        accounts[key] = AccountSpec(
            0,
            key,
            student.full_name,
            student_displayname(
                student.full_name,
                klass.name if klass else None,
                short_unit_name(school.name) if school else "",
            ),
            student.phone,
            student.id in logins,
            not student.active,
        )


def _students_join(build: _Families, school: UnitView) -> bool:
    """Whether the school's students join their class rooms (the setting names it or a
    unit above it)."""
    if not build.students_in:
        return False
    units = [school, *build.view.ancestors(school.id)]
    return any(u.code in build.students_in for u in units)


def _class_rooms(build: _Families, logins: dict[int, str]) -> None:
    view, layout = build.view, build.layout
    pupils: dict[int, list[StudentView]] = defaultdict(list)
    for student in build.families.students.values():
        if student.active and student.class_id in build.classes:
            pupils[student.class_id].append(student)
    for klass in build.classes.values():
        school = view.units.get(klass.unit_id)
        if school is None or not school.active:
            continue
        key = class_room_key(klass.id)
        teacher = view.people.get(klass.homeroom_person_id) if klass.homeroom_person_id else None
        power = [(BOT, 100)]
        members = layout.members[key]
        members.add(BOT)
        if teacher is not None and teacher.active:
            power.append((teacher.code, 50))
            members.add(teacher.code)
        with_students = _students_join(build, school)
        for student in pupils[klass.id]:
            members.update(build.member(p.phone) for p in build.parents_of[student.id])
            if with_students and student.id in logins:
                members.add(family_key(logins[student.id]))
        short = short_unit_name(school.name)
        layout.rooms[key] = RoomSpec(
            key=key,
            purpose=Purpose.CLASS,
            unit_code=school.code,
            name=f"Lớp {klass.name} · {short}",
            topic=f"Lớp {klass.name}, năm học {klass.school_year}, {school.name}: "
            "giáo viên chủ nhiệm và phụ huynh trao đổi.",
            is_space=False,
            join_rule="invite",
            parent_key=None,
            alias=room_alias(school.code, "lop", str(klass.id)),
            power=Power(0, tuple(sorted(power))),
        )


def _parents_rooms(build: _Families) -> None:
    view, layout = build.view, build.layout
    by_school: dict[int, set[str]] = defaultdict(set)
    for student in build.families.students.values():
        if student.active:
            by_school[student.unit_id].update(
                build.member(p.phone) for p in build.parents_of[student.id]
            )
    for klass in build.classes.values():
        by_school.setdefault(klass.unit_id, set())
    for unit_id, parents in by_school.items():
        school = view.units.get(unit_id)
        if school is None or not school.active or school.kind is not UnitKind.SCHOOL:
            continue
        leaders = sorted(
            view.people[pid].code
            for pid, positions in view.active_people_in([unit_id]).items()
            if any(p in MANAGER_POSITIONS for p in positions)
        )
        key = parents_room_key(school.code)
        layout.members[key].update({BOT, *leaders, *parents})
        short = short_unit_name(school.name)
        layout.rooms[key] = RoomSpec(
            key=key,
            purpose=Purpose.PARENTS,
            unit_code=school.code,
            name=f"Phụ huynh · {short}",
            topic=f"Thông báo của {school.name} tới phụ huynh. Ban giám hiệu đăng tin; "
            "phụ huynh đọc và bày tỏ cảm xúc.",
            is_space=False,
            join_rule="invite",
            parent_key=None,
            alias=room_alias(school.code, "phuhuynh"),
            power=Power(50, tuple(sorted([(BOT, 100), *((c, 50) for c in leaders)]))),
        )
