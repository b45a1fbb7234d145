"""Taking submissions to report requests, and the summary after the deadline.

A submission comes as

- a reply (``m.in_reply_to``) to the request's copy a person received — in the room where
  it came, or to the request's reminder in their inbox — with text and/or a file;
- ``!nop <mã> [nội dung]`` in the DM (``bot.commands.nop``), which also takes the files
  sent in that DM in the 10 minutes before, and opens a window: every file sent in that DM
  afterwards counts toward the same request until 10 minutes have passed since the last
  one (or ``!nop``) or the person types ``!nop xong``. The window is a row of the bot's
  state, so a restart keeps it.

Each is checked (the request is open, the person is one of its recipients, files are
PDF, Office or images), stored (``directive_submissions``, kept once per event) and
confirmed in one line. A file sent in the DM outside a window is kept for a ``!nop`` (or
``!vanban``) that follows, and someone with open requests is told how to submit it.

When the deadline passes the sender gets one summary (reminder 'deadline_summary'); a
request closed with ``!huy`` before it gets none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from typing import Any

from sqlalchemy import Engine

from bot.commands import CommandError, Incoming
from bot.db.delivery import Delivery
from bot.db.directive import Directive
from bot.db.recipient import Recipient
from bot.db.state import BotState
from bot.db.submission import Submission
from bot.directives import files
from bot.directives.relations import Relation, on_reply
from bot.directives.reports import (
    KIND,
    SUMMARY,
    WINDOW,
    Submitted,
    confirmation,
    deadline_of,
    lateness,
    summary_text,
    tally,
    tally_head,
    tally_report,
)
from bot.directives.scheduler import ReminderRun, reminder_kind
from bot.directives.when import format_time
from bot.directory import DirectorySnapshot
from bot.reply import Reply

log = logging.getLogger(__name__)

NOT_RECIPIENT = (
    "Anh/Chị không có trong danh sách nhận yêu cầu báo cáo mã {code}, nên bot không nhận "
    "báo cáo này."
)
MINUTES = int(WINDOW.total_seconds() // 60)
UNCLAIMED = (
    "Bot chưa tính tệp «{name}» cho yêu cầu báo cáo nào. Nếu đây là báo cáo, gõ !nop <mã> "
    "trong vòng {minutes} phút (ví dụ !nop {code}); yêu cầu Anh/Chị đang nhận: {codes}."
)
EMPTY = "Báo cáo trống: hãy ghi nội dung sau mã (!nop {code} <nội dung>) hoặc gửi tệp báo cáo."


async def request_by_code(engine: Engine, code: str) -> Directive:
    """The report request with this code, or the sentence saying there is none."""
    directive = await Directive.by_code(engine, code)
    if directive is None:
        raise CommandError(f"Không tìm thấy yêu cầu báo cáo mã '{code}'; hãy kiểm tra lại mã.")
    if directive.kind != KIND:
        raise CommandError(
            f"Mã {directive.code} không phải một yêu cầu báo cáo; chỉ nộp báo cáo theo yêu cầu "
            "báo cáo."
        )
    return directive


async def check(
    engine: Engine, snapshot: DirectorySnapshot, directive: Directive, user_id: str
) -> int:
    """The submitter's person id, if the request is open and they are among its
    recipients; else the sentence saying why not."""
    code = directive.code
    if directive.cancelled_at is not None:
        raise CommandError(
            f"Yêu cầu báo cáo mã {code} đã đóng lúc {format_time(directive.cancelled_at)}; "
            "bot không nhận thêm báo cáo cho yêu cầu này."
        )
    if directive.status == Directive.SCHEDULED:
        raise CommandError(f"Yêu cầu báo cáo mã {code} chưa được gửi; chưa nhận báo cáo.")
    person = snapshot.person_of_user.get(user_id)
    if person is None or await Recipient.get(engine, directive.id, person.id) is None:
        raise CommandError(NOT_RECIPIENT.format(code=code))
    return person.id


async def take(
    engine: Engine,
    snapshot: DirectorySnapshot,
    directive: Directive,
    user_id: str,
    submitted: Submitted,
    now: dt.datetime,
) -> Reply:
    """Check, store and confirm one submission (CommandError: refused, nothing stored)."""
    person_id = await check(engine, snapshot, directive, user_id)
    refused = submitted.refused()
    if refused is not None:
        raise CommandError(refused)
    if not submitted.text and not submitted.files:
        raise CommandError(EMPTY.format(code=directive.code))
    kept = await Submission.add(
        engine,
        directive.id,
        person_id,
        room_id=submitted.room_id,
        event_id=submitted.event_id,
        body=submitted.text,
        files=submitted.kept(),
        at=now,
    )
    if not kept:
        log.info("submission %s to %s was kept already", submitted.event_id, directive.code)
    late = lateness(now, deadline_of(directive))
    return Reply(
        confirmation(directive.code, submitted, late),
        extra={
            "vn.dieuhanh.submission": {
                "code": directive.code,
                "late": bool(late),
                "files": len(submitted.files),
            }
        },
    )


@on_reply
async def reply_to_request(relation: Relation) -> Reply | None:
    """A reply to a request's copy (or to its reminder) is a submission to it."""
    delivery = await Delivery.by_event(relation.engine, relation.room_id, relation.target)
    if delivery is None:
        return None
    found = await Directive.by_ids(relation.engine, {delivery.directive_id})
    directive = found.get(delivery.directive_id)
    if directive is None or directive.kind != KIND:
        return None
    snapshot = await relation.directory.get()
    submitted = Submitted.of_message(relation.room_id, relation.event_id, relation.content)
    now = relation.now or dt.datetime.now(dt.UTC)
    try:
        return await take(relation.engine, snapshot, directive, relation.sender, submitted, now)
    except CommandError as exc:
        return Reply(str(exc))


# ------------------------------------------------------------------------ the DM window


def _window_key(user_id: str) -> str:
    return "nop." + hashlib.sha256(user_id.encode()).hexdigest()[:40]


async def open_window(
    engine: Engine, user_id: str, room_id: str, code: str, now: dt.datetime
) -> None:
    """Files this person sends in ``room_id`` from now on count toward request ``code``."""
    value = {"code": code, "room_id": room_id, "until": (now + WINDOW).isoformat()}
    await BotState.put(engine, _window_key(user_id), json.dumps(value))


async def close_window(engine: Engine, user_id: str) -> str | None:
    """End the person's window; the code it was for (None: none was open)."""
    state = await BotState.get(engine, _window_key(user_id))
    value = json.loads(state.value) if state else {}
    if value:
        await BotState.put(engine, _window_key(user_id), "{}")
    return value.get("code")


async def window(engine: Engine, user_id: str, room_id: str, now: dt.datetime) -> str | None:
    """The request code files sent in this room count toward now, if any."""
    state = await BotState.get(engine, _window_key(user_id))
    value = json.loads(state.value) if state else {}
    if not value or value["room_id"] != room_id:
        return None
    return value["code"] if now <= dt.datetime.fromisoformat(value["until"]) else None


async def file_in_dm(service: Any, message: Incoming) -> Reply | None:
    """A file sent in the DM while a ``!nop`` window is open: a submission to it (the
    window then runs 10 minutes from now). Else it is kept for a ``!vanban`` or ``!nop``
    that follows, and a person with open requests is told how to submit it."""
    engine, now = service.engine, service.clock.now()
    user_id, room_id = message.sender, message.room_id
    code = await window(engine, user_id, room_id, now)
    if code is None:
        service.remember_file(message)
        return await _unclaimed(engine, user_id, message.content)
    snapshot = await service.directory.get()
    content = {**message.content, "msgtype": message.msgtype}
    try:
        directive = await request_by_code(engine, code)
        submitted = Submitted.of_message(room_id, message.event_id, content)
        reply = await take(engine, snapshot, directive, user_id, submitted, now)
    except CommandError as exc:
        return Reply(str(exc))
    await open_window(engine, user_id, room_id, code, now)
    return reply


async def _unclaimed(engine: Engine, user_id: str, content: dict[str, Any]) -> Reply | None:
    """A file outside a window, from someone asked for reports: how to submit it."""
    codes = await Submission.open_requests(engine, user_id)
    if not codes:
        return None
    return Reply(
        UNCLAIMED.format(
            name=files.file_name(content), code=codes[0], minutes=MINUTES, codes=", ".join(codes)
        )
    )


# ------------------------------------------------------------------------ after the deadline


@reminder_kind(SUMMARY)
async def deadline_summary(run: ReminderRun) -> None:
    """The sender's one summary when the deadline has passed (in the room they sent the
    request from, else their inbox); sent with the reminder's transaction id, recorded in
    ``directives.summary_sent_at``, so neither a retry nor a restart sends it twice."""
    directive = run.directive
    if directive.summary_sent_at is not None:
        return
    snapshot = await run.scheduler.directory.get()
    recipients = await Recipient.of_directive(run.engine, directive.id)
    firsts = await Submission.firsts(run.engine, directive.id)
    deadline = deadline_of(directive)
    result = tally([r.person_id for r in recipients], firsts, deadline)
    text = summary_text(directive.code, deadline, tally_head(result))
    lines, html = tally_report(snapshot, result, text)
    data = {"code": directive.code, **result.counts()}
    content = Reply("\n".join(lines), html, extra={"vn.dieuhanh.summary": data}).content()
    room_id = directive.origin_room_id or await run.scheduler.transport.inbox(
        directive.sender_person_id
    )
    await run.send(room_id, content)
    await Directive.mark_summary_sent(run.engine, directive.id, run.now)
    log.info("summary of %s sent to its sender: %s", directive.code, data)
