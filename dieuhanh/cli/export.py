"""``dieuhanh export``: the records office's (Lưu VT) workbook of a period, and the report
files collected, in a folder beside it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from dieuhanh.cli.common import ConfigOption, app, console, errors, load_settings, open_db
from dieuhanh.config import ConfigError
from provisioning.text import format_number


def files_folder(file: Path) -> Path:
    """Where the report files go: ``FILE_files`` beside ``FILE.xlsx``."""
    return file.with_name(file.stem + "_files")


@app.command("export")
def export_command(
    file: Annotated[Path, typer.Argument(help="Tệp XLSX sẽ ghi, ví dụ luu-vt-12-2026.xlsx.")],
    tu: Annotated[str, typer.Option("--tu", help="Từ ngày (DD/MM/YYYY), giờ Việt Nam.")],
    den: Annotated[str, typer.Option("--den", help="Đến hết ngày (DD/MM/YYYY).")],
    unit: Annotated[
        str | None,
        typer.Option("--unit", help="Mã đơn vị: chỉ những gì đơn vị này đã gửi hoặc đã nhận."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Xuất sổ lưu văn bản (Lưu VT): tin đã gửi trong khoảng ngày, người nhận, tình trạng
    đọc, trả lời thư mời, báo cáo đã nộp; tệp báo cáo lưu vào thư mục FILE_files/<mã>/.

    Mã thoát: 0 khi xong hết; 1 khi đã ghi tệp XLSX nhưng có tệp báo cáo không tải được
    (đã liệt kê, ghi "không tải được" trong bảng; chạy lại để thử tải tiếp); 2 khi đầu vào
    sai (ngày, mã đơn vị, tên tệp, cấu hình) và không ghi gì.
    """
    from bot.records.export import ExportError, collect, parse_period
    from bot.records.media import fetch_files
    from bot.records.workbook import write

    if file.suffix.lower() != ".xlsx":
        _refuse(f"Tệp xuất phải có đuôi .xlsx (đã nhận '{file.name}').")
    cfg = load_settings(config)
    try:
        period = parse_period(tu, den)
        token = cfg.homeserver.resolve_admin_token()
        export = asyncio.run(collect(open_db(cfg), period, unit))
    except (ExportError, ConfigError) as exc:
        _refuse(str(exc))
    folder = files_folder(file)
    failed = asyncio.run(fetch_files(cfg.homeserver.url, token, export.files, folder))
    write(export, file, set(failed))
    _report(export, file, folder, failed)
    raise typer.Exit(1 if failed else 0)


def _refuse(sentence: str) -> None:
    errors.print(sentence)
    raise typer.Exit(2)


def _report(export, file: Path, folder: Path, failed: dict[str, str]) -> None:
    n = format_number
    where = f" của {export.scope.unit.name}" if export.scope.unit else ""
    console.print(
        f"Đã ghi {file}: {n(len(export.directives))} tin{where} từ "
        f"{export.period.first:%d/%m/%Y} đến {export.period.last:%d/%m/%Y}, "
        f"{n(len(export.recipients))} dòng người nhận."
    )
    files = export.files
    if files:
        console.print(
            f"Tệp báo cáo: {n(len(files) - len(failed))}/{n(len(files))} đã lưu vào {folder}."
        )
    if failed:
        errors.print(f"Không tải được {n(len(failed))} tệp báo cáo (chạy lại lệnh để thử lại):")
        for path, reason in sorted(failed.items()):
            errors.print(f"  {path}: {reason}")
