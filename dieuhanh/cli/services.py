"""One service in the foreground: ``dieuhanh bot`` and ``dieuhanh bridge`` (what the
supervisor of ``dieuhanh up`` starts, and what a systemd unit runs)."""

from __future__ import annotations

import typer

from dieuhanh.cli.common import ConfigOption, app, load_settings


@app.command()
def bot(config: ConfigOption = None) -> None:
    """Chạy bot Điều hành (trả lời lệnh, gửi tin nhắn điều hành) cho đến khi bị dừng."""
    from bot.serve import serve
    from dieuhanh.services import run_service

    raise typer.Exit(run_service("bot", serve, load_settings(config)))


@app.command()
def bridge(config: ConfigOption = None) -> None:
    """Chạy bridge tin tức (RSS, webhook CMS, trang Gửi thông báo) cho đến khi bị dừng."""
    from bridge.serve import serve
    from dieuhanh.services import run_service

    raise typer.Exit(run_service("bridge", serve, load_settings(config)))
