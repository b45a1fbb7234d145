"""The bridge's world: a district provisioned once into the session's Synapse (its own
prefix, so its rooms never meet other tests'), a real local feed server, and helpers that
read rooms the way their members see them (the admin API's /messages).

Units and what their portals do (set per test through ``feed_server``):

- xa       Xã Hóc Môn (office): the admin page's source of news (browser test)
- thcs1    RSS 2.0 feed; thcs2: Atom feed (Last-Modified only, no ETag)
- mn1, th1 no feed: targets of the webhook and of the admin page
- thpt1    under the Sở, outside Xã Hóc Môn's authority
- bad1..4  good feeds that a test turns malformed, slow, huge, 500
- xss      a feed full of <script>, onerror= and javascript: links
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bridge.ghosts import ghost_user_id
from bridge.post import NEWS_KEY
from dieuhanh.config import Config
from dieuhanh.db import open_database
from dieuhanh.embedded.ports import free_port
from provisioning.matrix.client import q

from ..provisioning.conftest import World, make_district
from .feedserver import FeedServer, atom, png, rss

FEEDS = {
    "xa": "/xa/rss",
    "thcs1": "/thcs1/rss.xml",
    "thcs2": "/thcs2/atom.xml",
    "bad1": "/bad1/rss",
    "bad2": "/bad2/rss",
    "bad3": "/bad3/rss",
    "bad4": "/bad4/rss",
    "xss": "/xss/rss",
}
EXTRA_UNITS = [  # code, name, level
    ("th1", "Trường Tiểu học Hòa Bình", "TH"),
    ("bad1", "Trường THCS Thử Nghiệm Một", "THCS"),
    ("bad2", "Trường THCS Thử Nghiệm Hai", "THCS"),
    ("bad3", "Trường THCS Thử Nghiệm Ba", "THCS"),
    ("bad4", "Trường THCS Thử Nghiệm Bốn", "THCS"),
    ("xss", "Trường THCS An Toàn", "THCS"),
]
EXTRA_PEOPLE = [  # code, name, unit
    ("ht5", "Đỗ Thị Quyên", "th1"),
    ("htb1", "Mai Văn Sơn", "bad1"),
    ("htb2", "Mai Văn Tâm", "bad2"),
    ("htb3", "Mai Văn Út", "bad3"),
    ("htb4", "Mai Văn Vinh", "bad4"),
    ("htx", "Tạ Thị Xuân", "xss"),
]


@dataclass
class NewsWorld:
    world: World
    server: FeedServer
    db_url: str
    folder: Path

    @property
    def synapse(self) -> Any:
        return self.world.synapse

    @property
    def district(self):
        return self.world.district

    def u(self, unit: str) -> str:
        return self.district.u(unit)

    def feed(self, unit: str):
        return self.server.feeds[FEEDS[unit]]

    def config(self, **bridge: Any) -> Config:
        """Our services' config for this world; bridge settings tuned for tests."""
        config = copy.deepcopy(self.world.config)
        config.database.url = self.db_url
        settings = {
            "poll_interval_seconds": 3600,
            "poll_concurrency": 8,
            "feed_timeout_seconds": 5.0,  # generous: a loaded CI machine must not time out
            "max_feed_bytes": 1_000_000,
            "first_sight_items": 3,
            "failure_report_after": 2,
            "max_backoff_seconds": 7200,
            "allow_private_addresses": True,  # the portals are on 127.0.0.1
            **bridge,
        }
        for key, value in settings.items():
            setattr(config.bridge, key, value)
        config.web.listen_port = free_port()
        return config

    def room(self, unit: str) -> str:
        return self.world.unit_room(unit, "announcements")

    def ghost(self, unit: str) -> str:
        return ghost_user_id(
            self.world.config.bridge.user_prefix, self.u(unit), self.synapse.server_name
        )

    def phone(self, person: str) -> str:
        return "+84" + self.district.row(person)[2][1:]

    def events(self, unit: str) -> list[dict[str, Any]]:
        """Every m.room.message in the unit's news room, oldest first."""
        room = self.room(unit)
        page = self.synapse.api(
            "GET", f"/_synapse/admin/v1/rooms/{q(room)}/messages?dir=b&limit=1000"
        )
        return [e for e in reversed(page["chunk"]) if e["type"] == "m.room.message"]

    def news(self, unit: str) -> list[dict[str, Any]]:
        """The relayed news texts (not images, not notices) in the unit's room."""
        return [
            e
            for e in self.events(unit)
            if NEWS_KEY in e["content"] and e["content"].get("msgtype") == "m.text"
        ]

    def news_ids(self, unit: str) -> list[str]:
        return [e["content"][NEWS_KEY]["item_id"] for e in self.news(unit)]

    def notices(self, unit: str) -> list[dict[str, Any]]:
        return [e for e in self.events(unit) if "vn.dieuhanh.feed_status" in e["content"]]

    def dump(self, unit: str) -> str:
        return json.dumps(self.events(unit), ensure_ascii=False, indent=1)


#: 08:00 on 1 September 2025 in Ho Chi Minh City
DAY0 = dt.datetime(2025, 9, 1, 1, 0, tzinfo=dt.UTC)
EVIL = (
    '<p>Tin <script>alert(\'x\')</script>an toàn<img src="x" onerror="alert(1)">'
    '<a href="javascript:alert(2)">bấm vào</a> <a href=" JaVaScRiPt:alert(3)">đây</a> '
    '<a href="https://ok.hcm.edu.vn/" onclick="alert(4)" onmouseover="alert(5)">hợp lệ</a>'
    '<iframe src="https://evil.example/"></iframe><style>p{color:red}</style></p>'
)


def rss_items(unit: str, count: int, *, image: str | None = None) -> list[dict[str, Any]]:
    """``count`` items, the newest last; the newest carries ``image``."""
    items = []
    for n in range(1, count + 1):
        items.append(
            {
                "guid": f"{unit}-{n}",
                "title": f"Tin số {n} của {unit}: hoạt động tháng 9",
                "link": f"https://{unit}.hcm.edu.vn/tin-tuc/{n}",
                "description": f"<p>Nội dung <b>tin {n}</b> của trường, "
                f'<a href="https://{unit}.hcm.edu.vn/tin-tuc/{n}">đọc thêm</a>.</p>',
                "date": DAY0 + dt.timedelta(days=n),
                "image": image if n == count else None,
            }
        )
    return items


def initial_feeds(server: FeedServer) -> None:
    """What each portal serves when the session starts."""
    server.images["/img/khai-giang.png"] = png(40, 30)
    server.feed(FEEDS["xa"], body=rss(rss_items("xa", 5), link="https://xa.hcm.edu.vn/"))
    server.feed(
        FEEDS["thcs1"],
        body=rss(
            rss_items("thcs1", 5, image=server.url("/img/khai-giang.png")),
            link="https://thcs1.hcm.edu.vn/",
        ),
    )
    entries = [
        {
            "id": f"urn:thcs2:{n}",
            "title": f"Bản tin Atom {n}",
            "link": f"https://thcs2.hcm.edu.vn/bai/{n}",
            "summary": f"Tóm tắt <i>bản tin {n}</i>.",
            "date": DAY0 + dt.timedelta(days=n, hours=2),
        }
        for n in range(1, 5)
    ]
    server.feed(
        FEEDS["thcs2"],
        body=atom(entries, link="https://thcs2.hcm.edu.vn/"),
        content_type="application/atom+xml; charset=utf-8",
        etag=False,  # Last-Modified only
    )
    for unit in ("bad1", "bad2", "bad3", "bad4"):  # they work until a test breaks them
        server.feed(FEEDS[unit], body=rss(rss_items(unit, 2)))
    server.feed(
        FEEDS["xss"],
        body=rss(
            [
                {
                    "guid": "xss-1",
                    "title": "<script>alert(7)</script>Thông báo <b>tuyển sinh</b>",
                    "link": "javascript:alert(8)",
                    "description": EVIL,
                    "date": DAY0,
                    "image": "javascript:alert(9)",
                },
                {
                    "guid": "xss-2",
                    "title": "Lịch học",
                    "link": "https://xss.hcm.edu.vn/lich",
                    "description": '<img src="https://xss.hcm.edu.vn/a.png" onerror="alert(10)">'
                    + EVIL,
                    "date": DAY0 + dt.timedelta(days=1),
                },
            ]
        ),
    )


@pytest.fixture(scope="session")
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    initial_feeds(server)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def news_world(synapse, feed_server, tmp_path_factory) -> Iterator[NewsWorld]:
    """The district with portals, provisioned once for all bridge tests."""
    folder = tmp_path_factory.mktemp("bridge")
    district = make_district(f"n{secrets.token_hex(3)}-")
    xa = district.u("xa")
    for code, name, level in EXTRA_UNITS:
        district.units.append([district.u(code), name, xa, "Trường", level, "Công lập", "", ""])
    base = 910_000_000 + secrets.randbelow(80_000_000)
    for i, (code, name, unit) in enumerate(EXTRA_PEOPLE):
        phone = f"0{base + i * 7907}"
        row = [district.p(code), name, phone, "", district.u(unit), "Hiệu trưởng", "Đại học"]
        district.staff.append([*row, "", "", ""])
    for unit, path in FEEDS.items():
        row = district.unit_row(unit)
        row[6] = f"https://{unit}.hcm.edu.vn/"
        row[7] = feed_server.url(path)
    db_url = f"sqlite:///{folder / 'directory.db'}"
    engine = open_database(db_url)
    config = copy.deepcopy(synapse.setup.config)
    config.homeserver.url = synapse.base_url
    config.homeserver.admin_token = synapse.admin_token
    world = World(engine, config, district, synapse, folder)
    world.load()
    world.apply()
    yield NewsWorld(world, feed_server, db_url, folder)
    engine.dispose()
