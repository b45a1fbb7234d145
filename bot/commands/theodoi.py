"""!theodoi bat|tat — a parent's summary of new marks, one message per child
(``bot.families.notify``), in the DM where they turned it on."""

from __future__ import annotations

from bot.commands import CommandError, Context, UsageError, command
from bot.db.follow import LearningFollow
from bot.db.notice import LearningNotice
from bot.families import access, notify
from bot.reply import Reply
from provisioning.text import fold

ON = {"bat", "on", "mo", "co"}
OFF = {"tat", "off", "tat di", "khong", "huy"}


@command(
    "theodoi",
    spoken="theo dõi",
    aliases=("td",),
    usage="!theodoi bat | tat",
    summary="Nhận (hoặc thôi nhận) một tin tóm tắt mỗi khi nhà trường cập nhật điểm của con.",
    examples=("!theodoi bat", "!theodoi tat", "!theodoi"),
    allowed=lambda asker: True,
    details="Tin tóm tắt được gửi vào phòng nhắn riêng nơi Anh/Chị gõ lệnh.",
)
async def theodoi(ctx: Context, args: str) -> Reply:
    access.require_private(ctx, "theodoi")
    word = fold(args).strip()
    scope = await access.scope_of(ctx)
    family = scope.family
    engine, now = ctx.service.engine, ctx.service.clock.now()
    if word in OFF:
        stopped = await LearningFollow.stop(engine, ctx.asker.user_id, now)
        return Reply(
            "Đã tắt tin tóm tắt điểm mới." if stopped else "Anh/Chị chưa bật tin tóm tắt điểm mới."
        )
    if not family.known:
        raise CommandError(access.NOT_FAMILY)
    names = ", ".join(c.full_name for c in family.students)
    if word in ON:
        follow = LearningFollow(ctx.asker.user_id, ctx.incoming.room_id, True, now)
        seeing = await notify.seeing_now(engine, follow, family, tell=False)
        await LearningNotice.record(engine, follow, seeing, now, enable=True)
        return Reply(
            f"Đã bật: mỗi khi nhà trường cập nhật điểm, bot gửi vào phòng này một tin tóm tắt "
            f"cho từng con ({names}). Tắt: !theodoi tat."
        )
    if word:
        raise UsageError(f"Không hiểu '{args.strip()}': hãy gõ !theodoi bat hoặc !theodoi tat.")
    follow = await LearningFollow.get(engine, ctx.asker.user_id)
    on = follow is not None and follow.enabled
    state = "đang bật" if on else "đang tắt"
    return Reply(
        f"Tin tóm tắt điểm mới của {names}: {state}. Bật: !theodoi bat · tắt: !theodoi tat."
    )
