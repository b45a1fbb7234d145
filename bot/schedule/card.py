"""How a week's lịch công tác reads in Element (pure): an HTML table, a plain-text
fallback numbered like ``!lich xoa`` counts, and the structured ``vn.dieuhanh.schedule``
(unit, week, entries) for clients and exports; an edit of the posted card replaces it in
place (``m.replace`` with ``m.new_content``)."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from bot.directives.when import WEEKDAYS
from bot.schedule.days import week_label
from bot.schedule.entries import Entry

KEY = "vn.dieuhanh.schedule"
COLUMNS = ("Thứ, ngày", "Giờ", "Nội dung", "Địa điểm", "Thành phần")
EMPTY = "Chưa có mục nào trong lịch tuần này."


def title(week_start: dt.date) -> str:
    return f"Lịch công tác tuần {week_label(week_start)}"


def _day_head(day: dt.date) -> str:
    """'Thứ Hai 07/12/2026'."""
    name = WEEKDAYS[day.weekday()]
    return f"{name[0].upper()}{name[1:]} {day:%d/%m/%Y}"


def text(unit_name: str, week_start: dt.date, entries: list[Entry]) -> str:
    """The plain-text schedule: days as headings, numbered entries under them."""
    lines = [f"{title(week_start)} · {unit_name}"]
    if not entries:
        return "\n".join([*lines, "", EMPTY])
    day = None
    for number, entry in enumerate(entries, 1):
        if entry.day != day:
            day = entry.day
            lines += ["", _day_head(day)]
        lead = f"{entry.time} — " if entry.time else ""
        lines.append(f"{number}. {lead}{entry.content}")
        details = [
            f"{label}: {value}"
            for label, value in (("Địa điểm", entry.place), ("Thành phần", entry.attendees))
            if value
        ]
        if details:
            lines.append("   " + " · ".join(details))
    return "\n".join(lines)


def html(unit_name: str, week_start: dt.date, entries: list[Entry]) -> str:
    """The schedule as a table: the day in the first row of each day's entries."""
    head = f"<p><strong>{escape(title(week_start))}</strong><br>{escape(unit_name)}</p>"
    if not entries:
        return head + f"<p><em>{escape(EMPTY)}</em></p>"
    rows = ["<tr>" + "".join(f"<th>{escape(c)}</th>" for c in COLUMNS) + "</tr>"]
    day = None
    for number, entry in enumerate(entries, 1):
        shown = _day_head(entry.day) if entry.day != day else ""
        day = entry.day
        cells = (
            f"<strong>{escape(shown)}</strong>" if shown else "",
            escape(entry.time),
            f"{number}. {escape(entry.content)}",
            escape(entry.place),
            escape(entry.attendees),
        )
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return head + "<table>" + "".join(rows) + "</table>"


def structured(unit_code: str, unit_name: str, week_start: dt.date, entries: list[Entry]):
    """The machine-readable schedule (``vn.dieuhanh.schedule``)."""
    return {
        "unit": unit_code,
        "unit_name": unit_name,
        "week_start": week_start.isoformat(),
        "entries": [e.to_json() for e in entries],
    }


def content(
    unit_code: str, unit_name: str, week_start: dt.date, entries: list[Entry]
) -> dict[str, Any]:
    """The event that shows a unit's week in its "Thông tin điều hành" room."""
    return {
        "msgtype": "m.text",
        "body": text(unit_name, week_start, entries),
        "format": "org.matrix.custom.html",
        "formatted_body": html(unit_name, week_start, entries),
        KEY: structured(unit_code, unit_name, week_start, entries),
        "m.mentions": {},
    }


def replacement(new: dict[str, Any], event_id: str) -> dict[str, Any]:
    """An edit of event ``event_id`` that makes it show ``new``."""
    return {
        "msgtype": new["msgtype"],
        "body": "* " + new["body"],
        "format": new["format"],
        "formatted_body": "* " + new["formatted_body"],
        "m.new_content": new,
        "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
        "m.mentions": {},
    }
