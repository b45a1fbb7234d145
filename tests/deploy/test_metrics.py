"""Metrics and health of our services, scraped as Prometheus would: the bot (commands,
latency, sync lag, directives), the bridge (polls, 304s, failures, deliveries) and apply
(operations by kind, errors, rate), on the embedded stack."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from bridge import metrics as bridge_metrics
from bridge.service import BridgeService
from dieuhanh.cli import app
from dieuhanh.db import open_database
from dieuhanh.embedded.ports import free_port
from provisioning.db.threads import utcnow
from provisioning.observability import MetricsServer

from ..bot.test_bot_matrix import Setup, send
from ..bot.test_directives_matrix import open_dm, say
from ..bridge.conftest import feed_server, news_world  # noqa: F401 - fixtures
from ..directory.conftest import STAFF_HEADER, UNIT_HEADER, write_csv
from ..waiting import eventually


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def health(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url + "/health", timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


@pytest.mark.asyncio(loop_scope="session")
async def test_bridge_counts_polls_304s_and_deliveries(news_world):  # noqa: F811
    port = free_port()
    config = news_world.config(metrics_port=port)
    engine = open_database(news_world.db_url)
    service = BridgeService(config, engine)
    await service.start(poll=False)
    server = await bridge_metrics.start(service, config)
    url = f"http://127.0.0.1:{port}"
    try:
        status, body = await asyncio.to_thread(health, url)
        assert status == 200 and body["status"] == "ok"
        clock = utcnow()
        first = await service.poller.poll_due(clock + dt.timedelta(days=1))
        news_world.feed("bad1").status = 500
        second = await service.poller.poll_due(clock + dt.timedelta(days=2))
        samples = await asyncio.to_thread(scrape, url + "/metrics")
    finally:
        news_world.feed("bad1").status = 200
        await server.stop()
        await service.stop()
        engine.dispose()
    parsed = sum(1 for r in first if r.status == "ok")
    unchanged = sum(1 for r in second if r.status == "not_modified")
    assert parsed >= 5 and unchanged >= 4
    assert value(samples, "dieuhanh_bridge_polls_total", result="parsed") == parsed
    assert value(samples, "dieuhanh_bridge_polls_total", result="not_modified") == unchanged
    assert value(samples, "dieuhanh_bridge_polls_total", result="failed") == 1
    assert value(samples, "dieuhanh_bridge_feeds_failing") == 1
    posted = sum(r.posted for r in first)
    assert posted > 0 and value(samples, "dieuhanh_bridge_posted_total") == posted
    assert value(samples, "dieuhanh_bridge_deliveries", via="feed", status="sent") == posted
    assert value(samples, "dieuhanh_bridge_events_sent_total") >= posted
    assert value(samples, "dieuhanh_bridge_process_cpu_seconds_total") > 0


@pytest.fixture(scope="module")
def bot_setup(synapse, tmp_path_factory):
    s = Setup(synapse, tmp_path_factory.mktemp("metrics"))
    s.port = free_port()
    s.env["DIEUHANH_BOT_METRICS_PORT"] = str(s.port)
    s.bot.start(wait_for="initial sync done")
    yield s
    s.bot.stop()
    s.engine.dispose()


def test_bot_counts_commands_latency_sync_lag_and_directives(bot_setup):
    s = bot_setup
    url = f"http://127.0.0.1:{s.port}"
    status, body = health(url)
    assert status == 200 and body["last_sync_seconds_ago"] < 120
    d = s.district

    async def run() -> str:
        principal = await s.client("ht1")
        director = await s.client("gd")
        try:
            room_id = s.room(f"role/{d.u('xa')}/head/THCS/public")
            s.wait_reply(room_id, await send(principal, room_id, "!thongke THCS"))
            s.wait_reply(room_id, await send(principal, room_id, "!khongcolenhnay"))
            dm = await open_dm(s, director)
            sent = await say(s, director, dm, "!gui THCS HT: Mời họp giao ban.")
            return sent["vn.dieuhanh.sent"]["code"]
        finally:
            await principal.close()
            await director.close()

    asyncio.run(run())

    def delivered():
        samples = scrape(url + "/metrics")
        sent = value(samples, "dieuhanh_bot_deliveries", state="sent")
        pending = value(samples, "dieuhanh_bot_deliveries", state="pending")
        return samples if sent >= 1 and pending == 0 else None

    samples = eventually(delivered, 60, "every delivery of the directive to be sent")
    assert value(samples, "dieuhanh_bot_commands_total", command="thongke", outcome="ok") == 1
    assert value(samples, "dieuhanh_bot_commands_total", command="unknown", outcome="ok") == 1
    assert value(samples, "dieuhanh_bot_commands_total", command="gui", outcome="ok") == 1
    assert value(samples, "dieuhanh_bot_command_seconds_count", command="thongke") == 1
    assert value(samples, "dieuhanh_bot_event_lag_seconds_count") >= 3
    assert value(samples, "dieuhanh_bot_deliveries", state="pending") == 0
    assert value(samples, "dieuhanh_bot_directive_events_sent_total") >= 1
    assert 0 <= value(samples, "dieuhanh_bot_last_sync_age_seconds") < 120


def test_apply_writes_operations_by_kind_and_its_rate(bot_setup, tmp_path):
    s = bot_setup
    d = copy.deepcopy(s.district)
    row = list(d.staff[1])
    row[0], row[1], row[2] = d.p("moi"), "Đoàn Văn Mới", f"0{int(row[2]) + 50_000}"
    d.staff.append(row)
    runner = CliRunner()
    env = {
        "DIEUHANH_DATABASE_URL": s.db_url,
        "DIEUHANH_HOMESERVER_URL": s.synapse.base_url,
        "DIEUHANH_HOMESERVER_ADMIN_TOKEN": s.synapse.admin_token,
    }
    config = ["--config", str(s.synapse.config_path)]
    files = [
        str(write_csv(tmp_path / "don_vi.csv", UNIT_HEADER, d.units)),
        str(write_csv(tmp_path / "nhan_su.csv", STAFF_HEADER, d.staff)),
    ]
    imported = runner.invoke(app, ["import", *files, *config], env=env)
    assert imported.exit_code == 0, imported.output
    path = tmp_path / "textfile" / "dieuhanh_apply.prom"
    applied = runner.invoke(app, ["apply", "--metrics-file", str(path), *config], env=env)
    assert applied.exit_code == 0, applied.output
    samples = scrape(path.as_uri())
    assert value(samples, "dieuhanh_apply_operations_total", kind="create_user") == 1
    joins = value(samples, "dieuhanh_apply_operations_total", kind="join")
    assert joins >= 2  # the new teacher's rooms
    total = value(samples, "dieuhanh_apply_operations_total")
    assert f"Đã thực hiện {int(total)} thao tác" in applied.output
    assert value(samples, "dieuhanh_apply_errors_total") == 0
    assert value(samples, "dieuhanh_apply_runs_total", result="ok") == 1
    assert value(samples, "dieuhanh_apply_rate_ops_per_second") > 0


@pytest.mark.asyncio(loop_scope="session")
async def test_health_answers_503_with_the_reason_when_unhealthy():
    async def unhealthy():
        return False, {"last_sync_seconds_ago": 900}

    server = MetricsServer(CollectorRegistry(), unhealthy)
    port = free_port()
    await server.start("127.0.0.1", port)
    try:
        status, body = await asyncio.to_thread(health, f"http://127.0.0.1:{port}")
    finally:
        await server.stop()
    assert status == 503 and body == {"status": "unhealthy", "last_sync_seconds_ago": 900}
