"""``bridge_media``: lead images, uploaded to the media repository once per source URL (or
the reason they were left out, so that they are not tried again too soon)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields

from sqlalchemy import Engine, Integer, Row, String, Text, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bridge.db import columns
from provisioning.db.models import Base
from provisioning.db.threads import in_thread
from provisioning.db.types import UtcDateTime


class BridgeMedia(Base):
    """A lead image uploaded to the media repository once, by its source URL."""

    __tablename__ = "bridge_media"

    url_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    mxc: Mapped[str | None] = mapped_column(String(255))
    mimetype: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)  # why it was left out (retried later)
    fetched_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


MEDIA = BridgeMedia.__table__


@dataclass(slots=True)
class Image:
    """A lead image in the media repository."""

    mxc: str
    mimetype: str
    size: int
    width: int | None
    height: int | None
    filename: str


@dataclass(slots=True)
class MediaRecord:
    """What became of one image URL: uploaded (``mxc``), or left out (``error``)."""

    url_hash: str
    url: str
    mxc: str | None
    mimetype: str | None
    size: int | None
    width: int | None
    height: int | None
    error: str | None
    fetched_at: dt.datetime

    @classmethod
    def _from_row(cls, row: Row) -> MediaRecord:
        return cls(**columns(row, MEDIA, _FIELDS))

    @classmethod
    def of(
        cls, url_hash: str, url: str, image: Image | None, error: str | None, now: dt.datetime
    ) -> MediaRecord:
        """The record of an upload (``image``) or of a failure (``error``)."""
        if image is None:
            return cls(url_hash, url, None, None, None, None, None, error, now)
        return cls(
            url_hash,
            url,
            image.mxc,
            image.mimetype,
            image.size,
            image.width,
            image.height,
            error,
            now,
        )

    @property
    def image(self) -> Image | None:
        if not self.mxc:
            return None
        return Image(
            self.mxc,
            self.mimetype or "image/jpeg",
            self.size or 0,
            self.width,
            self.height,
            image_filename(self.url, self.mimetype),
        )

    @classmethod
    @in_thread
    def get(cls, engine: Engine, url_hash: str) -> MediaRecord | None:
        with engine.connect() as conn:
            row = conn.execute(select(MEDIA).where(MEDIA.c.url_hash == url_hash)).first()
        return cls._from_row(row) if row else None

    @in_thread
    def save(self, engine: Engine) -> None:
        """Insert or update this URL's row."""
        values = asdict(self)
        url_hash = values.pop("url_hash")
        with engine.begin() as conn:
            done = conn.execute(update(MEDIA).where(MEDIA.c.url_hash == url_hash).values(values))
            if done.rowcount == 0:
                conn.execute(insert(MEDIA).values(url_hash=url_hash, **values))


_FIELDS = [f.name for f in fields(MediaRecord)]


def image_filename(url: str, mimetype: str | None) -> str:
    """The image's file name: the URL's last segment if it looks like one, else anh.<ext>."""
    tail = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if tail and "." in tail and len(tail) <= 80:
        return tail
    ext = {"image/png": "png", "image/gif": "gif", "image/webp": "webp"}.get(mimetype or "", "jpg")
    return f"anh.{ext}"
