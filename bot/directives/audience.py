"""Who a directive is for (pure): what the sender chose, within what they may reach.

The seed's three steps: choose khối (cấp học) and/or units under the sender's authority;
then chức vụ, loại hình, individual people, or everyone; the result is always intersected
with the sender's authority (a principal their school, an office the schools it manages,
the Sở everyone). A target outside that authority is refused with a reason, never dropped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bot.commands import CommandError
from bot.directives import families
from bot.directory import Asker, DirectorySnapshot
from provisioning import vocab
from provisioning.domain import school_of, short_unit_name
from provisioning.matrix.layout import (
    OWNERSHIP_LABEL,
    ROLE_LABEL,
    OwnershipClass,
    Role,
    ownership_class,
    role_of,
)
from provisioning.text import compact, fold
from provisioning.view import UnitView
from provisioning.vocab import Level, Ownership, Position

#: Words a target list may have: each is looked up among every unit and person, so an
#: endless list would cost minutes of CPU (a step or a one-line form rarely needs 20).
MAX_TARGET_WORDS = 80
EVERYONE_WORDS = {"tatca", "all", "toanbo", "chontatca"}
ROLE_WORDS = {
    "ht": {Role.HEAD},
    "hieutruong": {Role.HEAD},
    "giamdoc": {Role.HEAD},
    "pht": {Role.DEPUTY},
    "phohieutruong": {Role.DEPUTY},
    "cbql": {Role.HEAD, Role.DEPUTY},
    "canboquanly": {Role.HEAD, Role.DEPUTY},
    "gv": {Role.TEACHER},
    "giaovien": {Role.TEACHER},
    "nv": {Role.STAFF},
    "nhanvien": {Role.STAFF},
}


@dataclass
class Selection:
    """What the sender picked; JSON-able so that a draft survives a restart."""

    levels: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)  # unit codes
    everyone: bool = False
    roles: list[str] = field(default_factory=list)
    positions: list[str] = field(default_factory=list)
    ownerships: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)  # person codes, hand-picked
    all_people: bool = False
    families: list[str] = field(default_factory=list)  # parents, students
    grades: list[str] = field(default_factory=list)  # khối of the families' classes
    classes: list[str] = field(default_factory=list)  # class names as typed ("6A1")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Selection:
        return cls(**data)

    @property
    def has_step1(self) -> bool:
        return self.everyone or bool(
            self.levels or self.units or self.families or self.grades or self.classes
        )

    @property
    def staff_wanted(self) -> bool:
        """Staff are reached: always without families; with them, only when a chức vụ,
        loại hình or person is named too ("HT phụ huynh"): "tất cả phụ huynh" is every
        parent in reach, not every staff member as well."""
        return not self.families or bool(
            self.roles or self.positions or self.ownerships or self.people
        )

    def describe(self, snapshot: DirectorySnapshot) -> str:
        parts = []
        if self.everyone:
            parts.append("toàn bộ phạm vi")
        parts += [vocab.label(Level(v)) for v in self.levels]
        parts += [short_unit_name(snapshot.view.unit(c).name) for c in self.units]
        who = [ROLE_LABEL[Role(r)] for r in self.roles]
        who += [vocab.label(Position(p)) for p in self.positions]
        who += [OWNERSHIP_LABEL[OwnershipClass(o)] for o in self.ownerships]
        if self.people:
            who.append(f"{len(self.people)} người được chọn")
        parts += [families.grade_label(g) for g in self.grades]
        parts += [f"lớp {c}" for c in self.classes]
        who += [families.FAMILY_LABEL[f] for f in self.families]
        text = ", ".join(parts) or "(chưa chọn)"
        return text + (f" — {', '.join(who)}" if who else "")


def authority(snapshot: DirectorySnapshot, asker: Asker) -> frozenset[int]:
    """Unit ids the sender may reach: the subtrees they act for."""
    return asker.authority.managed_units


def _ngrams(words: list[str], start: int) -> list[tuple[int, str]]:
    return [
        (n, " ".join(words[start : start + n])) for n in range(min(6, len(words) - start), 0, -1)
    ]


def parse_targets(
    text: str, snapshot: DirectorySnapshot, asker: Asker, selection: Selection, *, step: int
) -> None:
    """Add what ``text`` names to ``selection``; step 1: khối/đơn vị, step 2: who.

    The one-line form gives both at once (``step=0``). Raises CommandError naming what is
    unknown or outside the sender's authority.
    """
    allowed = authority(snapshot, asker)
    words = text.replace(",", " ").replace(";", " ").split()
    if len(words) > MAX_TARGET_WORDS:
        raise CommandError(
            f"Danh sách nơi nhận quá dài ({len(words)} từ, tối đa {MAX_TARGET_WORDS}). "
            "Hãy chọn theo cấp học, đơn vị hoặc chức vụ thay vì liệt kê từng người."
        )
    i = 0
    while i < len(words):
        for n, gram in _ngrams(words, i):
            key = compact(gram)
            if key in EVERYONE_WORDS:
                if step == 1 or (step == 0 and not selection.has_step1):
                    selection.everyone = True
                else:
                    selection.all_people = True
            elif _family(selection, gram, step):
                pass
            elif step in (0, 1) and (level := vocab.parse(Level, gram)) is not None:
                _add(selection.levels, level.value)
            elif step in (0, 2) and key in ROLE_WORDS:
                for role in ROLE_WORDS[key]:
                    _add(selection.roles, role.value)
            elif step in (0, 2) and (own := _ownership(gram)) is not None:
                _add(selection.ownerships, own.value)
            elif step in (0, 2) and (pos := vocab.parse(Position, gram)) is not None:
                _add(selection.positions, pos.value)
            elif step in (0, 1) and (unit := _unit(snapshot, gram, allowed)) is not None:
                _add(selection.units, unit.code)
            elif step == 2 and (person := _person(snapshot, asker, gram, allowed)) is not None:
                _add(selection.people, person)
            else:
                continue
            i += n
            break
        else:
            raise CommandError(_unknown(snapshot, words[i], allowed, step))


def _family(selection: Selection, gram: str, step: int) -> bool:
    """'phụ huynh'/'học sinh' (who: steps 0 and 2), 'khối 6' or a class (any step)."""
    if step in (0, 2) and (who := families.family_word(gram)) is not None:
        _add(selection.families, who)
    elif (grade := families.grade_word(gram)) is not None:
        _add(selection.grades, grade)
    elif (name := families.class_word(gram)) is not None:
        _add(selection.classes, name)
    else:
        return False
    return True


def _add(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)


def _ownership(gram: str) -> OwnershipClass | None:
    member = vocab.parse(Ownership, gram)
    if member is None:
        return None
    return OwnershipClass.PUBLIC if member.is_public else OwnershipClass.NON_PUBLIC


def _unit(snapshot: DirectorySnapshot, gram: str, allowed: frozenset[int]) -> UnitView | None:
    """A unit by code or name (accent-insensitive, words may be abbreviated: "THCS Ánh Dương"
    finds "Trường THCS Tư thục Ánh Dương"); ambiguous or outside authority → refused."""
    target = fold(gram)
    matches = snapshot.units_matching(gram, within=snapshot.all_units)  # refused below
    exact = [
        u for u in matches if target in (fold(u.code), fold(u.name), fold(short_unit_name(u.name)))
    ]
    if exact:
        matches = exact
    if not matches:
        return None
    if len(matches) > 1:
        inside = [u for u in matches if u.id in allowed]
        if len(inside) != 1:
            if len(gram.split()) == 1 and not exact:
                return None  # one loose word: rather a name or an unknown word
            names = "; ".join(u.name for u in matches[:5])
            raise CommandError(
                f"Có {len(matches)} đơn vị khớp với '{gram}': {names}. "
                "Hãy gõ cụ thể hơn hoặc dùng mã đơn vị."
            )
        matches = inside
    unit = matches[0]
    if unit.id not in allowed:
        raise CommandError(
            f"Đơn vị '{unit.name}' nằm ngoài phạm vi Anh/Chị được gửi tin nhắn điều hành."
        )
    return unit


def _person(snapshot: DirectorySnapshot, asker: Asker, gram: str, allowed: frozenset[int]):
    """A hand-picked person by full name (accent-insensitive) within authority."""
    ids = [
        pid
        for pid in snapshot.people_named(gram, among=snapshot.view.people)  # refused below
        if fold(snapshot.view.people[pid].full_name) == fold(gram)
    ]
    inside = [
        pid for pid in ids if any(u in allowed for u, _ in snapshot.view.people[pid].positions)
    ]
    if ids and not inside:
        raise CommandError(
            f"'{snapshot.view.people[ids[0]].full_name}' nằm ngoài phạm vi "
            "Anh/Chị được gửi tin nhắn điều hành."
        )
    if len(inside) > 1:
        names = "; ".join(_who(snapshot, pid) for pid in inside[:5])
        raise CommandError(
            f"Có {len(inside)} người tên '{gram}': {names}. Hãy chọn theo đơn vị hoặc chức vụ."
        )
    return snapshot.view.people[inside[0]].code if inside else None


def _who(snapshot: DirectorySnapshot, pid: int) -> str:
    person = snapshot.view.people[pid]
    primary = snapshot.primary(person)
    return (
        f"{person.full_name} ({short_unit_name(primary[1].name)})"
        if primary
        else (person.full_name)
    )


def _unknown(snapshot: DirectorySnapshot, word: str, allowed: frozenset[int], step: int) -> str:
    if step == 1:
        return (
            f"Không hiểu '{word}'. Hãy gõ cấp học (MN, TH, THCS, THPT, LC, GDTX), "
            "tên hoặc mã đơn vị thuộc phạm vi của Anh/Chị, hoặc 'tất cả'."
        )
    if step == 2:
        return (
            f"Không hiểu '{word}'. Hãy gõ chức vụ (HT, PHT, GV, NV…), loại hình (CL, NCL), "
            "phụ huynh, học sinh, họ tên từng người, hoặc 'tất cả'."
        )
    return f"Không hiểu '{word}'. Ví dụ: !gui THCS HT CL: Kính gửi các thầy cô hiệu trưởng…"


def audience(snapshot: DirectorySnapshot, asker: Asker, selection: Selection) -> set[int]:
    """The person ids the selection names, within the sender's authority (active people)."""
    view = snapshot.view
    allowed = authority(snapshot, asker)
    base_units: set[int] = set()
    if selection.everyone:
        base_units = set(allowed)
    for code in selection.units:
        base_units |= snapshot.subtree(view.unit(code).id) & allowed
    levels = {Level(v) for v in selection.levels}
    if levels:
        for unit_id in allowed:
            unit = view.units[unit_id]
            school = school_of(view, unit)
            if school is not None and school.level in levels:
                base_units.add(unit_id)
    roles = {Role(r) for r in selection.roles}
    positions = {Position(p) for p in selection.positions}
    ownerships = {OwnershipClass(o) for o in selection.ownerships}
    filtered = bool(roles or positions or ownerships) and not selection.all_people
    # hand-picked people alone mean just them; with filters or "tất cả", them as well
    if selection.people and not filtered and not selection.all_people:
        base_units = set()
    chosen: set[int] = set()
    for unit_id in base_units:
        unit = view.units[unit_id]
        school = school_of(view, unit)
        for pid in view.people_by_unit.get(unit_id, ()):
            person = view.people[pid]
            if not person.active:
                continue
            if not filtered:
                chosen.add(pid)
                continue
            for held_unit, position in person.positions:
                if held_unit != unit_id:
                    continue
                if (roles or positions) and not (
                    role_of(position) in roles or position in positions
                ):
                    continue
                if ownerships and (school is None or ownership_class(school) not in ownerships):
                    continue
                chosen.add(pid)
    if selection.people:
        by_code = {p.code: p.id for p in view.people.values()}
        chosen |= {by_code[c] for c in selection.people if c in by_code}
    return {pid for pid in chosen if any(u in allowed for u, _ in view.people[pid].positions)}
