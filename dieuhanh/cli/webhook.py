"""CMS webhook tokens: ``dieuhanh webhook token <unit>`` and ``dieuhanh webhook revoke``."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from dieuhanh.cli.common import ConfigOption, app, console, errors, load_settings, open_db

webhook = typer.Typer(
    help="Mã truy cập webhook để cổng thông tin của đơn vị tự gửi tin.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(webhook, name="webhook")

UnitArgument = Annotated[str, typer.Argument(help="Mã đơn vị.")]


@webhook.command()
def token(
    unit: UnitArgument,
    keep_old: Annotated[
        bool, typer.Option("--keep-old", help="Giữ các mã cũ còn hiệu lực (để chuyển dần).")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Tạo mã truy cập webhook mới cho một đơn vị (chỉ hiện một lần)."""
    from bridge.db.webhook_token import WebhookToken
    from bridge.webhook import new_token, token_hash
    from provisioning.db.threads import utcnow
    from provisioning.view import load_view

    engine = open_db(load_settings(config))
    try:
        found = load_view(engine).by_code.get(unit)
        if found is None or not found.active:
            errors.print(f"Không có đơn vị đang hoạt động mã {unit!r} trong danh bạ.")
            raise typer.Exit(1)
        value = new_token()
        revoked = asyncio.run(
            WebhookToken.add(engine, unit, token_hash(value), utcnow(), revoke_others=not keep_old)
        )
    finally:
        engine.dispose()
    typer.echo(value)
    note = f"Mã truy cập webhook mới của {found.name} (chỉ hiện một lần, hãy lưu lại ngay)."
    if revoked:
        note += f" {revoked} mã cũ đã bị thu hồi."
    errors.print(note)
    errors.print(
        "Cổng thông tin gửi tin bằng: POST /_dieuhanh/api/tin-tuc với tiêu đề "
        "Authorization: Bearer <mã>."
    )


@webhook.command()
def revoke(unit: UnitArgument, config: ConfigOption = None) -> None:
    """Thu hồi mọi mã truy cập webhook của một đơn vị."""
    from bridge.db.webhook_token import WebhookToken
    from provisioning.db.threads import utcnow

    engine = open_db(load_settings(config))
    try:
        count = asyncio.run(WebhookToken.revoke_all(engine, unit, utcnow()))
    finally:
        engine.dispose()
    console.print(f"Đã thu hồi {count} mã truy cập webhook của đơn vị {unit}.")
