"""Every table of the bridge, for the metadata (migrations, schema checks): each is defined
with its queries in its own module of ``bridge.db``."""

from __future__ import annotations

from bridge.db.admin_session import BridgeAdminSession
from bridge.db.delivery import BridgeDelivery
from bridge.db.feed import BridgeFeed
from bridge.db.ghost import BridgeGhost, BridgeGhostRoom
from bridge.db.item import BridgeItem
from bridge.db.media import BridgeMedia
from bridge.db.webhook_token import BridgeWebhookToken
from provisioning.db.models import Base

__all__ = [
    "Base",
    "BridgeAdminSession",
    "BridgeDelivery",
    "BridgeFeed",
    "BridgeGhost",
    "BridgeGhostRoom",
    "BridgeItem",
    "BridgeMedia",
    "BridgeWebhookToken",
]
