"""The bot's directory cache: a reload runs in a worker thread while the event loop keeps
serving, callers that ask meanwhile share that one reload, and a snapshot someone still
holds is never emptied when it is replaced."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import update

from bot.directory import DirectoryCache
from provisioning.db.models import DirectoryState
from provisioning.text import name_sort_key

from .test_gui import service  # noqa: F401 - the fixture


def new_revision(engine, value: str) -> None:
    with engine.begin() as conn:  # what an import does
        conn.execute(
            update(DirectoryState).where(DirectoryState.key == "revision").values(value=value)
        )


async def test_a_reload_leaves_the_loop_free_and_is_shared(service, engine):  # noqa: F811
    cache = service.directory
    held = await cache.get()
    people = dict(held.view.people)
    started, gate, loads = threading.Event(), threading.Event(), []
    load = cache.load

    def gated_load(version):
        started.set()
        loads.append(gate.wait(timeout=20))  # True: the loop opened it while we waited
        return load(version)

    cache.load = gated_load
    new_revision(engine, "7001")
    callers = [asyncio.create_task(cache.get()) for _ in range(3)]
    assert await asyncio.to_thread(started.wait, 20)  # the reload is under way…
    gate.set()  # …and this line runs only if the event loop is not blocked by it
    first, second, third = await asyncio.gather(*callers)
    assert loads == [True]  # one reload for the three callers, never waiting on the loop
    assert first is second is third
    assert first is not held and first.view.revision == 7001
    assert held.view.people == people  # the old snapshot we hold stays whole
    someone = next(p for p in people.values() if p.active)
    assert someone.id in held.people_named(someone.full_name, among=people)


async def test_people_come_in_vietnamese_name_order(service):  # noqa: F811
    snapshot = await service.directory.get()
    people = snapshot.view.people
    expected = sorted(people.values(), key=lambda p: (name_sort_key(p.name_key), p.code))
    assert snapshot.first_people(set(people), len(people)) == expected
    assert snapshot.first_people(set(people), 3) == expected[:3]


async def test_a_recheck_sees_a_change_at_once_but_not_more_than_every_few_seconds(
    service,  # noqa: F811 - the directory it set up
    engine,
):
    """An invite from someone unknown rechecks the directory (they may be new); a stranger
    inviting again and again does not make the bot check each time."""
    cache = DirectoryCache(engine, min_check_interval=3600, min_recheck_interval=0.5)
    held = await cache.get()
    new_revision(engine, "7001")
    assert await cache.get() is held  # not checked again for an hour
    fresh = await cache.recheck()
    assert fresh is not held and fresh.view.revision == 7001
    new_revision(engine, "7002")
    assert await cache.recheck() is fresh  # checked a moment ago: not again yet
    await asyncio.sleep(0.6)
    assert (await cache.recheck()).view.revision == 7002
