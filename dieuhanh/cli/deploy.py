"""The production profile: ``dieuhanh deploy write``, ``run`` and ``bootstrap``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dieuhanh.cli.common import app, console, errors

deploy = typer.Typer(
    help="Triển khai nhiều tiến trình: Synapse với worker trên PostgreSQL và Redis, nginx, "
    "coturn, systemd.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(deploy, name="deploy")

ServerName = Annotated[
    str, typer.Option("--server-name", help="Tên máy chủ Matrix (phần sau dấu hai chấm).")
]
PostgresUrl = Annotated[
    str,
    typer.Option(
        "--postgres-url",
        help="Máy chủ PostgreSQL: postgresql://người_dùng[:mật_khẩu]@máy[:cổng].",
        envvar="DIEUHANH_DEPLOY_POSTGRES_URL",
    ),
]
RedisUrl = Annotated[
    str, typer.Option("--redis-url", help="Redis: redis://[:mật_khẩu@]máy:cổng/số_csdl.")
]
Persisters = Annotated[
    int, typer.Option("--event-persisters", help="Số worker ghi sự kiện (chia theo phòng).")
]
Generic = Annotated[
    int, typer.Option("--generic-workers", help="Số worker chung (sync, đọc, gửi sự kiện).")
]
Background = Annotated[
    bool,
    typer.Option(
        "--background-worker/--no-background-worker",
        help="Một worker riêng cho việc nền của Synapse (thư mục người dùng, appservice, "
        "push, tác vụ nền) thay cho tiến trình chính.",
    ),
]
SynapseDb = Annotated[str, typer.Option("--synapse-db", help="Tên CSDL của Synapse.")]
DirectoryDb = Annotated[str, typer.Option("--directory-db", help="Tên CSDL danh bạ.")]


@deploy.command("write")
def write(
    out: Annotated[Path, typer.Argument(help="Thư mục gốc để ghi (/ để cài thẳng vào máy).")],
    server_name: ServerName,
    public_url: Annotated[str, typer.Option("--public-url", help="https://… công khai.")],
    postgres_url: PostgresUrl,
    redis_url: RedisUrl = "redis://127.0.0.1:6379/0",
    event_persisters: Persisters = 2,
    generic_workers: Generic = 1,
    background_worker: Background = True,
    synapse_db: SynapseDb = "synapse",
    directory_db: DirectoryDb = "dieuhanh",
    python: Annotated[
        str, typer.Option("--python", help="Python của môi trường đã cài dieuhanh.")
    ] = "/opt/dieuhanh/venv/bin/python",
    turn_host: Annotated[
        str, typer.Option("--turn-host", help="Tên máy TURN (mặc định: máy công khai).")
    ] = "",
    external_ip: Annotated[
        str, typer.Option("--external-ip", help="Địa chỉ công khai khi máy ở sau NAT.")
    ] = "",
    no_turn: Annotated[bool, typer.Option("--no-turn", help="Không dùng coturn.")] = False,
) -> None:
    """Ghi toàn bộ cấu hình triển khai: Synapse và worker, nginx, coturn, systemd.

    Khoá bí mật được tạo một lần trong etc/dieuhanh/secrets/ và giữ lại ở các lần sau.
    """
    from dieuhanh.deploy import Answers, TurnAnswers, generate, write_bundle
    from dieuhanh.deploy.answers import AnswerError, Layout
    from dieuhanh.deploy.secrets import load_or_create_secrets

    answers = Answers(
        server_name=server_name,
        public_url=public_url,
        postgres_url=postgres_url,
        redis_url=redis_url,
        event_persisters=event_persisters,
        generic_workers=generic_workers,
        background_worker=background_worker,
        synapse_database=synapse_db,
        directory_database=directory_db,
        python=python,
        turn=TurnAnswers(enabled=not no_turn, host=turn_host, external_ip=external_ip),
    )
    layout = Layout(answers)
    root = out.resolve()
    try:
        secrets = load_or_create_secrets(_under(root, layout.secrets))
        bundle = generate(answers, secrets, existing_config=_existing(root, layout.config_yaml))
    except AnswerError as exc:
        errors.print(f"Không thể tạo cấu hình: {exc}")
        raise typer.Exit(2) from None
    written = write_bundle(bundle, root)
    console.print(f"Đã ghi {len(written)} tệp vào {root}.")
    for line in next_steps(answers):
        console.print(line)


def next_steps(answers) -> list[str]:
    return [
        "Tiếp theo (xem README, mục «Running in production»):",
        "  1. tạo người dùng hệ thống dieuhanh, dieuhanh-bot, dieuhanh-bridge;",
        "  2. bật trang nginx và lấy chứng chỉ HTTPS (certbot);",
        "  3. systemctl daemon-reload && systemctl enable --now dieuhanh.target;",
        f"  4. mở tường lửa: 80, 443/tcp; TURN {answers.turn.port} và {answers.turn.tls_port} "
        f"tcp+udp, {answers.turn.min_relay_port}-{answers.turn.max_relay_port}/udp.",
    ]


def _under(root: Path, path: Path) -> Path:
    return root / path.relative_to(path.anchor)


def _existing(root: Path, path: Path) -> dict | None:
    import yaml

    target = _under(root, path)
    return yaml.safe_load(target.read_text(encoding="utf-8")) if target.exists() else None


@deploy.command("run")
def run(
    directory: Annotated[Path, typer.Argument(help="Thư mục chứa cấu hình và dữ liệu.")],
    postgres_url: Annotated[
        str,
        typer.Option(
            "--postgres-url",
            help="Máy chủ PostgreSQL (mặc định: lấy lại từ lần chạy trước).",
            envvar="DIEUHANH_DEPLOY_POSTGRES_URL",
        ),
    ] = "",
    server_name: Annotated[str, typer.Option("--server-name")] = "dieuhanh.local",
    redis_url: RedisUrl = "redis://127.0.0.1:6379/0",
    event_persisters: Persisters = 2,
    generic_workers: Generic = 1,
    background_worker: Background = True,
    synapse_db: SynapseDb = "dieuhanh_synapse",
    directory_db: DirectoryDb = "dieuhanh_directory",
    synapse_only: Annotated[
        bool, typer.Option("--synapse-only", help="Chỉ Synapse và nginx, không bot và bridge.")
    ] = False,
) -> None:
    """Chạy bản triển khai nhiều tiến trình ngay trên máy này (Synapse với worker, nginx,
    bot, bridge) cho đến khi nhấn Ctrl-C. PostgreSQL và Redis phải đang chạy."""
    from dieuhanh.deploy import Answers
    from dieuhanh.deploy.answers import AnswerError
    from dieuhanh.deploy.run import RunError, run_local

    answers = None
    if postgres_url:
        answers = Answers(
            server_name=server_name,
            public_url="http://127.0.0.1",
            postgres_url=postgres_url,
            redis_url=redis_url,
            event_persisters=event_persisters,
            generic_workers=generic_workers,
            background_worker=background_worker,
            synapse_database=synapse_db,
            directory_database=directory_db,
        )
    try:
        code = run_local(directory, answers, services=not synapse_only)
    except (RunError, AnswerError) as exc:
        errors.print(f"Lỗi: {exc}")
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@deploy.command("bootstrap")
def bootstrap_command(
    etc_dir: Annotated[Path, typer.Option("--etc-dir", help="Thư mục cấu hình.")] = Path(
        "/etc/dieuhanh"
    ),
) -> None:
    """Việc của lần khởi động đầu: bảng CSDL, tài khoản quản trị và khoá của nó."""
    from dieuhanh.deploy.bootstrap import BootstrapError, bootstrap
    from dieuhanh.deploy.generate import load_answers

    answers = load_answers(etc_dir / "deploy.yaml")
    try:
        session = bootstrap(answers)
    except BootstrapError as exc:
        errors.print(f"Lỗi: {exc}")
        raise typer.Exit(1) from None
    console.print(f"Sẵn sàng: tài khoản quản trị {session.user_id}.")
