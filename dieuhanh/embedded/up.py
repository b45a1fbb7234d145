"""``dieuhanh up``: the whole stack on one machine, state under one data directory."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from dieuhanh.config import Config, load_config
from dieuhanh.embedded import accounts
from dieuhanh.embedded.datadir import EmbeddedSetup, init_data_dir
from dieuhanh.embedded.ports import port_is_free, reserve
from dieuhanh.embedded.server import ensure_admin
from dieuhanh.embedded.supervisor import Child, ChildSpec, Supervisor
from dieuhanh.embedded.synapse import (
    SynapseStartError,
    check_start,
    log_size,
    probe,
    wait_for_background_updates,
)

log = logging.getLogger(__name__)

SYNAPSE_START_TIMEOUT = 120.0
#: Seconds between two progress lines of the first apply on the console.
PROGRESS_EVERY = 10.0


class UpError(RuntimeError):
    """A failure to report to the admin (the message is in Vietnamese)."""


def run_up(data_dir: Path, port: int, demo: str = "demo") -> int:
    """Run the embedded stack until Ctrl-C; the process exit code."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    root = data_dir.expanduser().resolve()
    try:
        if not 1 <= port <= 65535:
            raise UpError(f"Cổng {port} không hợp lệ (phải từ 1 đến 65535).")
        if not port_is_free(port):
            raise UpError(
                f"Cổng {port} đang được một chương trình khác sử dụng. Hãy dừng chương "
                f"trình đó hoặc chọn cổng khác: dieuhanh up --port <cổng>."
            )
        with _locked(root):
            if not reserve(port, str(root)):  # free a moment ago: another start chose it
                raise UpError(
                    f"Cổng {port} vừa được một tiến trình `dieuhanh up` khác chọn. Hãy chọn "
                    f"cổng khác: dieuhanh up --port <cổng>."
                )
            setup = init_data_dir(root, port)
            _say_data_dir(setup)
            code = asyncio.run(_supervise(setup, demo))
    except UpError as exc:
        _say(f"Lỗi: {exc}")
        return 1
    except SynapseStartError as exc:
        _say(f"Lỗi: máy chủ Synapse không khởi động được.\n{exc}")
        return 1
    _say("Đã dừng tất cả dịch vụ." if code == 0 else "Hệ thống đã dừng do lỗi.")
    return code


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Hold an exclusive lock on the data directory while the stack runs."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UpError(
                f"Thư mục dữ liệu {root} đang được một tiến trình `dieuhanh up` khác sử dụng."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


async def _supervise(setup: EmbeddedSetup, demo: str) -> int:
    supervisor = Supervisor()
    code = await supervisor.run(lambda: _start_stack(supervisor, setup, demo))
    if supervisor.failed_child is not None:
        child = supervisor.failed_child
        _say(f"Lỗi: dịch vụ {child.name} liên tục dừng đột ngột nên hệ thống đã dừng.")
        if child.tail():
            _say(f"Những dòng cuối của {child.name}:\n{child.tail(20)}")
        if child.name == "synapse":
            _say(f"Nhật ký Synapse: {setup.synapse.log_path}")
    return code


#: Admin credentials an operator may have exported for `dieuhanh apply`: no child inherits
#: them (the admin token is provisioning's alone; the bot and the bridge hold their own).
ADMIN_ENV = (
    "DIEUHANH_HOMESERVER_ADMIN_TOKEN",
    "DIEUHANH_HOMESERVER_REGISTRATION_SHARED_SECRET",
)
CHILD_ENV = {
    "PYTHONUNBUFFERED": "1",
    # config.yaml names the admin token's file for provisioning; the services get no name
    "DIEUHANH_HOMESERVER_ADMIN_TOKEN_FILE": "",
}


def service_spec(setup: EmbeddedSetup, service: str) -> ChildSpec:
    """How ``up`` runs the bot or the bridge: on config.yaml, without admin credentials."""
    return ChildSpec(
        service,
        [sys.executable, "-m", "dieuhanh", service, "--config", str(setup.data.config_path)],
        cwd=setup.data.root,
        env=CHILD_ENV,
        unset_env=ADMIN_ENV,
    )


async def _start_stack(supervisor: Supervisor, setup: EmbeddedSetup, demo: str) -> None:
    """Synapse, then the admin account and the demo, then our services; then the banner."""
    log_offset = log_size(setup.synapse)
    synapse = await supervisor.start(
        ChildSpec(
            "synapse",
            setup.synapse.command(),
            cwd=setup.synapse.config_dir,
            env=CHILD_ENV,
            unset_env=ADMIN_ENV,
        )
    )
    took = await _wait_for_synapse(setup, synapse, log_offset)
    log.info("synapse answered after %.1f s", took)
    await asyncio.to_thread(ensure_admin, setup, keep_token=True)
    effective = load_config(setup.data.config_path)  # with environment overrides
    for line in await asyncio.to_thread(_load_demo_if_empty, effective, setup.data.demo_dir, demo):
        _say(line)
    await _ensure_bot(effective)
    started = {}
    for service in ("bot", "bridge"):
        started[service] = await supervisor.start(service_spec(setup, service))
    # accounts are being made while the bridge starts: people can log in at the banner
    for job in (_reconcile(effective, setup), _print_sms(effective)):
        task = asyncio.create_task(job)
        _background.add(task)
        task.add_done_callback(_background.discard)
    if not await _wait_for_bridge(setup, started["bridge"]):
        _say("Cảnh báo: Synapse chưa liên lạc được với bridge; xem nhật ký của bridge ở trên.")
    _say(_banner(setup))


async def _ensure_bot(config: Config) -> None:
    """The bot's account before the bot starts, so that it logs in at once (the first
    apply would make it too, but the bot would be waiting for it)."""
    from dieuhanh.db import open_database
    from provisioning.matrix.apply import ensure_bot
    from provisioning.matrix.client import MatrixError

    engine = await asyncio.to_thread(open_database, config.database.url)
    try:
        if await ensure_bot(engine, config):
            log.info("created the bot's account")
    except MatrixError as exc:  # the first apply will create it
        log.warning("could not create the bot's account yet: %s", exc)
    finally:
        engine.dispose()


#: Tasks that run beside the children (kept referenced until they finish).
_background: set[asyncio.Task[None]] = set()


async def _provision(config: Config, setup: EmbeddedSetup) -> None:
    """Mirror the directory into Matrix when it changed since the last apply.

    Runs beside the services, so the banner is not held up; departed people's accounts
    are deactivated first, then accounts are created, then rooms fill in. Ctrl-C
    interrupts it safely: the next start finishes the job.
    """
    from dieuhanh.db import open_database
    from provisioning.matrix.apply import MassRemovalRefused, apply, needs_apply
    from provisioning.matrix.lock import ApplyLocked
    from provisioning.matrix.progress import PlainProgress

    await asyncio.to_thread(wait_for_background_updates, setup.synapse)
    engine = open_database(config.database.url)
    try:
        if not needs_apply(engine):
            _say("Matrix đã khớp với danh bạ.")
            return
        _say(
            "Đang đồng bộ danh bạ vào Matrix: tài khoản trước, rồi phòng của lãnh đạo các "
            "đơn vị quản lý và nhóm hiệu trưởng, rồi các phòng còn lại."
        )
        result = await apply(
            engine,
            config,
            wait=True,
            progress=PlainProgress(_say, every=PROGRESS_EVERY),
            concurrency=config.provisioning.concurrency,
            max_removal_share=config.provisioning.max_removal_share,
        )
    except MassRemovalRefused as exc:
        locked = exc.result.counts.get("deactivate_user", 0) - len(exc.result.failures)
        if locked:
            _say(f"Đã khoá {locked} tài khoản Matrix của người nghỉ việc.")
        _say(f"Không tự đồng bộ {'phần còn lại ' if locked else ''}vào Matrix: {exc}")
        return
    except ApplyLocked as exc:
        _say(f"Không tự đồng bộ vào Matrix: {exc}")
        return
    except Exception:
        log.exception("provisioning failed")
        _say("Lỗi khi đồng bộ vào Matrix (chi tiết ở trên); chạy `dieuhanh apply` để thử lại.")
        return
    finally:
        engine.dispose()
    failed = len(result.failures)
    _say(
        f"Đã đồng bộ danh bạ vào Matrix: {result.done - failed} thao tác trong "
        f"{result.seconds:.0f} giây"
        + (f", {failed} lỗi (chạy `dieuhanh apply` để thử lại)." if failed else ".")
    )


async def _reconcile(config: Config, setup: EmbeddedSetup) -> None:
    """The first apply, then the reconcile loop: every later change of the directory (an
    import, a correction by !capnhat) reaches Matrix within seconds."""
    from dieuhanh.db import open_database
    from provisioning.matrix.watch import watch

    await _provision(config, setup)
    engine = open_database(config.database.url)
    try:
        await watch(engine, config, asyncio.Event())  # until the stack stops (cancelled)
    finally:
        engine.dispose()


async def _print_sms(config: Config) -> None:
    """Show what the development SMS sink receives (login codes), as it arrives."""
    if config.sms.gateway != "file":
        return
    path = Path(config.sms.file_path)
    offset = path.stat().st_size if path.exists() else 0
    while True:
        await asyncio.sleep(0.5)
        if not path.exists() or path.stat().st_size <= offset:
            continue
        with path.open("rb") as fh:
            fh.seek(offset)
            chunk = fh.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        offset += len(complete)
        for line in complete.decode("utf-8", "replace").splitlines():
            try:
                sms = json.loads(line)
                _say(f"SMS (thử nghiệm) đến {sms['to']}: {sms['text']}")
            except (ValueError, KeyError, TypeError):
                continue


async def _wait_for_synapse(setup: EmbeddedSetup, synapse: Child, log_offset: int) -> float:
    """Poll until Synapse answers; fail at once if it dies, with its new log lines.

    Its output is already on the console, so the error does not repeat it.
    """
    files = setup.synapse
    start = time.monotonic()
    while not await asyncio.to_thread(probe, files.base_url):
        check_start(
            files,
            started=start,
            timeout=SYNAPSE_START_TIMEOUT,
            exit_code=synapse.exit_codes[-1] if synapse.exit_codes else None,
            log_offset=log_offset,
        )
        await asyncio.sleep(0.2)
    return time.monotonic() - start


async def _wait_for_bridge(setup: EmbeddedSetup, bridge: Child, timeout: float = 30.0) -> bool:
    """Until Synapse reaches the bridge (appservice ping); False on timeout."""
    bridge_config = setup.config.bridge
    path = f"/_matrix/client/v1/appservice/{accounts.quote(bridge_config.id)}/ping"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            await asyncio.to_thread(
                accounts.call,
                setup.synapse.base_url,
                "POST",
                path,
                {},
                token=bridge_config.as_token,
                timeout=5.0,
            )
            return True
        except (accounts.MatrixError, OSError) as exc:
            log.debug("bridge not reachable yet: %s", exc)
        await asyncio.sleep(0.2)
    log.warning(
        "Synapse could not reach the bridge within %.0f s (%d starts)", timeout, bridge.starts
    )
    return False


def _load_demo_if_empty(config: Config, demo_dir: Path, preset: str) -> list[str]:
    """Import the demo district into an empty directory; the lines to show."""
    from dieuhanh.db import open_database
    from provisioning.db import directory_is_empty
    from provisioning.demo import write_demo
    from provisioning.importer import import_paths

    try:
        engine = open_database(config.database.url)
        try:
            if not directory_is_empty(engine):
                return ["Danh bạ đã có dữ liệu: không nạp lại dữ liệu mẫu."]
            if preset == "none":
                return ["Danh bạ trống; nhập danh bạ bằng `dieuhanh import`."]
            paths = write_demo(demo_dir, preset)
            result = import_paths(engine, paths)
        finally:
            engine.dispose()
    except Exception:
        log.exception("loading the demo district failed")
        return [
            "Lỗi khi nạp dữ liệu mẫu (chi tiết trong nhật ký phía trên); "
            "hệ thống vẫn tiếp tục chạy."
        ]
    head = (
        "Đã nạp dữ liệu mẫu vào danh bạ:"
        if result.exit_code == 0
        else "Dữ liệu mẫu được nạp nhưng có lỗi:"
    )
    return [head, *(f"  {line}" for line in result.summary_lines())]


def _say_data_dir(setup: EmbeddedSetup) -> None:
    root = setup.data.root
    if setup.created:
        _say(f"Đã tạo thư mục dữ liệu mới: {root}")
        return
    _say(f"Dùng lại thư mục dữ liệu: {root}")
    if setup.written:
        names = ", ".join(str(p.relative_to(root)) for p in setup.written)
        _say(f"Đã cập nhật theo cấu hình mới: {names}")


def _banner(setup: EmbeddedSetup) -> str:
    url = setup.synapse.base_url
    return "\n".join(
        [
            "",
            "Điều hành đã sẵn sàng.",
            f"  Máy chủ Matrix (homeserver): {url}",
            f"  Tên máy chủ (server name):   {setup.config.homeserver.server_name}",
            f"  Tài khoản quản trị:          {setup.admin_user_id}",
            f"  Mật khẩu quản trị lưu trong: {setup.data.admin_password_path}",
            f"  Cấu hình các dịch vụ:        {setup.data.config_path}",
            f"  Trang lấy mã đăng nhập:      {url}/_dieuhanh/dang-nhap",
            f"  Trang Gửi thông báo:         {_web_base(setup)}/_dieuhanh/gui-thong-bao",
            "Cán bộ đăng nhập bằng số điện thoại: lấy mã ở trang trên (SMS thử nghiệm",
            f"được in ra đây và ghi vào {setup.config.sms.file_path}), rồi trong Element",
            f"chọn máy chủ {url}, tên đăng nhập là số điện thoại, mật khẩu là mã 6 số.",
            "Không có đăng ký công khai: tài khoản cán bộ do hệ thống tạo từ danh sách",
            "nhân sự. Máy chủ chỉ nhận kết nối từ chính máy này (127.0.0.1); để điện",
            "thoại dùng được, hãy đặt một reverse proxy HTTPS phía trước.",
            "Nhấn Ctrl-C để dừng.",
            "",
        ]
    )


def _web_base(setup: EmbeddedSetup) -> str:
    web = setup.config.web
    return web.public_base_url.rstrip("/") or f"http://{web.listen_host}:{web.listen_port}"


def _say(text: str) -> None:
    print(text, flush=True)
