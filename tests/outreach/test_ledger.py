"""The ledger and the budgets, on SQLite and PostgreSQL: the 7-day rule, the monthly
budget per unit, the fallback once per person, failures given back, and concurrent
senders never spending more than the budget, and what a sender killed mid-send leaves."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import pytest
from sqlalchemy import func, insert, select

from provisioning.db.models import Person, SmsBudgetUsage, SmsMessage, Unit
from provisioning.outreach import ledger
from provisioning.outreach.budget import Budget, Outgoing, allot, month_label, month_of
from provisioning.outreach.ledger import FALLBACK, INVITATION
from provisioning.outreach.sender import (
    ABANDONED_AFTER,
    CHUNK,
    CONCURRENCY,
    TIMEOUT,
    send_queued,
)

NOW = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)  # 10:00 in Vietnam
TEXT = "Dieu hanh: moi thay/co dang nhap."


@pytest.fixture
def school(engine) -> tuple[int, list[int]]:
    """A school and 40 people (ids)."""
    with engine.begin() as conn:
        unit = conn.execute(
            insert(Unit).values(code="s1", name="Trường TH Số 1", kind="school", active=True)
        ).inserted_primary_key[0]
        people = [
            conn.execute(
                insert(Person).values(
                    code=f"P{i:03d}",
                    full_name=f"Người {i}",
                    name_key=f"nguoi {i}",
                    phone=f"+8491{i:07d}",
                    active=True,
                )
            ).inserted_primary_key[0]
            for i in range(40)
        ]
    return unit, people


def out(people: list[int]) -> list[Outgoing]:
    return [Outgoing(pid, f"+8490{pid:07d}") for pid in people]


def invite(engine, unit: int, people: list[int], limit: int = 100, now: dt.datetime = NOW):
    return ledger.queue(
        engine,
        kind=INVITATION,
        ref=None,
        unit_id=unit,
        limit=limit,
        people=out(people),
        text=TEXT,
        now=now,
        by="@gd:test",
    )


def used(engine, unit: int, now: dt.datetime = NOW) -> int:
    return ledger.usage(engine, [unit], now).get(unit, 0)


def test_allot_takes_in_order_within_the_budget():
    got = allot([1, 2, 3, 4, 5], {2}, used=7, limit=10)
    assert (got.chosen, got.already, got.over_budget) == ([1, 3, 4], [2], [5])
    assert allot([1, 2], set(), used=0, limit=3, cost=2).chosen == [1]  # two SMS each
    assert Budget(100, {"s1": 5}).monthly_per_unit == 100
    with pytest.raises(ValueError, match="không được âm"):
        Budget(100, {"s1": -1})


def test_the_month_is_vietnams():
    assert month_of(dt.datetime(2026, 11, 30, 17, 30, tzinfo=dt.UTC)) == "2026-12"
    assert month_label("2026-12") == "12/2026"


def test_invitations_once_in_seven_days_and_within_the_budget(engine, school):
    unit, people = school
    first = invite(engine, unit, people[:5], limit=8)
    assert len(first.ids) == 5 and first.used == 5 and first.left == 3
    again = invite(engine, unit, people[:10], limit=8, now=NOW + dt.timedelta(days=6, hours=23))
    assert again.allotment.already == people[:5]  # invited less than 7 days ago
    assert again.allotment.chosen == people[5:8]  # the budget's last three
    assert again.allotment.over_budget == people[8:10]
    assert used(engine, unit) == 8
    week = NOW + dt.timedelta(days=7, seconds=1)
    later = invite(engine, unit, people[:5], limit=8, now=week)
    assert later.allotment.already == [] and later.allotment.over_budget == people[:5]
    next_month = dt.datetime(2027, 1, 1, 0, 0, tzinfo=dt.UTC)  # 07:00 on 1 January in Vietnam
    assert len(invite(engine, unit, people[:5], limit=8, now=next_month).ids) == 5
    assert used(engine, unit) == 8 and used(engine, unit, next_month) == 5
    last = ledger.last_invited(engine, people[:6])
    assert last[people[0]] == next_month and last[people[5]] == NOW + dt.timedelta(6, hours=23)


async def test_a_failure_gives_its_place_back_and_does_not_count_as_invited(engine, school):
    unit, people = school
    queued = invite(engine, unit, people[:2], limit=2)
    first, second = queued.ids
    assert ledger.claim(engine, [first], NOW) == [(first, f"+8490{people[0]:07d}", TEXT)]
    assert ledger.claim(engine, [first, second], NOW) == [(second, f"+8490{people[1]:07d}", TEXT)]
    assert ledger.claim(engine, [first, second], NOW) == []  # each claimed once only
    ledger.record(
        engine, {first: (False, "cổng SMS x trả lỗi HTTP 500"), second: (True, "HTTP 200")}, NOW
    )
    assert used(engine, unit) == 1
    assert ledger.statuses(engine, [first, second]) == {
        first: ("failed", "cổng SMS x trả lỗi HTTP 500"),
        second: ("accepted", "HTTP 200"),
    }
    retry = invite(engine, unit, people[:2], limit=2)
    assert retry.allotment.chosen == [people[0]] and retry.allotment.already == [people[1]]


def test_a_directives_fallback_reaches_each_person_once(engine, school):
    unit, people = school

    def fallback(ref: str, who: list[int]):
        return ledger.queue(
            engine,
            kind=FALLBACK,
            ref=ref,
            unit_id=unit,
            limit=100,
            people=out(who),
            text="KHAN ...",
            now=NOW,
            by="@gd:test",
        )

    assert len(fallback("K7QMA", people[:3]).ids) == 3
    repeat = fallback("K7QMA", people[:4])
    assert repeat.allotment.already == people[:3] and len(repeat.ids) == 1
    assert len(fallback("AB2CD", people[:3]).ids) == 3  # another post
    assert [s.person_id for s in ledger.of_ref(engine, FALLBACK, "K7QMA")] == people[:4]
    assert len(invite(engine, unit, people[:3]).ids) == 3  # invitations are another matter


def test_a_dry_run_writes_nothing(engine, school):
    unit, people = school
    invite(engine, unit, people[:2], limit=5)
    seen = ledger.preview(
        engine,
        kind=INVITATION,
        ref=None,
        unit_id=unit,
        limit=5,
        person_ids=people[:10],
        text=TEXT,
        now=NOW,
    )
    assert (len(seen.allotment.chosen), len(seen.allotment.over_budget)) == (3, 5)
    assert seen.ids == [] and used(engine, unit) == 2
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(SmsMessage)) == 2


def test_concurrent_senders_never_overspend(engine, school):
    """Eight senders at once, five people each, a budget of 12: exactly 12 are queued."""
    unit, people = school
    got: list[int] = []
    problems: list[BaseException] = []
    start = threading.Barrier(8)

    def sender(i: int) -> None:
        try:
            start.wait()
            got.extend(invite(engine, unit, people[i * 5 : i * 5 + 5], limit=12).ids)
        except BaseException as exc:  # reported below
            problems.append(exc)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not problems, problems
    assert len(got) == 12 and used(engine, unit) == 12
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(SmsMessage)) == 12
        assert conn.scalar(select(SmsBudgetUsage.used)) == 12


class Hanging:
    """A gateway that never answers: its sender is killed while it waits."""

    def __init__(self, expected: int) -> None:
        self.asked: list[str] = []
        self.expected = expected
        self.all_asked = asyncio.Event()

    async def send(self, to: str, text: str) -> str:
        self.asked.append(to)
        if len(self.asked) == self.expected:
            self.all_asked.set()
        await asyncio.Event().wait()
        return "never"


class Sink:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def send(self, to: str, text: str) -> str:
        self.asked.append(to)
        return "HTTP 200"


async def killed_mid_send(engine, ids: list[int], at: dt.datetime) -> None:
    """A sender that claims ``ids`` at ``at``, hands them to the gateway and is killed
    before the gateway answers (nothing recorded)."""
    gate = Hanging(len(ids))
    task = asyncio.create_task(send_queued(engine, gate, ids, lambda: at))
    await asyncio.wait_for(gate.all_asked.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_messages_a_killed_sender_left_sending_are_settled_not_resent(engine, school):
    unit, people = school
    queued = invite(engine, unit, people[:3], limit=5)
    await killed_mid_send(engine, queued.ids, NOW)
    assert {s for s, _ in ledger.statuses(engine, queued.ids).values()} == {"sending"}
    soon = NOW + dt.timedelta(minutes=10)  # they may still be under way: left alone
    await send_queued(engine, Sink(), [], lambda: soon)
    assert {s for s, _ in ledger.statuses(engine, queued.ids).values()} == {"sending"}
    later, sink = NOW + dt.timedelta(hours=2), Sink()
    assert await send_queued(engine, sink, queued.ids, lambda: later) == {}
    assert sink.asked == []  # never sent twice: the first may have gone out
    assert ledger.statuses(engine, queued.ids) == {
        i: ("unknown", "không rõ kết quả (bộ gửi bị dừng)") for i in queued.ids
    }
    assert used(engine, unit) == 3  # still counted against the budget
    again = invite(engine, unit, people[:4], limit=5, now=later)
    assert again.allotment.already == people[:3]  # as good as invited: not invited twice


async def test_a_late_answer_still_counts_and_only_stopped_senders_are_settled(engine, school):
    unit, people = school
    queued = invite(engine, unit, people[:2], limit=5)
    first, second = queued.ids
    await killed_mid_send(engine, [first], NOW)
    await killed_mid_send(engine, [second], NOW + dt.timedelta(minutes=50))
    assert ledger.settle_abandoned(engine, NOW + dt.timedelta(minutes=1)) == 1
    assert ledger.settle_abandoned(engine, NOW + dt.timedelta(minutes=1)) == 0  # once
    assert ledger.statuses(engine, queued.ids)[second] == ("sending", None)
    # a sender slower than thought answers after all: its answer is kept
    ledger.record(engine, {first: (False, "cổng SMS x trả lỗi HTTP 500")}, NOW)
    assert ledger.statuses(engine, [first])[first] == ("failed", "cổng SMS x trả lỗi HTTP 500")
    assert used(engine, unit) == 1  # the failure gave its place back


def test_a_live_sender_is_never_taken_for_a_stopped_one():
    """The slowest chunk a live sender can take (every request timing out) is far shorter
    than the wait before its messages are settled."""
    rounds = -(-CHUNK // CONCURRENCY)
    slowest = dt.timedelta(seconds=rounds * (TIMEOUT.total or 0))
    assert dt.timedelta(0) < slowest * 10 <= ABANDONED_AFTER
