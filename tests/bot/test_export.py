"""``dieuhanh export`` without Matrix: its rows equal what the database holds (SQLite and
PG), --unit shows only what a unit sent or received, bad input is one sentence, and the
report files come from a real HTTP server playing the homeserver's media API."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from nio.crypto.attachments import encrypt_attachment
from openpyxl import load_workbook
from sqlalchemy import text
from typer.testing import CliRunner

from bot.db.answer import Answer
from bot.db.directive import Directive
from bot.db.receipt import Receipt
from bot.db.recipient import Recipient
from bot.db.submission import Submission
from bot.records.export import Period, collect, parse_period
from bot.records.workbook import DIRECTIVES_SHEET, RECIPIENTS_SHEET, local
from dieuhanh.cli import app

from .test_gui import say, service  # noqa: F401 - the fixture
from .test_tim import post

VN = dt.timezone(dt.timedelta(hours=7))
TODAY = dt.datetime.now(VN).date()
PERIOD = Period(TODAY - dt.timedelta(days=1), TODAY)
FILES = {"/test/sisoA": b"PK\x03\x04 si so THCS Do Van Day", "/test/sisoB": b"%PDF-1.4 Anh Duong"}
TOKEN = "syt_admin_token"


async def person_id(engine, code: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT id FROM people WHERE code = :c"), {"c": code})


@pytest.fixture
async def posts(service) -> dict[str, str]:  # noqa: F811
    """Posts of every kind, their answers, reads and submissions; name -> code."""
    engine = service.engine
    codes = {
        "invitation": await post(
            service, "P008", "!thumoi THCS HT: Họp giao ban | 08:00 07/12/2030 | Phòng họp 2"
        ),
        "request": await post(service, "P008", "!yeucau THCS HT: Báo cáo sĩ số | 17:00 10/12/2030"),
        "office": await post(service, "P009", "!thongbao THCS GV: Lịch kiểm tra học kỳ I"),
        "school": await post(service, "P001", "!gui tất cả: Họp hội đồng sư phạm"),
        "old": await post(service, "P008", "!gui THCS HT: Tin năm 2020"),
    }
    with engine.begin() as conn:  # one outside the period
        conn.execute(
            text("UPDATE directives SET created_at = :at WHERE code = :c"),
            {"at": dt.datetime(2020, 1, 1, tzinfo=dt.UTC), "c": codes["old"]},
        )
    ids = {k: (await Directive.by_code(engine, c)).id for k, c in codes.items()}
    p001, p004 = await person_id(engine, "P001"), await person_id(engine, "P004")
    at = dt.datetime(2030, 12, 1, 9, 0, tzinfo=VN)
    await Answer.record(engine, ids["invitation"], p001, "no", how="command", at=at, deputy="Bình")
    await Answer.record(engine, ids["invitation"], p004, "yes", how="reaction", at=at)
    await Recipient.mark_read(engine, ids["invitation"], p001, "reaction", at)
    for pid, name, when in ((p001, "sisoA", at), (p004, "sisoB", at + dt.timedelta(days=20))):
        file = {"mxc": f"mxc://test/{name}", "name": "si số.xlsx", "mimetype": "x", "size": None}
        await Submission.add(
            engine, ids["request"], pid, room_id="!dm:test", event_id=f"$s{name}",
            body=f"Báo cáo {name}", files=[file], at=when,
        )  # fmt: skip
    p002, p003 = await person_id(engine, "P002"), await person_id(engine, "P003")
    await Recipient.mark_read(engine, ids["office"], p002, "receipt", at)
    await Receipt.record(engine, "!elsewhere:test", "@p003:test", "$x", 1)  # public receipts
    assert p003
    return codes


def database_rows(engine) -> tuple[set, set]:
    """What the database holds, read with plain SQL: (directive code, sender code) of the
    period, and (code, recipient code, read at, answer, first submission)."""
    with engine.connect() as conn:
        directives = set(
            conn.execute(
                text(
                    "SELECT d.code, p.code FROM directives d JOIN people p "
                    "ON p.id = d.sender_person_id WHERE d.created_at >= :s AND d.created_at < :e"
                ),
                {"s": PERIOD.start, "e": PERIOD.end},
            ).all()
        )
        recipients = conn.execute(
            text(
                "SELECT d.code, p.code, r.read_at, a.answer, "
                "(SELECT min(s.submitted_at) FROM directive_submissions s "
                " WHERE s.directive_id = d.id AND s.person_id = p.id) "
                "FROM directive_recipients r JOIN directives d ON d.id = r.directive_id "
                "JOIN people p ON p.id = r.person_id LEFT JOIN directive_answers a "
                "ON a.directive_id = d.id AND a.person_id = p.id "
                "WHERE d.created_at >= :s AND d.created_at < :e"
            ),
            {"s": PERIOD.start, "e": PERIOD.end},
        ).all()
    return directives, {(c, p, _t(r), a, _t(s)) for c, p, r, a, s in recipients}


def _t(value) -> dt.datetime | None:
    """A time as SQL hands it back (SQLite: text, naive UTC), to the minute."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).replace(second=0, microsecond=0)


async def test_export_rows_equal_what_the_database_holds(service, posts):  # noqa: F811
    export = await collect(service.engine, PERIOD)
    directives, recipients = database_rows(service.engine)
    codes = {d.code for d in export.directives}
    assert codes == {c for c, _ in directives} and posts["old"] not in codes
    answers = {"tham dự": "yes", "vắng": "no", "chưa trả lời": None, "": None}
    assert {
        (r.code, r.person_code, _t(r.read_at), answers[r.answer], _t(r.submitted_at))
        for r in export.recipients
    } == recipients
    by_code = {d.code: d for d in export.directives}
    invitation, request = by_code[posts["invitation"]], by_code[posts["request"]]
    assert (invitation.kind, invitation.sender, invitation.sender_unit) == (
        "Thư mời",
        "Bùi Thị Lan",
        "Sở Giáo dục và Đào tạo",
    )
    assert invitation.audience == "THCS — Hiệu trưởng"
    assert "Địa điểm: Phòng họp 2" in invitation.details
    c = invitation.counts
    assert (c.recipients, c.read, c.yes, c.no, c.submitted) == (2, 1, 1, 1, None)
    assert (request.counts.submitted, request.counts.late, request.counts.yes) == (2, 1, None)
    office = by_code[posts["office"]].counts
    assert (office.read, office.unread, office.unknown) == (1, 1, office.recipients - 2)
    rows = {(r.code, r.person_code): r for r in export.recipients}
    assert rows[posts["invitation"], "P001"].deputy == "Bình"
    assert rows[posts["request"], "P004"].late is True
    assert rows[posts["request"], "P001"].files[0].path == f"{posts['request']}/P001-si số.xlsx"
    assert rows[posts["office"], "P003"].read_state == "chưa đọc"
    assert rows[posts["office"], "P005"].read_state == "chưa rõ"


@pytest.mark.parametrize(
    ("unit", "sees", "people"),
    [
        # received the Sở's posts and the office's: only its own people are listed
        ("thcs-tt", {"invitation", "request", "office"}, {"P004", "P005", "P011", "P021"}),
        # sent one (everyone it reached is listed), received none
        ("hocmon", {"office"}, None),
        ("THCS-DVD", {"invitation", "request", "office", "school"}, None),
        ("mn-hs", set(), set()),
    ],
)
async def test_a_unit_sees_only_what_it_sent_or_received(service, posts, unit, sees, people):  # noqa: F811
    export = await collect(service.engine, PERIOD, unit)
    assert {d.code for d in export.directives} == {posts[k] for k in sees}
    listed = {r.person_code for r in export.recipients}
    if people is not None:
        assert listed <= people and (listed or not sees)
    if unit == "hocmon":
        everyone = await Recipient.of_directive(
            service.engine, (await Directive.by_code(service.engine, posts["office"])).id
        )
        assert len(export.recipients) == len(everyone) == export.directives[0].counts.recipients
    if unit == "THCS-DVD":  # the Sở's posts reached its principal: only him
        mine = {r.person_code for r in export.recipients if r.code == posts["invitation"]}
        assert mine == {"P001"}


class Media(BaseHTTPRequestHandler):
    """The homeserver's authenticated media download, for FILES; 404 otherwise."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        prefix = "/_matrix/client/v1/media/download"
        path = self.path.removeprefix(prefix)
        Media.seen.append(self.headers.get("Authorization", ""))
        if not self.path.startswith(prefix) or path not in FILES:
            self.send_error(404)
            return
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.send_error(401)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(FILES[path])))
        self.end_headers()
        self.wfile.write(FILES[path])

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def media() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Media)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def run_export(engine, monkeypatch, out: Path, *args: str, homeserver: str = "", token=TOKEN):
    """The CLI, in a thread (it runs its own event loop)."""
    monkeypatch.setenv("DIEUHANH_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DIEUHANH_HOMESERVER_URL", homeserver or "http://127.0.0.1:9")
    monkeypatch.setenv("DIEUHANH_HOMESERVER_ADMIN_TOKEN", token)
    monkeypatch.chdir(out.parent)
    period = ["--tu", f"{PERIOD.first:%d/%m/%Y}", "--den", f"{PERIOD.last:%d/%m/%Y}"]
    command = ["export", *period, *args, str(out)]
    return await asyncio.to_thread(CliRunner().invoke, app, command)


def sheet(path: Path, name: str) -> list[tuple]:
    """The sheet's rows, each as wide as its header (empty cells are not written)."""
    rows = list(load_workbook(path, read_only=True)[name].iter_rows(values_only=True))
    return [tuple(r) + (None,) * (len(rows[0]) - len(r)) for r in rows]


async def test_the_workbook_holds_the_rows_and_the_files_lie_beside_it(
    service,  # noqa: F811
    posts,
    media,
    tmp_path,
    monkeypatch,
):
    out = tmp_path / "luu-vt.xlsx"
    result = await run_export(service.engine, monkeypatch, out, homeserver=media)
    assert result.exit_code == 0, result.output
    export = await collect(service.engine, PERIOD)
    directives, recipients = sheet(out, DIRECTIVES_SHEET), sheet(out, RECIPIENTS_SHEET)
    assert directives[0][:5] == ("Mã", "Loại", "Người gửi", "Đơn vị gửi", "Thời gian gửi")
    assert [r[0] for r in directives[1:]] == [d.code for d in export.directives]
    first = export.directives[0]
    assert directives[1][4] == local(first.sent_at)  # Vietnam's time
    assert [(r[0], r[1]) for r in recipients[1:]] == [
        (r.code, r.person_code) for r in export.recipients
    ]
    by_key = {(r[0], r[1]): r for r in recipients[1:]}
    assert by_key[posts["office"], "P005"][5] == "chưa rõ"
    assert by_key[posts["office"], "P003"][5] == "chưa đọc"
    assert by_key[posts["request"], "P004"][9] == "nộp muộn"
    assert by_key[posts["invitation"], "P001"][6:8] == ("vắng", "Bình")
    folder = tmp_path / "luu-vt_files" / posts["request"]
    assert (folder / "P001-si số.xlsx").read_bytes() == FILES["/test/sisoA"]
    assert (folder / "P004-si số.xlsx").read_bytes() == FILES["/test/sisoB"]
    assert f"Bearer {TOKEN}" in Media.seen
    assert "Tệp báo cáo: 2/2 đã lưu vào" in result.output


async def test_files_that_cannot_be_fetched_are_named_and_the_workbook_is_written(
    service,  # noqa: F811
    posts,
    media,
    tmp_path,
    monkeypatch,
):
    del FILES["/test/sisoB"]  # gone from the homeserver
    try:
        result = await run_export(
            service.engine, monkeypatch, tmp_path / "a.xlsx", homeserver=media
        )
    finally:
        FILES["/test/sisoB"] = b"%PDF-1.4 Anh Duong"
    assert result.exit_code == 1
    assert "Không tải được 1 tệp báo cáo" in result.output
    assert f"{posts['request']}/P004-si số.xlsx: máy chủ trả lời 404" in result.output
    saved = {r[12] for r in sheet(tmp_path / "a.xlsx", RECIPIENTS_SHEET)[1:] if r[12]}
    assert saved == {
        f"{posts['request']}/P001-si số.xlsx",
        f"{posts['request']}/P004-si số.xlsx (không tải được)",
    }
    # the homeserver unreachable: the workbook still, and every file named
    result = await run_export(service.engine, monkeypatch, tmp_path / "b.xlsx")
    assert result.exit_code == 1 and (tmp_path / "b.xlsx").exists()
    assert "Không tải được 2 tệp báo cáo" in result.output
    assert "không kết nối được máy chủ http://127.0.0.1:9" in result.output


async def test_a_file_from_an_encrypted_room_is_decrypted_and_a_bad_key_is_named(
    service,  # noqa: F811
    posts,
    media,
    tmp_path,
    monkeypatch,
):
    engine = service.engine
    request = await Directive.by_code(engine, posts["request"])
    p004 = await person_id(engine, "P004")
    ciphertext, keys = encrypt_attachment(b"bao cao da ma hoa")
    _other, wrong = encrypt_attachment(b"something else")
    FILES["/test/enc"], FILES["/test/bad"] = ciphertext, ciphertext
    sent = [("enc", "mật.pdf", keys), ("bad", "hỏng.pdf", wrong)]
    try:
        for name, file_name, key in sent:
            file = {"mxc": f"mxc://test/{name}", "name": file_name, "size": 17,
                    "file": {**key, "url": f"mxc://test/{name}"}}  # fmt: skip
            await Submission.add(
                engine, request.id, p004, room_id="!dm:test", event_id=f"$e{name}", body="",
                files=[file], at=dt.datetime.now(dt.UTC),
            )  # fmt: skip
        result = await run_export(engine, monkeypatch, tmp_path / "e.xlsx", homeserver=media)
    finally:
        del FILES["/test/enc"], FILES["/test/bad"]
    folder = tmp_path / "e_files" / posts["request"]
    assert (folder / "P004-mật.pdf").read_bytes() == b"bao cao da ma hoa"
    assert result.exit_code == 1 and not (folder / "P004-hỏng.pdf").exists()
    assert "P004-hỏng.pdf: không giải mã được tệp mxc://test/bad" in result.output


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (
            ["--tu", "10/12/2026", "--den", "01/12/2026"],
            "Ngày bắt đầu (--tu 10/12/2026) sau ngày kết thúc (--den 01/12/2026); hãy đổi lại.",
        ),
        (
            ["--tu", "31/02/2026", "--den", "01/03/2026"],
            "Ngày 31/02/2026 ở --tu không có thật; hãy kiểm tra lại ngày tháng.",
        ),
        (
            ["--tu", "01/12/2026", "--den", "2026-12-31"],
            "Không hiểu ngày '2026-12-31' ở --den; hãy viết DD/MM/YYYY, ví dụ 01/12/2026.",
        ),
        (
            ["--tu", "01/12/2026", "--den", "31/12/2026", "--unit", "khong-co"],
            "Không có đơn vị mã 'khong-co' trong danh bạ; hãy kiểm tra lại mã đơn vị (--unit).",
        ),
    ],
)
def test_bad_input_is_one_sentence_and_writes_nothing(
    engine, tmp_path, monkeypatch, args, sentence
):
    monkeypatch.setenv("DIEUHANH_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    result = CliRunner().invoke(app, ["export", *args, str(out / "x.xlsx")])
    assert result.exit_code == 2
    assert result.output.strip() == sentence
    assert list(out.iterdir()) == []


def test_the_file_must_be_an_xlsx(engine, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app, ["export", "--tu", "01/12/2026", "--den", "02/12/2026", "so.csv"]
    )
    assert result.exit_code == 2
    assert result.output.strip() == "Tệp xuất phải có đuôi .xlsx (đã nhận 'so.csv')."


def test_a_period_is_whole_days_in_vietnam():
    period = parse_period("01/12/2026", " 1/12/2026 ")
    assert period.start == dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)
    assert period.end == dt.datetime(2026, 12, 1, 17, 0, tzinfo=dt.UTC)
