"""For bench/city_bot.py: a copy of a cached city fixture served, the bot process on it
(its readiness, resident memory and CPU read from /proc), a person in an encrypted DM
with the bot (as Element opens it), and unrelated traffic in "Trao đổi" rooms."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from city_fixture import AS_TOKEN, Fixture, started
from nio import AsyncClient, AsyncClientConfig, RoomMessageNotice, RoomMessageText
from workers import proc_cpu

from dieuhanh.embedded import accounts
from dieuhanh.embedded.ports import free_port
from dieuhanh.embedded.server import RunningSynapse
from provisioning.matrix.client import MatrixClient, q

ROOT = Path(__file__).resolve().parent.parent
TESTER = "citytester"
#: requests of the unrelated traffic under way at most (more are skipped, and counted)
IN_FLIGHT = 16


@contextlib.contextmanager
def served_copy(fixture: Fixture, scratch: Path) -> Iterator[RunningSynapse]:
    """The fixture's data directory copied (runs never change the cache), with a
    directory whose first person is the tester (``directory_for``), served."""
    data = scratch / "data"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(fixture.root, data, symlinks=True)
    directory_for(data, tester_user(fixture))
    with started(data) as running:
        yield running


def tester_user(fixture: Fixture) -> str:
    return f"@{TESTER}:{fixture.bot_user.split(':', 1)[1]}"


def directory_for(scratch: Path, tester_user: str) -> str:
    """A small directory (the mini preset), its first person the tester: a database URL
    (``directory.db`` in ``scratch``, where the Synapse modules of a data dir read it)."""
    from _directory import directory_with_accounts
    from sqlalchemy import select, update

    from provisioning.db.models import MatrixAccount

    path = scratch / "directory.db"
    path.unlink(missing_ok=True)
    engine = directory_with_accounts("mini", path)
    with engine.begin() as conn:
        first = conn.execute(select(MatrixAccount.person_id).limit(1)).scalar_one()
        conn.execute(
            update(MatrixAccount)
            .where(MatrixAccount.person_id == first)
            .values(user_id=tester_user)
        )
    engine.dispose()
    return f"sqlite:///{path}"


class BotProcess:
    """``dieuhanh bot`` on the served copy, with its store and database under scratch."""

    def __init__(
        self, running: RunningSynapse, scratch: Path, database_url: str, code: Path = ROOT
    ) -> None:
        self.port, self.code = free_port(), code
        self.log_path = scratch / "bot.log"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(code),
            "DIEUHANH_DATABASE_URL": database_url,
            "DIEUHANH_BOT_STORE_PATH": str(scratch / "bot-store"),
            "DIEUHANH_HOMESERVER_URL": running.setup.synapse.base_url,
            "DIEUHANH_BOT_METRICS_PORT": str(self.port),
        }
        self.config_path = running.setup.data.config_path
        self.process: subprocess.Popen | None = None
        self.peak_rss = 0.0

    def launch(self) -> None:
        """Start the bot process (its output appended to bot.log)."""
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dieuhanh", "bot", "--config", str(self.config_path)],
                cwd=self.code,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def start(self) -> float:
        """Start the bot; the seconds until /health says it synced (peak RSS kept)."""
        started_at = time.perf_counter()
        self.launch()
        self.peak_rss = 0.0
        while not self.healthy():
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            assert time.perf_counter() - started_at < 1800, "the bot is not ready in 30 min"
            self.peak_rss = max(self.peak_rss, self.rss_mb())
            time.sleep(0.1)
        return time.perf_counter() - started_at

    def profile(self, seconds: float, out: Path) -> subprocess.Popen | None:
        """py-spy sampling the bot for ``seconds`` (if py-spy is on PATH): collapsed stacks."""
        spy = shutil.which("py-spy")
        if spy is None:
            return None
        command = [spy, "record", "-p", str(self.process.pid), "-d", str(int(seconds))]
        command += ["-f", "raw", "-o", str(out), "-r", "200"]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def between(self, first: str, then: str) -> float:
        """Seconds between the log lines holding ``first`` and ``then`` since the launch."""
        found: dict[str, dt.datetime] = {}
        text = self.log_path.read_bytes()[self.log_offset :].decode("utf-8", "replace")
        for row in text.splitlines():
            for marker in (first, then):
                if marker in row and marker not in found:
                    found[marker] = dt.datetime.strptime(row[:23], "%Y-%m-%d %H:%M:%S,%f")
        if first not in found or then not in found:
            return float("nan")
        return (found[then] - found[first]).total_seconds()

    def healthy(self) -> bool:
        url = f"http://127.0.0.1:{self.port}/health"
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                return resp.status == 200
        except OSError:
            return False

    def metrics(self) -> dict[str, float]:
        """The bot's Prometheus sums and counts (event lag, command time), by series."""
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:
            text = resp.read().decode()
        found = {}
        for row in text.splitlines():
            name, _, value = row.rpartition(" ")
            wanted = name.startswith(("dieuhanh_bot_event_lag", "dieuhanh_bot_command_seconds"))
            if wanted and name.split("{")[0].endswith(("_sum", "_count")):
                found[name] = float(value)
        return found

    def rss_mb(self) -> float:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0.0
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    def cpu_seconds(self) -> float:
        return proc_cpu(self.process.pid)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)


class Traffic:
    """Messages from the talkers in "Trao đổi" rooms at a fixed rate (the appservice)."""

    def __init__(self, running: RunningSynapse, fixture: Fixture, rate: float) -> None:
        self.client = MatrixClient(running.setup.synapse.base_url, AS_TOKEN)
        self.pairs = itertools.cycle(
            [(room, user) for room, users in fixture.talkers.items() for user in users]
        )
        self.rate, self.sent, self.failed, self.skipped = rate, 0, 0, 0
        self.in_flight = 0  # at most IN_FLIGHT: a saturated homeserver gets no backlog
        self.task: asyncio.Task | None = None

    async def _one(self, n: int) -> None:
        room_id, user_id = next(self.pairs)
        path = f"/_matrix/client/v3/rooms/{q(room_id)}/send/m.room.message/t{time.time_ns()}.{n}"
        body = {"msgtype": "m.text", "body": f"Trao đổi số {n}: lịch họp tổ tuần sau."}
        self.in_flight += 1
        try:
            await self.client.request("PUT", path, body, params={"user_id": user_id})
            self.sent += 1
        except Exception:
            self.failed += 1
        finally:
            self.in_flight -= 1

    async def _run(self) -> None:
        started_at, pending = time.perf_counter(), set()
        for n in itertools.count():
            await asyncio.sleep(max(0.0, started_at + n / self.rate - time.perf_counter()))
            if self.in_flight >= IN_FLIGHT:
                self.skipped += 1
                continue
            task = asyncio.create_task(self._one(n))
            pending.add(task)
            task.add_done_callback(pending.discard)

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await asyncio.sleep(0.5)  # the last requests land
        await self.client.close()


async def tester(running: RunningSynapse, scratch: Path) -> AsyncClient:
    """A person's encrypting client (registered once per run), synced once."""
    base_url = running.setup.synapse.base_url
    session = accounts.register(
        base_url, running.setup.config.homeserver.registration_shared_secret, TESTER, "x" * 16
    )
    store = scratch / "tester-store"
    store.mkdir(exist_ok=True)
    client = AsyncClient(
        base_url,
        session.user_id,
        store_path=str(store),
        config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True),
    )
    client.restore_login(session.user_id, session.device_id, session.access_token)
    await client.sync(timeout=0, full_state=True)
    await keys(client)
    return client


async def keys(client: AsyncClient, room_id: str | None = None) -> None:
    """What Element does between syncs: publish our keys, learn and reach the others'."""
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        await client.keys_query()
    missing = client.get_missing_sessions(room_id) if room_id else {}
    if client.should_claim_keys or missing:
        await client.keys_claim(missing or client.get_users_for_key_claiming())


async def open_dm(client: AsyncClient, bot: str) -> str:
    """An encrypted DM with the bot, as Element's "Start chat"; once the bot joined."""
    created = await client.room_create(
        is_direct=True,
        invite=[bot],
        initial_state=[
            {
                "type": "m.room.encryption",
                "state_key": "",
                "content": {"algorithm": "m.megolm.v1.aes-sha2"},
            }
        ],
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        await client.sync(timeout=1000)
        room = client.rooms.get(created.room_id)
        if room is not None and bot in room.users:
            await keys(client, created.room_id)
            return created.room_id
    raise AssertionError("the bot did not join the DM in 120 s")


async def ask(client: AsyncClient, room_id: str, bot: str, text: str) -> float:
    """Send ``text`` encrypted; seconds until the bot's (decrypted) reply arrives."""
    started_at = time.perf_counter()
    sent = await client.room_send(
        room_id, "m.room.message", {"msgtype": "m.text", "body": text},
        ignore_unverified_devices=True,
    )  # fmt: skip
    while time.perf_counter() - started_at < 60:
        response = await client.sync(timeout=5000)
        joined = getattr(response, "rooms", None)
        room = joined.join.get(room_id) if joined else None
        for event in room.timeline.events if room else []:
            if isinstance(event, (RoomMessageNotice, RoomMessageText)) and event.sender == bot:
                replied = event.source["content"].get("m.relates_to", {})
                if replied.get("m.in_reply_to", {}).get("event_id") == sent.event_id:
                    return time.perf_counter() - started_at
        await keys(client)
    raise AssertionError(f"no reply to {text!r} in 60 s")
