"""The feed relay's schedule: which feed is polled when, and what happens to what it says.

State is in rows (``bridge_feeds``): the next poll time, the conditional-request validators,
the count of failures in a row and whether they were reported. A cycle:

1. the feeds to poll = active units with a feed URL and a "Thông tin điều hành" room (a
   new URL, or a changed one, is seen for the first time: its back catalogue is stored, not posted —
   only the newest ``first_sight_items`` are);
2. those due are fetched with at most ``poll_concurrency`` in flight (304 → nothing to
   parse), parsed in a worker thread, stored, and their new items delivered oldest first;
3. a failure doubles the wait (from the poll interval up to ``max_backoff_seconds``); after
   ``failure_report_after`` failures in a row the unit's managers are told once, in the
   unit's news room, and told again only after the feed recovered (which is also said).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import random
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
from sqlalchemy import Engine

from bridge import feeds, post
from bridge.config import BridgeConfig
from bridge.db.feed import Feed
from bridge.db.item import NewsItem
from bridge.directory import BridgeDirectory
from provisioning.db.threads import utcnow

log = logging.getLogger(__name__)

#: The loop looks again at least this often (new feeds, directory changes).
MAX_IDLE = 30.0
#: Unsent deliveries (Matrix was unreachable) are retried this often.
RESUME_EVERY = 300.0
JITTER = 0.1


class Deliveries(Protocol):
    async def deliver(self, items: list[NewsItem], unit_codes: list[str], *, via: str) -> list: ...

    async def notice(self, unit_code: str, content: dict, txn: str) -> str | None: ...

    async def resume(self) -> int: ...


@dataclass
class PollStats:
    polls: int = 0
    not_modified: int = 0
    parsed: int = 0
    failed: int = 0
    new_items: int = 0
    posted: int = 0
    reported: int = 0
    recovered: int = 0


@dataclass
class PollResult:
    unit_code: str
    status: str  # ok | not_modified | failed
    new_items: int = 0
    posted: int = 0
    error: str | None = None
    extra: dict = field(default_factory=dict)


def backoff(settings: BridgeConfig, failures: int) -> float:
    """Seconds before the next try after ``failures`` failures in a row."""
    base = max(settings.poll_interval_seconds, 1)
    return float(min(base * 2 ** max(failures - 1, 0), max(settings.max_backoff_seconds, base)))


def jittered(seconds: float) -> dt.timedelta:
    return dt.timedelta(seconds=seconds * (1 + random.uniform(-JITTER, JITTER)))


class Poller:
    def __init__(
        self,
        engine: Engine,
        directory: BridgeDirectory,
        deliveries: Deliveries,
        settings: BridgeConfig,
        session: aiohttp.ClientSession,
    ) -> None:
        self.engine = engine
        self.directory = directory
        self.deliveries = deliveries
        self.settings = settings
        self.session = session
        self._sem = asyncio.Semaphore(max(settings.poll_concurrency, 1))
        self.stats = PollStats()

    # ------------------------------------------------------------------ the loop

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; one failing cycle never stops the loop."""
        last_resume = -RESUME_EVERY
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                if loop.time() - last_resume >= RESUME_EVERY:
                    last_resume = loop.time()
                    await self.deliveries.resume()
                await self.poll_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("poll cycle failed")
            wait = MAX_IDLE
            try:
                sources = await self.directory.feed_sources()
                due = await Feed.first_due_at(self.engine, set(sources))
                if due is not None:
                    wait = (due - utcnow()).total_seconds()
            except Exception:
                log.exception("cannot read the next poll time")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(max(wait, 0.5), MAX_IDLE))

    async def poll_due(self, now: dt.datetime | None = None) -> list[PollResult]:
        """Poll every feed that is due at ``now`` (default: now)."""
        now = now or utcnow()
        sources = await self.directory.feed_sources()
        await Feed.sync(self.engine, sources, now)
        due = await Feed.due(self.engine, now, set(sources))
        if not due:
            return []
        results = await asyncio.gather(*(self.poll_feed(state, now) for state in due))
        return list(results)

    # ------------------------------------------------------------------ one feed

    async def poll_feed(self, state: Feed, now: dt.datetime) -> PollResult:
        code, url = state.unit_code, state.url
        self.stats.polls += 1
        try:
            async with self._sem:
                fetched = await feeds.fetch(
                    self.session,
                    url,
                    etag=state.etag,
                    last_modified=state.last_modified,
                    timeout=self.settings.feed_timeout_seconds,
                    max_bytes=self.settings.max_feed_bytes,
                )
            if fetched.not_modified:
                self.stats.not_modified += 1
                before = await Feed.record_ok(
                    self.engine, code, now, self._next(now), fetched.etag, fetched.last_modified
                )
                await self._maybe_recovered(before)
                return PollResult(code, "not_modified")
            self.stats.parsed += 1
            items = await asyncio.to_thread(_parse, fetched, url, self.settings.max_feed_items)
        except feeds.FeedError as exc:
            return await self._failed(state, exc, now)

        fresh = await NewsItem.store_from_feed(self.engine, code, items, now)
        before = await Feed.record_ok(
            self.engine, code, now, self._next(now), fetched.etag, fetched.last_modified
        )
        first_sight = before is None or not before.initialized
        limit = (
            self.settings.first_sight_items if first_sight else self.settings.max_new_items_per_poll
        )
        to_post = fresh[: max(limit, 0)]
        if len(fresh) > len(to_post):
            log.info(
                "feed of %s: %d new items, posting the newest %d%s",
                code,
                len(fresh),
                len(to_post),
                " (first sight)" if first_sight else "",
            )
        self.stats.new_items += len(fresh)
        posted = 0
        for item in reversed(to_post):  # oldest first, so the room reads in order
            outcomes = await self.deliveries.deliver([item], [code], via="feed")
            posted += sum(1 for o in outcomes if getattr(o, "status", "") == "delivered")
        self.stats.posted += posted
        await self._maybe_recovered(before)
        return PollResult(code, "ok", new_items=len(fresh), posted=posted)

    def _next(self, now: dt.datetime) -> dt.datetime:
        return now + jittered(self.settings.poll_interval_seconds)

    async def _failed(self, state: Feed, exc: feeds.FeedError, now: dt.datetime) -> PollResult:
        failures = state.error_count + 1
        after = await Feed.record_failure(
            self.engine,
            state.unit_code,
            now,
            exc.reason,
            now + jittered(backoff(self.settings, failures)),
        )
        self.stats.failed += 1
        log.warning(
            "feed %s of %s failed (%d in a row): %s",
            state.url,
            state.unit_code,
            after.error_count,
            exc.reason,
        )
        if after.error_count >= self.settings.failure_report_after and after.reported_at is None:
            await self._report(after, exc.message, now)
        return PollResult(state.unit_code, "failed", error=exc.reason)

    async def _report(self, state: Feed, problem: str, now: dt.datetime) -> None:
        code = state.unit_code
        since = state.failing_since or now
        content = post.failure_notice(
            await self.directory.unit_name(code),
            state.url,
            problem,
            since,
            state.error_count,
            await self.directory.managers(code),
        )
        try:
            sent = await self.deliveries.notice(code, content, _txn("failing", code, since))
        except Exception:
            log.exception("could not report the failing feed of %s (will try again)", code)
            return
        if sent is not None and await Feed.mark_reported(self.engine, code, now):
            self.stats.reported += 1
            log.info("reported the failing feed of %s to its managers", code)

    async def _maybe_recovered(self, before: Feed | None) -> None:
        if before is None or before.reported_at is None:
            return
        code = before.unit_code
        content = post.recovery_notice(
            await self.directory.unit_name(code), before.url, await self.directory.managers(code)
        )
        try:
            await self.deliveries.notice(
                code, content, _txn("recovered", code, before.failing_since or before.reported_at)
            )
            self.stats.recovered += 1
            log.info("feed of %s recovered; managers told", code)
        except Exception:
            log.exception("could not tell that the feed of %s recovered", code)


def _parse(fetched: feeds.FetchResult, url: str, max_items: int) -> list[feeds.FeedItem]:
    try:
        return feeds.parse(
            fetched.body, url=url, content_type=fetched.content_type, max_items=max_items
        )
    except feeds.FeedError:
        raise
    except Exception as exc:  # feedparser is lenient, but a crash must not stop the cycle
        log.exception("parsing %s failed", url)
        raise feeds.FeedError(f"parser failed: {type(exc).__name__}", feeds.UNREADABLE) from exc


def _txn(kind: str, unit_code: str, since: dt.datetime) -> str:
    seed = f"{kind}\n{unit_code}\n{since.isoformat()}"
    return f"dhfeed-{kind}-" + hashlib.sha256(seed.encode()).hexdigest()[:32]
