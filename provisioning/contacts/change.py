"""Plan one contact correction (pure, over a DirectoryView).

Who may correct whom is the authority rule (``provisioning.authority``): the asker must
act for every unit the person works in (a principal for their school, an office's
managers and Chuyên viên for the units it manages).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from provisioning.authority import Authority
from provisioning.domain import primary_position
from provisioning.phone import INVALID, format_local, normalize_phone
from provisioning.text import fold
from provisioning.view import DirectoryView, PersonView, UnitView
from provisioning.vocab import Position, label, parse, spellings

#: What a correction changes, as typed after the person: sdt, chucvu, donvi, nghiviec.
PHONE, POSITION, UNIT, ACTIVE = "phone", "position", "unit", "active"
FIELD_LABEL = {
    PHONE: "Số điện thoại",
    POSITION: "Chức vụ",
    UNIT: "Đơn vị",
    ACTIVE: "Tình trạng",
}
WORKING, DEPARTED = "đang công tác", "nghỉ việc"


class ContactError(ValueError):
    """A correction that cannot be made; the message is one Vietnamese sentence."""


@dataclass(frozen=True)
class Change:
    """One planned correction of one person, with what it shows and records."""

    person_id: int
    person_code: str
    full_name: str
    field: str
    old: str | None  # as shown and recorded
    new: str | None
    phone: str | None = None  # the phone before (PHONE: checked again when saved)
    new_phone: str | None = None
    positions: tuple[tuple[int, str], ...] = field(default=())  # after (POSITION, UNIT)
    held: tuple[tuple[int, str], ...] = field(default=())  # before (checked when saved)

    def to_json(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["positions"] = [list(p) for p in self.positions]
        data["held"] = [list(p) for p in self.held]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        pairs = {k: tuple(tuple(p) for p in data.get(k, ())) for k in ("positions", "held")}
        return cls(**{**data, **pairs})

    def line(self) -> str:
        """ "Số điện thoại: 0912 345 678 → 0987 654 321" """
        return f"{FIELD_LABEL[self.field]}: {self.old or '(trống)'} → {self.new or '(trống)'}"


def shown_phone(phone: str | None) -> str | None:
    return format_local(phone) if phone else None


def out_of_scope(view: DirectoryView, authority: Authority, person: PersonView) -> str | None:
    """Why the asker may not correct ``person`` (a sentence), or None when they may."""
    units = {unit_id for unit_id, _ in person.positions if view.units[unit_id].active}
    if not units or not all(authority.manages(u) for u in units):
        return (
            f"{person.full_name} (mã {person.code}) không thuộc phạm vi Anh/Chị phụ trách; "
            "chỉ hiệu trưởng của trường hoặc đơn vị quản lý mới cập nhật được."
        )
    return None


def plan_change(
    view: DirectoryView, authority: Authority, person: PersonView, what: str, value: str
) -> Change:
    """The correction ``what`` (PHONE, POSITION, UNIT, ACTIVE) of ``person`` to ``value``."""
    problem = out_of_scope(view, authority, person)
    if problem:
        raise ContactError(problem)
    if not person.active:
        raise ContactError(f"{person.full_name} (mã {person.code}) đã nghỉ việc.")
    planners = {PHONE: plan_phone, POSITION: _plan_position, UNIT: _plan_unit}
    if what == ACTIVE:
        return _change(person, ACTIVE, WORKING, DEPARTED)
    return planners[what](view, authority, person, value)


def plan_phone(
    view: DirectoryView, authority: Authority | None, person: PersonView, raw: str
) -> Change:
    """A new phone for ``person`` (``authority`` unused: the caller checked the scope)."""
    result = normalize_phone(raw.strip())
    if not result.ok:
        why = f": {result.problem}" if result.problem not in (None, INVALID) else ""
        raise ContactError(
            f"Số điện thoại '{raw.strip()}' không hợp lệ{why}; hãy gõ số di động, "
            "ví dụ 0912 345 678."
        )
    phone = result.e164
    if phone == person.phone:
        raise ContactError(f"{shown_phone(phone)} đã là số điện thoại của {person.full_name}.")
    holder = phone_holder(view, phone, person.id)
    if holder is not None:
        raise ContactError(
            f"Số {shown_phone(phone)} đang là số của {holder.full_name} (mã {holder.code}); "
            "mỗi số chỉ dùng để đăng nhập cho một người."
        )
    return _change(person, PHONE, shown_phone(person.phone), shown_phone(phone), new_phone=phone)


def phone_holder(view: DirectoryView, phone: str, other_than: int) -> PersonView | None:
    """The active person other than ``other_than`` whose phone is ``phone``, if any."""
    return next(
        (p for p in view.people.values() if p.active and p.phone == phone and p.id != other_than),
        None,
    )


def _plan_position(
    view: DirectoryView, authority: Authority, person: PersonView, raw: str
) -> Change:
    position = parse(Position, raw.strip())
    if position is None:
        raise ContactError(
            f"Không có chức vụ '{raw.strip()}'; các chức vụ: {', '.join(spellings(Position))}."
        )
    primary = primary_position(view, person)
    assert primary is not None  # out_of_scope refused a person with no active position
    held, unit = primary
    if held is position:
        raise ContactError(f"{person.full_name} đã là {label(position)} của {unit.name}.")
    kept = [(u, p.value) for u, p in person.positions if (u, p) != (unit.id, held)]
    after = tuple(dict.fromkeys([*kept, (unit.id, position.value)]))
    return _change(
        person,
        POSITION,
        f"{label(held)} ({unit.name})",
        f"{label(position)} ({unit.name})",
        positions=after,
    )


def _plan_unit(view: DirectoryView, authority: Authority, person: PersonView, raw: str) -> Change:
    unit = find_unit(view, raw)
    if not authority.manages(unit.id):
        raise ContactError(
            f"{unit.name} (mã {unit.code}) không thuộc phạm vi Anh/Chị phụ trách; "
            "không thể chuyển người đến đó."
        )
    primary = primary_position(view, person)
    assert primary is not None
    held, current = primary
    if current.id == unit.id:
        raise ContactError(f"{person.full_name} đã công tác ở {unit.name}.")
    return _change(
        person,
        UNIT,
        current.name,
        unit.name,
        positions=((unit.id, held.value),),
    )


def find_unit(view: DirectoryView, raw: str) -> UnitView:
    """The active unit whose code is ``raw`` (accent- and case-blind)."""
    text = fold(raw.strip())
    found = [u for u in view.units.values() if u.active and fold(u.code) == text]
    if not found:
        raise ContactError(
            f"Không tìm thấy đơn vị có mã '{raw.strip()}'; hãy gõ mã đơn vị như trong danh bạ "
            "(xem bằng !danhba)."
        )
    return found[0]


def _change(person: PersonView, what: str, old: str | None, new: str | None, **kw: Any) -> Change:
    held = tuple(sorted((unit_id, position.value) for unit_id, position in person.positions))
    return Change(
        person.id, person.code, person.full_name, what, old, new, person.phone, held=held, **kw
    )
