"""The application's configuration: every package's sections in one YAML file.

Each package defines its own sections — provisioning the homeserver, database, SMS, login
and provisioning ones (``provisioning.config``), the bot ``bot`` (``bot.config``), the
bridge ``bridge`` and ``web`` (``bridge.config``) — and reads them through a protocol of
its own; this class is the one object that satisfies them all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import BotConfig
from bridge.config import BridgeConfig, WebConfig
from provisioning.config import (
    ConfigError,
    DatabaseConfig,
    HomeserverConfig,
    LoginConfig,
    ProvisioningConfig,
    ServiceUsers,
    SmsConfig,
    load_sections,
)

__all__ = ["Config", "ConfigError", "load_config"]


@dataclass
class Config:
    homeserver: HomeserverConfig = field(default_factory=HomeserverConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    bridge: BridgeConfig = field(default_factory=BridgeConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    web: WebConfig = field(default_factory=WebConfig)
    provisioning: ProvisioningConfig = field(default_factory=ProvisioningConfig)
    login: LoginConfig = field(default_factory=LoginConfig)

    @property
    def service_users(self) -> ServiceUsers:
        """The bot and the bridge's portal users, as provisioning creates and empowers them."""
        return ServiceUsers(self.bot.localpart, self.bot.display_name, self.bridge.user_prefix)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(path: Path | str | None, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (if given and present), then apply environment overrides."""
    return load_sections(Config, path, environ)
