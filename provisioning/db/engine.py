"""Open the directory database (SQLite by default, PostgreSQL by URL) at the newest schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url

from provisioning.db.models import Person, Unit

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        url = str(parsed.set(drivername="postgresql+psycopg"))
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the schema to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def open_directory(url: str, *, migrate: bool = True) -> Engine:
    """The directory at ``url``, migrated to the newest schema unless told otherwise."""
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    return engine


def directory_is_empty(engine: Engine) -> bool:
    """True when the directory holds no unit and no person."""
    with engine.connect() as conn:
        units = conn.scalar(select(func.count()).select_from(Unit))
        people = conn.scalar(select(func.count()).select_from(Person))
    return not units and not people
