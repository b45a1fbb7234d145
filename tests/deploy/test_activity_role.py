"""Least privilege for Synapse: the login module's database URL reaches account_activity
and nothing else of the directory (staff phones, children's marks)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import psycopg
import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from dieuhanh.deploy import Answers, Secrets, generate, write_bundle
from dieuhanh.deploy import bootstrap as deploy_bootstrap
from dieuhanh.deploy.answers import Layout, PostgresServer
from provisioning.identity.activity import ActivityCopy, Row

from ..conftest import POSTGRES_URL
from .test_worker_profile import server_url

pytestmark = pytest.mark.postgres

NOW = dt.datetime(2026, 9, 5, 8, 0, tzinfo=dt.UTC)
#: tables the module may touch; every other table of the directory's database is closed
ALLOWED = {"account_activity", "account_activity_copy"}


@pytest.fixture
def deployment(tmp_path: Path):
    suffix = uuid.uuid4().hex[:10]
    answers = Answers(
        server_name="role.test",
        public_url="https://matrix.role.test",
        postgres_url=server_url(POSTGRES_URL or ""),
        synapse_database=f"dh_r_syn_{suffix}",
        directory_database=f"dh_r_dir_{suffix}",
        etc_dir=tmp_path / "etc",
        var_dir=tmp_path / "var",
        log_dir=tmp_path / "log",
    )
    write_bundle(generate(answers, Secrets.generate(), system=False))
    try:
        deploy_bootstrap.ensure_databases(answers)
        deploy_bootstrap.migrate_directory(answers)
        deploy_bootstrap.ensure_activity_role(answers)
        yield answers
    finally:
        deploy_bootstrap.drop_databases(answers)  # and the role


def module_url(answers: Answers) -> str:
    """The directory URL Synapse's login module is given (the modules file)."""
    modules = yaml.safe_load(Layout(answers).modules_yaml.read_text(encoding="utf-8"))
    return modules["modules"][0]["config"]["directory_database_url"]


def test_the_module_can_keep_account_activity(deployment):
    copy = ActivityCopy(module_url(deployment))
    copy.write({"@a:role.test": Row(NOW, NOW, 1)}, NOW, round_done=True)
    later = NOW + dt.timedelta(minutes=5)
    copy.write({"@a:role.test": Row(later, later, 2)}, later, round_done=True)  # an update
    copy.record_login("@b:role.test", later)
    assert copy.current() == {
        "@a:role.test": Row(NOW, later, 2),
        "@b:role.test": Row(later, None, 0),
    }
    copy.engine.dispose()


@pytest.mark.parametrize("table", ["people", "marks", "students", "directory_state"])
def test_the_module_cannot_read_the_rest_of_the_directory(deployment, table):
    engine = create_engine(module_url(deployment))
    try:
        with pytest.raises(ProgrammingError) as raised, engine.connect() as conn:
            conn.execute(text(f"SELECT * FROM {table}"))
        assert isinstance(raised.value.orig, psycopg.errors.InsufficientPrivilege)
    finally:
        engine.dispose()


def test_no_other_table_of_the_database_is_open_to_the_module(deployment):
    role = deployment.activity_role
    owner = create_engine(owner_url(deployment))
    try:
        with owner.connect() as conn:
            tables = conn.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).all()
            granted = {
                t
                for t in tables
                if conn.scalar(
                    text("SELECT has_table_privilege(:r, :t, 'SELECT,INSERT,UPDATE,DELETE')"),
                    {"r": role, "t": f'public."{t}"'},
                )
            }
    finally:
        owner.dispose()
    assert "people" in tables and "bot_alembic_version" in tables
    assert granted == ALLOWED


def owner_url(answers: Answers) -> str:
    """The owner's URL of the directory's database (what the bot and the bridge use)."""
    return PostgresServer.parse(answers.postgres_url).sqlalchemy_url(answers.directory_database)


def test_an_owner_who_may_not_create_roles_is_told_so(tmp_path):
    owner = f"dh_r_low_{uuid.uuid4().hex[:8]}"
    server = PostgresServer.parse(POSTGRES_URL or "")
    with psycopg.connect(POSTGRES_URL or "", autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{owner}" LOGIN NOCREATEROLE')
    try:
        answers = Answers(
            server_name="role.test",
            public_url="https://matrix.role.test",
            postgres_url=f"postgresql://{owner}@{server.host}:{server.port}",
            directory_database="postgres",
            etc_dir=tmp_path / "etc",
            var_dir=tmp_path / "var",
            log_dir=tmp_path / "log",
        )
        write_bundle(generate(answers, Secrets.generate(), system=False))
        with pytest.raises(deploy_bootstrap.BootstrapError, match="quyền CREATEROLE"):
            deploy_bootstrap.ensure_activity_role(answers)
    finally:
        with psycopg.connect(POSTGRES_URL or "", autocommit=True) as conn:
            conn.execute(f'DROP ROLE "{owner}"')


def test_a_dump_restores_on_a_server_without_the_role(deployment, tmp_path):
    """Grants are not restored (bootstrap makes them again at the next start): a server
    rebuilt from a backup has no ``…_activity`` role yet."""
    from dieuhanh.backup import Database, Sources, backup, restore_postgres

    server = server_url(POSTGRES_URL or "")
    source = Database("directory", "postgresql", f"{server}/{deployment.directory_database}")
    manifest = backup(Sources("deploy", databases=[source]), tmp_path / "saved")
    deploy_bootstrap.drop_databases(deployment)  # the role goes with them
    restore_postgres(
        tmp_path / "saved" / manifest["databases"][0]["file"],
        f"{server}/{deployment.directory_database}",
        synapse=False,
    )
    with psycopg.connect(f"{server}/{deployment.directory_database}") as conn:
        assert conn.execute("SELECT count(*) FROM account_activity").fetchone() == (0,)
