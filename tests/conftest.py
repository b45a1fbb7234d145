"""Shared fixtures: a real Synapse, configured exactly as ``dieuhanh up`` configures it.

The ``synapse`` fixture lays out a data directory with the same code as
``up`` (dieuhanh.embedded.datadir), starts Synapse from the installed
package on a free loopback port, registers an admin, and stops it at the end
of the session. It is synchronous, so any test style can use it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.config import BridgeConfig
from dieuhanh.embedded import accounts
from dieuhanh.embedded.datadir import EmbeddedSetup, init_data_dir
from dieuhanh.embedded.ports import free_port
from dieuhanh.embedded.server import fresh_postgres_database
from dieuhanh.embedded.server import running_synapse as embedded_synapse

#: Tests only: cheap password hashing (up keeps Synapse's default of 12 rounds).
TEST_OVERRIDES = "# Test suite only.\nbcrypt_rounds: 4\n"

#: A PostgreSQL server for the tests that run on it too (CI sets it), e.g.
#: postgresql://postgres@127.0.0.1:5432/test — only used to create and drop databases.
POSTGRES_URL = os.environ.get("DIEUHANH_TEST_POSTGRES_URL")
#: The databases a Synapse-backed test can be parametrized over: SQLite always,
#: PostgreSQL when the server is named.
SYNAPSE_DATABASES = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]

_start_seconds: list[float] = []


@dataclass
class SynapseServer:
    """A running Synapse for tests."""

    setup: EmbeddedSetup
    process: subprocess.Popen
    admin: accounts.Session
    start_seconds: float
    #: Synapse's ``database`` setting when it is not the data directory's SQLite file.
    database: dict[str, Any] | None = None

    @property
    def base_url(self) -> str:
        return self.setup.synapse.base_url

    @property
    def server_name(self) -> str:
        return self.setup.synapse.server_name

    @property
    def registration_shared_secret(self) -> str:
        return self.setup.config.homeserver.registration_shared_secret

    @property
    def admin_token(self) -> str:
        return self.admin.access_token

    @property
    def admin_user_id(self) -> str:
        return self.admin.user_id

    @property
    def appservice(self) -> BridgeConfig:
        """The registered appservice (the bridge): tokens, listen port, namespaces."""
        return self.setup.config.bridge

    @property
    def config_path(self) -> Path:
        """A config.yaml for our services, pointing at this Synapse."""
        return self.setup.data.config_path

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"

    def sql(self, statement: str, params: tuple = ()) -> list[tuple]:
        """Run one statement (``?`` placeholders) on Synapse's own database; its rows."""
        if self.database is None:
            import sqlite3

            with (
                contextlib.closing(
                    sqlite3.connect(self.setup.synapse.config_dir / "homeserver.db")
                ) as conn,
                conn,
            ):
                return conn.execute(statement, params).fetchall()
        import psycopg

        args = self.database["args"]
        with psycopg.connect(
            host=args["host"],
            port=args["port"],
            user=args["user"],
            password=args.get("password"),
            dbname=args["database"],
            autocommit=True,
        ) as conn:
            cursor = conn.execute(statement.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

    def register_user(
        self,
        localpart: str | None = None,
        password: str | None = None,
        *,
        admin: bool = False,
        displayname: str | None = None,
    ) -> accounts.Session:
        """Create an account with the shared secret (a fresh localpart if none is given)."""
        return accounts.register(
            self.base_url,
            self.registration_shared_secret,
            localpart or f"u{secrets.token_hex(6)}",
            password or secrets.token_urlsafe(12),
            admin=admin,
            displayname=displayname,
        )

    def api(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """One JSON call, as the admin unless another token is given."""
        return accounts.call(self.base_url, method, path, body, token=token or self.admin_token)


@contextlib.contextmanager
def running_synapse(
    root: Path,
    edit_config: Callable[[dict[str, Any]], None] | None = None,
    *,
    database: str = "sqlite",
) -> Iterator[SynapseServer]:
    """A Synapse laid out like ``up`` lays it out, running until the block ends.

    ``edit_config`` may change our config.yaml (e.g. the SMS gateway) before Synapse's
    configuration is written from it. ``database="postgresql"`` runs it on a fresh
    database of the ``DIEUHANH_TEST_POSTGRES_URL`` server (set in conf.d, as an admin
    would), dropped afterwards.
    """
    with contextlib.ExitStack() as stack:
        overrides, settings = TEST_OVERRIDES, None
        if database == "postgresql":
            assert POSTGRES_URL, "DIEUHANH_TEST_POSTGRES_URL is not set"
            settings = stack.enter_context(fresh_postgres_database(POSTGRES_URL))
            overrides += yaml.safe_dump({"database": settings}, sort_keys=False)
        elif database != "sqlite":
            raise ValueError(f"unknown database {database!r}")
        server = stack.enter_context(_running_synapse(root, edit_config, overrides))
        server.database = settings
        yield server


@contextlib.contextmanager
def _running_synapse(
    root: Path, edit_config: Callable[[dict[str, Any]], None] | None, overrides: str
) -> Iterator[SynapseServer]:
    setup = init_data_dir(root, free_port())
    raw = yaml.safe_load(setup.data.config_path.read_text(encoding="utf-8"))
    # ports of our own listeners picked at random: `up`'s defaults would be taken by the
    # first of several test sessions (xdist workers, other checkouts) on this machine
    raw["bridge"]["listen_port"], raw["web"]["listen_port"] = free_port(), free_port()
    if edit_config is not None:
        edit_config(raw)
    setup.data.config_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    setup = init_data_dir(root, setup.synapse.port)
    (setup.synapse.conf_d / "tests.yaml").write_text(overrides, encoding="utf-8")
    with embedded_synapse(setup) as running:
        _start_seconds.append(running.start_seconds)
        yield SynapseServer(setup, running.process, running.admin, running.start_seconds)


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    """A Synapse started once per session from ``up``'s own configuration."""
    with running_synapse(tmp_path_factory.mktemp("embedded")) as server:
        yield server


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _start_seconds:
        terminalreporter.write_line(
            f"embedded Synapse answered /_matrix/client/versions {_start_seconds[0]:.1f} s "
            "after start"
        )
