"""!baocao [mã] and !nhacnho [mã] — who has read a directive; remind those who have not.

Read = a public read receipt at or after the directive in the room that carried it, or a
reply or reaction to it. People whose clients have never sent a public receipt the bot
could see (private receipts, or never opened the app) are "chưa rõ", not "chưa đọc".
"""

from __future__ import annotations

from collections import defaultdict
from html import escape

from bot.commands import CommandError, Context, command
from bot.db.delivery import Delivery
from bot.db.directive import Directive
from bot.db.receipt import Receipt
from bot.db.recipient import Recipient
from bot.directives.message import VN
from bot.reply import Reply
from provisioning.domain import short_unit_name
from provisioning.text import format_number


def _official(asker) -> bool:
    return asker.known and asker.official


async def _directive(ctx: Context, args: str) -> Directive:
    engine = ctx.service.engine
    code = args.strip()
    if code:
        row = await Directive.by_code(engine, code)
    else:
        row = await Directive.latest_of(engine, ctx.asker.user_id)
    if row is None:
        raise CommandError(
            f"Không tìm thấy tin nhắn điều hành mã '{code}'."
            if code
            else "Anh/Chị chưa gửi tin nhắn điều hành nào."
        )
    if row.sender_user_id != ctx.asker.user_id:
        raise CommandError("Anh/Chị chỉ xem được báo cáo của tin nhắn điều hành do mình gửi.")
    return row


async def status(ctx: Context, directive: Directive) -> dict[str, list[Recipient]]:
    """Recipients by state: read, unread, unknown, undelivered."""
    engine = ctx.service.engine
    rows = await Recipient.of_directive(engine, directive.id)
    public = await Receipt.users_sending_public(engine, {r.user_id for r in rows})
    groups: dict[str, list[Recipient]] = {
        "read": [],
        "unread": [],
        "unknown": [],
        "undelivered": [],
    }
    for row in rows:
        if row.read_at is not None:
            groups["read"].append(row)
        elif row.event_id is None:
            groups["undelivered"].append(row)
        elif row.user_id in public:
            groups["unread"].append(row)
        else:
            groups["unknown"].append(row)
    return groups


def _by_unit(ctx: Context, rows: list[Recipient]) -> list[str]:
    view = ctx.snapshot.view
    units: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        person = view.people.get(row.person_id)
        if person is None:
            continue
        primary = ctx.snapshot.primary(person)
        units[short_unit_name(primary[1].name) if primary else "?"].append(person.full_name)
    return [f"{unit}: {', '.join(sorted(names))}" for unit, names in sorted(units.items())]


@command(
    "baocao",
    spoken="báo cáo",
    aliases=("bc",),
    usage="!baocao [mã]",
    summary="Ai đã đọc, chưa đọc tin nhắn điều hành Anh/Chị đã gửi (mặc định: tin gần nhất).",
    examples=("!baocao", "!baocao K7QMA"),
    allowed=_official,
)
async def baocao(ctx: Context, args: str) -> Reply:
    directive = await _directive(ctx, args)
    groups = await status(ctx, directive)
    n = format_number
    total = sum(len(v) for v in groups.values())
    delivered = total - len(groups["undelivered"])
    when = directive.created_at.astimezone(VN).strftime("%H:%M %d/%m/%Y")
    head = (
        f"Tin nhắn điều hành mã {directive.code} (gửi lúc {when}): {n(total)} người nhận, "
        f"{n(delivered)} đã chuyển, {n(len(groups['read']))} đã đọc, "
        f"{n(len(groups['unread']))} chưa đọc, {n(len(groups['unknown']))} chưa rõ."
    )
    lines, html = [head], [f"<p>{escape(head)}</p>"]
    for key, title in (
        ("unread", "Chưa đọc"),
        ("unknown", "Chưa rõ (ứng dụng không gửi xác nhận đọc công khai, hoặc chưa mở)"),
        ("undelivered", "Chưa chuyển"),
    ):
        if groups[key]:
            items = _by_unit(ctx, groups[key])
            lines += [f"{title}:", *(f"  {x}" for x in items)]
            html.append(
                f"<p><strong>{escape(title)}</strong></p><ul>"
                + "".join(f"<li>{escape(x)}</li>" for x in items)
                + "</ul>"
            )
    counts = {k: len(v) for k, v in groups.items()}
    return Reply(
        "\n".join(lines),
        "".join(html),
        extra={
            "vn.dieuhanh.report": {
                "code": directive.code,
                "recipients": total,
                "delivered": delivered,
                **counts,
            }
        },
    )


@command(
    "nhacnho",
    spoken="nhắc nhở",
    aliases=("nhac",),
    usage="!nhacnho [mã]",
    summary="Nhắc riêng những người chưa đọc tin nhắn điều hành (mặc định: tin gần nhất).",
    examples=("!nhacnho", "!nhacnho K7QMA"),
    allowed=_official,
)
async def nhacnho(ctx: Context, args: str) -> Reply:
    directive = await _directive(ctx, args)
    groups = await status(ctx, directive)
    targets = [r.person_id for r in groups["unread"] + groups["unknown"]]
    if not targets:
        return Reply(f"Mọi người đã đọc tin nhắn điều hành mã {directive.code}; không cần nhắc.")
    await Delivery.add_reminders(ctx.service.engine, directive.id, targets)
    ctx.service.directive_saved(directive.id)
    return Reply(
        f"Đang nhắc {format_number(len(targets))} người chưa đọc tin nhắn điều hành mã "
        f"{directive.code} qua hộp thư riêng của từng người.",
        extra={"vn.dieuhanh.reminded": len(targets)},
    )
