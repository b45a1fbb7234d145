"""SMS against the real Synapse: the bot process on its file clock, a Synapse whose login
module copies who has logged in into this test's directory, nio clients as staff. !moi
keeps to the 7-day rule and the budget; an unread khẩn post goes by SMS, 4 hours after it
went out, to exactly those who have not opened it; !baocao shows what went, and what a
failing gateway (a real local HTTP server answering 500) did not take.

The bot's SMS go to a file sink of their own (the login codes to Synapse's); time is moved
by writing the clock file, never by sleeping."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select, text

from provisioning.db.models import SmsMessage

from ..conftest import running_synapse
from ..identity.test_sms import Provider
from ..waiting import eventually, log_tail
from .test_bot_matrix import Setup
from .test_directives_matrix import open_dm, say, wait_all_sent, wait_notice
from .test_kinds_matrix import VN, set_time, wait_until
from .test_rollout_matrix import _read, copied_after

START = dt.datetime(2026, 12, 5, 10, 0, tzinfo=VN)
LOGGED_IN = ("tp", "gd", "ht1", "gv1")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sms")

    def edit(raw: dict[str, Any]) -> None:  # the module writes into this test's directory
        raw.setdefault("database", {})["url"] = f"sqlite:///{folder / 'directory.db'}"
        raw.setdefault("login", {})["activity_interval_seconds"] = 1

    with running_synapse(folder / "hs", edit) as synapse:
        s = Setup(synapse, folder)
        s.clock_file = folder / "clock"
        set_time(s, START)
        s.sms_file = folder / "bot-sms.jsonl"
        s.env.update(
            {
                "DIEUHANH_BOT_CLOCK_FILE": str(s.clock_file),
                "DIEUHANH_BOT_SCHEDULER_INTERVAL_SECONDS": "0.5",
                "DIEUHANH_SMS_FILE_PATH": str(s.sms_file),
                "DIEUHANH_SMS_BUDGET_PER_UNIT": json.dumps({s.district.u("mn1"): 1}),
            }
        )
        log_in(s)
        s.bot.start(wait_for="initial sync done")
        try:
            yield s
        finally:
            s.bot.stop()
            s.engine.dispose()


def log_in(setup: Setup) -> None:
    """The officials and two of THCS Đỗ Văn Dậy's staff log in; nobody else ever does."""

    async def run() -> None:
        for person in LOGGED_IN:
            await (await setup.client(person)).close()

    asyncio.run(run())
    done = dt.datetime.now(dt.UTC)
    eventually(
        lambda: copied_after(setup, {setup.user_id(p) for p in LOGGED_IN}, done),
        60,
        "the login module to copy the logins",
        diagnostic=log_tail(setup.synapse.setup.synapse.log_path),
    )


def sms(setup: Setup) -> list[dict]:
    path = setup.sms_file
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


async def talk(setup: Setup, who: str, *lines: str, notice: str | None = None) -> list[dict]:
    """``who`` types ``lines`` in their DM; the bot's answers (and, with ``notice``, the
    body of the first notice starting so)."""
    client = await setup.client(who)
    try:
        dm = await open_dm(setup, client)
        answers = [await say(setup, client, dm, line) for line in lines]
        if notice is not None:
            answers.append({"body": await wait_notice(setup, client, dm, notice)})
        return answers
    finally:
        await client.close()


def test_moi_keeps_to_7_days_and_the_budget_on_the_bots_clock(setup):
    d = setup.district
    thcs2 = {setup.phone(p) for p in ("ht2", "gv3")}  # THCS Ánh Dương: nobody logged in
    first, done = asyncio.run(
        talk(setup, "tp", "!moi THCS Ánh Dương", notice="Đã gửi xong SMS mời đăng nhập")
    )
    assert first["body"].splitlines() == [
        "Đang gửi SMS mời đăng nhập đến 2 người chưa đăng nhập lần nào ở THCS Ánh Dương.",
        "Ngân sách SMS tháng 12/2026 của THCS Ánh Dương: còn 98/100 tin.",
    ]
    assert done["body"] == "Đã gửi xong SMS mời đăng nhập ở THCS Ánh Dương: 2 tin đã gửi."
    assert {m["to"] for m in sms(setup)} == thcs2
    page = f"{setup.synapse.base_url}/_dieuhanh/dang-nhap"
    assert all(page in m["text"] for m in sms(setup))
    set_time(setup, START + dt.timedelta(days=6, hours=23))
    [within] = asyncio.run(talk(setup, "tp", "!moi THCS Ánh Dương"))
    assert within["body"] == (
        "Cả 2 người chưa đăng nhập lần nào ở THCS Ánh Dương đã được mời qua SMS trong 7 ngày "
        "qua; có thể mời lại từ 12/12/2026."
    )
    assert len(sms(setup)) == 2
    set_time(setup, START + dt.timedelta(days=7, minutes=1))
    [week] = asyncio.run(talk(setup, "tp", "!moi THCS Ánh Dương"))
    assert week["vn.dieuhanh.invited"]["queued"] == 2
    wait_until(lambda: len(sms(setup)) == 4, "the second week's two invitations")
    # Mầm non Hoa Sen's budget is one SMS a month (sms.budget.per_unit)
    [budget] = asyncio.run(talk(setup, "tp", "!moi Mầm non Hoa Sen"))
    assert budget["body"].splitlines() == [
        "Đang gửi SMS mời đăng nhập đến 1 người chưa đăng nhập lần nào ở MN Hoa Sen.",
        "Không gửi cho 1 người: 1 vượt ngân sách SMS của tháng.",
        "Ngân sách SMS tháng 12/2026 của MN Hoa Sen: còn 0/1 tin.",
    ]
    spent, outside = asyncio.run(
        talk(setup, "tp", "!moi Mầm non Hoa Sen", "!moi THPT Nguyễn Hữu Cầu")
    )
    assert spent["body"] == (
        "Ngân sách SMS tháng 12/2026 của MN Hoa Sen đã hết (1/1 tin); không gửi tin mời nào."
    )
    assert outside["body"] == (
        f"Đơn vị '{d.unit_row('thpt1')[1]}' nằm ngoài phạm vi Anh/Chị phụ trách."
    )
    wait_until(lambda: len(sms(setup)) == 5, "Hoa Sen's one invitation")


def fallback_rows(setup: Setup, code: str) -> list[tuple[str, str]]:
    with setup.engine.connect() as conn:
        rows = conn.execute(
            select(SmsMessage.phone, SmsMessage.status).where(SmsMessage.ref == code)
        ).all()
    return [tuple(r) for r in rows]


def read_by(setup: Setup, person: str, code: str) -> None:
    _read(setup, person, code)

    def recorded() -> bool:
        with setup.engine.connect() as conn:
            return bool(
                conn.scalar(
                    text(
                        "SELECT count(*) FROM directive_recipients r JOIN directives d ON "
                        "d.id = r.directive_id WHERE d.code = :c AND r.user_id = :u AND "
                        "r.read_at IS NOT NULL"
                    ),
                    {"c": code, "u": setup.user_id(person)},
                )
            )

    eventually(recorded, 30, f"{person}'s receipt", diagnostic=log_tail(setup.bot.log_path))


def urgent_post(setup: Setup, at: dt.datetime, body: str) -> str:
    """The Sở's director sends THCS Đỗ Văn Dậy a khẩn notice at ``at``; An reads it."""
    set_time(setup, at)
    [answer] = asyncio.run(talk(setup, "gd", f"!thongbao {setup.district.u('thcs1')}: {body} khẩn"))
    assert answer["body"].endswith("Cán bộ chưa mở tin sau 4 giờ sẽ nhận tin qua SMS.")
    code = answer["vn.dieuhanh.sent"]["code"]
    wait_all_sent(setup, code)
    read_by(setup, "ht1", code)
    return code


def marker(setup: Setup, at: dt.datetime) -> str:
    """A post to the THPT principal scheduled ``at``: once it went out, the scheduler has
    ticked at that time or later."""
    when = at.strftime("%H:%M %d/%m/%Y")
    [answer] = asyncio.run(talk(setup, "gd", f"!gui THPT HT: Mốc {when} | lúc {when}"))
    return answer["vn.dieuhanh.sent"]["code"]


def sent_status(setup: Setup, code: str) -> str:
    with setup.engine.connect() as conn:
        return conn.scalar(text("SELECT status FROM directives WHERE code = :c"), {"c": code})


#: THCS Đỗ Văn Dậy: An read it; Bình logged in but never opened it; the others never logged in
NOT_OPENED = ("gv1", "gv2", "tt1", "nv1")


def test_an_unread_urgent_post_goes_by_sms_after_4_hours_to_exactly_the_right_people(setup):
    at = dt.datetime(2026, 12, 20, 9, 0, tzinfo=VN)
    code = urgent_post(setup, at, "Nghỉ học ngày 21/12 do bão số 15")
    before = marker(setup, at + dt.timedelta(hours=3, minutes=59))
    set_time(setup, at + dt.timedelta(hours=3, minutes=59))
    wait_until(lambda: sent_status(setup, before) == "sent", "the 12:59 marker went out")
    assert fallback_rows(setup, code) == []  # not yet
    [pending] = asyncio.run(talk(setup, "gd", f"!baocao {code}"))
    assert "SMS: sẽ gửi lúc 13:00 20/12/2026 cho ai chưa mở tin." in pending["body"]
    set_time(setup, at + dt.timedelta(hours=4))
    wait_until(lambda: len([m for m in sms(setup) if code in m["text"]]) == 4, "4 SMS")
    got = [m for m in sms(setup) if code in m["text"]]
    assert sorted(m["to"] for m in got) == sorted(setup.phone(p) for p in NOT_OPENED)
    assert got[0]["text"] == (
        f"KHAN - So GD&DT - Thong bao ma {code}: Nghi hoc ngay 21/12 do bao so 15. "
        "Xem du tren Element."
    )
    wait_until(lambda: {s for _, s in fallback_rows(setup, code)} == {"accepted"}, "recorded")
    [report] = asyncio.run(talk(setup, "gd", f"!baocao {code}"))
    data = report["vn.dieuhanh.report"]["sms"]
    assert (data["sent"], data["failed"], data["pending"]) == (4, 0, 0)
    assert set(data["people"]) == {setup.district.p(p) for p in NOT_OPENED}
    assert "SMS: 4 đã gửi, 0 lỗi." in report["body"]
    assert "Nguyễn Văn An" not in report["body"].split("Đã gửi SMS:")[1]


def test_a_failing_gateway_is_recorded_and_shown_in_baocao(setup):
    provider = Provider()
    provider.status = 500
    setup.env.update(
        {
            "DIEUHANH_SMS_GATEWAY": "http",
            "DIEUHANH_SMS_HTTP_URL": provider.url + "/sms",
            "DIEUHANH_SMS_HTTP_BODY_TEMPLATE": '{"to": "{to}", "message": "{text}"}',
        }
    )
    setup.bot.stop()
    setup.bot.start(wait_for="restored session")
    try:
        at = dt.datetime(2026, 12, 22, 9, 0, tzinfo=VN)
        code = urgent_post(setup, at, "Kiểm tra phòng cháy chữa cháy trước 11:00")
        set_time(setup, at + dt.timedelta(hours=4, minutes=1))
        wait_until(
            lambda: [s for _, s in fallback_rows(setup, code)] == ["failed"] * 4,
            "four failed SMS recorded",
        )
        assert len(provider.received) == 4
        [report] = asyncio.run(talk(setup, "gd", f"!baocao {code}"))
    finally:
        provider.close()
    host = provider.url.removeprefix("http://")
    assert report["vn.dieuhanh.report"]["sms"]["failed"] == 4
    assert "SMS: 0 đã gửi, 4 lỗi." in report["body"]
    assert f"(lỗi: cổng SMS {host} trả lỗi HTTP 500)" in report["body"]
    assert "Kiểm tra" not in setup.bot.log_path.read_text()  # never the text in the log
