"""Benchmark: how many feeds per minute the bridge's poller gets through at its default
concurrency, against a local server of N portals with a small random latency.

Rounds (the same N URLs each time, on a fresh SQLite directory):

- baseline 200: a bare aiohttp GET of every URL, at the same concurrency;
- first sight: the poller's first poll (200, parse, store every item, "post" the newest 3
  of each feed to a sink that only counts — Matrix is not part of this measure);
- 304: every portal answers 304 to the poller's conditional request (nothing parsed);
- baseline 304: a bare conditional GET of every URL (If-None-Match), same concurrency;
- unchanged 200: portals that ignore conditional requests (parsed, nothing new).

The server runs in a child process, so that it does not share the poller's CPU.

    .venv/bin/python bench/feeds.py                      # 500 feeds, 5–50 ms latency
    .venv/bin/python bench/feeds.py --feeds 2000 --items 20
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def serve(port: int, feeds: int, items: int, latency: tuple[float, float], ready) -> None:
    """The portals: /f/<n>.xml, each an RSS document of ``items`` items."""
    from tests.bridge.feedserver import FeedServer, rss

    server = FeedServer(jitter=latency)
    server.port = port
    day = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
    for n in range(feeds):
        body = rss(
            [
                {
                    "guid": f"f{n}-{i}",
                    "title": f"Tin {i} của trường số {n}: hoạt động chuyên môn tháng 9",
                    "link": f"https://truong{n}.hcm.edu.vn/tin/{i}",
                    "description": f"<p>Nội dung <b>tin {i}</b> — " + "chữ " * 60 + "</p>",
                    "date": day + dt.timedelta(hours=i),
                }
                for i in range(items)
            ]
        )
        server.feed(f"/f/{n}.xml", body=body)
    import threading

    control = threading.Event()
    server.start()
    ready.set()
    control.wait()  # until the parent terminates us


async def baseline(urls: list[str], concurrency: int, etags: dict[str, str] | None) -> float:
    import aiohttp

    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max(concurrency * 2, 16))
    ) as session:

        async def get(url: str) -> None:
            headers = {"If-None-Match": etags[url]} if etags else {}
            async with sem, session.get(url, headers=headers) as resp:
                await resp.read()
                assert resp.status in (200, 304)

        started = time.perf_counter()
        await asyncio.gather(*(get(u) for u in urls))
        return time.perf_counter() - started


class Sink:
    """Counts what the poller would post (no Matrix in this measure)."""

    def __init__(self) -> None:
        self.posted = 0

    async def deliver(self, items, unit_codes, *, via):
        self.posted += len(items) * len(unit_codes)
        return [type("Outcome", (), {"status": "delivered"})() for _ in items]

    async def notice(self, unit_code, content, txn):
        return "$notice"

    async def resume(self) -> int:
        return 0


def seed(engine, urls: list[str]) -> None:
    """One school per URL, each with its feed and a "Tin tức" room."""
    from sqlalchemy import insert

    from provisioning.db.models import MatrixRoom, Unit

    with engine.begin() as conn:
        conn.execute(
            insert(Unit),
            [
                {"code": f"t{n}", "name": f"Trường số {n}", "kind": "school", "rss_url": url}
                for n, url in enumerate(urls)
            ],
        )
        conn.execute(
            insert(MatrixRoom),
            [
                {"key": f"unit/t{n}/announcements", "room_id": f"!r{n}:bench"}
                | {"purpose": "announcements"}
                | {"unit_code": f"t{n}"}
                for n in range(len(urls))
            ],
        )


async def run(args: argparse.Namespace, urls: list[str], db_url: str) -> list[tuple]:
    import aiohttp
    from sqlalchemy import update

    from bridge.config import BridgeConfig
    from bridge.db.feed import BridgeFeed, Feed
    from bridge.directory import BridgeDirectory
    from bridge.poller import Poller
    from dieuhanh.db import open_database
    from provisioning.db.threads import utcnow

    engine = open_database(db_url)
    seed(engine, urls)
    settings = BridgeConfig()  # the defaults: concurrency, timeout, sizes
    directory, sink = BridgeDirectory(engine), Sink()
    rows = []
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max(settings.poll_concurrency * 2, 16)),
        cookie_jar=aiohttp.DummyCookieJar(),
    ) as session:
        poller = Poller(engine, directory, sink, settings, session)
        clock = utcnow()

        async def round_(label: str) -> None:
            nonlocal clock
            clock += dt.timedelta(days=1)
            before = (poller.stats.parsed, poller.stats.not_modified, poller.stats.failed)
            started = time.perf_counter()
            results = await poller.poll_due(clock)
            took = time.perf_counter() - started
            parsed = poller.stats.parsed - before[0]
            not_modified = poller.stats.not_modified - before[1]
            failed = poller.stats.failed - before[2]
            assert len(results) == len(urls) and failed == 0, (len(results), failed)
            rows.append((label, took, parsed, not_modified))

        b200 = await baseline(urls, settings.poll_concurrency, None)
        rows.append(("baseline: bare GET (200)", b200, 0, 0))
        await round_("poller: first sight (200, parse, store)")
        posted = sink.posted
        await round_("poller: all answer 304")
        etags = {f.url: f.etag for f in await Feed.all(engine)}
        b304 = await baseline(urls, settings.poll_concurrency, etags)
        rows.append(("baseline: bare conditional GET (304)", b304, 0, 0))
        with engine.begin() as conn:  # portals that ignore validators
            conn.execute(update(BridgeFeed).values(etag=None, last_modified=None))
        await round_("poller: unchanged, no validators (200, parse)")
    engine.dispose()
    print(f"first sight posted {posted} items ({settings.first_sight_items} per feed)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=10, help="items per feed")
    parser.add_argument("--latency-ms", default="5-50", help="server latency range")
    args = parser.parse_args()
    low, high = (float(x) / 1000 for x in args.latency_ms.split("-"))

    from bridge.config import BridgeConfig
    from dieuhanh.embedded.ports import free_port

    port = free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(
        target=serve, args=(port, args.feeds, args.items, (low, high), ready), daemon=True
    )
    server.start()
    if not ready.wait(120):
        raise SystemExit("feed server did not start")
    urls = [f"http://127.0.0.1:{port}/f/{n}.xml" for n in range(args.feeds)]
    random.shuffle(urls)
    concurrency = BridgeConfig().poll_concurrency
    print(
        f"{args.feeds} feeds × {args.items} items, latency {args.latency_ms} ms, "
        f"concurrency {concurrency}"
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rows = asyncio.run(run(args, urls, f"sqlite:///{Path(tmp) / 'bench.db'}"))
    finally:
        server.terminate()
        server.join(10)
    print(f"{'round':48} {'seconds':>8} {'feeds/min':>10} {'parsed':>7} {'304':>5}")
    for label, took, parsed, not_modified in rows:
        rate = args.feeds / took * 60
        print(f"{label:48} {took:8.2f} {rate:10,.0f} {parsed:7} {not_modified:5}")


if __name__ == "__main__":
    main()
