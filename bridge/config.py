"""The bridge's sections of the configuration (``bridge``, ``web``), and what the bridge
reads of the rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from provisioning.config import DatabaseConfig, HomeserverConfig, LoginConfig


@dataclass
class BridgeConfig:
    """The ``bridge`` section (documented in config.example.yaml)."""

    id: str = "dieuhanh-bridge"
    listen_host: str = "127.0.0.1"
    listen_port: int = 29340
    sender_localpart: str = "tintuc"
    user_prefix: str = "cong_"
    as_token: str = ""
    hs_token: str = ""
    # news relay (bridge/poller.py, bridge/feeds.py)
    poll_interval_seconds: int = 900
    poll_concurrency: int = 8
    feed_timeout_seconds: float = 20.0
    max_feed_bytes: int = 1_000_000
    max_feed_items: int = 50
    first_sight_items: int = 3
    max_new_items_per_poll: int = 10
    max_backoff_seconds: int = 21_600
    failure_report_after: int = 4
    summary_chars: int = 400
    max_image_bytes: int = 5_000_000
    # outbound fetching (bridge/outbound.py): private networks are refused unless allowed
    allow_private_addresses: bool = False
    allowed_networks: str = ""
    # CMS webhook: unit code → token (prefer `dieuhanh webhook token <unit>`, stored hashed)
    webhook_tokens: dict[str, str] = field(default_factory=dict)
    # "Gửi thông báo" admin page
    admin_session_hours: int = 12
    # Prometheus metrics and /health (bridge/metrics.py); port 0: not served
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0


@dataclass
class WebConfig:
    """The ``web`` section: the bridge's public listener (admin page, CMS webhook)."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 29341
    public_base_url: str = ""


class BridgeSettings(Protocol):
    """What the bridge reads of the application's configuration."""

    homeserver: HomeserverConfig
    database: DatabaseConfig
    bridge: BridgeConfig
    web: WebConfig
    login: LoginConfig
