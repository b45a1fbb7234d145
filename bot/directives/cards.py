"""How a post reads in Element: a card in HTML with a plain-text fallback.

The first line names the kind and the code ("Văn bản · mã K7QMA", "Yêu cầu báo cáo · mã
K7QMA · hạn 17:00 10/12/2026", "KHẨN · Thông báo · mã K7QMA"), then the sender and the
time, the kind's fields (số hiệu, ngày ban hành, cơ quan; time and place; the deadline),
the sender's own words, and one event per attachment. The fields also travel in the event
content, under ``vn.dieuhanh.post`` = {code, kind, urgent, fields}. An urgent post starts
with "@room" and mentions the room (``m.mentions``), so it notifies everyone, even those
who only get mentions; any other post mentions nobody.

Extension points: :func:`card_note` (closing lines of a kind's card: how to answer) and
:func:`delivery_parts` (the events of a delivery kind other than the card itself, e.g. an
invitation's reminder).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any

from bot.directives.kinds import KINDS, MESSAGE, Kind, field_lines, show_time
from bot.directives.message import MARKER, clean_html
from bot.directives.when import format_time

if TYPE_CHECKING:
    from bot.db.delivery import Delivery
    from bot.db.directive import Directive

POST = "vn.dieuhanh.post"
URGENT = "KHẨN"

Note = Callable[["Directive"], list[str]]
Parts = Callable[["Directive", "Delivery", str, "str | None"], list[dict[str, Any]]]
NOTES: dict[str, Note] = {}
DELIVERY_PARTS: dict[str, Parts] = {}


def card_note(kind: str) -> Callable[[Note], Note]:
    """Register ``fn(directive) -> [line]``: plain lines closing the card of a ``kind``
    (e.g. "Thả ✅ để tham dự…"); escaped for the HTML."""

    def register(fn: Note) -> Note:
        NOTES[kind] = fn
        return fn

    return register


def delivery_parts(kind: str) -> Callable[[Parts], Parts]:
    """Register ``fn(directive, delivery, sender line, link to the person's copy or None)
    -> [event content]``: what the worker sends for a delivery of ``kind`` (a value of
    ``directive_deliveries.kind``, at most 16 characters; "room" and "inbox" carry the
    card, "reminder" the read reminder)."""

    def register(fn: Parts) -> Parts:
        DELIVERY_PARTS[kind] = fn
        return fn

    return register


def kind_of(directive: Directive) -> Kind:
    return KINDS.get(directive.kind, MESSAGE)


def headline(directive: Directive) -> str:
    """The card's first line: "KHẨN · Yêu cầu báo cáo · mã K7QMA · hạn 17:00 10/12/2026"."""
    kind = kind_of(directive)
    words = [URGENT] if directive.urgent else []
    words += [kind.label, f"mã {directive.code}"]
    if directive.fields.get("deadline"):
        words.append(f"hạn {show_time(directive.fields['deadline'])}")
    return " · ".join(words)


def _head_html(directive: Directive) -> str:
    kind = kind_of(directive)
    words = [f"<strong>{URGENT}</strong>"] if directive.urgent else []
    words += [f"<strong>{escape(kind.label)}</strong>", f"mã <code>{escape(directive.code)}</code>"]
    if directive.fields.get("deadline"):
        words.append(f"hạn <strong>{escape(show_time(directive.fields['deadline']))}</strong>")
    return " · ".join(words)


def _words(directive: Directive, kind: Kind) -> tuple[str, str]:
    """The sender's own words (text, HTML); nothing when they only repeat a field."""
    body = directive.body
    if kind.body_field and body.strip() == str(directive.fields.get(kind.body_field, "")):
        return "", ""
    if directive.html:
        return body, clean_html(directive.html)
    return body, "<p>" + escape(body).replace("\n", "<br>") + "</p>"


def card(directive: Directive, sender: str) -> dict[str, Any]:
    """The card's event content."""
    kind = kind_of(directive)
    fields = field_lines(kind, directive.fields)
    notes = NOTES[kind.name](directive) if kind.name in NOTES else []
    words, words_html = _words(directive, kind)
    attached = len(directive.attachments)
    note = f"Tệp đính kèm: {attached} (ngay bên dưới)." if attached else ""
    lead = f"Người gửi: {sender} · {format_time(directive.sent_at)}"
    mention = "@room " if directive.urgent else ""
    text = [f"{mention}{headline(directive)}", lead]
    if fields:
        text += ["", *(f"{label}: {value}" for label, value in fields)]
    text += [x for block in (words, "\n".join(notes), note) if block for x in ("", block)]
    html = [f"<p>{mention}{_head_html(directive)}<br>{escape(lead)}</p>"]
    if fields:
        rows = (f"<strong>{escape(label)}:</strong> {escape(value)}" for label, value in fields)
        html.append("<p>" + "<br>".join(rows) + "</p>")
    html += [words_html, *(f"<p>{escape(line)}</p>" for line in notes)]
    html += [f"<p><em>{escape(note)}</em></p>"] if note else []
    content: dict[str, Any] = {
        "msgtype": "m.text",
        "body": "\n".join(text),
        "format": "org.matrix.custom.html",
        "formatted_body": "".join(html),
        MARKER: {"code": directive.code},
        POST: {
            "code": directive.code,
            "kind": kind.name,
            "urgent": directive.urgent,
            "fields": directive.fields,
        },
    }
    # only a khẩn post mentions anyone: an empty m.mentions also turns off the legacy rules
    # that would ping the room for "@room" typed in an ordinary post's text
    content["m.mentions"] = {"room": True} if directive.urgent else {}
    return content


def card_parts(directive: Directive, sender: str) -> list[dict[str, Any]]:
    """The events of one delivery of a post: the card, then one per attachment."""
    parts = [card(directive, sender)]
    for item in directive.attachments:
        part = {
            k: v for k, v in item.items() if k in ("msgtype", "body", "url", "info", "filename")
        }
        part[MARKER] = {"code": directive.code, "attachment": True}
        parts.append(part)
    return parts


@delivery_parts("reminder")
def read_reminder(
    directive: Directive, _delivery: Delivery, sender: str, link: str | None
) -> list[dict[str, Any]]:
    """!nhacnho: "you have not confirmed reading …", with a link to the person's copy."""
    body = directive.body
    excerpt = body if len(body) <= 200 else body[:197] + "…"
    noun = kind_of(directive).noun
    text = (
        f"Nhắc việc: Anh/Chị chưa xác nhận đã đọc {noun} mã {directive.code} của "
        f"{sender}:\n«{excerpt}»"
    )
    html = (
        f"<p><strong>Nhắc việc</strong>: Anh/Chị chưa xác nhận đã đọc {escape(noun)} "
        f"mã <code>{escape(directive.code)}</code> của {escape(sender)}:</p>"
        f"<blockquote>{escape(excerpt)}</blockquote>"
    )
    if link:
        text += f"\nXem tin: {link}"
        html += f'<p><a href="{escape(link)}">Xem tin</a></p>'
    return [
        {
            "msgtype": "m.text",
            "body": text,
            "format": "org.matrix.custom.html",
            "formatted_body": html,
            MARKER: {"code": directive.code, "reminder": True},
        }
    ]
