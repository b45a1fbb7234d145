"""The bot's service with SMS (``bot.outreach``) on a test clock, over the base directory:
what !moi's and the fallback's tests without Matrix share."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import insert

from bot.outreach import Outreach
from dieuhanh.config import Config
from provisioning.db.models import AccountActivity, AccountActivityCopy

from ..directory.conftest import BASE_STAFF
from .test_commands import EXTRA
from .test_gui import MORE, build_service, uid

NOW = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)  # 10:00 on 05/12 in Vietnam
LOGGED_IN = ("P001", "P008", "P009", "P004")  # two principals, the Sở's director, the xã's head


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def now(self) -> dt.datetime:
        return self.at


def sms_service(engine, base_files, tmp_path):
    """The service, its SMS to ``tmp_path/sms.jsonl``; notices to rooms kept in ``told``."""
    service = build_service(engine, base_files, tmp_path, [*BASE_STAFF, *EXTRA, *MORE])
    service.clock = Clock()
    config = Config()
    config.homeserver.url = "https://dieuhanh.hcm.edu.vn"
    config.sms.file_path = str(tmp_path / "sms.jsonl")
    service.outreach = Outreach(config, engine, service.clock, service.activity)
    service.activity.max_age = 0
    told: list[tuple[str, str]] = []

    async def notify_room(room_id: str, text: str) -> None:
        told.append((room_id, text))

    service.notify_room = notify_room
    service.told = told
    with engine.begin() as conn:
        conn.execute(insert(AccountActivityCopy).values(id=1, copied_at=NOW))
        conn.execute(
            insert(AccountActivity),
            [
                {
                    "user_id": uid(c),
                    "first_login_at": NOW,
                    "last_seen_at": NOW,
                    "devices": 1,
                    "checked_at": NOW,
                }
                for c in LOGGED_IN
            ],
        )
    return service


def sent(tmp_path) -> list[dict]:
    path = tmp_path / "sms.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def phone(code: str) -> str:
    row = next(r for r in [*BASE_STAFF, *EXTRA, *MORE] if r[0] == code)
    return "+84" + row[2][1:]
