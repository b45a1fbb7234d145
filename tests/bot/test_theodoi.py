"""!theodoi and the summaries of new marks: one message per child and change, to those who
asked, durable and never twice (SQLite, and PostgreSQL in CI)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.db.notice import LearningNotice
from bot.families.notify import summarize_new_marks

from ..directory.families import YEAR, run
from .families import DECEMBER, HOA, HUNG, MARKS, ask, fuid, make_service, scheduler_of, school

NEW_MARKS = [
    *MARKS,
    ["HS001", YEAR, "1", "Toán", "TX", "10"],  # An: a new TX
    ["HS002", YEAR, "1", "Toán", "TX", "9"],  # Bảo: a new TX
]
MORNING = DECEMBER  # 10:00 in Vietnam
NIGHT = dt.datetime(2025, 12, 1, 15, 0, tzinfo=dt.UTC)  # 22:00 in Vietnam


@pytest.fixture
def service(engine, tmp_path):
    school(engine, tmp_path)
    return make_service(engine)


async def test_a_follower_gets_one_summary_per_changed_child_once(service, engine, tmp_path):
    on = await ask(service, fuid(HOA), "!theodoi bat")
    assert on.text.startswith("Đã bật") and "Nguyễn Minh An, Nguyễn Minh Bảo" in on.text
    sent: list = []
    scheduler = scheduler_of(service, sent)
    await summarize_new_marks(scheduler, MORNING)
    assert sent == []  # what was there when they turned it on is not news
    run(engine, tmp_path, marks=NEW_MARKS)
    await summarize_new_marks(scheduler, MORNING)
    assert len(sent) == 2 and {room for room, _, _ in sent} == {f"!dm-{fuid(HOA)}"}
    bodies = sorted(content["body"] for _, content, _ in sent)
    assert bodies[0].startswith("Điểm mới của em Nguyễn Minh An (lớp 6A1, Trường THCS Đỗ Văn Dậy)")
    assert "• Toán (Học kỳ 1): TX 10,0 → ĐTBmhk 8,3" in bodies[0]
    assert "Ngữ văn" not in bodies[0] and bodies[0].endswith("Xem đầy đủ: !ketqua An")
    assert "• Toán (Học kỳ 1): TX 9,0 → ĐTBmhk 6,7" in bodies[1]
    # nothing new: nothing sent; a new bot (a restart) sends nothing again
    await summarize_new_marks(scheduler, MORNING)
    await summarize_new_marks(scheduler_of(make_service(engine), sent), MORNING)
    assert len(sent) == 2
    # the same file again changes nothing
    run(engine, tmp_path, marks=NEW_MARKS)
    await summarize_new_marks(scheduler, MORNING)
    assert len(sent) == 2


async def test_only_followers_and_only_their_children(service, engine, tmp_path):
    await ask(service, fuid(HUNG), "!theodoi bat")
    sent: list = []
    await summarize_new_marks(scheduler_of(service, sent), MORNING)
    run(engine, tmp_path, marks=NEW_MARKS)
    await summarize_new_marks(scheduler_of(service, sent), MORNING)
    assert len(sent) == 1 and sent[0][0] == f"!dm-{fuid(HUNG)}"  # Hoa did not ask
    assert "Nguyễn Minh Bảo" not in sent[0][1]["body"]  # Hùng's child is An only


async def test_a_summary_not_recorded_as_sent_is_resent_with_the_same_id(service, engine, tmp_path):
    await ask(service, fuid(HUNG), "!theodoi bat")
    run(engine, tmp_path, marks=NEW_MARKS)
    sent: list = []

    class Crash(Exception):
        pass

    scheduler = scheduler_of(service, sent)
    real_send = scheduler.transport.send

    async def send_then_crash(room_id, content, txn_id):
        await real_send(room_id, content, txn_id)
        raise Crash  # sent, but the bot died before recording it

    scheduler.transport.send = send_then_crash
    await summarize_new_marks(scheduler, MORNING)
    scheduler.transport.send = real_send
    await summarize_new_marks(scheduler, MORNING)
    assert len(sent) == 2 and sent[0][2] == sent[1][2]  # one txn id: Synapse keeps one event
    notices = await LearningNotice.of_user(engine, fuid(HUNG))
    assert [(n.status, n.event_id) for n in notices] == [("sent", "$e2")]


async def test_quiet_hours_hold_summaries_until_morning(service, engine, tmp_path):
    await ask(service, fuid(HUNG), "!theodoi bat")
    run(engine, tmp_path, marks=NEW_MARKS)
    sent: list = []
    await summarize_new_marks(scheduler_of(service, sent), NIGHT)
    assert sent == []
    await summarize_new_marks(scheduler_of(service, sent), MORNING)
    assert len(sent) == 1


async def test_a_dm_that_is_no_longer_private_gets_no_summary(service, engine, tmp_path):
    await ask(service, fuid(HUNG), "!theodoi bat")
    run(engine, tmp_path, marks=NEW_MARKS)
    sent: list = []
    room = f"!dm-{fuid(HUNG)}"
    crowded = {room: {"@dieuhanh:test", fuid(HUNG), "@neighbour:test"}}
    await summarize_new_marks(scheduler_of(service, sent, crowded), MORNING)
    assert sent == []
    assert [n.status for n in await LearningNotice.of_user(engine, fuid(HUNG))] == ["skipped"]


async def test_a_dm_the_bot_left_gets_no_summary_and_no_retry(service, engine, tmp_path, caplog):
    await ask(service, fuid(HUNG), "!theodoi bat")
    run(engine, tmp_path, marks=NEW_MARKS)
    sent: list = []
    left = {f"!dm-{fuid(HUNG)}": None}  # the bot is no longer in the parent's DM
    scheduler = scheduler_of(service, sent, left)
    await summarize_new_marks(scheduler, MORNING)
    await summarize_new_marks(scheduler, MORNING)  # the next tick tries nothing again
    assert sent == []
    assert [n.status for n in await LearningNotice.of_user(engine, fuid(HUNG))] == ["skipped"]
    assert sum("the bot is not in" in r.getMessage() for r in caplog.records) == 1


async def test_theodoi_tat_and_bad_words(service, engine, tmp_path):
    await ask(service, fuid(HUNG), "!theodoi bat")
    assert "đang bật" in (await ask(service, fuid(HUNG), "!theodoi")).text
    assert (await ask(service, fuid(HUNG), "!theodoi tắt")).text == "Đã tắt tin tóm tắt điểm mới."
    run(engine, tmp_path, marks=NEW_MARKS)
    sent: list = []
    await summarize_new_marks(scheduler_of(service, sent), MORNING)
    assert sent == []
    bad = await ask(service, fuid(HUNG), "!theodoi mai")
    assert "!theodoi bat hoặc !theodoi tat" in bad.text
    stranger = await ask(service, "@someone:test", "!theodoi bat")
    assert stranger.text.startswith("Tài khoản này chưa gắn với học sinh nào")
    shared = await ask(service, fuid(HUNG), "!theodoi bat", direct=False, room="!lop")
    assert shared.text.startswith("Kết quả học tập chỉ được trả lời trong phòng nhắn riêng")
