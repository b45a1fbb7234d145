"""Invitations, the side effects: an answer recorded (from a reaction to any copy of the
invitation or of its reminders, or from ``!thamdu``), the reminders planned when due, and
the ``.ics`` uploaded once before the first copy goes. The rules and the words are in
``bot.directives.invitation``."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import Engine

from bot.db.answer import Answer
from bot.db.delivery import Delivery
from bot.db.directive import Directive
from bot.db.recipient import Recipient
from bot.directives.invitation import (
    HOUR_BEFORE,
    ICS_MIMETYPE,
    KIND,
    NO,
    REMINDER_DELIVERIES,
    answer_of_reaction,
    confirmation,
    ics,
    ics_filename,
    refusal,
    starts_at,
)
from bot.directives.kinds import prepare_for
from bot.directives.message import sender_line
from bot.directives.relations import Relation, on_reaction
from bot.directives.scheduler import ReminderRun, reminder_kind
from bot.directory import DirectorySnapshot
from bot.reply import Reply

log = logging.getLogger(__name__)

RSVP = "vn.dieuhanh.rsvp"  # in the bot's answer: what was recorded (or refused)


async def record(
    engine: Engine,
    snapshot: DirectorySnapshot,
    directive: Directive | None,
    code: str,
    user_id: str,
    answer: str,
    *,
    deputy: str | None = None,
    how: str,
    now: dt.datetime,
) -> Reply:
    """Keep ``answer`` as this person's answer to the invitation, if they may give it; the
    one sentence that confirms it, or says why not."""
    person = snapshot.person_of_user.get(user_id)
    recipient = None
    if directive is not None and person is not None:
        recipient = await Recipient.get(engine, directive.id, person.id)
    problem = refusal(directive, code, recipient=recipient is not None, now=now)
    if problem:
        return Reply(problem, extra={RSVP: {"code": code, "refused": True}})
    assert directive is not None and person is not None
    await Answer.record(engine, directive.id, person.id, answer, how=how, at=now, deputy=deputy)
    log.info("invitation %s: %s answered %s (%s)", directive.code, user_id, answer, how)
    return Reply(
        confirmation(directive, answer, deputy),
        extra={RSVP: {"code": directive.code, "answer": answer, "deputy": deputy, "how": how}},
    )


@on_reaction
async def reacted(relation: Relation) -> Reply | None:
    """✅ or ❌ to a copy of an invitation (or to a reminder of it) answers it."""
    answer = answer_of_reaction(relation.key)
    if answer is None:
        return None
    delivery = await Delivery.by_event(relation.engine, relation.room_id, relation.target)
    if delivery is None:
        return None
    found = await Directive.by_ids(relation.engine, {delivery.directive_id})
    directive = found.get(delivery.directive_id)
    if directive is None or directive.kind != KIND:
        return None
    return await record(
        relation.engine,
        await relation.directory.get(),
        directive,
        directive.code,
        relation.sender,
        answer,
        how="reaction",
        now=relation.now or dt.datetime.now(dt.UTC),
    )


# ------------------------------------------------------------------------ reminders


@reminder_kind("hour_before")
@reminder_kind("day_before")
async def remind(run: ReminderRun) -> None:
    """Remind those who accepted or have not answered (not those who declined), in their
    inbox. Nothing when the meeting has begun, or when this is the day-before reminder and
    the hour-before one is due as well (the bot was down)."""
    directive, now = run.directive, run.now
    people: list[int] = []
    if directive.kind == KIND and not _stale(run.reminder.kind, starts_at(directive), now):
        snapshot = await run.scheduler.directory.get()
        answers = await Answer.of_directive(run.engine, directive.id)
        declined = {a.person_id for a in answers if a.answer == NO}
        people = [
            r.person_id
            for r in await Recipient.of_directive(run.engine, directive.id)
            if r.person_id not in declined and r.person_id in snapshot.user_of
        ]
    if await run.deliver_to(people, REMINDER_DELIVERIES[run.reminder.kind]):
        log.info("invitation %s: %s reminder to %d", directive.code, run.reminder.kind, len(people))


def _stale(reminder: str, start: dt.datetime, now: dt.datetime) -> bool:
    if now >= start:
        return True
    return reminder == "day_before" and now >= start - HOUR_BEFORE


# ------------------------------------------------------------------------ the .ics


@prepare_for(KIND)
async def attach_ics(
    directive: Directive, transport: Any, snapshot: DirectorySnapshot
) -> list[dict[str, Any]] | None:
    """The invitation's ``.ics``, uploaded once and attached to every copy."""
    if any(a.get("info", {}).get("mimetype") == ICS_MIMETYPE for a in directive.attachments):
        return None
    sender = snapshot.view.people.get(directive.sender_person_id)
    primary = snapshot.primary(sender) if sender else None
    organizer = primary[1].name if primary else (sender.full_name if sender else "Điều hành")
    who = sender_line(snapshot.view, sender) if sender else organizer
    data = ics(directive, organizer, who)
    name = ics_filename(directive.code)
    url = await transport.upload(data, ICS_MIMETYPE, name)
    attachment = {
        "msgtype": "m.file",
        "body": name,
        "filename": name,
        "url": url,
        "info": {"mimetype": ICS_MIMETYPE, "size": len(data)},
    }
    return [*directive.attachments, attachment]
