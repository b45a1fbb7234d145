"""!trienkhai and !baocao's "chưa đăng nhập" against a real Synapse whose login module copies
who has logged in into this test's directory: some staff log in with phone + code, the
others never do."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from provisioning.db.models import AccountActivity, AccountActivityCopy

from ..conftest import running_synapse
from ..waiting import eventually, eventually_async, log_tail
from .test_bot_matrix import Setup
from .test_directives_matrix import open_dm, own_sync, say, wait_all_sent

LOGGED_IN = ("tp", "ht1", "gv1", "gv2")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rollout")

    def edit(raw: dict[str, Any]) -> None:  # the module writes into this test's directory
        raw.setdefault("database", {})["url"] = f"sqlite:///{folder / 'directory.db'}"
        raw.setdefault("login", {})["activity_interval_seconds"] = 1

    with running_synapse(folder / "hs", edit) as synapse:
        s = Setup(synapse, folder)
        s.bot.start(wait_for="initial sync done")
        try:
            yield s
        finally:
            s.bot.stop()
            s.engine.dispose()


def copied_after(setup: Setup, users: set[str], since: dt.datetime) -> bool:
    """Whether a round that started after ``since`` saw every one of ``users`` logged in."""
    with setup.engine.connect() as conn:
        rows = conn.execute(
            select(AccountActivity.user_id, AccountActivity.first_login_at, AccountActivity.devices)
        ).all()
        copied = conn.scalar(select(AccountActivityCopy.copied_at))
    seen = {u for u, first, devices in rows if first is not None and devices > 0}
    return copied is not None and copied > since and users <= seen


def test_trienkhai_counts_who_logged_in_and_baocao_tells_the_three_kinds(setup):
    d = setup.district

    async def log_in() -> None:
        for person in LOGGED_IN:
            await (await setup.client(person)).close()

    asyncio.run(log_in())
    done = dt.datetime.now(dt.UTC)
    eventually(
        lambda: copied_after(setup, {setup.user_id(p) for p in LOGGED_IN}, done),
        60,
        "the login module to copy the four logins",
        diagnostic=log_tail(setup.synapse.setup.synapse.log_path),
    )

    async def run() -> tuple[dict, dict, dict[str, str], str]:
        tp, ht1 = await setup.client("tp"), await setup.client("ht1")
        try:
            dm, ht_dm = await open_dm(setup, tp), await open_dm(setup, ht1)
            office = await say(setup, tp, dm, "!trienkhai")
            school = await say(setup, ht1, ht_dm, "!triển khai")
            sent = await say(setup, tp, dm, "!gui THCS GV: Đề nghị nộp báo cáo sơ kết.")
            return office, school, {"dm": dm}, sent["vn.dieuhanh.sent"]["code"]
        finally:
            await tp.close()
            await ht1.close()

    office, school, rooms, code = asyncio.run(run())
    data = office["vn.dieuhanh.rollout"]
    assert data["unit"] == d.u("xa")
    by_label = {u["label"]: u for u in data["units"]}
    # THCS Đỗ Văn Dậy: ht1, gv1, gv2, tt1 (its tổ), nv1 — the first three logged in
    assert by_label["THCS Đỗ Văn Dậy"] == {
        "label": "THCS Đỗ Văn Dậy",
        "accounts": 5,
        "logged_in": 3,
        "active_7d": 3,
    }
    assert by_label["THCS Ánh Dương"]["logged_in"] == by_label["MN Hoa Sen"]["logged_in"] == 0
    assert by_label["Cán bộ tại Xã Hóc Môn"]["logged_in"] == 1  # tp, not cv
    assert [u["label"] for u in data["units"]][-1] == "THCS Đỗ Văn Dậy"  # furthest ahead last
    assert (data["accounts"], data["logged_in"], data["active_7d"]) == (11, 4, 4)
    assert school["vn.dieuhanh.rollout"]["never"] == 2
    assert school["body"].endswith("Chưa đăng nhập lần nào (2 người): Phạm Văn Dũng, Đặng Thị Hà")
    assert "<table>" in office["formatted_body"]

    wait_all_sent(setup, code)
    _read(setup, "gv1", code)

    async def report() -> tuple[dict, dict]:
        tp = await setup.client("tp")
        try:

            async def read_by_gv1() -> dict | None:
                answer = await say(setup, tp, rooms["dm"], f"!baocao {code}")
                return answer if answer["vn.dieuhanh.report"]["read"] == 1 else None

            after = await eventually_async(read_by_gv1, 30, "gv1's receipt", interval=0.2)
            reminded = await say(setup, tp, rooms["dm"], f"!nhacnho {code}")
            return after, reminded
        finally:
            await tp.close()

    after, reminded = asyncio.run(report())
    counts = after["vn.dieuhanh.report"]
    never = counts["recipients"] - 2  # all but gv1 (read) and gv2 (logged in, no receipt)
    assert (counts["read"], counts["unread"], counts["unknown"]) == (1, 0, 1)
    assert counts["never"] == never >= 1
    body = after["body"]
    assert "Chưa rõ" in body and "Lê Văn Cường" in body.split("Chưa rõ")[1].split("\n")[1]
    assert "Hoàng Văn Em" in body.split("Chưa đăng nhập lần nào")[1]  # gv3, at THCS Ánh Dương
    assert reminded["vn.dieuhanh.reminded"] == 1  # gv2 only
    assert reminded["vn.dieuhanh.never_logged_in"] == never


def _read(setup: Setup, person: str, code: str) -> None:
    """``person`` opens the directive: a public read receipt, as Element sends."""

    async def run() -> None:
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

    asyncio.run(run())
