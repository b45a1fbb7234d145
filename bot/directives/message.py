"""How a directive reads in Element: a header naming the sender and the code, then the
sender's own words (their formatting kept, sanitised), then each attachment."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

import nh3

from provisioning import vocab
from provisioning.domain import primary_position, short_unit_name
from provisioning.view import DirectoryView, PersonView

VN = dt.timezone(dt.timedelta(hours=7))  # Asia/Ho_Chi_Minh, no DST
ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "sup",
    "sub",
    "hr",
    "span",
    "font",
}
MARKER = "vn.dieuhanh.directive"


def clean_html(html: str) -> str:
    """The sender's HTML with only what Matrix clients render safely (nh3 / ammonia)."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={
            "a": {"href"},
            "span": {"data-mx-color", "data-mx-bg-color"},
            "font": {"color", "data-mx-color"},
            "ol": {"start"},
        },
        url_schemes={"https", "http", "mailto", "tel"},
    )


def sender_line(view: DirectoryView, person: PersonView) -> str:
    primary = primary_position(view, person)
    if primary is None:
        return person.full_name
    position, unit = primary
    return f"{person.full_name} ({vocab.label(position)}, {short_unit_name(unit.name)})"


def directive_parts(
    code: str,
    sender: str,
    body: str,
    html: str | None,
    attachments: list[dict[str, Any]],
    sent_at: dt.datetime,
) -> list[dict[str, Any]]:
    """The events of one delivery: the message, then one event per attachment."""
    when = sent_at.astimezone(VN).strftime("%H:%M %d/%m/%Y")
    head_text = f"Tin nhắn điều hành · mã {code}\nNgười gửi: {sender} · {when}"
    head_html = (
        f"<p><strong>Tin nhắn điều hành</strong> · mã <code>{escape(code)}</code><br>"
        f"Người gửi: {escape(sender)} · {when}</p>"
    )
    words = clean_html(html) if html else "<p>" + escape(body).replace("\n", "<br>") + "</p>"
    note = ""
    if attachments:
        note = f"\n\nTệp đính kèm: {len(attachments)} (ngay bên dưới)."
    first = {
        "msgtype": "m.text",
        "body": f"{head_text}\n\n{body}{note}",
        "format": "org.matrix.custom.html",
        "formatted_body": head_html
        + words
        + (f"<p><em>{escape(note.strip())}</em></p>" if note else ""),
        MARKER: {"code": code},
    }
    parts = [first]
    for item in attachments:
        part = {
            k: v for k, v in item.items() if k in ("msgtype", "body", "url", "info", "filename")
        }
        part[MARKER] = {"code": code, "attachment": True}
        parts.append(part)
    return parts


def reminder_parts(code: str, sender: str, body: str, link: str | None) -> list[dict[str, Any]]:
    excerpt = body if len(body) <= 200 else body[:197] + "…"
    text = (
        f"Nhắc việc: Anh/Chị chưa xác nhận đã đọc tin nhắn điều hành mã {code} của "
        f"{sender}:\n«{excerpt}»"
    )
    html = (
        f"<p><strong>Nhắc việc</strong>: Anh/Chị chưa xác nhận đã đọc tin nhắn điều hành "
        f"mã <code>{escape(code)}</code> của {escape(sender)}:</p>"
        f"<blockquote>{escape(excerpt)}</blockquote>"
    )
    if link:
        text += f"\nXem tin nhắn: {link}"
        html += f'<p><a href="{escape(link)}">Xem tin nhắn</a></p>'
    return [
        {
            "msgtype": "m.text",
            "body": text,
            "format": "org.matrix.custom.html",
            "formatted_body": html,
            MARKER: {"code": code, "reminder": True},
        }
    ]
