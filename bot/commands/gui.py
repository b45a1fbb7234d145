"""!gui — compose and send a directive (tin nhắn điều hành), as the seed's three steps:

1. khối (cấp học) and/or units under the sender's authority;
2. chức vụ, loại hình, individual people, or everyone;
3. the content, with files and images sent in the DM;
then a preview naming exactly how many people in which units, and a confirmation.

The one-line form for experienced users: ``!gui THCS HT CL: Kính gửi …``.
A draft lives in the database (a restart keeps it), can be cancelled at any step, and
expires politely after 30 minutes without a reply.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from bot.commands import CommandError, Context, UsageError, command
from bot.db.draft import Draft
from bot.directives.audience import Selection, parse_targets
from bot.directives.compose import preview, save
from bot.reply import Reply
from provisioning.text import compact, format_number

TIMEOUT = dt.timedelta(minutes=30)
CANCEL = {"huy", "thoi", "dung", "cancel", "huybo"}
DONE = {"xong", "het", "done", "xem", "xemtruoc"}
SEND = {"gui", "dongy", "ok", "xacnhan", "send", "guidi"}
EDIT = {"sua", "soanlai", "lamlai"}
FILE_TYPES = {"m.file", "m.image", "m.video", "m.audio"}

STEP1 = (
    "Bước 1/3 — Chọn nơi nhận: gõ một hoặc nhiều cấp học (MN, TH, THCS, THPT, LC, GDTX), "
    "tên hoặc mã đơn vị thuộc phạm vi của Anh/Chị, hoặc 'tất cả'. Gõ 'huỷ' để dừng."
)
STEP3 = (
    "Bước 3/3 — Soạn nội dung: gửi nội dung tin nhắn (có thể định dạng), gửi thêm tệp "
    "hoặc ảnh đính kèm nếu cần, rồi gõ 'xong' để xem trước."
)
EXPIRED = (
    "Bản nháp tin nhắn điều hành đã hết hạn (quá 30 phút không có thao tác) và đã được "
    "huỷ. Gõ !gui để bắt đầu lại."
)


def _official(asker) -> bool:
    return asker.known and asker.official


@command(
    "gui",
    spoken="gửi",
    aliases=("guitin", "soantin"),
    usage="!gui  hoặc  !gui <cấp học/đơn vị> <chức vụ/loại hình>: <nội dung>",
    summary="Gửi tin nhắn điều hành đến cán bộ thuộc phạm vi Anh/Chị phụ trách.",
    examples=("!gui", "!gui THCS HT CL: Kính gửi quý thầy cô hiệu trưởng…"),
    allowed=_official,
    details="Gõ !gui trong tin nhắn riêng với bot để được hướng dẫn từng bước.",
)
async def gui(ctx: Context, args: str) -> Reply:
    incoming = ctx.incoming
    if incoming is None or not incoming.direct:
        raise CommandError(
            "Hãy nhắn riêng cho bot (tin nhắn trực tiếp) để soạn và gửi tin nhắn điều hành."
        )
    if args.strip():
        return await _one_line(ctx, args)
    await Draft.save(
        ctx.service.engine,
        incoming.sender,
        incoming.room_id,
        {"step": 1, "selection": Selection().to_json()},
    )
    return Reply(STEP1)


async def _one_line(ctx: Context, args: str) -> Reply:
    targets, sep, text = args.partition(":")
    if not sep or not text.strip() or not targets.strip():
        raise UsageError("Dạng một dòng cần nơi nhận, dấu hai chấm, rồi nội dung.")
    selection = Selection()
    parse_targets(targets, ctx.snapshot, ctx.asker, selection, step=0)
    if not selection.has_step1:
        raise CommandError(
            "Hãy ghi cấp học hoặc đơn vị nhận trước dấu hai chấm, ví dụ !gui THCS HT: …"
        )
    return await _send(ctx, selection, text.strip(), None, [])


async def continue_draft(ctx: Context, saved: Draft) -> Reply | None:
    """A message in a DM where a !gui draft is open."""
    service, incoming = ctx.service, ctx.incoming
    assert incoming is not None
    if dt.datetime.now(dt.UTC) - saved.updated_at > TIMEOUT:
        await Draft.drop(service.engine, incoming.sender, incoming.room_id)
        return Reply(EXPIRED)
    word = compact(incoming.body) if incoming.msgtype not in FILE_TYPES else ""
    if word in CANCEL:
        await Draft.drop(service.engine, incoming.sender, incoming.room_id)
        return Reply("Đã huỷ bản nháp tin nhắn điều hành.")
    draft = saved.state
    selection = Selection.from_json(draft["selection"])
    step = draft["step"]
    try:
        if step in (1, 2):
            reply = await _choose(ctx, draft, selection, step)
        elif step == 3:
            reply = await _content(ctx, draft, word)
        else:
            reply = await _confirm(ctx, draft, selection, word)
    except CommandError as exc:
        return Reply(str(exc))
    if draft.get("step") == 0:
        await Draft.drop(service.engine, incoming.sender, incoming.room_id)
    else:
        await Draft.save(service.engine, incoming.sender, incoming.room_id, draft)
    return reply


async def _choose(ctx: Context, draft: dict, selection: Selection, step: int) -> Reply:
    incoming = ctx.incoming
    parse_targets(incoming.body, ctx.snapshot, ctx.asker, selection, step=step)
    draft["selection"] = selection.to_json()
    found = await preview(ctx.snapshot, ctx.asker, selection)
    if not found.people:
        chosen = selection.describe(ctx.snapshot)
        raise CommandError(
            f"Không có cán bộ nào khớp với lựa chọn ({chosen}). Hãy chọn lại, hoặc gõ 'huỷ'."
        )
    if step == 1:
        draft["step"] = 2
        return Reply(
            f"Đã chọn: {selection.describe(ctx.snapshot)} — {format_number(len(found.people))} "
            "cán bộ.\nBước 2/3 — Chọn người nhận: gõ chức vụ (HT, PHT, GV, NV…), loại hình "
            "(CL, NCL), họ tên từng người, hoặc 'tất cả'."
        )
    draft["step"] = 3
    return Reply(
        f"Người nhận: {selection.describe(ctx.snapshot)} — "
        f"{format_number(len(found.people))} cán bộ.\n{STEP3}"
    )


async def _content(ctx: Context, draft: dict, word: str) -> Reply:
    incoming = ctx.incoming
    if incoming.msgtype in FILE_TYPES:
        item = {
            k: incoming.content[k]
            for k in ("msgtype", "body", "url", "file", "info", "filename")
            if k in incoming.content
        }
        draft.setdefault("attachments", []).append(item)
        return Reply(
            f"Đã nhận tệp đính kèm '{incoming.content.get('body', 'tệp')}' "
            f"({len(draft['attachments'])} tệp). Gõ 'xong' khi đã soạn xong."
        )
    if word in DONE:
        if not draft.get("body"):
            raise CommandError("Chưa có nội dung. Hãy gửi nội dung tin nhắn trước khi gõ 'xong'.")
        draft["step"] = 4
        return await _preview_reply(ctx, draft)
    body = incoming.body.strip()
    html = (
        incoming.content.get("formatted_body")
        if incoming.content.get("format") == "org.matrix.custom.html"
        else None
    )
    if draft.get("body"):
        draft["body"] += "\n\n" + body
        draft["html"] = (draft.get("html") or _p(draft["body"].rsplit("\n\n", 1)[0])) + (
            html or _p(body)
        )
    else:
        draft["body"], draft["html"] = body, html
    return Reply(
        "Đã ghi nội dung. Gửi thêm nội dung hoặc tệp đính kèm, hoặc gõ 'xong' để xem trước."
    )


def _p(text: str) -> str:
    return "<p>" + escape(text).replace("\n", "<br>") + "</p>"


async def _preview_reply(ctx: Context, draft: dict) -> Reply:
    selection = Selection.from_json(draft["selection"])
    found = await preview(ctx.snapshot, ctx.asker, selection, ctx.service.joined_members)
    lines = [f"Xem trước — sẽ gửi đến {found.summary()}:", *("  " + x for x in found.unit_lines())]
    if found.unreachable:
        names = ", ".join(ctx.snapshot.view.people[p].full_name for p in found.unreachable[:10])
        lines.append(
            f"{len(found.unreachable)} người chưa có tài khoản nên sẽ không nhận được: "
            f"{names}{'…' if len(found.unreachable) > 10 else ''}"
        )
    attachments = draft.get("attachments", [])
    lines.append(f"Nội dung: {draft['body'][:300]}{'…' if len(draft['body']) > 300 else ''}")
    if attachments:
        lines.append(f"Tệp đính kèm: {', '.join(a.get('body', 'tệp') for a in attachments)}")
    lines.append("Gõ 'gửi' để gửi, 'sửa' để soạn lại nội dung, hoặc 'huỷ'.")
    return Reply(
        "\n".join(lines),
        extra={
            "vn.dieuhanh.preview": {
                "people": len(found.people),
                "units": len(found.units),
                "rooms": len(found.plan.rooms),
                "inboxes": len(found.plan.inboxes),
            }
        },
    )


async def _confirm(ctx: Context, draft: dict, selection: Selection, word: str) -> Reply:
    if word in EDIT:
        draft.update(step=3, body="", html=None)
        return Reply(STEP3)
    if word not in SEND:
        raise CommandError("Gõ 'gửi' để gửi, 'sửa' để soạn lại nội dung, hoặc 'huỷ'.")
    reply = await _send(
        ctx, selection, draft["body"], draft.get("html"), draft.get("attachments", [])
    )
    draft["step"] = 0  # done: the draft is dropped
    return reply


async def _send(
    ctx: Context, selection: Selection, body: str, html: str | None, attachments: list[dict]
) -> Reply:
    service, incoming = ctx.service, ctx.incoming
    found = await preview(ctx.snapshot, ctx.asker, selection, service.joined_members)
    if not found.people:
        chosen = selection.describe(ctx.snapshot)
        raise CommandError(f"Không có cán bộ nào khớp với lựa chọn ({chosen}).")
    directive_id, code = await save(
        service.engine,
        ctx.snapshot,
        ctx.asker,
        selection,
        found,
        body=body,
        html=html,
        attachments=attachments,
        origin_room_id=incoming.room_id if incoming else None,
    )
    service.directive_saved(directive_id)
    return Reply(
        f"Đã lưu tin nhắn điều hành mã {code}; đang gửi đến {found.summary()}. "
        f"Gõ !baocao {code} để xem ai đã đọc.",
        extra={
            "vn.dieuhanh.sent": {
                "code": code,
                "people": len(found.people),
                "events": found.plan.events,
            }
        },
    )
