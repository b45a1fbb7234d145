"""One summary per child when new marks arrive, for the accounts that asked
(``!theodoi bat``): a task of the bot's scheduler (``on_tick``).

An import that changes marks bumps the directory's ``learning_revision``. On a tick that
sees a new value, every follower's children are compared with what the follower was last
told (``learning_seen``; one grouped query of fingerprints, marks read only for children
whose marks changed) and a summary is queued per changed child, in the same transaction
that records the new state (``learning_notices``). Queued summaries are sent on every tick
outside quiet hours (21:00–06:30), each with its own transaction id; a restart re-sends a
summary that was not recorded as sent with the same id, and Synapse keeps one event.
A summary goes to the DM where the parent turned them on, and only while that room holds
nobody but the parent and the bot; one that cannot go there (others joined, the bot no
longer in it) is recorded as skipped, not tried again on every tick.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from html import escape

from sqlalchemy import Engine

from bot.db.family import family_of
from bot.db.follow import LearningFollow
from bot.db.learning import MarkRow, all_marks, fingerprints, learning_revision
from bot.db.notice import SENT, SKIPPED, LearningNotice, Seeing
from bot.db.seen import MarkKey, Seen
from bot.db.state import BotState
from bot.directives.cover import NotInRoom
from bot.directives.scheduler import Scheduler, on_tick
from bot.directives.when import VN
from bot.families.card import TERM_LABELS
from bot.families.identity import Child, Family
from provisioning.families.record import format_passed, format_score, subject_results

log = logging.getLogger(__name__)

STATE_KEY = "families.learning_revision"
QUIET_FROM, QUIET_UNTIL = dt.time(21, 0), dt.time(6, 30)


def mark_key(mark: MarkRow) -> MarkKey:
    return (mark.school_year, mark.term, mark.subject, mark.kind, mark.seq, mark.score, mark.passed)


def quiet(now: dt.datetime) -> bool:
    local = now.astimezone(VN).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def summary(
    child: Child, new: Sequence[MarkKey], changed: bool, marks: Sequence[MarkRow]
) -> tuple[str, str]:
    """The message: the new marks by subject and term, with the term average now."""
    by_subject: dict[tuple[str, int, str], list[MarkKey]] = {}
    for m in sorted(new, key=lambda m: (m[0], m[1], m[2], ("TX", "GK", "CK").index(m[3]), m[4])):
        by_subject.setdefault((m[0], m[1], m[2]), []).append(m)
    lines = []
    for (year, term, subject), items in by_subject.items():
        shown = "; ".join(
            f"{m[3]} {format_score(m[5]) if m[6] is None else ('Đ' if m[6] else 'CĐ')}"
            for m in items
        )
        result = next(
            (
                s
                for s in subject_results([x for x in marks if x.school_year == year])
                if s.subject == subject
            ),
            None,
        )
        after = ""
        if result is not None and result.term_results.get(term) is not None:
            value = result.term_results[term]
            label = "kết quả" if result.by_comment else "ĐTBmhk"
            shown_value = format_passed(value) if isinstance(value, bool) else format_score(value)
            after = f" → {label} {shown_value}"
        lines.append(f"{subject} ({TERM_LABELS[term]}): {shown}{after}")
    klass = f"lớp {child.class_name}, " if child.class_name else ""
    title = f"Điểm mới của em {child.full_name} ({klass}{child.unit_name})"
    notes = ["Một số điểm đã được nhà trường điều chỉnh."] if changed else []
    more = f"Xem đầy đủ: !ketqua {child.given}"
    text = "\n".join([title, *(f"• {line}" for line in lines), *notes, more])
    html = (
        f"<p><strong>{escape(title)}</strong></p>"
        + (
            "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"
            if lines
            else ""
        )
        + "".join(f"<p>{escape(n)}</p>" for n in notes)
        + f"<p>{escape(more)}</p>"
    )
    return text, html


async def seeing_now(
    engine: Engine, follow: LearningFollow, family: Family, *, tell: bool
) -> list[Seeing]:
    """What ``follow``'s account should now know of each child; with ``tell``, the
    summary of what changed since they were last told (a child seen for the first time
    is only recorded)."""
    children = family.students
    prints = await fingerprints(engine, [c.student_id for c in children])
    seen = await Seen.of_user(engine, follow.user_id) if tell else {}
    out = []
    for child in children:
        fingerprint = prints.get(child.student_id, "0:0")
        before = seen.get(child.student_id)
        if before is not None and before.fingerprint == fingerprint:
            continue
        marks = await all_marks(engine, child.student_id)
        keys = [mark_key(m) for m in marks]
        if before is None:
            out.append(Seeing(child.student_id, fingerprint, keys))
            continue
        new = list((Counter(keys) - Counter(map(tuple, before.marks))).elements())
        gone = bool(Counter(map(tuple, before.marks)) - Counter(keys))
        if not new and not gone:
            out.append(Seeing(child.student_id, fingerprint, keys))
            continue
        body, html = summary(child, new, gone, marks)
        txn = hashlib.sha256(f"{follow.user_id}|{child.student_id}|{fingerprint}".encode())
        out.append(
            Seeing(child.student_id, fingerprint, keys, "dh.kq." + txn.hexdigest()[:32], body, html)
        )
    return out


async def staff_phone(scheduler: Scheduler, user_id: str) -> str | None:
    snapshot = await scheduler.directory.get()
    person = snapshot.person_of_user.get(user_id)
    return snapshot.view.login_phone(person) if person else None


@on_tick
async def summarize_new_marks(scheduler: Scheduler, now: dt.datetime) -> None:
    """Queue summaries after a change of marks; send the queued ones."""
    engine = scheduler.engine
    revision = await learning_revision(engine)
    known = await BotState.get(engine, STATE_KEY)
    if revision is not None and (known is None or known.value != revision):
        for follow in await LearningFollow.enabled_ones(engine):
            family = await family_of(
                engine, follow.user_id, await staff_phone(scheduler, follow.user_id)
            )
            seeing = await seeing_now(engine, follow, family, tell=True)
            if seeing:
                await LearningNotice.record(engine, follow, seeing, now)
        await BotState.put(engine, STATE_KEY, revision)
    if scheduler.transport is not None and not quiet(now):
        await send_pending(scheduler, now)


async def send_pending(scheduler: Scheduler, now: dt.datetime) -> None:
    for notice in await LearningNotice.pending(scheduler.engine):
        try:
            if scheduler.joined_members is not None:
                members = await scheduler.joined_members(notice.room_id)
                if notice.user_id not in members or len(members) > 2:
                    log.warning(
                        "summary %s not sent: %s is not a private DM", notice.id, notice.room_id
                    )
                    await LearningNotice.done(scheduler.engine, notice.id, SKIPPED, None, now)
                    continue
            content = {
                "msgtype": "m.notice",
                "body": notice.body,
                "format": "org.matrix.custom.html",
                "formatted_body": notice.html,
            }
            event_id = await scheduler.transport.send(notice.room_id, content, notice.txn_id)
        except NotInRoom:  # the parent's DM without the bot: it never will be sent there
            log.warning("summary %s not sent: the bot is not in %s", notice.id, notice.room_id)
            await LearningNotice.done(scheduler.engine, notice.id, SKIPPED, None, now)
            continue
        except Exception:  # Synapse away: tried again on the next tick
            log.exception("summary %s not sent", notice.id)
            continue
        await LearningNotice.done(scheduler.engine, notice.id, SENT, event_id, now)
