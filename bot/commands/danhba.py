"""!danhba <tên | đơn vị> — people by name or unit, within what the asker may see."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from bot.commands import Context, UsageError, command
from bot.commands.units import unit_named
from bot.reply import Reply
from provisioning import vocab
from provisioning.domain import short_unit_name
from provisioning.phone import format_local
from provisioning.view import PersonView

LIMIT = 20


@command(
    "danhba",
    spoken="danh bạ",
    aliases=("db",),
    usage="!danhba <tên hoặc đơn vị>",
    summary="Tìm cán bộ theo tên hoặc đơn vị: chức vụ, số điện thoại, nhắn tin.",
    examples=("!danhba nguyễn an", "!danhba Bình", "!danhba THCS Đỗ Văn Dậy"),
)
def danhba(ctx: Context, args: str) -> Reply:
    query = args.strip()
    if not query:
        raise UsageError("Hãy gõ tên (hoặc một phần tên) hoặc tên đơn vị cần tìm.")
    snapshot, asker = ctx.snapshot, ctx.asker
    visible = snapshot.people_visible_to(asker)
    ids = snapshot.people_named(query, among=visible)
    heading = f"Kết quả tìm '{query}'"
    if not ids and snapshot.units_matching(query, within=asker.visible_units):
        # one unit named, or the question every command naming a unit asks
        unit = unit_named(snapshot, query, asker.visible_units, outside="")
        ids = {
            pid
            for u in snapshot.subtree(unit.id)
            for pid in snapshot.view.people_by_unit.get(u, ())
            if pid in visible and snapshot.view.people[pid].active
        }
        heading = f"Cán bộ của {unit.name}"
    if not ids:
        return Reply(f"Không tìm thấy ai khớp với '{query}' trong phạm vi Anh/Chị được xem.")
    shown, rest = snapshot.first_people(ids, LIMIT), len(ids) - LIMIT
    lines = [f"{heading}: {len(ids)} người"]
    items = []
    for person in shown:
        line, item = _entry(ctx, person)
        lines.append(line)
        items.append(item)
    more = f"… và {rest} người khác; hãy tìm cụ thể hơn." if rest > 0 else ""
    if more:
        lines.append(more)
    html = (
        f"<p><strong>{escape(heading)}</strong>: {len(ids)} người</p><ul>"
        + "".join(items)
        + "</ul>"
        + (f"<p>{escape(more)}</p>" if more else "")
    )
    return Reply(
        "\n".join(lines),
        html,
        extra={"vn.dieuhanh.people": [p.code for p in shown], "vn.dieuhanh.more": max(rest, 0)},
    )


def _entry(ctx: Context, person: PersonView) -> tuple[str, str]:
    snapshot = ctx.snapshot
    primary = snapshot.primary(person)
    role = ""
    if primary is not None:
        position, unit = primary
        role = f"{vocab.label(position)}, {short_unit_name(unit.name)}"
    phone = format_local(person.phone) if person.phone else "chưa có số"
    user_id = snapshot.user_of.get(person.id)
    text = f"• {person.full_name} — {role} — {phone}" + (f" — {user_id}" if user_id else "")
    parts = [f"<strong>{escape(person.full_name)}</strong>", escape(role)]
    if person.phone:
        parts.append(f'<a href="tel:{person.phone}">{escape(phone)}</a>')
    if user_id:
        parts.append(
            f'<a href="https://matrix.to/#/{quote(user_id, safe="@:")}">nhắn tin / gọi</a>'
        )
    return text, "<li>" + " — ".join(p for p in parts if p) + "</li>"
