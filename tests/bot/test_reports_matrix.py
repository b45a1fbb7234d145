"""Report requests end to end: the bot process on its file clock, a real Synapse, nio
clients as staff. The xã's Trưởng phòng asks the THCS teachers (gv1, gv2, gv3, tt1) for
a report; gv1 replies with a file where the request came, gv3 submits late through !nop
and a file in the DM, gv2 and tt1 submit nothing. Time moves by writing the clock file."""

from __future__ import annotations

import asyncio
import datetime as dt
import io

import pytest
from nio import AsyncClient, UploadResponse
from sqlalchemy import text

from ..waiting import eventually, log_tail
from .test_bot_matrix import Setup
from .test_directives_matrix import MARKER, PDF, copies, initial_sync, open_dm, say, wait_all_sent
from .test_kinds_matrix import VN, restart, set_time, status, wait_until

START = dt.datetime(2026, 12, 5, 10, 0, tzinfo=VN)
TEACHERS = {"gv1", "gv2", "gv3", "tt1"}  # "THCS GV" from the xã's Trưởng phòng


@pytest.fixture(scope="module")
def setup(synapse, tmp_path_factory):
    s = Setup(synapse, tmp_path_factory.mktemp("reports"))
    s.clock_file = s.folder / "clock"
    set_time(s, START)
    s.env["DIEUHANH_BOT_CLOCK_FILE"] = str(s.clock_file)
    s.env["DIEUHANH_BOT_SCHEDULER_INTERVAL_SECONDS"] = "0.5"
    s.bot.start(wait_for="initial sync done")
    yield s
    s.bot.stop()
    s.engine.dispose()


async def pdf_message(client: AsyncClient, name: str) -> dict:
    """The content of a PDF file message (uploaded)."""
    upload, _ = await client.upload(
        lambda *_: io.BytesIO(PDF), content_type="application/pdf", filename=name, filesize=len(PDF)
    )
    assert isinstance(upload, UploadResponse)
    return {
        "msgtype": "m.file",
        "body": name,
        "filename": name,
        "url": upload.content_uri,
        "info": {"mimetype": "application/pdf", "size": len(PDF)},
    }


def reply_to_copy(setup: Setup, who: str, code: str, content: dict | None = None) -> dict:
    """``who`` replies to the request's copy where it came (a PDF unless ``content``); the
    bot's answer (in their inbox when the room is shared)."""

    async def send() -> tuple[str, str]:
        client = await setup.client(who)
        try:
            [(room_id, event_id)] = card_copy(setup, client.access_token, code)
            body = content or await pdf_message(client, f"bao-cao-{who}.pdf")
            body = {**body, "m.relates_to": {"m.in_reply_to": {"event_id": event_id}}}
            sent = await client.room_send(room_id, "m.room.message", body)
            return room_id, sent.event_id
        finally:
            await client.close()

    room_id, event_id = asyncio.run(send())
    return setup.wait_reply(room_id, event_id)


def card_copy(setup: Setup, token: str, code: str) -> list[tuple[str, str]]:
    """(room id, event id) of the request's card in a person's /sync (not its reminder)."""
    return [
        (room_id, event["event_id"])
        for room_id, room in initial_sync(setup, token)["rooms"].get("join", {}).items()
        for event in room["timeline"]["events"]
        if event.get("content", {}).get(MARKER) == {"code": code}
    ]


def submissions(setup: Setup, code: str) -> dict[str, list[tuple[str, str, str]]]:
    """person code -> [(body, files JSON, submitted at)] of request ``code``."""
    people = {setup.district.p(p): p for p in [*TEACHERS, "tp"]}
    with setup.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.code, s.body, s.files, s.submitted_at FROM directive_submissions s "
                "JOIN directives d ON d.id = s.directive_id JOIN people p ON p.id = s.person_id "
                "WHERE d.code = :c ORDER BY s.id"
            ),
            {"c": code},
        ).all()
    found: dict[str, list[tuple[str, str, str]]] = {}
    for person, body, files, at in rows:
        found.setdefault(people[person], []).append((body, files, str(at)))
    return found


def summaries(setup: Setup, room_id: str, code: str) -> list[dict]:
    """The deadline summaries of ``code`` the bot sent into ``room_id``."""
    page = setup.synapse.api("GET", f"/_synapse/admin/v1/rooms/{room_id}/messages?dir=b&limit=200")
    return [
        e["content"]
        for e in page["chunk"]
        if e["type"] == "m.room.message"
        and e["content"].get("vn.dieuhanh.summary", {}).get("code") == code
    ]


def test_a_report_request_from_replies_to_the_summary(setup):
    async def ask() -> tuple[str, str]:
        sender = await setup.client("tp")
        try:
            dm = await open_dm(setup, sender)
            sent = await say(
                setup, sender, dm, "!yeucau THCS GV: Báo cáo sĩ số học sinh | 17:00 10/12/2026"
            )
            return dm, sent["vn.dieuhanh.sent"]["code"]
        finally:
            await sender.close()

    dm, code = asyncio.run(ask())
    wait_all_sent(setup, code)
    card = [c for c in asyncio.run(copies(setup, "gv1", code)) if not c[MARKER].get("reminder")]
    assert f"gõ !nop {code} trong tin nhắn riêng với bot" in card[0]["body"]

    # on time: a reply with a file, where the request came
    answer = reply_to_copy(setup, "gv1", code)
    assert answer["body"] == f"Đã nhận báo cáo theo yêu cầu mã {code}: tệp bao-cao-gv1.pdf."
    [(body, files, _)] = submissions(setup, code)["gv1"]
    assert body == "" and '"name": "bao-cao-gv1.pdf"' in files and '"mxc": "mxc://' in files

    # the deadline passes: the sender gets one summary
    set_time(setup, dt.datetime(2026, 12, 10, 18, 0, tzinfo=VN))
    [summary] = eventually(
        lambda: summaries(setup, dm, code),
        60,
        "the summary",
        diagnostic=log_tail(setup.bot.log_path),
    )
    assert summary["body"].startswith(
        f"Đã đến hạn nộp báo cáo theo yêu cầu mã {code} (17:00 10/12/2026). Báo cáo: 1/4 đã "
        "nộp (1 đúng hạn, 0 muộn), 3 chưa nộp."
    )
    assert "Chưa nộp (3):" in summary["body"] and "Trần Thị Bình" in summary["body"]

    # late: !nop in the DM, then the file
    async def late() -> tuple[dict, dict]:
        client = await setup.client("gv3")
        try:
            mine = await open_dm(setup, client)
            waiting = await say(setup, client, mine, f"!nop {code}")
            taken = await say(setup, client, mine, await pdf_message(client, "si-so.pdf"))
            return waiting, taken
        finally:
            await client.close()

    waiting, taken = asyncio.run(late())
    assert waiting["body"].startswith(f"Anh/Chị hãy gửi tệp báo cáo theo yêu cầu mã {code}")
    assert taken["body"] == (
        f"Đã nhận báo cáo theo yêu cầu mã {code} (nộp muộn 1 giờ so với hạn 17:00 10/12/2026): "
        "tệp si-so.pdf."
    )
    assert set(submissions(setup, code)) == {"gv1", "gv3"}

    # !baocao: on time, late, missing by unit; !nhacnho: only the missing
    async def follow_up() -> tuple[dict, dict]:
        sender = await setup.client("tp")
        try:
            report = await say(setup, sender, dm, f"!baocao {code}")
            reminded = await say(setup, sender, dm, f"!nhacnho {code}")
            return report, reminded
        finally:
            await sender.close()

    report, reminded = asyncio.run(follow_up())
    data = report["vn.dieuhanh.report"]
    assert (data["recipients"], data["on_time"], data["late"], data["missing"]) == (4, 1, 1, 2)
    assert "Đã nộp đúng hạn (1):\n  THCS Đỗ Văn Dậy: Trần Thị Bình" in report["body"]
    assert "Đã nộp muộn (1):\n  THCS Ánh Dương: Hoàng Văn Em" in report["body"]
    assert "Chưa nộp (2):\n  " in report["body"] and "Lê Văn Cường" in report["body"]
    assert reminded["vn.dieuhanh.reminded"] == 2
    wait_all_sent(setup, code)
    for person in sorted(TEACHERS):
        got = [c for c in asyncio.run(copies(setup, person, code)) if c[MARKER].get("report")]
        assert len(got) == (person in ("gv2", "tt1")), (person, got)
    assert got[0]["body"].startswith(f"Nhắc việc: Anh/Chị chưa nộp báo cáo theo yêu cầu mã {code}")

    # the summary went once, a restart and later ticks send nothing more
    restart(setup)
    marker = asyncio.run(scheduled_marker(setup, "18:30 10/12/2026"))
    set_time(setup, dt.datetime(2026, 12, 10, 18, 31, tzinfo=VN))
    wait_until(lambda: status(setup, marker) == "sent", "the 18:30 marker went out")
    assert len(summaries(setup, dm, code)) == 1

    # closed with !huy: a reply is refused, nothing stored
    async def close() -> dict:
        sender = await setup.client("tp")
        try:
            return await say(setup, sender, dm, f"!huy {code}")
        finally:
            await sender.close()

    assert asyncio.run(close())["body"].startswith(f"Đã đóng yêu cầu báo cáo mã {code}")
    refused = reply_to_copy(setup, "gv2", code, {"msgtype": "m.text", "body": "Đã có 35 lớp"})
    assert refused["body"] == (
        f"Yêu cầu báo cáo mã {code} đã đóng lúc 18:31 10/12/2026; bot không nhận thêm báo cáo "
        "cho yêu cầu này."
    )
    assert set(submissions(setup, code)) == {"gv1", "gv3"}


async def scheduled_marker(setup: Setup, at: str) -> str:
    """A message to the MN principal scheduled ``at``: once it is sent, the scheduler has
    ticked at that time or later."""
    client = await setup.client("gd")
    try:
        dm = await open_dm(setup, client)
        answer = await say(setup, client, dm, f"!gui MN HT: Mốc {at} | lúc {at}")
        return answer["vn.dieuhanh.sent"]["code"]
    finally:
        await client.close()
