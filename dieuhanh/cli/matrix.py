"""Mirroring into Matrix: ``dieuhanh plan``, ``apply`` and ``status``."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dieuhanh.cli.common import ConfigOption, app, console, errors, load_settings, open_db
from dieuhanh.config import Config, ConfigError
from provisioning.text import format_number


def _plan_table(plan) -> Table:
    from provisioning.matrix.plan import KIND_LABEL, Kind

    table = Table(title="Kế hoạch đồng bộ danh bạ → Matrix")
    table.add_column("Thao tác")
    table.add_column("Số lượng", justify="right")
    table.add_column("Trong đó phụ huynh, học sinh", justify="right")
    families = plan.family_counts()
    for kind, count in plan.counts().items():
        family = format_number(families[kind]) if kind in families else ""
        table.add_row(KIND_LABEL[Kind(kind)], format_number(count), family)
    table.add_row(
        "Tổng cộng",
        format_number(plan.total),
        format_number(sum(families.values())),
        style="bold",
    )
    return table


@app.command()
def plan(
    as_json: Annotated[bool, typer.Option("--json", help="In đúng một đối tượng JSON.")] = False,
    details: Annotated[
        bool, typer.Option("--details", help="Liệt kê từng thao tác (tối đa 20 mỗi loại).")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Xem những gì `apply` sẽ thay đổi trên Matrix và mất bao lâu, không đụng đến máy chủ."""
    from provisioning.bulk import cyclic_gc_paused
    from provisioning.matrix.apply import make_plan
    from provisioning.matrix.estimate import estimate, load_rates, say_duration
    from provisioning.matrix.order import Priority
    from provisioning.matrix.progress import basis

    cfg = load_settings(config)
    engine = open_db(cfg)
    result, layout, _, ctx = make_plan(engine, cfg)
    rates = load_rates(engine, cfg.homeserver.server_name)
    with cyclic_gc_paused():  # as make_plan: a city's plan is a million objects
        result.estimate = estimate(result.ops, Priority.of(layout), ctx.bot_user_id, rates)
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    if not result.ops:
        console.print("Không có gì cần thay đổi: Matrix đã khớp với danh bạ.")
        return
    console.print(_plan_table(result))
    console.print(
        f"Ước tính thời gian: khoảng {say_duration(result.estimate.seconds)} "
        f"({basis(result.estimate)})."
    )
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
    metrics_file: Annotated[
        Path | None,
        typer.Option(
            "--metrics-file",
            help="Ghi số liệu Prometheus vào tệp này (textfile collector của node_exporter).",
            envvar="DIEUHANH_APPLY_METRICS_FILE",
        ),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Chạy liên tục: áp dụng mọi thay đổi của danh bạ (nhập tệp, !capnhat) "
            "trong vài giây (provisioning.watch_interval_seconds).",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Đồng bộ danh bạ vào Matrix: tài khoản, không gian, phòng, thành viên, quyền.

    Mã thoát: 0 khi xong hết, 1 khi có thao tác lỗi (đã báo), 2 khi bị từ chối
    (xoá hàng loạt, đang có lần áp dụng khác, thiếu cấu hình).
    """
    cfg = load_settings(config)
    _require_admin_token(cfg)
    if watch:
        _watch(cfg)
        return
    result = _run_apply(cfg, allow_mass_removal, wait, metrics_file)
    _print_apply(result)
    raise typer.Exit(1 if result.failures else 0)


def _watch(cfg: Config) -> None:
    """The reconcile loop until SIGTERM or Ctrl-C (``provisioning.matrix.watch``)."""
    import asyncio
    import logging
    import signal

    from provisioning.matrix.watch import watch

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    engine = open_db(cfg)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        console.print("Đang theo dõi danh bạ: mọi thay đổi được áp dụng vào Matrix.")
        await watch(engine, cfg, stop)

    asyncio.run(run())
    engine.dispose()


def _run_apply(cfg: Config, allow_mass_removal: bool, wait: bool, metrics_file: Path | None):
    """Apply with a progress bar and metrics; a refusal exits with status 2."""
    import asyncio

    from dieuhanh.apply_metrics import ApplyMetrics
    from provisioning.matrix.apply import MassRemovalRefused
    from provisioning.matrix.apply import apply as run_apply
    from provisioning.matrix.lock import ApplyLocked
    from provisioning.matrix.progress import PlainProgress, RichProgress

    metrics = ApplyMetrics(metrics_file)
    if console.is_terminal:
        shown = RichProgress(console)
    else:  # a log (the nightly unit, a pipe): a line now and then
        shown = contextlib.nullcontext(PlainProgress(_line, every=PLAIN_EVERY))
    with shown as progress:
        try:
            result = asyncio.run(
                run_apply(
                    open_db(cfg),
                    cfg,
                    allow_mass_removal=allow_mass_removal,
                    wait=wait,
                    concurrency=cfg.provisioning.concurrency,
                    max_removal_share=cfg.provisioning.max_removal_share,
                    progress=metrics.wrap(progress),
                )
            )
        except MassRemovalRefused as exc:
            metrics.finish(exc.result, "refused")
            print_departures(exc.result)
            rest = " phần còn lại" if exc.result.done else ""
            errors.print(f"Từ chối áp dụng{rest}: {exc}")
            raise typer.Exit(2) from None
        except ApplyLocked as exc:
            metrics.finish(None, "locked")
            errors.print(f"Từ chối áp dụng: {exc}")
            raise typer.Exit(2) from None
    metrics.finish(result, "failures" if result.failures else "ok")
    return result


#: Seconds between two progress lines when the output is not a terminal.
PLAIN_EVERY = 15.0


def _line(text: str) -> None:
    console.print(text, markup=False, highlight=False)


def _require_admin_token(cfg: Config) -> None:
    """Exit with status 2 and a clear message unless provisioning has its admin token."""
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
    """Số người có và chưa có tài khoản, kèm lý do; số lớp, học sinh và phụ huynh."""
    from provisioning.matrix.mirror import load_mirror
    from provisioning.matrix.status import REASONS, account_status
    from provisioning.view import load_view

    engine = open_db(load_settings(config))
    counts = account_status(load_view(engine), load_mirror(engine))
    table = Table(title="Tài khoản Matrix của nhân sự")
    table.add_column("Tình trạng")
    table.add_column("Số người", justify="right")
    for key, label in REASONS.items():
        if counts[key]:
            table.add_row(label, format_number(counts[key]))
    table.add_row("Tổng cộng", format_number(sum(counts.values())), style="bold")
    console.print(table)
    print_family_counts(engine)


def print_family_counts(engine) -> None:
    """Classes, students and parents the directory holds (accounts come with provisioning)."""
    from provisioning.families.counts import family_counts

    counts = family_counts(engine)
    console.print(
        f"Lớp: {format_number(counts['classes'])} · "
        f"Học sinh đang học: {format_number(counts['students'])} · "
        f"Phụ huynh (có con đang học): {format_number(counts['parents'])}"
    )


def deactivate_departed(engine, cfg: Config) -> None:
    """Lock the Matrix accounts of people just marked departed, without waiting for apply."""
    import asyncio

    from provisioning.matrix.apply import deactivate_departures
    from provisioning.matrix.client import MatrixError
    from provisioning.matrix.lock import ApplyLocked

    later = "chạy `dieuhanh apply` để khoá tài khoản Matrix của người nghỉ việc."
    if not cfg.homeserver.resolve_admin_token():
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
    print_departures(done)


def print_departures(result) -> None:
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
