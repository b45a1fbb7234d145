"""From a message to a reply: who asks, which command, may they, what to answer (no Matrix).

A failure inside a command becomes a short Vietnamese apology with a reference id, and
the details go to the log; it never reaches the sync loop.
"""

from __future__ import annotations

import inspect
import logging
import secrets

from bot import commands
from bot.commands import (  # noqa: F401 - they register themselves
    CommandError,
    Context,
    UsageError,
    danhba,
    parse,
    suggestion,
    thongke,
    trogiup,
)
from bot.commands.trogiup import usage_reply
from bot.directory import DirectoryCache
from bot.reply import Reply

log = logging.getLogger(__name__)

NOT_IN_DIRECTORY = (
    "Tài khoản này không có trong danh bạ của hệ thống Điều hành, nên bot không thể trả lời."
)
NOT_ALLOWED = (
    "Xin lỗi, lệnh {command} dành cho cán bộ quản lý và chuyên viên phụ trách; "
    "Anh/Chị có thể gõ !trogiup để xem các lệnh mình dùng được."
)


class BotService:
    def __init__(self, directory: DirectoryCache) -> None:
        self.directory = directory

    async def handle(self, sender: str, text: str) -> Reply | None:
        """The reply to a message, or None when the message is not a command."""
        parsed = parse(text)
        if parsed is None:
            return None
        snapshot = self.directory.get()
        asker = snapshot.asker(sender)
        if not asker.known:
            return Reply(NOT_IN_DIRECTORY)
        cmd = parsed.command
        if cmd is None:
            guess = suggestion(parsed.word, asker)
            hint = f" Có phải Anh/Chị muốn dùng !{guess}?" if guess else ""
            return Reply(f"Không có lệnh '!{parsed.word}'.{hint} Gõ !trogiup để xem các lệnh.")
        if not cmd.allowed(asker):
            return Reply(NOT_ALLOWED.format(command=f"!{cmd.name}"))
        try:
            result = cmd.handler(Context(snapshot, asker), parsed.args)
            if inspect.isawaitable(result):
                result = await result
            return result
        except UsageError as exc:
            return usage_reply(cmd, str(exc))
        except CommandError as exc:
            return Reply(str(exc))
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("command %s from %s failed (ref %s)", cmd.name, sender, ref)
            return Reply(
                f"Xin lỗi, bot gặp lỗi khi xử lý lệnh !{cmd.name}. "
                f"Mã tham chiếu: {ref}. Vui lòng thử lại sau hoặc báo quản trị viên."
            )


__all__ = ["BotService", "commands"]
