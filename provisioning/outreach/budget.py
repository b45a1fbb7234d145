"""Who pays for an SMS, how much a unit may send in a month, and the rules of who gets one
(pure).

- **The unit that pays** is the person's own: their school (a tổ's people count against
  its school), or, for staff of an office, the Sở or a xã/phường, that office itself. An
  office's budget covers its own staff only, never its schools': a ``!moi`` from the Sở
  spends each school's budget for that school's people.
- **The budget** is a number of SMS per unit per calendar month (in Vietnam):
  ``sms.budget.monthly_per_unit``, or the unit's own figure in ``sms.budget.per_unit``
  (by unit code). Every text fits one SMS, so one message costs one.
- **Invitations** reach a person at most once every :data:`INVITE_EVERY` (a failed one
  does not count); **a directive's fallback** reaches a person once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from provisioning.domain import primary_position
from provisioning.view import DirectoryView, PersonView, UnitView
from provisioning.vocab import UnitKind

VN = dt.timezone(dt.timedelta(hours=7))
INVITE_EVERY = dt.timedelta(days=7)
#: the default of ``sms.budget.monthly_per_unit``
MONTHLY_PER_UNIT = 100


@dataclass(frozen=True)
class Outgoing:
    """One person a message may go to, at the number it would go to."""

    person_id: int
    phone: str


@dataclass(frozen=True)
class Budget:
    """SMS a unit may send in a month."""

    monthly_per_unit: int = MONTHLY_PER_UNIT
    per_unit: Mapping[str, int] = field(default_factory=dict)  # unit code -> its own figure

    def __post_init__(self) -> None:
        bad = [f"{k}: {v}" for k, v in self.per_unit.items() if v < 0]
        if self.monthly_per_unit < 0 or bad:
            raise ValueError(
                "sms.budget: số tin mỗi tháng không được âm"
                + (f" ({', '.join(bad)})" if bad else f" ({self.monthly_per_unit})")
            )

    def of(self, unit: UnitView) -> int:
        return self.per_unit.get(unit.code, self.monthly_per_unit)


def paying_unit(view: DirectoryView, unit_id: int) -> UnitView:
    """The unit whose budget pays for its people: itself, or the nearest above a tổ."""
    unit = view.units[unit_id]
    if unit.kind is not UnitKind.TEAM:
        return unit
    return next((u for u in view.ancestors(unit_id) if u.kind is not UnitKind.TEAM), unit)


def payer_of(view: DirectoryView, person: PersonView) -> UnitView | None:
    """The unit paying for ``person``'s SMS: that of their main position."""
    primary = primary_position(view, person)
    return paying_unit(view, primary[1].id) if primary else None


def payers(
    view: DirectoryView, person_ids: Iterable[int]
) -> tuple[dict[int, list[Outgoing]], list[int]]:
    """``person_ids`` (active ones) by the unit paying for their SMS, each with the number
    they log in with; and those with no such number."""
    by_payer: dict[int, list[Outgoing]] = {}
    no_phone: list[int] = []
    for pid in sorted(set(person_ids)):
        person = view.people.get(pid)
        payer = payer_of(view, person) if person is not None and person.active else None
        if person is None or payer is None:
            continue
        phone = view.login_phone(person)
        if phone is None:
            no_phone.append(pid)
        else:
            by_payer.setdefault(payer.id, []).append(Outgoing(pid, phone))
    return by_payer, no_phone


def month_of(at: dt.datetime) -> str:
    """'2026-12': the month ``at`` falls in, in Vietnam."""
    return at.astimezone(VN).strftime("%Y-%m")


def month_label(month: str) -> str:
    """'12/2026'."""
    year, number = month.split("-")
    return f"{number}/{year}"


@dataclass
class Allotment:
    """Of the people a unit's budget could pay for: who gets an SMS, who does not and why."""

    chosen: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)  # invited lately / the fallback went
    over_budget: list[int] = field(default_factory=list)


def allot(
    candidates: Iterable[int], already: set[int], used: int, limit: int, cost: int = 1
) -> Allotment:
    """Take ``candidates`` in order, leaving out those ``already`` reached, while the
    budget (``limit``, of which ``used`` is spent) lasts, at ``cost`` SMS each."""
    out = Allotment()
    room = max(0, limit - used) // max(1, cost)
    for person_id in candidates:
        if person_id in already:
            out.already.append(person_id)
        elif len(out.chosen) < room:
            out.chosen.append(person_id)
        else:
            out.over_budget.append(person_id)
    return out
