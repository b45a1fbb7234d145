"""The embedded stack: Synapse's generated config, the data directory, the supervisor, ``up``."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import queue
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from dieuhanh.config import load_config
from dieuhanh.db import open_database
from dieuhanh.embedded import accounts
from dieuhanh.embedded.datadir import ADMIN_LOCALPART, init_data_dir
from dieuhanh.embedded.ports import LOOPBACK, free_port
from dieuhanh.embedded.supervisor import Child, ChildSpec, RestartPolicy, Supervisor
from dieuhanh.embedded.synapse import RATE_LIMITS, probe
from tests.conftest import SynapseServer
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parent.parent


def _status(base_url: str, method: str, path: str, body: dict | None = None) -> int:
    try:
        accounts.call(base_url, method, path, body)
    except accounts.MatrixError as exc:
        return exc.status
    return 200


# --- Synapse with up's configuration ------------------------------------------


def test_generated_config_answers_versions(synapse: SynapseServer) -> None:
    versions = accounts.call(synapse.base_url, "GET", "/_matrix/client/versions")
    assert versions["versions"]
    assert synapse.start_seconds < 60


def test_public_registration_is_refused(synapse: SynapseServer) -> None:
    body = {"username": "mallory", "password": "x" * 16, "auth": {"type": "m.login.dummy"}}
    assert _status(synapse.base_url, "POST", "/_matrix/client/v3/register", body) == 403


def test_no_federation_listener(synapse: SynapseServer) -> None:
    assert _status(synapse.base_url, "GET", "/_matrix/federation/v1/version") == 404
    assert _status(synapse.base_url, "GET", "/_matrix/key/v2/server") == 404


def test_listener_and_limits_are_internal(synapse: SynapseServer) -> None:
    config = yaml.safe_load(synapse.setup.synapse.config_path.read_text(encoding="utf-8"))
    (listener,) = config["listeners"]
    assert listener["bind_addresses"] == [LOOPBACK]
    assert [r["names"] for r in listener["resources"]] == [["client"]]
    assert config["federation_domain_whitelist"] == []
    assert config["enable_registration"] is False
    for key, per_second, burst_count, _reason in RATE_LIMITS:
        value = config
        for part in key.split("."):
            value = value[part]
        assert value == {"per_second": per_second, "burst_count": burst_count}, key


def test_rate_limits_are_in_effect(synapse: SynapseServer) -> None:
    """Synapse's defaults would answer 429 after 10 rooms and after 5 logins from one IP."""
    user = synapse.register_user()
    rooms = {
        synapse.api("POST", "/_matrix/client/v3/createRoom", {}, token=user.access_token)["room_id"]
        for _ in range(12)
    }
    assert len(rooms) == 12
    password = synapse.setup.data.admin_password_path.read_text(encoding="utf-8").strip()
    sessions = {
        accounts.login(synapse.base_url, ADMIN_LOCALPART, password).access_token for _ in range(7)
    }
    assert len(sessions) == 7


def test_shared_secret_registration(synapse: SynapseServer) -> None:
    session = synapse.register_user("giaovien1", "mat-khau-dai-du", displayname="Giáo viên")
    assert session.user_id == synapse.user_id("giaovien1")
    assert accounts.whoami(synapse.base_url, session.access_token) == session.user_id
    with pytest.raises(accounts.MatrixError) as taken:
        synapse.register_user("giaovien1")
    assert taken.value.errcode == "M_USER_IN_USE"
    # the password given at registration is not usable: only service accounts have one
    with pytest.raises(accounts.MatrixError) as refused:
        accounts.login(synapse.base_url, "giaovien1", "mat-khau-dai-du")
    assert refused.value.status == 403


def test_registration_with_a_wrong_secret_is_refused(synapse: SynapseServer) -> None:
    with pytest.raises(accounts.MatrixError) as refused:
        accounts.register(synapse.base_url, "not-the-secret", "intruder", "password123")
    assert refused.value.status == 403


def test_admin_token_is_a_server_admin(synapse: SynapseServer) -> None:
    user = synapse.api("GET", f"/_synapse/admin/v2/users/{synapse.admin_user_id}")
    assert user["admin"] is True


def test_bridge_answers_synapse_ping(synapse: SynapseServer) -> None:
    """Synapse loads up's appservice registration and reaches the bridge with the hs_token."""
    bridge = subprocess.Popen(
        [sys.executable, "-m", "dieuhanh", "bridge", "--config", str(synapse.config_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert bridge.stdout is not None
        seen: list[str] = []
        for line in bridge.stdout:  # blocks until the bridge reports it listens
            seen.append(line)
            if "started" in line:
                break
        else:
            pytest.fail("the bridge exited:\n" + "".join(seen))
        appservice = synapse.appservice
        result = accounts.call(
            synapse.base_url,
            "POST",
            f"/_matrix/client/v1/appservice/{appservice.id}/ping",
            {},
            token=appservice.as_token,
        )
        assert "duration_ms" in result
        bridge_url = f"http://{appservice.listen_host}:{appservice.listen_port}"
        assert _status(bridge_url, "POST", "/_matrix/app/v1/ping", {}) == 401
        with pytest.raises(accounts.MatrixError) as wrong:
            accounts.call(bridge_url, "POST", "/_matrix/app/v1/ping", {}, token="wrong")
        assert wrong.value.status == 403
    finally:
        bridge.send_signal(signal.SIGTERM)
        assert bridge.wait(timeout=30) == 0


# --- The data directory ---------------------------------------------------------


def _contents(root: Path) -> dict[Path, tuple[bytes, int]]:
    return {
        p: (p.read_bytes(), p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and p.name != ".lock"
    }


def test_data_dir_is_reused(tmp_path: Path) -> None:
    port = free_port()
    first = init_data_dir(tmp_path / "data", port)
    assert first.created
    before = _contents(first.data.root)
    second = init_data_dir(tmp_path / "data", port)
    assert not second.created
    assert second.written == []
    assert _contents(second.data.root) == before
    assert second.config == first.config
    for path in (
        first.data.config_path,
        first.data.appservice_path,
        first.synapse.config_path,
        first.synapse.signing_key_path,
        *first.data.secrets_dir.iterdir(),
    ):
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert first.data.secrets_dir.stat().st_mode & 0o777 == 0o700


def test_port_change_rewrites_only_what_depends_on_it(tmp_path: Path) -> None:
    first = init_data_dir(tmp_path / "data", free_port())
    secrets_before = _contents(first.data.secrets_dir)
    new_port = free_port()
    second = init_data_dir(tmp_path / "data", new_port)
    assert sorted(second.written) == sorted([first.data.config_path, first.synapse.config_path])
    assert _contents(first.data.secrets_dir) == secrets_before
    assert second.config.homeserver.url == f"http://{LOOPBACK}:{new_port}"
    homeserver = yaml.safe_load(second.synapse.config_path.read_text(encoding="utf-8"))
    assert homeserver["listeners"][0]["port"] == new_port
    assert second.config.bridge.as_token == first.config.bridge.as_token


def test_admin_edits_survive_and_busy_bridge_port_moves(tmp_path: Path) -> None:
    first = init_data_dir(tmp_path / "data", free_port())
    raw = yaml.safe_load(first.data.config_path.read_text(encoding="utf-8"))
    raw["sms"]["gateway"] = "http"
    raw["sms"]["http"]["url"] = "https://sms.example/send"
    first.data.config_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind((LOOPBACK, first.config.bridge.listen_port))
        busy.listen()
        second = init_data_dir(tmp_path / "data", first.synapse.port)
    config = load_config(second.data.config_path, environ={})
    assert config.sms.gateway == "http"
    assert config.sms.http.url == "https://sms.example/send"
    new_port = config.bridge.listen_port
    assert new_port != first.config.bridge.listen_port
    registration = yaml.safe_load(second.data.appservice_path.read_text(encoding="utf-8"))
    assert registration["url"] == f"http://{LOOPBACK}:{new_port}"


# --- The supervisor -------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import os, signal, sys, time
    name, log, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    def note(text):
        with open(log, "a") as fh:
            fh.write(f"{name} {text}\\n")
    def on_term(signum, frame):
        note("stopping")
        sys.exit(0)
    marker = log + "." + name
    if mode == "crash-once" and not os.path.exists(marker):
        open(marker, "w").close()
        print("crashing", flush=True)
        sys.exit(3)
    if mode == "crash":
        sys.exit(1)
    signal.signal(signal.SIGTERM, signal.SIG_IGN if mode == "stubborn" else on_term)
    print("ready", flush=True)
    while True:
        signal.pause()
""")


def _spec(name: str, log: Path, mode: str = "run") -> ChildSpec:
    return ChildSpec(name, [sys.executable, "-c", CHILD, name, str(log), mode])


def _ready(child: Child) -> bool:
    return "ready" in child.output


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_supervisor_stops_children_in_reverse_order_on_sigint(tmp_path: Path) -> None:
    log = tmp_path / "events.log"
    supervisor = Supervisor(grace=10)

    async def startup() -> None:
        for name in ("first", "second"):
            child = await supervisor.start(_spec(name, log))
            await child.wait_until(_ready)
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends to the supervisor

    assert await supervisor.run(startup) == 0
    assert log.read_text().splitlines() == ["second stopping", "first stopping"]
    for child in supervisor.children:
        assert child.exit_codes == [0]
        assert child.starts == 1
        assert child.pid is not None and _gone(child.pid)


async def test_children_run_in_their_own_sessions(tmp_path: Path) -> None:
    supervisor = Supervisor()
    child = await supervisor.start(_spec("alone", tmp_path / "log"))
    try:
        await child.wait_until(_ready)
        assert child.pid is not None
        assert os.getsid(child.pid) == child.pid != os.getsid(0)
    finally:
        await supervisor.stop_all()


async def test_child_output_goes_to_console_or_log_file(tmp_path: Path) -> None:
    console = io.StringIO()
    supervisor = Supervisor(console=console)
    loud = await supervisor.start(_spec("loud", tmp_path / "events"))
    quiet_spec = _spec("quiet", tmp_path / "events")
    quiet = await supervisor.start(
        ChildSpec(quiet_spec.name, quiet_spec.argv, log_path=tmp_path / "quiet.log")
    )
    try:
        await loud.wait_until(_ready)
        await quiet.wait_until(_ready)
    finally:
        await supervisor.stop_all()
    assert console.getvalue().splitlines() == ["loud | ready"]
    assert (tmp_path / "quiet.log").read_text() == "ready\n"


async def test_supervisor_restarts_a_crashed_child(tmp_path: Path) -> None:
    supervisor = Supervisor(policy=RestartPolicy(initial_delay=0.05))
    child = await supervisor.start(_spec("flaky", tmp_path / "log", "crash-once"))
    try:
        await asyncio.wait_for(child.wait_until(lambda c: c.starts == 2 and _ready(c)), 30)
        assert child.exit_codes == [3]
        assert list(child.output)[:2] == ["crashing", "ready"]
    finally:
        await supervisor.stop_all()
    assert child.exit_codes == [3, 0]


async def test_supervisor_gives_up_after_repeated_fast_crashes(tmp_path: Path) -> None:
    supervisor = Supervisor(policy=RestartPolicy(initial_delay=0.01, max_fast_crashes=3))

    async def startup() -> None:
        await supervisor.start(_spec("broken", tmp_path / "log", "crash"))

    assert await asyncio.wait_for(supervisor.run(startup), 30) == 1
    (child,) = supervisor.children
    assert supervisor.failed_child is child and child.failed
    assert child.exit_codes == [1, 1, 1]


async def test_supervisor_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    supervisor = Supervisor(grace=0.5)
    child = await supervisor.start(_spec("stubborn", tmp_path / "log", "stubborn"))
    await child.wait_until(_ready)
    await supervisor.stop_all()
    assert child.exit_codes == [-signal.SIGKILL]


# --- dieuhanh up, end to end --------------------------------------------------------------


class Up:
    """``dieuhanh up`` as a subprocess whose output lines arrive on a queue."""

    def __init__(self, data_dir: Path, port: int, demo: str = "mini") -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dieuhanh",
                "up",
                "--data-dir",
                str(data_dir),
                "--port",
                str(port),
                "--demo",
                demo,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = 120) -> None:
        """Until a line contains ``text``; fails with the output if up exits or times out."""
        eventually(
            lambda: self._seen(text),
            timeout,
            f"a line {text!r} from up",
            interval=0,
            diagnostic=lambda: self.output,
        )

    def _seen(self, text: str) -> bool:
        """Whether a line so far holds ``text``, reading at most one more (0.2 s at most)."""
        if any(text in line for line in self.lines):
            return True
        try:
            line = self._queue.get(timeout=0.2)
        except queue.Empty:
            return False
        if line is None:
            pytest.fail(f"up exited before {text!r}:\n" + self.output)
        self.lines.append(line)
        return text in line

    def stop(self) -> int:
        """Ctrl-C, then the exit code (all output read)."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=60)
        while (line := self._queue.get(timeout=10)) is not None:
            self.lines.append(line)
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def _count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(text(f"SELECT count(*) FROM {table}"))


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _services(pids: set[int]) -> dict[str, bytes]:
    """The environment of each of our services (``dieuhanh bot|bridge``) among ``pids``."""
    found = {}
    for pid in pids:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if argv[1:3] == [b"-m", b"dieuhanh"] and argv[3] in (b"bot", b"bridge"):
            found[argv[3].decode()] = environ
    return found


@pytest.fixture
def up_runs() -> Iterator[list[Up]]:
    """Started ``up`` processes; any left running are stopped, their children killed."""
    runs: list[Up] = []
    yield runs
    for run in runs:
        if run.process.poll() is None:
            children = _descendants(run.process.pid)
            run.process.kill()
            run.process.wait()
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)


def test_up_end_to_end(tmp_path: Path, up_runs: list[Up]) -> None:
    data_dir, port = tmp_path / "data", free_port()
    base_url = f"http://{LOOPBACK}:{port}"

    first = Up(data_dir, port)
    up_runs.append(first)
    first.wait_for("Nhấn Ctrl-C để dừng.")
    assert f"Máy chủ Matrix (homeserver): {base_url}" in first.output
    assert "Đã tạo thư mục dữ liệu mới" in first.output
    assert "Đã nạp dữ liệu mẫu vào danh bạ" in first.output, first.output
    assert probe(base_url)
    children = _descendants(first.process.pid)
    assert len(children) >= 3  # synapse, bot, bridge

    config = load_config(data_dir / "config.yaml", environ={})
    admin_token = config.homeserver.resolve_admin_token()  # provisioning's, from its file
    admin = accounts.whoami(base_url, admin_token)
    assert admin == f"@quantri:{config.homeserver.server_name}"
    assert admin_token not in (data_dir / "config.yaml").read_text(encoding="utf-8")
    services = _services(children)
    assert sorted(services) == ["bot", "bridge"], services
    for name, environ in services.items():  # the services hold no admin credential
        assert admin_token.encode() not in environ, name
        assert b"DIEUHANH_HOMESERVER_ADMIN_TOKEN=" not in environ, name
    ping = accounts.call(
        base_url,
        "POST",
        f"/_matrix/client/v1/appservice/{config.bridge.id}/ping",
        {},
        token=config.bridge.as_token,
    )
    assert "duration_ms" in ping
    # a newcomer's first run ends with working accounts for the demo's staff
    first.wait_for("Đã đồng bộ danh bạ vào Matrix", timeout=300)
    assert "lỗi" not in first.lines[-1], first.output
    # announced with its estimate, followed to the end; the bot's account came first
    assert "Ước tính: khoảng" in first.output and "(theo tốc độ mặc định" in first.output
    assert "thao tác (100 %)." in first.output, first.output
    first.wait_for("logged in as @")
    assert "cannot log in yet" not in first.output, first.output
    engine = open_database(config.database.url)
    people, accounts_made = _count(engine, "people"), _count(engine, "matrix_accounts")
    engine.dispose()
    assert people == accounts_made > 0
    some = accounts.call(base_url, "GET", "/_synapse/admin/v2/users?limit=100", token=admin_token)[
        "users"
    ]
    assert len(some) > 40  # the demo's staff, the admin and the bot
    secrets_before = _contents(data_dir / "secrets")
    assert all(
        s not in first.output
        for s in (
            (data_dir / "secrets" / "registration_shared_secret").read_text().strip(),
            admin_token,
            config.bridge.as_token,
        )
    )

    second_port = free_port()  # the same data dir, while it runs: refused
    locked = subprocess.run(
        [
            sys.executable,
            "-m",
            "dieuhanh",
            "up",
            "--data-dir",
            str(data_dir),
            "--port",
            str(second_port),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert locked.returncode == 1
    assert "đang được một tiến trình" in locked.stdout

    assert first.stop() == 0, first.output
    assert "Đã dừng tất cả dịch vụ." in first.output
    assert all(_gone(pid) for pid in children), first.output
    assert not probe(base_url)

    second = Up(data_dir, port)
    up_runs.append(second)
    second.wait_for("Nhấn Ctrl-C để dừng.")
    assert "Dùng lại thư mục dữ liệu" in second.output
    assert "không nạp lại dữ liệu mẫu" in second.output, second.output
    assert "Đã nạp dữ liệu mẫu" not in second.output
    assert "Đã cập nhật" not in second.output
    assert _contents(data_dir / "secrets") == secrets_before
    second.wait_for("Matrix đã khớp với danh bạ.")  # nothing changed: no second apply
    assert second.stop() == 0, second.output


def test_up_refuses_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind((LOOPBACK, 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "dieuhanh",
                "up",
                "--data-dir",
                str(tmp_path / "data"),
                "--port",
                str(port),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"Cổng {port} đang được một chương trình khác sử dụng" in result.stdout
    assert not (tmp_path / "data").exists()
