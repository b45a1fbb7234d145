"""Fetching and reading one RSS/Atom feed.

- ``fetch``: one conditional GET (If-None-Match / If-Modified-Since) with a total timeout
  and a size cap read in chunks, so a slow or endless feed costs at most the timeout and
  ``max_bytes`` of memory. 304 means nothing to parse.
- ``parse``: feedparser over the bytes (a document declaring DTD markup — entities,
  attribute defaults — is refused first: entity expansion made a 5 MB feed cost minutes of
  CPU; only the first and last ``max_items`` entries are left for feedparser to read);
  the newest ``max_items`` entries each become a ``FeedItem`` with a stable id (guid,
  else link, else a sha256 of its content), a plain title, a sanitised summary, an http(s)
  link, a date and a lead image URL. Pure: no I/O.

What the unit's managers are told about a failing feed is one of ``FAILURE_REASONS``
(fixed Vietnamese sentences); addresses, ports and exception texts go to the log only.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import aiohttp
import feedparser
from feedparser.encodings import convert_to_utf8

from bridge import outbound, sanitize

log = logging.getLogger(__name__)

USER_AGENT = "DieuHanh-Bridge/0.1 (+https://matrix.org; tin tức cổng thông tin điện tử)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
MAX_ID_CHARS = 500
MAX_TITLE_CHARS = 300
MAX_ITEMS = 50

# What managers may be told (one of these, nothing else: see FeedError)
UNREACHABLE = "không kết nối được đến cổng thông tin"
TIMED_OUT = "cổng thông tin không trả lời kịp"
NOT_FOUND = "không tìm thấy trang RSS tại địa chỉ đã khai báo"
DENIED = "cổng thông tin không cho phép lấy tin"
SERVER_ERROR = "máy chủ cổng thông tin đang gặp lỗi"
BAD_ANSWER = "cổng thông tin trả lời không đúng cách"
TOO_MANY_REDIRECTS = "địa chỉ RSS chuyển hướng quá nhiều lần"
TOO_LARGE = "tệp RSS lớn hơn giới hạn cho phép"
NOT_A_FEED = "nội dung tại địa chỉ RSS không phải là RSS hay Atom đọc được"
UNSAFE_FEED = "tệp RSS có khai báo DTD (ENTITY, ATTLIST) không được hỗ trợ"
UNREADABLE = "không đọc được nội dung RSS"
FAILURE_REASONS = frozenset(
    {
        UNREACHABLE,
        TIMED_OUT,
        NOT_FOUND,
        DENIED,
        SERVER_ERROR,
        BAD_ANSWER,
        TOO_MANY_REDIRECTS,
        TOO_LARGE,
        NOT_A_FEED,
        UNSAFE_FEED,
        UNREADABLE,
    }
)


class FeedError(Exception):
    """A feed that could not be read; ``reason`` is a short English description for logs
    (addresses, exception texts), ``message`` the fixed Vietnamese one shown to the unit's
    managers: always one of ``FAILURE_REASONS``."""

    def __init__(self, reason: str, message: str) -> None:
        if message not in FAILURE_REASONS:
            raise ValueError(f"not a fixed failure reason: {message!r}")
        super().__init__(reason)
        self.reason, self.message = reason, message


@dataclass(slots=True)
class FetchResult:
    status: int
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    timeout: float,
    max_bytes: int,
) -> FetchResult:
    """GET ``url`` conditionally; raise FeedError for anything but 200/304 within limits."""
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with session.get(
            url,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
            allow_redirects=True,
            max_redirects=5,
        ) as resp:
            if resp.status == 304:
                return FetchResult(
                    304,
                    etag=resp.headers.get("ETag") or etag,
                    last_modified=resp.headers.get("Last-Modified") or last_modified,
                )
            if resp.status != 200:
                raise FeedError(f"HTTP {resp.status}", _status_message(resp.status))
            declared = resp.content_length
            if declared is not None and declared > max_bytes:
                raise _too_large(max_bytes)
            chunks, size = [], 0
            async for chunk in resp.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(max_bytes)
                chunks.append(chunk)
            return FetchResult(
                200,
                b"".join(chunks),
                etag=resp.headers.get("ETag"),
                last_modified=resp.headers.get("Last-Modified"),
                content_type=resp.headers.get("Content-Type"),
            )
    except FeedError:
        raise
    except TimeoutError:
        raise FeedError(f"timed out after {timeout:g} s", TIMED_OUT) from None
    except aiohttp.TooManyRedirects:
        raise FeedError("too many redirects", TOO_MANY_REDIRECTS) from None
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        raise _connection_failed(exc) from None


def _connection_failed(exc: BaseException) -> FeedError:
    """A refused address reads like any unreachable portal to managers (no oracle on what
    resolves where inside); the log says which it was."""
    detail = outbound.describe(exc)
    if outbound.refused_in(exc):
        return FeedError(f"address refused: {detail}", UNREACHABLE)
    return FeedError(f"connection failed: {detail}", UNREACHABLE)


def _status_message(status: int) -> str:
    if status in (404, 410):
        return NOT_FOUND
    if status in (401, 403, 451):
        return DENIED
    return SERVER_ERROR if status >= 500 else BAD_ANSWER


def _too_large(max_bytes: int) -> FeedError:
    return FeedError(f"larger than {max_bytes} bytes", TOO_LARGE)


# ------------------------------------------------------------------------------ parsing


@dataclass(slots=True)
class FeedItem:
    item_id: str
    title: str
    link: str | None
    summary_html: str  # sanitised
    summary_text: str
    published: dt.datetime | None
    image_url: str | None
    position: int = 0  # order in the feed (0 = first listed)
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return item_key(self.item_id)


def item_key(item_id: str) -> str:
    return hashlib.sha256(item_id.encode("utf-8")).hexdigest()


def parse(
    body: bytes, *, url: str, content_type: str | None = None, max_items: int = MAX_ITEMS
) -> list[FeedItem]:
    """The newest ``max_items`` items of a feed document (read from its first and last
    ``max_items`` entries), newest first; FeedError when it is not a feed or declares DTD
    markup."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    body, headers = prepare(body, headers, max_items)
    parsed = feedparser.parse(  # data, never a name: feedparser opens file names it is given
        io.BytesIO(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=True
    )
    if not parsed.entries and (parsed.get("bozo") or not parsed.get("version")):
        problem = parsed.get("bozo_exception")
        raise FeedError(
            f"not a readable feed ({type(problem).__name__ if problem else 'no version'})",
            NOT_A_FEED,
        )
    if parsed.get("bozo"):
        log.debug(
            "feed %s is not well-formed (%s); using what could be read",
            url,
            parsed.get("bozo_exception"),
        )
    base = parsed.feed.get("link") or url
    items = []
    for position, entry in enumerate(parsed.entries):
        item = _item(entry, base, position)
        if item is not None:
            items.append(item)
    # newest first: by date where the feed gives one, else in the feed's own order
    items.sort(key=lambda i: (-(i.published.timestamp() if i.published else 0), i.position))
    if all(i.published is None for i in items):
        items.sort(key=lambda i: i.position)
    return _unique(items)[: max(max_items, 0)]


#: DTD markup declarations: entities expand (feedparser keeps "safe" ones, up to any
#: length), attribute defaults are copied into every element. Real feeds declare none.
_DTD_MARKUP = re.compile(rb"<!(ENTITY|ATTLIST|ELEMENT|NOTATION)\b", re.I)


_ENTRY_END = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>", re.I)


def prepare(body: bytes, headers: dict[str, str], max_items: int) -> tuple[bytes, dict]:
    """The document as feedparser will read it, decoded to UTF-8 by feedparser's own rules
    (UTF-16, UTF-32 or a declared charset cannot hide anything), checked and cut:

    - FeedError if it declares DTD markup;
    - only its first and last ``max_items`` entries are kept, so feedparser's work is
      bounded by them."""
    found: dict = {}
    text = convert_to_utf8(dict(headers), body, found)
    if _DTD_MARKUP.search(text):
        raise FeedError("declares DTD entities or attribute defaults", UNSAFE_FEED)
    if not found.get("encoding"):  # undecodable: left to feedparser as it came
        return body, headers
    media_type = (headers.get("content-type") or "").split(";", 1)[0].strip()
    if media_type:
        headers = {**headers, "content-type": f"{media_type}; charset=utf-8"}
    return outer_entries(text, max_items), headers


def outer_entries(doc: bytes, count: int) -> bytes:
    """``doc`` with only its first and last ``count`` entries (RSS items, Atom entries):
    feeds list the newest first, a few the oldest first; the closing tags are kept."""
    ends = list(_ENTRY_END.finditer(doc))
    count = max(count, 1)
    if len(ends) <= 2 * count:
        return doc
    return doc[: ends[count - 1].end()] + doc[ends[-count - 1].end() :]


def _unique(items: list[FeedItem]) -> list[FeedItem]:
    seen, out = set(), []
    for item in items:
        if item.item_id not in seen:
            seen.add(item.item_id)
            out.append(item)
    return out


def _item(entry: dict, base: str, position: int) -> FeedItem | None:
    link = sanitize.web_url(entry.get("link"), base)
    raw_summary = entry.get("summary") or ""
    content = entry.get("content") or []
    if not raw_summary and content:
        raw_summary = content[0].get("value") or ""
    title = sanitize.trim(sanitize.to_text(entry.get("title")), MAX_TITLE_CHARS)
    summary_html = sanitize.clean_summary(raw_summary)
    summary_text = sanitize.to_text(raw_summary)
    if not title and not summary_text and not link:
        return None
    if not title:
        title = sanitize.trim(summary_text, 80) or (link or "")
    published = _date(entry)
    return FeedItem(
        item_id=entry_id(entry, link, title, summary_text, published),
        title=title,
        link=link,
        summary_html=summary_html,
        summary_text=summary_text,
        published=published,
        image_url=lead_image(entry, base, raw_summary, content),
        position=position,
    )


def entry_id(
    entry: dict, link: str | None, title: str, text: str, published: dt.datetime | None
) -> str:
    """guid (RSS) / id (Atom), else the link, else a sha256 of what the entry says."""
    guid = (entry.get("id") or "").strip()
    if guid:
        return guid if len(guid) <= MAX_ID_CHARS else "sha256:" + item_key(guid)
    if link:
        return link if len(link) <= MAX_ID_CHARS else "sha256:" + item_key(link)
    stamp = published.isoformat() if published else ""
    digest = hashlib.sha256(f"{title}\n{text}\n{stamp}".encode()).hexdigest()
    return f"sha256:{digest}"


def _date(entry: dict) -> dt.datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return dt.datetime.fromtimestamp(calendar.timegm(value), dt.UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


_IMAGE_EXT = re.compile(r"\.(jpe?g|png|gif|webp)(\?|#|$)", re.I)


def lead_image(entry: dict, base: str, summary: str, content: list) -> str | None:
    """The entry's lead image: media:content, media:thumbnail, an image enclosure, or the
    first <img> of its content."""
    for media in entry.get("media_content") or []:
        kind = (media.get("type") or "").lower()
        if (
            media.get("medium") == "image"
            or kind.startswith("image/")
            or (not kind and _IMAGE_EXT.search(media.get("url") or ""))
        ):
            url = sanitize.web_url(media.get("url"), base)
            if url:
                return url
    for thumb in entry.get("media_thumbnail") or []:
        url = sanitize.web_url(thumb.get("url"), base)
        if url:
            return url
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure" and (link.get("type") or "").startswith("image/"):
            url = sanitize.web_url(link.get("href"), base)
            if url:
                return url
    for fragment in [summary, *(c.get("value") or "" for c in content)]:
        src = first_img_src(fragment)
        url = sanitize.web_url(src, base)
        if url:
            return url
    return None


class _FirstImg(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.src: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.src is None and tag == "img":
            self.src = dict(attrs).get("src")


def first_img_src(fragment: str) -> str | None:
    if not fragment or "<img" not in fragment.lower():
        return None
    finder = _FirstImg()
    try:
        finder.feed(fragment)
    except Exception:  # HTMLParser is lenient; anything odd just means no image
        return None
    return finder.src
