"""Days, times and weeks of a lịch công tác as people write them (pure).

- a day: "thứ Hai", "thu 2", "T2", "th2", "CN", "Chủ nhật", "08/12", "08/12/2026",
  "Thứ Hai, ngày 07/12", "hôm nay", "mai". A weekday is that day of a given week, or else
  the next such day (today included); a date without a year is the nearest such date; a
  weekday written beside a date must be that date's;
- a time: "07:30", "7h30", "7h", "14g", "7 giờ 30", "2h chiều" (14:00), a span
  "7h30 - 11h" (07:30–11:00), or a part of the day: "Sáng", "Trưa", "Chiều", "Tối",
  "Cả ngày";
- a week: "tuần này", "tuần sau", "tuần trước" or any day of it; named by its Monday.

Each mistake is one Vietnamese sentence (a :class:`~bot.commands.CommandError`).
"""

from __future__ import annotations

import datetime as dt
import re

from bot.commands import CommandError
from bot.directives.when import WEEKDAYS
from provisioning.text import compact, fold, nfc

_NUMBERS = {"hai": 0, "ba": 1, "tu": 2, "bon": 2, "nam": 3, "sau": 4, "bay": 5}
_NUMBERS.update({str(n): n - 2 for n in range(2, 8)})
_DATE = re.compile(
    r"(?<!\d)(?P<d>\d{1,2})\s*[/.-]\s*(?P<m>\d{1,2})(?:\s*[/.-]\s*(?P<y>\d{4}|\d{2}))?(?!\d)"
)
_CLOCK = re.compile(r"(?<![\d/.])(?P<h>\d{1,2})\s*(?::|h|g(?:io)?)\s*(?P<m>\d{2})?(?![\d/])")
_SESSIONS = {
    "sang": "Sáng",
    "buoisang": "Sáng",
    "trua": "Trưa",
    "buoitrua": "Trưa",
    "chieu": "Chiều",
    "buoichieu": "Chiều",
    "toi": "Tối",
    "buoitoi": "Tối",
    "cangay": "Cả ngày",
}
_SESSION_WORD = re.compile(r"\b(?:buoi\s+)?(?:sang|trua|chieu|toi|ca\s+ngay)\b")
_FILLER = re.compile(r"\b(?:tu|den|luc|vao|buoi)\b|[-–—,;()]")
_NEXT_WEEK = re.compile(r"\btuan\s+(?:sau|toi)\b")
#: minutes into the day each part of it sorts at (a clock time sorts at its own)
SESSION_ORDER = {"": 0, "Cả ngày": 0, "Sáng": 1, "Trưa": 11 * 60 + 30, "Chiều": 12 * 60 + 30}
SESSION_ORDER["Tối"] = 17 * 60 + 30

DAY_EXAMPLE = "thứ Hai, T2, CN hoặc 08/12"


def monday(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week."""
    return day - dt.timedelta(days=day.weekday())


def week_label(start: dt.date) -> str:
    """'07/12 – 13/12/2026' (both years when the week spans two)."""
    end = start + dt.timedelta(days=6)
    if start.year != end.year:
        return f"{start:%d/%m/%Y} – {end:%d/%m/%Y}"
    return f"{start:%d/%m} – {end:%d/%m/%Y}"


def day_label(day: dt.date) -> str:
    """'thứ Hai 07/12/2026'."""
    return f"{WEEKDAYS[day.weekday()]} {day:%d/%m/%Y}"


def contains_date(text: str) -> bool:
    """Whether ``text`` holds a date (dd/mm, dd/mm/yyyy)."""
    return _DATE.search(fold(text)) is not None


def weekday_of(text: str) -> int | None:
    """0 (thứ Hai) … 6 (Chủ nhật) for "thứ 2", "thu hai", "T2", "th2", "CN"; else None."""
    key = compact(text)
    if key in ("cn", "chunhat"):
        return 6
    for prefix in ("thu", "th", "t"):
        if key.startswith(prefix) and key[len(prefix) :] in _NUMBERS:
            return _NUMBERS[key[len(prefix) :]]
    return None


def _date(day: str, month: str, year: str | None, today: dt.date) -> dt.date:
    d, m = int(day), int(month)
    shown = f"{d:02d}/{m:02d}" + (f"/{year}" if year else "")
    if year is not None:
        y = int(year) + (2000 if len(year) == 2 else 0)
        try:
            return dt.date(y, m, d)
        except ValueError:
            raise CommandError(
                f"Ngày {shown} không có thật; hãy kiểm tra lại ngày tháng."
            ) from None
    candidates = []
    for y in (today.year - 1, today.year, today.year + 1):
        try:
            candidates.append(dt.date(y, m, d))
        except ValueError:
            continue
    if not candidates:
        raise CommandError(f"Ngày {shown} không có thật; hãy kiểm tra lại ngày tháng.")
    return min(candidates, key=lambda c: abs((c - today).days))


def parse_day(text: str, today: dt.date, week: dt.date | None = None) -> dt.date:
    """The day ``text`` names; a weekday alone is that day of ``week`` (a Monday) when
    given, else the next such day from ``today``."""
    typed = text.strip()
    folded = fold(typed)
    if compact(folded) in ("homnay", "nay"):
        return today
    if compact(folded) in ("mai", "ngaymai"):
        return today + dt.timedelta(days=1)
    found = _DATE.search(folded)
    rest = folded[: found.start()] + " " + folded[found.end() :] if found else folded
    rest = re.sub(r"\bngay\b|[-–—,;:()]", " ", rest).strip()
    weekday = weekday_of(rest) if rest else None
    if (rest and weekday is None) or (not rest and found is None):
        raise CommandError(
            f"Không hiểu ngày '{typed}'; hãy viết thứ hoặc ngày, ví dụ {DAY_EXAMPLE}."
        )
    if found is not None:
        day = _date(found["d"], found["m"], found["y"], today)
        if weekday is not None and weekday != day.weekday():
            raise CommandError(
                f"Ngày {day:%d/%m/%Y} là {WEEKDAYS[day.weekday()]}, không phải "
                f"{WEEKDAYS[weekday]}; hãy kiểm tra lại."
            )
        return day
    assert weekday is not None
    if week is not None:
        return week + dt.timedelta(days=weekday)
    return today + dt.timedelta(days=(weekday - today.weekday()) % 7)


def parse_time(text: str) -> str:
    """'07:30', '07:30–11:00', a part of the day ('Sáng'…), or '' for nothing."""
    typed = text.strip()
    folded = fold(typed)
    if not folded:
        return ""
    clocks = list(_CLOCK.finditer(folded))
    session = _SESSION_WORD.search(folded)
    left = _FILLER.sub(" ", _SESSION_WORD.sub(" ", _CLOCK.sub(" ", folded))).strip()
    if left or len(clocks) > 2 or (not clocks and session is None):
        raise CommandError(
            f"Không hiểu giờ '{typed}'; hãy viết như 07:30, 7h30, 14:00 - 16:30 hoặc "
            "Sáng, Chiều, Cả ngày."
        )
    if not clocks:
        return _SESSIONS[compact(session.group())]
    later = session is not None and compact(session.group()) in ("chieu", "buoichieu", "toi")
    return "–".join(_clock(c["h"], c["m"], later) for c in clocks)


def _clock(hours: str, minutes: str | None, afternoon: bool) -> str:
    h, m = int(hours), int(minutes or 0)
    if afternoon and 1 <= h < 12:
        h += 12
    if h > 23 or m > 59:
        raise CommandError(f"Giờ {h:02d}:{m:02d} không có thật; giờ viết từ 00:00 đến 23:59.")
    return f"{h:02d}:{m:02d}"


def time_order(time: str) -> int:
    """Minutes into the day a time (or part of the day) sorts at."""
    if time[:2].isdigit():
        return int(time[:2]) * 60 + int(time[3:5])
    return SESSION_ORDER.get(time, 0)


def parse_day_and_time(text: str, today: dt.date) -> tuple[dt.date, str]:
    """``<thứ hoặc ngày> [tuần sau] [giờ]`` as typed after ``!lich them``."""
    typed = nfc(text)
    folded = fold(typed)
    if len(folded) != len(typed):  # cuts in the folded text are cuts in the typed one
        typed = folded
    next_week = _NEXT_WEEK.search(folded)
    if next_week:
        folded = (
            folded[: next_week.start()] + " " * len(next_week.group()) + folded[next_week.end() :]
        )
    starts = [m.start() for m in (_CLOCK.search(folded), _SESSION_WORD.search(folded)) if m]
    cut = min(starts, default=len(folded))
    if next_week:
        typed = typed[: next_week.start()] + " " * len(next_week.group()) + typed[next_week.end() :]
    day_text, time_text = typed[:cut].strip(), typed[cut:].strip()
    if not day_text:
        raise CommandError(f"Thiếu thứ hoặc ngày: hãy ghi, ví dụ {DAY_EXAMPLE}.")
    week = monday(today) + dt.timedelta(days=7) if next_week else None
    day = parse_day(day_text, today, week)
    return day, parse_time(time_text)


def parse_week(text: str, today: dt.date) -> dt.date:
    """The Monday of the week ``text`` names ("", "tuần này", "tuần sau", "tuần trước",
    or a day of it)."""
    key = compact(text)
    if key in ("", "tuannay", "nay"):
        return monday(today)
    if key in ("tuansau", "tuantoi", "sau", "toi"):
        return monday(today) + dt.timedelta(days=7)
    if key in ("tuantruoc", "truoc"):
        return monday(today) - dt.timedelta(days=7)
    return monday(parse_day(text, today))
