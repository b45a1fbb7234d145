"""The bot's tables, one module per table (its SQLAlchemy table class, a dataclass for a
row, and the queries on it, as coroutines that run off the event loop):

- ``event``: answered events;        - ``state``: the bot's key/value state (sync token);
- ``directive``: directives;         - ``delivery``: their deliveries;
- ``recipient``: their recipients;   - ``receipt``: read receipts;
- ``draft``: !gui drafts;              - ``reminder``: timed actions of directives;
- ``answer``: answers to invitations; - ``submission``: replies to report requests;
- ``schedule``: lịch công tác (work schedules);
- ``follow``, ``seen``, ``notice``: parents' summaries of new marks (``!theodoi``);
- ``family``, ``learning``: reads of the directory's families' tables (no table of ours).
- ``family_recipient``: parents and students a post went to.

Their migrations are in ``migrations/``, with their own version table.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "bot_alembic_version"


def upgrade(engine: Engine) -> None:
    """Migrate the bot's tables to the newest schema (the directory's must be there)."""
    from bot.db import (  # noqa: F401 - every table
        answer,
        delivery,
        directive,
        draft,
        event,
        family_recipient,
        follow,
        notice,
        receipt,
        recipient,
        reminder,
        schedule,
        seen,
        state,
        submission,
    )
    from provisioning.db.engine import migrate
    from provisioning.db.models import Base

    migrate(engine, MIGRATIONS, VERSION_TABLE, Base.metadata)
