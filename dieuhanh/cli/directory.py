"""Directory commands: ``dieuhanh import``, ``stats`` and ``lichsu`` (a person's history)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dieuhanh.cli.common import ConfigOption, app, console, errors, load_settings, open_db


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Tệp CSV, bảng tính XLSX hoặc thư mục.")],
    scope: Annotated[
        str | None,
        typer.Option(
            "--scope",
            help="Mã đơn vị: tệp nhân sự (và tệp học sinh) chỉ là danh sách đầy đủ của đơn vị "
            "này và cấp dưới; người ngoài phạm vi không bị đánh dấu nghỉ việc/thôi học, dòng "
            "của đơn vị ngoài phạm vi bị loại.",
        ),
    ] = None,
    allow_mass_removal: Annotated[
        bool,
        typer.Option(
            "--allow-mass-removal",
            help="Cho phép đánh dấu nghỉ việc (hoặc học sinh thôi học) nhiều hơn ngưỡng "
            "max_removal_share.",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Nhập danh bạ (đơn vị, nhân sự, thống kê; lớp, học sinh, điểm, chuyên cần, rèn luyện)
    từ tệp CSV hoặc XLSX.

    Tài khoản Matrix của người nghỉ việc bị khoá ngay (khi đã cấu hình máy chủ).
    Mã thoát: 0 khi không có dòng nào cần xem lại, 1 khi có dòng bị báo nhưng phần còn lại
    đã được nhập, 2 khi dữ liệu vào không dùng được hoặc quá nhiều người bị đánh dấu
    nghỉ việc (không nhập gì).
    """
    from provisioning.importer import UnusableInput, import_paths

    cfg = load_settings(config)
    engine = open_db(cfg)
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
        from dieuhanh.cli.matrix import deactivate_departed

        deactivate_departed(engine, cfg)
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
    view = load_view(open_db(load_settings(config)))
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


@app.command()
def lichsu(
    code: Annotated[str, typer.Argument(help="Mã định danh của cán bộ.")],
    as_json: Annotated[bool, typer.Option("--json", help="In đúng một mảng JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """Lịch sử thay đổi số điện thoại, chức vụ, đơn vị, tình trạng của một người (mới nhất
    trước): sửa qua tin nhắn (!capnhat) và nhập tệp."""
    from zoneinfo import ZoneInfo

    from provisioning.contacts.change import FIELD_LABEL
    from provisioning.contacts.history import history

    entries = history(open_db(load_settings(config)), code.strip())
    if entries is None:
        errors.print(f"Không có ai có mã định danh '{code}' trong danh bạ.")
        raise typer.Exit(2)
    if as_json:
        rows = [{**vars(e), "at": e.at.isoformat()} for e in entries]
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not entries:
        console.print(f"Chưa có thay đổi nào của mã định danh {code}.")
        return
    local = ZoneInfo("Asia/Ho_Chi_Minh")
    table = Table(title=f"Lịch sử thay đổi của {code}")
    for column in ("Thời điểm", "Nội dung", "Trước", "Sau", "Người thực hiện", "Nguồn"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            e.at.astimezone(local).strftime("%d/%m/%Y %H:%M"),
            FIELD_LABEL[e.field],
            e.old or "",
            e.new or "",
            e.by,
            "tin nhắn (!capnhat)" if e.source == "chat" else "nhập tệp",
        )
    console.print(table)
