"""A post ready to go (from the guided !gui or a one-line form): its last checks, then
stored — sent at once, or scheduled — and the answer to its sender."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bot.commands import CommandError, Context
from bot.directives import files
from bot.directives.audience import Selection
from bot.directives.compose import Preview, missing_note, preview, save
from bot.directives.families import MIXED, QUIET_NOTICE, quiet_until
from bot.directives.kinds import KINDS, FieldContext, Kind, check_times
from bot.directives.when import format_time
from bot.reply import Reply
from provisioning.text import format_number

#: kinds whose answers only staff can give yet (a report's submissions, an invitation's
#: attendance): refused to families rather than sent with answers that would be refused
NOT_FOR_FAMILIES = {"report_request", "invitation"}


@dataclass
class Post:
    kind: Kind
    selection: Selection
    body: str
    html: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    urgent: bool = False
    at: dt.datetime | None = None  # hẹn giờ; None: at once
    sms: bool = False  # "kèm SMS": an SMS to whoever has not read it after a while

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.name,
            "selection": self.selection.to_json(),
            "body": self.body,
            "html": self.html,
            "attachments": self.attachments,
            "fields": self.fields,
            "urgent": self.urgent,
            "at": self.at.isoformat() if self.at else None,
            "sms": self.sms,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Post:
        data = dict(data)
        data["kind"] = KINDS[data["kind"]]
        data["selection"] = Selection.from_json(data["selection"])
        data["at"] = dt.datetime.fromisoformat(data["at"]) if data.get("at") else None
        return cls(**data)


def field_context(ctx: Context, now: dt.datetime, at: dt.datetime | None) -> FieldContext:
    """What the fields of a post by this sender are parsed against."""
    primary = ctx.snapshot.primary(ctx.asker.person) if ctx.asker.person else None
    return FieldContext(now=now, send_at=at or now, unit_name=primary[1].name if primary else "")


def check(post: Post, now: dt.datetime, *, files_too: bool = True) -> None:
    """What must still hold when the post is confirmed (time went by since it was typed);
    without ``files_too``, all but its files (a văn bản whose PDF is yet to come)."""
    if post.at is not None and post.at <= now:
        raise CommandError(
            f"Thời điểm {format_time(post.at)} đã qua; hãy chọn một thời điểm sau bây giờ."
        )
    check_times(post.kind, post.fields, post.at or now)
    if not files_too:
        return
    if post.kind.needs_pdf and not any(files.is_pdf(a) for a in post.attachments):
        raise CommandError("Văn bản cần kèm tệp PDF; hãy gửi tệp PDF vào tin nhắn riêng với bot.")
    refused = next((a for a in post.attachments if not files.accepted(a)), None)
    if refused is not None:
        raise CommandError(files.refusal(refused))


async def check_audience(ctx: Context, post: Post) -> None:
    """Someone must be reached (by the directory's mirror of the rooms)."""
    found = await preview(ctx.snapshot, ctx.asker, post.selection, engine=ctx.service.engine)
    _check_reached(ctx, post, found)


def _check_reached(ctx: Context, post: Post, found: Preview) -> None:
    """Someone is reached, and the kind suits who is."""
    if not found.reached:
        chosen = post.selection.describe(ctx.snapshot)
        who = "người nhận" if post.selection.families else "cán bộ"
        raise CommandError(f"Không có {who} nào khớp với lựa chọn ({chosen}).")
    if found.families and found.families.members and post.kind.name in NOT_FOR_FAMILIES:
        raise CommandError(
            f"{post.kind.label} chỉ gửi cho cán bộ (phụ huynh, học sinh chưa trả lời được trên "
            "hệ thống); hãy gửi thông báo hoặc tin nhắn cho phụ huynh, học sinh."
        )


def sms_fallback_at(
    service: Any, post: Post, found: Preview, now: dt.datetime
) -> dt.datetime | None:
    """When a khẩn post (or one sent "kèm SMS") goes by SMS to the staff who have not
    opened it; None for other posts, posts to families only, or a bot that sends no SMS."""
    outreach = getattr(service, "outreach", None)
    if outreach is None or not (post.urgent or post.sms) or not found.people:
        return None
    return (post.at or now) + outreach.fallback_after


def fallback_note(after: dt.timedelta) -> str:
    """'Cán bộ chưa mở tin sau 4 giờ sẽ nhận tin qua SMS.'"""
    hours = after.total_seconds() / 3600
    shown = format_number(hours, 0 if hours == int(hours) else 1)
    return f"Cán bộ chưa mở tin sau {shown} giờ sẽ nhận tin qua SMS."


def quiet_hours(post: Post, found: Preview, now: dt.datetime) -> str | None:
    """A post reaching families in the quiet hours (and not khẩn) waits until 06:30: its
    time is moved there; the sentence telling the sender, or None."""
    if post.urgent or not (found.families and found.families.members):
        return None
    until = quiet_until(post.at or now)
    if until is None:
        return None
    post.at = until
    check_times(post.kind, post.fields, until)  # a deadline before 06:30 is refused
    return QUIET_NOTICE.format(at=format_time(until), mixed=MIXED if found.people else "")


async def send_post(ctx: Context, post: Post) -> Reply:
    """Store the post (every delivery planned, or scheduled) and say so."""
    service, incoming = ctx.service, ctx.incoming
    now = service.clock.now()
    check(post, now)
    found = await preview(
        ctx.snapshot, ctx.asker, post.selection, service.joined_members, engine=service.engine
    )
    _check_reached(ctx, post, found)
    quiet = quiet_hours(post, found, now)
    fallback = sms_fallback_at(service, post, found, now)
    directive_id, code = await save(
        service.engine,
        ctx.snapshot,
        ctx.asker,
        post.selection,
        found,
        body=post.body,
        html=post.html,
        attachments=post.attachments,
        origin_room_id=incoming.room_id if incoming else None,
        kind=post.kind.name,
        fields=post.fields,
        urgent=post.urgent,
        scheduled_for=post.at,
        now=now,
        sms_fallback_at=fallback,
    )
    noun = post.kind.noun + (" khẩn" if post.urgent else "")
    if post.at is None:
        service.directive_saved(directive_id)
        text = (
            f"Đã lưu {noun} mã {code}; đang gửi đến {found.summary()}. "
            f"Gõ !baocao {code} để xem ai đã đọc."
        )
    else:
        text = (
            f"Đã hẹn giờ gửi {noun} mã {code} lúc {format_time(post.at)} đến "
            f"{found.summary()}; danh sách người nhận được xác định lại lúc gửi. "
            f"Gõ !huy {code} để huỷ trước giờ gửi."
        )
    if fallback is not None:
        text += f" {fallback_note(service.outreach.fallback_after)}"
    if note := await missing_note(service.engine, found):
        text += f"\n{note}"
    if quiet:
        text = f"{quiet}\n{text}"
    sent = {
        "code": code,
        "kind": post.kind.name,
        "urgent": post.urgent,
        "sms_fallback_at": fallback.isoformat() if fallback else None,
        "scheduled_for": post.at.isoformat() if post.at else None,
        "people": len(found.people),
        "families": len(found.families.members) if found.families else 0,
        "quiet": quiet is not None,
        "events": found.rooms_count + found.inboxes_count,
    }
    return Reply(text, extra={"vn.dieuhanh.sent": sent})
