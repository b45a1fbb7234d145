"""What the bridge reads from the directory and from provisioning's mirror of Matrix.

- Units with a feed and a "Thông tin điều hành" room (``unit/<code>/announcements`` in
  ``matrix_rooms``), where a unit's news is posted: the feeds to poll, read fresh on every
  cycle (a few thousand rows at city scale). (Until 2026-12 news had "Tin tức" rooms of
  its own; provisioning retires them.)
- The tree and people (``load_view``), cached until the directory's revision changes.
- Who a Matrix user is (``matrix_accounts``), and a unit's managers (to mention them).

Every read is a coroutine that runs in a worker thread (``in_thread``): loading the view
takes about a second at city scale, and the event loop must not wait for it.

The bridge never creates rooms: a unit without its room yet is simply not delivered to.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import Connection, Engine, select

from bridge.db import chunks
from provisioning.db.models import DirectoryState, MatrixAccount, MatrixRoom, Unit
from provisioning.db.threads import in_thread
from provisioning.domain import MANAGER_POSITIONS, TEAM_MANAGER_POSITIONS
from provisioning.matrix.layout import NEWS_POSTED_IN
from provisioning.matrix.layout import unit_room_key as _room_key
from provisioning.view import DirectoryView, PersonView, load_view
from provisioning.vocab import UnitKind

log = logging.getLogger(__name__)


def news_room_key(unit_code: str) -> str:
    return _room_key(unit_code, NEWS_POSTED_IN)


class BridgeDirectory:
    """The directory as the bridge's async code reads it: every query (and the loading of
    the view, about a second at city scale) runs in a worker thread."""

    def __init__(self, engine: Engine, *, check_interval: float = 2.0) -> None:
        self.engine = engine
        self.check_interval = check_interval
        self._view: DirectoryView | None = None
        self._revision: str | None = None
        self._checked = 0.0
        self._loading = asyncio.Lock()

    # ------------------------------------------------------------------ the tree

    async def view(self) -> DirectoryView:
        """The directory, reloaded when its revision changed (checked every few seconds)."""
        if self._fresh():
            assert self._view is not None
            return self._view
        async with self._loading:  # one check (and load) at a time; the others wait for it
            if not self._fresh():
                self._checked = time.monotonic()
                self._view, self._revision = await current_view(
                    self.engine, self._view, self._revision
                )
        assert self._view is not None
        return self._view

    def _fresh(self) -> bool:
        return self._view is not None and time.monotonic() - self._checked < self.check_interval

    async def unit_name(self, unit_code: str) -> str:
        unit = (await self.view()).by_code.get(unit_code)
        return unit.name if unit else unit_code

    # ------------------------------------------------------------------ rooms and feeds

    async def news_rooms(self, unit_codes: list[str] | set[str] | None = None) -> dict[str, str]:
        """unit code → id of the room its news is posted in, for those that have one."""
        return await news_room_ids(self.engine, unit_codes)

    async def feed_sources(self) -> dict[str, str]:
        """unit code → feed URL, for active units that have both a feed and a news room."""
        return await feed_urls(self.engine)

    # ------------------------------------------------------------------ people

    async def person_of_user(self, user_id: str) -> PersonView | None:
        person_id = await person_id_of(self.engine, user_id)
        if person_id is None:
            return None
        return (await self.view()).people.get(person_id)

    async def managers(self, unit_code: str) -> list[tuple[str, str]]:
        """(user id, name) of the unit's managers who have an account, by name."""
        view = await self.view()
        unit = view.by_code.get(unit_code)
        if unit is None:
            return []
        wanted = TEAM_MANAGER_POSITIONS if unit.kind is UnitKind.TEAM else MANAGER_POSITIONS
        people = [
            view.people[pid]
            for pid, positions in view.active_people_in([unit.id]).items()
            if any(p in wanted for p in positions)
        ]
        accounts = await user_ids_of(self.engine, [p.id for p in people])
        found = [(accounts[p.id], p.full_name) for p in people if p.id in accounts]
        return sorted(found, key=lambda m: m[1])


# ---------------------------------------------------------------------- the queries


@in_thread
def current_view(
    engine: Engine, view: DirectoryView | None, revision: str | None
) -> tuple[DirectoryView, str | None]:
    """The view at the directory's current revision (``view`` itself if that did not change)."""
    with engine.connect() as conn:
        current = conn.scalar(select(DirectoryState.value).where(DirectoryState.key == "revision"))
    if view is not None and current == revision:
        return view, revision
    view = load_view(engine)
    log.debug("directory view loaded at revision %s", current)
    return view, current


@in_thread
def news_room_ids(engine: Engine, unit_codes: list[str] | set[str] | None) -> dict[str, str]:
    """unit code → id of the room its news is posted in (every unit's, if ``unit_codes`` is
    None)."""
    with engine.connect() as conn:
        return _news_rooms(conn, unit_codes)


def _news_rooms(conn: Connection, unit_codes: list[str] | set[str] | None) -> dict[str, str]:
    query = select(MatrixRoom.unit_code, MatrixRoom.room_id).where(
        MatrixRoom.purpose == NEWS_POSTED_IN.value, MatrixRoom.room_id.is_not(None)
    )
    if unit_codes is None:
        return dict(conn.execute(query).all())
    found: dict[str, str] = {}
    for chunk in chunks(news_room_key(c) for c in sorted(set(unit_codes))):
        found.update(conn.execute(query.where(MatrixRoom.key.in_(chunk))).all())
    return found


@in_thread
def feed_urls(engine: Engine) -> dict[str, str]:
    """unit code → feed URL, for active units that have both a feed and a news room."""
    with engine.connect() as conn:
        rooms = _news_rooms(conn, None)
        rows = conn.execute(
            select(Unit.code, Unit.rss_url).where(
                Unit.active.is_(True), Unit.rss_url.is_not(None), Unit.rss_url != ""
            )
        ).all()
    return {
        code: url.strip()
        for code, url in rows
        if code in rooms and url.strip() and not _reserved(url)
    }


@in_thread
def person_id_of(engine: Engine, user_id: str) -> int | None:
    with engine.connect() as conn:
        return conn.scalar(
            select(MatrixAccount.person_id).where(
                MatrixAccount.user_id == user_id, MatrixAccount.deactivated.is_(False)
            )
        )


@in_thread
def user_ids_of(engine: Engine, person_ids: list[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    with engine.connect() as conn:
        return dict(
            conn.execute(
                select(MatrixAccount.person_id, MatrixAccount.user_id).where(
                    MatrixAccount.person_id.in_(person_ids),
                    MatrixAccount.created.is_(True),
                    MatrixAccount.deactivated.is_(False),
                )
            ).all()
        )


def _reserved(url: str) -> bool:
    """A host under the reserved ``.invalid`` TLD (RFC 6761), as the demo data uses: it can
    never resolve, so it is not polled (nor reported as failing)."""
    from urllib.parse import urlsplit

    host = (urlsplit(url.strip()).hostname or "").rstrip(".")
    return host == "invalid" or host.endswith(".invalid")
