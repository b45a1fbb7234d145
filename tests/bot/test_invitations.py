"""Invitations (thư mời) without Matrix: !thamdu as typed, reactions, the tally in
!baocao, the reminders' times and who gets them, the .ics, and every refusal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import icalendar
import pytest
from sqlalchemy import select

from bot.clock import FileClock
from bot.commands import CommandError, UsageError
from bot.db.answer import Answer
from bot.db.delivery import Delivery, DeliveryTable
from bot.db.directive import Directive
from bot.db.reminder import Reminder
from bot.directives.cards import card_parts
from bot.directives.invitation import (
    Invitee,
    answer_of_reaction,
    by_unit,
    ics,
    parse_thamdu,
    reminder_parts,
    tally,
)
from bot.directives.kinds import reminders_of
from bot.directives.message import MARKER
from bot.directives.relations import REACTION_HANDLERS, Relation, dispatch
from bot.directives.rsvp import attach_ics
from bot.directives.worker import DeliveryWorker
from provisioning.db.models import Person

from .test_gui import say, service, uid  # noqa: F401 - the fixture
from .test_kinds import (
    INVITATION,
    NOW,
    SENDER,
    VN,
    count,
    directive,
    scheduler,
    set_time,
    stored_post,
)

DELIVERIES = DeliveryTable.__table__
RSVP = "vn.dieuhanh.rsvp"
THUMOI = "!thumoi THCS HT: Họp giao ban | 08:00 07/12/2026 | Phòng họp 2"  # P001 and P004


@pytest.fixture
def clock_file(tmp_path):
    path = tmp_path / "clock"
    set_time(path, NOW)
    return path


@pytest.fixture
def bot(service, clock_file):  # noqa: F811
    service.clock = FileClock(clock_file)
    return service


# ------------------------------------------------------------------------ pure: as typed


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("K7QMA có", ("K7QMA", "yes", None)),
        ("k7qma co", ("k7qma", "yes", None)),
        ("K7QMA CÓ Lê Văn Tư", ("K7QMA", "yes", "Lê Văn Tư")),
        ("K7QMA tham dự", ("K7QMA", "yes", None)),
        ("K7QMA không", ("K7QMA", "no", None)),
        ("K7QMA khong", ("K7QMA", "no", None)),
        ("K7QMA vắng", ("K7QMA", "no", None)),
        ("K7QMA không, cử Lê Văn Tư", ("K7QMA", "no", "Lê Văn Tư")),
        ("K7QMA có | người dự thay: Phó HT Lê Văn Tư", ("K7QMA", "yes", "Phó HT Lê Văn Tư")),
        ("K7QMA không tham dự", ("K7QMA", "no", None)),
        ("K7QMA ko", ("K7QMA", "no", None)),
        ("K7QMA có Cù Văn Hùng", ("K7QMA", "yes", "Cù Văn Hùng")),  # "Cù" is a family name
        ("K7QMA co cu nguoi du thay Cu Van Hung", ("K7QMA", "yes", "Cu Van Hung")),
    ],
)
def test_thamdu_as_typed(typed, expected):
    parsed = parse_thamdu(typed)
    assert (parsed.code, parsed.answer, parsed.deputy) == expected


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        (
            "K7QMA",
            "Hãy ghi 'có' (tham dự) hoặc 'không' (vắng) sau mã thư mời, ví dụ !thamdu K7QMA có.",
        ),
        (
            "K7QMA chắc chắn",
            "Không hiểu câu trả lời 'chắc chắn'; hãy ghi 'có' (tham dự) hoặc 'không' (vắng), "
            "ví dụ !thamdu K7QMA có.",
        ),
        ("K7QMA có " + "A" * 201, "Tên người dự thay dài quá 200 ký tự; hãy viết ngắn lại."),
    ],
)
def test_thamdu_mistakes_are_one_sentence(typed, sentence):
    with pytest.raises(CommandError) as caught:
        parse_thamdu(typed)
    assert str(caught.value) == sentence


def test_thamdu_without_arguments_shows_the_usage():
    with pytest.raises(UsageError):
        parse_thamdu("  ")


@pytest.mark.parametrize(
    ("key", "answer"),
    [
        ("✅", "yes"),
        ("✔️", "yes"),
        ("❌", "no"),
        ("✖️", "no"),
        ("👍", None),
        ("👀", None),
        ("", None),
    ],
)
def test_reactions_that_answer(key, answer):
    assert answer_of_reaction(key) == answer


# ------------------------------------------------------------------------ pure: reminders


def at(hour: int, minute: int, day: int) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=VN)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        # sent two days before: the day before at 16:00 and one hour before
        (at(10, 0, 5), [("day_before", at(16, 0, 6)), ("hour_before", at(7, 0, 7))]),
        (at(15, 59, 6), [("day_before", at(16, 0, 6)), ("hour_before", at(7, 0, 7))]),
        # sent the evening before, or two hours before: only the hour-before one
        (at(16, 0, 6), [("hour_before", at(7, 0, 7))]),
        (at(6, 0, 7), [("hour_before", at(7, 0, 7))]),
        # sent within the hour: none
        (at(7, 30, 7), []),
    ],
)
def test_reminders_the_day_before_at_16_and_an_hour_before_past_ones_skipped(sent, expected):
    planned = reminders_of("invitation", INVITATION, sent.astimezone(dt.UTC))
    assert planned == expected
    assert all(due.tzinfo is not None for _, due in planned)


def test_a_meeting_just_after_midnight_is_reminded_at_16_on_the_day_before():
    fields = {**INVITATION, "starts_at": "2026-12-07T00:30:00+07:00"}
    planned = dict(reminders_of("invitation", fields, at(9, 0, 5)))
    assert planned == {"day_before": at(16, 0, 6), "hour_before": at(23, 30, 6)}
    assert planned["day_before"].astimezone(dt.UTC).hour == 9  # 16:00 in Hồ Chí Minh City


# ------------------------------------------------------------------------ pure: tally, .ics


def test_the_tally_groups_answers_by_unit_with_deputies():
    invitees = [
        Invitee("THCS Đỗ Văn Dậy", "Trần Thị Bình", "yes"),
        Invitee("THCS Ánh Dương", "Phạm Thị Dung", "yes", "Lê Văn Tư"),
        Invitee("THCS Đỗ Văn Dậy", "Nguyễn Văn An", "yes"),
        Invitee("MN Hoa Sen", "Võ Thị Hoa", "no"),
        Invitee("THCS Ánh Dương", "Hoàng Văn Em", None),
    ]
    groups = tally(invitees)
    assert [len(groups[k]) for k in ("yes", "no", None)] == [3, 1, 1]
    assert by_unit(groups["yes"]) == [
        "THCS Ánh Dương: Phạm Thị Dung (người dự thay: Lê Văn Tư)",
        "THCS Đỗ Văn Dậy: Nguyễn Văn An, Trần Thị Bình",  # by given name: An before Bình
    ]
    assert by_unit(groups["no"]) == ["MN Hoa Sen: Võ Thị Hoa"]
    assert by_unit(groups[None]) == ["THCS Ánh Dương: Hoàng Văn Em"]


def test_the_ics_parses_back_with_its_fields():
    invitation = directive("invitation", INVITATION, body="Kính mời dự họp giao ban.")
    invitation.sender_user_id = "@p008:so.example.vn"
    data = ics(invitation, "Sở Giáo dục và Đào tạo", "Bùi Thị Lan (Giám đốc, Sở GD&ĐT)")
    assert b"DTSTART;TZID=Asia/Ho_Chi_Minh:20261207T080000" in data
    calendar = icalendar.Calendar.from_ical(data)
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == "K7QMA@so.example.vn"
    start = event.decoded("DTSTART")
    assert start == dt.datetime(2026, 12, 7, 8, 0, tzinfo=VN)
    assert str(start.tzinfo) == "Asia/Ho_Chi_Minh"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Ho_Chi_Minh"]
    assert str(event["SUMMARY"]) == "Họp giao ban"
    assert str(event["LOCATION"]) == "Phòng họp 2"
    description = str(event["DESCRIPTION"])
    assert description.startswith("Kính mời dự họp giao ban.")
    assert "Thư mời mã K7QMA của Bùi Thị Lan (Giám đốc, Sở GD&ĐT)" in description
    assert event["ORGANIZER"].params["CN"] == "Sở Giáo dục và Đào tạo"
    assert str(event["ORGANIZER"]) == "matrix:u/p008:so.example.vn"
    assert event.decoded("DTSTAMP") == NOW


def test_the_card_says_how_to_answer_and_a_reminder_can_be_answered_too():
    invitation = directive("invitation", INVITATION)
    card = card_parts(invitation, "Bùi Thị Lan (Giám đốc, Sở GD&ĐT)")[0]
    assert "thả ✅ (tham dự) hoặc ❌ (vắng) vào tin này, hoặc gõ !thamdu K7QMA có" in card["body"]
    assert "!thamdu K7QMA không" in card["formatted_body"]
    reminder = reminder_parts(invitation, "hour_before", "https://matrix.to/#/!r/$e")
    assert reminder["body"].startswith(
        "Nhắc lịch họp sau 1 giờ nữa: Họp giao ban — 08:00, thứ Hai 07/12/2026, tại Phòng họp 2"
        " (thư mời mã K7QMA)."
    )
    assert "Xem thư mời: https://matrix.to/#/!r/$e" in reminder["body"]
    assert reminder[MARKER] == {"code": "K7QMA", "reminder": True, "meeting": "hour_before"}
    day = reminder_parts(invitation, "day_before", None)
    assert day["body"].startswith("Nhắc lịch họp ngày mai: Họp giao ban")
    nudge = reminder_parts(invitation, "nudge", None)
    assert nudge["body"].startswith("Anh/Chị chưa trả lời thư mời: Họp giao ban")


# ------------------------------------------------------------------------ with the database


def person_ids(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {code: pid for pid, code in conn.execute(select(Person.id, Person.code))}


async def invite(bot, text: str = THUMOI) -> Directive:
    reply = await say(bot, SENDER, text)
    return await stored_post(bot.engine, reply.extra["vn.dieuhanh.sent"]["code"])


async def test_thamdu_records_the_last_answer_and_baocao_tallies_it(bot, engine):
    post = await invite(bot)
    yes = await say(bot, "P001", f"!thamdu {post.code.lower()} có")
    assert yes.text == (
        f"Đã ghi nhận Anh/Chị tham dự Họp giao ban lúc 08:00 07/12/2026 tại Phòng họp 2 "
        f"(thư mời mã {post.code})."
    )
    report = await say(bot, SENDER, f"!baocao {post.code}")
    assert report.extra["vn.dieuhanh.report"]["rsvp"] == {
        "yes": 1,
        "no": 0,
        "unanswered": 1,
        "deputies": 0,
    }
    assert "Cuộc họp: Họp giao ban — 08:00, thứ Hai 07/12/2026, tại Phòng họp 2." in report.text
    assert "Tham dự:\n  THCS Đỗ Văn Dậy: Nguyễn Văn An" in report.text
    assert "Chưa trả lời:\n  THCS Tư thục Ánh Dương: Phạm Thị Dung" in report.text
    no = await say(bot, "P001", f"!tham dự {post.code} không, cử Lê Văn Tư")
    assert no.text.startswith("Đã ghi nhận Anh/Chị vắng, cử Lê Văn Tư dự thay, tại Họp giao ban")
    deputy = await say(bot, "P004", f"!thamdu {post.code} có Đỗ Thị Mai")
    assert deputy.text.startswith("Đã ghi nhận: Đỗ Thị Mai dự thay Anh/Chị tại Họp giao ban")
    assert deputy.extra[RSVP] == {
        "code": post.code,
        "answer": "yes",
        "deputy": "Đỗ Thị Mai",
        "how": "command",
    }
    answers = {a.person_id: a for a in await Answer.of_directive(engine, post.id)}
    ids = person_ids(engine)
    assert answers[ids["P001"]].answer == "no" and answers[ids["P001"]].deputy == "Lê Văn Tư"
    assert len(answers) == 2  # the last answer replaced the first
    report = await say(bot, SENDER, f"!baocao {post.code}")
    assert report.extra["vn.dieuhanh.report"]["rsvp"] == {
        "yes": 1,
        "no": 1,
        "unanswered": 0,
        "deputies": 2,
    }
    assert "Tham dự:\n  THCS Tư thục Ánh Dương: Phạm Thị Dung (người dự thay: Đỗ Thị Mai)" in (
        report.text
    )
    assert "Vắng:\n  THCS Đỗ Văn Dậy: Nguyễn Văn An (người dự thay: Lê Văn Tư)" in report.text
    assert "Chưa trả lời" not in report.text
    assert "<li>THCS Đỗ Văn Dậy: Nguyễn Văn An (người dự thay: Lê Văn Tư)</li>" in report.html


async def test_each_bad_thamdu_gets_one_sentence_and_records_nothing(bot, engine, clock_file):
    post = await invite(bot)
    notice = await say(bot, SENDER, "!thongbao THCS HT: Lịch nghỉ Tết")
    notice_code = notice.extra["vn.dieuhanh.sent"]["code"]
    later = await invite(bot, "!thumoi THCS HT: Họp | 08:00 09/12/2026 | Phòng 1 | lúc 07:00 08/12")
    assert (await say(bot, SENDER, f"!huy {later.code}")).text.startswith("Đã huỷ thư mời")
    cases = [
        ("P001", "!thamdu ZZZZZ có", "Không tìm thấy thư mời mã 'ZZZZZ'; hãy kiểm tra lại mã"),
        (
            "P001",
            f"!thamdu {notice_code} có",
            f"Tin mã {notice_code} là thông báo, không phải thư mời; chỉ thư mời mới cần trả lời",
        ),
        (
            "P002",  # a teacher, not invited
            f"!thamdu {post.code} có",
            f"Anh/Chị không có trong danh sách được mời của thư mời mã {post.code}.",
        ),
        (
            "P001",
            f"!thamdu {later.code} có",
            f"Thư mời mã {later.code} đã được huỷ; Anh/Chị không cần trả lời.",
        ),
        ("P001", f"!thamdu {post.code}", "Hãy ghi 'có' (tham dự) hoặc 'không' (vắng)"),
        ("P001", f"!thamdu {post.code} hmm", "Không hiểu câu trả lời 'hmm'"),
    ]
    for who, text, sentence in cases:
        reply = await say(bot, who, text)
        assert reply.text.startswith(sentence), (text, reply.text)
        assert reply.text.count(".") <= 2 and "\n" not in reply.text
    usage = await say(bot, "P001", "!thamdu")
    assert usage.text.startswith("Hãy ghi mã thư mời") and "Cách dùng: !thamdu <mã>" in usage.text
    set_time(clock_file, dt.datetime(2026, 12, 7, 8, 0, tzinfo=VN))  # the meeting begins
    past = await say(bot, "P001", f"!thamdu {post.code} có")
    assert past.text == (
        f"Cuộc họp của thư mời mã {post.code} đã bắt đầu lúc 08:00 07/12/2026; "
        "không thể trả lời tham dự nữa."
    )
    assert await Answer.of_directive(engine, post.id) == []


async def test_thamdu_is_in_the_help(bot):
    listed = await say(bot, "P002", "!trogiup")
    assert "thamdu" in listed.extra["vn.dieuhanh.commands"]
    assert "!thamdu <mã> có|không [người dự thay]" in listed.text
    detail = await say(bot, "P002", "!trogiup tham du")
    assert "thả ✅ (tham dự) hoặc ❌ (vắng)" in detail.text


async def react(bot, who: str, room: str, event: str, key: str):
    relation = Relation(
        bot.engine,
        bot.directory,
        room,
        f"$r{dt.datetime.now().timestamp()}",
        event,
        uid(who),
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": event, "key": key}},
        bot.clock.now(),
    )
    return await dispatch(REACTION_HANDLERS, relation)


async def sent_copies(engine, post: Directive) -> dict[int, tuple[str, str]]:
    """Mark every delivery of ``post`` sent: person id (None for a room) -> (room, event)."""
    found = {}
    for d in await Delivery.pending(engine):
        if d.directive_id == post.id:
            room, event = d.room_id or f"!inbox{d.person_id}:test", f"${post.code}.{d.id}"
            await Delivery.mark_sent_many(engine, [(d.id, room, event)])
            found[d.person_id] = (room, event)
    return found


async def test_a_reaction_to_a_copy_answers_and_the_last_one_counts(bot, engine):
    post = await invite(bot)
    notice = await say(bot, SENDER, "!thongbao THCS HT: Lịch nghỉ Tết")
    copies = await sent_copies(engine, post)
    room, event = next(iter(copies.values()))
    ids = person_ids(engine)
    yes = await react(bot, "P001", room, event, "✅")
    assert yes.text.startswith("Đã ghi nhận Anh/Chị tham dự Họp giao ban")
    assert yes.extra[RSVP]["how"] == "reaction"
    assert await react(bot, "P001", room, event, "👀") is None  # not an answer: not taken
    no = await react(bot, "P001", room, event, "❌️")
    assert no.text.startswith("Đã ghi nhận Anh/Chị vắng mặt tại Họp giao ban")
    [answer] = await Answer.of_directive(engine, post.id)
    assert (answer.person_id, answer.answer, answer.how) == (ids["P001"], "no", "reaction")
    outsider = await react(bot, "P002", room, event, "✅")
    assert outsider.text == f"Anh/Chị không có trong danh sách được mời của thư mời mã {post.code}."
    notice_post = await stored_post(engine, notice.extra["vn.dieuhanh.sent"]["code"])
    other_room, other_event = next(iter((await sent_copies(engine, notice_post)).values()))
    assert await react(bot, "P001", other_room, other_event, "✅") is None  # not an invitation
    assert await react(bot, "P001", room, "$unknown", "✅") is None


async def test_reminders_go_to_those_who_accepted_or_have_not_answered(bot, engine, clock_file):
    post = await invite(bot, "!thumoi THCS: Tập huấn | 08:00 07/12/2026 | Hội trường")
    ids = person_ids(engine)
    invited = {r.person_id for r in await _recipients(engine, post)}
    assert {ids["P001"], ids["P002"], ids["P004"]} <= invited
    await say(bot, "P002", f"!thamdu {post.code} không")
    await say(bot, "P001", f"!thamdu {post.code} có")
    assert [r.kind for r in await Reminder.of_directive(engine, post.id)] == [
        "day_before",
        "hour_before",
    ]
    ticks = scheduler(bot)
    set_time(clock_file, dt.datetime(2026, 12, 6, 15, 59, tzinfo=VN))
    await ticks.tick()
    assert reminded(engine, post, "meeting_tomorrow") == set()
    set_time(clock_file, dt.datetime(2026, 12, 6, 16, 0, tzinfo=VN))
    await ticks.tick()
    await ticks.tick()  # once only
    assert reminded(engine, post, "meeting_tomorrow") == invited - {ids["P002"]}
    assert count(engine, DELIVERIES, directive_id=post.id, kind="meeting_tomorrow") == len(
        invited - {ids["P002"]}
    )
    await say(bot, "P004", f"!thamdu {post.code} vắng")  # after the first reminder
    set_time(clock_file, dt.datetime(2026, 12, 7, 7, 0, tzinfo=VN))
    await ticks.tick()
    assert reminded(engine, post, "meeting_soon") == invited - {ids["P002"], ids["P004"]}


async def test_late_reminders_are_dropped_not_sent(bot, engine, clock_file):
    post = await invite(bot)
    set_time(clock_file, dt.datetime(2026, 12, 7, 7, 10, tzinfo=VN))  # the bot was down
    await scheduler(bot).tick()
    assert reminded(engine, post, "meeting_tomorrow") == set()  # the hour-before one is due
    assert len(reminded(engine, post, "meeting_soon")) == 2
    assert all(r.sent_at is not None for r in await Reminder.of_directive(engine, post.id))
    after = await invite(bot, "!thumoi THCS HT: Họp | 09:00 07/12/2026 | Phòng 1")
    set_time(clock_file, dt.datetime(2026, 12, 7, 9, 0, tzinfo=VN))  # the meeting has begun
    await scheduler(bot).tick()
    assert reminded(engine, after, "meeting_soon") == set()
    assert all(r.sent_at is not None for r in await Reminder.of_directive(engine, after.id))


async def _recipients(engine, post: Directive):
    from bot.db.recipient import Recipient

    return await Recipient.of_directive(engine, post.id)


def reminded(engine, post: Directive, kind: str) -> set[int]:
    with engine.connect() as conn:
        return set(
            conn.scalars(
                select(DELIVERIES.c.person_id).where(
                    DELIVERIES.c.directive_id == post.id, DELIVERIES.c.kind == kind
                )
            )
        )


# ------------------------------------------------------------------------ the .ics goes with it


class Transport:
    """The worker's Matrix side, recorded."""

    def __init__(self) -> None:
        self.uploads: list[tuple[bytes, str, str]] = []
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def send(self, room_id: str, content: dict[str, Any], txn_id: str) -> str:
        self.sent.append((room_id, content))
        return f"$e{len(self.sent)}"

    async def inbox(self, person_id: int) -> str:
        return f"!inbox{person_id}:test"

    async def reupload(self, attachment: dict[str, Any]) -> dict[str, Any]:
        return attachment

    async def upload(self, data: bytes, mimetype: str, filename: str) -> str:
        self.uploads.append((data, mimetype, filename))
        return f"mxc://test/ics{len(self.uploads)}"


async def test_the_ics_is_uploaded_once_and_goes_with_every_copy(bot, engine):
    post = await invite(bot, "!thumoi THCS: Tập huấn | 08:00 07/12/2026 | Hội trường")
    transport = Transport()
    worker = DeliveryWorker(engine, bot.directory, transport)
    await worker.drain()
    [(data, mimetype, filename)] = transport.uploads
    assert (mimetype, filename) == ("text/calendar", f"thu-moi-{post.code}.ics")
    [event] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert str(event["ORGANIZER"].params["CN"]) == "Sở Giáo dục và Đào tạo"
    assert str(event["UID"]) == f"{post.code}@test"
    rooms = {room for room, _ in transport.sent}
    files = [c for _, c in transport.sent if c.get("msgtype") == "m.file"]
    cards = [c for _, c in transport.sent if c.get("msgtype") == "m.text"]
    assert len(files) == len(cards) == len(rooms) == count(engine, DELIVERIES, directive_id=post.id)
    assert {f["url"] for f in files} == {"mxc://test/ics1"}
    assert all(f["info"]["mimetype"] == "text/calendar" for f in files)
    assert all("Tệp đính kèm: 1" in c["body"] for c in cards)
    stored = await stored_post(engine, post.code)
    assert [a["url"] for a in stored.attachments] == ["mxc://test/ics1"]
    assert await attach_ics(stored, transport, await bot.directory.get()) is None  # idempotent


async def test_an_upload_that_fails_holds_back_every_copy(bot, engine):
    post = await invite(bot)

    class Down(Transport):
        async def upload(self, data: bytes, mimetype: str, filename: str) -> str:
            raise RuntimeError("Synapse away")

    down = Down()
    await DeliveryWorker(engine, bot.directory, down).drain()
    assert down.sent == [] and count(engine, DELIVERIES, directive_id=post.id) >= 1
    assert all(d.attempts == 0 for d in await Delivery.pending(engine))
    up = Transport()
    await DeliveryWorker(engine, bot.directory, up).drain()
    assert len(up.uploads) == 1 and await Delivery.pending(engine) == []


async def test_nhacnho_reminds_those_who_have_not_answered_until_the_meeting(
    bot, engine, clock_file
):
    post = await invite(bot)
    ids = person_ids(engine)
    await say(bot, "P001", f"!thamdu {post.code} không")
    reply = await say(bot, SENDER, f"!nhacnho {post.code}")
    assert reply.text == (
        f"Đang nhắc 1 người chưa trả lời thư mời mã {post.code} qua hộp thư riêng của từng người."
    )
    assert reminded(engine, post, "invitation_nudge") == {ids["P004"]}
    await say(bot, "P004", f"!thamdu {post.code} có")
    done = await say(bot, SENDER, f"!nhacnho {post.code}")
    assert done.text == f"Không còn ai chưa trả lời thư mời mã {post.code}; không cần nhắc."
    set_time(clock_file, dt.datetime(2026, 12, 7, 8, 0, tzinfo=VN))
    late = await say(bot, SENDER, f"!nhacnho {post.code}")
    assert late.text == (f"Cuộc họp của thư mời mã {post.code} đã bắt đầu; không cần nhắc trả lời.")
    assert reminded(engine, post, "invitation_nudge") == {ids["P004"]}
