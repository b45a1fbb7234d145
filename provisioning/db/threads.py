"""How the services reach the database from their event loops, and their clock.

Every query of a service's table modules (``bot.db``, ``bridge.db``) is a coroutine: its SQL
runs in a worker thread (:func:`in_thread`), so no caller can forget to keep the event loop
free. A query that is part of a larger transaction takes a connection instead and stays
synchronous (its name starts with an underscore); the coroutine that opens the transaction
runs it. Code that is not on an event loop (the CLI, tests) runs a query with
``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def utcnow() -> dt.datetime:
    """Now, as an aware UTC datetime (what ``UtcDateTime`` columns take)."""
    return dt.datetime.now(dt.UTC)


def in_thread(query: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``query`` (blocking) as a coroutine that runs it in a worker thread."""

    @functools.wraps(query)
    async def off_the_loop(*args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(query, *args, **kwargs)

    return off_the_loop
