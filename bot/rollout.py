"""How far the rollout has come (``!trienkhai``): per unit, staff with an account, who
have logged in, who were active lately, who never logged in. Pure: plain data in, counts
out; the command formats them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

#: "active" means seen within this long
ACTIVE_DAYS = 7


@dataclass(frozen=True)
class Tally:
    """One unit's (or a total's) counts."""

    label: str
    accounts: int  # active staff with a Matrix account
    logged_in: int  # ... who have logged in at least once
    active: int  # ... seen in the last ACTIVE_DAYS days

    @property
    def never(self) -> int:
        return self.accounts - self.logged_in

    @property
    def share(self) -> float:
        """The share logged in; a unit with no account is not behind (1.0)."""
        return self.logged_in / self.accounts if self.accounts else 1.0


def tally(
    label: str, users: Iterable[str], logged_in: AbstractSet[str], active: AbstractSet[str]
) -> Tally:
    """The counts over ``users`` (each counted once): set intersections, so that a city's
    150,000 people cost milliseconds."""
    distinct = set(users)
    return Tally(
        label,
        len(distinct),
        len(distinct.intersection(logged_in)),
        len(distinct.intersection(active)),
    )


def behind(t: Tally) -> tuple[float, int, str]:
    """The sort key of the units furthest behind first: lowest share logged in; then
    most who never logged in; then by name."""
    return (t.share, -t.never, t.label)


def furthest_behind(rows: Iterable[Tally]) -> list[Tally]:
    return sorted(rows, key=behind)


def users_of(
    unit_ids: Iterable[int],
    people_by_unit: Mapping[int, list[int]],
    active_people: Callable[[int], bool],
    user_of: Mapping[int, str],
) -> set[str]:
    """The accounts of the active people holding a position in any of ``unit_ids``."""
    return {
        user_of[pid]
        for unit_id in unit_ids
        for pid in people_by_unit.get(unit_id, ())
        if pid in user_of and active_people(pid)
    }


def since(now: dt.datetime) -> dt.datetime:
    """The start of the "active" window ending ``now``."""
    return now - dt.timedelta(days=ACTIVE_DAYS)


def percent(part: int, whole: int) -> str:
    """'67%', rounded down (so that 100% means everyone); '—' of nobody."""
    return f"{100 * part // whole}%" if whole else "—"
