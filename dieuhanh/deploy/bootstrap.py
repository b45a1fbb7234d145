"""First-start jobs of a deployment: the databases, the login module's database role,
the admin account and its token.

``dieuhanh deploy bootstrap`` (the systemd unit dieuhanh-bootstrap.service) and the local
run share them. Each is idempotent.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from dieuhanh.deploy.answers import Answers, Layout, PostgresServer
from dieuhanh.embedded import accounts
from dieuhanh.embedded.datadir import ADMIN_LOCALPART
from dieuhanh.embedded.files import SECRET_MODE, write_if_changed
from dieuhanh.embedded.synapse import probe

log = logging.getLogger(__name__)

#: All that Synapse's login module may do in the directory's database (identity/activity.py).
ACTIVITY_TABLES = ("account_activity", "account_activity_copy")
ACTIVITY_PRIVILEGES = "SELECT, INSERT, UPDATE"


class BootstrapError(RuntimeError):
    """A first-start job that cannot be done (the message is in Vietnamese)."""


def _connect(answers: Answers, database: str, **kwargs):
    import psycopg

    pg = PostgresServer.parse(answers.postgres_url)
    return psycopg.connect(
        host=pg.host,
        port=pg.port,
        user=pg.user,
        password=pg.password,
        dbname=database,
        **kwargs,
    )


def ensure_databases(answers: Answers) -> list[str]:
    """Create Synapse's database (UTF-8, C collation, as Synapse requires) and the
    directory's, when missing; the names created."""
    created = []
    with _connect(answers, "postgres", autocommit=True) as conn:
        existing = {r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()}
        wanted = [
            (
                answers.synapse_database,
                "ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
            ),
            (answers.directory_database, "ENCODING 'UTF8' TEMPLATE template0"),
        ]
        for name, options in wanted:
            if name not in existing:
                conn.execute(f'CREATE DATABASE "{name}" {options}')
                created.append(name)
    return created


def drop_databases(answers: Answers) -> None:
    """Drop both databases and the login module's role (tests and benchmarks clean up
    with it)."""
    from psycopg import sql

    with _connect(answers, "postgres", autocommit=True) as conn:
        for name in (answers.synapse_database, answers.directory_database):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(
            sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(answers.activity_role))
        )


def ensure_activity_role(answers: Answers) -> None:
    """The role Synapse's login module logs in as (``answers.activity_role``, its password
    in secrets/activity_db_password): it may read and write ``account_activity`` and
    ``account_activity_copy``, and nothing else — Synapse faces the network, the directory
    holds staff phones and children's marks. Run after the migrations (the tables must
    exist); every run sets the password and the grants again."""
    import psycopg
    from psycopg import sql

    role = sql.Identifier(answers.activity_role)
    password = _read(Layout(answers).secret("activity_db_password"))
    try:
        with _connect(answers, answers.directory_database, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (answers.activity_role,)
            ).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(
                    verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}"
                ).format(role, sql.Literal(password))
            )
            database = sql.Identifier(answers.directory_database)
            tables = sql.SQL(", ").join(sql.Identifier(t) for t in ACTIVITY_TABLES)
            for statement in (
                "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
                "GRANT CONNECT ON DATABASE {database} TO {role}",
                "GRANT USAGE ON SCHEMA public TO {role}",
                "GRANT " + ACTIVITY_PRIVILEGES + " ON {tables} TO {role}",
            ):
                conn.execute(sql.SQL(statement).format(role=role, database=database, tables=tables))
    except psycopg.errors.InsufficientPrivilege:
        raise BootstrapError(
            f"Người dùng PostgreSQL trong địa chỉ đã khai không được tạo vai trò "
            f"{answers.activity_role}: cấp cho nó quyền CREATEROLE rồi chạy lại."
        ) from None
    log.info("role %s may use %s only", answers.activity_role, ", ".join(ACTIVITY_TABLES))


def wait_for_homeserver(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe(url):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the homeserver did not answer on {url} within {timeout:.0f} s")
        time.sleep(0.2)


def background_updates_pending(answers: Answers) -> int:
    """Synapse's schema background updates still to run (its PostgreSQL database)."""
    with _connect(answers, answers.synapse_database) as conn:
        try:
            return conn.execute("SELECT count(*) FROM background_updates").fetchone()[0]
        except Exception:
            return 0


def wait_for_background_updates(answers: Answers, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while background_updates_pending(answers) and time.monotonic() < deadline:
        time.sleep(0.5)


def ensure_admin(answers: Answers) -> accounts.Session:
    """Create the admin account once; keep a valid access token in secrets/admin_token."""
    layout = Layout(answers)
    token_path = layout.secret("admin_token")
    stored = token_path.read_text(encoding="utf-8").strip() if token_path.exists() else None
    session = accounts.ensure_account(
        answers.internal_url,
        _read(layout.secret("registration_shared_secret")),
        ADMIN_LOCALPART,
        _read(layout.secret("admin_password")),
        admin=True,
        token=stored or None,
        displayname="Quản trị",
    )
    if session.access_token != stored:
        write_if_changed(token_path, session.access_token + "\n", SECRET_MODE)
        log.info("admin token for %s stored in %s", session.user_id, token_path)
    return session


def migrate_directory(answers: Answers) -> None:
    """Bring the directory's and our services' tables to the newest schema."""
    from dieuhanh.config import load_config
    from dieuhanh.db import open_database

    config = load_config(Layout(answers).config_yaml)
    open_database(config.database.url).dispose()


def bootstrap(answers: Answers, *, timeout: float = 120.0) -> accounts.Session:
    """Everything a first start needs once Synapse runs; safe to run at every start."""
    wait_for_homeserver(answers.internal_url, timeout)
    migrate_directory(answers)
    ensure_activity_role(answers)
    session = ensure_admin(answers)
    wait_for_background_updates(answers, timeout)
    return session


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()
