"""A laid-out Synapse started, made ready and stopped: one helper for every caller.

``dieuhanh up`` supervises Synapse itself (it restarts a crashed child) and uses
``ensure_admin``; the test fixture and the benchmarks, which only need a Synapse for
as long as a block runs, use ``running_synapse``.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dieuhanh.embedded import accounts
from dieuhanh.embedded.datadir import (
    ADMIN_LOCALPART,
    EmbeddedSetup,
    store_admin_token,
    stored_admin_token,
)
from dieuhanh.embedded.files import tail
from dieuhanh.embedded.synapse import (
    start_synapse,
    stop_process,
    wait_for_background_updates,
    wait_until_ready,
)

log = logging.getLogger(__name__)

#: The admin account's display name, as Element shows it.
ADMIN_DISPLAYNAME = "Quản trị"


@dataclass
class RunningSynapse:
    """A Synapse started from a data directory, answering, with its admin logged in."""

    setup: EmbeddedSetup
    process: subprocess.Popen
    admin: accounts.Session
    #: seconds from start until it answered /_matrix/client/versions
    start_seconds: float


def ensure_admin(setup: EmbeddedSetup, *, keep_token: bool = False) -> accounts.Session:
    """The admin account (created once, with the data directory's password), logged in.

    With ``keep_token`` (as ``up`` does) a valid token kept in the data directory is
    reused, and a new one is kept there for provisioning.
    """
    token = stored_admin_token(setup.data) if keep_token else None
    session = accounts.ensure_account(
        setup.synapse.base_url,
        setup.config.homeserver.registration_shared_secret,
        ADMIN_LOCALPART,
        setup.data.admin_password_path.read_text(encoding="utf-8").strip(),
        admin=True,
        token=token,
        displayname=ADMIN_DISPLAYNAME,
    )
    if keep_token and session.access_token != token:
        store_admin_token(setup, session.access_token)
        log.info("admin token for %s stored in %s", session.user_id, setup.data.admin_token_path)
    return session


@contextlib.contextmanager
def running_synapse(setup: EmbeddedSetup, *, timeout: float = 120.0) -> Iterator[RunningSynapse]:
    """Start ``setup``'s Synapse, wait until it answers (``timeout`` s), ensure the admin
    and wait for the schema's background updates; stop it when the block ends.

    Synapse's output goes to ``stdout.log`` in its config directory; a failed start
    raises SynapseStartError with its tail.
    """
    output_path = setup.synapse.config_dir / "stdout.log"
    with output_path.open("wb") as output:
        process = start_synapse(setup.synapse, output)
    try:
        took = wait_until_ready(
            setup.synapse, timeout=timeout, exited=process.poll, output=lambda: tail(output_path)
        )
        admin = ensure_admin(setup)
        wait_for_background_updates(setup.synapse)
        yield RunningSynapse(setup, process, admin, took)
    finally:
        stop_process(process)


@contextlib.contextmanager
def fresh_postgres_database(server_url: str, prefix: str = "dieuhanh_synapse") -> Iterator[dict]:
    """A fresh, C-collated database for Synapse on ``server_url``, dropped at the end.

    Yields Synapse's ``database`` setting for it (put it in conf.d before starting).
    """
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            f"CREATE DATABASE {name} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        )
    args: dict[str, Any] = {
        "host": info.get("host") or "127.0.0.1",
        "port": int(info.get("port") or 5432),
        "user": info.get("user") or "postgres",
        "database": name,
        "cp_min": 5,
        "cp_max": 10,
    }
    if info.get("password"):
        args["password"] = info["password"]
    try:
        yield {"name": "psycopg2", "args": args}
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
