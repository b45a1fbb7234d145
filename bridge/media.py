"""Lead images: downloaded once (size and time capped), checked to be a real image, uploaded
to the media repository once, and referenced by every post of the item after that.

An image that cannot be had (too large, not an image, unreachable, on an address the
portal session refuses: see bridge/outbound.py) is left out of the post and not tried again
for a day; the news itself is never held back for its picture.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import logging
import warnings

import aiohttp
from mautrix.appservice import IntentAPI
from PIL import Image as PILImage
from sqlalchemy import Engine

from bridge import outbound
from bridge.db.item import NewsItem
from bridge.db.media import Image, MediaRecord, image_filename
from bridge.feeds import USER_AGENT
from provisioning.db.threads import utcnow

log = logging.getLogger(__name__)

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
RETRY_AFTER = dt.timedelta(days=1)
MAX_PIXELS = 40_000_000


class MediaError(Exception):
    pass


def sniff(data: bytes) -> tuple[str, int, int]:
    """(mimetype, width, height) of an image we accept; MediaError otherwise.

    Pillow reads only the header here (no decoding), with a cap on the pixel count.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as img:
                kind, (width, height) = img.format, img.size
    except Exception as exc:
        raise MediaError(f"not an image ({type(exc).__name__})") from None
    if kind not in FORMATS:
        raise MediaError(f"unsupported image format {kind}")
    if width * height > MAX_PIXELS:
        raise MediaError(f"image too large ({width}×{height})")
    return FORMATS[kind], width, height


class Media:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        engine: Engine,
        *,
        max_bytes: int,
        timeout: float,
    ) -> None:
        self.session = session
        self.engine = engine
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._locks: dict[str, asyncio.Lock] = {}
        self.uploads = 0

    async def image_for(self, item: NewsItem, intent: IntentAPI) -> Image | None:
        """The item's lead image in the media repository, or None."""
        url = item.image_url
        if not url:
            return None
        url_hash = hashlib.sha256(url.encode()).hexdigest()
        lock = self._locks.setdefault(url_hash, asyncio.Lock())
        async with lock:
            known = await MediaRecord.get(self.engine, url_hash)
            if known is not None:
                if (image := known.image) is not None:
                    return image
                if utcnow() - known.fetched_at < RETRY_AFTER:
                    return None
            try:
                data = await self._download(url)
                mimetype, width, height = sniff(data)
                filename = image_filename(url, mimetype)
                mxc = await intent.upload_media(data, mime_type=mimetype, filename=filename)
            except MediaError as exc:
                log.info("lead image %s left out: %s", url, exc)
                await self._save(url_hash, url, None, str(exc))
                return None
            except Exception as exc:
                log.warning("lead image %s not uploaded: %s", url, exc)
                await self._save(url_hash, url, None, str(exc) or type(exc).__name__)
                return None
            self.uploads += 1
            image = Image(str(mxc), mimetype, len(data), width, height, filename)
            await self._save(url_hash, url, image, None)
            return image

    async def _save(self, url_hash: str, url: str, image: Image | None, error: str | None) -> None:
        await MediaRecord.of(url_hash, url, image, error, utcnow()).save(self.engine)

    async def _download(self, url: str) -> bytes:
        try:
            async with self.session.get(
                url,
                headers={"User-Agent": USER_AGENT, "Accept": "image/*"},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                max_redirects=5,
            ) as resp:
                if resp.status != 200:
                    raise MediaError(f"HTTP {resp.status}")
                if resp.content_length is not None and resp.content_length > self.max_bytes:
                    raise MediaError(f"larger than {self.max_bytes} bytes")
                chunks, size = [], 0
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise MediaError(f"larger than {self.max_bytes} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except MediaError:
            raise
        except TimeoutError:
            raise MediaError(f"timed out after {self.timeout:g} s") from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            refused = "address refused" if outbound.refused_in(exc) else "download failed"
            raise MediaError(f"{refused}: {outbound.describe(exc)}") from None
