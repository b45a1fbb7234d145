"""Invitations (thư mời), the pure part: answers as typed or reacted, the reminders' times,
the tally by unit, the sentences, and the ``.ics`` file.

A recipient answers tham dự (``yes``) or vắng (``no``), perhaps naming who attends in
their place (người dự thay), by reacting ✅/❌ to any copy of the invitation (or to a
reminder of it) or with ``!thamdu <mã> có|không [người dự thay]``; the last answer counts.
Those who accepted or have not answered are reminded the day before at 16:00 and one hour
before the meeting (Asia/Ho_Chi_Minh); a reminder already due when the invitation goes
out is skipped. The side effects are in ``bot.directives.rsvp`` and
``bot.commands.thamdu``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import icalendar

from bot.commands import CommandError, UsageError
from bot.directives.cards import card_note, delivery_parts, kind_of
from bot.directives.kinds import reminders_for
from bot.directives.message import MARKER
from bot.directives.roster import unit_lines
from bot.directives.when import format_time, format_time_long
from provisioning.text import fold, name_sort_key

if TYPE_CHECKING:
    from bot.db.delivery import Delivery
    from bot.db.directive import Directive

KIND = "invitation"
YES, NO = "yes", "no"
HO_CHI_MINH = ZoneInfo("Asia/Ho_Chi_Minh")
DAY_BEFORE_AT = dt.time(16, 0)  # the day before the meeting, local time
HOUR_BEFORE = dt.timedelta(hours=1)
#: reminder kind (``directive_reminders.kind``) -> the delivery kind its messages go as
REMINDER_DELIVERIES = {"day_before": "meeting_tomorrow", "hour_before": "meeting_soon"}
ICS_MIMETYPE = "text/calendar"
DEPUTY_LIMIT = 200

#: reactions that answer (variation selectors dropped): ✅ ✔ ☑ / ❌ ✖ ❎
REACTIONS = {"\u2705": YES, "\u2714": YES, "\u2611": YES, "\u274c": NO, "\u2716": NO, "\u274e": NO}
#: answers as typed, folded (longest first: "tham du" before "du")
WORDS = (
    ("khong tham du", NO),
    ("khong du", NO),
    ("tham du", YES),
    ("co", YES),
    ("du", YES),
    ("yes", YES),
    ("khong", NO),
    ("ko", NO),
    ("k", NO),
    ("vang", NO),
    ("no", NO),
)
#: words that may introduce the deputy, folded: "không | người dự thay: Lê Văn B"; and
#: "cử" as typed ("có, cử Lê Văn B"), since "Cù" is a family name
DEPUTY_LEADS = ("cu nguoi du thay", "nguoi du thay", "du thay")
SEND = "cử"


@dataclass(frozen=True)
class Typed:
    """``!thamdu`` as typed."""

    code: str
    answer: str  # yes | no
    deputy: str | None = None


def answer_of_reaction(key: str) -> str | None:
    """``yes``/``no`` for a reaction that answers an invitation, else None."""
    return REACTIONS.get(key.replace("\ufe0f", "").replace("\ufe0e", "").strip())


def parse_thamdu(args: str) -> Typed:
    """``<mã> có|không [người dự thay]``; a mistake is one sentence."""
    words = args.split()
    if not words:
        raise UsageError("Hãy ghi mã thư mời và câu trả lời 'có' hoặc 'không'.")
    code, rest = words[0].strip(",.;:"), words[1:]
    if not rest:
        raise CommandError(
            f"Hãy ghi 'có' (tham dự) hoặc 'không' (vắng) sau mã thư mời, ví dụ !thamdu {code} có."
        )
    folded = [fold(w).strip(",.;:|") for w in rest]
    for phrase, answer in WORDS:
        size = len(phrase.split())
        if " ".join(folded[:size]) == phrase:
            return Typed(code, answer, _deputy(rest[size:]))
    typed = " ".join(rest)
    typed = typed if len(typed) <= 40 else typed[:39] + "…"
    raise CommandError(
        f"Không hiểu câu trả lời '{typed}'; hãy ghi 'có' (tham dự) hoặc 'không' (vắng), "
        f"ví dụ !thamdu {code} có."
    )


def _deputy(words: list[str]) -> str | None:
    """Who attends instead, without the words that introduce it; None when nobody."""
    text = " ".join(words).strip(" ,;:|-–")
    folded = fold(text)
    for lead in DEPUTY_LEADS:
        if folded == lead or folded.startswith(lead + " ") or folded.startswith(lead + ":"):
            text = " ".join(text.split()[len(lead.split()) :]).strip(" ,;:|-–")
            break
    else:
        if text.split(" ", 1)[0].lower() == SEND:
            text = text[len(SEND) :].strip(" ,;:|-–")
    if not text:
        return None
    if len(text) > DEPUTY_LIMIT:
        raise CommandError(f"Tên người dự thay dài quá {DEPUTY_LIMIT} ký tự; hãy viết ngắn lại.")
    return text


def starts_at(directive: Directive) -> dt.datetime:
    return dt.datetime.fromisoformat(directive.fields["starts_at"])


# ------------------------------------------------------------------------ reminders


@reminders_for(KIND)
def reminder_times(fields: dict[str, Any], _sent_at: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """The day before at 16:00 and one hour before the meeting, in Vietnam (those already
    due when the invitation goes out are dropped by ``kinds.reminders_of``)."""
    start = dt.datetime.fromisoformat(fields["starts_at"]).astimezone(HO_CHI_MINH)
    day_before = dt.datetime.combine(start.date() - dt.timedelta(days=1), DAY_BEFORE_AT)
    return [
        ("day_before", day_before.replace(tzinfo=HO_CHI_MINH).astimezone(dt.UTC)),
        ("hour_before", (start - HOUR_BEFORE).astimezone(dt.UTC)),
    ]


# ------------------------------------------------------------------------ checks, sentences


def refusal(directive: Directive | None, code: str, *, recipient: bool, now: dt.datetime) -> str:
    """Why this answer cannot be taken (one sentence), or "" when it can."""
    if directive is None:
        return f"Không tìm thấy thư mời mã '{code}'; hãy kiểm tra lại mã trong thư mời."
    label = f"thư mời mã {directive.code}"
    if directive.kind != KIND:
        return (
            f"Tin mã {directive.code} là {kind_of(directive).noun}, không phải thư mời; "
            "chỉ thư mời mới cần trả lời tham dự."
        )
    if directive.cancelled_at is not None:  # cancelled before it went (or closed after)
        return f"Thư mời mã {directive.code} đã được huỷ; Anh/Chị không cần trả lời."
    if not recipient:
        return f"Anh/Chị không có trong danh sách được mời của {label}."
    start = starts_at(directive)
    if now >= start:
        return (
            f"Cuộc họp của {label} đã bắt đầu lúc {format_time(start)}; "
            "không thể trả lời tham dự nữa."
        )
    return ""


def confirmation(directive: Directive, answer: str, deputy: str | None) -> str:
    """The one sentence that confirms an answer."""
    fields = directive.fields
    meeting = (
        f"{fields['title']} lúc {format_time(starts_at(directive))} tại {fields['location']} "
        f"(thư mời mã {directive.code})"
    )
    if answer == YES and deputy:
        return f"Đã ghi nhận: {deputy} dự thay Anh/Chị tại {meeting}."
    if answer == YES:
        return f"Đã ghi nhận Anh/Chị tham dự {meeting}."
    if deputy:
        return f"Đã ghi nhận Anh/Chị vắng, cử {deputy} dự thay, tại {meeting}."
    return f"Đã ghi nhận Anh/Chị vắng mặt tại {meeting}."


def how_to_answer(code: str) -> str:
    return (
        f"Trả lời: thả ✅ (tham dự) hoặc ❌ (vắng) vào tin này, hoặc gõ !thamdu {code} có "
        f"(hoặc !thamdu {code} không), kèm tên người dự thay nếu có."
    )


# ------------------------------------------------------------------------ the tally


@dataclass(frozen=True)
class Invitee:
    """A recipient as the tally shows them."""

    unit: str  # short name of their unit ("THCS Đỗ Văn Dậy")
    name: str
    answer: str | None = None  # yes | no | None: not answered
    deputy: str | None = None


GROUPS = ((YES, "Tham dự"), (NO, "Vắng"), (None, "Chưa trả lời"))


def tally(invitees: list[Invitee]) -> dict[str | None, list[Invitee]]:
    """Invitees by answer (yes, no, None), each group in unit then name order."""
    groups: dict[str | None, list[Invitee]] = {key: [] for key, _ in GROUPS}
    for person in invitees:
        groups[person.answer].append(person)
    for people in groups.values():
        people.sort(key=lambda p: (fold(p.unit), name_sort_key(p.name)))
    return groups


def by_unit(people: list[Invitee]) -> list[str]:
    """ "THCS Đỗ Văn Dậy: Nguyễn Văn An (người dự thay: Lê Văn B), …" per unit, in order."""
    units: dict[str, list[str]] = {}
    for p in people:  # already in unit, name order
        shown = f"{p.name} (người dự thay: {p.deputy})" if p.deputy else p.name
        units.setdefault(p.unit, []).append(shown)
    return unit_lines(units)[0]


# ------------------------------------------------------------------------ the .ics


def ics_filename(code: str) -> str:
    return f"thu-moi-{code}.ics"


def ics(directive: Directive, organizer: str, sender: str) -> bytes:
    """The invitation as an iCalendar event: UID ``code@server`` (the sender's server),
    DTSTART in Asia/Ho_Chi_Minh, SUMMARY, LOCATION, DESCRIPTION, ORGANIZER (the sender's
    unit). The invitation has no end time, so the event has none either."""
    fields = directive.fields
    server = directive.sender_user_id.partition(":")[2] or "dieuhanh"
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Dieu hanh//Thu moi//VI")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"{directive.code}@{server}")
    event.add("dtstamp", directive.created_at.astimezone(dt.UTC))
    event.add("dtstart", starts_at(directive).astimezone(HO_CHI_MINH))
    event.add("summary", fields["title"])
    event.add("location", fields["location"])
    words = directive.body.strip()
    lines = [] if words == fields["title"] else [words]
    lines.append(f"Thư mời mã {directive.code} của {sender}, gửi qua Điều hành.")
    event.add("description", "\n\n".join(lines))
    who = icalendar.vCalAddress(f"matrix:u/{directive.sender_user_id.lstrip('@')}")
    who.params["cn"] = icalendar.vText(organizer)
    event.add("organizer", who)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def meeting_line(directive: Directive) -> str:
    """ "Họp giao ban tháng 12 — 08:00, thứ Hai 07/12/2026, tại Phòng họp số 2"."""
    fields = directive.fields
    return f"{fields['title']} — {format_time_long(starts_at(directive))}, tại {fields['location']}"


# ------------------------------------------------------------------------ in Element


@card_note(KIND)
def answer_note(directive: Directive) -> list[str]:
    """The card's closing line: how to answer."""
    return [how_to_answer(directive.code)]


LEADS = {
    "day_before": "Nhắc lịch họp ngày mai",
    "hour_before": "Nhắc lịch họp sau 1 giờ nữa",
    "nudge": "Anh/Chị chưa trả lời thư mời",  # !nhacnho
}
NUDGE = "invitation_nudge"  # directive_deliveries.kind of !nhacnho's reminders


def reminder_parts(directive: Directive, reminder: str, link: str | None) -> dict[str, Any]:
    """A reminder of the meeting (``day_before``, ``hour_before``) in the person's inbox;
    reacting to it answers the invitation too."""
    lead, code = LEADS[reminder], directive.code
    text = f"{meeting_line(directive)} (thư mời mã {code})."
    note = how_to_answer(code).replace("Trả lời:", "Nếu chưa trả lời hoặc đổi ý:")
    body = [f"{lead}: {text}", note]
    html = [f"<p><strong>{escape(lead)}</strong>: {escape(text)}</p>", f"<p>{escape(note)}</p>"]
    if link:
        body.append(f"Xem thư mời: {link}")
        html.append(f'<p><a href="{escape(link)}">Xem thư mời</a></p>')
    return {
        "msgtype": "m.text",
        "body": "\n".join(body),
        "format": "org.matrix.custom.html",
        "formatted_body": "".join(html),
        MARKER: {"code": code, "reminder": True, "meeting": reminder},
    }


@delivery_parts(REMINDER_DELIVERIES["day_before"])
def day_before_parts(
    directive: Directive, _delivery: Delivery, _sender: str, link: str | None
) -> list[dict[str, Any]]:
    return [reminder_parts(directive, "day_before", link)]


@delivery_parts(REMINDER_DELIVERIES["hour_before"])
def hour_before_parts(
    directive: Directive, _delivery: Delivery, _sender: str, link: str | None
) -> list[dict[str, Any]]:
    return [reminder_parts(directive, "hour_before", link)]


@delivery_parts(NUDGE)
def nudge_parts(
    directive: Directive, _delivery: Delivery, _sender: str, link: str | None
) -> list[dict[str, Any]]:
    """!nhacnho of an invitation: to those who have not answered yet."""
    return [reminder_parts(directive, "nudge", link)]
