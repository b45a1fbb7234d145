"""!moi without Matrix: who is invited, the 7-day rule and the budget on the bot's clock,
the answer's figures, and every refusal (nothing queued) — on SQLite and PostgreSQL. The
SMS go to the development file sink; a gateway failure comes from a real local HTTP
server (tests/identity/test_sms.py's stand-in provider)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.commands import moi as moi_module
from bot.commands.trienkhai import NO_DATA
from bot.outreach import Outreach
from bot.serve import serve
from bot.service import NOT_ALLOWED
from dieuhanh.config import Config
from provisioning.db.models import AccountActivityCopy, SmsMessage
from provisioning.outreach.budget import Budget

from ..identity.test_sms import Provider
from .sms import NOW, phone, sent, sms_service
from .test_gui import say

PAGE = "https://dieuhanh.hcm.edu.vn/_dieuhanh/dang-nhap"
#: THCS Đỗ Văn Dậy's staff who never logged in: Bình, Cường, Hùng (Kế toán), Sơn
DVD_NEVER = {"P002", "P003", "P007", "P020"}


@pytest.fixture
def service(engine, base_files, tmp_path):
    return sms_service(engine, base_files, tmp_path)


def queued(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(SmsMessage))


async def test_a_principal_invites_who_never_logged_in_once_a_week_within_the_budget(
    service, engine, tmp_path
):
    service.outreach.budget = Budget(100, {"thcs-dvd": 3})
    first = await say(service, "P001", "!moi")
    await service.outreach.idle()
    assert first.text.splitlines() == [
        "Đang gửi SMS mời đăng nhập đến 3 người chưa đăng nhập lần nào ở THCS Đỗ Văn Dậy.",
        "Không gửi cho 1 người: 1 vượt ngân sách SMS của tháng.",
        "Ngân sách SMS tháng 12/2026 của THCS Đỗ Văn Dậy: còn 0/3 tin.",
    ]
    data = first.extra["vn.dieuhanh.invited"]
    assert (data["queued"], data["over_budget"], data["already"]) == (3, 1, 0)
    messages = sent(tmp_path)
    assert {m["to"] for m in messages} < {phone(c) for c in DVD_NEVER} and len(messages) == 3
    assert all(PAGE in m["text"] and "Element" in m["text"] for m in messages)
    assert service.told == [
        ("!dm:test", "Đã gửi xong SMS mời đăng nhập ở THCS Đỗ Văn Dậy: 3 tin đã gửi.")
    ]
    spent = await say(service, "P001", "!mời")
    assert spent.text == (
        "Ngân sách SMS tháng 12/2026 của THCS Đỗ Văn Dậy đã hết (3/3 tin); không gửi tin mời nào."
    )
    service.outreach.budget = Budget(100, {"thcs-dvd": 10})
    service.clock.at = NOW + dt.timedelta(days=6)
    again = await say(service, "P001", "!moi")
    await service.outreach.idle()
    assert again.text.splitlines()[:2] == [
        "Đang gửi SMS mời đăng nhập đến 1 người chưa đăng nhập lần nào ở THCS Đỗ Văn Dậy.",
        "Không gửi cho 3 người: 3 đã được mời trong 7 ngày qua (mời lại được từ 12/12/2026).",
    ]
    assert len(sent(tmp_path)) == 4 and {m["to"] for m in sent(tmp_path)} == {
        phone(c) for c in DVD_NEVER
    }
    none_left = await say(service, "P001", "!moi")
    assert none_left.text == (
        "Cả 4 người chưa đăng nhập lần nào ở THCS Đỗ Văn Dậy đã được mời qua SMS trong 7 ngày "
        "qua; có thể mời lại từ 12/12/2026."
    )
    service.clock.at = NOW + dt.timedelta(days=7, minutes=1)
    week = await say(service, "P001", "!moi")
    await service.outreach.idle()
    assert week.extra["vn.dieuhanh.invited"]["queued"] == 3  # the first three again
    assert week.text.endswith("còn 3/10 tin.")
    assert len(sent(tmp_path)) == 7


async def test_an_office_invites_across_its_schools_each_on_its_own_budget(service, tmp_path):
    service.outreach.budget = Budget(2, {"hocmon": 5})
    reply = await say(service, "P009", "!moi")
    await service.outreach.idle()
    data = reply.extra["vn.dieuhanh.invited"]
    budgets = {b["unit"]: (b["limit"], b["left"]) for b in data["budget"]}
    # thcs-dvd: 4 never (2 go), thcs-tt: Em, Ánh, Thu (2 go), mn-hs: Hoa, hocmon: Ngọc
    assert budgets == {"thcs-dvd": (2, 0), "thcs-tt": (2, 0), "mn-hs": (2, 1), "hocmon": (5, 4)}
    assert (data["queued"], data["over_budget"]) == (6, 3)
    assert reply.text.splitlines()[-1] == (
        "Ngân sách SMS tháng 12/2026: còn 5/11 tin ở 4 đơn vị; đã hết ở 2 đơn vị: "
        "THCS Tư thục Ánh Dương, THCS Đỗ Văn Dậy."
    )
    assert len(sent(tmp_path)) == 6


async def test_one_person_by_name_code_or_phone(service, engine, tmp_path):
    by_name = await say(service, "P001", "!moi tran thi binh")
    await service.outreach.idle()
    assert by_name.text.startswith("Đang gửi SMS mời đăng nhập cho Trần Thị Bình.")
    assert [m["to"] for m in sent(tmp_path)] == [phone("P002")]
    again = await say(service, "P001", "!moi 0987 654 321")
    assert again.text == (
        "Trần Thị Bình đã được mời qua SMS lúc 10:00 05/12/2026; có thể mời lại từ "
        "10:00 12/12/2026."
    )
    by_code = await say(service, "P001", "!moi p003")
    assert by_code.extra["vn.dieuhanh.invited"]["queued"] == 1
    herself = await say(service, "P012", "!moi Ngô Thị Mai")  # a principal who never logged in
    assert herself.extra["vn.dieuhanh.invited"]["queued"] == 1
    done = await say(service, "P009", "!moi Nguyễn Văn An")
    assert done.text == "Nguyễn Văn An (mã P001) đã đăng nhập; không cần mời."


async def test_a_unit_by_the_short_name_the_bot_prints(service, engine, tmp_path):
    """The bot names Trường Mầm non Hoa Sen "MN Hoa Sen": typed back, that finds it; a
    name that fits several units is still asked again."""
    reply = await say(service, "P009", "!moi MN Hoa Sen")
    await service.outreach.idle()
    assert reply.text.startswith(
        "Đang gửi SMS mời đăng nhập đến 1 người chưa đăng nhập lần nào ở MN Hoa Sen."
    )
    assert [m["to"] for m in sent(tmp_path)] == [phone("P006")]
    several = await say(service, "P009", "!moi THCS")
    assert several.text.startswith("Có 2 đơn vị khớp với 'THCS': ")
    assert queued(engine) == 1


MOBILE = "hãy gõ số di động, ví dụ 0912 345 678."
OUT_OF_SCOPE = "không thuộc phạm vi Anh/Chị phụ trách; không thể mời."


@pytest.mark.parametrize(
    ("who", "typed", "sentence"),
    [
        ("P001", "!moi 0912", f"Số điện thoại '0912' không hợp lệ; {MOBILE}"),
        (
            "P001",
            "!moi 024 3825 5555",
            f"Số điện thoại '024 3825 5555' không hợp lệ: không phải số di động; {MOBILE}",
        ),
        ("P001", "!moi 0911 000 111", "Không có cán bộ nào dùng số 0911 000 111 trong danh bạ."),
        ("P001", "!moi Phạm Thị Dung", f"Người tên 'Phạm Thị Dung' {OUT_OF_SCOPE}"),
        ("P001", "!moi 0977333444", f"Hoàng Văn Em (mã P005) {OUT_OF_SCOPE}"),
        (
            "P001",
            "!moi THCS Ánh Dương",
            "Đơn vị 'Trường THCS Tư thục Ánh Dương' nằm ngoài phạm vi Anh/Chị phụ trách.",
        ),
        (
            "P001",
            "!moi Trường Quốc tế",
            "Không tìm thấy đơn vị hay người nào tên 'Trường Quốc tế' trong danh bạ.",
        ),
        ("P002", "!moi", NOT_ALLOWED.format(command="!moi")),
    ],
)
async def test_bad_input_is_one_sentence_and_queues_nothing(service, engine, who, typed, sentence):
    reply = await say(service, who, typed)
    assert reply.text == sentence
    assert queued(engine) == 0


async def test_an_exhausted_budget_and_unknown_logins_queue_nothing(service, engine, tmp_path):
    service.outreach.budget = Budget(0)
    reply = await say(service, "P001", "!moi Lê Văn Cường")
    assert reply.text == (
        "Ngân sách SMS tháng 12/2026 của THCS Đỗ Văn Dậy đã hết (0/0 tin); không gửi tin mời nào."
    )
    with engine.begin() as conn:
        conn.execute(AccountActivityCopy.__table__.delete())
    assert (await say(service, "P001", "!moi")).text == NO_DATA
    assert queued(engine) == 0 and sent(tmp_path) == []


async def test_a_failing_gateway_is_recorded_and_reported(service, engine, tmp_path):
    provider = Provider()
    provider.status = 500
    try:
        config = Config()
        config.sms = dataclasses.replace(config.sms, gateway="http")
        config.sms.http.url = provider.url + "/sms"
        config.sms.http.body_template = '{"to": "{to}", "message": "{text}"}'
        service.outreach = Outreach(config, engine, service.clock, service.activity)
        reply = await say(service, "P001", "!moi Lê Văn Cường")
        await service.outreach.idle()
    finally:
        await service.outreach.close()
        provider.close()
    assert reply.extra["vn.dieuhanh.invited"]["queued"] == 1 and len(provider.received) == 1
    host = provider.url.removeprefix("http://")
    assert service.told[-1][1] == (
        "Đã gửi xong SMS mời đăng nhập cho Lê Văn Cường: 0 tin đã gửi, 1 tin lỗi (cổng SMS "
        f"{host} trả lỗi HTTP 500); tin lỗi không tính vào ngân sách, có thể mời lại ngay."
    )
    with engine.connect() as conn:
        row = conn.execute(select(SmsMessage.status, SmsMessage.result)).one()
    assert row == ("failed", f"cổng SMS {host} trả lỗi HTTP 500")
    retry = await say(service, "P001", "!moi Lê Văn Cường")  # a failure does not count
    assert retry.extra["vn.dieuhanh.invited"]["queued"] == 1


async def test_the_bot_refuses_to_start_with_an_invitation_too_long_for_one_sms(engine, caplog):
    config = Config()
    config.sms.login_page_url = "https://" + "a" * 120 + ".vn/_dieuhanh/dang-nhap"
    assert await serve(config, engine, asyncio.Event()) == 2
    assert "tin mời đăng nhập không vừa một SMS" in caplog.text


async def test_queueing_that_outlasts_the_command_is_told_as_notices(
    service, tmp_path, monkeypatch
):
    monkeypatch.setattr(moi_module, "QUICK_SECONDS", 0)  # as if a whole city were being queued
    reply = await say(service, "P001", "!moi")
    assert reply.text == (
        "Đang xếp hàng SMS mời đăng nhập cho 4 người chưa đăng nhập lần nào ở THCS Đỗ Văn "
        "Dậy; bot sẽ báo số tin gửi được và ngân sách còn lại khi xong."
    )
    await service.outreach.idle()
    assert [text for _, text in service.told] == [
        "Đang gửi SMS mời đăng nhập đến 4 người chưa đăng nhập lần nào ở THCS Đỗ Văn Dậy.\n"
        "Ngân sách SMS tháng 12/2026 của THCS Đỗ Văn Dậy: còn 96/100 tin.",
        "Đã gửi xong SMS mời đăng nhập ở THCS Đỗ Văn Dậy: 4 tin đã gửi.",
    ]
    assert len(sent(tmp_path)) == 4
    await say(service, "P001", "!moi")
    await service.outreach.idle()
    assert service.told[-1][1].startswith("Cả 4 người chưa đăng nhập lần nào ở THCS Đỗ Văn Dậy")
