"""What the bridge reads from the directory and from provisioning's mirror of Matrix.

- Units with a feed and a "Tin tức" room (``unit/<code>/news`` in ``matrix_rooms``): the
  feeds to poll, read fresh on every cycle (a few thousand rows at city scale).
- The tree and people (``load_view``), cached until the directory's revision changes.
- Who a Matrix user is (``matrix_accounts``), and a unit's managers (to mention them).

The bridge never creates rooms: a unit without a news room yet is simply not delivered to.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine, select

from provisioning.db.models import DirectoryState, MatrixAccount, MatrixRoom, Unit
from provisioning.domain import MANAGER_POSITIONS, TEAM_MANAGER_POSITIONS
from provisioning.matrix.layout import Purpose
from provisioning.matrix.layout import unit_room_key as _room_key
from provisioning.view import DirectoryView, PersonView, load_view
from provisioning.vocab import UnitKind

log = logging.getLogger(__name__)

NEWS_SUFFIX = f"/{Purpose.NEWS.value}"


def news_room_key(unit_code: str) -> str:
    return _room_key(unit_code, Purpose.NEWS)


class BridgeDirectory:
    def __init__(self, engine: Engine, *, check_interval: float = 2.0) -> None:
        self.engine = engine
        self.check_interval = check_interval
        self._view: DirectoryView | None = None
        self._revision: str | None = None
        self._checked = 0.0

    # ------------------------------------------------------------------ the tree

    def view(self) -> DirectoryView:
        """The directory, reloaded when its revision changed (checked every few seconds)."""
        now = time.monotonic()
        if self._view is not None and now - self._checked < self.check_interval:
            return self._view
        self._checked = now
        with self.engine.connect() as conn:
            revision = conn.scalar(
                select(DirectoryState.value).where(DirectoryState.key == "revision")
            )
        if self._view is None or revision != self._revision:
            self._view = load_view(self.engine)
            self._revision = revision
            log.debug("directory view loaded at revision %s", revision)
        return self._view

    def unit_name(self, unit_code: str) -> str:
        unit = self.view().by_code.get(unit_code)
        return unit.name if unit else unit_code

    # ------------------------------------------------------------------ rooms and feeds

    def news_rooms(self, unit_codes: list[str] | set[str] | None = None) -> dict[str, str]:
        """unit code → room id of its "Tin tức" room, for those that have one."""
        query = select(MatrixRoom.unit_code, MatrixRoom.room_id).where(
            MatrixRoom.purpose == Purpose.NEWS.value, MatrixRoom.room_id.is_not(None)
        )
        with self.engine.connect() as conn:
            if unit_codes is None:
                return dict(conn.execute(query).all())
            found: dict[str, str] = {}
            codes = sorted(set(unit_codes))
            for start in range(0, len(codes), 500):
                chunk = [news_room_key(c) for c in codes[start : start + 500]]
                found.update(conn.execute(query.where(MatrixRoom.key.in_(chunk))).all())
            return found

    def feed_sources(self) -> dict[str, str]:
        """unit code → feed URL, for active units that have both a feed and a news room."""
        rooms = self.news_rooms()
        with self.engine.connect() as conn:
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

    # ------------------------------------------------------------------ people

    def person_of_user(self, user_id: str) -> PersonView | None:
        with self.engine.connect() as conn:
            person_id = conn.scalar(
                select(MatrixAccount.person_id).where(
                    MatrixAccount.user_id == user_id, MatrixAccount.deactivated.is_(False)
                )
            )
        if person_id is None:
            return None
        return self.view().people.get(person_id)

    def user_ids(self, person_ids: list[int]) -> dict[int, str]:
        if not person_ids:
            return {}
        with self.engine.connect() as conn:
            return dict(
                conn.execute(
                    select(MatrixAccount.person_id, MatrixAccount.user_id).where(
                        MatrixAccount.person_id.in_(person_ids),
                        MatrixAccount.created.is_(True),
                        MatrixAccount.deactivated.is_(False),
                    )
                ).all()
            )

    def managers(self, unit_code: str) -> list[tuple[str, str]]:
        """(user id, name) of the unit's managers who have an account, by name."""
        view = self.view()
        unit = view.by_code.get(unit_code)
        if unit is None:
            return []
        wanted = TEAM_MANAGER_POSITIONS if unit.kind is UnitKind.TEAM else MANAGER_POSITIONS
        people = [
            view.people[pid]
            for pid, positions in view.active_people_in([unit.id]).items()
            if any(p in wanted for p in positions)
        ]
        accounts = self.user_ids([p.id for p in people])
        found = [(accounts[p.id], p.full_name) for p in people if p.id in accounts]
        return sorted(found, key=lambda m: m[1])


def _reserved(url: str) -> bool:
    """A host under the reserved ``.invalid`` TLD (RFC 6761), as the demo data uses: it can
    never resolve, so it is not polled (nor reported as failing)."""
    from urllib.parse import urlsplit

    host = (urlsplit(url.strip()).hostname or "").rstrip(".")
    return host == "invalid" or host.endswith(".invalid")
