"""What a recipient does to a post besides reading it: reacting to it (✅/❌ to an
invitation) or replying to it (a report to a request). The bot hands each reaction, and
each reply that is not a command, to the handlers its kinds register here; the first
handler that answers (a :class:`~bot.reply.Reply`) consumes the event, and the bot sends
that answer as it answers a command (in the asker's DM when the room is shared).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from bot.directory import DirectoryCache
from bot.reply import Reply


@dataclass(frozen=True)
class Relation:
    """A reaction or a reply, as the bot received it."""

    engine: Engine
    directory: DirectoryCache
    room_id: str
    event_id: str  # the reaction or the reply itself
    target: str  # the event it relates to (a copy of a post, perhaps)
    sender: str
    content: dict[str, Any] = field(default_factory=dict)
    now: dt.datetime | None = None  # the bot's clock

    @property
    def key(self) -> str:
        """A reaction's key ("✅"); empty for a reply."""
        return str((self.content.get("m.relates_to") or {}).get("key") or "")


RelationHandler = Callable[[Relation], Awaitable[Reply | None]]
REACTION_HANDLERS: list[RelationHandler] = []
REPLY_HANDLERS: list[RelationHandler] = []


def on_reaction(fn: RelationHandler) -> RelationHandler:
    """Register ``async fn(relation) -> Reply | None`` for every reaction."""
    REACTION_HANDLERS.append(fn)
    return fn


def on_reply(fn: RelationHandler) -> RelationHandler:
    """Register ``async fn(relation) -> Reply | None`` for every reply that is no command."""
    REPLY_HANDLERS.append(fn)
    return fn


async def dispatch(handlers: list[RelationHandler], relation: Relation) -> Reply | None:
    """The first answer of ``handlers`` to ``relation`` (None: no handler took it)."""
    for handler in handlers:
        reply = await handler(relation)
        if reply is not None:
            return reply
    return None
