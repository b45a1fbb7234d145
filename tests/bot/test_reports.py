"""Report requests (yêu cầu báo cáo) without Matrix: what a reply submits, who is on time,
late or missing, replies and !nop (with files in the DM), !baocao, !nhacnho, and the one
summary after the deadline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import FileClock
from bot.db.delivery import Delivery, DeliveryTable
from bot.db.directive import Directive
from bot.db.recipient import Recipient
from bot.db.reminder import Reminder
from bot.db.submission import Submission, SubmissionTable
from bot.directives import reports
from bot.directives.cards import card_parts
from bot.directives.kinds import reminders_of
from bot.directives.message import MARKER
from bot.directives.relations import REPLY_HANDLERS, Relation, dispatch
from bot.directives.reports import (
    Submitted,
    confirmation,
    duration_words,
    file_record,
    lateness,
    reply_text,
    tally,
)
from bot.directives.scheduler import Scheduler
from provisioning.db.models import Person

from .test_commands import uid
from .test_gui import DM, say, service  # noqa: F401 - the fixture
from .test_kinds import NOW, PDF, SENDER, VN, ZIP, count, directive, set_time

DELIVERIES, SUBMISSIONS = DeliveryTable.__table__, SubmissionTable.__table__
DEADLINE = dt.datetime(2026, 12, 10, 17, 0, tzinfo=VN)
XLSX = {
    "msgtype": "m.file",
    "body": "si-so.xlsx",
    "url": "mxc://test/xlsx",
    "info": {"mimetype": "application/octet-stream", "size": 2048},
}
# "THCS HT" from the Sở's director (SENDER) reaches the THCS principals P001 and P004


@pytest.fixture
def clock_file(tmp_path):
    path = tmp_path / "clock"
    set_time(path, NOW)
    return path


@pytest.fixture
def bot(service, clock_file):  # noqa: F811
    service.clock = FileClock(clock_file)
    return service


# ------------------------------------------------------------------------ pure


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (dt.timedelta(seconds=30), "1 phút"),
        (dt.timedelta(hours=2, minutes=5), "2 giờ 5 phút"),
        (dt.timedelta(hours=2), "2 giờ"),
        (dt.timedelta(days=1, hours=3, minutes=20), "1 ngày 3 giờ"),
        (dt.timedelta(days=2), "2 ngày"),
    ],
)
def test_how_late_in_words(delta, words):
    assert duration_words(delta) == words


def test_lateness_against_the_deadline():
    assert lateness(DEADLINE, DEADLINE) == ""  # at the deadline: on time
    assert lateness(DEADLINE + dt.timedelta(minutes=90), DEADLINE) == (
        "(nộp muộn 1 giờ 30 phút so với hạn 17:00 10/12/2026)"
    )


def test_the_words_of_a_reply_lose_the_quoted_fallback():
    reply = {
        "msgtype": "m.text",
        "body": "> <@gd:test> Yêu cầu báo cáo · mã K7QMA\n> Người gửi: …\n\nĐã có 35 lớp.",
        "m.relates_to": {"m.in_reply_to": {"event_id": "$card"}},
    }
    assert reply_text(reply) == "Đã có 35 lớp."
    assert reply_text({"msgtype": "m.text", "body": "> trích dẫn của tôi"}) == "> trích dẫn của tôi"
    assert reply_text({**PDF, "filename": "125-SGDDT.pdf"}) == ""  # the body is the name
    caption = {**PDF, "filename": "bc.pdf", "body": "Báo cáo tháng 12"}
    assert reply_text(caption) == "Báo cáo tháng 12"
    assert reply_text(PDF) == ""  # a file without a caption


def test_a_file_is_kept_as_mxc_name_mimetype_size():
    assert file_record(PDF) == {
        "mxc": "mxc://test/pdf",
        "name": "125-SGDDT.pdf",
        "mimetype": "application/pdf",
        "size": 10,
    }
    secret = {"url": "mxc://test/enc", "key": {"k": "x"}, "iv": "y", "hashes": {"sha256": "z"}}
    encrypted = {"msgtype": "m.file", "body": "bc.docx", "file": secret, "info": {}}
    record = file_record(encrypted)
    assert record["mxc"] == "mxc://test/enc" and record["file"] == secret
    assert record["mimetype"] == "" and record["size"] is None


def test_a_zip_is_refused_an_office_file_is_not():
    assert Submitted("!r", "$e", files=[XLSX]).refused() is None  # judged by its extension
    assert Submitted("!r", "$e", files=[ZIP]).refused() == (
        "Bot không nhận tệp 'baocao.zip': chỉ nhận tệp PDF, văn bản Office (doc, docx, xls, "
        "xlsx, ppt, pptx, odt, ods) hoặc ảnh."
    )


def test_the_confirmation_names_what_came_and_whether_late():
    both = Submitted("!r", "$e", "Số liệu đính kèm", [PDF, XLSX])
    assert confirmation("K7QMA", both, "") == (
        "Đã nhận báo cáo theo yêu cầu mã K7QMA: tệp 125-SGDDT.pdf, si-so.xlsx; "
        "nội dung «Số liệu đính kèm»."
    )
    late = lateness(DEADLINE + dt.timedelta(days=1), DEADLINE)
    text = confirmation("K7QMA", Submitted("!r", "$e", "x" * 100), late)
    assert text.startswith(
        "Đã nhận báo cáo theo yêu cầu mã K7QMA (nộp muộn 1 ngày so với hạn 17:00 10/12/2026)"
    )
    assert text.endswith("x…».")


def test_tally_by_first_submission():
    firsts = {1: DEADLINE, 2: DEADLINE + dt.timedelta(seconds=1), 9: DEADLINE}  # 9: not asked
    result = tally([3, 2, 1, 1], firsts, DEADLINE)
    assert (result.on_time, result.late, result.missing) == ([1], [2], [3])
    assert result.counts() == {"submitted": 2, "on_time": 1, "late": 1, "missing": 1}


def test_a_request_gets_its_summary_at_the_deadline_and_its_card_says_how_to_answer():
    fields = {"deadline": DEADLINE.isoformat()}
    assert reminders_of("report_request", fields, NOW) == [("deadline_summary", DEADLINE)]
    card = card_parts(directive("report_request", fields), "X")[0]
    assert "gõ !nop K7QMA trong tin nhắn riêng với bot" in card["body"]
    assert "!nop K7QMA" in card["formatted_body"]


def test_the_reminder_says_what_is_missing_how_to_submit_and_links_the_request():
    request = directive("report_request", {"deadline": DEADLINE.isoformat()}, body="Sĩ số")
    [part] = reports.report_reminder(request, None, "Bùi Thị Lan", "https://matrix.to/#/!r/$e")
    assert part["body"].startswith(
        "Nhắc việc: Anh/Chị chưa nộp báo cáo theo yêu cầu mã K7QMA của Bùi Thị Lan "
        "(hạn 17:00 10/12/2026):\n«Sĩ số»\nCách nộp: "
    )
    assert part["body"].endswith("Xem yêu cầu: https://matrix.to/#/!r/$e")
    assert part[MARKER] == {"code": "K7QMA", "reminder": True, "report": True}


# ------------------------------------------------------------------------ with the database


def person(engine, code: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(Person.id).where(Person.code == code))


async def request(bot, *, deadline: str = "17:00 10/12/2026") -> Directive:
    """A report request to the THCS principals, its copies 'sent' (fake event ids)."""
    reply = await say(bot, SENDER, f"!yeucau THCS HT: Báo cáo sĩ số học sinh | {deadline}")
    code = reply.extra["vn.dieuhanh.sent"]["code"]
    await deliver_all(bot.engine)
    return await Directive.by_code(bot.engine, code)


async def deliver_all(engine) -> None:
    pending = await Delivery.pending(engine)
    await Delivery.mark_sent_many(
        engine,
        [(d.id, d.room_id or f"!inbox{d.person_id}:test", f"$d{d.id}") for d in pending],
    )


async def copy_of(engine, post: Directive, code: str) -> tuple[str, str]:
    """(room id, event id) of the copy a person received."""
    mine = await Recipient.get(engine, post.id, person(engine, code))
    return mine.room_id, mine.event_id


async def reply(bot, who: str, room_id: str, target: str, content: dict[str, Any], n: int = 0):
    """``who`` replies to ``target`` in ``room_id``: the handlers' answer."""
    content = {**content, "m.relates_to": {"m.in_reply_to": {"event_id": target}}}
    relation = Relation(
        bot.engine, bot.directory, room_id, f"$r{who}{n}{target}", target, uid(who), content,
        bot.clock.now(),
    )  # fmt: skip
    return await dispatch(REPLY_HANDLERS, relation)


def stored(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(SUBMISSIONS))]


async def test_replies_with_a_file_and_text_are_collected_late_after_the_deadline(
    bot, engine, clock_file
):
    post = await request(bot)
    room, card = await copy_of(engine, post, "P001")
    answer = await reply(bot, "P001", room, card, PDF)
    assert answer.text == f"Đã nhận báo cáo theo yêu cầu mã {post.code}: tệp 125-SGDDT.pdf."
    assert answer.extra["vn.dieuhanh.submission"] == {"code": post.code, "late": False, "files": 1}
    set_time(clock_file, DEADLINE + dt.timedelta(hours=2, minutes=5))
    room4, card4 = await copy_of(engine, post, "P004")
    text = {"msgtype": "m.text", "body": "> <@gd:test> Yêu cầu\n\nTrường có 1.204 học sinh."}
    late = await reply(bot, "P004", room4, card4, text)
    assert late.text == (
        f"Đã nhận báo cáo theo yêu cầu mã {post.code} (nộp muộn 2 giờ 5 phút so với hạn "
        "17:00 10/12/2026): nội dung «Trường có 1.204 học sinh.»."
    )
    [first, second] = await Submission.of_directive(engine, post.id)
    assert first.files == [file_record(PDF)] and first.body == "" and first.room_id == room
    assert second.body == "Trường có 1.204 học sinh." and second.submitted_at > DEADLINE
    firsts = await Submission.firsts(engine, post.id)
    assert firsts[person(engine, "P001")] == NOW and firsts[person(engine, "P004")] > DEADLINE
    report = await say(bot, SENDER, f"!baocao {post.code}")
    data = report.extra["vn.dieuhanh.report"]
    assert (data["submitted"], data["on_time"], data["late"], data["missing"]) == (2, 1, 1, 0)
    assert "Báo cáo: 2/2 đã nộp (1 đúng hạn, 1 muộn), 0 chưa nộp." in report.text
    assert "Đã nộp đúng hạn (1):\n  THCS Đỗ Văn Dậy: " in report.text
    assert "Đã nộp muộn (1):\n  THCS Tư thục Ánh Dương: Phạm Thị Dung" in report.text
    assert "<strong>Đã nộp muộn (1)</strong>" in report.html


async def test_a_bad_reply_is_refused_and_nothing_is_stored(bot, engine):
    post = await request(bot)
    room, card = await copy_of(engine, post, "P001")
    refused = await reply(bot, "P001", room, card, ZIP)
    assert refused.text.startswith("Bot không nhận tệp 'baocao.zip': chỉ nhận tệp PDF")
    stranger = await reply(bot, "P003", room, card, PDF)  # a teacher, not asked
    assert stranger.text == (
        f"Anh/Chị không có trong danh sách nhận yêu cầu báo cáo mã {post.code}, nên bot không "
        "nhận báo cáo này."
    )
    empty = await reply(bot, "P001", room, card, {"msgtype": "m.text", "body": "> trích\n\n"})
    assert empty.text.startswith("Báo cáo trống")
    assert stored(engine) == []
    closed = await say(bot, SENDER, f"!huy {post.code}")
    assert closed.text.startswith(f"Đã đóng yêu cầu báo cáo mã {post.code}")
    after = await reply(bot, "P001", room, card, PDF)
    assert after.text == (
        f"Yêu cầu báo cáo mã {post.code} đã đóng lúc 10:00 05/12/2026; bot không nhận thêm "
        "báo cáo cho yêu cầu này."
    )
    assert stored(engine) == []


async def test_replies_to_other_posts_are_left_to_others(bot, engine):
    notice = await say(bot, SENDER, "!thongbao THCS HT: Lịch nghỉ Tết")
    await deliver_all(engine)
    post = await Directive.by_code(engine, notice.extra["vn.dieuhanh.sent"]["code"])
    room, card = await copy_of(engine, post, "P001")
    assert await reply(bot, "P001", room, card, PDF) is None
    assert await reply(bot, "P001", room, "$not-a-post", PDF) is None
    assert stored(engine) == []


async def test_a_replayed_reply_is_kept_once(bot, engine):
    post = await request(bot)
    room, card = await copy_of(engine, post, "P001")
    for _ in range(2):
        answer = await reply(bot, "P001", room, card, PDF)
        assert answer.extra["vn.dieuhanh.submission"]["files"] == 1
    assert len(stored(engine)) == 1


async def test_nop_with_text_and_the_files_sent_before(bot, engine):
    post = await request(bot)
    hint = await say(bot, "P004", "", **PDF)  # a file in the DM: kept, and how to submit it
    assert hint.text == (
        "Bot chưa tính tệp «125-SGDDT.pdf» cho yêu cầu báo cáo nào. Nếu đây là báo cáo, gõ "
        f"!nop <mã> trong vòng 10 phút (ví dụ !nop {post.code}); yêu cầu Anh/Chị đang nhận: "
        f"{post.code}."
    )
    assert await say(bot, "P003", "", **PDF) is None  # asked for nothing: kept, no answer
    assert stored(engine) == []
    answer = await say(bot, "P004", f"!nộp {post.code.lower()} Số liệu trong tệp.")
    assert answer.text.startswith(
        f"Đã nhận báo cáo theo yêu cầu mã {post.code}: tệp 125-SGDDT.pdf; nội dung «Số liệu"
    )
    assert "trong 10 phút tới cũng được tính" in answer.text
    [kept] = stored(engine)
    assert kept["body"] == "Số liệu trong tệp." and kept["room_id"] == DM
    assert await Submission.firsts(engine, post.id) == {person(engine, "P004"): NOW}


async def test_nop_opens_a_window_for_the_files_that_follow(bot, engine, clock_file):
    post = await request(bot)
    waiting = await say(bot, "P001", f"!nopbaocao {post.code}")
    assert waiting.text.startswith(f"Anh/Chị hãy gửi tệp báo cáo theo yêu cầu mã {post.code}")
    assert stored(engine) == []
    taken = await say(bot, "P001", "", **XLSX)
    assert taken.text == f"Đã nhận báo cáo theo yêu cầu mã {post.code}: tệp si-so.xlsx."
    assert (await say(bot, "P001", "", **ZIP)).text.startswith("Bot không nhận tệp 'baocao.zip'")
    elsewhere = await say(bot, "P001", "", room="!other-dm:test", **PDF)  # another room
    assert elsewhere.text.startswith("Bot chưa tính tệp «125-SGDDT.pdf»")
    set_time(clock_file, NOW + dt.timedelta(minutes=9))
    assert (await say(bot, "P001", "", **PDF)).text.endswith("tệp 125-SGDDT.pdf.")
    set_time(clock_file, NOW + dt.timedelta(minutes=18))  # 9 after the last file: still open
    assert (await say(bot, "P001", "", **PDF)).extra["vn.dieuhanh.submission"]["files"] == 1
    set_time(clock_file, NOW + dt.timedelta(minutes=29))  # 11 after the last: closed
    assert (await say(bot, "P001", "", **PDF)).text.startswith("Bot chưa tính tệp")
    assert len(stored(engine)) == 3


async def test_nop_xong_ends_the_window(bot, engine):
    post = await request(bot)
    assert (await say(bot, "P001", "!nop xong")).text == "Không có lượt nộp báo cáo nào đang mở."
    await say(bot, "P001", f"!nop {post.code}")
    done = await say(bot, "P001", "!nop xong")
    assert done.text.startswith(f"Đã kết thúc lượt nộp báo cáo theo yêu cầu mã {post.code}")
    assert (await say(bot, "P001", "", **PDF)).text.startswith("Bot chưa tính tệp")
    assert stored(engine) == []


async def test_nop_refuses_bad_input(bot, engine):
    post = await request(bot)
    notice = await say(bot, SENDER, "!thongbao THCS HT: Lịch nghỉ Tết")
    other = notice.extra["vn.dieuhanh.sent"]["code"]
    usage = await say(bot, "P001", "!nop")
    assert usage.text.startswith(
        f"Hãy ghi mã của yêu cầu báo cáo cần nộp (yêu cầu Anh/Chị đang nhận: {post.code}).\n"
        "Cách dùng: !nop <mã> [nội dung]"
    )
    unknown = await say(bot, "P001", "!nop ZZZZZ Báo cáo")
    assert unknown.text == "Không tìm thấy yêu cầu báo cáo mã 'ZZZZZ'; hãy kiểm tra lại mã."
    wrong = await say(bot, "P001", f"!nop {other} Báo cáo")
    assert wrong.text.startswith(f"Mã {other} không phải một yêu cầu báo cáo")
    stranger = await say(bot, "P003", f"!nop {post.code} Báo cáo")
    assert stranger.text.startswith("Anh/Chị không có trong danh sách nhận yêu cầu báo cáo")
    shared = await say(bot, "P001", f"!nop {post.code} Báo cáo", room="!group:test", direct=False)
    assert shared.text.startswith("Hãy gõ !nop trong tin nhắn riêng với bot")
    await say(bot, SENDER, f"!huy {post.code}")
    closed = await say(bot, "P001", f"!nop {post.code} Báo cáo")
    assert closed.text.startswith(f"Yêu cầu báo cáo mã {post.code} đã đóng lúc")
    usage = await say(bot, "P001", "!nop")  # a closed request is no longer offered
    assert usage.text.startswith("Hãy ghi mã của yêu cầu báo cáo cần nộp.\n")
    assert stored(engine) == []


async def test_nhacnho_reminds_only_those_who_have_not_submitted(bot, engine):
    post = await request(bot)
    room, card = await copy_of(engine, post, "P001")
    await reply(bot, "P001", room, card, PDF)
    reminded = await say(bot, SENDER, f"!nhacnho {post.code}")
    assert reminded.text == (
        f"Đang nhắc 1 người chưa nộp theo yêu cầu báo cáo mã {post.code} qua hộp thư riêng "
        "của từng người."
    )
    with engine.connect() as conn:
        planned = conn.execute(
            select(DELIVERIES.c.person_id).where(DELIVERIES.c.kind == "report_reminder")
        ).scalars()
        assert list(planned) == [person(engine, "P004")]
    await deliver_all(engine)  # a reply to the reminder in the inbox is a submission too
    [sent] = [d for d in await _deliveries(engine, post.id) if d.kind == "report_reminder"]
    answer = await reply(bot, "P004", sent.room_id, sent.event_id, PDF)
    assert answer.text.startswith(f"Đã nhận báo cáo theo yêu cầu mã {post.code}")
    done = await say(bot, SENDER, f"!nhacnho {post.code}")
    assert done.text == (
        f"Không còn ai chưa nộp theo yêu cầu báo cáo mã {post.code}; không cần nhắc."
    )
    await say(bot, SENDER, f"!huy {post.code}")
    closed = await say(bot, SENDER, f"!nhacnho {post.code}")
    assert closed.text.startswith(f"Yêu cầu báo cáo mã {post.code} đã đóng lúc")


async def _deliveries(engine, directive_id: int) -> list[Delivery]:
    with engine.connect() as conn:
        rows = conn.execute(select(DELIVERIES).where(DELIVERIES.c.directive_id == directive_id))
        return [Delivery._from_row(r) for r in rows]


class Transport:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict, str]] = []

    async def send(self, room_id: str, content: dict, txn_id: str) -> str:
        self.sent.append((room_id, content, txn_id))
        return f"$s{len(self.sent)}"

    async def inbox(self, person_id: int) -> str:
        return f"!inbox{person_id}:test"


async def test_the_sender_gets_one_summary_after_the_deadline(bot, engine, clock_file):
    post = await request(bot)
    room, card = await copy_of(engine, post, "P004")
    await reply(bot, "P004", room, card, PDF)
    transport = Transport()
    ticks = Scheduler(engine, bot.directory, bot.clock, transport=transport)
    set_time(clock_file, DEADLINE - dt.timedelta(minutes=1))
    await ticks.tick()
    assert transport.sent == []
    set_time(clock_file, DEADLINE + dt.timedelta(minutes=1))
    await ticks.tick()
    await ticks.tick()
    [(room_id, content, txn)] = transport.sent
    assert room_id == DM and txn == f"dh.{post.code}.deadline_summary.0"
    assert content["body"].startswith(
        f"Đã đến hạn nộp báo cáo theo yêu cầu mã {post.code} (17:00 10/12/2026). Báo cáo: 1/2 "
        "đã nộp (1 đúng hạn, 0 muộn), 1 chưa nộp."
    )
    assert "Chưa nộp (1):\n  THCS Đỗ Văn Dậy: " in content["body"]
    assert content["vn.dieuhanh.summary"]["missing"] == 1
    assert (await Directive.by_code(engine, post.code)).summary_sent_at is not None
    [done] = await Reminder.of_directive(engine, post.id)
    assert done.kind == "deadline_summary" and done.sent_at is not None
    await Scheduler(engine, bot.directory, bot.clock, transport=transport).tick()  # "restart"
    assert len(transport.sent) == 1
    assert count(engine, DELIVERIES, kind="report_reminder") == 0
