"""The kinds of post without Matrix: times and options as typed, the one-line forms, the
guided flow's fields, files, cards, hẹn giờ and !huy, the scheduler, !baocao's sections."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import func, select

from bot.clock import FileClock, SystemClock, clock_from_env
from bot.commands import CommandError
from bot.commands import baocao as baocao_module
from bot.db.delivery import Delivery, DeliveryTable
from bot.db.directive import Directive, DirectiveTable
from bot.db.recipient import RecipientTable
from bot.db.reminder import Reminder
from bot.directives import files, kinds
from bot.directives import scheduler as scheduler_module
from bot.directives.cards import POST, card_parts
from bot.directives.kinds import KINDS, FieldContext, parse_line
from bot.directives.message import MARKER
from bot.directives.scheduler import Scheduler
from bot.directives.when import parse_when, split_options

from .test_gui import say, service  # noqa: F401 - the fixture

DIRECTIVES, DELIVERIES = DirectiveTable.__table__, DeliveryTable.__table__
RECIPIENTS = RecipientTable.__table__
VN = dt.timezone(dt.timedelta(hours=7))
NOW = dt.datetime(2026, 12, 5, 10, 0, tzinfo=VN)  # a Saturday morning in Hồ Chí Minh City
SENDER = "P008"  # the Sở's Giám đốc: reaches P001 and P004 with "THCS HT"
PDF = {
    "msgtype": "m.file",
    "body": "125-SGDDT.pdf",
    "url": "mxc://test/pdf",
    "info": {"mimetype": "application/pdf", "size": 10},
}
ZIP = {
    "msgtype": "m.file",
    "body": "baocao.zip",
    "url": "mxc://test/zip",
    "info": {"mimetype": "application/zip", "size": 10},
}


def set_time(path, when: dt.datetime) -> None:
    """Move the bot's clock (written whole, then renamed: never read half-written)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(when.isoformat())
    os.replace(tmp, path)


@pytest.fixture
def clock_file(tmp_path):
    path = tmp_path / "clock"
    set_time(path, NOW)
    return path


@pytest.fixture
def bot(service, clock_file):  # noqa: F811
    service.clock = FileClock(clock_file)
    return service


def count(engine, table, **where) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with engine.connect() as conn:
        return conn.scalar(query)


async def stored_post(engine, code: str) -> Directive:
    directive = await Directive.by_code(engine, code)
    assert directive is not None
    return directive


# ------------------------------------------------------------------------ clock


def test_the_file_clock_reads_the_file_on_every_call(clock_file):
    clock = FileClock(clock_file)
    assert clock.now() == NOW and clock.now().tzinfo == dt.UTC
    set_time(clock_file, NOW + dt.timedelta(hours=3))
    assert clock.now() == NOW + dt.timedelta(hours=3)
    clock_file.write_text("")  # being rewritten: the last time read
    assert clock.now() == NOW + dt.timedelta(hours=3)
    clock_file.write_text("2026-12-05T10:00:00")  # no offset: refused
    with pytest.raises(ValueError, match="offset"):
        clock.now()


def test_the_file_clock_only_when_the_environment_names_it(clock_file):
    assert isinstance(clock_from_env({}), SystemClock)
    chosen = clock_from_env({"DIEUHANH_BOT_CLOCK_FILE": str(clock_file)})
    assert isinstance(chosen, FileClock) and chosen.now() == NOW


# ------------------------------------------------------------------------ times, options


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("08:00 07/12/2026", dt.datetime(2026, 12, 7, 8, 0, tzinfo=VN)),
        ("7h30 08/12", dt.datetime(2026, 12, 8, 7, 30, tzinfo=VN)),
        ("08/12 lúc 7:30", dt.datetime(2026, 12, 8, 7, 30, tzinfo=VN)),
        ("8 giờ 30 ngày 08/12/2026", dt.datetime(2026, 12, 8, 8, 30, tzinfo=VN)),
        ("07:00 03/01", dt.datetime(2027, 1, 3, 7, 0, tzinfo=VN)),  # no year: the next one
    ],
)
def test_times_as_typed(typed, expected):
    assert parse_when(typed, NOW) == expected


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        ("08:00 31/02/2026", "Ngày 31/02/2026 không có thật; hãy kiểm tra lại ngày tháng."),
        ("25:00 08/12/2026", "Giờ 25:00 không hợp lệ"),
        ("08:00 04/12/2026", "Thời điểm 08:00 04/12/2026 đã qua; hãy chọn một thời điểm sau"),
        ("09:00 05/12", "Thời điểm 09:00 05/12/2026 đã qua"),  # earlier today: not next year
        ("sáng mai", "Không hiểu thời điểm 'sáng mai'"),
    ],
)
def test_bad_times_are_one_sentence(typed, sentence):
    with pytest.raises(CommandError) as refused:
        parse_when(typed, NOW)
    assert str(refused.value).startswith(sentence)
    assert str(refused.value).count(".") <= 2  # one sentence (dates hold no dots)


def options(text: str) -> tuple[str, bool, dt.datetime | None]:
    rest, found = split_options(text, NOW)
    return rest, found.urgent, found.at


def test_options_at_the_end_of_a_post():
    at = dt.datetime(2026, 12, 8, 7, 0, tzinfo=VN)
    assert options("Họp hiệu trưởng khẩn") == ("Họp hiệu trưởng", True, None)
    assert options("Họp | lúc 07:00 08/12") == ("Họp", False, at)
    assert options("Họp lúc 07:00 08/12 KHẨN") == ("Họp", True, at)
    assert options("Phát khăn cho học sinh") == ("Phát khăn cho học sinh", False, None)
    with pytest.raises(CommandError, match="Giờ 25:00"):
        split_options("Họp lúc 25:00 08/12", NOW)


# ------------------------------------------------------------------------ one-line parts


def ctx() -> FieldContext:
    return FieldContext(now=NOW, send_at=NOW, unit_name="Sở Giáo dục và Đào tạo")


def test_each_kind_reads_its_one_line_parts():
    body, fields = parse_line(KINDS["document"], "125/SGDĐT-VP | V/v kiểm tra học kỳ I", ctx())
    assert body == "V/v kiểm tra học kỳ I"
    assert fields == {
        "number": "125/SGDĐT-VP",
        "abstract": "V/v kiểm tra học kỳ I",
        "issued_on": "05/12/2026",
        "issuer": "Sở Giáo dục và Đào tạo",
    }
    _, fields = parse_line(KINDS["document"], "12/KH | Kế hoạch | 01/12/2026 | UBND xã", ctx())
    assert (fields["issued_on"], fields["issuer"]) == ("01/12/2026", "UBND xã")
    body, fields = parse_line(
        KINDS["invitation"], "Họp giao ban | 08:00 07/12/2026 | Phòng họp 2", ctx()
    )
    assert body == "Họp giao ban"
    assert fields == {
        "title": "Họp giao ban",
        "starts_at": "2026-12-07T08:00:00+07:00",
        "location": "Phòng họp 2",
    }
    body, fields = parse_line(
        KINDS["report_request"], "Báo cáo sĩ số | lớp 6 | 17:00 10/12/2026", ctx()
    )
    assert body == "Báo cáo sĩ số | lớp 6" and fields == {"deadline": "2026-12-10T17:00:00+07:00"}


@pytest.mark.parametrize(
    ("kind", "text", "missing"),
    [
        ("document", "125/SGDĐT-VP", "Thiếu trích yếu: dạng đúng là !vanban"),
        ("document", " | Kế hoạch", "Thiếu số hiệu"),
        ("invitation", "Họp giao ban | 08:00 07/12/2026", "Thiếu địa điểm"),
        ("report_request", "Báo cáo sĩ số", "Thiếu hạn nộp"),
    ],
)
def test_a_missing_part_is_named(kind, text, missing):
    with pytest.raises(CommandError) as refused:
        parse_line(KINDS[kind], text, ctx())
    assert str(refused.value).startswith(missing)


@pytest.mark.parametrize(
    ("content", "ok"),
    [
        (PDF, True),
        ({"msgtype": "m.file", "body": "ke-hoach.docx", "info": {}}, True),
        ({"msgtype": "m.file", "body": "so-lieu.XLSX", "info": {"mimetype": "x/y"}}, True),
        ({"msgtype": "m.image", "body": "anh", "info": {"mimetype": "image/jpeg"}}, True),
        (ZIP, False),
        ({"msgtype": "m.file", "body": "setup.exe", "info": {}}, False),
        ({"msgtype": "m.video", "body": "clip.mp4", "info": {"mimetype": "video/mp4"}}, False),
    ],
)
def test_accepted_files(content, ok):
    assert files.accepted(content) is ok


# ------------------------------------------------------------------------ cards


def directive(kind: str, fields: dict, *, urgent: bool = False, body: str = "") -> Directive:
    return Directive(
        id=1,
        code="K7QMA",
        sender_person_id=1,
        sender_user_id="@a:test",
        origin_room_id=None,
        body=body or fields.get("abstract") or fields.get("title") or "Nội dung",
        html=None,
        attachments=[PDF] if kind == "document" else [],
        selection={},
        status="sending",
        created_at=NOW.astimezone(dt.UTC),
        kind=kind,
        fields=fields,
        urgent=urgent,
    )


DOCUMENT = {
    "number": "125/SGDĐT-VP",
    "abstract": "V/v kiểm tra học kỳ I",
    "issued_on": "05/12/2026",
    "issuer": "Sở Giáo dục và Đào tạo",
}
INVITATION = {
    "title": "Họp giao ban",
    "starts_at": "2026-12-07T08:00:00+07:00",
    "location": "Phòng họp 2",
}
REQUEST = {"deadline": "2026-12-10T17:00:00+07:00"}


@pytest.mark.parametrize(
    ("kind", "fields", "first", "shown"),
    [
        ("message", {}, "Tin nhắn điều hành · mã K7QMA", []),
        ("notice", {}, "Thông báo · mã K7QMA", []),
        (
            "document",
            DOCUMENT,
            "Văn bản · mã K7QMA",
            ["125/SGDĐT-VP", "05/12/2026", "Sở Giáo dục và Đào tạo", "V/v kiểm tra học kỳ I"],
        ),
        ("invitation", INVITATION, "Thư mời · mã K7QMA", ["08:00 07/12/2026", "Phòng họp 2"]),
        (
            "report_request",
            REQUEST,
            "Yêu cầu báo cáo · mã K7QMA · hạn 17:00 10/12/2026",
            ["Hạn nộp: 17:00 10/12/2026"],
        ),
    ],
)
def test_every_kind_reads_as_a_card_with_its_fields(kind, fields, first, shown):
    parts = card_parts(directive(kind, fields), "Lê Văn Sở (Giám đốc, Sở GD&ĐT)")
    content = parts[0]
    assert content["body"].split("\n")[0] == first
    assert "Người gửi: Lê Văn Sở (Giám đốc, Sở GD&ĐT) · 10:00 05/12/2026" in content["body"]
    assert content["formatted_body"].startswith("<p><strong>")
    for value in shown:
        assert value in content["body"]
        assert (
            value in content["formatted_body"]
            or value.split(": ")[-1] in (content["formatted_body"])
        )
    assert content[POST] == {"code": "K7QMA", "kind": kind, "urgent": False, "fields": fields}
    assert content[MARKER] == {"code": "K7QMA"} and content["m.mentions"] == {}
    assert len(parts) == (2 if kind == "document" else 1)  # the PDF follows the card


def test_an_urgent_post_mentions_the_room():
    content = card_parts(directive("notice", {}, urgent=True, body="Nghỉ học do bão"), "X")[0]
    assert content["body"].startswith("@room KHẨN · Thông báo · mã K7QMA")
    assert content["formatted_body"].startswith("<p>@room <strong>KHẨN</strong>")
    assert content["m.mentions"] == {"room": True}
    assert content[POST]["urgent"] is True


# ------------------------------------------------------------------------ one-line commands


async def test_one_line_forms_store_each_kind_with_its_fields(bot, engine):
    reply = await say(bot, SENDER, "!thongbao THCS HT: Lịch nghỉ Tết Nguyên đán.")
    notice = await stored_post(engine, reply.extra["vn.dieuhanh.sent"]["code"])
    assert (notice.kind, notice.status, notice.fields) == ("notice", "sending", {})
    assert reply.text.startswith(f"Đã lưu thông báo mã {notice.code}; đang gửi đến 2 cán bộ")

    reply = await say(bot, SENDER, "!thumoi THCS HT: Họp giao ban | 08:00 07/12/2026 | Phòng 2")
    invitation = await stored_post(engine, reply.extra["vn.dieuhanh.sent"]["code"])
    assert invitation.kind == "invitation" and invitation.fields["location"] == "Phòng 2"

    reply = await say(bot, SENDER, "!yêu cầu THCS HT: Báo cáo sĩ số | 17:00 10/12/2026 khẩn")
    request = await stored_post(engine, reply.extra["vn.dieuhanh.sent"]["code"])
    assert request.kind == "report_request" and request.urgent
    assert request.fields == {"deadline": "2026-12-10T17:00:00+07:00"}
    assert "bao cao si so" in request.search_text  # folded, for !tim
    assert count(engine, RECIPIENTS, directive_id=request.id) == 2

    reply = await say(bot, SENDER, "!gui THCS HT: Tin nhắn như trước")  # !gui: a tin nhắn
    message = await stored_post(engine, reply.extra["vn.dieuhanh.sent"]["code"])
    assert message.kind == "message" and message.created_at == NOW


async def test_vanban_takes_the_pdf_sent_just_before(bot, engine):
    assert await say(bot, SENDER, "", **PDF) is None  # a file in the DM: kept, no answer
    reply = await say(bot, SENDER, "!vanban THCS HT: 125/SGDĐT-VP | V/v kiểm tra học kỳ I")
    document = await stored_post(engine, reply.extra["vn.dieuhanh.sent"]["code"])
    assert document.kind == "document" and document.fields == DOCUMENT
    assert [a["url"] for a in document.attachments] == ["mxc://test/pdf"]


async def test_vanban_asks_for_its_pdf_and_sends_when_it_comes(bot, engine, clock_file):
    assert await say(bot, SENDER, "", **PDF) is None
    set_time(clock_file, NOW + dt.timedelta(minutes=11))  # too long ago to count
    asked = await say(bot, SENDER, "!vanban THCS HT: 125/SGDĐT-VP | V/v kiểm tra học kỳ I")
    assert asked.text.startswith("Hãy gửi tệp PDF của văn bản số 125/SGDĐT-VP vào đây")
    assert count(engine, DIRECTIVES) == 0
    refused = await say(bot, SENDER, "", **ZIP)
    assert refused.text == (
        "Bot không nhận tệp 'baocao.zip': chỉ nhận tệp PDF, văn bản Office (doc, docx, xls, "
        "xlsx, ppt, pptx, odt, ods) hoặc ảnh."
    )
    waiting = await say(bot, SENDER, "đây ạ")
    assert "đang chờ tệp PDF của văn bản số 125/SGDĐT-VP" in waiting.text
    sent = await say(bot, SENDER, "", **PDF)
    assert sent.text.startswith("Đã lưu văn bản mã")
    assert count(engine, DIRECTIVES) == 1


@pytest.mark.parametrize(
    ("command", "sentence"),
    [
        ("!thongbao THCS HT: Họp lúc 07:00 04/12/2026", "Thời điểm 07:00 04/12/2026 đã qua"),
        ("!thumoi THCS HT: Họp | 08:00 31/02/2026 | Phòng 2", "Ngày 31/02/2026 không có thật"),
        ("!thumoi THCS HT: Họp | 25:00 07/12/2026 | Phòng 2", "Giờ 25:00 không hợp lệ"),
        ("!yeucau THCS HT: Báo cáo sĩ số", "Thiếu hạn nộp: dạng đúng là !yeucau"),
        ("!thumoi THCS HT: Họp giao ban", "Thiếu thời gian: dạng đúng là !thumoi"),
        ("!vanban THCS HT: 125/SGDĐT-VP", "Thiếu trích yếu: dạng đúng là !vanban"),
        ("!thongbao THCS HT: khẩn", "Thiếu nội dung: dạng đúng là !thongbao"),
        (
            "!yeucau THCS HT: Báo cáo | 17:00 07/12/2026 | lúc 08:00 08/12/2026",
            "Hạn nộp (17:00 07/12/2026) phải sau thời điểm gửi (08:00 08/12/2026).",
        ),
    ],
)
async def test_bad_one_line_input_is_refused_and_nothing_is_stored(bot, engine, command, sentence):
    reply = await say(bot, SENDER, command)
    assert reply.text.startswith(sentence), reply.text
    assert "vn.dieuhanh.sent" not in reply.extra
    assert count(engine, DIRECTIVES) == 0


async def test_a_wrong_file_type_is_refused_in_the_guided_flow(bot):
    for step in ("!gui", "thông báo", "THCS", "HT"):
        await say(bot, SENDER, step)
    refused = await say(bot, SENDER, "", **ZIP)
    assert refused.text.startswith("Bot không nhận tệp 'baocao.zip'")
    await say(bot, SENDER, "Kính gửi các thầy cô.")
    preview = await say(bot, SENDER, "xong")
    assert "Tệp đính kèm" not in preview.text  # the zip was not kept


# ------------------------------------------------------------------------ guided kinds


async def test_guided_document_asks_its_fields_and_its_pdf(bot, engine):
    assert (await say(bot, SENDER, "!gui")).text.startswith("Bước 1 — Chọn loại")
    assert "Loại: Văn bản" in (await say(bot, SENDER, "văn bản")).text
    await say(bot, SENDER, "THCS")
    question = await say(bot, SENDER, "HT")
    assert "Bước 4/5 — Số hiệu (1/4)" in question.text
    assert "Trích yếu (2/4)" in (await say(bot, SENDER, "125/SGDĐT-VP")).text
    assert "Ngày ban hành (3/4)" in (await say(bot, SENDER, "V/v kiểm tra học kỳ I")).text
    assert "không có thật" in (await say(bot, SENDER, "30/02/2026")).text
    assert "Cơ quan ban hành (4/4)" in (await say(bot, SENDER, "bỏ qua")).text
    assert "Bước 5/5" in (await say(bot, SENDER, "Bỏ qua")).text
    refused = await say(bot, SENDER, "xong")
    assert refused.text == "Văn bản cần kèm tệp PDF; hãy gửi tệp PDF trước khi gõ 'xong'."
    await say(bot, SENDER, "", **PDF)
    preview = await say(bot, SENDER, "xong")
    assert "Số hiệu: 125/SGDĐT-VP" in preview.text and "Ngày ban hành: 05/12/2026" in preview.text
    assert preview.extra["vn.dieuhanh.preview"]["kind"] == "document"
    sent = await say(bot, SENDER, "gửi khẩn")
    document = await stored_post(engine, sent.extra["vn.dieuhanh.sent"]["code"])
    assert document.urgent and document.fields == DOCUMENT
    assert document.body == "V/v kiểm tra học kỳ I"


async def test_guided_invitation_refuses_a_past_time_then_schedules(bot, engine):
    for step in ("!thumoi", "THCS", "HT", "Họp giao ban"):
        await say(bot, SENDER, step)
    assert "đã qua" in (await say(bot, SENDER, "08:00 01/12/2026")).text
    assert "Địa điểm (3/3)" in (await say(bot, SENDER, "08:00 07/12/2026")).text
    await say(bot, SENDER, "Phòng họp 2")
    await say(bot, SENDER, "xong")
    late = await say(bot, SENDER, "gửi lúc 09:00 07/12/2026")  # after the meeting begins
    assert late.text.startswith("Thời gian (08:00 07/12/2026) phải sau thời điểm gửi")
    sent = await say(bot, SENDER, "gửi lúc 07:00 06/12")
    assert sent.text.startswith("Đã hẹn giờ gửi thư mời mã")
    invitation = await stored_post(engine, sent.extra["vn.dieuhanh.sent"]["code"])
    assert invitation.status == "scheduled"
    assert invitation.scheduled_for == dt.datetime(2026, 12, 6, 7, 0, tzinfo=VN)


# ------------------------------------------------------------------------ hẹn giờ, !huy


def scheduler(bot) -> Scheduler:
    woken = []
    s = Scheduler(bot.engine, bot.directory, bot.clock, wake=lambda: woken.append(1))
    s.woken = woken
    return s


async def test_a_scheduled_post_is_planned_when_due_and_once(bot, engine, clock_file):
    reply = await say(bot, SENDER, "!thongbao THCS HT: Họp giao ban lúc 07:00 08/12/2026")
    code = reply.extra["vn.dieuhanh.sent"]["code"]
    assert "Đã hẹn giờ gửi thông báo mã" in reply.text and f"!huy {code}" in reply.text
    post = await stored_post(engine, code)
    assert post.status == "scheduled" and count(engine, DELIVERIES) == 0
    report = await say(bot, SENDER, f"!baocao {code}")
    assert "hẹn giờ gửi lúc 07:00 08/12/2026; chưa gửi" in report.text
    ticks = scheduler(bot)
    set_time(clock_file, dt.datetime(2026, 12, 8, 6, 59, tzinfo=VN))
    await ticks.tick()
    assert (await stored_post(engine, code)).status == "scheduled" and not ticks.woken
    set_time(clock_file, dt.datetime(2026, 12, 8, 7, 0, tzinfo=VN))
    await ticks.tick()
    await ticks.tick()  # a second tick (or a restart) plans nothing again
    assert (await stored_post(engine, code)).status == "sending" and ticks.woken == [1]
    assert count(engine, RECIPIENTS, directive_id=post.id) == 2
    planned = count(engine, DELIVERIES, directive_id=post.id)
    assert 1 <= planned <= 2


async def test_huy_stops_a_scheduled_post(bot, engine, clock_file):
    reply = await say(bot, SENDER, "!gui THCS HT: Họp | lúc 07:00 08/12/2026")
    code = reply.extra["vn.dieuhanh.sent"]["code"]
    other = await say(bot, "P009", f"!huy {code}")
    assert other.text == "Anh/Chị chỉ huỷ được tin do mình gửi."
    cancelled = await say(bot, SENDER, f"!huỷ {code.lower()}")
    assert cancelled.text.startswith(f"Đã huỷ tin nhắn điều hành mã {code} hẹn giờ gửi lúc")
    again = await say(bot, SENDER, f"!huy {code}")
    assert "đã được huỷ lúc 10:00 05/12/2026" in again.text
    set_time(clock_file, dt.datetime(2026, 12, 9, 8, 0, tzinfo=VN))
    await scheduler(bot).tick()
    post = await stored_post(engine, code)
    assert post.status == "cancelled" and count(engine, DELIVERIES) == 0


async def test_huy_of_a_sent_post_is_refused_but_closes_a_report_request(bot, engine):
    sent = await say(bot, SENDER, "!thongbao THCS HT: Đã gửi rồi")
    code = sent.extra["vn.dieuhanh.sent"]["code"]
    refused = await say(bot, SENDER, f"!huy {code}")
    assert (
        refused.text == "Thông báo mã " + code + " đã được gửi lúc 10:00 05/12/2026, không thể huỷ."
    )
    assert (await stored_post(engine, code)).cancelled_at is None
    request = await say(bot, SENDER, "!yeucau THCS HT: Báo cáo sĩ số | 17:00 10/12/2026")
    code = request.extra["vn.dieuhanh.sent"]["code"]
    closed = await say(bot, SENDER, f"!huy {code}")
    assert closed.text.startswith(f"Đã đóng yêu cầu báo cáo mã {code}")
    post = await stored_post(engine, code)
    assert post.status == "sending" and post.cancelled_at == NOW
    assert "đã đóng lúc 10:00 05/12/2026" in (await say(bot, SENDER, f"!baocao {code}")).text


# ------------------------------------------------------------------------ extension points


async def test_reminders_of_a_kind_run_once_when_due(bot, engine, clock_file, monkeypatch):
    def planned(fields, sent_at):
        starts = dt.datetime.fromisoformat(fields["starts_at"])
        return [
            ("day_before", starts - dt.timedelta(days=2)),  # already past: dropped
            ("hour_before", starts - dt.timedelta(hours=1)),
        ]

    ran = []

    async def hour_before(run):
        ran.append(run.reminder.kind)
        assert await run.deliver_to([run.directive.sender_person_id], "reminder")

    monkeypatch.setitem(kinds.REMINDERS, "invitation", planned)
    monkeypatch.setitem(scheduler_module.REMINDER_KINDS, "hour_before", hour_before)
    reply = await say(bot, SENDER, "!thumoi THCS HT: Họp | 08:00 06/12/2026 | Phòng 2")
    post = await stored_post(engine, reply.extra["vn.dieuhanh.sent"]["code"])
    assert [r.kind for r in await Reminder.of_directive(engine, post.id)] == ["hour_before"]
    ticks = scheduler(bot)
    await ticks.tick()
    assert ran == []
    set_time(clock_file, dt.datetime(2026, 12, 6, 7, 0, tzinfo=VN))
    await ticks.tick()
    await ticks.tick()
    assert ran == ["hour_before"]
    assert count(engine, DELIVERIES, directive_id=post.id, kind="reminder") == 1
    [done] = await Reminder.of_directive(engine, post.id)
    assert done.sent_at == dt.datetime(2026, 12, 6, 7, 0, tzinfo=VN)


async def test_a_failing_reminder_is_retried_then_left(bot, engine, clock_file, monkeypatch):
    async def broken(run):
        raise RuntimeError("boom")

    monkeypatch.setitem(
        kinds.REMINDERS, "report_request", lambda f, s: [("summary", s + dt.timedelta(hours=1))]
    )
    monkeypatch.setitem(scheduler_module.REMINDER_KINDS, "summary", broken)
    reply = await say(bot, SENDER, "!yeucau THCS HT: Báo cáo | 17:00 10/12/2026")
    post = await stored_post(engine, reply.extra["vn.dieuhanh.sent"]["code"])
    set_time(clock_file, NOW + dt.timedelta(hours=2))
    ticks = scheduler(bot)
    for _ in range(Reminder.MAX_ATTEMPTS + 2):
        await ticks.tick()
    [left] = await Reminder.of_directive(engine, post.id)
    assert left.sent_at is None and left.attempts == Reminder.MAX_ATTEMPTS
    assert left.error == "boom"


async def test_baocao_gets_a_kinds_section_and_nhacnho_its_targets(bot, engine, monkeypatch):
    async def section(ctx, directive, groups):
        return baocao_module.Section(["Tham dự: 0"], "<p>Tham dự: 0</p>", {"yes": 0})

    async def targets(ctx, directive, groups):
        return baocao_module.Targets([directive.sender_person_id], "reminder", "chưa trả lời")

    monkeypatch.setitem(baocao_module.SECTIONS, "invitation", section)
    monkeypatch.setitem(baocao_module.TARGETS, "invitation", targets)
    reply = await say(bot, SENDER, "!thumoi THCS HT: Họp | 08:00 07/12/2026 | Phòng 2")
    code = reply.extra["vn.dieuhanh.sent"]["code"]
    report = await say(bot, SENDER, f"!baocao {code}")
    assert report.text.startswith(f"Thư mời mã {code} (gửi lúc 10:00 05/12/2026): 2 người nhận")
    assert report.text.endswith("Tham dự: 0") and "<p>Tham dự: 0</p>" in report.html
    assert report.extra["vn.dieuhanh.report"]["yes"] == 0
    assert report.extra["vn.dieuhanh.report"]["kind"] == "invitation"
    reminded = await say(bot, SENDER, f"!nhacnho {code}")
    assert reminded.text.startswith("Đang nhắc 1 người chưa trả lời thư mời mã")


async def test_the_directive_an_event_delivered_is_found_by_the_event(bot, engine):
    reply = await say(bot, SENDER, "!thumoi THCS HT: Họp | 08:00 07/12/2026 | Phòng 2")
    post = await stored_post(engine, reply.extra["vn.dieuhanh.sent"]["code"])
    [first, *_] = await Delivery.pending(engine)
    await Delivery.mark_sent_many(engine, [(first.id, "!room:test", "$card")])
    found = await Delivery.by_event(engine, "!room:test", "$card")
    assert found is not None and found.directive_id == post.id
    assert await Delivery.by_event(engine, "!other:test", "$card") is None


async def test_vanban_to_nobody_is_refused_before_its_pdf_is_asked_for(bot, engine):
    refused = await say(bot, SENDER, "!vanban MN HT: 1/KH | Kế hoạch")  # no MN principal
    assert refused.text.startswith("Không có cán bộ nào khớp với lựa chọn")
    assert await say(bot, SENDER, "", **PDF) is None  # no draft waits for it
    assert count(engine, DIRECTIVES) == 0
