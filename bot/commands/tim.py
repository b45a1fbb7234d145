"""!tim <từ khóa> — search the posts the asker sent or received, newest first.

Accent- and case-insensitive (the query and ``directives.search_text`` are both folded);
every word must appear, in any order; the one word typed may also be a code.
"""

from __future__ import annotations

from html import escape

from bot.commands import Context, UsageError, command
from bot.db.directive import Directive
from bot.directives.cards import kind_of
from bot.directives.when import VN
from bot.reply import Reply
from provisioning.domain import short_unit_name
from provisioning.text import fold, format_number

LIMIT = 10
MAX_WORDS = 10
EXCERPT = 80


@command(
    "tim",
    spoken="tìm",
    usage="!tim <từ khóa>",
    summary="Tìm trong các tin Anh/Chị đã gửi hoặc đã nhận (không cần gõ dấu), mới nhất trước.",
    examples=("!tim họp giao ban", "!tim 125/SGDĐT", "!tim K7QMA"),
    details="Mỗi từ phải có trong tin; kết quả ghi mã, loại, ngày và dòng đầu của tin.",
)
async def tim(ctx: Context, args: str) -> Reply:
    words = fold(args).split()
    if not words:
        raise UsageError("Hãy gõ từ khóa cần tìm, ví dụ !tim họp giao ban.")
    if len(words) > MAX_WORDS:
        raise UsageError(f"Từ khóa dài quá {MAX_WORDS} từ; hãy gõ ngắn gọn hơn.")
    found, total = await Directive.search(ctx.service.engine, ctx.asker.user_id, words, LIMIT)
    query = " ".join(args.split())
    if not found:
        return Reply(
            f"Không tìm thấy tin nào có '{query}' trong các tin Anh/Chị đã gửi hoặc đã nhận.",
            extra={"vn.dieuhanh.search": {"codes": [], "total": 0}},
        )
    heading = f"Kết quả tìm '{query}': {format_number(total)} tin"
    items = [_item(ctx, d) for d in found]
    more = f"… và {format_number(total - len(found))} kết quả khác" if total > len(found) else ""
    text = "\n".join([heading, *(f"• {t}" for t, _ in items), *([more] if more else [])])
    html = (
        f"<p><strong>{escape(heading)}</strong></p><ul>"
        + "".join(f"<li>{h}</li>" for _, h in items)
        + "</ul>"
        + (f"<p>{escape(more)}</p>" if more else "")
    )
    codes = [d.code for d in found]
    return Reply(text, html, extra={"vn.dieuhanh.search": {"codes": codes, "total": total}})


def _item(ctx: Context, directive: Directive) -> tuple[str, str]:
    """One result: "K7QMA · Thư mời · 05/12/2026 · của … — first line" (text, HTML)."""
    kind = kind_of(directive).label
    day = directive.sent_at.astimezone(VN).strftime("%d/%m/%Y")
    who = _who(ctx, directive)
    line = _first_line(directive)
    text = f"{directive.code} · {kind} · {day} · {who} — {line}"
    html = (
        f"<code>{escape(directive.code)}</code> · {escape(kind)} · {escape(day)} · "
        f"{escape(who)} — {escape(line)}"
    )
    return text, html


def _who(ctx: Context, directive: Directive) -> str:
    if directive.sender_user_id == ctx.asker.user_id:
        state = {Directive.SCHEDULED: " (hẹn giờ)", Directive.CANCELLED: " (đã huỷ)"}
        return "Anh/Chị gửi" + state.get(directive.status, "")
    person = ctx.snapshot.view.people.get(directive.sender_person_id)
    if person is None:
        return "nhận"
    primary = ctx.snapshot.primary(person)
    unit = f" ({short_unit_name(primary[1].name)})" if primary else ""
    return f"của {person.full_name}{unit}"


def _first_line(directive: Directive) -> str:
    """The first line of the post (a văn bản: its số hiệu first), shortened."""
    lines = [x.strip() for x in directive.body.splitlines() if x.strip()]
    line = lines[0] if lines else ""
    number = directive.fields.get("number")
    if number and number not in line:
        line = f"{number} — {line}" if line else str(number)
    return line if len(line) <= EXCERPT else line[: EXCERPT - 1] + "…"
