"""The ``dieuhanh`` command line: what admins run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from provisioning.config import Config, ConfigError, load_config

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


def _config(path: Path | None) -> Config:
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


def _directory(config: Config):
    from provisioning.db import open_directory

    return open_directory(config.database.url)


@app.command()
def up(
    data_dir: DataDirOption = Path("data"),
    port: Annotated[int, typer.Option(help="Cổng của máy chủ Synapse nhúng.")] = 8008,
) -> None:
    """Chạy toàn bộ hệ thống nhúng: Synapse (SQLite), bot, bridge, dữ liệu mẫu."""
    from provisioning.embedded.up import run_up

    raise typer.Exit(run_up(data_dir=data_dir, port=port))


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Tệp CSV, bảng tính XLSX hoặc thư mục.")],
    scope: Annotated[
        str | None,
        typer.Option(
            "--scope",
            help="Mã đơn vị: tệp nhân sự chỉ là danh sách đầy đủ của đơn vị này và cấp dưới; "
            "người ngoài phạm vi không bị đánh dấu nghỉ việc.",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Nhập danh bạ (đơn vị, nhân sự, thống kê) từ tệp CSV hoặc XLSX.

    Mã thoát: 0 khi không có dòng nào cần xem lại, 1 khi có dòng bị báo nhưng phần còn lại
    đã được nhập, 2 khi dữ liệu vào không dùng được.
    """
    from provisioning.importer import UnusableInput, import_paths

    cfg = _config(config)
    try:
        result = import_paths(_directory(cfg), paths, scope=scope)
    except UnusableInput as exc:
        errors.print(f"Không thể nhập: {exc}")
        raise typer.Exit(2) from None
    for line in result.summary_lines():
        console.print(line)
    for line in result.report_lines():
        console.print(f"  {line}")
    raise typer.Exit(result.exit_code)


@app.command()
def stats(
    level: Annotated[str, typer.Argument(help="Cấp học: MN, TH, THCS, THPT, LC, GDTX.")],
    unit: Annotated[
        str | None, typer.Option("--unit", help="Mã đơn vị (mặc định: toàn bộ).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="In đúng một đối tượng JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """Thống kê trường, lớp, học sinh, cán bộ và trình độ giáo viên của một cấp học."""
    from provisioning import stats as statistics
    from provisioning import vocab
    from provisioning.view import UnknownUnit, load_view

    parsed = vocab.parse(vocab.Level, level)
    if parsed is None:
        errors.print(
            f"Không tìm thấy cấp học '{level}'. Các cấp học: "
            f"{', '.join(vocab.spellings(vocab.Level))}."
        )
        raise typer.Exit(2)
    view = load_view(_directory(_config(config)))
    try:
        scope = view.unit(unit) if unit is not None else None
    except UnknownUnit:
        errors.print(f"Không tìm thấy đơn vị có mã '{unit}'.")
        raise typer.Exit(2) from None
    figures = statistics.compute(view, parsed, scope)
    if as_json:
        typer.echo(json.dumps(figures, ensure_ascii=False))
        return
    table = Table(title=statistics.title(figures, view), show_header=False)
    table.add_column("Chỉ tiêu")
    table.add_column("Số liệu", justify="right")
    for name, value in statistics.table_rows(figures):
        table.add_row(name, value)
    console.print(table)


if __name__ == "__main__":
    app()
