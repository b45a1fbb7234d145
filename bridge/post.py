"""What the bridge posts (pure): a news item as Matrix events, and its notices to managers.

A relayed item is one ``m.text`` event — bold title linking to the article, the date
(dd/mm/yyyy, Asia/Ho_Chi_Minh), a short summary, "Xem tiếp" — followed by an ``m.image``
event with the lead image when there is one. ``m.text`` rather than ``m.notice``: news is
content for people, and notices are silenced by the default push rules. Both events carry
``vn.dieuhanh.news`` (unit, item id, link), so that tools can tell which item an event is.
Every formatted_body passes ``sanitize.clean_message`` last.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from bridge import sanitize
from bridge.db.item import NewsItem
from bridge.db.media import Image
from provisioning.identity.service_api import GHOST_NAME_PREFIX

#: Asia/Ho_Chi_Minh: UTC+7, no daylight saving since 1975 (no tz database needed).
VIETNAM = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")
NEWS_KEY = "vn.dieuhanh.news"
READ_MORE = "Xem tiếp"


def local_date(when: dt.datetime) -> str:
    return _local(when).strftime("%d/%m/%Y")


def local_time(when: dt.datetime) -> str:
    return _local(when).strftime("%H:%M %d/%m/%Y")


def _local(when: dt.datetime) -> dt.datetime:
    return when.astimezone(VIETNAM)


def ghost_displayname(unit_name: str) -> str:
    """ "Cổng TTĐT Trường THCS Đỗ Văn Dậy" (Synapse refuses names over 256 characters)."""
    return f"{GHOST_NAME_PREFIX}{unit_name}"[:256]


def news_tag(item: NewsItem) -> dict[str, Any]:
    return {"unit": item.unit_code, "item_id": item.item_id, "link": item.link}


def item_message(item: NewsItem, summary_chars: int) -> dict[str, Any]:
    """The m.text event of an item: body and formatted_body."""
    date = local_date(item.date)
    text = sanitize.trim(item.summary_text, summary_chars)
    lines = [item.title, date]
    if text:
        lines.append(text)
    if item.link:
        lines.append(f"{READ_MORE}: {item.link}")

    title = escape(item.title)
    if item.link:
        title = f'<a href="{escape(item.link)}">{title}</a>'
    parts = [f"<p><strong>{title}</strong><br><em>{date}</em></p>"]
    if text:
        if item.summary_html and len(item.summary_text) <= summary_chars:
            summary = item.summary_html
            parts.append(summary if summary.lstrip().startswith("<") else f"<p>{summary}</p>")
        else:
            parts.append(f"<p>{escape(text)}</p>")
    if item.link:
        parts.append(f'<p><a href="{escape(item.link)}">{READ_MORE}</a></p>')
    return {
        "msgtype": "m.text",
        "body": "\n".join(lines),
        "format": "org.matrix.custom.html",
        "formatted_body": sanitize.clean_message("".join(parts)),
        NEWS_KEY: news_tag(item),
        "m.mentions": {},  # a portal's text never pings anyone
    }


def image_message(item: NewsItem, image: Image) -> dict[str, Any]:
    """The m.image event that follows an item's text."""
    info: dict[str, Any] = {"mimetype": image.mimetype, "size": image.size}
    if image.width and image.height:
        info["w"], info["h"] = image.width, image.height
    return {
        "msgtype": "m.image",
        "body": image.filename,
        "filename": image.filename,
        "url": image.mxc,
        "info": info,
        NEWS_KEY: news_tag(item),
        "m.mentions": {},
    }


# ------------------------------------------------------------------------------ notices


def _pills(managers: list[tuple[str, str]]) -> tuple[str, str]:
    plain = ", ".join(name for _, name in managers)
    html = ", ".join(
        f'<a href="https://matrix.to/#/{escape(user_id)}">{escape(name)}</a>'
        for user_id, name in managers
    )
    return plain, html


def failure_notice(
    unit_name: str,
    url: str,
    problem: str,
    since: dt.datetime,
    failures: int,
    managers: list[tuple[str, str]],
) -> dict[str, Any]:
    """Told once to the unit's managers when its feed keeps failing."""
    plain_who, html_who = _pills(managers)
    head = f"Không lấy được tin tức từ cổng thông tin điện tử của {unit_name}"
    detail = (
        f"Địa chỉ RSS {url} lỗi {failures} lần liên tiếp từ {local_time(since)}: {problem}. "
        "Tin mới trên cổng sẽ chưa được chuyển vào phòng này cho đến khi địa chỉ hoạt động "
        "trở lại; hệ thống vẫn tự thử lại."
    )
    ask = "Đề nghị kiểm tra cổng thông tin hoặc cập nhật cột RSS trong danh sách đơn vị."
    body = f"{head}.\n{detail}\n{ask}"
    html = f"<p><strong>{escape(head)}.</strong></p><p>{escape(detail)}</p><p>{escape(ask)}</p>"
    if managers:
        body = f"{plain_who}: {body}"
        html = f"<p>{html_who}:</p>{html}"
    return {
        "msgtype": "m.text",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": sanitize.clean_message(html),
        "m.mentions": {"user_ids": [user_id for user_id, _ in managers]},
        "vn.dieuhanh.feed_status": {"status": "failing", "url": url},
    }


def recovery_notice(unit_name: str, url: str, managers: list[tuple[str, str]]) -> dict[str, Any]:
    """Told once when a feed that was reported as failing works again."""
    plain_who, html_who = _pills(managers)
    text = f"Đã lấy lại được tin tức từ cổng thông tin điện tử của {unit_name} ({url})."
    body, html = text, f"<p>{escape(text)}</p>"
    if managers:
        body, html = f"{plain_who}: {body}", f"<p>{html_who}: {escape(text)}</p>"
    return {
        "msgtype": "m.text",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": sanitize.clean_message(html),
        "m.mentions": {"user_ids": [user_id for user_id, _ in managers]},
        "vn.dieuhanh.feed_status": {"status": "recovered", "url": url},
    }
