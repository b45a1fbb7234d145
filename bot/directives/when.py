"""Times as people type them (pure): "08:00 07/12/2026", "7h30 08/12", "07/12/2026", and
the options at the end of a one-line post: "khẩn", "lúc 07:00 08/12[/2026]", "kèm SMS".

Times are in Vietnam (Asia/Ho_Chi_Minh, UTC+7, no daylight saving). A date without a
year is the next such day: this year's, or next year's when this year's is already over.
Each mistake is one Vietnamese sentence (a :class:`CommandError`).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from bot.commands import CommandError
from provisioning.text import fold

VN = dt.timezone(dt.timedelta(hours=7))  # Asia/Ho_Chi_Minh
WEEKDAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")

_TIME = r"(?P<hh>\d{1,2})\s*(?:[:h]|gio)\s*(?P<mm>\d{2})?"
_DATE = r"(?P<d>\d{1,2})\s*[/.-]\s*(?P<m>\d{1,2})(?:\s*[/.-]\s*(?P<y>\d{4}))?"
_WHEN = re.compile(
    rf"^(?:{_TIME}\s*,?\s*(?:ngay\s+)?{_DATE}|{_DATE.replace('P<', 'P<b')}\s*,?\s*"
    rf"(?:luc\s+)?{_TIME.replace('P<', 'P<b')})$"
)
_DATE_ONLY = re.compile(rf"^(?:ngay\s+)?{_DATE}$")
# at the end of a one-line post, after a space or a "|" (on the typed text: "khăn" is no
# "khẩn", though both fold to "khan")
_URGENT_TAIL = re.compile(r"(?:^|[\s|]+)(?:khẩn|khan)[\s|.!]*$", re.IGNORECASE)
# "| sms" or "kèm SMS" (a post may well end with the word "SMS" itself); in the
# confirmation, which holds nothing but options, a bare "sms" too ("gửi sms")
_SMS_TAIL = re.compile(r"(?:^|\s*\|\s*|\s+(?:kèm|kem)\s+)sms[\s|.!]*$", re.IGNORECASE)
_SMS_WORD = re.compile(r"(?:^|[\s|]+)(?:kèm\s+|kem\s+)?sms[\s|.!]*$", re.IGNORECASE)
_AT_TAIL = re.compile(
    r"(?:^|[\s|]+)(?:lúc|luc)\s+(?P<when>[\d:hgiờoàny/.,\s-]+?)[\s|.]*$", re.IGNORECASE
)

EXAMPLE = "08:00 07/12/2026"


def format_time(at: dt.datetime) -> str:
    """'08:00 07/12/2026' in Vietnam."""
    return at.astimezone(VN).strftime("%H:%M %d/%m/%Y")


def format_time_long(at: dt.datetime) -> str:
    """'08:00, thứ Hai 07/12/2026' in Vietnam."""
    local = at.astimezone(VN)
    return f"{local:%H:%M}, {WEEKDAYS[local.weekday()]} {local:%d/%m/%Y}"


def _date(day: str, month: str, year: str | None, today: dt.date) -> dt.date:
    d, m = int(day), int(month)
    y = int(year) if year else today.year
    try:
        value = dt.date(y, m, d)
    except ValueError:
        raise CommandError(
            f"Ngày {d:02d}/{m:02d}{'/' + str(y) if year else ''} không có thật; "
            "hãy kiểm tra lại ngày tháng."
        ) from None
    if year is None and value < today:
        try:
            value = dt.date(y + 1, m, d)
        except ValueError:  # 29/02 of a year without one
            raise CommandError(
                f"Ngày {d:02d}/{m:02d} không có trong năm {y + 1}; hãy ghi rõ năm."
            ) from None
    return value


def _time(hh: str, mm: str | None) -> dt.time:
    h, m = int(hh), int(mm or 0)
    if h > 23 or m > 59:
        raise CommandError(
            f"Giờ {h:02d}:{m:02d} không hợp lệ; giờ viết từ 00:00 đến 23:59, ví dụ {EXAMPLE}."
        )
    return dt.time(h, m)


def parse_when(text: str, now: dt.datetime, *, future: bool = True) -> dt.datetime:
    """A time and a day ("08:00 07/12/2026", "7h30 08/12", "08/12 lúc 7:30"), aware in UTC;
    with ``future``, a time not after ``now`` is refused."""
    typed = text.strip()
    match = _WHEN.match(fold(typed))
    if match is None:
        raise CommandError(
            f"Không hiểu thời điểm '{typed}'; hãy viết giờ và ngày, ví dụ {EXAMPLE}."
        )
    g = {k.lstrip("b"): v for k, v in match.groupdict().items() if v is not None}
    today = now.astimezone(VN).date()
    day = _date(g["d"], g["m"], g.get("y"), today)
    local = dt.datetime.combine(day, _time(g["hh"], g.get("mm")), VN)
    if future and local <= now:
        raise CommandError(
            f"Thời điểm {format_time(local)} đã qua; hãy chọn một thời điểm sau bây giờ."
        )
    return local.astimezone(dt.UTC)


def parse_day(text: str, now: dt.datetime) -> dt.date:
    """A day ("07/12/2026", "07/12"): this year's when no year is given."""
    typed = text.strip()
    match = _DATE_ONLY.match(fold(typed))
    if match is None:
        raise CommandError(f"Không hiểu ngày '{typed}'; hãy viết ngày như 07/12/2026.")
    g = match.groupdict()
    today = now.astimezone(VN).date()
    return _date(g["d"], g["m"], g["y"] or str(today.year), today)


@dataclass(frozen=True)
class Options:
    """What the end of a one-line post (or the confirmation "gửi …") asks for."""

    urgent: bool = False
    at: dt.datetime | None = None  # hẹn giờ; None: at once
    sms: bool = False  # "kèm SMS": by SMS to whoever has not read it after a while


def split_options(
    text: str, now: dt.datetime, *, confirmation: bool = False
) -> tuple[str, Options]:
    """``text`` without its trailing options ("khẩn", "lúc 07:00 08/12", "kèm SMS", in any
    order, after a space or a "|"), and those options. A scheduled time must be in the
    future. In a ``confirmation`` ("gửi khẩn sms"), a bare "sms" counts too."""
    rest, urgent, at, sms = unicodedata.normalize("NFC", text).rstrip(), False, None, False
    sms_tail = _SMS_WORD if confirmation else _SMS_TAIL
    while True:
        if not urgent and (m := _URGENT_TAIL.search(rest)):
            urgent, rest = True, rest[: m.start()].rstrip(" |")
        elif not sms and (m := sms_tail.search(rest)):
            sms, rest = True, rest[: m.start()].rstrip(" |")
        elif at is None and (m := _AT_TAIL.search(rest)):
            at = parse_when(m.group("when"), now)
            rest = rest[: m.start()].rstrip(" |")
        else:
            return rest.strip(), Options(urgent, at, sms)
