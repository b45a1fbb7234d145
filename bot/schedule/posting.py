"""Posting the week's lịch công tác: a task of the bot's scheduler (``on_tick``).

From Monday 07:00 (Asia/Ho_Chi_Minh, on the bot's clock) every unit's schedule of the
week that has entries is posted to the unit's "Thông tin điều hành" room; a schedule
changed after that (``!lich them/xoa``, an import) has its post edited in place
(``m.replace``), on the next tick. A schedule first made later in the week is posted
when it is made.

All state is in the ``work_schedules`` row (``event_id``, ``room_id``, ``posted_at``
against ``updated_at``). The first post of a unit's week is sent with a transaction id
derived from the unit and the week, each edit with one derived from the version it
shows: a bot stopped between sending and recording sends the same ids again, and Synapse
hands back the event it already has instead of posting twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from bot.db.schedule import WorkSchedule
from bot.directives.scheduler import Scheduler, on_tick
from bot.directives.when import VN
from bot.directory import DirectorySnapshot
from bot.schedule import card
from bot.schedule.days import monday
from bot.schedule.entries import week_of
from provisioning.matrix.layout import Purpose, unit_room_key

log = logging.getLogger(__name__)

POST_AT = dt.time(7, 0)  # on Monday


def first_post_time(week_start: dt.date) -> dt.datetime:
    """When a week's schedules are posted: its Monday, 07:00 in Vietnam."""
    return dt.datetime.combine(week_start, POST_AT, VN)


def _txn(schedule: WorkSchedule, version: str = "") -> str:
    key = f"{schedule.unit_code}|{schedule.week_start.isoformat()}|{version}"
    return "dh.lich." + hashlib.sha256(key.encode()).hexdigest()[:32]


def announcements_room(snapshot: DirectorySnapshot, unit_code: str) -> str | None:
    """The room id of the unit's "Thông tin điều hành", once provisioning made it."""
    room = snapshot.rooms.get(unit_room_key(unit_code, Purpose.ANNOUNCEMENTS))
    return room[1] if room else None


@on_tick
async def post_schedules(scheduler: Scheduler, now: dt.datetime) -> None:
    """Post (or edit) every schedule of this week that its room does not show as it is."""
    week = monday(now.astimezone(VN).date())
    if now < first_post_time(week) or scheduler.transport is None:
        return
    unshown = await WorkSchedule.unshown(scheduler.engine, week)
    if not unshown:
        return
    snapshot = await scheduler.directory.get()
    for schedule in unshown:
        try:
            await show(scheduler, snapshot, schedule, now)
        except Exception:  # Synapse away: tried again on the next tick
            log.exception("lịch công tác of %s: posting failed", schedule.unit_code)


async def show(
    scheduler: Scheduler, snapshot: DirectorySnapshot, schedule: WorkSchedule, now: dt.datetime
) -> None:
    """Post ``schedule`` to its unit's room, or edit the post to show it."""
    unit = snapshot.view.by_code.get(schedule.unit_code)
    if unit is None or not unit.active:
        log.warning("lịch công tác of %s: no such active unit", schedule.unit_code)
        return
    new = card.content(unit.code, unit.name, schedule.week_start, week_of(schedule.entries))
    transport = scheduler.transport
    if schedule.event_id is None:
        room_id = announcements_room(snapshot, unit.code)
        if room_id is None:
            log.warning("lịch công tác of %s: the unit has no announcements room", unit.code)
            return
        event_id = await transport.send(room_id, new, _txn(schedule))
        how = "posted"
    else:
        room_id, event_id = schedule.room_id, schedule.event_id
        assert room_id is not None
        version = schedule.updated_at.isoformat() if schedule.updated_at else ""
        await transport.send(room_id, card.replacement(new, event_id), _txn(schedule, version))
        how = "edited"
    await WorkSchedule.mark_shown(scheduler.engine, schedule, event_id, room_id, now)
    log.info("lịch công tác of %s, week of %s: %s", unit.code, schedule.week_start, how)
