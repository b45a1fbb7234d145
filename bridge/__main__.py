"""``python -m bridge``: run the bridge, or manage the CMS webhook tokens.

    python -m bridge --config data/config.yaml            run (what `dieuhanh up` starts)
    python -m bridge token <unit code> [--keep-old]       a new webhook token, printed once
    python -m bridge revoke <unit code>                   the unit's tokens stop working

Without ``--config``, ``data/config.yaml`` is read when it exists (like `dieuhanh`); any
setting can come from the environment (DIEUHANH_…).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from provisioning.config import Config, ConfigError, load_config

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
log = logging.getLogger("bridge")


async def serve(config: Config) -> int:
    """Run the bridge until SIGTERM or SIGINT."""
    from bridge.service import BridgeService
    from provisioning.db import open_directory

    bridge = config.bridge
    if not bridge.hs_token or not bridge.as_token:
        log.error("bridge.hs_token and bridge.as_token must be set")
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    engine = open_directory(config.database.url)
    service = BridgeService(config, engine)
    try:
        await service.start()
    except OSError as exc:
        log.error("cannot listen: %s", exc)
        await service.stop()
        engine.dispose()
        return 1
    log.info(
        "bridge %s started, listening on http://%s:%s for %s; admin page %s",
        bridge.id,
        bridge.listen_host,
        bridge.listen_port,
        config.homeserver.url,
        service.page_url,
    )
    try:
        await stop.wait()
    finally:
        await service.stop()
        engine.dispose()
    log.info("bridge stopped")
    return 0


def token(config: Config, unit_code: str, *, keep_old: bool) -> int:
    from bridge.db import BridgeStore, now_utc
    from bridge.webhook import new_token, token_hash
    from provisioning.db import open_directory
    from provisioning.view import load_view

    engine = open_directory(config.database.url)
    try:
        unit = load_view(engine).by_code.get(unit_code)
        if unit is None or not unit.active:
            print(
                f"Không có đơn vị đang hoạt động mã {unit_code!r} trong danh bạ.", file=sys.stderr
            )
            return 1
        value = new_token()
        revoked = BridgeStore(engine).add_token(
            unit_code, token_hash(value), now_utc(), revoke_others=not keep_old
        )
    finally:
        engine.dispose()
    print(value)
    note = f"Mã truy cập webhook mới của {unit.name} (chỉ hiện một lần, hãy lưu lại ngay)."
    if revoked:
        note += f" {revoked} mã cũ đã bị thu hồi."
    print(note, file=sys.stderr)
    print(
        "Cổng thông tin gửi tin bằng: POST /_dieuhanh/api/tin-tuc với tiêu đề "
        "Authorization: Bearer <mã>.",
        file=sys.stderr,
    )
    return 0


def revoke(config: Config, unit_code: str) -> int:
    from bridge.db import BridgeStore, now_utc
    from provisioning.db import open_directory

    engine = open_directory(config.database.url)
    try:
        count = BridgeStore(engine).revoke_tokens(unit_code, now_utc())
    finally:
        engine.dispose()
    print(f"Đã thu hồi {count} mã truy cập webhook của đơn vị {unit_code}.")
    return 0


def check_networks(text: str) -> None:
    """ConfigError unless ``bridge.allowed_networks`` lists networks."""
    from bridge.outbound import parse_networks

    try:
        list(parse_networks(text))
    except ValueError as exc:
        raise ConfigError(f"bridge.allowed_networks: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bridge", description="Điều hành bridge")
    parser.add_argument("--config", type=Path, help="config.yaml (mặc định: data/config.yaml)")
    commands = parser.add_subparsers(dest="command")
    make = commands.add_parser("token", help="tạo mã truy cập webhook mới cho một đơn vị")
    make.add_argument("unit", help="mã đơn vị")
    make.add_argument(
        "--keep-old", action="store_true", help="giữ các mã cũ còn hiệu lực (để chuyển dần)"
    )
    make.add_argument("--config", type=Path, dest="sub_config", help=argparse.SUPPRESS)
    rev = commands.add_parser("revoke", help="thu hồi mọi mã truy cập webhook của một đơn vị")
    rev.add_argument("unit", help="mã đơn vị")
    rev.add_argument("--config", type=Path, dest="sub_config", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("bridge.appservice").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    path = getattr(args, "sub_config", None) or args.config
    if path is None and Path("data/config.yaml").exists():
        path = Path("data/config.yaml")
    try:
        config = load_config(path)
        check_networks(config.bridge.allowed_networks)
    except ConfigError as exc:
        log.error("invalid configuration: %s", exc)
        return 2
    if args.command == "token":
        return token(config, args.unit, keep_old=args.keep_old)
    if args.command == "revoke":
        return revoke(config, args.unit)
    return asyncio.run(serve(config))


if __name__ == "__main__":
    raise SystemExit(main())
