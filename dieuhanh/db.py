"""The application's database: the directory and the services' tables, each package's
chain of migrations run in turn (see ``provisioning.db.engine``)."""

from __future__ import annotations

from sqlalchemy import Engine

from bot import db as bot_db
from bridge import db as bridge_db
from provisioning.db.engine import make_engine, upgrade


def migrate_all(engine: Engine) -> None:
    """Bring every package's tables to the newest schema (the directory's first)."""
    upgrade(engine)
    bot_db.upgrade(engine)
    bridge_db.upgrade(engine)


def open_database(url: str) -> Engine:
    """The database at ``url`` with every table migrated."""
    engine = make_engine(url)
    migrate_all(engine)
    return engine
