"""The bot's clock: what "now" is for every decision that depends on time (a scheduled
directive falling due, a reminder, a deadline, a draft expiring, "a time in the past").

- :class:`SystemClock`: the machine's time, the default.
- :class:`FileClock`: an ISO time read from a file on every call. A TEST HOOK, enabled
  only when the environment variable ``DIEUHANH_BOT_CLOCK_FILE`` names the file, so that
  tests drive the bot process's time by writing that file instead of sleeping.

Times the bot compares with the homeserver's own timestamps (when a delivery was sent,
against a read receipt) stay on the machine's time.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

CLOCK_FILE_ENV = "DIEUHANH_BOT_CLOCK_FILE"


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FileClock:
    """The time written in a file (ISO 8601 with an offset), read on every call.

    A file being rewritten (empty or half-written) gives the last time read, or the
    machine's time before any; a time without an offset is refused.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._last: dt.datetime | None = None

    def now(self) -> dt.datetime:
        try:
            text = self.path.read_text().strip()
            value = dt.datetime.fromisoformat(text) if text else None
        except (OSError, ValueError):
            value = None
        if value is not None:
            if value.tzinfo is None:
                raise ValueError(f"{self.path}: the clock needs a time with an offset: {text!r}")
            self._last = value.astimezone(dt.UTC)
        return self._last or dt.datetime.now(dt.UTC)


def clock_from_env(env: Mapping[str, str] = os.environ) -> Clock:
    """A :class:`FileClock` when ``DIEUHANH_BOT_CLOCK_FILE`` is set (tests), else the system's."""
    path = env.get(CLOCK_FILE_ENV)
    if path:
        log.warning("the bot's clock is read from %s (a test hook)", path)
        return FileClock(path)
    return SystemClock()
