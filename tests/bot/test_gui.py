"""!gui, !baocao, !nhacnho without Matrix: the flow, the audience, what is stored."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, select, update

from bot.commands import Incoming
from bot.db.delivery import DeliveryTable
from bot.db.directive import DirectiveTable
from bot.db.draft import DraftTable
from bot.db.recipient import RecipientTable
from bot.directory import DirectoryCache
from bot.service import BotService
from provisioning.db.models import DirectoryState, MatrixAccount, MatrixMember, MatrixRoom, Person
from provisioning.importer import import_paths
from provisioning.matrix.layout import BOT, build_layout
from provisioning.view import load_view

from ..directory.conftest import BASE_STAFF, STAFF_HEADER, write_csv
from .test_commands import EXTRA, uid

MORE = [
    ["P020", "Đinh Văn Sơn", "0909222111", "", "thcs-dvd", "GV", "", "", "", ""],
    ["P021", "Tạ Thị Thu", "0909222333", "", "thcs-tt", "PHT", "", "", "", ""],
]
BOT_ID = "@dieuhanh:test"
DIRECTIVES, DELIVERIES = DirectiveTable.__table__, DeliveryTable.__table__
DRAFTS, RECIPIENTS = DraftTable.__table__, RecipientTable.__table__


@pytest.fixture
def service(engine, base_files, tmp_path):
    return build_service(engine, base_files, tmp_path, [*BASE_STAFF, *EXTRA, *MORE])


def build_service(engine, base_files, tmp_path, staff_rows: list[list[str]]) -> BotService:
    """The bot's service on the base units and ``staff_rows``, as if provisioning had
    applied their layout (accounts, rooms, members) to Matrix."""
    staff = write_csv(tmp_path / "s" / "nhan_su.csv", STAFF_HEADER, staff_rows)
    assert import_paths(engine, [base_files[0], staff]).exit_code == 0
    layout = build_layout(load_view(engine))
    with engine.begin() as conn:  # as if provisioning had applied this layout
        people = conn.execute(select(Person.id, Person.code)).all()
        conn.execute(
            insert(MatrixAccount),
            [
                {"person_id": pid, "user_id": uid(code), "created": True, "deactivated": False}
                for pid, code in people
            ],
        )
        conn.execute(insert(DirectoryState), [{"key": "matrix.bot", "value": BOT_ID}])
        conn.execute(
            insert(MatrixRoom),
            [
                {
                    "key": k,
                    "room_id": f"!{i}:test",
                    "purpose": spec.purpose.value,
                    "unit_code": spec.unit_code,
                }
                for i, (k, spec) in enumerate(layout.rooms.items())
            ],
        )
        conn.execute(
            insert(MatrixMember),
            [
                {"room_key": k, "user_id": BOT_ID if m == BOT else uid(m)}
                for k, members in layout.members.items()
                for m in members
            ],
        )
    return BotService(DirectoryCache(engine, min_check_interval=0))


DM = "!dm:test"


async def say(service, who: str, text: str, *, room: str = DM, direct: bool = True, **content):
    return await service.handle(
        Incoming(
            uid(who),
            text,
            room,
            f"$e{dt.datetime.now()}",
            content.pop("msgtype", "m.text"),
            content,
            direct,
        )
    )


def stored(engine) -> tuple[dict, dict]:
    """The last directive's recipients (code -> delivery id) and deliveries (id -> kind)."""
    with engine.connect() as conn:
        directive = conn.execute(select(DIRECTIVES).order_by(DIRECTIVES.c.id.desc())).first()
        people = dict(conn.execute(select(Person.id, Person.code)).all())
        recipients = {
            people[r.person_id]: r.delivery_id
            for r in conn.execute(
                select(RECIPIENTS).where(RECIPIENTS.c.directive_id == directive.id)
            )
        }
        deliveries = {
            d.id: (d.kind, d.room_key)
            for d in conn.execute(
                select(DELIVERIES).where(DELIVERIES.c.directive_id == directive.id)
            )
        }
    return recipients, deliveries


async def test_guided_flow_in_four_steps_then_preview_and_send(service, engine):
    reply = await say(service, "P009", "!gui")  # the xã's Trưởng phòng
    assert reply.text.startswith("Bước 1 — Chọn loại")
    reply = await say(service, "P009", "tin nhắn")
    assert "Bước 2/4" in reply.text
    reply = await say(service, "P009", "THCS")
    assert "Bước 3/4" in reply.text and "9 cán bộ" in reply.text  # both THCS schools
    reply = await say(service, "P009", "giáo viên")
    assert "Bước 4/4" in reply.text and "5 cán bộ" in reply.text
    await say(
        service,
        "P009",
        "Kính gửi quý thầy cô giáo viên THCS,\nLịch họp tuần sau…",
        format="org.matrix.custom.html",
        formatted_body="<p><b>Kính gửi</b>…</p>",
    )
    reply = await say(
        service,
        "P009",
        "",
        msgtype="m.file",
        body="lich-hop.pdf",
        url="mxc://test/abc",
        info={"mimetype": "application/pdf", "size": 3},
    )
    assert "lich-hop.pdf" in reply.text
    reply = await say(service, "P009", "xong")
    assert reply.extra["vn.dieuhanh.preview"]["people"] == 5
    assert "Xem trước — Tin nhắn điều hành sẽ gửi đến 5 cán bộ thuộc 2 đơn vị" in reply.text
    reply = await say(service, "P009", "Gửi")
    code = reply.extra["vn.dieuhanh.sent"]["code"]
    assert reply.text.startswith(f"Đã lưu tin nhắn điều hành mã {code}")
    recipients, deliveries = stored(engine)
    assert set(recipients) == {"P002", "P003", "P005", "P011", "P020"}
    assert all(d in deliveries for d in recipients.values())
    with engine.connect() as conn:
        assert conn.scalar(select(DRAFTS.c.user_id)) is None  # the draft is gone
        attachments = conn.scalar(select(DIRECTIVES.c.attachments))
    assert "mxc://test/abc" in attachments


async def test_one_line_form_reaches_exactly_the_selection(service, engine):
    reply = await say(service, "P008", "!gui THCS HT CL: Kính gửi các thầy cô hiệu trưởng.")
    assert "Đã lưu tin nhắn điều hành" in reply.text
    recipients, deliveries = stored(engine)
    assert set(recipients) == {"P001"}  # the only principal of a public THCS
    # every recipient reached by exactly one delivery
    assert all(d in deliveries for d in recipients.values())


async def test_one_line_public_and_private_together(service, engine):
    await say(service, "P008", "!gui THCS HT: Họp hiệu trưởng.")
    recipients, deliveries = stored(engine)
    assert set(recipients) == {"P001", "P004"}
    kinds = {deliveries[d][0] for d in recipients.values()}
    assert kinds <= {"room", "inbox"}


async def test_authority_refusals_name_the_reason(service):
    outside = await say(service, "P001", "!gui THCS Ánh Dương: Xin chào")
    assert "nằm ngoài phạm vi" in outside.text and "Ánh Dương" in outside.text
    person = await say(service, "P001", "!gui")
    person = await say(service, "P001", "1")
    person = await say(service, "P001", "tất cả")
    person = await say(service, "P001", "Ngô Thị Mai")  # a principal of another school
    assert "nằm ngoài phạm vi" in person.text
    teacher = await say(service, "P002", "!gui THCS: …")
    assert teacher.text.startswith("Xin lỗi, lệnh !gui dành cho")


async def test_gui_outside_a_dm_asks_for_one(service):
    reply = await say(service, "P008", "!gui", direct=False, room="!group:test")
    assert "nhắn riêng cho bot" in reply.text


async def test_cancel_and_timeout(service, engine):
    await say(service, "P009", "!gui")
    assert (await say(service, "P009", "huỷ")).text == "Đã huỷ bản nháp tin nhắn điều hành."
    assert await say(service, "P009", "THCS") is None  # no draft any more: nothing to say
    await say(service, "P009", "!gui")
    await say(service, "P009", "tin nhắn")
    with engine.begin() as conn:
        conn.execute(
            update(DRAFTS).values(updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        )
    assert "hết hạn" in (await say(service, "P009", "THCS")).text


async def test_unknown_words_are_explained_at_each_step(service):
    await say(service, "P009", "!gui")
    assert "Không hiểu loại 'abc'" in (await say(service, "P009", "abc")).text
    await say(service, "P009", "thông báo")
    assert "Không hiểu 'xyz'" in (await say(service, "P009", "xyz")).text
    await say(service, "P009", "MN")
    assert "chức vụ (HT, PHT, GV, NV…)" in (await say(service, "P009", "qwe")).text


async def test_baocao_and_nhacnho_without_reads(service):
    await say(service, "P008", "!gui THCS HT: Họp hiệu trưởng.")
    report = await say(service, "P008", "!baocao")
    assert report.extra["vn.dieuhanh.report"]["recipients"] == 2
    assert report.extra["vn.dieuhanh.report"]["delivered"] == 0  # nothing sent yet
    other = await say(service, "P009", "!baocao " + report.extra["vn.dieuhanh.report"]["code"])
    assert "do mình gửi" in other.text
