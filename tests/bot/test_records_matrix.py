"""!tim and ``dieuhanh export`` end to end: the bot process, a real Synapse, nio clients as
staff; the export fetches a report file from Synapse's media API with the admin token."""

from __future__ import annotations

import asyncio
import datetime as dt
import io

import pytest
from nio import UploadResponse
from openpyxl import load_workbook
from sqlalchemy import text
from typer.testing import CliRunner

from bot.db.directive import Directive
from bot.db.submission import Submission
from bot.records.workbook import RECIPIENTS_SHEET
from dieuhanh.cli import app

from .test_bot_matrix import Setup
from .test_directives_matrix import open_dm, say, wait_all_sent

REPORT = b"PK\x03\x04 bao cao si so - THCS 1\n"


@pytest.fixture(scope="module")
def setup(synapse, tmp_path_factory):
    s = Setup(synapse, tmp_path_factory.mktemp("records"))
    s.bot.start(wait_for="initial sync done")
    yield s
    s.bot.stop()
    s.engine.dispose()


async def in_dm(setup: Setup, person: str, line: str) -> dict:
    """``person`` types ``line`` in their DM with the bot; the bot's answer."""
    client = await setup.client(person)
    try:
        return await say(setup, client, await open_dm(setup, client), line)
    finally:
        await client.close()


@pytest.fixture(scope="module")
def request_code(setup) -> str:
    """A report request from the Sở's director to the THCS principals, delivered."""
    sent = asyncio.run(
        in_dm(setup, "gd", "!yeucau THCS HT: Báo cáo sĩ số học sinh | 17:00 10/12/2030")
    )
    code = sent["vn.dieuhanh.sent"]["code"]
    wait_all_sent(setup, code)
    return code


def test_tim_answers_in_the_dm_with_what_the_person_received(setup, request_code):
    found = asyncio.run(in_dm(setup, "ht1", "!tim BAO CAO si số"))
    assert found["vn.dieuhanh.search"] == {"codes": [request_code], "total": 1}
    assert found["msgtype"] == "m.notice"
    assert f"{request_code} · Yêu cầu báo cáo · " in found["body"]
    assert "của Huỳnh Văn Phúc" in found["body"]
    outsider = asyncio.run(in_dm(setup, "gv1", "!tìm báo cáo sĩ số"))  # not a recipient
    assert outsider["vn.dieuhanh.search"] == {"codes": [], "total": 0}
    assert outsider["body"].startswith("Không tìm thấy tin nào có 'báo cáo sĩ số'")


async def upload_report(setup: Setup) -> str:
    """ht1 uploads a file to Synapse (as Element would before replying); its mxc URI."""
    client = await setup.client("ht1")
    try:
        upload, _ = await client.upload(
            lambda *_: io.BytesIO(REPORT),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename="sĩ số.xlsx",
            filesize=len(REPORT),
        )
        assert isinstance(upload, UploadResponse)
        return upload.content_uri
    finally:
        await client.close()


def test_export_fetches_the_report_files_from_synapse(setup, request_code, tmp_path):
    mxc = asyncio.run(upload_report(setup))
    person = setup.district.p("ht1")
    with setup.engine.connect() as conn:
        person_id = conn.scalar(text("SELECT id FROM people WHERE code = :c"), {"c": person})
    directive = asyncio.run(Directive.by_code(setup.engine, request_code))
    file = {"mxc": mxc, "name": "sĩ số.xlsx", "mimetype": "x", "size": len(REPORT)}
    reply = Submission.add(
        setup.engine, directive.id, person_id, room_id="!dm", event_id=f"$r{request_code}",
        body="Báo cáo sĩ số", files=[file], at=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    assert asyncio.run(reply)
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).strftime("%d/%m/%Y")
    out = tmp_path / "luu-vt.xlsx"
    result = CliRunner().invoke(
        app,
        ["export", "--tu", today, "--den", today, "--unit", setup.district.u("so"), str(out)],
        env={
            "DIEUHANH_DATABASE_URL": setup.db_url,
            "DIEUHANH_HOMESERVER_URL": setup.synapse.base_url,
            "DIEUHANH_HOMESERVER_ADMIN_TOKEN": setup.synapse.admin_token,
        },
    )
    assert result.exit_code == 0, result.output
    saved = tmp_path / "luu-vt_files" / request_code / f"{person}-sĩ số.xlsx"
    assert saved.read_bytes() == REPORT
    rows = list(load_workbook(out, read_only=True)[RECIPIENTS_SHEET].iter_rows(values_only=True))
    mine = [r for r in rows[1:] if r[0] == request_code]
    with setup.engine.connect() as conn:
        recipients = conn.scalar(
            text("SELECT count(*) FROM directive_recipients WHERE directive_id = :d"),
            {"d": directive.id},
        )
    assert len(mine) == recipients == 2  # the two THCS principals
    theirs = next(r for r in mine if r[1] == person)
    assert theirs[11:13] == ("sĩ số.xlsx", f"{request_code}/{person}-sĩ số.xlsx")
