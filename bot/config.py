"""The bot's section of the configuration, and what the bot reads of the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from provisioning.config import DatabaseConfig, HomeserverConfig, SmsConfig


@dataclass
class BotConfig:
    """The ``bot`` section (documented in config.example.yaml)."""

    localpart: str = "dieuhanh"
    display_name: str = "Điều hành"
    password: str = ""
    store_path: str = "data/bot"
    delivery_concurrency: int = 16
    # how often the scheduler looks for scheduled posts and reminders that are due
    scheduler_interval_seconds: float = 30.0
    # Prometheus metrics and /health (bot/metrics.py); port 0: not served
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    # the school year's two terms, dd/mm-dd/mm (bot.families.terms): !chuyencan, !ketqua
    term_dates: str = "05/09-15/01, 16/01-31/05"
    # a khẩn post (or one sent "kèm SMS") not read this many hours after it went out goes
    # by SMS to those who have not opened it (bot.directives.fallback)
    sms_fallback_hours: float = 4.0
    # how often (seconds) the bot checks whether the directory changed (an import, an
    # apply): a change reaches it at most this long after (bot.directory.DirectoryCache)
    directory_check_seconds: float = 1.0


class BotSettings(Protocol):
    """What the bot reads of the application's configuration."""

    homeserver: HomeserverConfig
    database: DatabaseConfig
    bot: BotConfig
    sms: SmsConfig
