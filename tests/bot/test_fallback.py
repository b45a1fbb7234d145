"""The SMS fallback of a khẩn post (or one sent "kèm SMS") without Matrix: the bot's
scheduler on a test clock, deliveries marked sent and read states set in the database,
the SMS in the development file sink — who gets one after 4 hours (never logged in,
unread, unknown; not who read it, not who has no phone), once, within the budget; and
what !baocao shows, also of SMS a killed bot left half-sent. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import insert, select, update

from bot.db.delivery import DeliveryTable
from bot.db.directive import DirectiveTable
from bot.db.receipt import Receipt
from bot.db.recipient import RecipientTable
from bot.db.reminder import Reminder
from bot.directives.scheduler import Scheduler
from provisioning.db.models import AccountActivity, Person
from provisioning.importer.merge import bump_revision
from provisioning.outreach.budget import Budget

from ..outreach.test_ledger import Hanging, Sink
from .sms import NOW, phone, sent, sms_service
from .test_gui import say
from .test_gui import uid as user

THCS = {"P001", "P002", "P003", "P007", "P020", "P004", "P005", "P011", "P021"}
#: read: An (P001); unread: Bình (P002); unknown: Cường (P003); never: the rest, whose
#: Ánh (P011) has no phone
EXPECTED = THCS - {"P001", "P011"}


@pytest.fixture
def service(engine, base_files, tmp_path):
    return sms_service(engine, base_files, tmp_path)


def scheduler(service) -> Scheduler:
    return Scheduler(service.engine, service.directory, service.clock, outreach=service.outreach)


def delivered_and_read(engine, code: str) -> None:
    """Every copy of ``code`` delivered; An read it; Bình's client sends public receipts;
    Ánh has no phone any more; An, Bình, Cường have logged in."""
    with engine.begin() as conn:
        directive = conn.scalar(select(DirectiveTable.id).where(DirectiveTable.code == code))
        conn.execute(
            update(DeliveryTable)
            .where(DeliveryTable.directive_id == directive)
            .values(event_id="$sent", room_id="!r:test", sent_at=NOW)
        )
        conn.execute(
            update(RecipientTable)
            .where(RecipientTable.directive_id == directive, RecipientTable.user_id == user("P001"))
            .values(read_at=NOW, read_how="receipt")
        )
        conn.execute(update(Person).where(Person.code == "P011").values(phone=None))
        bump_revision(conn)


async def urgent(service, engine) -> str:
    answer = await say(service, "P008", "!gui THCS: Nghỉ học ngày mai do bão số 15 khẩn")
    assert answer.text.endswith("Cán bộ chưa mở tin sau 4 giờ sẽ nhận tin qua SMS.")
    code = answer.extra["vn.dieuhanh.sent"]["code"]
    delivered_and_read(engine, code)
    await Receipt.record(engine, "!elsewhere:test", user("P002"), "$other", 1)
    with engine.begin() as conn:
        conn.execute(
            insert(AccountActivity),
            [
                {"user_id": user(c), "first_login_at": NOW, "devices": 1, "checked_at": NOW}
                for c in ("P002", "P003")
            ],
        )
    return code


async def test_an_unread_urgent_post_goes_by_sms_after_4_hours_to_exactly_who_has_not_opened_it(
    service, engine, tmp_path
):
    code = await urgent(service, engine)
    pending = await say(service, "P008", f"!baocao {code}")
    assert "SMS: sẽ gửi lúc 14:00 05/12/2026 cho ai chưa mở tin." in pending.text
    ticks = scheduler(service)
    service.clock.at = NOW + dt.timedelta(hours=3, minutes=59)
    await ticks.tick()
    await service.outreach.idle()
    assert sent(tmp_path) == []
    service.clock.at = NOW + dt.timedelta(hours=4)
    await ticks.tick()
    await service.outreach.idle()
    messages = sent(tmp_path)
    assert sorted(m["to"] for m in messages) == sorted(phone(c) for c in EXPECTED)
    assert {m["text"] for m in messages} == {
        f"KHAN - So GD&DT - Tin nhan dieu hanh ma {code}: Nghi hoc ngay mai do bao so 15. "
        "Xem du tren Element."
    }
    service.clock.at = NOW + dt.timedelta(hours=5)
    await ticks.tick()  # done once: nothing more
    await service.outreach.idle()
    assert len(sent(tmp_path)) == len(EXPECTED)
    report = await say(service, "P008", f"!baocao {code}")
    data = report.extra["vn.dieuhanh.report"]["sms"]
    assert (data["sent"], data["failed"], data["pending"]) == (len(EXPECTED), 0, 0)
    assert set(data["people"]) == EXPECTED
    assert "SMS: 7 đã gửi, 0 lỗi." in report.text
    assert "Đã gửi SMS:" in report.text and "Trần Thị Bình" in report.text.split("Đã gửi SMS:")[1]


async def test_the_budget_bounds_the_fallback_and_a_plain_post_has_none(service, engine, tmp_path):
    service.outreach.budget = Budget(100, {"thcs-tt": 1})
    code = await urgent(service, engine)
    plain = await say(service, "P008", "!gui THCS: Lịch họp tuần sau")
    assert "SMS" not in plain.text
    asked = await say(service, "P008", "!gui THCS: Nộp báo cáo trước thứ Sáu | kèm SMS")
    assert asked.text.endswith("Cán bộ chưa mở tin sau 4 giờ sẽ nhận tin qua SMS.")
    later = await say(service, "P008", "!gui THCS: Nghỉ học chiều mai khẩn | lúc 07:00 06/12")
    reminders = {
        c: [(r.kind, r.due_at) for r in await Reminder.of_directive(engine, i)]
        for c, i in await ids(engine, [plain, asked, later])
    }
    assert list(reminders.values()) == [
        [],
        [("sms_fallback", NOW + dt.timedelta(hours=4))],
        [("sms_fallback", dt.datetime(2026, 12, 6, 4, 0, tzinfo=dt.UTC))],  # 4 h after 07:00
    ]
    service.clock.at = NOW + dt.timedelta(hours=4)
    await scheduler(service).tick()
    await service.outreach.idle()
    # thcs-tt: Dung (P004), Em (P005), Thu (P021) never logged in; its budget pays for one
    to = {m["to"] for m in sent(tmp_path) if code in m["text"]}
    assert to == {phone(c) for c in EXPECTED - {"P005", "P021"}}
    report = await say(service, "P008", f"!baocao {code} THCS Tư thục Ánh Dương")
    assert report.extra["vn.dieuhanh.report"]["sms"]["sent"] == 1  # narrowed to the school


async def test_sms_a_killed_bot_left_half_sent_are_shown_not_resent(service, engine, tmp_path):
    code = await urgent(service, engine)
    gate = Hanging(len(EXPECTED))
    service.outreach.gateway = gate
    service.clock.at = NOW + dt.timedelta(hours=4)
    await scheduler(service).tick()
    await asyncio.wait_for(gate.all_asked.wait(), 10)
    for task in list(service.outreach._tasks):  # the bot is killed mid-send
        task.cancel()
    await service.outreach.idle()
    report = await say(service, "P008", f"!baocao {code}")
    assert "SMS: 0 đã gửi, 0 lỗi, 7 đang gửi." in report.text
    service.outreach.gateway = Sink()
    service.clock.at = NOW + dt.timedelta(hours=6)  # the restarted bot's next tick
    await scheduler(service).tick()
    await service.outreach.idle()
    assert service.outreach.gateway.asked == [] and sent(tmp_path) == []  # never twice
    report = await say(service, "P008", f"!baocao {code}")
    data = report.extra["vn.dieuhanh.report"]["sms"]
    assert (data["sent"], data["failed"], data["pending"], data["unknown"]) == (0, 0, 0, 7)
    assert set(data["people"].values()) == {"unknown"}
    assert "SMS: 0 đã gửi, 0 lỗi, 7 không rõ kết quả." in report.text
    title = "SMS không rõ kết quả (bị dừng khi đang gửi; không gửi lại):"
    assert title in report.text and "Trần Thị Bình" in report.text.split(title)[1]


async def ids(engine, answers) -> list[tuple[str, int]]:
    codes = [a.extra["vn.dieuhanh.sent"]["code"] for a in answers]
    with engine.connect() as conn:
        rows = conn.execute(
            select(DirectiveTable.code, DirectiveTable.id).where(DirectiveTable.code.in_(codes))
        ).all()
    return sorted(rows, key=lambda r: codes.index(r[0]))
