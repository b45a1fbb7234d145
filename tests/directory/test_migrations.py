"""Each package migrates its own tables with its own version table; a database migrated
when one chain (0001…0005) held every table is adopted without losing anything."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from bot import db as bot_db
from dieuhanh.db import migrate_all
from provisioning.db.engine import MIGRATIONS, VERSIONS
from provisioning.db.models import AccountActivityCopy

VERSION_TABLES = ("alembic_version", "bot_alembic_version", "bridge_alembic_version")


def _head(versions) -> str:
    """The newest revision of a package's chain (its migrations folder)."""
    cfg = AlembicConfig()
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("version_locations", str(versions))
    return ScriptDirectory.from_config(cfg).get_current_head()


BOT_HEAD = _head(bot_db.MIGRATIONS)
DIRECTORY_HEAD = _head(VERSIONS)
#: The directory's 0003 onwards (after the split), which no database of the old chain holds;
#: children before the tables they refer to.
FAMILY_TABLES = (
    "sms_budget_usage", "sms_messages",
    "contact_requests", "person_imports", "contact_changes",
    "account_activity_copy", "account_activity", "family_accounts", "term_results",
    "attendance", "marks", "student_parents", "parents", "students", "classes",
)  # fmt: skip
#: The bot's revision the single old chain had reached when it was split (its 0005).
BOT_AT_SPLIT = "0005"


def bot_downgrade(engine, revision: str) -> None:
    """Take the bot's chain back to ``revision`` (what a database of that time held)."""
    cfg = AlembicConfig()
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("version_locations", str(bot_db.MIGRATIONS))
    cfg.attributes.update(engine=engine, version_table=bot_db.VERSION_TABLE, metadata=None)
    command.downgrade(cfg, revision)


def versions(engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        return {
            t: conn.scalar(text(f"SELECT version_num FROM {t}")) if t in present else None
            for t in VERSION_TABLES
        }


def test_every_package_has_its_own_chain(engine):
    assert versions(engine) == {
        "alembic_version": DIRECTORY_HEAD,
        "bot_alembic_version": BOT_HEAD,
        "bridge_alembic_version": "0005",
    }
    migrate_all(engine)  # a second run changes nothing
    assert versions(engine)["bot_alembic_version"] == BOT_HEAD


@pytest.mark.parametrize(
    ("legacy", "dropped", "expected"),
    [
        ("0005", [], {"bot_alembic_version": BOT_HEAD, "bridge_alembic_version": "0005"}),
        ("0004", ["bridge"], {"bot_alembic_version": BOT_HEAD, "bridge_alembic_version": "0005"}),
        (
            "0003",
            ["bridge", "directives"],
            {"bot_alembic_version": BOT_HEAD, "bridge_alembic_version": "0005"},
        ),
    ],
)
def test_a_database_of_the_single_old_chain_is_adopted(engine, legacy, dropped, expected):
    bot_downgrade(engine, BOT_AT_SPLIT)  # what came after the split was never in the old chain
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO units (code, name, kind, active) VALUES ('so', 'Sở', "
                          "'department', true)"))  # fmt: skip
        conn.execute(
            text("INSERT INTO bot_events (event_id, room_id, handled_at) "
                 "VALUES ('$e', '!r', CURRENT_TIMESTAMP)")
        )  # fmt: skip
        for name in FAMILY_TABLES:
            conn.execute(text(f"DROP TABLE {name}"))
        tables = inspect(conn).get_table_names()
        # children before the tables they refer to (SQLite checks foreign keys on DROP)
        ordered = [n for n, _ in reversed(inspect(conn).get_sorted_table_and_fkc_names()) if n]
        for name in [n for n in ordered if n not in VERSION_TABLES]:  # the old chain's tables
            if (
                name == "bot_state"  # the old chain never had it
                or ("bridge" in dropped and name.startswith("bridge_"))
                or (
                    "directives" in dropped
                    and (name.startswith("directive") or name == "room_receipts")
                )
            ):
                conn.execute(
                    text(f"DROP TABLE {name} CASCADE" if _pg(conn) else f"DROP TABLE {name}")
                )
        conn.execute(text("DROP TABLE bot_alembic_version"))
        if "bridge_alembic_version" in tables:
            conn.execute(text("DROP TABLE bridge_alembic_version"))
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": legacy})
    migrate_all(engine)
    assert versions(engine) == {"alembic_version": DIRECTORY_HEAD, **expected}
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM units")) == 1
        assert conn.scalar(text("SELECT count(*) FROM bot_events")) == 1
        assert {"directives", "bridge_items"} <= set(inspect(conn).get_table_names())


def _pg(conn) -> bool:
    return conn.dialect.name == "postgresql"


def directory_to(engine, revision: str, *, down: bool = False) -> None:
    """Take the directory's chain to ``revision`` (up or down)."""
    cfg = AlembicConfig()
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("version_locations", str(VERSIONS))
    cfg.attributes.update(engine=engine, version_table="alembic_version", metadata=None)
    (command.downgrade if down else command.upgrade)(cfg, revision)


def test_the_activity_copys_time_moves_out_of_directory_state_and_back(engine):
    directory_to(engine, "0005", down=True)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO directory_state (key, value) VALUES ('activity_copied_at', :v)"),
            {"v": "2026-09-05T15:00:00+07:00"},
        )
    directory_to(engine, "0006")
    with engine.connect() as conn:
        row = conn.execute(select(AccountActivityCopy.id, AccountActivityCopy.copied_at)).one()
        left = conn.scalar(text("SELECT count(*) FROM directory_state WHERE key LIKE 'activity%'"))
    assert row == (1, dt.datetime(2026, 9, 5, 8, 0, tzinfo=dt.UTC)) and left == 0
    directory_to(engine, "0005", down=True)
    with engine.connect() as conn:
        back = conn.scalar(
            text("SELECT value FROM directory_state WHERE key = 'activity_copied_at'")
        )
        assert "account_activity_copy" not in inspect(conn).get_table_names()
    assert dt.datetime.fromisoformat(back) == dt.datetime(2026, 9, 5, 8, 0, tzinfo=dt.UTC)


def test_sms_left_sending_before_0009_get_a_claim_time_and_unknown_goes_back(engine):
    directory_to(engine, "0008", down=True)
    at = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO units (code, name, kind, active) VALUES ('s1', 'S', 'school', true)")
        )
        conn.execute(
            text(
                "INSERT INTO people (code, full_name, name_key, active) "
                "VALUES ('P1', 'Nguyễn Văn An', 'nguyen van an', true)"
            )
        )
        for status in ("sending", "accepted"):
            conn.execute(
                text(
                    "INSERT INTO sms_messages (kind, ref, person_id, unit_id, month, phone, text,"
                    " segments, status, \"by\", created_at) SELECT 'fallback', :s, p.id, u.id,"
                    " '2026-12', '+84912345678', 'x', 1, :s, 'cli', :at FROM people p, units u"
                ),
                {"s": status, "at": at},
            )
    directory_to(engine, "0009")  # those "sending" were claimed when queued at the latest
    with engine.begin() as conn:
        claimed = dict(
            conn.execute(text("SELECT status, claimed_at = created_at FROM sms_messages")).all()
        )
        conn.execute(text("UPDATE sms_messages SET status = 'unknown' WHERE ref = 'sending'"))
    assert {s: bool(c) if c is not None else None for s, c in claimed.items()} == {
        "sending": True,
        "accepted": None,
    }
    directory_to(engine, "0008", down=True)  # the old code knows no "unknown"
    with engine.connect() as conn:
        statuses = sorted(conn.scalars(text("SELECT status FROM sms_messages")))
        columns = {c["name"] for c in inspect(conn).get_columns("sms_messages")}
    assert statuses == ["accepted", "sending"] and "claimed_at" not in columns
