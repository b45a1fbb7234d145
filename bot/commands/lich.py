"""!lich — a unit's lịch công tác (work schedule) of a week.

- ``!lich [đơn vị] [tuần sau | tuần trước | dd/mm]``: the week's schedule (this week by
  default) of the asker's unit (their school; an official's: the unit they act for), or
  of a unit they may look up;
- ``!lich [đơn vị] them <thứ hoặc dd/mm> [giờ] | <nội dung> | [địa điểm] | [thành phần]``;
- ``!lich [đơn vị] xoa <số thứ tự> [tuần sau | dd/mm]``: the numbers ``!lich`` shows.

Only those who act for the unit (its leaders; an office's leaders and specialists for
the units it manages, ``provisioning.authority``) add or remove entries. The week is
posted to the unit's "Thông tin điều hành" room on Monday 07:00, and the post is edited
when the schedule changes (``bot.schedule.posting``).
"""

from __future__ import annotations

import datetime as dt
import re
from html import escape

from bot.commands import CommandError, Context, UsageError, command
from bot.db.schedule import WorkSchedule
from bot.directives.when import VN
from bot.reply import Reply
from bot.schedule import card
from bot.schedule.days import day_label, monday, parse_week, week_label
from bot.schedule.entries import LINE, Entry, ordered, parse_line, week_of
from bot.schedule.posting import first_post_time
from provisioning.domain import school_of, short_unit_name
from provisioning.text import compact, fold
from provisioning.view import UnitView

ADD, REMOVE = {"them", "themmuc"}, {"xoa", "xoamuc", "bo"}
_WEEK_WORDS = {"tuannay", "tuansau", "tuantoi", "tuantruoc"}
_DATE = re.compile(r"^\d{1,2}\s*[/.-]\s*\d{1,2}(?:\s*[/.-]\s*\d{2,4})?$")
NOT_EDITOR = (
    "Chỉ lãnh đạo đơn vị và chuyên viên phụ trách mới thêm hoặc xoá được mục trong lịch "
    "công tác của {unit}."
)


@command(
    "lich",
    spoken="lịch",
    aliases=("lichcongtac",),
    usage="!lich [đơn vị] [tuần sau | dd/mm]",
    summary="Xem lịch công tác trong tuần của đơn vị; lãnh đạo đơn vị thêm, xoá mục lịch.",
    examples=(
        "!lich",
        "!lich tuần sau",
        "!lich them T2 07:30 | Chào cờ đầu tuần | Sân trường | Toàn thể CB-GV-NV",
        "!lich xoa 3",
    ),
    details=f"Thêm mục: {LINE} (thứ: thứ Hai, T2, CN…; giờ: 07:30, 7h30, Sáng, Chiều). "
    "Xoá mục: !lich xoa <số thứ tự> [tuần sau | dd/mm], số thứ tự như !lich hiển thị. "
    "Ghi tên hoặc mã đơn vị ngay sau !lich để xem hoặc sửa lịch của đơn vị khác thuộc phạm "
    "vi Anh/Chị. Lịch tuần được đăng vào phòng Thông tin điều hành của đơn vị lúc 07:00 "
    "thứ Hai và tự cập nhật khi lịch thay đổi.",
)
async def lich(ctx: Context, args: str) -> Reply:
    tokens = list(re.finditer(r"\S+", args))
    for token in tokens:
        word = compact(token.group())
        if word in ADD | REMOVE:
            query = args[: token.start()].strip()
            rest = args[token.end() :].strip()
            unit = _unit(ctx, query, editing=True)
            if word in ADD:
                return await _add(ctx, unit, rest)
            return await _remove(ctx, unit, rest)
    query, week_text = _split_week(args)
    unit = _unit(ctx, query, editing=False)
    return await _show(ctx, unit, parse_week(week_text, _today(ctx)))


def _now(ctx: Context) -> dt.datetime:
    return ctx.service.clock.now()


def _today(ctx: Context) -> dt.date:
    return _now(ctx).astimezone(VN).date()


def _split_week(args: str) -> tuple[str, str]:
    """``[đơn vị] [tuần …| dd/mm]`` → (unit query, week text)."""
    words = args.split()
    for size in (2, 1):
        tail = words[-size:] if len(words) >= size else []
        if tail and (compact("".join(tail)) in _WEEK_WORDS or (size == 1 and _DATE.match(tail[0]))):
            return " ".join(words[:-size]), " ".join(tail)
    return args.strip(), ""


def home_unit(ctx: Context) -> UnitView:
    """The unit whose schedule "!lich" means: the one an official acts for, else the
    school (or office) of the asker's main position."""
    asker, snapshot = ctx.asker, ctx.snapshot
    if asker.official:
        return asker.managed[0]
    primary = snapshot.primary(asker.person) if asker.person else None
    if primary is None:
        raise CommandError("Anh/Chị chưa có chức vụ ở đơn vị nào trong danh bạ.")
    unit = primary[1]
    return school_of(snapshot.view, unit) or unit


def _unit(ctx: Context, query: str, *, editing: bool) -> UnitView:
    unit = _named(ctx, query, editing) if query else home_unit(ctx)
    if editing and not ctx.asker.authority.manages(unit.id):
        raise CommandError(NOT_EDITOR.format(unit=unit.name))
    return unit


def _named(ctx: Context, query: str, editing: bool) -> UnitView:
    """The unit ``query`` names among those the asker may edit (or look up)."""
    asker, snapshot = ctx.asker, ctx.snapshot
    within = asker.authority.managed_units if editing else asker.visible_units
    matches = snapshot.units_matching(query, within=within)
    if not matches:
        everywhere = snapshot.units_matching(query, within=snapshot.all_units)
        if everywhere and editing:
            raise CommandError(NOT_EDITOR.format(unit=everywhere[0].name))
        if everywhere:
            raise CommandError(
                f"Đơn vị '{everywhere[0].name}' nằm ngoài phạm vi Anh/Chị được xem lịch công tác."
            )
        raise CommandError(f"Không tìm thấy đơn vị '{query}'.")
    exact = [
        u
        for u in matches
        if fold(query) in (fold(u.name), fold(short_unit_name(u.name)), fold(u.code))
    ]
    if len(matches) == 1 or len(exact) == 1:
        return (exact or matches)[0]
    names = "; ".join(u.name for u in matches[:5])
    more = f" và {len(matches) - 5} đơn vị khác" if len(matches) > 5 else ""
    raise CommandError(
        f"Có {len(matches)} đơn vị khớp với '{query}': {names}{more}. "
        "Hãy gõ cụ thể hơn hoặc dùng mã đơn vị."
    )


async def _show(ctx: Context, unit: UnitView, week: dt.date, lead: str = "") -> Reply:
    """The week's schedule as a table (with ``lead`` before it)."""
    saved = await WorkSchedule.get(ctx.service.engine, unit.code, week)
    entries = week_of(saved.entries) if saved else []
    text = card.text(unit.name, week, entries)
    html = card.html(unit.name, week, entries)
    if not entries and ctx.asker.authority.manages(unit.id):
        hint = "Thêm mục: !lich them T2 07:30 | Chào cờ đầu tuần | Sân trường | Toàn trường"
        text, html = f"{text}\n{hint}", f"{html}<p>{hint}</p>"
    if lead:
        text, html = f"{lead}\n\n{text}", f"<p>{escape(lead)}</p>{html}"
    extra = {card.KEY: card.structured(unit.code, unit.name, week, entries)}
    return Reply(text, html, extra=extra)


def _posting_note(saved: WorkSchedule | None, week: dt.date, now: dt.datetime) -> str:
    """What happens next in the unit's "Thông tin điều hành" room."""
    if saved is not None and saved.event_id is not None:
        return "Bản lịch đã đăng trong phòng Thông tin điều hành sẽ được cập nhật."
    if saved is None or not saved.entries:
        return ""
    if week < monday(now.astimezone(VN).date()):
        return "Tuần này đã qua nên lịch được lưu nhưng không đăng vào phòng Thông tin điều hành."
    at = first_post_time(week)
    if now < at:
        return f"Lịch tuần sẽ được đăng vào phòng Thông tin điều hành lúc 07:00 {day_label(week)}."
    return "Lịch tuần sẽ được đăng vào phòng Thông tin điều hành trong giây lát."


async def _add(ctx: Context, unit: UnitView, rest: str) -> Reply:
    now = _now(ctx)
    entry = parse_line(rest, _today(ctx))
    week = monday(entry.day)

    def add(old: list[dict]) -> list[dict]:
        return [e.to_json() for e in ordered([*week_of(old), entry])]

    stored = await WorkSchedule.change(ctx.service.engine, unit.code, week, add, now)
    number = max(i for i, e in enumerate(stored, 1) if Entry.from_json(e) == entry)
    saved = await WorkSchedule.get(ctx.service.engine, unit.code, week)
    when = day_label(entry.day) + (f", {entry.time}" if entry.time else "")
    lead = (
        f"Đã thêm mục số {number} vào lịch công tác tuần {week_label(week)} của {unit.name}: "
        f"{when} — {entry.content}. {_posting_note(saved, week, now)}"
    ).rstrip()
    return await _show(ctx, unit, week, lead)


def _numbers(rest: str) -> tuple[list[int], str]:
    """``2, 3 tuần sau`` → ([2, 3], "tuần sau")."""
    found = re.match(r"^\s*((?:\d+\s*(?:,|và|va|\s)\s*)*\d+)\b(.*)$", rest)
    if found is None:
        raise UsageError(
            "Hãy ghi số thứ tự của mục cần xoá, như !lich hiển thị, ví dụ !lich xoa 3."
        )
    return sorted({int(n) for n in re.findall(r"\d+", found.group(1))}), found.group(2).strip()


async def _remove(ctx: Context, unit: UnitView, rest: str) -> Reply:
    numbers, week_text = _numbers(rest)
    week = parse_week(week_text, _today(ctx))
    removed: list[Entry] = []

    def drop(old: list[dict]) -> list[dict]:
        entries = week_of(old)
        wrong = [n for n in numbers if not 1 <= n <= len(entries)]
        if wrong:
            have = f"có {len(entries)} mục" if entries else "chưa có mục nào"
            raise CommandError(
                f"Lịch công tác tuần {week_label(week)} của {unit.name} {have}, không có mục "
                f"số {', '.join(map(str, wrong))}. Gõ !lich để xem số thứ tự."
            )
        removed.extend(entries[n - 1] for n in numbers)
        return [e.to_json() for i, e in enumerate(entries, 1) if i not in numbers]

    await WorkSchedule.change(ctx.service.engine, unit.code, week, drop, _now(ctx))
    saved = await WorkSchedule.get(ctx.service.engine, unit.code, week)
    what = "; ".join(f"{day_label(e.day)} — {e.content}" for e in removed)
    lead = (
        f"Đã xoá {len(removed)} mục khỏi lịch công tác tuần {week_label(week)} của {unit.name}: "
        f"{what}. {_posting_note(saved, week, _now(ctx))}"
    ).rstrip()
    return await _show(ctx, unit, week, lead)
