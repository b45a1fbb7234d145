"""The bot's tables: times come back aware in UTC, and the sync token moved to the bot's
own table without being lost."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from bot import db as bot_db
from bot.db.directive import Directive
from bot.db.draft import Draft
from bot.db.event import AnsweredEvent
from bot.db.state import BotState
from dieuhanh.db import migrate_all
from provisioning.db import engine as engine_module


async def test_times_come_back_aware_in_utc(engine):
    before = dt.datetime.now(dt.UTC)
    await Draft.save(engine, "@a:test", "!dm:test", {"step": 1})
    await AnsweredEvent.record(engine, "!dm:test", "$one")
    await AnsweredEvent.record(engine, "!dm:test", "$one")  # a replay: recorded once
    draft = await Draft.get(engine, "@a:test", "!dm:test")
    answered = await AnsweredEvent.get(engine, "$one")
    assert draft is not None and draft.state == {"step": 1}
    assert answered is not None
    for value in (draft.updated_at, answered.handled_at):
        assert value.utcoffset() == dt.timedelta(0)
        assert value >= before - dt.timedelta(seconds=1)
    assert await Draft.expired(engine, dt.timedelta(minutes=30)) == []


def downgrade_bot(engine, revision: str) -> None:
    """The bot's tables taken back to ``revision`` by its migrations' downgrades."""
    cfg = AlembicConfig()
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("script_location", str(engine_module.MIGRATIONS))
    cfg.set_main_option("version_locations", str(bot_db.MIGRATIONS))
    cfg.attributes.update(engine=engine, version_table=bot_db.VERSION_TABLE, metadata=None)
    command.downgrade(cfg, revision)


async def test_the_sync_token_moves_to_the_bots_own_table(engine):
    downgrade_bot(engine, "0004")  # a database of bot revision 0004: the token in the directory's
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO directory_state (key, value) VALUES ('bot.sync_token', 's42_7_0')")
        )
    migrate_all(engine)
    saved = await BotState.get(engine, BotState.SYNC_TOKEN)
    assert saved is not None and saved.value == "s42_7_0"
    with engine.connect() as conn:
        assert "bot_state" in inspect(conn).get_table_names()
        left = conn.scalar(text("SELECT count(*) FROM directory_state WHERE key LIKE 'bot.%'"))
    assert left == 0
    await BotState.put(engine, BotState.SYNC_TOKEN, "s43_7_0")
    saved = await BotState.get(engine, BotState.SYNC_TOKEN)
    assert saved is not None and saved.value == "s43_7_0"


def test_the_bot_migrations_match_its_models(engine):
    import bot.db
    from provisioning.db.models import Base

    for module in pkgutil.iter_modules(bot.db.__path__):  # every table module
        importlib.import_module(f"bot.db.{module.name}")
    bot_tables = {
        "bot_events",
        "bot_state",
        "room_receipts",
        "work_schedules",
        *(name for name in Base.metadata.tables if name.startswith("directive")),
    }
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        indexes = {i["name"] for i in inspect(conn).get_indexes("directive_reminders")}
    assert [d for d in diff if any(t in repr(d) for t in bot_tables)] == []
    assert "ix_directive_reminders_sent_at_due_at" in indexes  # the scheduler's lookup


async def test_directives_sent_before_0006_stay_messages_and_can_be_searched(engine):
    downgrade_bot(engine, "0005")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO people (code, full_name, name_key, active) "
                "VALUES ('P1', 'Nguyễn Văn An', 'nguyen van an', true)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO directives (code, sender_person_id, sender_user_id, body, "
                "attachments, selection, status, created_at) VALUES ('K7QMA', "
                "(SELECT id FROM people WHERE code = 'P1'), '@p1:test', 'Họp Giao Ban', '[]', "
                "'{}', 'sent', :at)"
            ),
            {"at": dt.datetime(2026, 12, 1, tzinfo=dt.UTC)},
        )
    migrate_all(engine)
    directive = await Directive.by_code(engine, "K7QMA")
    assert directive is not None
    assert (directive.kind, directive.fields, directive.urgent) == ("message", {}, False)
    assert directive.search_text == "hop giao ban" and directive.scheduled_for is None
