"""A news item as the bridge keeps it (one row of ``bridge_items``), and its image."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(slots=True)
class NewsItem:
    id: int  # row id
    unit_code: str  # the portal it comes from (whose ghost posts it)
    item_id: str  # guid / link / hash, or the CMS's id
    source: str  # feed | webhook
    title: str
    link: str | None
    summary_html: str  # sanitised
    summary_text: str
    image_url: str | None
    published_at: dt.datetime | None
    first_seen_at: dt.datetime

    @property
    def date(self) -> dt.datetime:
        return self.published_at or self.first_seen_at


@dataclass(slots=True)
class Image:
    """A lead image in the media repository."""

    mxc: str
    mimetype: str
    size: int
    width: int | None
    height: int | None
    filename: str
