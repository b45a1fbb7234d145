"""Lịch công tác end to end: the bot process on its file clock, a real Synapse, nio
clients as staff. Composed in chat, posted on Monday 07:00 to the school's "Thông tin
điều hành" room once, edited in place (m.replace) when it changes, across a restart."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
from nio import MessageDirection, RoomMessagesResponse
from sqlalchemy import text

from ..waiting import eventually, log_tail
from .test_bot_matrix import Setup
from .test_kinds_matrix import restart, says, set_time

KEY = "vn.dieuhanh.schedule"
VN = dt.timezone(dt.timedelta(hours=7))
SATURDAY = dt.datetime(2026, 12, 5, 10, 0, tzinfo=VN)
MONDAY_7 = dt.datetime(2026, 12, 7, 7, 0, tzinfo=VN)


@pytest.fixture(scope="module")
def setup(synapse, tmp_path_factory):
    s = Setup(synapse, tmp_path_factory.mktemp("schedule"))
    s.clock_file = s.folder / "clock"
    set_time(s, SATURDAY)
    s.env["DIEUHANH_BOT_CLOCK_FILE"] = str(s.clock_file)
    s.env["DIEUHANH_BOT_SCHEDULER_INTERVAL_SECONDS"] = "0.5"
    s.bot.start(wait_for="initial sync done")
    yield s
    s.bot.stop()
    s.engine.dispose()


def row(setup: Setup, unit: str) -> dict | None:
    with setup.engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT event_id, room_id, posted_at, entries FROM work_schedules "
                "WHERE unit_code = :u AND week_start = '2026-12-07'"
            ),
            {"u": setup.district.u(unit)},
        ).first()
    return dict(found._mapping) if found else None


async def _timeline(setup: Setup, person: str, room_id: str) -> list[dict]:
    client = await setup.client(person)
    try:
        # a filter of its own: Synapse answers an identical /sync from its cache, with a
        # position from before the latest events
        fresh = {"room": {"timeline": {"limit": 1, "not_types": [f"x.{time.monotonic_ns()}"]}}}
        synced = await client.sync(timeout=0, sync_filter=fresh)
        page = await client.room_messages(
            room_id, start=synced.next_batch, direction=MessageDirection.back, limit=100
        )
        assert isinstance(page, RoomMessagesResponse), page
        return [e.source for e in reversed(page.chunk)]
    finally:
        await client.close()


def schedule_events(setup: Setup, person: str, room_id: str) -> tuple[list[dict], list[dict]]:
    """What ``person`` sees of the schedule in the room: the posts and the edits."""
    events = asyncio.run(_timeline(setup, person, room_id))
    posts = [e for e in events if KEY in e["content"]]
    edits = [
        e
        for e in events
        if e["content"].get("m.relates_to", {}).get("rel_type") == "m.replace"
        and KEY in e["content"].get("m.new_content", {})
    ]
    return posts, edits


def contents(entries: list[dict]) -> list[str]:
    return [e["content"] for e in entries]


def test_composed_in_chat_posted_on_monday_once_and_edited_in_place(setup):
    room_id = setup.room(f"unit/{setup.district.u('thcs1')}/announcements")
    added, shown = asyncio.run(
        says(
            setup,
            "ht1",
            "!lich them T2 7h30 | Chào cờ đầu tuần | Sân trường | Toàn thể CB-GV-NV",
            "!lịch tuần sau",
        )
    )
    assert added["body"].startswith("Đã thêm mục số 1 vào lịch công tác tuần 07/12 – 13/12/2026")
    assert shown[KEY]["week_start"] == "2026-12-07"
    assert shown[KEY]["entries"] == [
        {
            "day": "2026-12-07",
            "content": "Chào cờ đầu tuần",
            "time": "07:30",
            "place": "Sân trường",
            "attendees": "Toàn thể CB-GV-NV",
        }
    ]
    assert "1. 07:30 — Chào cờ đầu tuần" in shown["body"] and "<table>" in shown["formatted_body"]
    [refused] = asyncio.run(says(setup, "gv1", "!lich them T2 | Họp"))
    assert refused["body"].startswith("Chỉ lãnh đạo đơn vị và chuyên viên phụ trách")

    set_time(setup, MONDAY_7)
    posted = eventually(
        lambda: (r := row(setup, "thcs1")) and r["event_id"] and r,
        60,
        "the Monday post",
        diagnostic=log_tail(setup.bot.log_path),
    )
    assert posted["room_id"] == room_id
    posts, edits = schedule_events(setup, "gv1", room_id)  # a teacher of the school sees it
    assert [p["event_id"] for p in posts] == [posted["event_id"]] and edits == []
    assert posts[0]["content"]["body"].startswith(
        "Lịch công tác tuần 07/12 – 13/12/2026 · Trường THCS Đỗ Văn Dậy"
    )
    assert contents(posts[0]["content"][KEY]["entries"]) == ["Chào cờ đầu tuần"]

    [changed] = asyncio.run(says(setup, "ht1", "!lich them T3 14:00 | Họp hội đồng sư phạm"))
    assert "Bản lịch đã đăng trong phòng Thông tin điều hành sẽ được cập nhật." in changed["body"]
    edit = wait_edits(setup, room_id, 1)[-1]["content"]
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": posted["event_id"]}
    assert contents(edit["m.new_content"][KEY]["entries"]) == [
        "Chào cờ đầu tuần",
        "Họp hội đồng sư phạm",
    ]
    assert "2. 14:00 — Họp hội đồng sư phạm" in edit["m.new_content"]["body"]

    restart(setup)  # neither lost nor posted again: the next change edits the same post
    set_time(setup, MONDAY_7 + dt.timedelta(minutes=5))
    asyncio.run(says(setup, "ht1", "!lich xoa 1"))
    edit = wait_edits(setup, room_id, 2)[-1]["content"]
    assert edit["m.relates_to"]["event_id"] == posted["event_id"]
    assert contents(edit["m.new_content"][KEY]["entries"]) == ["Họp hội đồng sư phạm"]
    posts, edits = schedule_events(setup, "gv1", room_id)
    assert [p["event_id"] for p in posts] == [posted["event_id"]] and len(edits) == 2
    assert row(setup, "thcs1")["event_id"] == posted["event_id"]
    other = setup.room(f"unit/{setup.district.u('thcs2')}/announcements")
    assert schedule_events(setup, "ht2", other) == ([], [])  # no schedule there: no post


def wait_edits(setup: Setup, room_id: str, count: int) -> list[dict]:
    """The edits of the posted schedule, once there are ``count`` of them."""
    return eventually(
        lambda: (
            (edits := schedule_events(setup, "gv1", room_id)[1]) and len(edits) >= count and edits
        ),
        60,
        f"{count} edit(s) of the posted schedule",
        interval=0.5,
        diagnostic=log_tail(setup.bot.log_path),
    )
