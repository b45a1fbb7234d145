"""!thongke <cấp học> [đơn vị] — the statistics contract, for the asker's scope."""

from __future__ import annotations

from bot.commands import Context, UsageError, command
from bot.commands.units import unit_named
from bot.reply import Reply, html_table, text_table
from provisioning import stats, vocab
from provisioning.text import format_number
from provisioning.view import UnitView
from provisioning.vocab import Level

LEVELS = ", ".join(vocab.label(level) for level in Level)


def _scope(ctx: Context, query: str) -> UnitView:
    if not query:
        return ctx.asker.managed[0]
    within = ctx.asker.authority.managed_units
    return unit_named(
        ctx.snapshot, query, within, "Đơn vị '{unit}' nằm ngoài phạm vi Anh/Chị được xem thống kê."
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
