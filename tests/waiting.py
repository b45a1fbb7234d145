"""Waiting in tests for a positive marker: ``eventually`` and ``eventually_async``.

A test that waits for something (an SMS in the sink, a line in a log, the bot's answer)
polls a probe until it returns something truthy, and fails after a deadline with what it
was waiting for and, when given, a diagnostic such as the end of a process's log. A check
that something did *not* happen waits in the same way for a later marker that can only
appear once the wrong thing had its chance — never for a fixed time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
Diagnostic = Callable[[], str]


def eventually(
    probe: Callable[[], T],
    timeout: float,
    what: str,
    *,
    interval: float = 0.1,
    diagnostic: Diagnostic | None = None,
) -> T:
    """Call ``probe`` until it returns a truthy value, and return that value.

    After ``timeout`` seconds, fail with ``what`` was awaited and the ``diagnostic``'s
    text. Exceptions raised by ``probe`` (e.g. a process found dead) fail at once."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(timeout, what, diagnostic))
        time.sleep(interval)


async def eventually_async(
    probe: Callable[[], Awaitable[T]],
    timeout: float,
    what: str,
    *,
    interval: float = 0.1,
    diagnostic: Diagnostic | None = None,
) -> T:
    """``eventually`` for a coroutine probe; ``interval=0`` when the probe itself waits
    (a long-polling ``/sync``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(timeout, what, diagnostic))
        await asyncio.sleep(interval)


def log_tail(path: Path, chars: int = 3000) -> Diagnostic:
    """A diagnostic: the last ``chars`` characters of a log file."""

    def tail() -> str:
        if not path.exists():
            return f"({path} does not exist)"
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]

    return tail


def _timed_out(timeout: float, what: str, diagnostic: Diagnostic | None) -> str:
    message = f"timed out after {timeout:g} s waiting for {what}"
    return f"{message}:\n{diagnostic()}" if diagnostic is not None else message
