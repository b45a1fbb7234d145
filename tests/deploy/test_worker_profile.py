"""End to end on the worker profile: Synapse's main process, two event persisters, a
generic worker and the background worker on PostgreSQL and Redis, nginx in front, the bot
and the bridge — started by `dieuhanh deploy run` under the supervisor, exactly as a
developer starts it.

Import, apply, phone login, `!gui` to a role group and to an inbox, a read receipt, a
user directory search, `!baocao`, an event to the bridge's appservice; along the way,
requests must have gone where the profile routes them.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from nio import AsyncClient, AsyncClientConfig
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from dieuhanh.config import load_config
from dieuhanh.deploy import Answers
from dieuhanh.deploy.bootstrap import drop_databases
from dieuhanh.embedded import accounts

from ..bot.test_directives_matrix import open_dm, own_sync, say
from ..conftest import POSTGRES_URL
from ..directory.conftest import STAFF_HEADER, UNIT_HEADER, write_csv
from ..identity.test_login import code_for, national
from ..provisioning.conftest import make_district
from ..waiting import eventually, eventually_async, log_tail

pytestmark = pytest.mark.workers

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 400


def server_url(url: str) -> str:
    """The PostgreSQL server of a database URL (the profile makes its own databases)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=""))


def redis_answers() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class Profile:
    root: Path
    info: dict[str, Any]
    process: subprocess.Popen
    answers: Answers

    @property
    def url(self) -> str:
        return self.info["url"]

    @property
    def env(self) -> dict[str, str]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if self.info.get("pgpassfile"):
            env["PGPASSFILE"] = self.info["pgpassfile"]
        return env

    def dieuhanh(self, *args: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "dieuhanh", *args, "--config", self.info["config"]]
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=600)

    def log(self, name: str) -> str:
        path = self.root / "log" / name
        return path.read_text(encoding="utf-8", errors="replace")[-4000:] if path.exists() else ""


def start_profile(root: Path, answers: Answers) -> Profile:
    argv = [
        sys.executable,
        "-m",
        "dieuhanh",
        "deploy",
        "run",
        str(root),
        "--postgres-url",
        answers.postgres_url,
        "--server-name",
        answers.server_name,
        "--redis-url",
        answers.redis_url,
        "--synapse-db",
        answers.synapse_database,
        "--directory-db",
        answers.directory_database,
        "--event-persisters",
        "2",
        "--generic-workers",
        "1",
    ]
    log_path = root.parent / "deploy-run.log"
    output = log_path.open("wb")
    process = subprocess.Popen(
        argv, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
    )
    ready = root / "ready.json"

    def started() -> bool:
        if process.poll() is not None:
            stop(process)
            raise AssertionError("the worker profile exited:\n" + log_tail(log_path, 5000)())
        return ready.exists()

    try:
        eventually(started, START_TIMEOUT, "the worker profile to start",
                   interval=0.5, diagnostic=log_tail(log_path, 5000))  # fmt: skip
    except AssertionError:
        stop(process)
        raise
    return Profile(root, json.loads(ready.read_text()), process, answers)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    assert POSTGRES_URL, "the worker profile needs DIEUHANH_TEST_POSTGRES_URL (.ci/run sets it)"
    assert redis_answers(), "the worker profile needs Redis on 127.0.0.1:6379 (.ci/run starts it)"
    suffix = uuid.uuid4().hex[:10]
    answers = Answers(
        # Synapse names its Redis channels after the server name, and dbid keeps its cache
        # keys apart: concurrent runs on one Redis do not see each other
        server_name=f"w{suffix}.test",
        public_url="http://127.0.0.1",
        postgres_url=server_url(POSTGRES_URL),
        redis_url=f"redis://127.0.0.1:6379/{1 + secrets.randbelow(15)}",
        synapse_database=f"dh_w_syn_{suffix}",
        directory_database=f"dh_w_dir_{suffix}",
    )
    try:
        running = start_profile(tmp_path_factory.mktemp("workers") / "profile", answers)
        try:
            yield running
        finally:
            stop(running.process)
    finally:
        drop_databases(answers)


def metrics(url: str) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read().decode()
    found = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def metric(values: dict, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(v for (n, ls), v in values.items() if n == name and set(labels.items()) <= set(ls))


def wait_until(check, what: str, timeout: float = 120) -> Any:
    return eventually(check, timeout, what, interval=0.3)


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


class Staff:
    """What the directives tests' helpers expect of their setup, on the profile."""

    def __init__(self, p: Profile, district) -> None:
        self.profile, self.district = p, district
        self.config = load_config(p.info["config"], environ={})
        self.synapse = SimpleNamespace(
            base_url=p.url,
            server_name=p.answers.server_name,
            setup=SimpleNamespace(config=self.config),
            api=lambda method, path, body=None, token=None: accounts.call(
                p.url, method, path, body, token=token
            ),
        )
        self.bot = SimpleNamespace(log_path=p.root / "log" / "bot.log")

    def phone(self, person: str) -> str:
        return "+84" + self.district.row(person)[2][1:]

    async def client(self, person: str) -> AsyncClient:
        """Logged in like Element: the phone number as username, the code from the SMS."""
        phone = self.phone(person)
        client = AsyncClient(
            self.profile.url, national(phone), config=AsyncClientConfig(store_sync_tokens=True)
        )
        response = await client.login(code_for(self.synapse, phone), device_name="Element")
        assert client.access_token, response
        await client.sync(timeout=0, full_state=True)
        return client


def deliveries(engine, code: str) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT d.kind, d.event_id FROM directive_deliveries d JOIN directives x"
                " ON x.id = d.directive_id WHERE x.code = :c"
            ),
            {"c": code},
        ).all()


def appservice_delivered_from_the_background_worker(profile: Profile) -> None:
    """An event the bridge's appservice is interested in (its own user creates a room)
    reaches the bridge: a transaction the bridge accepted, sent by the background worker
    (``notify_appservices_from_worker``), none by the main process."""
    as_token = (profile.root / "etc" / "secrets" / "as_token").read_text().strip()
    accounts.call(profile.url, "POST", "/_matrix/client/v3/createRoom", {}, token=as_token)
    by = profile.info["synapse_metrics"]
    name = "synapse_appservice_api_sent_events_total"
    wait_until(
        lambda: metric(metrics(by["background"]), name) >= 1,
        f"the bridge to accept a transaction:\n{profile.log('synapse-background.log')}",
    )
    assert metric(metrics(by["main"]), name) == 0


def test_import_apply_login_directives_and_report_on_the_worker_profile(
    profile, tmp_path, monkeypatch
):
    district = make_district(f"w{uuid.uuid4().hex[:6]}-")
    units = write_csv(tmp_path / "don_vi.csv", UNIT_HEADER, district.units)
    staff_file = write_csv(tmp_path / "nhan_su.csv", STAFF_HEADER, district.staff)
    imported = profile.dieuhanh("import", str(units), str(staff_file))
    assert imported.returncode == 0, imported.stdout + imported.stderr

    metrics_file = tmp_path / "apply.prom"
    applied = profile.dieuhanh("apply", "--metrics-file", str(metrics_file))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    applied_ops = metrics(metrics_file.as_uri())
    assert metric(applied_ops, "dieuhanh_apply_operations_total", kind="join") > 0
    assert metric(applied_ops, "dieuhanh_apply_runs_total", result="ok") == 1

    wait_until(  # the bot logs in once apply created it, then syncs
        lambda: http_status(profile.info["bot_metrics"] + "/health") == 200,
        f"the bot's health:\n{profile.log('bot.log')}",
        timeout=180,
    )
    staff = Staff(profile, district)
    config = staff.config
    if profile.info.get("pgpassfile"):
        monkeypatch.setenv("PGPASSFILE", profile.info["pgpassfile"])
    engine = create_engine(config.database.url)

    async def scenario() -> tuple[str, str, dict]:
        sender = await staff.client("tp")  # the xã's Trưởng phòng
        try:
            dm = await open_dm(staff, sender)
            to_group = await say(staff, sender, dm, "!gui THCS GV: Kính gửi quý thầy cô: họp tổ.")
            group_code = to_group["vn.dieuhanh.sent"]["code"]
            await say(staff, sender, dm, "!gui")
            await say(staff, sender, dm, "tin nhắn")
            await say(staff, sender, dm, "tất cả")
            await say(staff, sender, dm, "Trần Thị Bình")  # one of a group: her inbox
            await say(staff, sender, dm, "Đề nghị cô gửi kế hoạch tuần.")
            await say(staff, sender, dm, "xong")
            inbox_code = (await say(staff, sender, dm, "gửi"))["vn.dieuhanh.sent"]["code"]
            wait_until(
                lambda: (
                    deliveries(engine, group_code)
                    and all(e for _, e in deliveries(engine, group_code))
                ),
                "the group directive's deliveries",
            )
            reader = await staff.client("gv1")
            try:
                turn = staff.synapse.api(
                    "GET", "/_matrix/client/v3/voip/turnServer", token=reader.access_token
                )
                for room_id, event_id in own_sync(staff, reader.access_token, group_code):
                    staff.synapse.api(
                        "POST",
                        f"/_matrix/client/v3/rooms/{room_id}/receipt/m.read/{quote(event_id)}",
                        {},
                        token=reader.access_token,
                    )
            finally:
                await reader.close()

            async def read_once() -> dict | None:
                answer = await say(staff, sender, dm, f"!baocao {group_code}")
                report = answer["vn.dieuhanh.report"]
                return report if report["read"] >= 1 else None

            report = await eventually_async(read_once, 60, "!baocao to count the receipt")
            found = wait_until(  # once the background worker has put the rooms in
                lambda: staff.synapse.api(
                    "POST",
                    "/_matrix/client/v3/user_directory/search",
                    {"search_term": "Bình"},
                    token=sender.access_token,
                )["results"],
                "the user directory to find a colleague",
            )
            sliding = staff.synapse.api(  # Element X's sync, as its room list asks it
                "POST",
                "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync?timeout=0",
                {
                    "lists": {
                        "phong": {
                            "ranges": [[0, 19]],
                            "timeline_limit": 1,
                            "required_state": [["m.room.name", ""]],
                        }
                    }
                },
                token=sender.access_token,
            )
            seen = {"report": report, "turn": turn, "found": found, "sliding": sliding}
            return group_code, inbox_code, seen
        finally:
            await sender.close()

    group_code, inbox_code, seen = asyncio.run(scenario())
    report = seen["report"]
    assert report["read"] == 1 and report["delivered"] == report["recipients"] >= 4, report
    kinds = {k for k, _ in deliveries(engine, group_code)}
    assert "room" in kinds, kinds  # a role group got it, once for all its members
    wait_until(lambda: all(e for _, e in deliveries(engine, inbox_code)), "the inbox delivery")
    assert {k for k, _ in deliveries(engine, inbox_code)} == {"inbox"}

    assert any("Bình" in (r.get("display_name") or "") for r in seen["found"]), seen["found"]
    turn = seen["turn"]  # through nginx, answered by the generic worker
    assert turn["uris"] and int(turn["username"].split(":")[0]) > time.time()
    assert turn["password"]

    by = profile.info["synapse_metrics"]
    persisted = [
        metric(metrics(by[name]), "synapse_storage_events_persisted_events_total")
        for name in ("event_persister1", "event_persister2")
    ]
    assert all(n > 0 for n in persisted), persisted  # rooms sharded over both persisters
    generic = metrics(by["generic_worker1"])
    assert metric(generic, "synapse_http_server_requests_received_total", servlet="SyncRestServlet")
    assert metric(
        generic, "synapse_http_server_requests_received_total", servlet="ReceiptRestServlet"
    )
    assert seen["sliding"]["pos"] and seen["sliding"]["lists"]["phong"]["count"] >= 1
    assert metric(  # Element X's sync: on the workers, not on main
        generic, "synapse_http_server_requests_received_total", servlet="SlidingSyncRestServlet"
    )
    background = metrics(by["background"])
    assert metric(
        background,
        "synapse_http_server_requests_received_total",
        servlet="UserDirectorySearchRestServlet",
    )
    appservice_delivered_from_the_background_worker(profile)
    bot = metrics(profile.info["bot_metrics"] + "/metrics")
    assert metric(bot, "dieuhanh_bot_commands_total", command="gui", outcome="ok") >= 2
    assert metric(bot, "dieuhanh_bot_commands_total", command="baocao", outcome="ok") >= 1
    assert metric(bot, "dieuhanh_bot_deliveries", state="sent") >= 2
    assert http_status(profile.info["bridge_metrics"] + "/health") == 200
    engine.dispose()

    # a backup while it all runs: both PostgreSQL databases dumped, media, the bot's store
    profile_yaml = str(profile.root / "etc" / "deploy.yaml")
    saved = tmp_path / "backup"
    argv = [sys.executable, "-m", "dieuhanh", "backup", "--profile", profile_yaml, str(saved)]
    done = subprocess.run(argv, env=profile.env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((saved / "manifest.json").read_text())
    assert [d["name"] for d in manifest["databases"]] == ["directory", "synapse"]
    assert all((saved / d["file"]).stat().st_size > 10_000 for d in manifest["databases"])
    assert (saved / "trees" / "etc" / "secrets" / "signing.key").exists()
    assert list((saved / "trees" / "bot").glob("*.db")), "the bot's olm store"
