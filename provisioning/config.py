"""Configuration: one YAML file, every key overridable from the environment.

This module holds the loader and provisioning's own sections (homeserver, database, sms,
login, provisioning); the bot and the bridge define theirs (``bot.config``,
``bridge.config``) and the application puts them together (``dieuhanh.config``).

Each setting ``section.key`` can be replaced by the environment variable
``DIEUHANH_SECTION_KEY`` (upper case), so that secrets need not live in the
file: ``DIEUHANH_BOT_PASSWORD``, ``DIEUHANH_BRIDGE_AS_TOKEN``, …
Nested mappings (``sms.http``) are overridden the same way:
``DIEUHANH_SMS_HTTP_URL``.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml

from provisioning.identity.client_ip import DEFAULT_TRUSTED_PROXIES

ENV_PREFIX = "DIEUHANH"
T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration file or variable that cannot be used."""


@dataclass
class HomeserverConfig:
    url: str = "http://127.0.0.1:8008"
    server_name: str = "dieuhanh.local"
    registration_shared_secret: str = ""
    # Access token of a server admin, for provisioning only (the admin API): given here
    # (better: DIEUHANH_HOMESERVER_ADMIN_TOKEN) or in the file admin_token_file names.
    # The bot and the bridge never use it.
    admin_token: str = ""
    admin_token_file: str = ""
    # Synapse runs generic workers (``dieuhanh deploy`` sets it): apply then joins people
    # as themselves through the client API, which the workers serve, instead of the admin
    # join API, which only the main process serves (provisioning.matrix.person_joins). On
    # one process the admin API is the cheaper (bench/joins.py: 53 vs 60 ms CPU per join).
    workers: bool = False

    def resolve_admin_token(self) -> str:
        """``admin_token`` if set, else the content of ``admin_token_file``; "" if neither."""
        if self.admin_token or not self.admin_token_file:
            return self.admin_token
        try:
            return Path(self.admin_token_file).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return ""
        except OSError as exc:
            raise ConfigError(
                f"homeserver.admin_token_file: không đọc được {self.admin_token_file}: {exc}"
            ) from None


@dataclass
class DatabaseConfig:
    url: str = "sqlite:///data/directory.db"


@dataclass
class SmsHttpConfig:
    url: str = ""
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    body_template: str = ""


@dataclass
class SmsBudgetConfig:
    """SMS a unit may send per month (invitations and directives' fallback; the login
    codes are not counted): every unit's, and some units' own (unit code -> number)."""

    monthly_per_unit: int = 100
    per_unit: dict[str, int] = field(default_factory=dict)


@dataclass
class SmsConfig:
    gateway: str = "file"
    file_path: str = "data/sms.jsonl"
    http: SmsHttpConfig = field(default_factory=SmsHttpConfig)
    # the code page's address in invitations; "": <homeserver.url>/_dieuhanh/dang-nhap
    login_page_url: str = ""
    budget: SmsBudgetConfig = field(default_factory=SmsBudgetConfig)


@dataclass
class LoginConfig:
    secret: str = ""
    code_ttl_seconds: int = 600
    max_attempts: int = 5
    max_failures_per_day: int = 100
    per_phone_per_hour: int = 5
    per_ip_per_hour: int = 60
    global_per_hour: int = 2000
    response_delay_seconds: float = 1.0
    # proxies whose X-Forwarded-For is believed (identity module and bridge alike)
    trusted_proxies: list[str] = field(default_factory=lambda: list(DEFAULT_TRUSTED_PROXIES))
    # how often the login module copies who has logged in into the directory (!trienkhai)
    activity_interval_seconds: int = 300


#: The default of ``provisioning.max_removal_share``.
MAX_REMOVAL_SHARE = 0.10
#: Removals this few never trip the guard, whatever the share (small directories).
REMOVALS_ALWAYS_ALLOWED = 5


@dataclass
class FamiliesConfig:
    """How families are provisioned (``provisioning.families``)."""

    #: Unit codes whose schools put their students with an account into their class
    #: rooms, next to the parents (a school's own choice; an office's code covers every
    #: school under it). Empty: class rooms hold the homeroom teacher and parents only.
    students_in_class_rooms: list[str] = field(default_factory=list)


@dataclass
class ProvisioningConfig:
    concurrency: int = 16
    max_removal_share: float = MAX_REMOVAL_SHARE
    # how often the reconcile loop (`up`, `apply --watch`) looks for directory changes
    watch_interval_seconds: float = 5.0
    families: FamiliesConfig = field(default_factory=FamiliesConfig)


def exceeds_removal_share(removed: int, total: int, share: float) -> bool:
    """True when removing ``removed`` of ``total`` is too much at once (the mass-removal
    guard of both the import and ``apply``: a truncated staff file must not wipe a district)."""
    return removed > max(share * total, REMOVALS_ALWAYS_ALLOWED)


@dataclass(frozen=True)
class ServiceUsers:
    """The accounts of our services that provisioning creates or gives power to: the bot
    and the bridge's portal users (a localpart prefix). The application derives them from
    the bot's and the bridge's own settings."""

    bot_localpart: str = "dieuhanh"
    bot_display_name: str = "Điều hành"
    portal_prefix: str = "cong_"

    def bot_user_id(self, server_name: str) -> str:
        return f"@{self.bot_localpart}:{server_name}"


class ProvisioningSettings(Protocol):
    """What provisioning reads of the application's configuration."""

    homeserver: HomeserverConfig
    database: DatabaseConfig
    provisioning: ProvisioningConfig
    login: LoginConfig
    sms: SmsConfig

    @property
    def service_users(self) -> ServiceUsers: ...


def load_sections(
    cls: type[T], path: Path | str | None, environ: Mapping[str, str] | None = None
) -> T:
    """Read ``path`` (if given and present) into the dataclass ``cls`` (one field per
    section), then apply environment overrides ``DIEUHANH_<SECTION>_<KEY>``."""
    data: dict[str, Any] = {}
    if path is not None and Path(path).exists():
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: không đọc được YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: tệp cấu hình phải là một bảng khoá: giá trị")
        data = loaded or {}
    env = os.environ if environ is None else environ
    return _build(cls, data, str(path or "config"), (ENV_PREFIX,), env)


def _build(cls: type, data: Any, where: str, env_path: tuple[str, ...], env: Mapping[str, str]):
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: phải là một bảng khoá: giá trị")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: khoá không được hỗ trợ: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        key_env = (*env_path, f.name.upper())
        key_where = f"{where}.{f.name}"
        if dataclasses.is_dataclass(hint):
            values[f.name] = _build(hint, data.get(f.name) or {}, key_where, key_env, env)
            continue
        env_name = "_".join(key_env)
        if env_name in env:
            values[f.name] = _coerce(hint, env[env_name], env_name, from_env=True)
        elif f.name in data:
            values[f.name] = _coerce(hint, data[f.name], key_where, from_env=False)
    return cls(**values)


def _coerce(hint: Any, value: Any, where: str, *, from_env: bool) -> Any:
    origin = typing.get_origin(hint)
    if hint is int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: phải là số nguyên, nhận được {value!r}") from None
    if hint is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: phải là một số, nhận được {value!r}") from None
    if hint is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{where}: phải là true/false, nhận được {value!r}")
    if origin is list or hint is list:
        if from_env:
            text = str(value).strip()
            try:
                value = yaml.safe_load(text) if text.startswith("[") else text.split(",")
            except yaml.YAMLError:
                raise ConfigError(f"{where}: phải là một danh sách YAML/JSON") from None
        if not isinstance(value, list):
            raise ConfigError(f"{where}: phải là một danh sách")
        return [str(v).strip() for v in value if str(v).strip()]
    if origin is dict or hint is dict:
        if from_env:
            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError:
                raise ConfigError(f"{where}: phải là một bảng YAML/JSON") from None
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: phải là một bảng khoá: giá trị")
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is int:
            return {
                str(k): _coerce(int, v, f"{where}.{k}", from_env=False) for k, v in value.items()
            }
        return {str(k): str(v) for k, v in value.items()}
    if hint is str or isinstance(hint, types.UnionType):
        if value is None:
            return ""
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{where}: phải là một chuỗi")
        return str(value)
    return value
