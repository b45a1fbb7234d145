"""!gui — compose and send a post (tin nhắn điều hành, thông báo, văn bản, thư mời, yêu cầu
báo cáo), guided in the DM:

1. loại (the kind of post);
2. khối (cấp học) and/or units under the sender's authority;
3. chức vụ, loại hình, individual people, or everyone;
4. the kind's fields, one question each (số hiệu, trích yếu…; tiêu đề, thời gian, địa
   điểm; hạn nộp) — kinds without fields skip it;
5. the content, with files sent in the DM (a văn bản needs its PDF);
then a preview naming exactly how many people in which units, and a confirmation:
"gửi", "gửi khẩn", "gửi lúc 07:00 08/12" (hẹn giờ).

The one-line form for experienced users: ``!gui THCS HT CL: Kính gửi …`` (a tin nhắn);
the other kinds' one-line forms are in ``bot.commands.posts``. A draft lives in the
database (a restart keeps it), can be cancelled at any step, and expires politely after
30 minutes without a reply.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from html import escape
from typing import Any

from bot.commands import CommandError, Context, UsageError, command
from bot.db.draft import Draft
from bot.directives import files
from bot.directives.audience import Selection, parse_targets
from bot.directives.compose import missing_note, preview
from bot.directives.kinds import (
    KINDS,
    MESSAGE,
    Kind,
    field_lines,
    kind_named,
    parse_field,
    parse_line,
)
from bot.directives.post import Post, check, check_audience, field_context, send_post
from bot.directives.when import split_options
from bot.reply import Reply
from provisioning.text import compact, format_number

TIMEOUT = dt.timedelta(minutes=30)
CANCEL = {"huy", "thoi", "dung", "cancel", "huybo"}
DONE = {"xong", "het", "done", "xem", "xemtruoc"}
SEND = {"gui", "dongy", "ok", "xacnhan", "send", "guidi"}
EDIT = {"sua", "soanlai", "lamlai"}
FILE_TYPES = files.FILE_MSGTYPES
#: steps of drafts saved before the step "loại" existed
LEGACY_STEPS = {1: "units", 2: "people", 3: "content", 4: "confirm"}

STEP_KIND = (
    "Bước 1 — Chọn loại: 1. tin nhắn, 2. thông báo, 3. văn bản, 4. thư mời, "
    "5. yêu cầu báo cáo (gõ số hoặc tên). Gõ 'huỷ' để dừng."
)
UNITS = (
    "Chọn nơi nhận: gõ một hoặc nhiều cấp học (MN, TH, THCS, THPT, LC, GDTX), "
    "tên hoặc mã đơn vị thuộc phạm vi của Anh/Chị, khối (khối 6) hoặc lớp (6A1) khi gửi "
    "phụ huynh, hoặc 'tất cả'. Gõ 'huỷ' để dừng."
)
PEOPLE = (
    "Chọn người nhận: gõ chức vụ (HT, PHT, GV, NV…), loại hình (CL, NCL), phụ huynh, học "
    "sinh, họ tên từng người, hoặc 'tất cả'."
)
CONTENT = {
    "message": "gửi nội dung tin nhắn (có thể định dạng), gửi thêm tệp hoặc ảnh đính kèm "
    "nếu cần, rồi gõ 'xong' để xem trước.",
    "notice": "gửi nội dung thông báo (có thể định dạng), gửi thêm tệp hoặc ảnh đính kèm "
    "nếu cần, rồi gõ 'xong' để xem trước.",
    "document": "gửi tệp PDF của văn bản (bắt buộc) và các tệp kèm theo nếu có, thêm lời "
    "nhắn nếu cần, rồi gõ 'xong' để xem trước.",
    "invitation": "gửi nội dung thư mời nếu cần (không bắt buộc) và tệp đính kèm nếu có, "
    "rồi gõ 'xong' để xem trước.",
    "report_request": "gửi nội dung yêu cầu báo cáo (bắt buộc) và tệp mẫu nếu có, rồi gõ "
    "'xong' để xem trước.",
}
CONFIRM = (
    "Gõ 'gửi' để gửi ngay, 'gửi khẩn' để báo cho mọi người (@room, và SMS cho ai chưa đọc "
    "sau vài giờ), 'gửi kèm SMS' để nhắn SMS cho ai chưa đọc sau vài giờ, 'gửi lúc 07:00 "
    "08/12' để hẹn giờ; 'sửa' để soạn lại nội dung, hoặc 'huỷ'."
)
EXPIRED = (
    "Bản nháp tin nhắn điều hành đã hết hạn (quá 30 phút không có thao tác) và đã được "
    "huỷ. Gõ !gui để bắt đầu lại."
)


def _official(asker) -> bool:
    return asker.sends  # an official, or a homeroom teacher (their class's families)


def require_dm(ctx: Context) -> None:
    if ctx.incoming is None or not ctx.incoming.direct:
        raise CommandError(
            "Hãy nhắn riêng cho bot (tin nhắn trực tiếp) để soạn và gửi tin nhắn điều hành."
        )


@command(
    "gui",
    spoken="gửi",
    aliases=("guitin", "soantin"),
    usage="!gui  hoặc  !gui <cấp học/đơn vị> <chức vụ/loại hình>: <nội dung> [khẩn] [kèm SMS] "
    "[lúc …]",
    summary="Gửi tin nhắn điều hành, thông báo, văn bản, thư mời hoặc yêu cầu báo cáo đến "
    "cán bộ thuộc phạm vi Anh/Chị phụ trách.",
    examples=(
        "!gui",
        "!gui THCS HT CL: Kính gửi quý thầy cô hiệu trưởng…",
        "!gui THCS HT: Họp giao ban lúc 07:00 08/12",
        "!gui phụ huynh 6A1: Kính gửi quý phụ huynh lớp 6A1…",
    ),
    allowed=_official,
    details="Gõ !gui trong tin nhắn riêng với bot để được hướng dẫn từng bước. Thêm 'khẩn' "
    "ở cuối để báo cho mọi người (ai chưa đọc sau vài giờ nhận SMS), '| sms' hoặc 'kèm SMS' "
    "để nhắn SMS cho ai chưa đọc sau vài giờ, 'lúc 07:00 08/12' để hẹn giờ gửi.",
)
async def gui(ctx: Context, args: str) -> Reply:
    require_dm(ctx)
    if args.strip():
        return await one_line(ctx, args, MESSAGE)
    return await start(ctx, None)


async def start(ctx: Context, kind: Kind | None) -> Reply:
    """Open a guided draft: at the step "loại", or past it for a given kind."""
    incoming = ctx.incoming
    state: dict[str, Any] = {"step": "kind", "selection": Selection().to_json()}
    if kind is not None:
        state.update(step="units", kind=kind.name)
    await Draft.save(
        ctx.service.engine, incoming.sender, incoming.room_id, state, ctx.service.clock.now()
    )
    if kind is None:
        return Reply(STEP_KIND)
    return Reply(f"Loại: {kind.label}.\n{_step(kind, 'units')} — {UNITS}")


async def one_line(ctx: Context, args: str, kind: Kind) -> Reply:
    """``<đối tượng>: <the kind's parts> [khẩn] [lúc …]`` in one message."""
    require_dm(ctx)
    targets, sep, text = args.partition(":")
    if not sep or not text.strip() or not targets.strip():
        raise UsageError(
            f"Dạng một dòng cần đối tượng nhận, dấu hai chấm, rồi nội dung: {kind.usage}."
        )
    now = ctx.service.clock.now()
    rest, options = split_options(text, now)
    if not rest:
        raise CommandError(f"Thiếu nội dung: dạng đúng là {kind.usage}.")
    selection = Selection()
    parse_targets(targets, ctx.snapshot, ctx.asker, selection, step=0)
    if not selection.has_step1:
        raise CommandError(
            "Hãy ghi cấp học hoặc đơn vị nhận trước dấu hai chấm, ví dụ !gui THCS HT: …"
        )
    body, fields = parse_line(kind, rest, field_context(ctx, now, options.at))
    post = Post(
        kind, selection, body, fields=fields, urgent=options.urgent, at=options.at, sms=options.sms
    )
    if kind.needs_pdf:
        return await attach_recent_pdf(ctx, post)
    return await send_post(ctx, post)


async def attach_recent_pdf(ctx: Context, post: Post) -> Reply:
    """A văn bản in one line: the files sent in this DM in the 10 minutes before, if one is
    a PDF; else the bot asks for the PDF and sends once it comes."""
    incoming = ctx.incoming
    recent = ctx.service.take_recent_files(incoming.sender, incoming.room_id)
    if any(files.is_pdf(f) for f in recent):
        post.attachments = recent
        return await send_post(ctx, post)
    post.attachments = recent
    check(post, ctx.service.clock.now(), files_too=False)  # nothing to fix after the PDF
    await check_audience(ctx, post)
    state = {"step": "pdf", "post": post.to_json()}
    await Draft.save(
        ctx.service.engine, incoming.sender, incoming.room_id, state, ctx.service.clock.now()
    )
    return Reply(
        f"Hãy gửi tệp PDF của văn bản số {post.fields['number']} vào đây; bot sẽ gửi văn bản "
        "ngay khi nhận được tệp. Gõ 'huỷ' để dừng."
    )


async def continue_draft(ctx: Context, saved: Draft) -> Reply | None:
    """A message in a DM where a !gui draft is open."""
    service, incoming = ctx.service, ctx.incoming
    assert incoming is not None
    if service.clock.now() - saved.updated_at > TIMEOUT:
        await Draft.drop(service.engine, incoming.sender, incoming.room_id)
        return Reply(EXPIRED)
    word = compact(incoming.body) if incoming.msgtype not in FILE_TYPES else ""
    if word in CANCEL:
        await Draft.drop(service.engine, incoming.sender, incoming.room_id)
        return Reply("Đã huỷ bản nháp tin nhắn điều hành.")
    draft = saved.state
    step = draft["step"] = LEGACY_STEPS.get(draft["step"], draft["step"])
    try:
        reply = await STEPS[step](ctx, draft, word)
    except CommandError as exc:
        if draft.get("step") != "done":
            return Reply(str(exc))
        reply = Reply(str(exc))
    if draft.get("step") == "done":
        await Draft.drop(service.engine, incoming.sender, incoming.room_id)
    else:
        await Draft.save(
            service.engine, incoming.sender, incoming.room_id, draft, service.clock.now()
        )
    return reply


def _kind(draft: dict) -> Kind:
    return KINDS[draft.get("kind", "message")]


def _step(kind: Kind, step: str) -> str:
    """ "Bước 4/5" for ``step`` of a draft of ``kind``."""
    steps = ["kind", "units", "people", *(["fields"] if kind.fields else []), "content"]
    return f"Bước {steps.index(step) + 1}/{len(steps)}"


async def _choose_kind(ctx: Context, draft: dict, _word: str) -> Reply:
    kind = kind_named(ctx.incoming.body)
    if kind is None:
        raise CommandError(
            f"Không hiểu loại '{ctx.incoming.body.strip()}'. Hãy gõ số 1–5 hoặc tên loại: "
            "tin nhắn, thông báo, văn bản, thư mời, yêu cầu báo cáo."
        )
    draft.update(step="units", kind=kind.name)
    return Reply(f"Loại: {kind.label}.\n{_step(kind, 'units')} — {UNITS}")


async def _choose(ctx: Context, draft: dict, _word: str) -> Reply:
    step, kind = draft["step"], _kind(draft)
    selection = Selection.from_json(draft["selection"])
    parse_targets(
        ctx.incoming.body, ctx.snapshot, ctx.asker, selection, step=1 if step == "units" else 2
    )
    draft["selection"] = selection.to_json()
    chosen = selection.describe(ctx.snapshot)
    if step == "units" and not selection.families and (selection.classes or selection.grades):
        await preview(  # the classes are checked now; "phụ huynh" comes next
            ctx.snapshot,
            ctx.asker,
            replace(selection, families=["parents"]),
            engine=ctx.service.engine,
        )
        draft["step"] = "people"
        return Reply(f"Đã chọn: {chosen}.\n{_step(kind, 'people')} — {PEOPLE}")
    found = await preview(ctx.snapshot, ctx.asker, selection, engine=ctx.service.engine)
    count = _count(found)
    if not found.reached:
        raise CommandError(
            f"Không có người nhận nào khớp với lựa chọn ({chosen}). Hãy chọn lại, hoặc gõ 'huỷ'."
        )
    if step == "units":
        draft["step"] = "people"
        return Reply(f"Đã chọn: {chosen} — {count}.\n{_step(kind, 'people')} — {PEOPLE}")
    head = f"Người nhận: {chosen} — {count}."
    if kind.fields:
        draft.update(step="fields", field=0, fields={})
        return Reply(f"{head}\n{_field_question(kind, 0)}")
    draft["step"] = "content"
    return Reply(f"{head}\n{_step(kind, 'content')} — Soạn nội dung: {CONTENT[kind.name]}")


def _count(found) -> str:
    """'25 cán bộ', '12 phụ huynh của 1 lớp', or both."""
    parts = [f"{format_number(len(found.people))} cán bộ"] if found.people else []
    if found.families is not None:
        parts.append(found.families.summary())
    return " và ".join(parts) or "0 cán bộ"


def _field_question(kind: Kind, index: int) -> str:
    field = kind.fields[index]
    return (
        f"{_step(kind, 'fields')} — {field.label} ({index + 1}/{len(kind.fields)}): {field.prompt}"
    )


async def _field(ctx: Context, draft: dict, _word: str) -> Reply:
    kind, index = _kind(draft), draft.get("field", 0)
    field = kind.fields[index]
    now = ctx.service.clock.now()
    draft.setdefault("fields", {})[field.name] = parse_field(
        field, ctx.incoming.body, field_context(ctx, now, None)
    )
    if index + 1 < len(kind.fields):
        draft["field"] = index + 1
        return Reply(_field_question(kind, index + 1))
    draft["step"] = "content"
    return Reply(f"{_step(kind, 'content')} — Soạn nội dung: {CONTENT[kind.name]}")


async def _content(ctx: Context, draft: dict, word: str) -> Reply:
    incoming, kind = ctx.incoming, _kind(draft)
    file = files.of_message(incoming.msgtype, incoming.content)
    if file is not None:
        if not files.accepted(file):
            raise CommandError(files.refusal(file))
        draft.setdefault("attachments", []).append(files.attachment(file))
        return Reply(
            f"Đã nhận tệp đính kèm '{files.file_name(file)}' "
            f"({len(draft['attachments'])} tệp). Gõ 'xong' khi đã soạn xong."
        )
    if word in DONE:
        _check_content(kind, draft)
        draft["step"] = "confirm"
        return await _preview_reply(ctx, draft)
    _add_words(draft, incoming.body.strip(), incoming.content)
    return Reply(
        "Đã ghi nội dung. Gửi thêm nội dung hoặc tệp đính kèm, hoặc gõ 'xong' để xem trước."
    )


def _check_content(kind: Kind, draft: dict) -> None:
    if kind.needs_pdf and not any(files.is_pdf(a) for a in draft.get("attachments", [])):
        raise CommandError("Văn bản cần kèm tệp PDF; hãy gửi tệp PDF trước khi gõ 'xong'.")
    if not kind.body_field and not draft.get("body"):
        raise CommandError("Chưa có nội dung. Hãy gửi nội dung trước khi gõ 'xong'.")


def _add_words(draft: dict, body: str, content: dict) -> None:
    html = (
        content.get("formatted_body") if content.get("format") == "org.matrix.custom.html" else None
    )
    if draft.get("body"):
        draft["body"] += "\n\n" + body
        draft["html"] = (draft.get("html") or _p(draft["body"].rsplit("\n\n", 1)[0])) + (
            html or _p(body)
        )
    else:
        draft["body"], draft["html"] = body, html


def _p(text: str) -> str:
    return "<p>" + escape(text).replace("\n", "<br>") + "</p>"


def _post(draft: dict) -> Post:
    kind, fields = _kind(draft), draft.get("fields", {})
    body = draft.get("body") or (fields.get(kind.body_field, "") if kind.body_field else "")
    return Post(
        kind,
        Selection.from_json(draft["selection"]),
        body,
        draft.get("html") if draft.get("body") else None,
        list(draft.get("attachments", [])),
        dict(fields),
    )


async def _preview_reply(ctx: Context, draft: dict) -> Reply:
    post = _post(draft)
    found = await preview(
        ctx.snapshot,
        ctx.asker,
        post.selection,
        ctx.service.joined_members,
        engine=ctx.service.engine,
    )
    lines = [
        f"Xem trước — {post.kind.label} sẽ gửi đến {found.summary()}:",
        *("  " + x for x in found.unit_lines()),
        *("  " + x for x in (found.families.class_lines() if found.families else [])),
    ]
    if found.unreachable:
        names = ", ".join(ctx.snapshot.view.people[p].full_name for p in found.unreachable[:10])
        lines.append(
            f"{len(found.unreachable)} người chưa có tài khoản nên sẽ không nhận được: "
            f"{names}{'…' if len(found.unreachable) > 10 else ''}"
        )
    if found.families is not None and found.families.unreachable:
        lines.append(
            f"{format_number(found.families.unreachable)} số điện thoại trong gia đình học sinh "
            "chưa có tài khoản nên sẽ không nhận được."
        )
    if note := await missing_note(ctx.service.engine, found):
        lines.append(note)
    lines += [f"{label}: {value}" for label, value in field_lines(post.kind, post.fields)]
    lines.append(f"Nội dung: {post.body[:300]}{'…' if len(post.body) > 300 else ''}")
    if post.attachments:
        lines.append(f"Tệp đính kèm: {', '.join(files.file_name(a) for a in post.attachments)}")
    lines.append(CONFIRM)
    return Reply(
        "\n".join(lines),
        extra={
            "vn.dieuhanh.preview": {
                "kind": post.kind.name,
                "people": len(found.people),
                "units": len(found.units),
                "families": len(found.families.members) if found.families else 0,
                "classes": found.families.reached_classes if found.families else 0,
                "rooms": found.rooms_count,
                "inboxes": found.inboxes_count,
            }
        },
    )


async def _confirm(ctx: Context, draft: dict, _word: str) -> Reply:
    rest, options = split_options(ctx.incoming.body, ctx.service.clock.now(), confirmation=True)
    word = compact(rest)
    if word in EDIT:
        draft.update(step="content", body="", html=None)
        kind = _kind(draft)
        return Reply(f"{_step(kind, 'content')} — Soạn nội dung: {CONTENT[kind.name]}")
    if word not in SEND:
        raise CommandError(CONFIRM)
    post = _post(draft)
    post.urgent, post.at, post.sms = options.urgent, options.at, options.sms
    reply = await send_post(ctx, post)
    draft["step"] = "done"  # the draft is dropped
    return reply


async def _await_pdf(ctx: Context, draft: dict, _word: str) -> Reply:
    """A one-line !vanban waiting for its PDF."""
    incoming = ctx.incoming
    post = Post.from_json(draft["post"])
    file = files.of_message(incoming.msgtype, incoming.content)
    if file is None:
        raise CommandError(
            f"Bot đang chờ tệp PDF của văn bản số {post.fields['number']}; hãy gửi tệp, "
            "hoặc gõ 'huỷ'."
        )
    if not files.accepted(file):
        raise CommandError(files.refusal(file))
    post.attachments.append(files.attachment(file))
    draft["post"] = post.to_json()
    if not files.is_pdf(file):
        return Reply(
            f"Đã nhận tệp '{files.file_name(file)}'; văn bản cần một tệp PDF, hãy gửi tệp PDF."
        )
    draft["step"] = "done"  # sent, or refused for good (the one line is to be typed again)
    return await send_post(ctx, post)


STEPS = {
    "kind": _choose_kind,
    "units": _choose,
    "people": _choose,
    "fields": _field,
    "content": _content,
    "confirm": _confirm,
    "pdf": _await_pdf,
}
