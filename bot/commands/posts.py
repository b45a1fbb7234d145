"""The one-line forms of each kind of post, and !huy.

- ``!thongbao <đối tượng>: <nội dung>``
- ``!vanban <đối tượng>: <số hiệu> | <trích yếu> [| <ngày ban hành>] [| <cơ quan>]`` — the
  PDF: the files sent in the DM in the 10 minutes before, if one is a PDF; else the bot
  asks for it and sends once it comes;
- ``!thumoi <đối tượng>: <tiêu đề> | <08:00 07/12/2026> | <địa điểm>``
- ``!yeucau <đối tượng>: <nội dung> | <17:00 10/12/2026>``

each with ``khẩn`` and/or ``lúc 07:00 08/12[/2026]`` at the end; without arguments, each
opens the guided flow for its kind. ``!huy <mã>`` cancels a scheduled post before it goes
(and closes a report request already sent).
"""

from __future__ import annotations

from bot.commands import CommandError, Context, UsageError, command
from bot.commands.gui import one_line, require_dm, start
from bot.db.directive import Directive
from bot.db.draft import Draft
from bot.directives.cards import kind_of
from bot.directives.kinds import KINDS, Kind
from bot.directives.when import format_time
from bot.reply import Reply

OPTIONS = "Thêm 'khẩn' ở cuối để báo cho mọi người, 'lúc 07:00 08/12' để hẹn giờ gửi."


def _official(asker) -> bool:
    return asker.sends  # an official, or a homeroom teacher (their class's families)


async def _post(ctx: Context, args: str, kind: Kind) -> Reply:
    require_dm(ctx)
    if not args.strip():
        return await start(ctx, kind)
    return await one_line(ctx, args, kind)


@command(
    "thongbao",
    spoken="thông báo",
    aliases=("tb",),
    usage="!thongbao <đối tượng>: <nội dung> [khẩn] [lúc …]",
    summary="Gửi một thông báo đến cán bộ thuộc phạm vi Anh/Chị phụ trách.",
    examples=("!thongbao THCS HT: Lịch nghỉ Tết Nguyên đán…",),
    allowed=_official,
    details=f"Đối tượng như ở !gui. {OPTIONS}",
)
async def thongbao(ctx: Context, args: str) -> Reply:
    return await _post(ctx, args, KINDS["notice"])


@command(
    "vanban",
    spoken="văn bản",
    aliases=("vb", "congvan"),
    usage="!vanban <đối tượng>: <số hiệu> | <trích yếu> [| <ngày ban hành>] [| <cơ quan>]",
    summary="Gửi một văn bản (kèm tệp PDF) đến cán bộ thuộc phạm vi Anh/Chị phụ trách.",
    examples=("!vanban THCS HT: 125/SGDĐT-VP | V/v tổ chức kiểm tra học kỳ I",),
    allowed=_official,
    details="Gửi tệp PDF vào tin nhắn riêng với bot trước lệnh (trong vòng 10 phút), hoặc "
    f"sau lệnh khi bot hỏi. Ngày ban hành mặc định là hôm nay. {OPTIONS}",
)
async def vanban(ctx: Context, args: str) -> Reply:
    return await _post(ctx, args, KINDS["document"])


@command(
    "thumoi",
    spoken="thư mời",
    aliases=("giaymoi",),
    usage="!thumoi <đối tượng>: <tiêu đề> | <giờ ngày> | <địa điểm>",
    summary="Gửi thư mời họp đến cán bộ thuộc phạm vi Anh/Chị phụ trách.",
    examples=("!thumoi THCS HT: Họp giao ban tháng 12 | 08:00 07/12/2026 | Phòng họp số 2",),
    allowed=_official,
    details=OPTIONS,
)
async def thumoi(ctx: Context, args: str) -> Reply:
    return await _post(ctx, args, KINDS["invitation"])


@command(
    "yeucau",
    spoken="yêu cầu",
    aliases=("yeucaubaocao", "ycbc"),
    usage="!yeucau <đối tượng>: <nội dung> | <hạn nộp>",
    summary="Yêu cầu cán bộ thuộc phạm vi Anh/Chị phụ trách nộp báo cáo trước một hạn.",
    examples=("!yeucau THCS HT: Báo cáo sĩ số học sinh | 17:00 10/12/2026",),
    allowed=_official,
    details=OPTIONS,
)
async def yeucau(ctx: Context, args: str) -> Reply:
    return await _post(ctx, args, KINDS["report_request"])


@command(
    "huy",
    spoken="huỷ",
    aliases=("huybo",),
    usage="!huy <mã>",
    summary="Huỷ một tin đã hẹn giờ trước giờ gửi, hoặc đóng một yêu cầu báo cáo đã gửi.",
    examples=("!huy K7QMA",),
    allowed=_official,
)
async def huy(ctx: Context, args: str) -> Reply:
    code = args.strip()
    service, incoming = ctx.service, ctx.incoming
    if not code:
        if incoming is not None and await Draft.get(
            service.engine, incoming.sender, incoming.room_id
        ):
            await Draft.drop(service.engine, incoming.sender, incoming.room_id)
            return Reply("Đã huỷ bản nháp tin nhắn điều hành.")
        raise UsageError("Hãy ghi mã của tin cần huỷ.")
    directive = await Directive.by_code(service.engine, code)
    if directive is None:
        raise CommandError(f"Không tìm thấy tin mã '{code}'.")
    if directive.sender_user_id != ctx.asker.user_id:
        raise CommandError("Anh/Chị chỉ huỷ được tin do mình gửi.")
    return await _cancel(ctx, directive)


async def _cancel(ctx: Context, directive: Directive) -> Reply:
    kind, code = kind_of(directive), directive.code
    if directive.cancelled_at is not None:
        raise CommandError(
            f"{kind.label} mã {code} đã được huỷ lúc {format_time(directive.cancelled_at)}."
        )
    done = await Directive.cancel(
        ctx.service.engine,
        directive.id,
        ctx.service.clock.now(),
        after_sending=kind.cancel_after_send,
    )
    extra = {"vn.dieuhanh.cancelled": {"code": code, "kind": kind.name, "how": done}}
    if done == "cancelled":
        return Reply(
            f"Đã huỷ {kind.noun} mã {code} hẹn giờ gửi lúc {format_time(directive.sent_at)}; "
            "tin sẽ không được gửi.",
            extra=extra,
        )
    if done == "closed":
        return Reply(
            f"Đã đóng {kind.noun} mã {code}: bot không nhận thêm báo cáo nộp cho yêu cầu này.",
            extra=extra,
        )
    raise CommandError(
        f"{kind.label} mã {code} đã được gửi lúc {format_time(directive.sent_at)}, không thể huỷ."
    )
