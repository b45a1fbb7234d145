"""Directives end to end: the bot process, a real Synapse, nio clients as staff."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import time
import weakref
from typing import Any
from urllib.parse import quote

import pytest
from nio import AsyncClient, DownloadResponse, RoomMessageNotice, UploadResponse
from sqlalchemy import text

from provisioning.matrix.mirror import load_mirror

from ..waiting import eventually, eventually_async, log_tail
from .test_bot_matrix import Setup

MARKER = "vn.dieuhanh.directive"
PDF = b"%PDF-1.4 Lich hop tuan 49 - So GD&DT\n%%EOF\n"


@pytest.fixture(scope="module")
def setup(synapse, tmp_path_factory):
    s = Setup(synapse, tmp_path_factory.mktemp("directives"), extra_staff=24)
    s.bot.start(wait_for="initial sync done")
    yield s
    s.bot.stop()
    s.engine.dispose()


def bot_id(setup: Setup) -> str:
    return f"@{setup.config.bot.localpart}:{setup.synapse.server_name}"


async def open_dm(setup: Setup, client: AsyncClient) -> str:
    """A DM with the bot (unencrypted, so the test can read the bot's notices plainly)."""
    created = await client.room_create(is_direct=True, invite=[bot_id(setup)])

    async def joined() -> bool:
        await client.sync(timeout=500)
        room = client.rooms.get(created.room_id)
        return room is not None and bot_id(setup) in room.users

    await eventually_async(
        joined, 30, "the bot to join the DM", interval=0, diagnostic=log_tail(setup.bot.log_path)
    )
    return created.room_id


#: the bot's other notices a sync returned while ``say`` waited for its answer (a notice
#: that follows the answer closely comes in the same sync): ``wait_notice`` reads them
_seen: weakref.WeakKeyDictionary[AsyncClient, list[tuple[str, str]]] = weakref.WeakKeyDictionary()


async def say(setup: Setup, client: AsyncClient, room_id: str, body: str | dict) -> dict:
    """Send a message in the DM and wait for the bot's answer to it."""
    content = body if isinstance(body, dict) else {"msgtype": "m.text", "body": body}
    sent = await client.room_send(room_id, "m.room.message", content)

    async def answer() -> dict | None:
        response = await client.sync(timeout=1000)
        joined = response.rooms.join.get(room_id)
        found = None
        for event in joined.timeline.events if joined else []:
            if isinstance(event, RoomMessageNotice) and event.sender == bot_id(setup):
                relates = event.source["content"].get("m.relates_to", {})
                if relates.get("m.in_reply_to", {}).get("event_id") == sent.event_id:
                    found = event.source["content"]
                else:
                    _seen.setdefault(client, []).append((room_id, event.body))
        return found

    return await eventually_async(
        answer,
        60,
        f"the bot's answer to {body!r}",
        interval=0,
        diagnostic=log_tail(setup.bot.log_path),
    )


async def wait_notice(setup: Setup, client: AsyncClient, room_id: str, start: str) -> str:
    seen = _seen.get(client, [])
    for room, body in seen:
        if room == room_id and body.startswith(start):
            seen.remove((room, body))
            return body  # it came with the answer ``say`` waited for

    async def notice() -> str | None:
        response = await client.sync(timeout=1000)
        joined = response.rooms.join.get(room_id)
        for event in joined.timeline.events if joined else []:
            if isinstance(event, RoomMessageNotice) and event.body.startswith(start):
                return event.body
        return None

    return await eventually_async(
        notice, 120, f"a notice {start!r}", interval=0, diagnostic=log_tail(setup.bot.log_path)
    )


def deliveries(setup: Setup, code: str, *, sent: bool) -> int:
    """How many of directive ``code``'s deliveries are sent (or not yet)."""
    state = "IS NOT NULL" if sent else "IS NULL"
    with setup.engine.connect() as conn:
        return conn.scalar(
            text(
                "SELECT count(*) FROM directive_deliveries d JOIN directives x ON x.id = "
                f"d.directive_id WHERE x.code = :c AND d.event_id {state}"
            ),
            {"c": code},
        )


def wait_all_sent(setup: Setup, code: str, timeout: float = 120) -> None:
    eventually(
        lambda: deliveries(setup, code, sent=False) == 0,
        timeout,
        f"every delivery of {code} to be sent",
        interval=0.2,
        diagnostic=log_tail(setup.bot.log_path),
    )


def initial_sync(setup: Setup, token: str) -> dict[str, Any]:
    """A fresh initial /sync (Synapse caches identical sync requests for two minutes, so
    each call asks with a filter of its own)."""
    filters = json.dumps(
        {"room": {"timeline": {"limit": 100, "not_types": [f"x.nocache.{time.monotonic_ns()}"]}}}
    )
    return setup.synapse.api(
        "GET", f"/_matrix/client/v3/sync?full_state=true&filter={quote(filters)}", token=token
    )


def own_sync(setup: Setup, token: str, code: str) -> list[tuple[str, str]]:
    """(room id, event id) of directive ``code``'s messages in a person's own /sync."""
    synced = initial_sync(setup, token)
    return [
        (room_id, event["event_id"])
        for room_id, room in synced["rooms"].get("join", {}).items()
        for event in room["timeline"]["events"]
        if event.get("content", {}).get(MARKER, {}).get("code") == code
        and not event["content"][MARKER].get("attachment")
    ]


async def copies(setup: Setup, person: str, code: str) -> list[dict[str, Any]]:
    """What ``person`` sees of directive ``code`` in their own /sync (every room), having
    downloaded each attachment."""
    client = await setup.client(person)
    try:
        synced = initial_sync(setup, client.access_token)
        found = [
            event["content"]
            for room in synced["rooms"].get("join", {}).values()
            for event in room["timeline"]["events"]
            if event.get("content", {}).get(MARKER, {}).get("code") == code
        ]
        for content in found:
            if content[MARKER].get("attachment"):
                download = await client.download(mxc=content["url"])
                assert isinstance(download, DownloadResponse), "attachment not downloadable"
                if content["body"].endswith(".pdf"):  # not an invitation's .ics
                    assert download.body == PDF, "attachment not the PDF sent"
        return found
    finally:
        await client.close()


PEOPLE = [
    "ht1",
    "gv1",
    "gv2",
    "tt1",
    "nv1",
    "ht2",
    "gv3",
    "ht3",
    "gv4",
    "ht4",
    "gv5",
    "tp",
    "cv",
    "gd",
]


def test_guided_flow_delivers_exactly_with_a_downloadable_attachment(setup):
    async def compose() -> str:
        client = await setup.client("tp")  # the xã's Trưởng phòng
        try:
            dm = await open_dm(setup, client)
            assert (await say(setup, client, dm, "!gửi"))["body"].startswith("Bước 1 — Chọn loại")
            assert "Bước 2/4" in (await say(setup, client, dm, "tin nhắn"))["body"]
            assert "Bước 3/4" in (await say(setup, client, dm, "THCS"))["body"]
            assert "Bước 4/4" in (await say(setup, client, dm, "GV"))["body"]
            upload, _ = await client.upload(
                lambda *_: io.BytesIO(PDF),
                content_type="application/pdf",
                filename="lich-hop.pdf",
                filesize=len(PDF),
            )
            assert isinstance(upload, UploadResponse)
            await say(
                setup,
                client,
                dm,
                {
                    "msgtype": "m.file",
                    "body": "lich-hop.pdf",
                    "url": upload.content_uri,
                    "info": {"mimetype": "application/pdf", "size": len(PDF)},
                },
            )
            await say(setup, client, dm, "Kính gửi quý thầy cô: lịch họp tổ chuyên môn tuần 49.")
            preview = await say(setup, client, dm, "xong")
            assert preview["vn.dieuhanh.preview"]["people"] == 28  # 4 + the 24 extra teachers
            sent = await say(setup, client, dm, "gửi")
            code = sent["vn.dieuhanh.sent"]["code"]
            done = await wait_notice(setup, client, dm, f"Đã gửi tin nhắn điều hành mã {code}")
            assert "đến 28 cán bộ" in done
            return code
        finally:
            await client.close()

    code = asyncio.run(compose())
    teachers = {"gv1", "gv2", "tt1", "gv3"}
    for person in PEOPLE:
        seen = asyncio.run(copies(setup, person, code))
        texts = [c for c in seen if not c[MARKER].get("attachment")]
        files = [c for c in seen if c[MARKER].get("attachment")]
        expected = 1 if person in teachers else 0
        assert (len(texts), len(files)) == (expected, expected), (person, seen)
    for i in (0, 7, 23):
        seen = asyncio.run(copies(setup, f"x{i}", code))
        assert len([c for c in seen if not c[MARKER].get("attachment")]) == 1


def test_one_line_form_and_authority_refusals(setup):
    async def run() -> str:
        principal = await setup.client("ht1")
        director = await setup.client("gd")
        try:
            dm = await open_dm(setup, principal)
            refused = await say(setup, principal, dm, "!gui THCS Ánh Dương: Xin chào")
            assert "nằm ngoài phạm vi" in refused["body"]
            dm2 = await open_dm(setup, director)
            sent = await say(setup, director, dm2, "!gui THCS HT: Mời họp giao ban hiệu trưởng.")
            return sent["vn.dieuhanh.sent"]["code"]
        finally:
            await principal.close()
            await director.close()

    code = asyncio.run(run())
    wait_all_sent(setup, code)
    with setup.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT d.kind, d.room_key, d.event_id FROM directive_deliveries"
                " d JOIN directives x ON x.id = d.directive_id WHERE x.code = :c"
            ),
            {"c": code},
        ).all()
    for person in ("ht1", "ht2", "gv1", "ht3", "ht4"):
        seen = asyncio.run(copies(setup, person, code))
        assert len(seen) == (1 if person in ("ht1", "ht2") else 0), (person, rows)


def test_baocao_counts_follow_read_receipts_and_nhacnho_reaches_only_the_unread(setup):
    readers = ["gv1", "gv3"]

    async def send_directive() -> tuple[str, str]:
        """The xã's Trưởng phòng sends the xã's THCS teachers a directive: (DM, code)."""
        sender = await setup.client("tp")
        try:
            dm = await open_dm(setup, sender)
            sent = await say(setup, sender, dm, "!gui THCS GV: Đề nghị nộp báo cáo sơ kết.")
            return dm, sent["vn.dieuhanh.sent"]["code"]
        finally:
            await sender.close()

    dm, code = asyncio.run(send_directive())
    wait_all_sent(setup, code)

    async def run() -> tuple[dict, dict, dict]:
        sender = await setup.client("tp")
        try:
            before = (await say(setup, sender, dm, f"!baocao {code}"))["vn.dieuhanh.report"]
            for person in readers:  # they open the room: Element sends a public m.read
                reader = await setup.client(person)
                try:
                    for room_id, event_id in own_sync(setup, reader.access_token, code):
                        setup.synapse.api(
                            "POST",
                            f"/_matrix/client/v3/rooms/{room_id}/receipt/m.read/{quote(event_id)}",
                            {},
                            token=reader.access_token,
                        )
                finally:
                    await reader.close()

            async def read_by_all() -> dict | None:
                report = await say(setup, sender, dm, f"!baocao {code}")
                return report if report["vn.dieuhanh.report"]["read"] == len(readers) else None

            after = await eventually_async(
                read_by_all, 30, f"!baocao {code} to count {len(readers)} read", interval=0.2
            )
            reminded = await say(setup, sender, dm, f"!nhắc nhở {code}")
            return before, after, reminded
        finally:
            await sender.close()

    before, after, reminded = asyncio.run(run())
    assert before["read"] == 0 and before["recipients"] == before["delivered"] == 28
    report = after["vn.dieuhanh.report"]
    assert report["read"] == 2 and report["unread"] + report["unknown"] == 26
    assert "Chưa" in after["body"]
    assert reminded["vn.dieuhanh.reminded"] == 26
    wait_all_sent(setup, code)  # the reminders too: they are deliveries of the directive
    for person in ("gv1", "gv3"):  # those who read get no reminder
        assert not [
            c for c in asyncio.run(copies(setup, person, code)) if c[MARKER].get("reminder")
        ]
    got = [c for c in asyncio.run(copies(setup, "gv2", code)) if c[MARKER].get("reminder")]
    assert len(got) == 1 and "Nhắc việc" in got[0]["body"]


def restart_bot(setup, **env: str) -> None:
    """Restart the bot with these settings in its environment (empty: the defaults)."""
    setup.bot.stop()
    for key in [k for k in setup.bot.env if k.startswith("DIEUHANH_BOT_DELIVERY")]:
        del setup.bot.env[key]
    setup.bot.env.update(env)
    setup.bot.start(wait_for="restored session")


@pytest.fixture
def one_at_a_time(setup):
    """The bot delivering one directive copy at a time, so that a kill lands midway
    however fast this machine is; the defaults are back afterwards."""
    restart_bot(setup, DIEUHANH_BOT_DELIVERY_CONCURRENCY="1")
    yield
    restart_bot(setup)


def test_bot_killed_mid_delivery_resumes_and_nobody_gets_two_copies(setup, one_at_a_time):
    names = [f"Nguyễn Văn Phụ {i}" for i in range(24)]

    async def compose() -> str:
        client = await setup.client("ht1")
        try:
            dm = await open_dm(setup, client)
            await say(setup, client, dm, "!gui")
            await say(setup, client, dm, "tin nhắn")
            await say(setup, client, dm, "tất cả")
            await say(setup, client, dm, " ".join(names[:12]))
            await say(setup, client, dm, "Đề nghị các thầy cô nộp kế hoạch bài dạy.")
            preview = await say(setup, client, dm, "xong")
            assert preview["vn.dieuhanh.preview"]["people"] == 12
            assert preview["vn.dieuhanh.preview"]["inboxes"] == 12
            sent = await say(setup, client, dm, "gửi")
            return sent["vn.dieuhanh.sent"]["code"]
        finally:
            await client.close()

    code = asyncio.run(compose())
    # kill it once the first inbox got theirs: the others are in flight, some of them sent
    # but not yet recorded (the worker records in batches), so the restart re-sends those
    # with the same transaction ids and Synapse must answer with the events it has
    done = eventually(
        lambda: deliveries(setup, code, sent=True),
        60,
        f"a first delivery of {code}",
        interval=0.02,
        diagnostic=log_tail(setup.bot.log_path),
    )
    os.kill(setup.bot.process.pid, signal.SIGKILL)
    setup.bot.process.wait()
    setup.bot.log.close()
    assert done < 12, "the delivery finished before the kill; no midway to test"
    setup.bot.start()
    wait_all_sent(setup, code)
    mirror = load_mirror(setup.engine)
    for i in range(24):
        user_id = mirror.accounts[setup.district.p(f"x{i}")].user_id
        rooms = setup.synapse.api("GET", f"/_synapse/admin/v1/users/{user_id}/joined_rooms")[
            "joined_rooms"
        ]
        count = 0
        for room_id in rooms:
            page = setup.synapse.api(
                "GET", f"/_synapse/admin/v1/rooms/{room_id}/messages?dir=b&limit=100"
            )
            count += sum(
                1
                for e in page["chunk"]
                if e["content"].get(MARKER, {}).get("code") == code
                and not e["content"][MARKER].get("attachment")
            )
        assert count == (1 if i < 12 else 0), (i, count)


def test_attachment_from_an_encrypted_dm_is_decrypted_and_uploaded_once(setup):
    """Element's DMs are encrypted: the bot decrypts the file and uploads it once, in clear,
    for the (unencrypted) rooms that carry directives."""
    from .test_bot_matrix import keys, open_encrypted_dm

    async def compose() -> str:
        client = await setup.client("ht1", encrypted=True)
        try:
            dm = await open_encrypted_dm(client, bot_id(setup))

            async def ask(body: str | dict) -> dict:
                content = body if isinstance(body, dict) else {"msgtype": "m.text", "body": body}
                sent = await client.room_send(
                    dm, "m.room.message", content, ignore_unverified_devices=True
                )

                async def answer() -> dict | None:
                    response = await client.sync(timeout=1000)
                    await keys(client)
                    joined = response.rooms.join.get(dm)
                    for event in joined.timeline.events if joined else []:
                        if (
                            isinstance(event, RoomMessageNotice)
                            and event.source["content"]
                            .get("m.relates_to", {})
                            .get("m.in_reply_to", {})
                            .get("event_id")
                            == sent.event_id
                        ):
                            return event.source["content"]
                    return None

                return await eventually_async(
                    answer, 60, f"the bot's answer to {body!r}", interval=0
                )

            await ask("!gui")
            await ask("tin nhắn")
            await ask("tất cả")
            await ask("Trần Thị Bình")
            upload, secrets = await client.upload(
                lambda *_: io.BytesIO(PDF),
                content_type="application/pdf",
                filename="ke-hoach.pdf",
                encrypt=True,
                filesize=len(PDF),
            )
            file = {"url": upload.content_uri, **secrets}
            await ask(
                {
                    "msgtype": "m.file",
                    "body": "ke-hoach.pdf",
                    "file": file,
                    "info": {"mimetype": "application/pdf", "size": len(PDF)},
                }
            )
            await ask("Gửi cô kế hoạch kiểm tra.")
            await ask("xong")
            return (await ask("gửi"))["vn.dieuhanh.sent"]["code"]
        finally:
            await client.close()

    code = asyncio.run(compose())

    def both_copies() -> list[dict[str, Any]] | None:
        seen = asyncio.run(copies(setup, "gv1", code))  # downloads and compares the bytes
        return seen if len(seen) == 2 else None

    seen = eventually(both_copies, 60, f"gv1's text and file of {code}", interval=0.5)
    attachment = next(c for c in seen if c[MARKER].get("attachment"))
    assert "file" not in attachment and attachment["url"].startswith("mxc://")
