"""!thongke <cấp học> [đơn vị] — the statistics contract, for the asker's scope."""

from __future__ import annotations

from bot.commands import CommandError, Context, UsageError, command
from bot.reply import Reply, html_table, text_table
from provisioning import stats, vocab
from provisioning.domain import short_unit_name
from provisioning.text import fold, format_number
from provisioning.view import UnitView
from provisioning.vocab import Level

LEVELS = ", ".join(vocab.label(level) for level in Level)


def _scope(ctx: Context, query: str) -> UnitView:
    asker, snapshot = ctx.asker, ctx.snapshot
    if not query:
        return asker.managed[0]
    matches = snapshot.units_matching(query, within=asker.authority.managed_units)
    if not matches:
        everywhere = snapshot.units_matching(query, within=snapshot.all_units)
        if everywhere:
            raise CommandError(
                f"Đơn vị '{everywhere[0].name}' nằm ngoài phạm vi Anh/Chị được xem thống kê."
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


@command(
    "thongke",
    spoken="thống kê",
    aliases=("tk",),
    usage="!thongke <cấp học> [đơn vị]",
    summary="Số trường, lớp, học sinh, cán bộ, giáo viên theo trình độ của một cấp học.",
    examples=("!thongke THCS", "!thongke mầm non", "!thongke TH Hóc Môn"),
    allowed=lambda asker: asker.known and asker.official,
    details=f"Cấp học: {LEVELS}. Không ghi đơn vị: toàn bộ phạm vi Anh/Chị phụ trách.",
)
def thongke(ctx: Context, args: str) -> Reply:
    words = args.split()
    if not words:
        return _overview(ctx)
    found = _level(words)
    if found is None:
        raise UsageError(f"Không tìm thấy cấp học '{words[0]}'. Các cấp học: {LEVELS}.")
    level, rest = found
    unit = _scope(ctx, rest)
    figures = stats.compute(ctx.snapshot.view, level, unit)
    title = stats.title(figures, ctx.snapshot.view)
    rows = stats.table_rows(figures)
    return Reply(
        text_table(title, rows), html_table(title, rows), extra={"vn.dieuhanh.stats": figures}
    )


def _level(words: list[str]) -> tuple[Level, str] | None:
    """The cấp học named anywhere in ``words`` ("Mầm non", "THCS") and the words left.

    The first words are tried first, so "THCS Đỗ Văn Dậy" is THCS at that school; a unit
    named before the level ("hocmon THCS") works as well.
    """
    for start in range(len(words)):
        for size in (4, 3, 2, 1):  # "Mầm non", "Trung học cơ sở"
            if start + size <= len(words):
                level = vocab.parse(Level, " ".join(words[start : start + size]))
                if level is not None:
                    return level, " ".join(words[:start] + words[start + size :])
    return None


def _overview(ctx: Context) -> Reply:
    unit = ctx.asker.managed[0]
    counts = stats.level_counts(ctx.snapshot.view, unit)
    title = f"Số trường theo cấp học — {unit.name}"
    rows = [(vocab.label(level), format_number(n)) for level, n in counts.items()]
    rows.append(("Tổng cộng", format_number(sum(counts.values()))))
    text = text_table(title, rows) + "\nXem chi tiết: !thongke <cấp học>, ví dụ !thongke THCS."
    return Reply(
        text,
        html_table(title, rows) + "<p>Xem chi tiết: <code>!thongke &lt;cấp học"
        "&gt;</code>, ví dụ <code>!thongke THCS</code>.</p>",
        extra={"vn.dieuhanh.level_counts": {k.value: v for k, v in counts.items()}},
    )
