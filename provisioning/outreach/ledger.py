"""The ledger of SMS (``sms_messages``) and the budgets in use (``sms_budget_usage``):
blocking SQLAlchemy calls, shared by the bot and ``dieuhanh moi``.

A message is first **queued**: in one transaction, the unit's usage row for the month is
locked (an upsert: PostgreSQL locks the row, SQLite the whole database for writing), the
people already reached are left out, as many as the budget still allows are inserted
and the usage goes up by as much. Concurrent senders (the bot, the CLI, two officials)
therefore never spend more than the budget, on SQLite and PostgreSQL alike. A message is
then **claimed** (queued → sending, by one sender only; a few dozen at a time), handed to
the gateway, and **recorded** accepted or failed; a failure gives its cost back to the
budget.

A sender that dies between claiming and recording leaves its messages "sending". The next
sender to start **settles** those claimed long enough ago (:func:`settle_abandoned`; how
long: ``sender.ABANDONED_AFTER``) as **unknown**, for good: never sent again (the SMS may
have gone out, and a duplicate is worse than a miss), still counted against the budget,
and for the 7-day rule as good as invited. Shown as such (``!baocao``, ``dieuhanh moi``). A
gateway's answer that comes after all (a sender slower than that) is still recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from provisioning.db.models import SmsBudgetUsage, SmsMessage
from provisioning.outreach.budget import INVITE_EVERY, Allotment, Outgoing, allot, month_of
from provisioning.outreach.texts import segments

MESSAGES = SmsMessage.__table__
USAGE = SmsBudgetUsage.__table__

INVITATION, FALLBACK = "invitation", "fallback"
QUEUED, SENDING, ACCEPTED, FAILED = "queued", "sending", "accepted", "failed"
UNKNOWN = "unknown"  # left "sending" by a sender that stopped: perhaps sent
#: the ``result`` of an unknown message
UNKNOWN_RESULT = "không rõ kết quả (bộ gửi bị dừng)"


@dataclass
class Queued:
    """What one reservation for one unit did."""

    unit_id: int
    month: str
    limit: int
    used: int  # after it
    allotment: Allotment
    ids: list[int]  # the messages queued

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)


@dataclass(frozen=True)
class Sent:
    """A message of the ledger as its report shows it."""

    id: int
    person_id: int
    status: str
    result: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None


def _upsert(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(USAGE)


def _lock_usage(conn: Connection, unit_id: int, month: str) -> int:
    """The unit's usage this month, its row created if need be and locked until commit."""
    statement = _upsert(conn).values(unit_id=unit_id, month=month, used=0)
    statement = statement.on_conflict_do_update(
        index_elements=["unit_id", "month"], set_={"used": USAGE.c.used}
    ).returning(USAGE.c.used)
    return int(conn.execute(statement).scalar_one())


def _already(
    conn: Connection, kind: str, ref: str | None, person_ids: Sequence[int], now: dt.datetime
) -> set[int]:
    """Of ``person_ids``, those this kind of message has reached: invited since
    ``now - INVITE_EVERY`` (not failed), or sent this directive's fallback (whatever came of it)."""
    where = [MESSAGES.c.kind == kind]
    if kind == INVITATION:
        where += [MESSAGES.c.created_at > now - INVITE_EVERY, MESSAGES.c.status != FAILED]
    else:
        where.append(MESSAGES.c.ref == ref)
    found: set[int] = set()
    for start in range(0, len(person_ids), 500):
        chunk = list(person_ids[start : start + 500])
        found.update(
            conn.scalars(
                select(MESSAGES.c.person_id).where(*where, MESSAGES.c.person_id.in_(chunk))
            )
        )
    return found


def queue(
    engine: Engine,
    *,
    kind: str,
    ref: str | None,
    unit_id: int,
    limit: int,
    people: Sequence[Outgoing],
    text: str,
    now: dt.datetime,
    by: str,
) -> Queued:
    """Queue ``text`` to as many of ``people`` (who all count against ``unit_id``) as the
    rules and the budget allow, in one transaction."""
    month, cost = month_of(now), segments(text)
    phones = {p.person_id: p.phone for p in people}
    with engine.begin() as conn:
        used = _lock_usage(conn, unit_id, month)
        ids = list(phones)
        done = _already(conn, kind, ref, ids, now)
        allotment = allot(ids, done, used, limit, cost)
        rows = [
            {
                "kind": kind,
                "ref": ref,
                "person_id": pid,
                "unit_id": unit_id,
                "month": month,
                "phone": phones[pid],
                "text": text,
                "segments": cost,
                "status": QUEUED,
                "by": by[:255],
                "created_at": now,
            }
            for pid in allotment.chosen
        ]
        queued = []
        if rows:  # one batched INSERT … RETURNING (SQLAlchemy's "insertmanyvalues")
            inserted = conn.execute(insert(MESSAGES).returning(MESSAGES.c.id), rows)
            queued = sorted(inserted.scalars())
        used += cost * len(rows)
        if rows:
            conn.execute(
                update(USAGE)
                .where(USAGE.c.unit_id == unit_id, USAGE.c.month == month)
                .values(used=used)
            )
    return Queued(unit_id, month, limit, used, allotment, queued)


def preview(
    engine: Engine,
    *,
    kind: str,
    ref: str | None,
    unit_id: int,
    limit: int,
    person_ids: Sequence[int],
    text: str,
    now: dt.datetime,
) -> Queued:
    """What :func:`queue` would do now (a dry run: nothing is locked or written)."""
    month, cost = month_of(now), segments(text)
    with engine.connect() as conn:
        used = usage_of(conn, [unit_id], month).get(unit_id, 0)
        done = _already(conn, kind, ref, person_ids, now)
    allotment = allot(person_ids, done, used, limit, cost)
    return Queued(unit_id, month, limit, used + cost * len(allotment.chosen), allotment, [])


def queue_many(
    engine: Engine,
    *,
    kind: str,
    ref: str | None,
    by_payer: dict[int, list[Outgoing]],
    limits: dict[int, int],
    text: str,
    now: dt.datetime,
    by: str,
    dry_run: bool = False,
) -> list[Queued]:
    """:func:`queue` (or with ``dry_run`` :func:`preview`) for each paying unit in turn: one
    transaction per unit, so that no lock is held over a city's thousands of schools."""
    done = []
    for unit_id, people in sorted(by_payer.items()):
        common = {"kind": kind, "ref": ref, "unit_id": unit_id, "limit": limits[unit_id]}
        if dry_run:
            ids = [p.person_id for p in people]
            done.append(preview(engine, **common, person_ids=ids, text=text, now=now))
        else:
            done.append(queue(engine, **common, people=people, text=text, now=now, by=by))
    return done


def claim(engine: Engine, ids: Sequence[int], now: dt.datetime) -> list[tuple[int, str, str]]:
    """Take these queued messages for sending at ``now``, in one statement: (id, phone,
    text) of those no other sender has taken."""
    if not ids:
        return []
    m = MESSAGES.c
    with engine.begin() as conn:
        rows = conn.execute(
            update(MESSAGES)
            .where(m.id.in_(list(ids)), m.status == QUEUED)
            .values(status=SENDING, claimed_at=now)
            .returning(m.id, m.phone, m.text)
        ).all()
    return sorted((row.id, row.phone, row.text) for row in rows)


def settle_abandoned(engine: Engine, before: dt.datetime) -> int:
    """Messages claimed before ``before`` and still "sending" (their sender stopped):
    unknown, never to be sent again, still counted. How many."""
    m = MESSAGES.c
    with engine.begin() as conn:
        settled = conn.execute(
            update(MESSAGES)
            .where(m.status == SENDING, m.claimed_at < before)
            .values(status=UNKNOWN, result=UNKNOWN_RESULT)
        )
    return int(settled.rowcount)


def record(engine: Engine, results: dict[int, tuple[bool, str]], now: dt.datetime) -> None:
    """The gateway's answers, id -> (accepted, note), in one transaction; failures give
    their cost back to their units' budgets. A message settled unknown meanwhile takes
    its answer too."""
    if not results:
        return
    m = MESSAGES.c
    with engine.begin() as conn:
        sending = conn.execute(
            select(m.id, m.unit_id, m.month, m.segments).where(
                m.id.in_(list(results)), m.status.in_([SENDING, UNKNOWN])
            )
        ).all()
        given_back: dict[tuple[int, str], int] = {}
        for row in sending:
            ok, note = results[row.id]
            conn.execute(
                update(MESSAGES)
                .where(m.id == row.id)
                .values(status=ACCEPTED if ok else FAILED, result=note[:255], sent_at=now)
            )
            if not ok:
                key = (row.unit_id, row.month)
                given_back[key] = given_back.get(key, 0) + row.segments
        for (unit_id, month), segments_back in given_back.items():
            conn.execute(
                update(USAGE)
                .where(USAGE.c.unit_id == unit_id, USAGE.c.month == month)
                .values(used=USAGE.c.used - segments_back)
            )


def usage_of(conn: Connection, unit_ids: Iterable[int], month: str) -> dict[int, int]:
    """SMS counted against each unit this month (units with none are left out)."""
    wanted = sorted(set(unit_ids))
    found: dict[int, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = conn.execute(
            select(USAGE.c.unit_id, USAGE.c.used).where(
                USAGE.c.month == month, USAGE.c.unit_id.in_(chunk)
            )
        )
        found.update({unit_id: used for unit_id, used in rows})
    return found


def usage(engine: Engine, unit_ids: Iterable[int], now: dt.datetime) -> dict[int, int]:
    with engine.connect() as conn:
        return usage_of(conn, unit_ids, month_of(now))


def queued_before(engine: Engine, before: dt.datetime, limit: int = 500) -> list[int]:
    """Messages still queued that were queued before ``before`` (a sender stopped)."""
    with engine.connect() as conn:
        return list(
            conn.scalars(
                select(MESSAGES.c.id)
                .where(MESSAGES.c.status == QUEUED, MESSAGES.c.created_at < before)
                .order_by(MESSAGES.c.id)
                .limit(limit)
            )
        )


def of_ref(engine: Engine, kind: str, ref: str) -> list[Sent]:
    """The messages of one directive's fallback."""
    m = MESSAGES.c
    columns = (m.id, m.person_id, m.status, m.result, m.created_at, m.sent_at)
    with engine.connect() as conn:
        rows = conn.execute(select(*columns).where(m.kind == kind, m.ref == ref).order_by(m.id))
        return [Sent(*row) for row in rows]


def statuses(engine: Engine, ids: Iterable[int]) -> dict[int, tuple[str, str | None]]:
    """id -> (status, result) of these messages."""
    wanted = sorted(set(ids))
    found: dict[int, tuple[str, str | None]] = {}
    with engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            rows = conn.execute(
                select(MESSAGES.c.id, MESSAGES.c.status, MESSAGES.c.result).where(
                    MESSAGES.c.id.in_(wanted[start : start + 500])
                )
            )
            found.update({row.id: (row.status, row.result) for row in rows})
    return found


def last_invited(engine: Engine, person_ids: Sequence[int]) -> dict[int, dt.datetime]:
    """When each of ``person_ids`` was last invited (not failed), if ever."""
    found: dict[int, dt.datetime] = {}
    with engine.connect() as conn:
        for start in range(0, len(person_ids), 500):
            rows = conn.execute(
                select(MESSAGES.c.person_id, func.max(MESSAGES.c.created_at))
                .where(
                    MESSAGES.c.kind == INVITATION,
                    MESSAGES.c.status != FAILED,
                    MESSAGES.c.person_id.in_(list(person_ids[start : start + 500])),
                )
                .group_by(MESSAGES.c.person_id)
            )
            found.update({person_id: at for person_id, at in rows})
    return found
