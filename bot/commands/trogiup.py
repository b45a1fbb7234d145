"""!trogiup [lệnh] — the commands this person may use, with examples."""

from __future__ import annotations

from html import escape

from bot.commands import REGISTRY, CommandError, Context, command, parse
from bot.reply import Reply


@command(
    "trogiup",
    spoken="trợ giúp",
    aliases=("help", "hd", "huongdan"),
    usage="!trogiup [lệnh]",
    summary="Danh sách lệnh Anh/Chị dùng được, hoặc cách dùng một lệnh.",
    examples=("!trogiup", "!trogiup thongke"),
    allowed=lambda asker: True,  # families too: they see the commands open to them
)
def trogiup(ctx: Context, args: str) -> Reply:
    mine = [c for c in REGISTRY.values() if c.allowed(ctx.asker)]
    if args.strip():
        parsed = parse("!" + args.strip())
        wanted = parsed.command if parsed else None
        if wanted is None or wanted not in mine:
            raise CommandError(
                f"Không có lệnh '{args.strip()}' trong các lệnh Anh/Chị dùng "
                "được. Gõ !trogiup để xem danh sách."
            )
        return usage_reply(wanted)
    lines = ["Các lệnh Anh/Chị dùng được:"]
    html = ["<p><strong>Các lệnh Anh/Chị dùng được</strong></p><ul>"]
    for cmd in mine:
        example = f" Ví dụ: {cmd.examples[0]}" if cmd.examples else ""
        lines.append(f"• {cmd.usage} — {cmd.summary}{example}")
        html.append(
            f"<li><code>{escape(cmd.usage)}</code> — {escape(cmd.summary)}"
            + (f" Ví dụ: <code>{escape(cmd.examples[0])}</code>" if cmd.examples else "")
            + "</li>"
        )
    lines.append("Gõ !trogiup <lệnh> để xem chi tiết. Lệnh có thể gõ có dấu hoặc không dấu.")
    html.append(
        "</ul><p>Gõ <code>!trogiup &lt;lệnh&gt;</code> để xem chi tiết. "
        "Lệnh có thể gõ có dấu hoặc không dấu.</p>"
    )
    return Reply(
        "\n".join(lines), "".join(html), extra={"vn.dieuhanh.commands": [c.name for c in mine]}
    )


def usage_reply(cmd, problem: str = "") -> Reply:
    lines = [problem] if problem else []
    lines += [f"Cách dùng: {cmd.usage}", cmd.summary]
    if cmd.details:
        lines.append(cmd.details)
    if cmd.examples:
        lines.append("Ví dụ: " + "; ".join(cmd.examples))
    html = "".join(f"<p>{escape(line)}</p>" for line in lines)
    return Reply("\n".join(lines), html)
