"""The bridge's tables (``models``), their queries (``store``) and their migrations
(``migrations/``, own version table)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "bridge_alembic_version"


def upgrade(engine: Engine) -> None:
    """Migrate the bridge's tables to the newest schema."""
    from bridge.db import models
    from provisioning.db.engine import migrate

    migrate(engine, MIGRATIONS, VERSION_TABLE, models.Base.metadata)
