"""Invitations (thư mời) end to end: the bot process on its file clock, a real Synapse, nio
clients as staff answering with ✅/❌ reactions and !thamdu, the tally in !baocao, the
reminders as the clock moves, and the .ics that comes with every copy."""

from __future__ import annotations

import asyncio
import datetime as dt

import icalendar
import pytest
from nio import AsyncClient, DownloadResponse
from sqlalchemy import text

from .test_bot_matrix import Setup
from .test_directives_matrix import MARKER, copies, initial_sync, own_sync, wait_all_sent
from .test_kinds_matrix import (
    START,
    VN,
    director_says,
    says,
    scheduled_marker,
    set_time,
    status,
    wait_until,
)

REPORT, RSVP = "vn.dieuhanh.report", "vn.dieuhanh.rsvp"


@pytest.fixture(scope="module")
def setup(synapse, tmp_path_factory):
    s = Setup(synapse, tmp_path_factory.mktemp("invitations"))
    s.clock_file = s.folder / "clock"
    set_time(s, START)
    s.env["DIEUHANH_BOT_CLOCK_FILE"] = str(s.clock_file)
    s.env["DIEUHANH_BOT_SCHEDULER_INTERVAL_SECONDS"] = "0.5"
    s.bot.start(wait_for="initial sync done")
    yield s
    s.bot.stop()
    s.engine.dispose()


async def react(setup: Setup, person: str, room_id: str, event_id: str, key: str) -> dict:
    """``person`` reacts with ``key`` to an event; the bot's answer (in their inbox when
    the room is shared)."""
    client = await setup.client(person)
    try:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        sent = await client.room_send(room_id, "m.reaction", content)
    finally:
        await client.close()
    return await asyncio.to_thread(setup.wait_reply, room_id, sent.event_id)


def copy_of(setup: Setup, person: str, code: str) -> tuple[str, str]:
    """(room id, event id) of the one card of ``code`` that ``person`` got."""
    client = asyncio.run(setup.client(person))
    token = client.access_token
    asyncio.run(client.close())
    [found] = own_sync(setup, token, code)
    return found


def reminders_of(setup: Setup, person: str, code: str) -> list[str]:
    """Which reminders (day_before, hour_before) of ``code`` reached ``person``."""
    seen = asyncio.run(copies(setup, person, code))
    return sorted(c[MARKER]["meeting"] for c in seen if c[MARKER].get("meeting"))


def planned(setup: Setup, code: str, kind: str) -> set[str]:
    """Whose inbox deliveries of ``kind`` directive ``code`` has (test codes: "gv1")."""
    with setup.engine.connect() as conn:
        rows = conn.scalars(
            text(
                "SELECT p.code FROM directive_deliveries d JOIN directives x ON x.id = "
                "d.directive_id JOIN people p ON p.id = d.person_id WHERE x.code = :c "
                "AND d.kind = :k"
            ),
            {"c": code, "k": kind},
        ).all()
    back = {setup.district.p(name): name for name in ("ht1", "ht2", "gv1", "gv2", "tt1", "gv3")}
    return {back.get(row, row) for row in rows}


def reminder_done(setup: Setup, code: str, kind: str) -> bool:
    with setup.engine.connect() as conn:
        return bool(
            conn.scalar(
                text(
                    "SELECT r.sent_at IS NOT NULL FROM directive_reminders r JOIN directives x "
                    "ON x.id = r.directive_id WHERE x.code = :c AND r.kind = :k"
                ),
                {"c": code, "k": kind},
            )
        )


def test_reactions_and_thamdu_change_the_tally_in_baocao(setup):
    [sent] = asyncio.run(
        director_says(
            setup, "!thumoi THCS HT: Họp giao ban hiệu trưởng | 08:00 07/12/2026 | Phòng họp số 2"
        )
    )
    code = sent["vn.dieuhanh.sent"]["code"]
    wait_all_sent(setup, code)
    room, event = copy_of(setup, "ht1", code)
    yes = asyncio.run(react(setup, "ht1", room, event, "✅"))
    assert yes["body"] == (
        "Đã ghi nhận Anh/Chị tham dự Họp giao ban hiệu trưởng lúc 08:00 07/12/2026 tại Phòng "
        f"họp số 2 (thư mời mã {code})."
    )
    [report] = asyncio.run(director_says(setup, f"!baocao {code}"))
    assert report[REPORT]["rsvp"] == {"yes": 1, "no": 0, "unanswered": 1, "deputies": 0}
    assert "Tham dự:\n  THCS Đỗ Văn Dậy: Nguyễn Văn An" in report["body"]
    no = asyncio.run(react(setup, "ht1", room, event, "❌"))
    assert no["body"].startswith("Đã ghi nhận Anh/Chị vắng mặt tại Họp giao ban hiệu trưởng")
    [deputy] = asyncio.run(says(setup, "ht2", f"!thamdu {code} có Lê Văn Tư"))
    [outsider] = asyncio.run(says(setup, "gv1", f"!tham dự {code} có"))  # not invited
    assert deputy["body"].startswith("Đã ghi nhận: Lê Văn Tư dự thay Anh/Chị tại Họp giao ban")
    assert deputy[RSVP] == {"code": code, "answer": "yes", "deputy": "Lê Văn Tư", "how": "command"}
    assert outsider["body"] == (f"Anh/Chị không có trong danh sách được mời của thư mời mã {code}.")
    [report] = asyncio.run(director_says(setup, f"!baocao {code}"))
    assert report[REPORT]["rsvp"] == {"yes": 1, "no": 1, "unanswered": 0, "deputies": 1}
    assert "Tham dự:\n  THCS Ánh Dương: Phạm Thị Dung (người dự thay: Lê Văn Tư)" in report["body"]
    assert "Vắng:\n  THCS Đỗ Văn Dậy: Nguyễn Văn An" in report["body"]
    assert "Chưa trả lời" not in report["body"]


def test_the_ics_goes_with_every_copy_and_downloads(setup):
    [sent] = asyncio.run(
        director_says(
            setup, "!thumoi THCS HT: Tập huấn chuyển đổi số | 13:30 07/12/2026 | Hội trường A"
        )
    )
    code = sent["vn.dieuhanh.sent"]["code"]
    wait_all_sent(setup, code)

    async def download(person: str) -> tuple[dict, bytes]:
        client: AsyncClient = await setup.client(person)
        try:
            [file] = [c for c in await copies(setup, person, code) if c[MARKER].get("attachment")]
            got = await client.download(mxc=file["url"])
            assert isinstance(got, DownloadResponse)
            return file, got.body
        finally:
            await client.close()

    (first, data), (second, _) = (asyncio.run(download(p)) for p in ("ht1", "ht2"))
    assert first["url"] == second["url"]  # uploaded once
    assert first["body"] == f"thu-moi-{code}.ics"
    assert first["info"]["mimetype"] == "text/calendar"
    [event] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert str(event["UID"]) == f"{code}@{setup.synapse.server_name}"
    start = event.decoded("DTSTART")
    assert start == dt.datetime(2026, 12, 7, 13, 30, tzinfo=VN)
    assert str(start.tzinfo) == "Asia/Ho_Chi_Minh"
    assert str(event["SUMMARY"]) == "Tập huấn chuyển đổi số"
    assert str(event["LOCATION"]) == "Hội trường A"
    assert f"Thư mời mã {code} của Huỳnh Văn Phúc" in str(event["DESCRIPTION"])
    assert event["ORGANIZER"].params["CN"] == "Sở Giáo dục và Đào tạo"


def test_reminders_go_only_to_those_who_accepted_or_have_not_answered(setup):
    [sent] = asyncio.run(
        says(setup, "tp", "!thumoi THCS GV: Họp tổ chuyên môn | 08:00 08/12/2026 | Phòng 3")
    )
    code = sent["vn.dieuhanh.sent"]["code"]
    wait_all_sent(setup, code)
    invited = {"gv1", "gv2", "tt1", "gv3"}
    room, event = copy_of(setup, "gv1", code)
    assert "tham dự" in asyncio.run(react(setup, "gv1", room, event, "✅"))["body"]
    assert "vắng" in asyncio.run(says(setup, "gv2", f"!thamdu {code} không"))[0]["body"]
    marker = scheduled_marker(setup, "15:59 07/12/2026")
    set_time(setup, dt.datetime(2026, 12, 7, 15, 59, 30, tzinfo=VN))
    wait_until(lambda: status(setup, marker) == "sent", "the 15:59 marker went out")
    assert planned(setup, code, "meeting_tomorrow") == set()  # not before 16:00
    set_time(setup, dt.datetime(2026, 12, 7, 16, 0, tzinfo=VN))
    wait_until(lambda: reminder_done(setup, code, "day_before"), "the day-before reminder")
    assert planned(setup, code, "meeting_tomorrow") == invited - {"gv2"}
    wait_all_sent(setup, code)
    for person in invited:
        assert reminders_of(setup, person, code) == ([] if person == "gv2" else ["day_before"])
    # gv3 declines by reacting to the reminder in their inbox
    client = asyncio.run(setup.client("gv3"))
    token = client.access_token
    asyncio.run(client.close())
    [(inbox, reminder)] = [
        (room_id, e["event_id"])
        for room_id, r in initial_sync(setup, token)["rooms"]["join"].items()
        for e in r["timeline"]["events"]
        if e.get("content", {}).get(MARKER, {}).get("meeting") == "day_before"
        and e["content"][MARKER]["code"] == code
    ]
    declined = asyncio.run(react(setup, "gv3", inbox, reminder, "❌"))
    assert declined["body"].startswith("Đã ghi nhận Anh/Chị vắng mặt tại Họp tổ chuyên môn")
    set_time(setup, dt.datetime(2026, 12, 8, 7, 0, tzinfo=VN))
    wait_until(lambda: reminder_done(setup, code, "hour_before"), "the hour-before reminder")
    assert planned(setup, code, "meeting_soon") == {"gv1", "tt1"}
    wait_all_sent(setup, code)
    assert reminders_of(setup, "gv1", code) == ["day_before", "hour_before"]
    assert reminders_of(setup, "gv3", code) == ["day_before"]
    assert reminders_of(setup, "gv2", code) == []


def test_an_invitation_sent_two_hours_before_gets_only_the_hour_before_reminder(setup):
    set_time(setup, dt.datetime(2026, 12, 9, 6, 0, tzinfo=VN))
    [sent] = asyncio.run(
        director_says(setup, "!thumoi THCS HT: Họp đột xuất | 08:00 09/12/2026 | Phòng 1")
    )
    code = sent["vn.dieuhanh.sent"]["code"]
    wait_all_sent(setup, code)
    with setup.engine.connect() as conn:
        kinds = conn.scalars(
            text(
                "SELECT r.kind FROM directive_reminders r JOIN directives x ON x.id = "
                "r.directive_id WHERE x.code = :c"
            ),
            {"c": code},
        ).all()
    assert kinds == ["hour_before"]
    set_time(setup, dt.datetime(2026, 12, 9, 7, 0, tzinfo=VN))
    wait_until(lambda: reminder_done(setup, code, "hour_before"), "the hour-before reminder")
    wait_all_sent(setup, code)
    for person in ("ht1", "ht2"):
        assert reminders_of(setup, person, code) == ["hour_before"]
    seen = [c for c in asyncio.run(copies(setup, "ht1", code)) if c[MARKER].get("meeting")]
    assert seen[0]["body"].startswith(
        "Nhắc lịch họp sau 1 giờ nữa: Họp đột xuất — 08:00, thứ Tư 09/12/2026, tại Phòng 1"
    )
