"""The bridge's tables, one module per table (mautrix-telegram style): its SQLAlchemy table
class, a dataclass for one row (``_from_row``) and the queries that concern it, as (class)
methods that take the engine first.

- ``feed``           a unit's feed: validators, schedule, backoff, failure reporting
- ``item``           the news items seen (``NewsItem``)
- ``delivery``       one item into one room
- ``ghost``          the portals' ghost users and the rooms each is ready in
- ``media``          lead images uploaded once (``Image``)
- ``webhook_token``  portals' webhook tokens (hashed)
- ``admin_session``  sessions of the "Gửi thông báo" page (hashed)

``models`` imports them all for the metadata; ``migrations/`` has the chain (own version
table). As in ``bot.db``, every query is a coroutine that runs its SQL in a worker thread
(``provisioning.db.threads.in_thread``), so the event loop never waits for the database; a
query that is part of a larger transaction takes a connection and stays synchronous (its
name starts with an underscore).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, Row, Table

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "bridge_alembic_version"
#: Values per IN (…) list.
CHUNK = 500

T = TypeVar("T")


def upgrade(engine: Engine) -> None:
    """Migrate the bridge's tables to the newest schema."""
    from bridge.db import models
    from provisioning.db.engine import migrate

    migrate(engine, MIGRATIONS, VERSION_TABLE, models.Base.metadata)


def chunks(values: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``values`` in lists of at most ``size`` (for IN (…) lists)."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def columns(row: Row, table: Table, names: Iterable[str]) -> dict[str, Any]:
    """The named columns of ``table`` in ``row`` (also when the row joins other tables)."""
    mapping = row._mapping
    return {name: mapping[table.c[name]] for name in names}
