"""!tim without Matrix: what the asker sent or received, accent-insensitive, newest first,
ten at most; nobody finds a post that was neither from nor for them (SQLite and PG)."""

from __future__ import annotations

from sqlalchemy import select

from bot.commands import parse
from bot.commands.tim import _first_line
from bot.db.delivery import Delivery, DeliveryTable
from bot.db.directive import Directive, DirectiveTable, _like

from .test_gui import say, service  # noqa: F401 - the fixture

DELIVERIES, DIRECTIVES = DeliveryTable.__table__, DirectiveTable.__table__
SO, PRINCIPAL, OTHER_PRINCIPAL, TEACHER = "P008", "P001", "P004", "P002"


async def post(service, who: str, line: str, *, delivered: bool = True) -> str:  # noqa: F811
    """``who`` sends a one-line post; its code (its deliveries marked sent, as the worker
    would once every event went out)."""
    reply = await say(service, who, line)
    code = reply.extra["vn.dieuhanh.sent"]["code"]
    if delivered:
        with service.engine.connect() as conn:
            ids = conn.scalars(
                select(DELIVERIES.c.id)
                .join(DIRECTIVES, DIRECTIVES.c.id == DELIVERIES.c.directive_id)
                .where(DIRECTIVES.c.code == code)
            ).all()
        await Delivery.mark_sent_many(
            service.engine, [(d, f"!room{d}:test", f"$ev{code}{d}") for d in ids]
        )
    return code


def found(reply) -> list[str]:
    return reply.extra["vn.dieuhanh.search"]["codes"]


def test_tim_is_the_search_and_danhba_keeps_its_own_name():
    assert parse("!tim họp").command.name == "tim"
    assert parse("!tìm họp").command.name == "tim"
    assert parse("!TIM họp").command.name == "tim"
    assert parse("!tim kiểm tra").command.name == "tim"  # no longer "tìm kiếm" → danh bạ
    assert parse("!danhba an").command.name == "danhba"
    assert parse("!db an").command.name == "danhba"


def test_like_wildcards_are_taken_literally():
    assert _like("100%") == "100\\%"
    assert _like("a_b") == "a\\_b"
    assert _like("c:\\x") == "c:\\\\x"


def test_the_first_line_puts_a_documents_number_first_and_is_shortened():
    document = Directive(
        1, "K7QMA", 1, "@a:test", None, "V/v kiểm tra", None, [], {}, "sent", None,
        kind="document", fields={"number": "125/SGDĐT-VP", "abstract": "V/v kiểm tra"},
    )  # fmt: skip
    assert _first_line(document) == "125/SGDĐT-VP — V/v kiểm tra"
    long = Directive(
        2, "K7QMB", 1, "@a:test", None, "\n  " + "x" * 200 + "\nsecond", None, [], {}, "sent", None
    )
    assert _first_line(long) == "x" * 79 + "…"


async def test_sender_and_recipients_find_it_without_accents_and_outsiders_do_not(service):  # noqa: F811
    code = await post(service, SO, "!thongbao THCS HT: Họp giao ban tháng 12 tại Sở")
    for who in (SO, PRINCIPAL, OTHER_PRINCIPAL):  # the sender, both recipients
        for query in ("họp giao ban", "HOP GIAO BAN", "giao   hop", "THÁNG 12", code.lower()):
            reply = await say(service, who, f"!tim {query}")
            assert found(reply) == [code], (who, query, reply.text)
    received = await say(service, PRINCIPAL, "!tim giao ban")
    assert f"• {code} · Thông báo · " in received.text
    assert "của Bùi Thị Lan (Sở GD&ĐT) — Họp giao ban tháng 12 tại Sở" in received.text
    assert f"<code>{code}</code>" in received.html
    sent = await say(service, SO, "!tim giao ban")
    assert "· Anh/Chị gửi — Họp giao ban" in sent.text
    for outsider in (TEACHER, "P009"):  # a teacher, the office: neither sender nor recipient
        reply = await say(service, outsider, "!tim họp giao ban")
        assert found(reply) == [] and reply.text.startswith("Không tìm thấy tin nào có")
        assert found(await say(service, outsider, f"!tim {code}")) == []
    assert found(await say(service, PRINCIPAL, "!tim giao ban hiệu trưởng")) == []  # every word


async def test_a_recipient_finds_a_post_once_it_reached_them(service):  # noqa: F811
    code = await post(service, SO, "!gui THCS HT: Rà soát thiết bị dạy học", delivered=False)
    assert found(await say(service, SO, "!tim thiết bị")) == [code]
    assert found(await say(service, PRINCIPAL, "!tim thiết bị")) == []


async def test_fields_are_searched_and_a_scheduled_post_is_only_the_senders(service):  # noqa: F811
    pdf = {"body": "cv.pdf", "url": "mxc://test/cv", "info": {"mimetype": "application/pdf"}}
    await say(service, SO, "", msgtype="m.file", **pdf)  # the PDF first, then the form
    document = await post(service, SO, "!vanban THCS HT: 125/SGDĐT-VP | V/v kiểm tra học kỳ I")
    reply = await say(service, PRINCIPAL, "!tim 125/sgddt")
    assert found(reply) == [document] and "— 125/SGDĐT-VP — V/v kiểm tra học kỳ I" in reply.text
    invitation = await post(
        service, SO, "!thumoi THCS HT: Họp chuyên môn | 08:00 07/12/2030 | Phòng họp số 2"
    )
    assert found(await say(service, PRINCIPAL, "!tim phong hop so 2")) == [invitation]
    line = "!thongbao THCS HT: Lịch thi đua lúc 07:00 08/12/2030"
    later = await post(service, SO, line, delivered=False)
    mine = await say(service, SO, "!tim lịch thi đua")
    assert found(mine) == [later] and "Anh/Chị gửi (hẹn giờ)" in mine.text
    assert found(await say(service, PRINCIPAL, "!tim lịch thi đua")) == []  # not sent yet


async def test_ten_newest_first_then_how_many_more(service):  # noqa: F811
    codes = [await post(service, SO, f"!thongbao THCS HT: Nhắc lịch số {i}") for i in range(12)]
    reply = await say(service, PRINCIPAL, "!tim nhắc lịch")
    assert found(reply) == codes[::-1][:10]
    assert reply.extra["vn.dieuhanh.search"]["total"] == 12
    assert reply.text.splitlines()[0] == "Kết quả tìm 'nhắc lịch': 12 tin"
    assert reply.text.splitlines()[-1] == "… và 2 kết quả khác"
    assert found(await say(service, PRINCIPAL, "!tim số 11")) == [codes[11]]


async def test_bad_queries_are_one_sentence(service):  # noqa: F811
    empty = await say(service, PRINCIPAL, "!tim")
    assert "Hãy gõ từ khóa cần tìm, ví dụ !tim họp giao ban." in empty.text
    long = await say(service, PRINCIPAL, "!tim " + " ".join(["từ"] * 11))
    assert "Từ khóa dài quá 10 từ; hãy gõ ngắn gọn hơn." in long.text
    code = await post(service, SO, "!thongbao THCS HT: Hoàn thành 100% chỉ tiêu")
    both = [await post(service, SO, "!thongbao THCS HT: Hoàn thành kế hoạch"), code]
    assert found(await say(service, PRINCIPAL, "!tim hoàn thành")) == both
    assert found(await say(service, PRINCIPAL, "!tim 100%")) == [code]
    # wildcards are taken literally: "%" is a percent sign, "_" an underscore
    assert found(await say(service, PRINCIPAL, "!tim hoàn thành %")) == [code]
    assert found(await say(service, PRINCIPAL, "!tim hoàn thành _")) == []
