"""``dieuhanh backup DIR`` and ``dieuhanh restore DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dieuhanh.cli.common import app, console, errors

ProfileOption = Annotated[
    Path | None,
    typer.Option(
        "--profile",
        help="deploy.yaml của bản triển khai nhiều tiến trình (ví dụ /etc/dieuhanh/deploy.yaml).",
    ),
]
DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir", help="Thư mục dữ liệu của hệ thống nhúng.", envvar="DIEUHANH_DATA_DIR"
    ),
]


@app.command("backup")
def backup_command(
    destination: Annotated[Path, typer.Argument(help="Thư mục mới để ghi bản sao lưu.")],
    data_dir: DataDir = Path("data"),
    profile: ProfileOption = None,
) -> None:
    """Sao lưu khi các dịch vụ vẫn chạy: CSDL danh bạ, CSDL và tệp media của Synapse,
    kho khoá của bot, khoá bí mật và cấu hình.

    PostgreSQL được sao lưu bằng pg_dump, SQLite bằng cơ chế sao lưu trực tuyến của SQLite.
    Bản sao lưu chứa khoá bí mật: hãy cất ở nơi chỉ quản trị viên đọc được.
    """
    from dieuhanh.backup import BackupError, backup, deploy_sources, embedded_sources

    try:
        sources = deploy_sources(profile) if profile else embedded_sources(data_dir)
        manifest = backup(sources, destination)
    except BackupError as exc:
        errors.print(f"Không sao lưu được: {exc}")
        raise typer.Exit(1) from None
    files = sum(t["files"] for t in manifest["trees"])
    console.print(
        f"Đã sao lưu vào {destination.resolve()}: {len(manifest['databases'])} CSDL riêng, "
        f"{files} tệp."
    )


@app.command("restore")
def restore_command(
    source: Annotated[Path, typer.Argument(help="Thư mục bản sao lưu.")],
    data_dir: DataDir = Path("data"),
) -> None:
    """Khôi phục một bản sao lưu trên máy mới (các dịch vụ phải đang dừng).

    Hệ thống nhúng: vào --data-dir (phải trống). Bản triển khai nhiều tiến trình: về đúng
    các đường dẫn cũ, CSDL PostgreSQL được tạo lại nếu chưa có (phải trống).
    """
    from dieuhanh.backup import BackupError, read_manifest, restore_deploy, restore_embedded

    try:
        kind = read_manifest(source)["kind"]
        if kind == "deploy":
            restore_deploy(source)
            where = "các đường dẫn của bản triển khai"
        else:
            restore_embedded(source, data_dir)
            where = str(data_dir.resolve())
    except BackupError as exc:
        errors.print(f"Không khôi phục được: {exc}")
        raise typer.Exit(1) from None
    console.print(f"Đã khôi phục bản sao lưu vào {where}. Khởi động lại các dịch vụ.")
