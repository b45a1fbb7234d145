"""SMS to people, beyond login codes: an invitation to log in for those who never have
(``!moi``, ``dieuhanh moi``), and a directive by SMS for those who have not read an urgent
one (the bot's fallback).

- ``texts`` — the texts, and what an SMS can hold (GSM-7 / UCS-2; pure);
- ``budget`` — which unit pays, its monthly budget, the rules (pure);
- ``ledger`` — every SMS sent and the budgets in use, in the directory's database, so that
  the bot and the CLI share one budget (reservations are atomic);
- ``invitations`` — who is invited, and the sentences that say what happened;
- ``sender`` — queued messages through the gateway, their results recorded.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from provisioning.config import SmsConfig
from provisioning.outreach.budget import Budget

#: the code page our Synapse module serves on the homeserver
LOGIN_PAGE = "/_dieuhanh/dang-nhap"


def login_page_url(sms: SmsConfig, homeserver_url: str) -> str:
    """Where people get a code: ``sms.login_page_url``, else the homeserver's page."""
    return sms.login_page_url.strip() or homeserver_url.rstrip("/") + LOGIN_PAGE


def budget_of(sms: SmsConfig) -> Budget:
    return Budget(sms.budget.monthly_per_unit, dict(sms.budget.per_unit))


def gateway_settings(sms: SmsConfig) -> dict[str, Any]:
    """What ``gateway_from_config`` reads: the gateway, its file, its HTTP API."""
    return {
        "gateway": sms.gateway,
        "file_path": sms.file_path,
        "http": dataclasses.asdict(sms.http),
    }
