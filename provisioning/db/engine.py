"""Open the database (SQLite by default, PostgreSQL by URL) and migrate its schema.

One database holds the directory and the services' own tables. Each package owns its
tables and a chain of migrations with its own version table, as mautrix bridges do:

- the directory (``provisioning/db/migrations/versions``, table ``alembic_version``);
- the bot (``bot/db/migrations``, ``bot_alembic_version``);
- the bridge (``bridge/db/migrations``, ``bridge_alembic_version``).

Every chain runs in the same Alembic environment (``provisioning/db/migrations/env.py``).
The application (``dieuhanh.db``) migrates all three; the directory's own tools migrate
just the directory.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, MetaData, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url

from provisioning.db.models import Base, Person, Unit

MIGRATIONS = Path(__file__).with_name("migrations")
VERSIONS = MIGRATIONS / "versions"
VERSION_TABLE = "alembic_version"

#: Before each package had its own chain, one linear chain (0001…0005) held every table.
#: A database migrated then is adopted: its directory stays at 0002 and the services'
#: chains are stamped where the old chain had taken them. The directory's own 0003 onwards
#: reuse those numbers; such a database holds ``_SINCE_SPLIT`` (the old chain never did).
_LEGACY = {
    "0003": {"bot_alembic_version": "0003"},
    "0004": {"bot_alembic_version": "0004"},
    "0005": {"bot_alembic_version": "0004", "bridge_alembic_version": "0005"},
}
_SINCE_SPLIT = "students"  # created by the directory's 0003


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


def migrate(
    engine: Engine, versions: Path, version_table: str, metadata: MetaData | None = None
) -> None:
    """Run one package's chain of migrations (in ``versions``) to its head."""
    cfg = AlembicConfig()
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("version_locations", str(versions))
    cfg.attributes.update(engine=engine, version_table=version_table, metadata=metadata)
    command.upgrade(cfg, "head")


def upgrade(engine: Engine) -> None:
    """Migrate the directory's own tables (adopting a database of the single old chain)."""
    _adopt_legacy_chain(engine)
    migrate(engine, VERSIONS, VERSION_TABLE, Base.metadata)


def open_directory(url: str, *, migrate: bool = True) -> Engine:
    """The database at ``url`` with the directory's tables migrated unless told otherwise.

    The services' tables are migrated by the application (``dieuhanh.db.open_database``).
    """
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


def _adopt_legacy_chain(engine: Engine) -> None:
    with engine.begin() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return
        current = conn.scalar(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        stamps = _LEGACY.get(current or "")
        if stamps is None or inspect(conn).has_table(_SINCE_SPLIT):
            return
        for table, revision in stamps.items():
            conn.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {table} (version_num VARCHAR(32) NOT NULL, "
                    f"CONSTRAINT {table}_pkc PRIMARY KEY (version_num))"
                )
            )
            conn.execute(text(f"DELETE FROM {table}"))
            conn.execute(text(f"INSERT INTO {table} (version_num) VALUES (:v)"), {"v": revision})
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '0002'"))
