"""How long a plan takes and how long is left (pure), the measured rates kept per homeserver,
and the progress lines an apply prints when its output is not a terminal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from provisioning.db import open_directory
from provisioning.matrix.estimate import (
    MIN_SAMPLE,
    ONE_ROOM_JOINS,
    Estimate,
    Eta,
    Rates,
    StageTiming,
    estimate,
    load_rates,
    measured_rates,
    merged,
    save_rates,
    say_duration,
)
from provisioning.matrix.order import Priority
from provisioning.matrix.plan import Kind, Op, Plan
from provisioning.matrix.progress import PlainProgress, announce_lines, progress_line

BOT = "@bot:x"
RATES = Rates({"create_user": 10.0, "join": 20.0, "create_room": 2.0}, "2026-05-12T06:40:00+00:00")


def users(n: int) -> list[Op]:
    return [Op(Kind.CREATE_USER, person=f"p{i}", user_id=f"@p{i}:x") for i in range(n)]


def joins(room: str, n: int) -> list[Op]:
    return [Op(Kind.JOIN, room=room, person=f"p{i}", user_id=f"@p{i}:x") for i in range(n)]


def test_a_stage_takes_its_count_over_its_rate_and_joins_their_longest_room():
    ops = users(10) + joins("a", 10) + joins("b", 10)
    found = estimate(ops, Priority(), BOT, RATES)
    # 10 accounts at 10/s; 20 joins at 20/s would be 1 s, but room a's 10 joins are serial
    assert found.seconds == pytest.approx(1 + 10 / ONE_ROOM_JOINS)
    assert found.counts == {"create_user": 10, "join": 20}
    assert found.cost("join") == pytest.approx(10 / ONE_ROOM_JOINS / 20)
    spread = estimate(
        users(10) + [op for i in range(20) for op in joins(f"r{i}", 1)], Priority(), BOT, RATES
    )
    assert spread.seconds == pytest.approx(1 + 20 / 20)
    assert found.measured_at == RATES.measured_at


def test_when_each_tier_is_done():
    priority = Priority(frozenset({"a"}), frozenset({"p0", "p1"}))
    ops = users(100) + joins("a", 2) + joins("b", 50)  # b: a room of the rest
    found = estimate(ops, priority, BOT, RATES)
    assert found.tiers_done == {
        "ACCOUNTS": pytest.approx(10.0),
        "OFFICIALS": pytest.approx(10.0 + 2 / ONE_ROOM_JOINS),
        "REST": pytest.approx(found.seconds),
    }
    assert found.seconds == pytest.approx(10.0 + 2 / ONE_ROOM_JOINS + 50 / ONE_ROOM_JOINS)
    plan = Plan(ops, estimate=found)
    assert announce_lines(plan)[2] == (
        "Trong đó: mọi người đăng nhập được sau khoảng 10 giây; phòng của lãnh đạo và "
        "nhóm hiệu trưởng xong sau khoảng 10 giây."
    )


def test_stages_add_up_and_unmeasured_kinds_take_the_defaults():
    rooms = [Op(Kind.CREATE_ROOM, room=f"r{i}") for i in range(4)]
    links = [Op(Kind.LINK_SPACE_CHILD, room=f"r{i}", value="s") for i in range(4)]
    found = estimate(rooms + links, Priority(), BOT, RATES)
    assert found.seconds == pytest.approx(4 / 2.0 + 4 / Rates().of(Kind.LINK_SPACE_CHILD))
    assert estimate([], Priority(), BOT, Rates()) == Estimate(0.0, {}, {}, None)


def test_rates_measured_from_stages_leave_small_samples_out():
    timings = [
        StageTiming({"create_user": 200, "create_bot": 1}, 4.0),
        StageTiming({"join": 300}, 10.0),
        StageTiming({"join": 100}, 10.0),
        StageTiming({"set_power_levels": MIN_SAMPLE - 1}, 9.0),
    ]
    rates = measured_rates(timings)
    assert set(rates) == {"create_user", "join"}
    assert rates["join"] == pytest.approx(400 / 20)
    assert 200 / 4.0 < rates["create_user"] < 200 / 3.5  # the bot's share of the stage
    old = Rates({"join": 5.0, "leave": 3.0}, "2026-01-01T00:00:00+00:00")
    at = dt.datetime(2026, 5, 12, 6, 40, tzinfo=dt.UTC)
    new = merged(old, rates, at)
    assert new.per_kind == {
        "join": rates["join"],
        "leave": 3.0,
        "create_user": rates["create_user"],
    }
    assert new.measured_at == "2026-05-12T06:40:00+00:00"
    assert merged(old, {}, at) is old


def test_time_left_follows_what_was_observed():
    eta = Eta(Estimate(100.0, {"join": 100}, {"join": 100.0}, None))
    assert eta.remaining(10) == 90  # nothing done yet: the estimate
    for _ in range(50):
        eta.advance("join")
    assert eta.remaining(100) == pytest.approx(100)  # half done in twice the time
    for _ in range(50):
        eta.advance("join")
    assert eta.remaining(150) == 0


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0, "5 giây"), (42, "40 giây"), (240, "4 phút"), (5399, "1 giờ 30 phút"),
     (26400, "7 giờ 20 phút"), (7200, "2 giờ")],
)  # fmt: skip
def test_durations_in_words(seconds, said):
    assert say_duration(seconds) == said


def test_rates_are_kept_per_homeserver(tmp_path: Path):
    engine = open_directory(f"sqlite:///{tmp_path / 'directory.db'}")
    assert load_rates(engine, "x") == Rates()
    save_rates(engine, "x", Rates())  # nothing measured: nothing written
    assert load_rates(engine, "x") == Rates()
    save_rates(engine, "x", RATES)
    assert load_rates(engine, "x") == RATES
    assert load_rates(engine, "another.server") == Rates()
    engine.dispose()


def test_announcement_and_progress_lines():
    plan = Plan(users(3) + joins("a", 2))
    plan.estimate = estimate(plan.ops, Priority(), BOT, Rates())
    first, second, third = announce_lines(plan)
    assert first == "Sẽ thực hiện 5 thao tác (tạo tài khoản: 3, thêm vào phòng: 2)."
    assert second.startswith("Ước tính: khoảng 5 giây (theo tốc độ mặc định, thận trọng")
    assert third == "Trong đó: mọi người đăng nhập được sau khoảng 5 giây."
    plan.estimate = estimate(plan.ops, Priority(), BOT, RATES)
    assert "theo tốc độ đo được ở lần đồng bộ lúc 13:40 12/05/2026" in announce_lines(plan)[1]
    assert progress_line(1234, 5241, 250, Kind.JOIN) == (
        "Đồng bộ Matrix: 1.234/5.241 thao tác (23 %), đang thêm vào phòng, còn khoảng 4 phút."
    )
    assert progress_line(5, 5, 0, Kind.JOIN) == "Đồng bộ Matrix: 5/5 thao tác (100 %)."


def test_plain_progress_prints_every_so_often_and_at_the_end():
    said: list[str] = []
    now = [0.0]
    plan = Plan(users(4))
    plan.estimate = estimate(plan.ops, Priority(), BOT, RATES)
    advance = PlainProgress(said.append, every=10, clock=lambda: now[0])(plan)
    assert said[0].startswith("Sẽ thực hiện 4 thao tác") and said[1].startswith("Ước tính")
    for at, op in zip((1, 11, 12, 13), plan.ops, strict=True):
        now[0] = at
        advance(op)
    assert said[2:] == [
        "Đồng bộ Matrix: 2/4 thao tác (50 %), đang tạo tài khoản, còn khoảng 10 giây.",
        "Đồng bộ Matrix: 4/4 thao tác (100 %).",
    ]
