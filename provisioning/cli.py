"""The ``dieuhanh`` command line: what admins run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from provisioning.config import Config, ConfigError, load_config
from provisioning.text import format_number

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
    demo: Annotated[
        str,
        typer.Option(help="Dữ liệu mẫu nạp vào danh bạ trống: demo, mini, district hoặc none."),
    ] = "demo",
) -> None:
    """Chạy toàn bộ hệ thống nhúng: Synapse (SQLite), bot, bridge, dữ liệu mẫu."""
    from provisioning.demo import PRESETS
    from provisioning.embedded.up import run_up

    if demo != "none" and demo not in PRESETS:
        errors.print(f"Không có bộ dữ liệu mẫu '{demo}'. Chọn: {', '.join(PRESETS)}, none.")
        raise typer.Exit(2)
    raise typer.Exit(run_up(data_dir=data_dir, port=port, demo=demo))


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
    allow_mass_removal: Annotated[
        bool,
        typer.Option(
            "--allow-mass-removal",
            help="Cho phép đánh dấu nghỉ việc nhiều hơn ngưỡng max_removal_share.",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Nhập danh bạ (đơn vị, nhân sự, thống kê) từ tệp CSV hoặc XLSX.

    Tài khoản Matrix của người nghỉ việc bị khoá ngay (khi đã cấu hình máy chủ).
    Mã thoát: 0 khi không có dòng nào cần xem lại, 1 khi có dòng bị báo nhưng phần còn lại
    đã được nhập, 2 khi dữ liệu vào không dùng được hoặc quá nhiều người bị đánh dấu
    nghỉ việc (không nhập gì).
    """
    from provisioning.importer import UnusableInput, import_paths

    cfg = _config(config)
    engine = _directory(cfg)
    try:
        result = import_paths(
            engine,
            paths,
            scope=scope,
            max_removal_share=cfg.provisioning.max_removal_share,
            allow_mass_removal=allow_mass_removal,
        )
    except UnusableInput as exc:
        errors.print(f"Không thể nhập: {exc}")
        raise typer.Exit(2) from None
    for line in result.summary_lines():
        console.print(line)
    for line in result.report_lines():
        console.print(f"  {line}")
    if result.people.removed:
        _deactivate_departed(engine, cfg)
    raise typer.Exit(result.exit_code)


def _deactivate_departed(engine, cfg: Config) -> None:
    """Lock the Matrix accounts of people just marked departed, without waiting for apply."""
    import asyncio

    from provisioning.matrix.apply import deactivate_departures
    from provisioning.matrix.client import MatrixError
    from provisioning.matrix.lock import ApplyLocked

    later = "chạy `dieuhanh apply` để khoá tài khoản Matrix của người nghỉ việc."
    if not cfg.homeserver.admin_token:
        console.print(f"Chưa cấu hình homeserver.admin_token: {later}")
        return
    try:
        done = asyncio.run(
            deactivate_departures(engine, cfg, concurrency=cfg.provisioning.concurrency)
        )
    except ApplyLocked:
        console.print(
            "Một lần áp dụng khác đang chạy: tài khoản Matrix của người nghỉ việc sẽ được "
            "khoá ở lượt sau của lần đó, hoặc khi chạy `dieuhanh apply`."
        )
        return
    except MatrixError as exc:
        errors.print(f"Không liên lạc được với máy chủ Matrix ({exc}); {later}")
        return
    _print_departures(done)


def _print_departures(result) -> None:
    """What the deactivation of departed people's accounts did."""
    ok = result.counts.get("deactivate_user", 0) - len(result.failures)
    if ok:
        console.print(
            f"Đã khoá {format_number(ok)} tài khoản Matrix của người nghỉ việc "
            "(đăng xuất khỏi mọi thiết bị)."
        )
    for failure in result.failures[:50]:
        errors.print(f"  Chưa khoá được {failure.op.user_id}: {failure.error}")
    if result.failures:
        errors.print("Chạy lại `dieuhanh apply` để thử lại.")


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


def _plan_table(plan) -> Table:
    from provisioning.matrix.plan import KIND_LABEL, Kind

    table = Table(title="Kế hoạch đồng bộ danh bạ → Matrix")
    table.add_column("Thao tác")
    table.add_column("Số lượng", justify="right")
    for kind, count in plan.counts().items():
        table.add_row(KIND_LABEL[Kind(kind)], format_number(count))
    table.add_row("Tổng cộng", format_number(plan.total), style="bold")
    return table


@app.command()
def plan(
    as_json: Annotated[bool, typer.Option("--json", help="In đúng một đối tượng JSON.")] = False,
    details: Annotated[
        bool, typer.Option("--details", help="Liệt kê từng thao tác (tối đa 20 mỗi loại).")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Xem những gì `apply` sẽ thay đổi trên Matrix, không đụng đến máy chủ."""
    from provisioning.matrix.apply import make_plan

    cfg = _config(config)
    result = make_plan(_directory(cfg), cfg)[0]
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    if not result.ops:
        console.print("Không có gì cần thay đổi: Matrix đã khớp với danh bạ.")
        return
    console.print(_plan_table(result))
    if details:
        shown: dict[str, int] = {}
        for op in result.ops:
            shown[op.kind] = shown.get(op.kind, 0) + 1
            if shown[op.kind] <= 20:
                console.print("  " + " ".join(f"{k}={v}" for k, v in op.to_json().items()))


@app.command()
def apply(
    allow_mass_removal: Annotated[
        bool,
        typer.Option(
            "--allow-mass-removal", help="Cho phép khoá/gỡ nhiều hơn ngưỡng max_removal_share."
        ),
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Nếu đang có lần áp dụng khác, chờ nó xong.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Đồng bộ danh bạ vào Matrix: tài khoản, không gian, phòng, thành viên, quyền.

    Mã thoát: 0 khi xong hết, 1 khi có thao tác lỗi (đã báo), 2 khi bị từ chối
    (xoá hàng loạt, đang có lần áp dụng khác, thiếu cấu hình).
    """
    import asyncio

    from provisioning.matrix.apply import MassRemovalRefused
    from provisioning.matrix.apply import apply as run_apply
    from provisioning.matrix.lock import ApplyLocked
    from provisioning.matrix.progress import RichProgress

    cfg = _config(config)
    try:
        admin_token = cfg.homeserver.resolve_admin_token()
    except ConfigError as exc:
        errors.print(f"Cấu hình không hợp lệ: {exc}")
        raise typer.Exit(2) from None
    if not admin_token:
        errors.print(
            "Thiếu khoá quản trị máy chủ: đặt homeserver.admin_token_file (tệp chứa khoá) "
            "hoặc biến DIEUHANH_HOMESERVER_ADMIN_TOKEN."
        )
        raise typer.Exit(2)
    with RichProgress(console) as progress:
        try:
            result = asyncio.run(
                run_apply(
                    _directory(cfg),
                    cfg,
                    allow_mass_removal=allow_mass_removal,
                    wait=wait,
                    concurrency=cfg.provisioning.concurrency,
                    max_removal_share=cfg.provisioning.max_removal_share,
                    progress=progress,
                )
            )
        except MassRemovalRefused as exc:
            _print_departures(exc.result)
            rest = " phần còn lại" if exc.result.done else ""
            errors.print(f"Từ chối áp dụng{rest}: {exc}")
            raise typer.Exit(2) from None
        except ApplyLocked as exc:
            errors.print(f"Từ chối áp dụng: {exc}")
            raise typer.Exit(2) from None
    _print_apply(result)
    raise typer.Exit(1 if result.failures else 0)


def _print_apply(result) -> None:
    from provisioning.matrix.plan import KIND_LABEL, Kind

    if not result.done:
        console.print("Không có gì cần thay đổi: Matrix đã khớp với danh bạ.")
        return
    ok = result.done - len(result.failures)
    console.print(
        f"Đã thực hiện {format_number(ok)} thao tác trong {format_number(result.seconds, 1)} giây"
        + (f" ({format_number(ok / result.seconds, 1)} thao tác/giây)." if result.seconds else ".")
    )
    for kind, count in result.counts.items():
        console.print(f"  {KIND_LABEL[Kind(kind)]}: {format_number(count)}")
    if result.adopted:
        console.print(f"Đã nhận lại {result.adopted} phòng/tài khoản có sẵn trên máy chủ.")
    if result.failures:
        console.print(f"{len(result.failures)} thao tác lỗi (chạy lại apply để thử lại):")
        for failure in result.failures[:50]:
            console.print(
                f"  {failure.op.kind.value} {failure.op.room or failure.op.user_id}: "
                f"{failure.error}"
            )


@app.command()
def status(config: ConfigOption = None) -> None:
    """Số người có và chưa có tài khoản, kèm lý do."""
    from provisioning.matrix.mirror import load_mirror
    from provisioning.matrix.status import REASONS, account_status
    from provisioning.view import load_view

    engine = _directory(_config(config))
    counts = account_status(load_view(engine), load_mirror(engine))
    table = Table(title="Tài khoản Matrix của nhân sự")
    table.add_column("Tình trạng")
    table.add_column("Số người", justify="right")
    for key, label in REASONS.items():
        if counts[key]:
            table.add_row(label, format_number(counts[key]))
    table.add_row("Tổng cộng", format_number(sum(counts.values())), style="bold")
    console.print(table)


if __name__ == "__main__":
    app()
