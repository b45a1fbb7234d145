"""Commands as declarations: one place says each command's name, aliases, arguments,
who may use it, help text — and the help, usage and suggestions are generated from it.

``!thống kê``, ``!thongke``, ``!THONGKE`` and the NFD spelling all name the same command.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from provisioning.text import compact

if TYPE_CHECKING:
    from bot.directory import Asker, DirectorySnapshot
    from bot.reply import Reply

PREFIXES = ("!", "！")


class CommandError(Exception):
    """Tell the person what went wrong (a Vietnamese sentence); not a bug."""


class UsageError(CommandError):
    """The arguments do not fit: the command's usage is shown."""


@dataclass(frozen=True)
class Incoming:
    """A message as the bot received it."""

    sender: str
    body: str
    room_id: str = ""
    event_id: str = ""
    msgtype: str = "m.text"
    content: dict = field(default_factory=dict)
    direct: bool = False  # a room of just the sender and the bot


@dataclass(frozen=True)
class Context:
    snapshot: DirectorySnapshot
    asker: Asker
    incoming: Incoming | None = None
    service: Any = None  # the BotService (engine, Matrix adapter, worker hooks)


Handler = Callable[[Context, str], "Reply | Awaitable[Reply]"]


@dataclass(frozen=True)
class Command:
    name: str  # canonical, accent-free: "thongke"
    spoken: str  # as Vietnamese writes it: "thống kê"
    usage: str  # "!thongke <cấp học> [đơn vị]"
    summary: str
    examples: tuple[str, ...]
    allowed: Callable[[Asker], bool]
    handler: Handler
    aliases: tuple[str, ...] = ()
    details: str = ""

    def names(self) -> set[str]:
        return {self.name, compact(self.spoken), *(compact(a) for a in self.aliases)}


REGISTRY: dict[str, Command] = {}


def command(
    name: str,
    *,
    spoken: str,
    usage: str,
    summary: str,
    examples: tuple[str, ...] = (),
    allowed: Callable[[Asker], bool] = lambda asker: asker.known,
    aliases: tuple[str, ...] = (),
    details: str = "",
) -> Callable[[Handler], Handler]:
    """Declare a command; the decorated function handles (context, argument text)."""

    def register(handler: Handler) -> Handler:
        REGISTRY[name] = Command(
            name, spoken, usage, summary, examples, allowed, handler, aliases, details
        )
        return handler

    return register


@dataclass(frozen=True)
class Parsed:
    command: Command | None
    word: str  # what was typed as the command (for "did you mean")
    args: str


def parse(text: str) -> Parsed | None:
    """A message as a command, or None when it is not one (no ``!``)."""
    text = unicodedata.normalize("NFC", text).strip()
    if not text.startswith(PREFIXES):
        return None
    words = text[1:].split()
    if not words:
        return None
    lookup = {n: c for c in REGISTRY.values() for n in c.names()}
    # the longest run of leading words that names a command: "thống kê THCS"
    for size in (3, 2, 1):
        if len(words) >= size:
            key = compact("".join(words[:size]))
            if key in lookup:
                return Parsed(lookup[key], " ".join(words[:size]), " ".join(words[size:]))
    return Parsed(None, words[0], " ".join(words[1:]))


def suggestion(word: str, asker: Asker) -> str | None:
    """The closest command this person may use to a mistyped one."""
    candidates = {n: c for c in REGISTRY.values() if c.allowed(asker) for n in c.names()}
    close = difflib.get_close_matches(compact(word), list(candidates), n=1, cutoff=0.5)
    return candidates[close[0]].name if close else None
