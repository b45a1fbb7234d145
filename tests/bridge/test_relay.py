"""The feed relay against the real Synapse and a real local feed server, the bridge running
in-process (its poll cycles driven by the test, with a clock that jumps a day each time,
so every feed is due). What members see is read from the rooms through the admin API."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re

import pytest
import pytest_asyncio

from bridge import poller as poller_module
from bridge import post
from bridge.db.delivery import Delivery
from bridge.db.feed import Feed
from bridge.db.item import NewsItem
from bridge.delivery import txn_id
from bridge.post import NEWS_KEY
from bridge.service import BridgeService
from dieuhanh.db import open_database
from provisioning.db.threads import utcnow

from .conftest import FEEDS, rss_items
from .feedserver import rss

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Relay:
    """The bridge in this process, and a clock for its poll cycles."""

    def __init__(self, news_world) -> None:
        self.nw = news_world
        self.config = news_world.config()
        self.clock = utcnow()
        self.service: BridgeService | None = None
        self.parsed: list[str] = []

    async def start(self) -> None:
        self.engine = open_database(self.nw.db_url)
        self.service = BridgeService(self.config, self.engine)
        await self.service.start(poll=False)

    async def stop(self) -> None:
        await self.service.stop()
        self.engine.dispose()

    async def poll(self):
        self.clock += dt.timedelta(days=1)
        return {r.unit_code: r for r in await self.service.poller.poll_due(self.clock)}

    async def read(self, fn, *args):
        """A blocking read of Synapse, off the loop the bridge runs on."""
        return await asyncio.to_thread(fn, *args)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def relay(news_world, monkeypatch_module):
    r = Relay(news_world)
    real_parse = poller_module._parse

    def counting_parse(fetched, url, *rest):
        r.parsed.append(url)
        return real_parse(fetched, url, *rest)

    monkeypatch_module.setattr(poller_module, "_parse", counting_parse)
    await r.start()
    yield r
    await r.stop()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def ids(unit: str, numbers) -> list[str]:
    return [f"{unit}-{n}" for n in numbers]


async def test_rss_and_atom_items_arrive_once_in_the_right_room(relay, news_world):
    nw = news_world
    results = await relay.poll()  # (the admin page's bridge process may have read them first)
    assert results[nw.u("thcs1")].status in ("ok", "not_modified"), results
    assert results[nw.u("thcs2")].status in ("ok", "not_modified"), results

    # first sight: only the 3 newest, oldest first, each once; the back catalogue stays out
    assert await relay.read(nw.news_ids, "thcs1") == ids("thcs1", [3, 4, 5])
    atom_ids = await relay.read(nw.news_ids, "thcs2")
    assert atom_ids == ["urn:thcs2:2", "urn:thcs2:3", "urn:thcs2:4"]
    # never into another unit's room
    assert not set(atom_ids) & set(await relay.read(nw.news_ids, "thcs1"))

    events = await relay.read(nw.events, "thcs1")
    texts = [e for e in events if e["content"].get(NEWS_KEY)]
    newest = next(e for e in texts if e["content"][NEWS_KEY]["item_id"] == "thcs1-5")
    assert newest["sender"] == nw.ghost("thcs1")
    content = newest["content"]
    assert content["msgtype"] == "m.text"
    assert content["body"].splitlines()[:2] == [
        "Tin số 5 của thcs1: hoạt động tháng 9",
        "06/09/2025",  # 08:00 on 6/9 in Ho Chi Minh City
    ]
    assert "Xem tiếp: https://thcs1.hcm.edu.vn/tin-tuc/5" in content["body"]
    assert content["formatted_body"].startswith(
        '<p><strong><a href="https://thcs1.hcm.edu.vn/tin-tuc/5">'
    )
    assert "<em>06/09/2025</em>" in content["formatted_body"]
    assert "<b>tin 5</b>" in content["formatted_body"]
    # the lead image follows the text, from the media repository
    after = events[events.index(newest) + 1]
    assert after["content"]["msgtype"] == "m.image"
    assert after["content"]["url"].startswith("mxc://")
    assert after["content"]["info"]["w"] == 40
    assert after["content"][NEWS_KEY]["item_id"] == "thcs1-5"
    # the ghost carries the portal's name
    profile = await relay.read(
        nw.synapse.api, "GET", f"/_matrix/client/v3/profile/{nw.ghost('thcs1')}"
    )
    assert profile["displayname"] == "Cổng TTĐT Trường THCS Đỗ Văn Dậy"

    # two new items on the portal: they arrive, once each, in order; nothing else moves
    nw.feed("thcs1").set(rss(rss_items("thcs1", 7, image=nw.server.url("/img/khai-giang.png"))))
    results = await relay.poll()
    assert (results[nw.u("thcs1")].new_items, results[nw.u("thcs1")].posted) == (2, 2)
    assert await relay.read(nw.news_ids, "thcs1") == ids("thcs1", [3, 4, 5, 6, 7])
    assert await relay.read(nw.news_ids, "thcs2") == atom_ids


async def test_unchanged_feeds_answer_304_and_cost_no_parsing(relay, news_world):
    nw = news_world
    await relay.poll()  # whatever changed is read now
    rss_feed, atom_feed = nw.feed("thcs1"), nw.feed("thcs2")
    before_304 = (rss_feed.answered_304, atom_feed.answered_304)
    relay.parsed.clear()
    results = await relay.poll()
    assert results[nw.u("thcs1")].status == "not_modified"
    assert results[nw.u("thcs2")].status == "not_modified"
    assert rss_feed.answered_304 == before_304[0] + 1
    assert atom_feed.answered_304 == before_304[1] + 1
    # ETag for the RSS portal, Last-Modified for the Atom one (it sends no ETag)
    assert "If-None-Match" in rss_feed.conditional_headers[-1]
    assert list(atom_feed.conditional_headers[-1]) == ["If-Modified-Since"]
    assert nw.server.url(FEEDS["thcs1"]) not in relay.parsed
    assert nw.server.url(FEEDS["thcs2"]) not in relay.parsed


async def test_a_restart_reposts_nothing(relay, news_world):
    nw = news_world
    await relay.poll()
    before = {unit: await relay.read(nw.news_ids, unit) for unit in ("thcs1", "thcs2", "xss")}
    await relay.stop()
    # a portal that forgets validators: full answers, parsed again, still nothing reposted
    for unit in ("thcs1", "thcs2"):
        nw.feed(unit).conditional = False
    relay.parsed.clear()
    await relay.start()
    try:
        results = await relay.poll()
        assert results[nw.u("thcs1")].status == "ok"
        assert results[nw.u("thcs1")].new_items == 0
        assert nw.server.url(FEEDS["thcs1"]) in relay.parsed
        assert await relay.service.deliverer.resume() == 0
        after = {unit: await relay.read(nw.news_ids, unit) for unit in before}
        assert after == before
        # even with our record of it lost, a retried send is de-duplicated by Synapse:
        # the same transaction id from the ghost's device gives back the same event
        engine, deliverer = relay.engine, relay.service.deliverer
        recent = await NewsItem.recent(engine, [nw.u("thcs1")], 50)
        [item] = [i for i in recent if i.item_id == "thcs1-5"]
        [sent] = (await Delivery.of_items(engine, [item.id]))[item.id]
        intent = await relay.service.ghosts.intent(nw.u("thcs1"), "Trường THCS Đỗ Văn Dậy")
        again = await deliverer.send(
            intent,
            sent.room_id,
            post.item_message(item, 400),
            txn_id(item, sent.room_id, "text", str(intent.mxid)),
        )
        assert again == sent.event_id
        assert await relay.read(nw.news_ids, "thcs1") == before["thcs1"]
    finally:
        for unit in ("thcs1", "thcs2"):
            nw.feed(unit).conditional = True


async def test_failing_feeds_are_survived_and_reported_once(relay, news_world):
    nw = news_world
    bad = ["bad1", "bad2", "bad3", "bad4"]
    await relay.poll()  # they worked so far
    assert [len(await relay.read(nw.news_ids, unit)) for unit in bad] == [2, 2, 2, 2]
    nw.feed("bad1").set("<html><body><h1>Không tìm thấy trang</h1></body></html>".encode())
    nw.feed("bad1").content_type = "text/html; charset=utf-8"
    nw.feed("bad2").delay = 60.0  # far beyond the 5 s timeout
    nw.feed("bad3").stream_bytes = 3_000_000
    nw.feed("bad4").status = 500
    started = asyncio.get_running_loop().time()
    # a good feed keeps working in the same cycles
    nw.feed("thcs1").set(rss(rss_items("thcs1", 8)))
    results = await relay.poll()
    took = asyncio.get_running_loop().time() - started
    assert took < 30, "a slow feed must cost its timeout, not hold the cycle"
    assert results[nw.u("thcs1")].posted == 1
    errors = {unit: results[nw.u(unit)].error for unit in bad}
    assert errors["bad1"].startswith("not a readable feed"), errors
    assert errors["bad2"].startswith("timed out"), errors
    assert errors["bad3"].startswith("larger than"), errors
    assert errors["bad4"] == "HTTP 500", errors
    nw.feed("bad2").delay, nw.feed("bad2").status = 0.0, 503  # failing still, but at once
    for _ in range(3):  # failure_report_after is 2: reported at the 2nd, then never again
        results = await relay.poll()
        assert all(results[nw.u(unit)].status == "failed" for unit in bad)
    for unit in bad:
        notices = await relay.read(nw.notices, unit)
        assert len(notices) == 1, await relay.read(nw.dump, unit)
        content = notices[0]["content"]
        assert content["vn.dieuhanh.feed_status"]["status"] == "failing"
        assert notices[0]["sender"] == nw.ghost(unit)
        principal = nw.world.user_id(f"htb{unit[-1]}")
        assert content["m.mentions"]["user_ids"] == [principal]
        assert "Không lấy được tin tức từ cổng thông tin điện tử" in content["body"]
    state = await Feed.get(relay.engine, nw.u("bad4"))
    assert state.error_count == 4
    # exponential backoff, capped
    assert (state.next_poll_at - relay.clock).total_seconds() == pytest.approx(7200, rel=0.11)

    # the 500 portal comes back: told once; then fails again: reported once more
    nw.feed("bad4").status = 200
    await relay.poll()
    kinds = [n["content"]["vn.dieuhanh.feed_status"]["status"] for n in nw.notices("bad4")]
    assert kinds == ["failing", "recovered"]
    nw.feed("bad4").status = 500
    for _ in range(3):
        await relay.poll()
    kinds = [n["content"]["vn.dieuhanh.feed_status"]["status"] for n in nw.notices("bad4")]
    assert kinds == ["failing", "recovered", "failing"]
    assert [len(await relay.read(nw.notices, u)) for u in bad[:3]] == [1, 1, 1]


async def test_script_onerror_and_javascript_links_never_reach_matrix(relay, news_world):
    nw = news_world
    await relay.poll()
    events = await relay.read(nw.events, "xss")
    news = [e for e in events if NEWS_KEY in e["content"]]
    assert {e["content"][NEWS_KEY]["item_id"] for e in news} == {"xss-1", "xss-2"}
    everything = json.dumps([e["content"] for e in news], ensure_ascii=False).lower()
    forbidden_words = ["<script", "onerror", "onclick", "onmouseover", "javascript:"]
    forbidden_words += ["alert(", "<iframe", "<style", "color:red"]
    for forbidden in forbidden_words:
        assert forbidden not in everything, (forbidden, everything)
    first = next(e for e in news if e["content"][NEWS_KEY]["item_id"] == "xss-1")["content"]
    # the title lost its tags, the javascript: link its href, the good link stayed
    assert first["body"].startswith("Thông báo tuyển sinh\n")
    assert first[NEWS_KEY]["link"] is None
    assert '<a href="https://ok.hcm.edu.vn/">hợp lệ</a>' in first["formatted_body"]
    assert re.search(r"<a>bấm vào</a>", first["formatted_body"])
    # the javascript: "image" was never fetched nor posted
    assert not any(e["content"].get("msgtype") == "m.image" for e in news)
