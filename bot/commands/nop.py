"""!nop <mã> [nội dung] — submit a report to a report request from the DM (Element often
cannot reply with a file); and a report request's parts of !baocao (đã nộp đúng hạn /
muộn / chưa nộp, by unit) and !nhacnho (those who have not submitted).

How submissions are taken: ``bot.directives.submissions``.
"""

from __future__ import annotations

from bot.commands import CommandError, Context, UsageError, command
from bot.commands.baocao import Groups, Section, Targets, remind_targets, report_section
from bot.db.directive import Directive
from bot.db.submission import Submission
from bot.directives import submissions
from bot.directives.reports import (
    KIND,
    REMINDER,
    Submitted,
    deadline_of,
    tally,
    tally_report,
)
from bot.directives.submissions import MINUTES
from bot.directives.when import format_time
from bot.reply import Reply
from provisioning.text import compact

DONE = {"xong", "het", "dung", "ketthuc", "thoi"}
DM_ONLY = (
    "Hãy gõ !nop trong tin nhắn riêng với bot, hoặc trả lời (Reply) thẳng vào tin yêu cầu báo cáo."
)
WAITING = (
    "Anh/Chị hãy gửi tệp báo cáo theo yêu cầu mã {code} vào đây: mỗi tệp gửi trong vòng "
    f"{MINUTES} phút (tính từ lệnh hoặc tệp gần nhất) được tính cho yêu cầu này. Gõ !nop xong "
    "khi đã gửi đủ."
)
MORE = "Các tệp gửi tiếp vào đây trong {minutes} phút tới cũng được tính; gõ !nop xong khi đã đủ."


@command(
    "nop",
    spoken="nộp",
    aliases=("nopbaocao",),
    usage="!nop <mã> [nội dung]  hoặc  !nop xong",
    summary="Nộp báo cáo theo một yêu cầu báo cáo (gõ trong tin nhắn riêng với bot).",
    examples=("!nop K7QMA Trường đã hoàn thành, số liệu trong tệp đính kèm", "!nop xong"),
    details=(
        "Cách nộp khác: trả lời (Reply) thẳng vào tin yêu cầu báo cáo kèm nội dung hoặc tệp. "
        f"Với !nop: các tệp gửi vào tin nhắn riêng trong {MINUTES} phút trước lệnh được tính "
        f"cho yêu cầu đó, và các tệp gửi sau lệnh cũng vậy cho đến khi {MINUTES} phút trôi qua "
        "kể từ lệnh hoặc tệp gần nhất, hoặc khi Anh/Chị gõ !nop xong hay !nop một mã khác. "
        "Chỉ nhận tệp PDF, Office (doc, docx, xls, xlsx, ppt, pptx, odt, ods) và ảnh. Nộp sau "
        "hạn vẫn được nhận và ghi là nộp muộn; yêu cầu đã đóng (!huy) thì không nhận nữa."
    ),
)
async def nop(ctx: Context, args: str) -> Reply:
    incoming, service = ctx.incoming, ctx.service
    if incoming is None or not incoming.direct:
        raise CommandError(DM_ONLY)
    code, _, text = args.strip().partition(" ")
    if not code:
        codes = await Submission.open_requests(service.engine, incoming.sender)
        known = f" (yêu cầu Anh/Chị đang nhận: {', '.join(codes)})" if codes else ""
        raise UsageError(f"Hãy ghi mã của yêu cầu báo cáo cần nộp{known}.")
    if compact(code) in DONE:
        closed = await submissions.close_window(service.engine, incoming.sender)
        if closed is None:
            return Reply("Không có lượt nộp báo cáo nào đang mở.")
        return Reply(
            f"Đã kết thúc lượt nộp báo cáo theo yêu cầu mã {closed}; các tệp gửi sau không "
            "được tính cho yêu cầu này."
        )
    engine, now = service.engine, service.clock.now()
    directive = await submissions.request_by_code(engine, code)
    await submissions.check(engine, ctx.snapshot, directive, incoming.sender)
    recent = service.take_recent_files(incoming.sender, incoming.room_id)
    await submissions.open_window(engine, incoming.sender, incoming.room_id, directive.code, now)
    if not text.strip() and not recent:
        return Reply(WAITING.format(code=directive.code))
    submitted = Submitted(incoming.room_id, incoming.event_id, text.strip(), recent)
    reply = await submissions.take(engine, ctx.snapshot, directive, incoming.sender, submitted, now)
    reply.text += "\n" + MORE.format(minutes=MINUTES)
    return reply


# ------------------------------------------------------------------------ !baocao, !nhacnho


async def _tally(ctx: Context, directive: Directive, groups: Groups):
    recipients = [row.person_id for rows in groups.values() for row in rows]
    firsts = await Submission.firsts(ctx.service.engine, directive.id)
    return tally(recipients, firsts, deadline_of(directive))


@report_section(KIND)
async def request_section(ctx: Context, directive: Directive, groups: Groups) -> Section:
    """Đã nộp đúng hạn / muộn / chưa nộp, with names by unit."""
    result = await _tally(ctx, directive, groups)
    lines, html = tally_report(ctx.snapshot, result)
    data = {"deadline": directive.fields["deadline"], **result.counts()}
    return Section(lines, html, data)


@remind_targets(KIND)
async def request_targets(ctx: Context, directive: Directive, groups: Groups) -> Targets:
    """Those who have not submitted, with a reminder that says how to."""
    if directive.cancelled_at is not None:
        raise CommandError(
            f"Yêu cầu báo cáo mã {directive.code} đã đóng lúc "
            f"{format_time(directive.cancelled_at)}; không cần nhắc."
        )
    result = await _tally(ctx, directive, groups)
    return Targets(result.missing, REMINDER, "chưa nộp theo")
