"""The data directory of the embedded stack: laid out once, reused after.

Layout (under ``--data-dir``)::

    config.yaml              our services' configuration (0600: holds their own tokens,
                             never the server-admin token nor the registration secret)
    secrets/                 generated once (0700; files 0600); admin_token: provisioning's
    appservices/bridge.yaml  the bridge's appservice registration (0600)
    synapse/                 homeserver.yaml, signing key, SQLite, media, logs
    directory.db             the directory (units, people, positions)
    sms.jsonl                the development SMS sink
    bot/                     the bot's store
    demo/                    the demo district's CSV exports

A second start reads the secrets back and rewrites a file only when what it
derives from changed (the Synapse port, a busy internal port).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bridge.config import BridgeConfig, WebConfig
from dieuhanh.config import Config, load_config
from dieuhanh.embedded.files import (
    PRIVATE_DIR_MODE,
    SECRET_MODE,
    read_or_create_secret,
    write_if_changed,
)
from dieuhanh.embedded.ports import LOOPBACK, free_port, keep_only, reserve
from dieuhanh.embedded.synapse import SynapseFiles, write_synapse_config
from provisioning.identity import service_accounts
from provisioning.outreach import gateway_settings

ADMIN_LOCALPART = "quantri"

CONFIG_HEADER = """\
# Cấu hình các dịch vụ Điều hành, do `dieuhanh up` tạo ra.
# Mỗi lần khởi động, `up` cập nhật địa chỉ máy chủ, cổng và các khoá bí mật
# theo thư mục dữ liệu; các thiết lập khác (cổng SMS, địa chỉ web, tên hiển thị)
# do quản trị viên tự sửa. Mọi thiết lập đều ghi đè được bằng biến môi trường
# DIEUHANH_<MỤC>_<KHOÁ>, ví dụ DIEUHANH_DATABASE_URL.
# Khoá quản trị máy chủ không nằm trong tệp này: chỉ phần đồng bộ danh bạ đọc nó
# từ tệp homeserver.admin_token_file (secrets/admin_token).
"""


@dataclass(frozen=True)
class DataDir:
    """Paths inside one data directory."""

    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / "config.yaml"

    @property
    def secrets_dir(self) -> Path:
        return self.root / "secrets"

    def secret_path(self, name: str) -> Path:
        return self.secrets_dir / name

    @property
    def admin_password_path(self) -> Path:
        return self.secret_path("admin_password")

    @property
    def admin_token_path(self) -> Path:
        return self.secret_path("admin_token")

    @property
    def appservice_path(self) -> Path:
        return self.root / "appservices" / "bridge.yaml"

    @property
    def synapse_dir(self) -> Path:
        return self.root / "synapse"

    @property
    def directory_db(self) -> Path:
        return self.root / "directory.db"

    @property
    def demo_dir(self) -> Path:
        return self.root / "demo"


@dataclass
class EmbeddedSetup:
    """The outcome of ``init_data_dir``: what the services will run with."""

    data: DataDir
    config: Config
    synapse: SynapseFiles
    created: bool
    written: list[Path] = field(default_factory=list)

    @property
    def admin_user_id(self) -> str:
        return f"@{ADMIN_LOCALPART}:{self.config.homeserver.server_name}"


def init_data_dir(
    root: Path, port: int, *, modules: Sequence[Mapping[str, Any]] = ()
) -> EmbeddedSetup:
    """Lay out ``root`` on first start; on later starts reuse it, updating only what changed."""
    data = DataDir(root.resolve())
    created = not data.config_path.exists()
    data.root.mkdir(parents=True, exist_ok=True)
    if created:  # personal data (phones) and access tokens live here
        data.root.chmod(PRIVATE_DIR_MODE)
    data.secrets_dir.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    data.secrets_dir.chmod(PRIVATE_DIR_MODE)
    written: list[Path] = []

    names = (
        "registration_shared_secret",
        "as_token",
        "hs_token",
        "admin_password",
        "bot_password",
        "login_secret",
    )
    missing = [n for n in names if not data.secret_path(n).exists()]
    secret = {n: read_or_create_secret(data.secret_path(n)) for n in names}
    written += [data.secret_path(n) for n in missing]

    raw = _read_raw_config(data.config_path) if not created else Config().to_dict()
    _apply_owned(raw, data, port, secret, created=created)
    if _write_config(data.config_path, raw):
        written.append(data.config_path)
    config = load_config(data.config_path, environ={})
    # kept in memory for `up` (creating the admin account), never written to config.yaml
    config.homeserver.registration_shared_secret = secret["registration_shared_secret"]

    if write_if_changed(
        data.appservice_path,
        _yaml(appservice_registration(config.bridge, config.homeserver.server_name)),
        SECRET_MODE,
    ):
        written.append(data.appservice_path)

    before = _snapshot(data.synapse_dir)
    files = write_synapse_config(
        data.synapse_dir,
        server_name=config.homeserver.server_name,
        port=port,
        registration_shared_secret=secret["registration_shared_secret"],
        appservice_files=[data.appservice_path],
        modules=modules
        or [
            phone_login_module(config, {ADMIN_LOCALPART: secret["admin_password"]}),
            service_access_module(config),
        ],
    )
    written += [p for p, m in _snapshot(data.synapse_dir).items() if before.get(p) != m]
    for sub in ("bot", "demo"):
        (data.root / sub).mkdir(exist_ok=True)
    return EmbeddedSetup(data, config, files, created, written)


PHONE_LOGIN_MODULE = "provisioning.identity.synapse_module.PhoneLogin"


def phone_login_module(
    config: Config,
    other_services: Mapping[str, str] | None = None,
    directory_database_url: str | None = None,
) -> dict[str, Any]:
    """The Synapse module entry for phone + code login, from our configuration.

    The bot (and ``other_services``: localpart -> password, e.g. the admin) are its service
    accounts, the only ones that log in with a password. The module writes
    ``account_activity`` through ``directory_database_url`` — by default the directory's
    own URL: in the embedded profile that is a SQLite file in the data directory, which
    Synapse, running as the same OS user, could open anyway; the production profile passes
    a PostgreSQL role limited to that table (dieuhanh/deploy/bootstrap.py).
    """
    login = dataclasses.asdict(config.login)
    sms = gateway_settings(config.sms)  # the gateway only: budgets are the bot's business
    passwords = dict(other_services or {})
    if config.bot.password:
        passwords[config.bot.localpart] = config.bot.password
    services = {name: service_accounts.digest(pw) for name, pw in passwords.items()}
    return {
        "module": PHONE_LOGIN_MODULE,
        "config": {
            **login,
            "sms": sms,
            "service_accounts": services,
            "directory_database_url": directory_database_url or config.database.url,
        },
    }


SERVICE_ACCESS_MODULE = "provisioning.identity.service_access.ServiceAccess"


def service_access_module(config: Config) -> dict[str, Any]:
    """The Synapse module entry that gives the bot and the bridge their scoped operations."""
    server_name = config.homeserver.server_name
    return {
        "module": SERVICE_ACCESS_MODULE,
        "config": {
            "bot_user_id": f"@{config.bot.localpart}:{server_name}",
            "appservice_id": config.bridge.id,
            "ghost_user_regex": ghost_user_regex(config.bridge, server_name),
        },
    }


def store_admin_token(setup: EmbeddedSetup, token: str) -> None:
    """Keep the admin's access token in secrets/admin_token (named by
    ``homeserver.admin_token_file``; never in config.yaml, which the services read)."""
    write_if_changed(setup.data.admin_token_path, token + "\n", SECRET_MODE)
    setup.config.homeserver.admin_token = token


def stored_admin_token(data: DataDir) -> str | None:
    """The admin token kept by an earlier start, if any."""
    path = data.admin_token_path
    return (path.read_text(encoding="utf-8").strip() or None) if path.exists() else None


def appservice_registration(bridge: BridgeConfig, server_name: str) -> dict[str, Any]:
    """The appservice registration Synapse loads for the bridge."""
    host = bridge.listen_host or LOOPBACK
    return {
        "id": bridge.id,
        "url": f"http://{host}:{bridge.listen_port}",
        "as_token": bridge.as_token,
        "hs_token": bridge.hs_token,
        "sender_localpart": bridge.sender_localpart,
        "rate_limited": False,
        "namespaces": {
            "users": [{"exclusive": True, "regex": ghost_user_regex(bridge, server_name)}],
            "aliases": [],
            "rooms": [],
        },
    }


def ghost_user_regex(bridge: BridgeConfig, server_name: str) -> str:
    """The bridge's user namespace: its portal users, ``@<user_prefix>…:<server_name>``."""
    return f"@{re.escape(bridge.user_prefix)}.*:{re.escape(server_name)}"


def _apply_owned(
    raw: dict[str, Any], data: DataDir, port: int, secret: dict[str, str], *, created: bool
) -> None:
    """Set the keys that the data directory dictates; keep everything else as found."""
    hs = raw.setdefault("homeserver", {})
    bot = raw.setdefault("bot", {})
    bridge = raw.setdefault("bridge", {})
    web = raw.setdefault("web", {})
    if created:  # paths into the data dir: set once, then the admin's to change
        raw.setdefault("database", {})["url"] = f"sqlite:///{data.directory_db}"
        raw.setdefault("sms", {})["file_path"] = str(data.root / "sms.jsonl")
        bot["store_path"] = str(data.root / "bot")
    hs["url"] = f"http://{LOOPBACK}:{port}"
    hs.setdefault("server_name", Config().homeserver.server_name)
    # Admin credentials stay out of the file the bot and the bridge read: the token is
    # named by its file (provisioning reads it), the registration secret only `up` uses.
    hs.pop("registration_shared_secret", None)
    hs.pop("admin_token", None)
    hs["admin_token_file"] = str(data.admin_token_path)
    bot["password"] = secret["bot_password"]
    raw.setdefault("login", {})["secret"] = secret["login_secret"]
    bridge["as_token"] = secret["as_token"]
    bridge["hs_token"] = secret["hs_token"]
    bridge.setdefault("listen_host", LOOPBACK)
    # Our own listeners: keep their ports while free, move them if something took them;
    # each one reserved, so that a start at the same time chooses others (ports.reserve).
    owner, taken = str(data.root), {port}
    for section, default in ((bridge, BridgeConfig().listen_port), (web, WebConfig().listen_port)):
        host = section.get("listen_host") or LOOPBACK
        current = int(section.get("listen_port") or default)
        while current in taken or not reserve(current, owner, host):
            current = free_port(host)
        section["listen_port"] = current
        taken.add(current)
    keep_only(owner, taken)


def _read_raw_config(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    return loaded if isinstance(loaded, dict) else Config().to_dict()


def _write_config(path: Path, raw: dict[str, Any]) -> bool:
    return write_if_changed(path, CONFIG_HEADER + "\n" + _yaml(raw), SECRET_MODE)


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True)


def _snapshot(directory: Path) -> dict[Path, int]:
    """Modification times of the files directly in ``directory``."""
    if not directory.exists():
        return {}
    return {p: p.stat().st_mtime_ns for p in directory.iterdir() if p.is_file()}
