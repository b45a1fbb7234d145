"""The bot's tables (``models``) and their migrations (``migrations/``, own version table)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "bot_alembic_version"


def upgrade(engine: Engine) -> None:
    """Migrate the bot's tables to the newest schema (the directory's must be there)."""
    from bot.db import models
    from provisioning.db.engine import migrate

    migrate(engine, MIGRATIONS, VERSION_TABLE, models.Base.metadata)
