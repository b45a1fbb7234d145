"""The CMS webhook over real HTTP, tokens made by the real CLI, deliveries read back from
the rooms of the real Synapse."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import select, update

from bridge.service import BridgeService
from dieuhanh.db import open_database
from provisioning.db.models import MatrixRoom

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[2]
CONFIG_TOKEN = "cau-hinh-" + "x" * 30


def cli_token(news_world, unit: str, *extra: str) -> str:
    """``dieuhanh webhook token <unit>``: the token on stdout, the note on stderr."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dieuhanh",
            "webhook",
            "token",
            news_world.u(unit),
            *extra,
            "--config",
            str(news_world.synapse.config_path),
        ],
        cwd=ROOT,
        env={**os.environ, "DIEUHANH_DATABASE_URL": news_world.db_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "chỉ hiện một lần" in done.stderr
    return done.stdout.strip()


class Hook:
    def __init__(self, news_world) -> None:
        self.nw = news_world
        self.config = news_world.config(webhook_tokens={news_world.u("thcs2"): CONFIG_TOKEN})
        self.url = (
            f"http://{self.config.web.listen_host}:{self.config.web.listen_port}"
            "/_dieuhanh/api/tin-tuc"
        )

    async def start(self) -> None:
        self.engine = open_database(self.nw.db_url)
        self.service = BridgeService(self.config, self.engine)
        await self.service.start(poll=False)
        self.http = aiohttp.ClientSession()

    async def stop(self) -> None:
        await self.http.close()
        await self.service.stop()
        self.engine.dispose()

    async def post(self, token: str | None, body) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs = {"data": body} if isinstance(body, (str, bytes)) else {"json": body}
        async with self.http.post(self.url, headers=headers, **kwargs) as resp:
            return resp.status, await resp.json()

    async def ids(self, unit: str) -> list[str]:
        return await asyncio.to_thread(self.nw.news_ids, unit)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def hook(news_world):
    h = Hook(news_world)
    await h.start()
    yield h
    await h.stop()


def item(n: int, **extra) -> dict:
    return {
        "id": f"cms-{n}",
        "title": f"Thông báo số {n} của Xã Hóc Môn",
        "link": f"https://xa.hcm.edu.vn/thong-bao/{n}",
        "summary": f"Nội dung tóm tắt của thông báo số {n}.",
        "published": "2025-09-05T07:30:00+07:00",
        **extra,
    }


async def test_a_missing_wrong_or_revoked_token_is_refused(hook, news_world):
    body = {"items": [item(0)], "targets": [news_world.u("xa")]}
    assert (await hook.post(None, body))[0] == 401
    assert (await hook.post("dhw_not-a-token", body))[0] == 401
    old = cli_token(news_world, "mn1")
    new = cli_token(news_world, "mn1")  # a new token replaces the old one
    assert (await hook.post(old, {**body, "targets": [news_world.u("mn1")]}))[0] == 401
    status, answer = await hook.post(new, {"items": [item(0)], "targets": []})
    assert (status, answer["field"]) == (400, "targets")  # authenticated, then validated


async def test_targets_outside_authority_are_refused_and_nothing_is_sent(hook, news_world):
    nw = news_world
    office = cli_token(nw, "xa")
    before = {unit: await hook.ids(unit) for unit in ("thcs1", "mn1", "thpt1")}
    status, answer = await hook.post(
        office,
        {"items": [item(1)], "targets": [nw.u("thcs1"), nw.u("thpt1"), "khong-co-don-vi"]},
    )
    assert status == 403
    assert answer["units"] == [nw.u("thpt1"), "khong-co-don-vi"]
    assert "Không có quyền gửi tin đến các đơn vị" in answer["error"]
    # a school reaches only itself (here with a token from the configuration)
    status, answer = await hook.post(
        CONFIG_TOKEN, {"items": [item(1)], "targets": [nw.u("thcs2"), nw.u("thcs1")]}
    )
    assert (status, answer["units"]) == (403, [nw.u("thcs1")])
    assert {unit: await hook.ids(unit) for unit in before} == before


async def test_bad_bodies_are_refused_naming_the_field(hook, news_world):
    token = cli_token(news_world, "xa", "--keep-old")
    target = [news_world.u("mn1")]
    cases = [
        ("{not json", "body"),
        ({"targets": target}, "items"),
        ({"items": [item(2)]}, "targets"),
        ({"items": [{"id": "x"}], "targets": target}, "items[0].title"),
        ({"items": [item(2), {"title": "Không mã"}], "targets": target}, "items[1].id"),
        ({"items": [item(2, link="javascript:alert(1)")], "targets": target}, "items[0].link"),
        ({"items": [item(2, published="hôm qua")], "targets": target}, "items[0].published"),
        ({"items": [item(2), item(2)], "targets": target}, "items[1].id"),
        ({"items": [item(2)], "targets": [5]}, "targets[0]"),
    ]
    for body, field in cases:
        status, answer = await hook.post(token, body)
        assert (status, answer.get("field")) == (400, field), (body, answer)
        assert answer["error"]
    assert not [i for i in await hook.ids("mn1") if i.startswith("cms-2")]


@contextlib.contextmanager
def room_not_created(nw, unit: str) -> Iterator[None]:
    """As if apply had not created the unit's room yet (its mirror row without a room id)."""
    key = f"unit/{nw.u(unit)}/announcements"
    with nw.world.engine.begin() as conn:
        room_id = conn.execute(select(MatrixRoom.room_id).where(MatrixRoom.key == key)).scalar()
        conn.execute(update(MatrixRoom).where(MatrixRoom.key == key).values(room_id=None))
    try:
        yield
    finally:
        with nw.world.engine.begin() as conn:
            conn.execute(update(MatrixRoom).where(MatrixRoom.key == key).values(room_id=room_id))


async def test_delivers_within_authority_and_is_idempotent_by_item_id(hook, news_world):
    nw = news_world
    token = cli_token(nw, "xa")
    evil = '<p>Chi tiết <script>alert(1)</script><a href="javascript:x()">đây</a></p>'
    items = [item(3), item(4, summary=None, content_html=evil)]
    targets = [nw.u("mn1"), nw.u("th1"), nw.u("toan"), nw.u("xa")]
    with room_not_created(nw, "toan"):
        status, answer = await hook.post(token, {"items": items, "targets": targets})
    assert status == 200, answer
    delivered = {(d["item"], d["unit"]) for d in answer["delivered"]}
    assert delivered == {(i["id"], nw.u(u)) for i in items for u in ("mn1", "th1", "xa")}, answer
    assert all(d["event_id"].startswith("$") for d in answer["delivered"])
    # a unit whose room apply has not created yet: not delivered, said so
    assert {(f["item"], f["unit"]) for f in answer["failed"]} == {
        ("cms-3", nw.u("toan")),
        ("cms-4", nw.u("toan")),
    }
    assert "chưa có phòng Thông tin điều hành" in answer["failed"][0]["reason"]

    # the portal retries (twice at once, even): nothing is sent again
    sent_to = [nw.u("mn1"), nw.u("th1"), nw.u("xa")]
    again = await asyncio.gather(
        hook.post(token, {"items": items, "targets": sent_to}),
        hook.post(token, {"items": items, "targets": sent_to}),
    )
    for status, repeat in again:
        assert status == 200
        assert repeat["delivered"] == []
        assert {(a["item"], a["unit"]) for a in repeat["already"]} == delivered
    # once the tổ's room exists, sending again reaches it (the failure sent nothing)
    status, later = await hook.post(token, {"items": items, "targets": targets})
    assert {(d["item"], d["unit"]) for d in later["delivered"]} == {
        ("cms-3", nw.u("toan")),
        ("cms-4", nw.u("toan")),
    }, later
    assert (await hook.ids("toan")).count("cms-3") == 1
    for unit in ("mn1", "th1", "xa"):
        ids = await hook.ids(unit)
        assert ids.count("cms-3") == ids.count("cms-4") == 1, (unit, ids)
    events = await asyncio.to_thread(nw.news, "mn1")
    cms4 = next(e for e in events if e["content"]["vn.dieuhanh.news"]["item_id"] == "cms-4")
    assert cms4["sender"] == nw.ghost("xa")  # the portal's own ghost, in another unit's room
    assert "<script" not in cms4["content"]["formatted_body"]
    assert "javascript:" not in cms4["content"]["formatted_body"]
    assert "05/09/2025" in cms4["content"]["body"]
