"""Families' identities for the bot, cached; and the open "which child?" questions.

A family's identity (which children an account follows) changes only with an import of
the student table (the directory's ``revision``) or a change of the family accounts, so
each account's is looked up once (one query, off the event loop) and kept until either
changes; the check of both is one small query, at most every ``min_check_interval``.
The staff directory stays in ``bot.directory`` (its snapshot holds no family).

When a parent of several children asks without saying which, the bot asks back and keeps
the question here, in memory, for ``CHOICE_TTL``: the next message in that DM ("1",
"An") answers it. A restart forgets it (the parent asks again).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from bot.commands import REGISTRY, Incoming, Parsed, parse
from bot.db.family import family_of
from bot.families.identity import Family, pick
from bot.families.terms import TermDates
from provisioning.db.models import DirectoryState, FamilyAccount

CHOICE_TTL = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Choice:
    """An open question: which of ``codes`` (in the order listed) the command is for."""

    command: str
    codes: tuple[str, ...]
    names: tuple[str, ...]  # full names, same order
    rest: str  # what else the command said ("hk1")
    asked_at: dt.datetime


class FamilyCache:
    def __init__(self, engine: Engine, min_check_interval: float = 1.0) -> None:
        self.engine = engine
        self.min_check_interval = min_check_interval
        self.terms = TermDates.parse()
        self._families: dict[tuple[str, str | None], Family] = {}
        self._version: tuple | None = None
        self._checked = 0.0
        self._choices: dict[tuple[str, str], Choice] = {}

    def _current_version(self) -> tuple:
        with self.engine.connect() as conn:
            revision = conn.scalar(
                select(DirectoryState.value).where(DirectoryState.key == "revision")
            )
            accounts = conn.execute(
                select(func.count(), func.sum(func.length(FamilyAccount.user_id))).where(
                    FamilyAccount.deactivated.is_(False)
                )
            ).one()
        return (revision, tuple(accounts))

    async def family(self, user_id: str, staff_phone: str | None = None) -> Family:
        """Who ``user_id`` is among families (for a staff account: through its phone)."""
        now = time.monotonic()
        if now - self._checked >= self.min_check_interval:
            self._checked = now
            version = await asyncio.to_thread(self._current_version)
            if version != self._version:
                self._families.clear()
                self._version = version
        key = (user_id, staff_phone)
        if key not in self._families:
            self._families[key] = await family_of(self.engine, user_id, staff_phone)
        return self._families[key]

    # ---------------------------------------------------------------- which child?

    def ask(self, message: Incoming, choice: Choice) -> None:
        self._choices[(message.sender, message.room_id)] = choice

    def forget(self, message: Incoming) -> None:
        self._choices.pop((message.sender, message.room_id), None)

    def chosen(self, message: Incoming, now: dt.datetime) -> Parsed | None:
        """A DM message answering an open question, as the command it completes (with the
        child's Mã học sinh as its argument); None when it answers nothing."""
        key = (message.sender, message.room_id)
        choice = self._choices.get(key)
        if choice is None or parse(message.body) is not None:
            return None
        if now - choice.asked_at > CHOICE_TTL:
            del self._choices[key]
            return None
        index = _picked(choice, message.body)
        if index is None:
            return None
        del self._choices[key]
        args = f"{choice.codes[index]} {choice.rest}".strip()
        return Parsed(REGISTRY[choice.command], choice.command, args)


def _picked(choice: Choice, answer: str) -> int | None:
    """Which listed child ``answer`` names ("2", "An", "Minh An"); None if not exactly one."""
    from bot.families.identity import Child

    stand_ins = [
        Child(i, code, name, 0, "", None, "", None)
        for i, (code, name) in enumerate(zip(choice.codes, choice.names, strict=True))
    ]
    found = pick(stand_ins, answer)
    return found[0].student_id if len(found) == 1 and answer.strip() else None
