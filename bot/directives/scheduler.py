"""The bot's scheduler: every ``bot.scheduler_interval_seconds`` (on the bot's clock) it

1. turns scheduled directives whose time has come into sending ones, planning their
   deliveries then, against the rooms' current members, exactly as a direct send does
   (a sender who lost the right to send, or an audience now empty, cancels it with a
   notice to the sender);
2. runs the reminders that are due (``directive_reminders``) through the handler
   registered for their kind (:func:`reminder_kind`);
3. runs the tasks registered with :func:`on_tick` (e.g. posting the week's lịch công tác);

and wakes the delivery worker when it planned anything. All of its state is in rows: a
directive turns 'sending' in the same transaction that plans its deliveries, a reminder
is recorded done after its handler returned; so a restart neither loses nor repeats one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from bot.clock import Clock
from bot.commands import CommandError
from bot.db.directive import Directive
from bot.db.reminder import Reminder
from bot.directives.audience import Selection
from bot.directives.cards import kind_of
from bot.directives.compose import JoinedMembers, planned, preview
from bot.directives.kinds import reminders_of
from bot.directives.when import format_time
from bot.directory import DirectoryCache

log = logging.getLogger(__name__)


@dataclass
class ReminderRun:
    """A due reminder, handed to its handler."""

    reminder: Reminder
    directive: Directive
    scheduler: Scheduler
    now: dt.datetime

    @property
    def engine(self) -> Engine:
        return self.scheduler.engine

    @property
    def txn_id(self) -> str:
        """A transaction id for one send of this reminder: a retry is never sent twice."""
        return f"dh.{self.directive.code}.{self.reminder.kind}"

    async def deliver_to(self, person_ids: list[int], delivery_kind: str) -> bool:
        """Plan one inbox delivery of ``delivery_kind`` per person and record the reminder
        done, atomically (see ``Reminder.deliver_to``); the worker sends them."""
        return await Reminder.deliver_to(
            self.engine,
            self.directive.id,
            self.reminder.kind,
            person_ids,
            delivery_kind,
            self.now,
        )

    async def send(self, room_id: str, content: dict[str, Any], part: int = 0) -> str:
        """Send one event now (e.g. a summary to the sender), with a transaction id of
        this reminder's own; its event id."""
        transport = self.scheduler.transport
        if transport is None:
            raise RuntimeError("the scheduler has no transport")
        return await transport.send(room_id, content, f"{self.txn_id}.{part}")


ReminderHandler = Callable[[ReminderRun], Awaitable[None]]
TickTask = Callable[["Scheduler", dt.datetime], Awaitable[None]]
REMINDER_KINDS: dict[str, ReminderHandler] = {}
TICK_TASKS: list[TickTask] = []


def reminder_kind(name: str) -> Callable[[ReminderHandler], ReminderHandler]:
    """Register ``async fn(run: ReminderRun)`` for the reminders of kind ``name`` (a value of
    ``directive_reminders.kind``: 'day_before', 'hour_before', 'deadline_summary').

    It runs once the reminder is due, at least once: when it returns, the reminder is
    recorded done; when it raises, it is retried on the next ticks (20 times at most).
    Plan deliveries with ``run.deliver_to`` (atomic with "done") or send with ``run.send``
    (a transaction id of its own), and a retry sends nothing twice.
    """

    def register(fn: ReminderHandler) -> ReminderHandler:
        REMINDER_KINDS[name] = fn
        return fn

    return register


def on_tick(fn: TickTask) -> TickTask:
    """Register ``async fn(scheduler, now)``, run on every tick (keep its state in rows)."""
    TICK_TASKS.append(fn)
    return fn


class Scheduler:
    def __init__(
        self,
        engine: Engine,
        directory: DirectoryCache,
        clock: Clock,
        *,
        interval: float = 30.0,
        joined_members: JoinedMembers | None = None,
        wake: Callable[[], None] | None = None,
        notify: Callable[[str, str], Awaitable[None]] | None = None,
        transport: Any = None,
        outreach: Any = None,
    ) -> None:
        self.engine = engine
        self.directory = directory
        self.clock = clock
        self.interval = interval
        self.joined_members = joined_members
        self.wake = wake or (lambda: None)  # the delivery worker's
        self.notify = notify  # (room id, text): tell a sender
        self.transport = transport  # the delivery worker's (send, inbox, upload)
        self.outreach = outreach  # the bot's SMS (bot.outreach.Outreach), if configured

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)

    async def tick(self) -> None:
        """Everything that is due now."""
        now = self.clock.now()
        activated = 0
        for directive in await Directive.due(self.engine, now):
            try:
                activated += await self.activate(directive, now)
            except Exception:  # Synapse away: tried again on the next tick
                log.exception("scheduled directive %s: activation failed", directive.code)
        if activated:
            self.wake()
        for reminder in await Reminder.due(self.engine, now):
            await self._remind(reminder, now)
        for task in TICK_TASKS:
            try:
                await task(self, now)
            except Exception:
                log.exception("scheduler task %s failed", getattr(task, "__name__", task))

    async def activate(self, directive: Directive, now: dt.datetime) -> bool:
        """Plan a due directive's deliveries now and make it 'sending'."""
        snapshot = await self.directory.get()
        asker = snapshot.asker(directive.sender_user_id)
        problem = None
        if not asker.sends:
            problem = "người gửi không còn quyền gửi tin điều hành"
        else:
            try:
                selection = Selection.from_json(directive.selection)
                found = await preview(
                    snapshot, asker, selection, self.joined_members, engine=self.engine
                )
            except (CommandError, KeyError, ValueError) as exc:
                problem = str(exc) if isinstance(exc, CommandError) else "đối tượng nhận đã đổi"
            else:
                problem = None if found.reached else "không còn ai thuộc đối tượng nhận"
        if problem is not None:
            await self._give_up(directive, now, problem)
            return False
        reminders = reminders_of(directive.kind, directive.fields, now)
        done = await Directive.activate(
            self.engine, directive.id, planned(snapshot, found, reminders)
        )
        if done:
            log.info("scheduled directive %s is due: %d recipients", directive.code, found.reached)
        return done

    async def _give_up(self, directive: Directive, now: dt.datetime, problem: str) -> None:
        if not await Directive.cancel(self.engine, directive.id, now):
            return
        log.warning("scheduled directive %s not sent: %s", directive.code, problem)
        if self.notify is not None and directive.origin_room_id:
            text = (
                f"Không gửi được {kind_of(directive).noun} mã {directive.code} đã hẹn giờ lúc "
                f"{format_time(directive.sent_at)}: {problem.rstrip('.')}."
            )
            with contextlib.suppress(Exception):
                await self.notify(directive.origin_room_id, text)

    async def _remind(self, reminder: Reminder, now: dt.datetime) -> None:
        handler = REMINDER_KINDS.get(reminder.kind)
        if handler is None:
            log.warning("no handler for reminders of kind %r", reminder.kind)
            await Reminder.mark_failed(
                self.engine, reminder.directive_id, reminder.kind, "no handler registered"
            )
            return
        directive = (await Directive.by_ids(self.engine, {reminder.directive_id}))[
            reminder.directive_id
        ]
        try:
            await handler(ReminderRun(reminder, directive, self, now))
        except Exception as exc:
            log.warning("reminder %s of %s failed: %s", reminder.kind, directive.code, exc)
            await Reminder.mark_failed(self.engine, reminder.directive_id, reminder.kind, str(exc))
            return
        await Reminder.mark_sent(self.engine, reminder.directive_id, reminder.kind, now)
        self.wake()
