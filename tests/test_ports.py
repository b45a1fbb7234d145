"""Port choice between concurrent starts: two ``dieuhanh up`` (or embedded runners) started
at once on one machine never give their bridges the same port. Only loopback is bound."""

from __future__ import annotations

import multiprocessing
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dieuhanh.embedded.datadir import init_data_dir
from dieuhanh.embedded.ports import LOOPBACK, free_port, keep_only, reserve

ROOT = Path(__file__).resolve().parent.parent
STARTS = 3


@pytest.fixture
def lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own reservations (spawned processes inherit the variable)."""
    path = tmp_path / "port-locks"
    monkeypatch.setenv("DIEUHANH_PORT_LOCK_DIR", str(path))
    return path


def _start(root: str, port: int, ready, chosen, done) -> None:
    """One start in its own process: lay out its data dir when all are ready, say which
    ports it chose, and live on (as ``up`` does) until every start has chosen."""
    ready.wait(60)
    setup = init_data_dir(Path(root), port)
    chosen.put((root, setup.config.bridge.listen_port, setup.config.web.listen_port))
    done.wait(60)


def test_concurrent_starts_never_choose_the_same_port(tmp_path: Path, lock_dir: Path) -> None:
    bridge, web = free_port(), free_port()  # what every data dir asks for (both free)
    roots = []
    for i in range(STARTS):
        root = tmp_path / f"data{i}"
        root.mkdir()
        config = {"bridge": {"listen_port": bridge}, "web": {"listen_port": web}}
        (root / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        roots.append(str(root))
    spawn = multiprocessing.get_context("spawn")
    ready, done, chosen = spawn.Barrier(STARTS), spawn.Barrier(STARTS + 1), spawn.Queue()
    starts = [
        spawn.Process(target=_start, args=(root, free_port(), ready, chosen, done))
        for root in roots
    ]
    for process in starts:
        process.start()
    try:
        got = [chosen.get(timeout=120) for _ in starts]
        done.wait(60)
    finally:
        for process in starts:
            process.join(60)
            if process.is_alive():
                process.kill()
    ports = [p for _, b, w in got for p in (b, w)]
    assert len(set(ports)) == len(ports) == 2 * STARTS, got
    assert {bridge, web} <= set(ports)  # free: asked for, and one start got each
    assert all(process.exitcode == 0 for process in starts)
    assert len(list(lock_dir.glob("port-*.lock"))) >= 2 * STARTS  # this test's, not /tmp's


def test_a_reservation_holds_against_other_owners_and_processes(lock_dir: Path) -> None:
    port = free_port()
    assert reserve(port, "/data/a") and reserve(port, "/data/a")  # again: still a's
    assert not reserve(port, "/data/b")
    keep_only("/data/a", [])
    assert reserve(port, "/data/b")
    keep_only("/data/b", [])
    other = subprocess.Popen(  # another start holds it while it lives
        [sys.executable, "-c", HOLD, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None and other.stdout.readline() == "held\n"
        assert not reserve(port, "/data/a")
    finally:
        other.communicate("", timeout=30)  # it exits: the kernel drops its lock
    assert reserve(port, "/data/a")
    keep_only("/data/a", [])


HOLD = """
import sys
from dieuhanh.embedded.ports import reserve
assert reserve(int(sys.argv[1]), "/data/other")
print("held", flush=True)
sys.stdin.read()
"""


def test_a_busy_port_is_not_reserved(lock_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind((LOOPBACK, 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert not reserve(port, "/data/a")
    assert reserve(port, "/data/b")  # the failed try kept nothing
    keep_only("/data/b", [])


def test_without_a_trusted_lock_dir_ports_are_only_checked_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    monkeypatch.setenv("DIEUHANH_PORT_LOCK_DIR", str(tmp_path / "link"))
    port = free_port()
    assert reserve(port, "/data/a") and reserve(port, "/data/b")
    assert "port reservations off" in caplog.text
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_up_refuses_a_port_another_start_reserved(tmp_path: Path, lock_dir: Path) -> None:
    port = free_port()
    assert reserve(port, "/data/other")
    try:
        up = ["up", "--data-dir", str(tmp_path / "data"), "--port", str(port)]
        result = subprocess.run(
            [sys.executable, "-m", "dieuhanh", *up],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        keep_only("/data/other", [])
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Cổng {port} vừa được một tiến trình `dieuhanh up` khác chọn" in result.stdout
    assert not (tmp_path / "data" / "config.yaml").exists()
