"""What every command shares: the Typer app, consoles, the --config option, the database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dieuhanh.config import Config, ConfigError, load_config

app = typer.Typer(
    help="Điều hành — quản trị mạng điều hành giáo dục trên Matrix.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Tệp cấu hình (mặc định: data/config.yaml nếu có).",
        envvar="DIEUHANH_CONFIG",
    ),
]
DataDirOption = Annotated[
    Path,
    typer.Option(
        "--data-dir", help="Thư mục dữ liệu của hệ thống nhúng.", envvar="DIEUHANH_DATA_DIR"
    ),
]


def load_settings(path: Path | None) -> Config:
    """The configuration from ``path`` (default: data/config.yaml when it exists)."""
    if path is None:
        default = Path("data/config.yaml")
        path = default if default.exists() else None
    elif not path.exists():
        errors.print(f"Không tìm thấy tệp cấu hình {path}")
        raise typer.Exit(2)
    try:
        return load_config(path)
    except ConfigError as exc:
        errors.print(f"Cấu hình không hợp lệ: {exc}")
        raise typer.Exit(2) from None


def open_db(config: Config):
    """The database of ``config``, every package's tables migrated."""
    from dieuhanh.db import open_database

    return open_database(config.database.url)
