"""One entry of a lịch công tác, its one-line form and the order entries are shown in (pure).

``!lich them <thứ hoặc dd/mm> [giờ] | <nội dung> | [địa điểm] | [thành phần]``: the
day is required, the time optional; then the content (required), the place and who
chairs or attends (both optional, and may be left empty between bars).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from bot.commands import CommandError, UsageError
from bot.schedule.days import parse_day_and_time, time_order
from provisioning.text import nfc

LINE = "!lich them <thứ hoặc dd/mm> [giờ] | <nội dung> | [địa điểm] | [thành phần]"
MAX_TEXT = 1000  # characters of one field


@dataclass(frozen=True)
class Entry:
    """What happens, when and where, and who chairs or attends."""

    day: dt.date
    content: str
    time: str = ""  # "07:30", "07:30–11:00", "Sáng", "Cả ngày" or ""
    place: str = ""
    attendees: str = ""  # thành phần / chủ trì

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["day"] = self.day.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        return cls(
            day=dt.date.fromisoformat(data["day"]),
            content=data["content"],
            time=data.get("time", ""),
            place=data.get("place", ""),
            attendees=data.get("attendees", ""),
        )

    def sort_key(self) -> tuple[dt.date, int]:
        return (self.day, time_order(self.time))


def ordered(entries: list[Entry]) -> list[Entry]:
    """By day, then time; entries at the same time keep the order they were given in."""
    return sorted(entries, key=Entry.sort_key)


def week_of(entries_json: list[dict[str, Any]]) -> list[Entry]:
    """A stored week's entries, in the order they are shown (and numbered)."""
    return ordered([Entry.from_json(e) for e in entries_json])


def clean(text: str, what: str) -> str:
    """A field as stored: NFC, single spaces; too long a field is refused."""
    value = nfc(text or "")
    if len(value) > MAX_TEXT:
        raise CommandError(f"{what} quá dài ({len(value)} ký tự); tối đa {MAX_TEXT} ký tự.")
    return value


def parse_line(text: str, today: dt.date) -> Entry:
    """The entry ``!lich them`` describes."""
    parts = [p.strip() for p in text.split("|")]
    if not parts[0]:
        raise UsageError(f"Thiếu thứ hoặc ngày. Dạng đúng: {LINE}.")
    if len(parts) < 2 or not parts[1]:
        raise UsageError(f"Thiếu nội dung công việc sau dấu '|'. Dạng đúng: {LINE}.")
    if len(parts) > 4:
        raise UsageError(
            f"Có {len(parts)} phần ngăn bởi dấu '|', nhiều nhất là 4. Dạng đúng: {LINE}."
        )
    day, time = parse_day_and_time(parts[0], today)
    place = parts[2] if len(parts) > 2 else ""
    attendees = parts[3] if len(parts) > 3 else ""
    return Entry(
        day,
        clean(parts[1], "Nội dung"),
        time,
        clean(place, "Địa điểm"),
        clean(attendees, "Thành phần"),
    )
