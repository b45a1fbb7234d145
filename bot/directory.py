"""The directory as the bot sees it: who is asking, what they may see, who matches a name.

Loaded once into memory (provisioning's DirectoryView plus the Matrix accounts) and
reloaded when the directory or the accounts change, so a command costs no query but one
cheap check of the revision. The check and the reload (seconds on a city) run in a worker
thread: the bot's event loop keeps serving meanwhile.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import heapq
import sys
import time
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Engine, case, func, select

from provisioning.authority import NOBODY, Authority, authority_of
from provisioning.bulk import cyclic_gc_paused
from provisioning.db.models import (
    DirectoryState,
    MatrixAccount,
    MatrixMember,
    MatrixRoom,
    SchoolClass,
)
from provisioning.domain import primary_position, short_unit_name
from provisioning.matrix.inbox import inbox_key
from provisioning.matrix.mirror import ADMIN_KEY, APPLIED_REVISION, BOT_KEY, member_rows
from provisioning.text import fold, name_sort_key
from provisioning.view import DirectoryView, PersonView, UnitView, load_view


@dataclass
class Asker:
    """Someone who typed a command, as the directory knows them."""

    user_id: str
    person: PersonView | None
    authority: Authority = NOBODY
    #: people with a position in a unit they may look up, built on first need
    visible_people: frozenset[int] | None = None
    #: homeroom teacher (GVCN) of an open class: may send to that class's families
    homeroom: bool = False

    @property
    def known(self) -> bool:
        return self.person is not None and self.person.active

    @property
    def official(self) -> bool:
        return self.authority.official

    @property
    def sends(self) -> bool:
        """May send posts: an official, or a homeroom teacher (to their class's families)."""
        return self.known and (self.official or self.homeroom)

    @property
    def managed(self) -> tuple[UnitView, ...]:
        """The units they act for (statistics, directives), the widest first."""
        return self.authority.managed

    @property
    def visible_units(self) -> frozenset[int]:
        return self.authority.visible_units


class DirectorySnapshot:
    """One loaded state of the directory with the indexes the commands need."""

    def __init__(
        self,
        view: DirectoryView,
        accounts: dict[int, str],
        version: tuple,
        rooms: dict[str, tuple[str, str, frozenset[str]]] | None = None,
        service_users: frozenset[str] = frozenset(),
        homeroom: frozenset[int] = frozenset(),
    ) -> None:
        self.view = view
        self.homeroom = homeroom  # person ids of homeroom teachers of open classes
        self.version = version
        # room key -> (purpose, room id, members other than the bot and the admin)
        self.rooms = rooms or {}
        self.service_users = service_users
        self.user_of: dict[int, str] = accounts  # person id -> user id
        self.person_of_user: dict[str, PersonView] = {
            user_id: view.people[pid] for pid, user_id in accounts.items() if pid in view.people
        }
        #: every unit id: the explicit scope of a lookup that may name any unit
        self.all_units = frozenset(view.units)
        # prefix index over the words of every active person's folded name: the distinct
        # words in order (a few thousand: one sort of every (word, person) pair of a city
        # would hold the interpreter for most of a second) and who bears each
        self._owners: dict[str, list[int]] = defaultdict(list)
        for person in view.people.values():
            if person.active:
                for word in set(person.name_key.split()):
                    self._owners[word].append(person.id)
        self._words = sorted(self._owners)
        self._askers: dict[str, Asker] = {}
        self._name_rank: dict[int, int] = {}
        self._subtrees: dict[int, frozenset[int]] = {}
        self._unit_word_cache: dict[int, frozenset[str]] = {}

    # ---------------------------------------------------------------- who asks

    def asker(self, user_id: str) -> Asker:
        if user_id not in self._askers:
            person = self.person_of_user.get(user_id)
            self._askers[user_id] = Asker(
                user_id,
                person,
                authority_of(self.view, person, self.subtree),
                homeroom=person is not None and person.id in self.homeroom,
            )
        return self._askers[user_id]

    def subtree(self, unit_id: int) -> frozenset[int]:
        if unit_id not in self._subtrees:
            self._subtrees[unit_id] = frozenset(u.id for u in self.view.subtree(unit_id))
        return self._subtrees[unit_id]

    # ---------------------------------------------------------------- searching

    def people_named(self, query: str, among: Collection[int]) -> set[int]:
        """People of ``among`` every word of whose query starts a word of their name, in
        any order (active people only)."""
        words = fold(query).split()
        if not words:
            return set()
        found: set[int] | None = None
        for word in sorted(words, key=len, reverse=True):
            start = bisect.bisect_left(self._words, word)
            end = bisect.bisect_left(self._words, word + "\uffff", start)
            owners: set[int] = set()
            for name_word in self._words[start:end]:
                owners.update(self._owners[name_word])
            found = owners if found is None else found & owners
            if not found:
                return set()
        return {pid for pid in found or () if pid in among}

    def people_visible_to(self, asker: Asker) -> frozenset[int]:
        """Everyone holding a position in a unit the asker may see (cached per asker)."""
        if asker.visible_people is None:
            by_unit = self.view.people_by_unit
            asker.visible_people = frozenset(
                pid for unit_id in asker.visible_units for pid in by_unit.get(unit_id, ())
            )
        return asker.visible_people

    def units_matching(self, query: str, within: Collection[int]) -> list[UnitView]:
        """Active units of ``within`` whose code is ``query`` or whose names have words
        starting with every word of it (accent-insensitive), most specific first. A unit's
        names are its full name and the short one the bot prints ("MN Hoa Sen" for
        "Trường Mầm non Hoa Sen"); their words may mix ("Trường MN Hoa Sen")."""
        text = fold(query)
        words = text.split()
        if not words:
            return []
        candidates = [u for u in self.view.units.values() if u.active and u.id in within]
        exact = [u for u in candidates if fold(u.code) == text]
        if exact:
            return exact
        found = []
        for unit in candidates:
            name_words = self._unit_words(unit)
            if all(any(n.startswith(w) for n in name_words) for w in words):
                found.append(unit)
        found.sort(key=lambda u: (len(u.name), u.name))
        return found

    def _unit_words(self, unit: UnitView) -> frozenset[str]:
        """The folded words of a unit's full and short names (kept for the snapshot)."""
        words = self._unit_word_cache.get(unit.id)
        if words is None:
            names = f"{unit.name} {short_unit_name(unit.name)}"
            words = self._unit_word_cache[unit.id] = frozenset(fold(names).split())
        return words

    def first_people(self, ids: set[int], limit: int) -> list[PersonView]:
        """The first ``limit`` of ``ids`` in Vietnamese name order (given name first)."""
        people = self.view.people
        if not self._name_rank:  # once per snapshot (the cache ranks in its reload thread)
            with cyclic_gc_paused():
                self.rank_names()
        return [people[i] for i in heapq.nsmallest(limit, ids, key=self._name_rank.__getitem__)]

    def rank_names(self) -> None:
        """Give everyone their place in Vietnamese name order (given name first).

        One given name at a time, each dropped once ranked: a single sort of a whole city,
        or freeing all its keys at once, is one long call that holds the interpreter and
        stalls every other thread (the event loop's too).
        """
        by_given: dict[str, list[tuple[tuple[str, str, str], str, int]]] = defaultdict(list)
        for person in self.view.people.values():
            key = name_sort_key(person.name_key)
            by_given[key[0]].append((key, person.code, person.id))
        rank: dict[int, int] = {}
        for given in sorted(by_given):
            for _, _, pid in sorted(by_given.pop(given)):
                rank[pid] = len(rank)
        self._name_rank = rank

    def delivery_rooms(self, purposes: set[str]) -> dict[str, tuple[str, frozenset[str]]]:
        """Managed rooms of these purposes: room id and members (user ids)."""
        return {
            key: (room_id, members)
            for key, (purpose, room_id, members) in self.rooms.items()
            if purpose in purposes
        }

    def inbox_of_user(self, user_id: str) -> str | None:
        """The room id of this person's inbox (bot and them), if it exists."""
        person = self.person_of_user.get(user_id)
        if person is None:
            return None
        room = self.rooms.get(inbox_key(person.code))
        return room[1] if room else None

    def primary(self, person: PersonView):
        return primary_position(self.view, person)


class DirectoryCache:
    """Hands out the current snapshot, reloading it when the database changed."""

    def __init__(
        self, engine: Engine, min_check_interval: float = 1.0, min_recheck_interval: float = 5.0
    ) -> None:
        self.engine = engine
        self.min_check_interval = min_check_interval
        self.min_recheck_interval = min_recheck_interval
        self._snapshot: DirectorySnapshot | None = None
        self._checked = 0.0
        self._rechecked = float("-inf")
        self._refresh: asyncio.Task[DirectorySnapshot] | None = None  # shared by every caller

    def _version(self) -> tuple:
        """Changes whenever an import or an apply changed what the bot relies on."""
        with self.engine.connect() as conn:
            state = dict(
                conn.execute(
                    select(DirectoryState.key, DirectoryState.value).where(
                        DirectoryState.key.in_(["revision", APPLIED_REVISION])
                    )
                ).all()
            )
            accounts = conn.execute(
                select(
                    func.count(), func.sum(case((MatrixAccount.deactivated.is_(True), 1), else_=0))
                ).where(MatrixAccount.created.is_(True))
            ).one()
            members = conn.scalar(select(func.count()).select_from(MatrixMember))
        return (state.get("revision"), state.get(APPLIED_REVISION), tuple(accounts), members)

    async def get(self) -> DirectorySnapshot:
        """The current snapshot, checked at most every ``min_check_interval`` seconds.

        The check, and a reload when the directory changed, run in a worker thread; callers
        that ask meanwhile wait for that same refresh (one reload, however many ask).
        """
        now = time.monotonic()
        if self._snapshot is not None and now - self._checked < self.min_check_interval:
            return self._snapshot
        if self._refresh is None:
            self._checked = now
            self._refresh = asyncio.create_task(self._refreshed())
        # a caller that gives up does not cancel the refresh the others wait for
        return await asyncio.shield(self._refresh)

    async def recheck(self) -> DirectorySnapshot:
        """The snapshot after a check made now, however recent the last one (someone unknown
        may have been provisioned since). At most every ``min_recheck_interval`` seconds,
        so that a stranger cannot keep the bot checking; in between, what ``get`` gives."""
        now = time.monotonic()
        if now - self._rechecked < self.min_recheck_interval:
            return await self.get()
        self._rechecked = now
        if self._refresh is not None:  # begun before the question: may predate the change
            await asyncio.shield(self._refresh)
        self._checked = float("-inf")
        return await self.get()

    async def _refreshed(self) -> DirectorySnapshot:
        try:
            return await asyncio.to_thread(self._current)
        finally:
            self._refresh = None

    def _current(self) -> DirectorySnapshot:
        """The snapshot of the database as it is now (blocking: a query, maybe a reload)."""
        version = self._version()
        old = self._snapshot
        if old is not None and old.version == version:
            return old
        self._snapshot = self.load(version)
        # nobody else holds the old one (this frame and getrefcount's argument): free it
        if old is not None and sys.getrefcount(old) == 2 and sys.getrefcount(old.view) == 2:
            _release(old)
        return self._snapshot

    def load(self, version: tuple) -> DirectorySnapshot:
        with cyclic_gc_paused():
            snapshot = self._load(version)
            # Millions of objects without cycles, made while the collector was paused: kept
            # out of its sight for good (reference counting still frees them), or its next
            # pass would walk them all at once and stall every thread.
            gc.freeze()
        return snapshot

    def _load(self, version: tuple) -> DirectorySnapshot:
        view = load_view(self.engine)
        with self.engine.connect() as conn:
            accounts = dict(
                iter(  # row by row: a fetch of them all at once holds the interpreter
                    conn.execute(
                        select(MatrixAccount.person_id, MatrixAccount.user_id).where(
                            MatrixAccount.created.is_(True), MatrixAccount.deactivated.is_(False)
                        )
                    )
                )
            )
            service = frozenset(
                conn.scalars(
                    select(DirectoryState.value).where(DirectoryState.key.in_([ADMIN_KEY, BOT_KEY]))
                )
            )
            members: dict[str, set[str]] = defaultdict(set)
            for key, user_id in member_rows(conn):
                if user_id not in service:
                    members[key].add(user_id)
            rooms = {
                key: (purpose, room_id, frozenset(members.get(key, ())))
                for key, purpose, room_id in conn.execute(
                    select(MatrixRoom.key, MatrixRoom.purpose, MatrixRoom.room_id).where(
                        MatrixRoom.room_id.is_not(None)
                    )
                )
            }
            homeroom = frozenset(
                conn.scalars(
                    select(SchoolClass.homeroom_person_id).where(
                        SchoolClass.active.is_(True), SchoolClass.homeroom_person_id.is_not(None)
                    )
                )
            )
        snapshot = DirectorySnapshot(view, accounts, version, rooms, service, homeroom)
        snapshot.rank_names()  # here rather than on the loop, in the first !danhba
        return snapshot


def _release(snapshot: DirectorySnapshot) -> None:
    """Empty a replaced snapshot that nobody holds, a piece at a time (in a worker thread).

    Dropping it whole frees millions of objects in one call that holds the interpreter
    (≈ 0.2 s on a city), so the event loop would stall; emptied item by item from Python,
    the loop thread gets its turns in between.
    """
    for owner in (snapshot, snapshot.view):
        for value in list(vars(owner).values()):
            if isinstance(value, dict):
                while value:
                    value.popitem()
            elif isinstance(value, list):
                while value:
                    value.pop()
