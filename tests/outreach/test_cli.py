"""``dieuhanh moi``: the same invitations as !moi from the command line — the whole
directory or one unit, a dry run that sends nothing, the 7-day rule against what the bot
sent, refusals with exit code 2 (nothing queued), and what a killed run left half-sent."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
import yaml
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from dieuhanh.cli import app
from provisioning.db.models import (
    AccountActivity,
    AccountActivityCopy,
    MatrixAccount,
    Person,
    SmsMessage,
    Unit,
)
from provisioning.importer import import_paths
from provisioning.outreach import ledger
from provisioning.outreach.budget import Outgoing

from .test_ledger import killed_mid_send

NOW = dt.datetime.now(dt.UTC)
LOGGED_IN = {"P001", "P004"}


@pytest.fixture
def cli(engine, base_files, tmp_path):
    assert import_paths(engine, base_files).exit_code == 0
    with engine.begin() as conn:
        people = conn.execute(select(Person.id, Person.code)).all()
        conn.execute(
            insert(MatrixAccount),
            [
                {"person_id": pid, "user_id": f"@{c.lower()}:test", "created": True}
                for pid, c in people
                if c != "P006"  # Võ Thị Hoa (mn-hs): no account yet
            ],
        )
        conn.execute(insert(AccountActivityCopy).values(id=1, copied_at=NOW))
        conn.execute(
            insert(AccountActivity),
            [
                {"user_id": f"@{c.lower()}:test", "first_login_at": NOW, "checked_at": NOW}
                for c in LOGGED_IN
            ],
        )
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": {"url": engine.url.render_as_string(hide_password=False)},
                "homeserver": {"url": "https://dieuhanh.hcm.edu.vn"},
                "sms": {"file_path": str(tmp_path / "sms.jsonl"), "budget": {"per_unit": {}}},
            }
        )
    )

    def run(*args: str, env: dict[str, str] | None = None):
        return CliRunner().invoke(app, ["moi", *args, "--config", str(config)], env=env or {})

    return run


def sent(tmp_path) -> list[dict]:
    path = tmp_path / "sms.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def messages(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(SmsMessage))


def test_a_dry_run_then_a_unit_then_the_rest_each_person_once(cli, engine, tmp_path):
    dry = cli("--don-vi", "thcs-dvd", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [
        "Sẽ gửi 3 tin SMS mời đăng nhập ở Trường THCS Đỗ Văn Dậy.",
        "Ngân sách SMS tháng "
        f"{NOW.astimezone(dt.timezone(dt.timedelta(hours=7))):%m/%Y} của THCS Đỗ Văn Dậy: "
        "còn 97/100 tin.",
    ]
    assert messages(engine) == 0 and sent(tmp_path) == []
    unit = cli("--don-vi", "thcs-dvd")
    assert unit.exit_code == 0, unit.output
    assert unit.output.startswith(
        "Đã gửi xong SMS mời đăng nhập ở Trường THCS Đỗ Văn Dậy: 3 tin đã gửi.\n"
    )
    # Bình, Cường, Hùng
    assert sorted(m["to"] for m in sent(tmp_path)) == [
        "+84355666777",
        "+84903111222",
        "+84987654321",
    ]
    everyone = cli()
    assert everyone.exit_code == 0, everyone.output
    lines = everyone.output.splitlines()
    assert lines[0] == "Đã gửi xong SMS mời đăng nhập trong toàn bộ danh bạ: 2 tin đã gửi."
    assert lines[1].startswith(
        "Không gửi cho 4 người: 3 đã được mời trong 7 ngày qua (mời lại được từ "
    )
    assert lines[1].endswith("), 1 chưa có tài khoản.")
    assert len(sent(tmp_path)) == 5  # Hoàng Văn Em (thcs-tt), Bùi Thị Lan (the Sở's director)
    again = cli()
    assert again.exit_code == 0
    assert again.output.startswith("Cả 5 người chưa đăng nhập lần nào trong toàn bộ danh bạ")
    assert len(sent(tmp_path)) == 5


def test_refusals_exit_2_and_queue_nothing(cli, engine, tmp_path):
    unknown = cli("--don-vi", "khong-co")
    assert unknown.exit_code == 2
    assert "Không có đơn vị mã 'khong-co' trong danh bạ; không gửi tin nào." in unknown.output
    negative = cli(env={"DIEUHANH_SMS_BUDGET_MONTHLY_PER_UNIT": "-1"})
    assert negative.exit_code == 2
    assert "Cấu hình sms không dùng được: sms.budget: số tin mỗi tháng không được âm" in (
        negative.output
    )
    with engine.begin() as conn:
        conn.execute(AccountActivityCopy.__table__.delete())
    no_data = cli()
    assert no_data.exit_code == 2 and "Chưa có số liệu đăng nhập" in no_data.output
    assert messages(engine) == 0 and sent(tmp_path) == []


def test_a_run_settles_what_a_killed_run_left_half_sent(cli, engine, tmp_path):
    with engine.connect() as conn:
        unit = conn.scalar(select(Unit.id).where(Unit.code == "thcs-dvd"))
        people = conn.execute(
            select(Person.id, Person.phone).where(Person.code.in_(["P002", "P003"]))
        ).all()
    earlier = NOW - dt.timedelta(hours=2)
    queued = ledger.queue(
        engine,
        kind=ledger.INVITATION,
        ref=None,
        unit_id=unit,
        limit=100,
        people=[Outgoing(pid, phone) for pid, phone in people],
        text="Dieu hanh: moi dang nhap.",
        now=earlier,
        by="dieuhanh moi",
    )
    asyncio.run(killed_mid_send(engine, queued.ids, earlier))
    run = cli("--don-vi", "thcs-dvd")
    assert run.exit_code == 0, run.output
    lines = run.output.splitlines()
    assert lines[0] == (
        "2 tin SMS của một lần gửi trước bị dừng giữa chừng: không rõ đã đến người nhận "
        "hay chưa; không gửi lại, vẫn tính vào ngân sách."
    )
    assert lines[1] == "Đã gửi xong SMS mời đăng nhập ở Trường THCS Đỗ Văn Dậy: 1 tin đã gửi."
    assert lines[2].startswith("Không gửi cho 2 người: 2 đã được mời trong 7 ngày qua")
    assert [m["to"] for m in sent(tmp_path)] == ["+84355666777"]  # Hùng only
    assert {s for s, _ in ledger.statuses(engine, queued.ids).values()} == {"unknown"}
