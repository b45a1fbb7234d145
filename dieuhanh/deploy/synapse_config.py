"""Synapse's configuration for the worker profile.

The shared ``homeserver.yaml`` starts from the embedded stack's own settings (the same
writer, so the security-relevant ones — no password database, no registration, no
federation, fixed display names, the rate limits — are the same in both profiles) and
changes only what a multi-process deployment needs: PostgreSQL, Redis, listeners,
instance map, stream writers, metrics, TURN, and secrets read from files.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml

from dieuhanh.deploy import routes
from dieuhanh.deploy.answers import Answers, Layout, PostgresServer, Process, RedisServer
from dieuhanh.embedded.synapse import log_settings, write_synapse_config

#: Settings of the embedded profile this one replaces (every other one is kept).
REPLACED = (
    "pid_file",
    "listeners",
    "database",
    "log_config",
    "media_store_path",
    "signing_key_path",
    "registration_shared_secret",
    "public_baseurl",
    "enable_metrics",
    "app_service_config_files",
    "modules",
)


def embedded_settings(server_name: str, public_baseurl: str) -> dict[str, Any]:
    """The embedded stack's homeserver.yaml for this server, as a mapping."""
    with tempfile.TemporaryDirectory(prefix="dieuhanh-embedded-") as tmp:
        files = write_synapse_config(
            Path(tmp),
            server_name=server_name,
            port=8008,
            registration_shared_secret="unused",
            public_baseurl=public_baseurl,
        )
        return yaml.safe_load(files.config_path.read_text(encoding="utf-8"))


def shared_config(answers: Answers, procs: list[Process]) -> dict[str, Any]:
    """The homeserver.yaml every process reads (the main process needs nothing else)."""
    layout = Layout(answers)
    main = routes.main_process(procs)
    public = answers.public_url.rstrip("/") + "/"
    settings = embedded_settings(answers.server_name, public)
    for key in REPLACED:
        settings.pop(key, None)
    settings.update(
        {
            "public_baseurl": public,
            "pid_file": str(answers.var_dir / "synapse" / "main.pid"),
            "listeners": _listeners(answers, main),
            "database": database(answers),
            "log_config": str(layout.log_config(main.name)),
            "media_store_path": str(layout.media),
            "signing_key_path": str(layout.secret("signing.key")),
            "registration_shared_secret_path": str(layout.secret("registration_shared_secret")),
            "macaroon_secret_key_path": str(layout.secret("macaroon_secret_key")),
            "form_secret_path": str(layout.secret("form_secret")),
            "worker_replication_secret_path": str(layout.secret("worker_replication_secret")),
            "app_service_config_files": [str(layout.appservice_yaml)],
            "enable_metrics": True,
            "redis": redis(answers),
            "instance_map": routes.instance_map(procs, answers.bind_host),
            "stream_writers": routes.stream_writers(procs),
            **routes.background_duties(procs),
        }
    )
    settings.update(turn(answers))
    return settings


def _listeners(answers: Answers, main: Process) -> list[dict[str, Any]]:
    host = [answers.bind_host]
    assert main.client_port is not None
    return [
        {
            "port": main.client_port,
            "bind_addresses": host,
            "type": "http",
            "tls": False,
            # only nginx on this machine connects; our login caps need the client's address
            "x_forwarded": True,
            "resources": [{"names": ["client"], "compress": False}],
        },
        _replication_listener(answers, main),
        _metrics_listener(answers, main),
    ]


def _replication_listener(answers: Answers, proc: Process) -> dict[str, Any]:
    return {
        "port": proc.replication_port,
        "bind_addresses": [answers.bind_host],
        "type": "http",
        "resources": [{"names": ["replication"]}],
    }


def _metrics_listener(answers: Answers, proc: Process) -> dict[str, Any]:
    return {"port": proc.metrics_port, "bind_addresses": [answers.bind_host], "type": "metrics"}


def database(answers: Answers) -> dict[str, Any]:
    """Synapse on PostgreSQL; the password, if any, from the pgpass file (libpq's passfile)."""
    server = PostgresServer.parse(answers.postgres_url)
    args: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "database": answers.synapse_database,
        "cp_min": 5,
        "cp_max": 10,
    }
    if server.password:
        args["passfile"] = str(Layout(answers).pgpass)
    return {"name": "psycopg2", "txn_limit": 10000, "args": args}


def redis(answers: Answers) -> dict[str, Any]:
    """Replication between the processes. Synapse names its pub/sub channels after the
    server name; ``dbid`` separates its cache keys from other users of the same Redis."""
    server = RedisServer.parse(answers.redis_url)
    settings: dict[str, Any] = {
        "enabled": True,
        "host": server.host,
        "port": server.port,
        "dbid": server.dbid,
    }
    if server.password:
        settings["password_path"] = str(Layout(answers).secret("redis_password"))
    return settings


def turn(answers: Answers) -> dict[str, Any]:
    """Element's 1:1 calls: coturn's addresses and the shared secret Synapse signs
    time-limited credentials with (coturn's ``use-auth-secret``)."""
    t = answers.turn
    if not t.enabled:
        return {}
    host = answers.turn_host
    uris = [
        f"turns:{host}:{t.tls_port}?transport=udp",
        f"turns:{host}:{t.tls_port}?transport=tcp",
        f"turn:{host}:{t.port}?transport=udp",
        f"turn:{host}:{t.port}?transport=tcp",
    ]
    return {
        "turn_uris": uris,
        "turn_shared_secret_path": str(Layout(answers).secret("turn_shared_secret")),
        "turn_user_lifetime": t.user_lifetime,
        "turn_allow_guests": False,
    }


def worker_config(answers: Answers, proc: Process) -> dict[str, Any]:
    """One worker's own file: its name, listeners and log."""
    listeners = [_replication_listener(answers, proc), _metrics_listener(answers, proc)]
    if proc.client_port is not None:
        listeners.insert(
            0,
            {
                "port": proc.client_port,
                "bind_addresses": [answers.bind_host],
                "type": "http",
                "tls": False,
                "x_forwarded": True,
                "resources": [{"names": ["client"], "compress": False}],
            },
        )
    return {
        "worker_app": "synapse.app.generic_worker",
        "worker_name": proc.name,
        "worker_listeners": listeners,
        "worker_log_config": str(Layout(answers).log_config(proc.name)),
    }


def log_config(answers: Answers, proc: Process) -> dict[str, Any]:
    """INFO to a rotating file per process, as the embedded Synapse logs."""
    return log_settings(answers.log_dir / f"synapse-{proc.name}.log", max_bytes=50_000_000)
