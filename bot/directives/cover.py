"""Exact delivery planning (pure): reach an audience with as few events as possible.

Use existing rooms whose members are all in the audience (role groups, announcement
rooms), never two rooms that share a member, and reach everyone left over through their
personal inbox. So every person of the audience receives exactly one copy, and nobody
outside it receives any — whatever the rooms look like.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field


class NotInRoom(RuntimeError):
    """The bot is not in a room (taken out of it, or not joined to it yet): it can neither
    read its members nor send there. Raised by the Matrix side (``bot.matrix``); a plan
    leaves such a room out and reaches its people through their inboxes."""

    def __init__(self, room_id: str) -> None:
        super().__init__(f"Bot chưa ở trong phòng {room_id}")
        self.room_id = room_id


@dataclass(frozen=True)
class DeliveryPlan:
    rooms: dict[str, frozenset[str]] = field(default_factory=dict)  # room key -> who it reaches
    inboxes: frozenset[str] = frozenset()  # people reached one by one

    @property
    def events(self) -> int:
        return len(self.rooms) + len(self.inboxes)

    def reached(self) -> list[str]:
        """Everyone reached, with repetition if any (there is none)."""
        out = [member for members in self.rooms.values() for member in members]
        return out + sorted(self.inboxes)


def plan_delivery(audience: Set[str], rooms: Mapping[str, Set[str]]) -> DeliveryPlan:
    """Cover ``audience`` with disjoint rooms that hold nobody else; inboxes for the rest.

    ``rooms`` maps a room key to its members (the bot and the admin already removed).
    Larger rooms are preferred (fewer events); ties break on the key, so the plan is
    deterministic.
    """
    usable = [
        (key, frozenset(members))
        for key, members in rooms.items()
        if members and members <= audience
    ]
    usable.sort(key=lambda item: (-len(item[1]), item[0]))
    covered: set[str] = set()
    chosen: dict[str, frozenset[str]] = {}
    for key, members in usable:
        if covered.isdisjoint(members):
            chosen[key] = members
            covered |= members
    return DeliveryPlan(chosen, frozenset(set(audience) - covered))
