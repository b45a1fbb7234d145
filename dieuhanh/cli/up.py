"""``dieuhanh up``: the whole system on its embedded default (Synapse on SQLite, demo data)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dieuhanh.cli.common import DataDirOption, app, errors


@app.command()
def up(
    data_dir: DataDirOption = Path("data"),
    port: Annotated[int, typer.Option(help="Cổng của máy chủ Synapse nhúng.")] = 8008,
    demo: Annotated[
        str,
        typer.Option(
            help="Dữ liệu mẫu nạp vào danh bạ trống: demo (một xã/phường, 12 trường, dùng "
            "được sau chưa đầy một phút), district-lite (76 trường), district (70 trường, "
            "2.000 cán bộ), mini hoặc none."
        ),
    ] = "demo",
) -> None:
    """Chạy toàn bộ hệ thống nhúng: Synapse (SQLite), bot, bridge, dữ liệu mẫu."""
    from dieuhanh.embedded.up import run_up
    from provisioning.demo import PRESETS

    if demo != "none" and demo not in PRESETS:
        errors.print(f"Không có bộ dữ liệu mẫu '{demo}'. Chọn: {', '.join(PRESETS)}, none.")
        raise typer.Exit(2)
    raise typer.Exit(run_up(data_dir=data_dir, port=port, demo=demo))
