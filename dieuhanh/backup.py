"""Backups of a running system, and their restore on a fresh machine.

A backup is a directory: ``manifest.json``, ``trees/<name>/`` (files copied as they are,
SQLite databases among them copied with SQLite's online backup API, so each is
consistent while services write to it) and ``databases/<name>.dump`` (``pg_dump``'s
custom format, a consistent snapshot of each PostgreSQL database).

What is saved: the directory database, Synapse's database and media, the bot's store
(its device, olm sessions and cross-signing keys) and the secrets and configuration.
The directory is dumped before Synapse: a directory older than Synapse is what ``apply``
already handles (rooms and accounts are found again by alias and external id).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

FORMAT = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
#: Never copied: logs, locks, pids, SQLite's side files (the backup API covers them).
SKIPPED_SUFFIXES = (".log", ".out", ".pid", ".lock", "-wal", "-shm", "-journal", ".tmp")
SKIPPED_NAMES = {".lock", "ready.json", "demo"}


class BackupError(RuntimeError):
    """A backup or restore that cannot go on (the message is in Vietnamese)."""


@dataclass(frozen=True)
class Database:
    """One database to save: a SQLite file or a PostgreSQL database."""

    name: str
    kind: str  # sqlite | postgresql
    location: str  # the SQLite path, or a libpq URL (postgresql://user@host:port/db)


@dataclass(frozen=True)
class Tree:
    """A directory saved file by file (SQLite files inside with the backup API)."""

    name: str
    path: Path


@dataclass
class Sources:
    """What one system's backup holds."""

    kind: str  # embedded | deploy
    trees: list[Tree] = field(default_factory=list)
    databases: list[Database] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


# --- finding what to save --------------------------------------------------------------


def synapse_settings(config_path: Path) -> dict[str, Any]:
    """homeserver.yaml with conf.d/*.yaml merged over it (top-level keys), as Synapse reads it."""
    settings = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    conf_d = config_path.parent / "conf.d"
    if conf_d.is_dir():
        for extra in sorted(conf_d.glob("*.yaml")):
            settings.update(yaml.safe_load(extra.read_text(encoding="utf-8")) or {})
    return settings


def synapse_database(settings: Mapping[str, Any]) -> Database:
    db = settings.get("database") or {}
    args = db.get("args") or {}
    if db.get("name") == "sqlite3":
        return Database("synapse", "sqlite", str(args["database"]))
    return Database("synapse", "postgresql", _libpq_url(args))


def _libpq_url(args: Mapping[str, Any]) -> str:
    user = args.get("user") or "postgres"
    host, port = args.get("host") or "127.0.0.1", args.get("port") or 5432
    return f"postgresql://{user}@{host}:{port}/{args.get('database') or args.get('dbname')}"


def directory_database(url: str) -> Database:
    """Our database from its SQLAlchemy URL."""
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        return Database("directory", "sqlite", url.split(":///", 1)[1])
    host = parts.hostname or "127.0.0.1"
    user = unquote(parts.username or "postgres")
    return Database(
        "directory", "postgresql", f"postgresql://{user}@{host}:{parts.port or 5432}{parts.path}"
    )


def embedded_sources(data_dir: Path) -> Sources:
    """The embedded stack's data directory (``dieuhanh up``)."""
    from dieuhanh.config import load_config

    root = data_dir.resolve()
    if not (root / "config.yaml").exists():
        raise BackupError(f"Không thấy {root / 'config.yaml'}: đây không phải thư mục dữ liệu.")
    config = load_config(root / "config.yaml", environ={})
    sources = Sources("embedded", trees=[Tree("data", root)], info={"root": str(root)})
    for db in (
        directory_database(config.database.url),
        synapse_database(synapse_settings(root / "synapse" / "homeserver.yaml")),
    ):
        if db.kind == "postgresql" or not _inside(Path(db.location), root):
            sources.databases.append(db)
    bot = Path(config.bot.store_path)
    if not _inside(bot, root):
        sources.trees.append(Tree("bot", bot))
    return sources


def deploy_sources(profile_yaml: Path) -> Sources:
    """A deployment written by ``dieuhanh deploy`` (its deploy.yaml)."""
    from dieuhanh.config import load_config
    from dieuhanh.deploy.answers import Layout
    from dieuhanh.deploy.generate import load_answers

    answers = load_answers(profile_yaml)
    layout = Layout(answers)
    config = load_config(layout.config_yaml, environ={})
    settings = synapse_settings(layout.homeserver_yaml)
    return Sources(
        "deploy",
        trees=[
            Tree("etc", answers.etc_dir),
            Tree("media", Path(settings["media_store_path"])),
            Tree("bot", Path(config.bot.store_path)),
        ],
        databases=[directory_database(config.database.url), synapse_database(settings)],
        info={"profile": str(profile_yaml)},
    )


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
        return True
    except ValueError:
        return False


# --- saving ----------------------------------------------------------------------------


def backup(sources: Sources, destination: Path) -> dict[str, Any]:
    """Save ``sources`` into ``destination`` (new or empty); the manifest."""
    destination = destination.resolve()
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"Thư mục {destination} đã có dữ liệu: hãy chọn một thư mục mới.")
    work = destination.with_name(destination.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, mode=0o700)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "kind": sources.kind,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "info": sources.info,
        "databases": [],
        "trees": [],
    }
    for db in sources.databases:  # the directory first (see the module's docstring)
        manifest["databases"].append(_save_database(db, work / "databases"))
    for tree in sources.trees:
        count = copy_tree(tree.path, work / "trees" / tree.name)
        manifest["trees"].append({"name": tree.name, "path": str(tree.path), "files": count})
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    if destination.exists():
        destination.rmdir()
    work.rename(destination)
    return manifest


def _save_database(db: Database, folder: Path) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    entry = {"name": db.name, "kind": db.kind, "location": db.location}
    if db.kind == "sqlite":
        target = folder / f"{db.name}.sqlite"
        sqlite_copy(Path(db.location), target)
    else:
        target = folder / f"{db.name}.dump"
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), db.location])
    entry["file"] = str(target.relative_to(folder.parent))
    return entry


def sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    os.chmod(target, 0o600)


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def _files(root: Path) -> Iterator[Path]:
    for entry in sorted(root.iterdir()):
        if entry.name in SKIPPED_NAMES or entry.name.endswith(SKIPPED_SUFFIXES):
            continue
        if entry.name.startswith("homeserver.log") or entry.is_symlink():
            continue
        if entry.is_dir():
            yield from _files(entry)
        elif entry.is_file():
            yield entry


def copy_tree(source: Path, target: Path) -> int:
    """Copy ``source`` into ``target`` (modes kept, SQLite files via the backup API)."""
    if not source.exists():
        return 0
    count = 0
    for path in _files(source):
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if is_sqlite(path):
            sqlite_copy(path, dest)
        else:
            shutil.copy2(path, dest)
        os.chmod(dest, path.stat().st_mode & 0o777)
        count += 1
    return count


def _run(argv: list[str], env: Mapping[str, str] | None = None) -> None:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, env={**os.environ, **(env or {})}
        )
    except FileNotFoundError:
        raise BackupError(f"Không tìm thấy {argv[0]}: hãy cài postgresql-client.") from None
    if done.returncode != 0:
        raise BackupError(f"{argv[0]} thất bại: {done.stderr.strip()[-500:]}")


# --- restoring ----------------------------------------------------------------------------


def read_manifest(backup_dir: Path) -> dict[str, Any]:
    path = backup_dir / "manifest.json"
    if not path.exists():
        raise BackupError(f"{backup_dir} không phải một bản sao lưu (thiếu manifest.json).")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Bản sao lưu định dạng {manifest.get('format')} không đọc được.")
    return manifest


def restore_tree(source: Path, target: Path) -> None:
    """Put a saved tree back at ``target``, which must be missing or empty."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} đã có dữ liệu: khôi phục chỉ vào thư mục trống.")
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    if source.exists():
        shutil.copytree(source, target, dirs_exist_ok=True, copy_function=shutil.copy2)


def restore_postgres(dump: Path, url: str, *, synapse: bool) -> None:
    """Load a dump into the database ``url`` names, creating it if missing; an existing
    database must be empty."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    options = "ENCODING 'UTF8' TEMPLATE template0"
    if synapse:
        options += " LC_COLLATE 'C' LC_CTYPE 'C'"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}" {options}')
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()[0]
    if tables:
        raise BackupError(f"CSDL {name} đã có bảng: khôi phục chỉ vào CSDL trống.")
    # no grants: they name roles of the old server (Synapse's ``…_activity``), which
    # ``dieuhanh deploy bootstrap`` creates and grants again at the next start
    _run(["pg_restore", "--no-owner", "--no-acl", "--exit-on-error", "--dbname", url, str(dump)])


def _rebase(text: str, old: str, new: str) -> str:
    return text.replace(old, new) if old and old != new else text


def restore_embedded(backup_dir: Path, data_dir: Path) -> dict[str, Any]:
    """Restore an embedded stack's backup into ``data_dir`` (missing or empty): the data
    directory as it was, its paths moved to the new place, outside databases put back."""
    from dieuhanh.config import load_config

    manifest = read_manifest(backup_dir)
    if manifest["kind"] != "embedded":
        raise BackupError("Bản sao lưu này là của bản triển khai nhiều tiến trình.")
    root = data_dir.resolve()
    restore_tree(backup_dir / "trees" / "data", root)
    old = manifest["info"]["root"]
    for name in ("config.yaml", "synapse/homeserver.yaml"):
        path = root / name
        if path.exists():
            path.write_text(_rebase(path.read_text(encoding="utf-8"), old, str(root)), "utf-8")
    config = load_config(root / "config.yaml", environ={})
    for tree in manifest["trees"]:
        if tree["name"] == "bot":
            restore_tree(backup_dir / "trees" / "bot", Path(config.bot.store_path))
    for db in manifest["databases"]:
        _restore_database(backup_dir, db, old, str(root))
    return manifest


def restore_deploy(backup_dir: Path) -> dict[str, Any]:
    """Restore a deployment's backup on a fresh machine, at the paths it had."""
    manifest = read_manifest(backup_dir)
    if manifest["kind"] != "deploy":
        raise BackupError("Bản sao lưu này là của hệ thống nhúng: dùng --data-dir.")
    for tree in manifest["trees"]:
        restore_tree(backup_dir / "trees" / tree["name"], Path(tree["path"]))
    pgpass = Path(manifest["trees"][0]["path"]) / "secrets" / "pgpass"
    if pgpass.exists():
        os.environ.setdefault("PGPASSFILE", str(pgpass))
    for db in manifest["databases"]:
        _restore_database(backup_dir, db, "", "")
    return manifest


def _restore_database(backup_dir: Path, db: Mapping[str, Any], old: str, new: str) -> None:
    saved = backup_dir / db["file"]
    if db["kind"] == "sqlite":
        target = Path(_rebase(db["location"], old, new))
        if target.exists():
            raise BackupError(f"{target} đã tồn tại: khôi phục chỉ vào chỗ trống.")
        sqlite_copy(saved, target)
    else:
        restore_postgres(saved, db["location"], synapse=db["name"] == "synapse")
