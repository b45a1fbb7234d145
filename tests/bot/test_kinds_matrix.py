"""The kinds of post end to end: the bot process on its file clock, a real Synapse, nio
clients as staff. Time is moved by writing the clock file (never by sleeping), and the
scheduler looks every half second."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import time
from collections.abc import Callable

import pytest
from nio import AsyncClient, UploadResponse
from sqlalchemy import text

from .test_bot_matrix import Setup
from .test_directives_matrix import (
    MARKER,
    PDF,
    copies,
    deliveries,
    initial_sync,
    open_dm,
    own_sync,
    say,
    wait_all_sent,
)

POST = "vn.dieuhanh.post"
VN = dt.timezone(dt.timedelta(hours=7))
START = dt.datetime(2026, 12, 5, 10, 0, tzinfo=VN)  # the bot's "now" when the module starts
HEADS = {"ht1", "ht2"}  # "THCS HT" from the Sở's director


def set_time(setup: Setup, when: dt.datetime) -> None:
    """Move the bot's clock (the file is replaced whole, never read half-written)."""
    tmp = setup.clock_file.with_suffix(".tmp")
    tmp.write_text(when.isoformat())
    os.replace(tmp, setup.clock_file)


def wait_until(check: Callable[[], object], what: str, timeout: float = 60) -> object:
    """``check()``'s first truthy value, polled until ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"never: {what}")


def status(setup: Setup, code: str) -> str:
    with setup.engine.connect() as conn:
        return conn.scalar(text("SELECT status FROM directives WHERE code = :c"), {"c": code})


@pytest.fixture(scope="module")
def setup(synapse, tmp_path_factory):
    s = Setup(synapse, tmp_path_factory.mktemp("kinds"))
    s.clock_file = s.folder / "clock"
    set_time(s, START)
    s.env["DIEUHANH_BOT_CLOCK_FILE"] = str(s.clock_file)
    s.env["DIEUHANH_BOT_SCHEDULER_INTERVAL_SECONDS"] = "0.5"
    s.bot.start(wait_for="initial sync done")
    yield s
    s.bot.stop()
    s.engine.dispose()


async def send_pdf(client: AsyncClient, room_id: str, name: str) -> None:
    """A PDF sent in the DM (the bot answers nothing to it)."""
    upload, _ = await client.upload(
        lambda *_: io.BytesIO(PDF), content_type="application/pdf", filename=name, filesize=len(PDF)
    )
    assert isinstance(upload, UploadResponse)
    content = {
        "msgtype": "m.file",
        "body": name,
        "url": upload.content_uri,
        "info": {"mimetype": "application/pdf", "size": len(PDF)},
    }
    await client.room_send(room_id, "m.room.message", content)


async def says(setup: Setup, who: str, *lines: str | tuple[str, str]) -> list[dict]:
    """``who`` sends these in their DM with the bot (a tuple: a PDF first, then the line);
    the bot's answers."""
    client = await setup.client(who)
    try:
        dm = await open_dm(setup, client)
        answers = []
        for line in lines:
            if isinstance(line, tuple):
                await send_pdf(client, dm, line[0])
                line = line[1]
            answers.append(await say(setup, client, dm, line))
        return answers
    finally:
        await client.close()


async def director_says(setup: Setup, *lines: str | tuple[str, str]) -> list[dict]:
    return await says(setup, "gd", *lines)


def card_of(setup: Setup, person: str, code: str) -> dict:
    """The one card of post ``code`` that ``person`` sees (and how many files came with it)."""
    seen = asyncio.run(copies(setup, person, code))  # downloads and compares every file
    cards = [c for c in seen if not c[MARKER].get("attachment")]
    assert len(cards) == 1, (person, seen)
    cards[0]["files"] = len(seen) - 1
    return cards[0]


def test_every_kind_reaches_its_recipients_as_a_card_with_its_fields(setup):
    answers = asyncio.run(
        director_says(
            setup,
            "!gui THCS HT: Kính gửi các thầy cô hiệu trưởng.",
            "!thongbao THCS HT: Lịch nghỉ Tết Nguyên đán Bính Ngọ.",
            ("cv-125.pdf", "!vanban THCS HT: 125/SGDĐT-VP | V/v kiểm tra cuối học kỳ I"),
            "!thumoi THCS HT: Họp giao ban tháng 12 | 08:00 07/12/2026 | Phòng họp số 2",
            "!yeucau THCS HT: Báo cáo sĩ số học sinh | 17:00 10/12/2026",
        )
    )
    codes = [a["vn.dieuhanh.sent"]["code"] for a in answers]
    for code in codes:
        wait_all_sent(setup, code)
    message, notice, document, invitation, request = (card_of(setup, "ht1", c) for c in codes)
    assert message["body"].startswith(f"Tin nhắn điều hành · mã {codes[0]}\nNgười gửi: ")
    assert notice["body"].startswith(f"Thông báo · mã {codes[1]}")
    assert "Lịch nghỉ Tết Nguyên đán Bính Ngọ." in notice["formatted_body"]
    assert document["body"].startswith(f"Văn bản · mã {codes[2]}")
    assert document["files"] == 1  # the PDF sent just before the command
    fields = {
        "number": "125/SGDĐT-VP",
        "abstract": "V/v kiểm tra cuối học kỳ I",
        "issued_on": "05/12/2026",  # today, on the bot's clock
        "issuer": "Sở Giáo dục và Đào tạo",
    }
    assert document[POST] == {
        "code": codes[2],
        "kind": "document",
        "urgent": False,
        "fields": fields,
    }
    for value in ("Số hiệu: 125/SGDĐT-VP", "Ngày ban hành: 05/12/2026", "Cơ quan ban hành: Sở"):
        assert value in document["body"]
    assert "<strong>Số hiệu:</strong> 125/SGDĐT-VP" in document["formatted_body"]
    assert invitation[POST]["fields"] == {
        "title": "Họp giao ban tháng 12",
        "starts_at": "2026-12-07T08:00:00+07:00",
        "location": "Phòng họp số 2",
    }
    assert "Thời gian: 08:00 07/12/2026" in invitation["body"]
    assert "<strong>Địa điểm:</strong> Phòng họp số 2" in invitation["formatted_body"]
    assert request["body"].startswith(f"Yêu cầu báo cáo · mã {codes[4]} · hạn 17:00 10/12/2026")
    assert request[POST]["fields"] == {"deadline": "2026-12-10T17:00:00+07:00"}
    assert "hạn <strong>17:00 10/12/2026</strong>" in request["formatted_body"]
    for person in ("ht2", "gv1", "ht3"):  # the other principal has it; nobody else
        assert len(asyncio.run(copies(setup, person, codes[1]))) == (person == "ht2")


def test_an_urgent_post_mentions_the_room_and_highlights_it(setup):
    client = asyncio.run(setup.client("ht1"))
    token = client.access_token
    asyncio.run(client.close())
    ordinary, answer = asyncio.run(
        director_says(
            setup,
            "!thongbao THCS HT: Trong tin thường, chữ @room không gọi ai.",
            "!thongbao THCS HT: Nghỉ học do bão số 15 khẩn",
        )
    )
    assert ordinary["vn.dieuhanh.sent"]["urgent"] is False
    wait_all_sent(setup, ordinary["vn.dieuhanh.sent"]["code"])
    code = answer["vn.dieuhanh.sent"]["code"]
    assert answer["vn.dieuhanh.sent"]["urgent"] is True
    wait_all_sent(setup, code)
    content = card_of(setup, "ht1", code)
    assert content["body"].startswith(f"@room KHẨN · Thông báo · mã {code}")
    assert content["m.mentions"] == {"room": True} and content[POST]["urgent"] is True
    [(room_id, _)] = own_sync(setup, token, code)
    counts = initial_sync(setup, token)["rooms"]["join"][room_id]["unread_notifications"]
    assert counts["highlight_count"] == 1  # the ordinary posts highlighted nothing
    assert card_of(setup, "ht1", ordinary["vn.dieuhanh.sent"]["code"])["m.mentions"] == {}


def restart(setup: Setup) -> None:
    setup.bot.stop()
    setup.bot.start(wait_for="restored session")


def scheduled_marker(setup: Setup, at: str) -> str:
    """A message to the MN principal scheduled ``at``: when it is sent, the scheduler has
    ticked at that time or later."""
    [answer] = asyncio.run(director_says(setup, f"!gui MN HT: Mốc {at} | lúc {at}"))
    return answer["vn.dieuhanh.sent"]["code"]


def test_a_scheduled_message_survives_a_restart_and_goes_out_once_at_its_time(setup):
    [answer] = asyncio.run(
        director_says(setup, "!gui THCS HT: Họp giao ban đầu tuần | lúc 07:00 08/12/2026")
    )
    code = answer["vn.dieuhanh.sent"]["code"]
    assert answer["body"].startswith(f"Đã hẹn giờ gửi tin nhắn điều hành mã {code} lúc 07:00")
    assert answer["vn.dieuhanh.sent"]["scheduled_for"] == "2026-12-08T00:00:00+00:00"
    marker = scheduled_marker(setup, "06:58 08/12/2026")
    restart(setup)
    set_time(setup, dt.datetime(2026, 12, 8, 6, 59, tzinfo=VN))
    wait_until(lambda: status(setup, marker) == "sent", "the 06:58 marker went out")
    assert status(setup, code) == "scheduled"  # the scheduler ticked at 06:59: not yet
    assert deliveries(setup, code, sent=True) + deliveries(setup, code, sent=False) == 0
    set_time(setup, dt.datetime(2026, 12, 8, 7, 0, tzinfo=VN))
    wait_until(lambda: status(setup, code) == "sent", "the 07:00 message went out")
    after = scheduled_marker(setup, "07:04 08/12/2026")
    restart(setup)  # and once more: nothing goes twice
    set_time(setup, dt.datetime(2026, 12, 8, 7, 5, tzinfo=VN))
    wait_until(lambda: status(setup, after) == "sent", "the 07:04 marker went out")
    for person in ("ht1", "ht2"):
        seen = card_of(setup, person, code)  # exactly one copy each
        assert "Người gửi: Huỳnh Văn Phúc" in seen["body"] and "07:00 08/12/2026" in seen["body"]
    assert len(asyncio.run(copies(setup, "ht3", code))) == 0


def test_huy_stops_a_scheduled_post_and_refuses_a_sent_one(setup):
    [answer] = asyncio.run(director_says(setup, "!thongbao THCS HT: Sẽ huỷ | lúc 07:00 09/12/2026"))
    code = answer["vn.dieuhanh.sent"]["code"]
    marker = scheduled_marker(setup, "07:30 09/12/2026")
    [not_theirs] = asyncio.run(says(setup, "tp", f"!huy {code}"))
    assert not_theirs["body"] == "Anh/Chị chỉ huỷ được tin do mình gửi."
    cancelled, past = asyncio.run(
        director_says(setup, f"!huy {code}", "!gui THCS HT: Họp | lúc 07:00 01/12/2026")
    )
    assert cancelled["body"].startswith(f"Đã huỷ thông báo mã {code} hẹn giờ gửi lúc 07:00")
    assert past["body"] == "Thời điểm 07:00 01/12/2026 đã qua; hãy chọn một thời điểm sau bây giờ."
    assert "vn.dieuhanh.sent" not in past
    set_time(setup, dt.datetime(2026, 12, 9, 8, 0, tzinfo=VN))
    wait_until(lambda: status(setup, marker) == "sent", "the 07:30 marker went out")
    assert status(setup, code) == "cancelled"
    assert deliveries(setup, code, sent=True) + deliveries(setup, code, sent=False) == 0
    [sent] = asyncio.run(director_says(setup, f"!huy {marker}"))
    assert sent["body"] == (
        f"Tin nhắn điều hành mã {marker} đã được gửi lúc 07:30 09/12/2026, không thể huỷ."
    )
