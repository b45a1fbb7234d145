"""From a message to a reply: who asks, which command, may they, what to answer.

A failure inside a command becomes a short Vietnamese apology with a reference id, and
the details go to the log; it never reaches the sync loop. A message that is not a
command continues the sender's open !gui draft in that room, if any.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Engine

from bot.clock import Clock, SystemClock
from bot.commands import (  # noqa: F401 - they register
    CommandError,
    Context,
    Incoming,
    UsageError,
    baocao,
    capnhat,
    danhba,
    gui,
    ketqua,
    lich,
    moi,
    nop,
    parse,
    posts,
    suggestion,
    thamdu,
    theodoi,
    thongke,
    tim,
    trienkhai,
    trogiup,
)
from bot.commands.trogiup import usage_reply
from bot.db.activity import ActivityCache
from bot.db.draft import Draft
from bot.directives import (
    fallback,  # noqa: F401 - registers the SMS fallback of posts
    files,
    submissions,
)
from bot.directory import DirectoryCache
from bot.families.cache import FamilyCache
from bot.reply import Reply
from bot.schedule import posting  # noqa: F401 - registers the Monday post of lịch công tác

log = logging.getLogger(__name__)

NOT_IN_DIRECTORY = (
    "Tài khoản này không có trong danh bạ của hệ thống Điều hành, nên bot không thể trả lời."
)
NOT_ALLOWED = (
    "Xin lỗi, lệnh {command} dành cho cán bộ quản lý và chuyên viên phụ trách; "
    "Anh/Chị có thể gõ !trogiup để xem các lệnh mình dùng được."
)


#: files sent in a DM outside a draft are kept this long for a one-line !vanban
RECENT_FILES = dt.timedelta(minutes=10)


class BotService:
    def __init__(
        self,
        directory: DirectoryCache,
        *,
        joined_members: Callable[[str], Awaitable[set[str]]] | None = None,
        on_directive: Callable[[int], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.directory = directory
        self.engine: Engine = directory.engine
        self.joined_members = joined_members
        self._on_directive = on_directive
        # (person id, text): a notice in that person's inbox (set by the Matrix adapter)
        self.tell_person: Callable[[int, str], Awaitable[None]] | None = None
        # (room id, text): a notice in a room (set by the Matrix adapter)
        self.notify_room: Callable[[str, str], Awaitable[None]] | None = None
        self.clock: Clock = clock or SystemClock()
        self.families = FamilyCache(self.engine)  # parents and students (bot.families)
        self.activity = ActivityCache(self.engine)  # who has logged in (!trienkhai, !baocao)
        self.outreach: Any = None  # SMS: invitations, fallback (bot.outreach; set by serve)
        # (user id, DM room id) -> files sent there outside a draft, with when (in memory:
        # a restart forgets them, and the bot then asks for the file)
        self._recent_files: dict[tuple[str, str], list[tuple[dt.datetime, dict[str, Any]]]] = {}

    def remember_file(self, message: Incoming) -> None:
        """A file sent in a DM with no draft open: kept for a !vanban that follows."""
        now = self.clock.now()
        key = (message.sender, message.room_id)
        kept = [(at, f) for at, f in self._recent_files.get(key, []) if now - at <= RECENT_FILES]
        file = files.of_message(message.msgtype, message.content) or {}
        self._recent_files[key] = [*kept[-9:], (now, files.attachment(file))]

    def take_recent_files(self, user_id: str, room_id: str) -> list[dict[str, Any]]:
        """The accepted files this person sent in this DM in the last 10 minutes (taken)."""
        now = self.clock.now()
        kept = self._recent_files.pop((user_id, room_id), [])
        return [f for at, f in kept if now - at <= RECENT_FILES and files.accepted(f)]

    def directive_saved(self, directive_id: int) -> None:
        """A directive (or reminders) was stored: wake the sender worker."""
        if self._on_directive is not None:
            self._on_directive(directive_id)

    async def handle(self, message: Incoming) -> Reply | None:
        """The reply to a message, or None when there is nothing to say."""
        parsed = parse(message.body) if message.msgtype in ("m.text", "m.notice") else None
        snapshot = await self.directory.get()
        asker = snapshot.asker(message.sender)
        ctx = Context(snapshot, asker, message, self)
        if parsed is None and message.direct:  # "1" / "An" answering "which child?"
            parsed = self.families.chosen(message, self.clock.now())
        if parsed is None:
            if not message.direct or not asker.known:
                return None
            draft = await Draft.get(self.engine, message.sender, message.room_id)
            if draft is None:
                if files.of_message(message.msgtype, message.content) is not None:
                    return await self._file_in_dm(message)
                return None
            if capnhat.draft_of(draft.state):
                return await self._guarded(
                    "capnhat", capnhat.continue_draft(ctx, draft), message.sender
                )
            return await self._guarded("gui", gui.continue_draft(ctx, draft), message.sender)
        if not asker.known and not (parsed.command and parsed.command.allowed(asker)):
            return Reply(NOT_IN_DIRECTORY)
        cmd = parsed.command
        if cmd is None:
            guess = suggestion(parsed.word, asker)
            hint = f" Có phải Anh/Chị muốn dùng !{guess}?" if guess else ""
            return Reply(f"Không có lệnh '!{parsed.word}'.{hint} Gõ !trogiup để xem các lệnh.")
        if not cmd.allowed(asker):
            return Reply(NOT_ALLOWED.format(command=f"!{cmd.name}"))
        try:
            result = cmd.handler(ctx, parsed.args)
            if inspect.isawaitable(result):
                result = await self._guarded(cmd.name, result, message.sender)
            return result
        except UsageError as exc:
            return usage_reply(cmd, str(exc))
        except CommandError as exc:
            return Reply(str(exc))
        except Exception:
            return _apology(cmd.name, message.sender)

    async def _file_in_dm(self, message: Incoming) -> Reply | None:
        """A file in a DM with no draft open: a report while a !nop window is open, else
        kept for a !vanban or !nop that follows (``bot.directives.submissions``)."""
        return await self._guarded("nop", submissions.file_in_dm(self, message), message.sender)

    async def _guarded(self, name: str, awaitable, sender: str) -> Reply | None:
        try:
            return await awaitable
        except (UsageError, CommandError):
            raise
        except Exception:
            return _apology(name, sender)


def _apology(name: str, sender: str) -> Reply:
    ref = secrets.token_hex(4)
    log.exception("command %s from %s failed (ref %s)", name, sender, ref)
    return Reply(
        f"Xin lỗi, bot gặp lỗi khi xử lý lệnh !{name}. Mã tham chiếu: {ref}. "
        "Vui lòng thử lại sau hoặc báo quản trị viên."
    )
