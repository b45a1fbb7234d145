"""A real local HTTP server for feeds (aiohttp, in a thread of its own), with the manners of
real portals: ETag / Last-Modified and 304s (or not), slowness, huge answers, errors.

Used by the bridge tests and by bench/feeds.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import hashlib
import io
import random
import threading
from dataclasses import dataclass, field
from html import escape
from typing import Any

from aiohttp import web

from dieuhanh.embedded.ports import free_port


@dataclass
class Feed:
    """What one URL answers; tests change these fields between polls."""

    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    delay: float = 0.0
    etag: bool = True  # send an ETag (and honour If-None-Match)
    last_modified: bool = True  # send Last-Modified (and honour If-Modified-Since)
    conditional: bool = True  # answer 304 when the validators match
    stream_bytes: int = 0  # > 0: stream this many bytes without Content-Length (a huge feed)
    redirect: str | None = None  # answer 302 to this URL instead
    modified_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    requests: int = 0
    answered_304: int = 0
    conditional_headers: list[dict[str, str]] = field(default_factory=list)

    def set(self, body: bytes) -> None:
        if body != self.body:
            self.body = body
            self.modified_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.requests + 1)

    @property
    def etag_value(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'

    @property
    def last_modified_value(self) -> str:
        return email.utils.format_datetime(self.modified_at, usegmt=True)


class FeedServer:
    def __init__(self, jitter: tuple[float, float] = (0.0, 0.0), host: str = "127.0.0.1") -> None:
        self.feeds: dict[str, Feed] = {}
        self.images: dict[str, bytes] = {}
        self.image_requests: dict[str, int] = {}
        self.jitter = jitter
        self.host = host
        self.port = free_port(host)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def feed(self, path: str, **kwargs: Any) -> Feed:
        self.feeds[path] = Feed(**kwargs)
        return self.feeds[path]

    # ------------------------------------------------------------------ serving

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in self.images:
            self.image_requests[path] = self.image_requests.get(path, 0) + 1
            return web.Response(body=self.images[path], content_type="image/png")
        feed = self.feeds.get(path)
        if feed is None:
            return web.Response(status=404, text="not found")
        feed.requests += 1
        low, high = self.jitter
        if high > 0:
            await asyncio.sleep(random.uniform(low, high))
        if feed.delay:
            await asyncio.sleep(feed.delay)
        if feed.redirect:
            raise web.HTTPFound(feed.redirect)
        if feed.status != 200:
            return web.Response(status=feed.status, text="Lỗi máy chủ")
        if feed.stream_bytes:
            response = web.StreamResponse(headers={"Content-Type": feed.content_type})
            response.enable_chunked_encoding()
            await response.prepare(request)
            chunk = b"<!-- " + b"x" * 65_000 + b" -->\n"
            sent = 0
            try:
                while sent < feed.stream_bytes:
                    await response.write(chunk)
                    sent += len(chunk)
                await response.write_eof()
            except (ConnectionResetError, RuntimeError):
                pass
            return response
        headers = {}
        if feed.etag:
            headers["ETag"] = feed.etag_value
        if feed.last_modified:
            headers["Last-Modified"] = feed.last_modified_value
        seen = {
            k: v for k, v in request.headers.items() if k in ("If-None-Match", "If-Modified-Since")
        }
        if seen:
            feed.conditional_headers.append(seen)
        if feed.conditional and seen:
            etag_ok = feed.etag and seen.get("If-None-Match") == feed.etag_value
            lm_ok = (
                feed.last_modified
                and not feed.etag
                and seen.get("If-Modified-Since") == feed.last_modified_value
            )
            if etag_ok or lm_ok:
                feed.answered_304 += 1
                return web.Response(status=304, headers=headers)
        return web.Response(body=feed.body, headers={**headers, "Content-Type": feed.content_type})

    def start(self) -> FeedServer:
        self._thread = threading.Thread(target=self._run, name="feed-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("feed server did not start")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(self._serve())
        loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port, backlog=1024).start()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(10)


# ------------------------------------------------------------------------------ documents


def rfc822(when: dt.datetime) -> str:
    return email.utils.format_datetime(when, usegmt=True)


def rss(items: list[dict[str, Any]], *, title: str = "Tin tức", link: str = "") -> bytes:
    """An RSS 2.0 document; each item: guid?, title, link?, description? (HTML), date?, image?"""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>',
        f"<title>{escape(title)}</title><link>{escape(link)}</link>"
        "<description>Cổng thông tin điện tử</description>",
    ]
    for item in items:
        out.append("<item>")
        out.append(f"<title>{escape(item['title'])}</title>")
        if item.get("link"):
            out.append(f"<link>{escape(item['link'])}</link>")
        if item.get("guid"):
            out.append(f'<guid isPermaLink="false">{escape(item["guid"])}</guid>')
        if item.get("description"):
            out.append(f"<description>{escape(item['description'])}</description>")
        if item.get("date"):
            out.append(f"<pubDate>{rfc822(item['date'])}</pubDate>")
        if item.get("image"):
            out.append(f'<media:content url="{escape(item["image"])}" medium="image"/>')
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out).encode("utf-8")


def atom(items: list[dict[str, Any]], *, title: str = "Tin tức", link: str = "") -> bytes:
    """An Atom document; each item: id, title, link?, summary? (HTML), date?"""
    now = dt.datetime.now(dt.UTC).isoformat()
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f'<title>{escape(title)}</title><link href="{escape(link)}"/>'
        f"<id>urn:feed:{escape(title)}</id><updated>{now}</updated>",
    ]
    for item in items:
        out.append("<entry>")
        out.append(f"<id>{escape(item['id'])}</id>")
        out.append(f'<title type="text">{escape(item["title"])}</title>')
        if item.get("link"):
            out.append(f'<link rel="alternate" href="{escape(item["link"])}"/>')
        if item.get("summary"):
            out.append(f'<summary type="html">{escape(item["summary"])}</summary>')
        if item.get("date"):
            out.append(f"<updated>{item['date'].isoformat()}</updated>")
        out.append("</entry>")
    out.append("</feed>")
    return "\n".join(out).encode("utf-8")


def png(width: int = 8, height: int = 6, color: tuple[int, int, int] = (11, 107, 203)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()
