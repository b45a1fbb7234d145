"""A post's SMS fallback: a khẩn post (or one sent "kèm SMS") that someone has not opened
``bot.sms_fallback_hours`` (4) after it went out reaches them by SMS — its code, the
sender's unit, its kind and its content, with diacritics when that fits one SMS, else
without them and shortened (``provisioning.outreach.texts.fallback``).

- **When**: a reminder (``directive_reminders``, kind ``sms_fallback``) stored with the
  post, due that long after it goes out (a scheduled post: after its time); the scheduler
  runs it once the post has gone, never for one cancelled or closed.
- **Who**: the staff it reached who have not opened it — never logged in, no read
  receipt ("unread"), or no public receipt at all ("unknown"; a private receipt cannot be
  told from no receipt); a reply or a reaction counts as opened. Not those whose copy was
  never delivered, nor parents and students (their budget is not a unit's). Each person
  once (the ledger's unique row per post and person), at the number they log in with,
  within their unit's monthly budget (``provisioning.outreach.budget``).
- **Results**: each SMS's gateway answer is in the ledger; ``!baocao`` shows them
  (:func:`sms_status`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import Engine

from bot.db.directive import Directive
from bot.db.recipient import Recipient
from bot.db.reminder import SMS_FALLBACK, Reminder
from bot.directives.cards import kind_of
from bot.directives.readstate import NOT_OPENED, by_state
from bot.directives.scheduler import ReminderRun, reminder_kind
from bot.directory import DirectorySnapshot
from provisioning.domain import short_unit_name
from provisioning.outreach import ledger, texts
from provisioning.outreach.budget import payers

log = logging.getLogger(__name__)


def text_of(snapshot: DirectorySnapshot, directive: Directive) -> str:
    """The SMS of ``directive``: the sender's unit, its kind, code and content."""
    sender = snapshot.view.people.get(directive.sender_person_id)
    primary = snapshot.primary(sender) if sender is not None else None
    unit = short_unit_name(primary[1].name) if primary else "Điều hành"
    return texts.fallback(
        directive.code, kind_of(directive).label, unit, directive.body, urgent=directive.urgent
    )


@reminder_kind(SMS_FALLBACK)
async def send_fallback(run: ReminderRun) -> None:
    """Queue the post's SMS to whoever has not opened it, and have them sent."""
    outreach = run.scheduler.outreach
    if outreach is None:
        raise RuntimeError("the bot sends no SMS (no outreach configured)")
    engine, directive = run.engine, run.directive
    snapshot = await run.scheduler.directory.get()
    groups = await by_state(
        engine, await outreach.activity.get(), await Recipient.of_directive(engine, directive.id)
    )
    targets = {row.person_id for key in NOT_OPENED for row in groups[key]}
    by_payer, no_phone = payers(snapshot.view, targets)
    limits = {unit_id: outreach.budget.of(snapshot.view.units[unit_id]) for unit_id in by_payer}
    queued = await asyncio.to_thread(
        ledger.queue_many,
        engine,
        kind=ledger.FALLBACK,
        ref=directive.code,
        by_payer=by_payer,
        limits=limits,
        text=text_of(snapshot, directive),
        now=run.now,
        by=directive.sender_user_id,
    )
    ids = [i for q in queued for i in q.ids]
    over = sum(len(q.allotment.over_budget) for q in queued)
    log.info(
        "post %s: SMS to %d of the %d who have not opened it (%d without a phone, %d over budget)",
        directive.code,
        len(ids),
        len(targets),
        len(no_phone),
        over,
    )
    outreach.send(ids)


@dataclass
class SmsStatus:
    """A post's SMS fallback, for !baocao."""

    sent: list[ledger.Sent]  # its messages
    due_at: dt.datetime | None  # when it runs (None: it is not planned)
    done_at: dt.datetime | None  # when it ran

    @property
    def planned(self) -> bool:
        return self.due_at is not None


async def sms_status(engine: Engine, directive: Directive) -> SmsStatus:
    reminders = await Reminder.of_directive(engine, directive.id)
    mine = next((r for r in reminders if r.kind == SMS_FALLBACK), None)
    sent = await asyncio.to_thread(ledger.of_ref, engine, ledger.FALLBACK, directive.code)
    return SmsStatus(sent, mine.due_at if mine else None, mine.sent_at if mine else None)
