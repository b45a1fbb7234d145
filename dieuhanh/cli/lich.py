"""Lịch công tác: ``dieuhanh lich import FILE.xlsx --unit CODE [--tuan dd/mm/yyyy]``.

The file's week replaces that week's schedule of the unit (docs/lich-cong-tac.md lists
the columns); the bot posts it, or edits its post, in the unit's "Thông tin điều hành"
room (from Monday 07:00 of that week).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from dieuhanh.cli.common import ConfigOption, app, console, errors, load_settings, open_db

lich = typer.Typer(
    help="Lịch công tác hằng tuần của đơn vị.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(lich, name="lich")


def _week(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.datetime.strptime(value.strip(), "%d/%m/%Y").date()
    except ValueError:
        errors.print(f"--tuan '{value}' không phải một ngày có thật dạng dd/mm/yyyy.")
        raise typer.Exit(2) from None


@lich.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="Tệp Excel (.xlsx) lịch công tác của tuần.")],
    unit: Annotated[str, typer.Option("--unit", help="Mã đơn vị.")],
    tuan: Annotated[
        str | None,
        typer.Option("--tuan", help="Một ngày bất kỳ của tuần (dd/mm/yyyy); mặc định: theo tệp."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Nhập lịch công tác một tuần từ tệp Excel; thay toàn bộ lịch tuần đó của đơn vị."""
    from bot.clock import clock_from_env
    from bot.db.schedule import WorkSchedule
    from bot.directives.when import VN
    from bot.schedule.days import monday, week_label
    from bot.schedule.xlsx import ScheduleFileError, read_schedule
    from provisioning.view import load_view

    week = _week(tuan)
    if not file.is_file():
        errors.print(f"Không tìm thấy tệp {file}.")
        raise typer.Exit(2)
    engine = open_db(load_settings(config))
    try:
        found = load_view(engine).by_code.get(unit)
        if found is None or not found.active:
            errors.print(f"Không có đơn vị đang hoạt động mã {unit!r} trong danh bạ.")
            raise typer.Exit(1)
        now = clock_from_env().now()
        try:
            read = read_schedule(file, week=week, today=now.astimezone(VN).date())
        except ScheduleFileError as exc:
            for problem in exc.problems:
                errors.print(problem)
            errors.print("Chưa nhập gì: hãy sửa tệp rồi nhập lại.")
            raise typer.Exit(1) from None
        before = asyncio.run(WorkSchedule.get(engine, found.code, read.week_start))
        entries = [e.to_json() for e in read.entries]
        asyncio.run(WorkSchedule.save_entries(engine, found.code, read.week_start, entries, now))
    finally:
        engine.dispose()
    replaced = f", thay cho {len(before.entries)} mục trước đó" if before and before.entries else ""
    console.print(
        f"Đã nhập {len(entries)} mục lịch công tác tuần {week_label(read.week_start)} của "
        f"{found.name} từ trang tính '{read.sheet}'{replaced}."
    )
    if before is not None and before.event_id is not None:
        console.print("Bot sẽ cập nhật bản lịch đã đăng trong phòng Thông tin điều hành.")
    elif read.week_start < monday(now.astimezone(VN).date()):
        console.print("Tuần này đã qua nên lịch được lưu nhưng không đăng vào phòng nào.")
    else:
        console.print(
            "Bot đăng lịch vào phòng Thông tin điều hành của đơn vị lúc 07:00 thứ Hai của tuần "
            "(ngay khi nhập, nếu đã qua giờ đó)."
        )
