"""The order of a plan's operations (pure): what lets people work comes first, and joins
are spread over rooms.

A city's first apply takes a night, so what matters is what works early. Operations run
in tiers, and within a tier in the phases that avoid conflicts (``plan.Phase``: spaces top
down, rooms, links, accounts, phones, joins, power levels):

1. **accounts**: every account — the bot's first (its rate limits are lifted as it is
   created, so it can log in and make inboxes at once), then the officials' and school
   leaders', then everyone else's — and the phone moves; from then on anyone can log in
   and receive a directive in their inbox;
2. **officials' rooms** (``Layout.first``): the spaces, rooms and role groups of the Sở,
   the cụm and the offices, the role groups of school leaders, and the spaces above them,
   with the bot and the officials and leaders in them (``Priority``), so that an
   official's ``!gui`` reaches principals through a few rooms;
3. **the rest**: schools' rooms, the teachers' and staff's role groups, families' rooms;
   then the removals (leaves, deactivations), last as before.

The bot needs no managed room to serve: its inboxes are its own, made on first need. It
delivers only to rooms it is in, so its join comes first in every room. Within a tier,
joins go round-robin over rooms, the longest queues first: Synapse serialises the joins
into one room, so spreading them keeps several rooms (and event persisters) busy.
"""

from __future__ import annotations

import itertools
import operator
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from enum import IntEnum

from provisioning.matrix.layout import BOT, Layout
from provisioning.matrix.plan import PHASE_OF, Kind, Op, Phase


class Tier(IntEnum):
    ACCOUNTS = 0
    OFFICIALS = 1
    REST = 2


_ACCOUNT_PHASES = frozenset({Phase.ACCOUNTS, Phase.PHONES_FREED, Phase.PHONES_BOUND})
_REMOVAL_PHASES = frozenset({Phase.LEAVES, Phase.DEACTIVATIONS})

Stage = tuple[Tier, Phase]


@dataclass(frozen=True)
class Priority:
    """What comes first: the officials' rooms (``Layout.first``) and their people — the
    members of those rooms but the spaces (a xã's space holds every teacher of its
    schools: their joins there wait with the rest)."""

    rooms: frozenset[str] = frozenset()
    people: frozenset[str] = frozenset()  # person codes

    @classmethod
    def of(cls, layout: Layout) -> Priority:
        people: set[str] = set()
        for key in layout.first:
            if not layout.rooms[key].is_space:
                people.update(layout.members.get(key, ()))
        people.discard(BOT)
        return cls(frozenset(layout.first), frozenset(people))


def tier_of(op: Op, priority: Priority) -> Tier:
    phase = PHASE_OF[op.kind]
    if phase in _ACCOUNT_PHASES:
        return Tier.ACCOUNTS
    if phase in _REMOVAL_PHASES or op.room not in priority.rooms:
        return Tier.REST
    if phase is Phase.JOINS and op.person is not None and op.person not in priority.people:
        return Tier.REST  # the bot's join (no person) and the officials' come first
    return Tier.OFFICIALS


def stage_of(op: Op, priority: Priority) -> Stage:
    """Where ``op`` runs: operations of one stage run together, stages one after another."""
    return tier_of(op, priority), PHASE_OF[op.kind]


def stages(ops: Iterable[Op], priority: Priority) -> Iterator[tuple[Stage, list[Op]]]:
    """The plan's runs of consecutive operations of one stage, in order."""
    for stage, group in itertools.groupby(ops, key=lambda op: stage_of(op, priority)):
        yield stage, list(group)


def order_ops(ops: Iterable[Op], priority: Priority, bot_user_id: str) -> list[Op]:
    """``ops`` by stage (otherwise in their order): the bot's account first, then the
    officials', joins interleaved over rooms with the bot's first."""
    by_stage: dict[Stage, list[Op]] = defaultdict(list)
    for op in ops:
        by_stage[stage_of(op, priority)].append(op)
    ordered: list[Op] = []
    for stage in sorted(by_stage):
        group = by_stage[stage]
        if stage[1] is Phase.ACCOUNTS:
            group.sort(key=lambda op: _account_rank(op, priority.people))
        elif stage[1] is Phase.JOINS:
            group = interleave(group, bot_user_id)
        ordered.extend(group)
    return ordered


def _account_rank(op: Op, first_people: Collection[str]) -> int:
    if op.kind is Kind.CREATE_BOT:
        return 0
    return 1 if op.person in first_people else 2


def room_queues(joins: Iterable[Op], bot_user_id: str) -> list[list[Op]]:
    """The joins of each room in their order, the bot's first; the longest queue first
    (ties in the order rooms first appear)."""
    queues: dict[str | None, list[Op]] = defaultdict(list)
    bots: list[Op] = []
    for op in joins:
        queue = queues[op.room]  # made here, so rooms keep the order they first appear in
        if op.user_id == bot_user_id:
            bots.append(op)
        else:
            queue.append(op)
    for op in bots:  # one a room at most
        queues[op.room].insert(0, op)
    return sorted(queues.values(), key=len, reverse=True)


def interleave(joins: Iterable[Op], bot_user_id: str) -> list[Op]:
    """Round-robin over rooms: one join of each room in turn (see ``room_queues``)."""
    queues = room_queues(joins, bot_user_id)
    out: list[Op] = []
    active = len(queues)
    for turn in range(len(queues[0]) if queues else 0):
        while len(queues[active - 1]) <= turn:  # queues are sorted longest first
            active -= 1
        out.extend(map(operator.itemgetter(turn), queues[:active]))
    return out
